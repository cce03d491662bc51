//! Every closed list of wire values in the crates, in one JSON document, for the contract check
//! (`scripts/contract-check` compares each value with the allowed values of the official SDK's
//! models). With `GENESYS_WIRE_ENUMS_OUT=path` the document is written there; the test itself
//! checks the lists are well formed and carry the values the platform's models use.

use std::collections::{BTreeMap, HashSet};

use genesys_analytics as analytics;
use genesys_messaging as messaging;

fn lists() -> BTreeMap<&'static str, Vec<String>> {
    let own = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let orders = [
        analytics::Order::Asc,
        analytics::Order::Desc,
        analytics::Order::Unordered,
    ]
    .iter()
    .map(|o| {
        serde_json::to_value(o)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    })
    .collect();
    let agentless = messaging::sender::AGENTLESS_CHANNELS
        .iter()
        .map(|m| m.as_str().to_owned())
        .collect();
    BTreeMap::from([
        ("analytics.Purpose", own(analytics::Purpose::WIRE_VALUES)),
        (
            "analytics.MediaType",
            own(analytics::MediaType::WIRE_VALUES),
        ),
        (
            "analytics.MessageType",
            own(analytics::MessageType::WIRE_VALUES),
        ),
        (
            "analytics.SegmentType",
            own(analytics::SegmentType::WIRE_VALUES),
        ),
        (
            "analytics.DisconnectType",
            own(analytics::DisconnectType::WIRE_VALUES),
        ),
        (
            "analytics.Direction",
            own(analytics::Direction::WIRE_VALUES),
        ),
        ("analytics.JobState", own(analytics::JobState::WIRE_VALUES)),
        ("analytics.OrderBy", own(analytics::OrderBy::WIRE_VALUES)),
        ("analytics.Order", orders),
        (
            "analytics.PropertyType",
            own(analytics::PropertyType::WIRE_VALUES),
        ),
        (
            "analytics.conversation_dimensions",
            own(analytics::dimension::CONVERSATION),
        ),
        (
            "analytics.segment_dimensions",
            own(analytics::dimension::SEGMENT),
        ),
        (
            "messaging.MessengerType",
            own(messaging::MessengerType::WIRE_VALUES),
        ),
        (
            "messaging.MessageDirection",
            own(messaging::MessageDirection::WIRE_VALUES),
        ),
        (
            "messaging.MessageStatus",
            own(messaging::MessageStatus::WIRE_VALUES),
        ),
        (
            "messaging.MessageType",
            own(messaging::MessageType::WIRE_VALUES),
        ),
        (
            "messaging.Direction",
            own(messaging::Direction::WIRE_VALUES),
        ),
        (
            "messaging.OriginatingEntity",
            own(messaging::OriginatingEntity::WIRE_VALUES),
        ),
        (
            "messaging.ReceiptStatus",
            own(messaging::ReceiptStatus::WIRE_VALUES),
        ),
        (
            "messaging.ContentType",
            own(messaging::ContentType::WIRE_VALUES),
        ),
        (
            "messaging.MediaType",
            own(messaging::MediaType::WIRE_VALUES),
        ),
        (
            "messaging.EventType",
            own(messaging::EventType::WIRE_VALUES),
        ),
        ("messaging.AgentlessMessengerType", agentless),
    ])
}

#[test]
fn wire_enum_lists_are_well_formed_and_exported() {
    let lists = lists();
    for (name, values) in &lists {
        assert!(!values.is_empty(), "{name} is empty");
        let unique: HashSet<&String> = values.iter().collect();
        assert_eq!(unique.len(), values.len(), "{name} repeats a value");
        assert!(
            values.iter().all(|v| !v.is_empty()),
            "{name} has an empty value"
        );
    }
    let has = |list: &str, v: &str| lists[list].iter().any(|x| x == v);
    // Values the SDK 269 models use, which the crates once spelled otherwise.
    assert!(has("analytics.Purpose", "botflow") && !has("analytics.Purpose", "bot"));
    assert!(!has("analytics.SegmentType", "scripted"));
    assert!(has("messaging.MessengerType", "linkedin") && !has("messaging.MessengerType", "line"));
    for bad in ["sessionId", "participantId", "conversationId"] {
        assert!(!has("analytics.segment_dimensions", bad), "{bad}");
    }
    if let Some(path) = std::env::var_os("GENESYS_WIRE_ENUMS_OUT") {
        let text = serde_json::to_string_pretty(&lists).expect("a map of strings serializes");
        std::fs::write(&path, text).expect("the wire enums file is writable");
    }
}
