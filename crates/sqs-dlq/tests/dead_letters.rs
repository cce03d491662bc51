//! Real-shaped EventBridge dead letters: every ERROR_CODE family, broken bodies and unknown
//! codes parse into a `DeadLetter` with the expected category; parsing never panics.
#![allow(clippy::unwrap_used)]

mod dlq_support;

use dlq_support::fixtures;
use proptest::prelude::*;
use sqs_dlq::dead_letter::{Category, DeadLetter, ErrorCode};
use sqs_dlq::queue::{AttributeValue, Attributes, ReceivedMessage};

#[test]
fn every_fixture_gets_its_expected_category() {
    let all = fixtures();
    assert!(all.len() >= 20, "fixtures missing: {}", all.len());
    for f in &all {
        let letter = DeadLetter::from_message(&f.received());
        let expected: Category = f.expected.category.parse().unwrap();
        assert_eq!(letter.category(), expected, "{}: {}", f.name, f.description);
        assert_eq!(letter.category().replay_safe(), expected.replay_safe());
        assert_eq!(
            letter.error_code().map(|c| c.as_str().to_owned()),
            f.expected.error_code,
            "{}",
            f.name
        );
        assert_eq!(
            letter.conversation_id(),
            f.expected.conversation_id,
            "{}",
            f.name
        );
        let parse = letter.parse_error().map(|e| {
            serde_json::to_value(e).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_owned()
        });
        assert_eq!(parse, f.expected.parse_error, "{}", f.name);
        // Never a dropped byte.
        assert_eq!(letter.raw_body(), f.body, "{}", f.name);
        assert_eq!(letter.attributes(), &f.attributes);
        assert_eq!(letter.message_id(), f.message_id);
        assert_eq!(
            letter.receipt_handle(),
            Some(format!("handle-{}", f.message_id).as_str())
        );
    }
}

#[test]
fn fixtures_cover_every_category_and_code_family() {
    let all = fixtures();
    for category in Category::ALL {
        assert!(
            all.iter().any(|f| f.expected.category == category.as_str()),
            "no fixture for {category}"
        );
    }
    for code in [
        "THROTTLING",
        "NO_PERMISSIONS",
        "FAILED_TO_ASSUME_ROLE",
        "CONNECTION_FAILURE",
        "TIMEOUT",
        "NO_RESOURCE",
        "INVALID_JSON",
        "INVALID_PARAMETER",
        "ERROR_FROM_TARGET",
        "SDK_CLIENT_ERROR",
    ] {
        assert!(
            all.iter()
                .any(|f| f.expected.error_code.as_deref() == Some(code)),
            "{code}"
        );
    }
}

#[test]
fn envelope_fields_are_read() {
    let f = dlq_support::fixture("throttling");
    let letter = DeadLetter::from_message(&f.received());
    let event = letter.event().unwrap();
    assert_eq!(event.version, "0");
    assert_eq!(event.account, "123456789012");
    assert_eq!(event.region, "us-east-1");
    assert!(event.source.starts_with("aws.partner/genesys.com/cloud/"));
    assert_eq!(event.detail.version.as_deref(), Some("2"));
    assert!(event.detail.event_body.as_ref().unwrap()["transcripts"].is_array());
    assert!(
        event
            .detail
            .metadata
            .as_ref()
            .unwrap()
            .correlation_id
            .is_some()
    );
    assert_eq!(
        event.detail.timestamp.as_deref(),
        Some("2026-11-21T09:49:26.031Z")
    );
    let dlq = letter.dlq_attributes();
    assert_eq!(dlq.retry_attempts, Some(185));
    assert_eq!(letter.next_attempt(), 186);
    assert!(
        dlq.rule_arn
            .as_deref()
            .unwrap()
            .starts_with("arn:aws:events:")
    );
    assert!(dlq.target_arn.is_some());
    assert_eq!(dlq.error_code, Some(ErrorCode::Throttling));
}

fn attribute_strategy() -> impl Strategy<Value = Attributes> {
    let names = prop_oneof![
        Just("ERROR_CODE".to_owned()),
        Just("ERROR_MESSAGE".to_owned()),
        Just("RETRY_ATTEMPTS".to_owned()),
        Just("EXHAUSTED_RETRY_CONDITION".to_owned()),
        Just("TARGET_ARN".to_owned()),
        "[A-Z_]{1,12}",
    ];
    let values = prop_oneof![
        any::<String>().prop_map(AttributeValue::String),
        any::<String>().prop_map(AttributeValue::Number),
        "[0-9]{0,12}".prop_map(AttributeValue::Number),
        proptest::collection::vec(any::<u8>(), 0..8).prop_map(|b| AttributeValue::Binary(b.into())),
    ];
    proptest::collection::btree_map(names, values, 0..8)
}

fn body_strategy() -> impl Strategy<Value = String> {
    let f = fixtures();
    let bodies: Vec<String> = f.into_iter().map(|f| f.body).collect();
    prop_oneof![
        any::<String>(),
        proptest::sample::select(bodies.clone()),
        // Truncated and mangled real bodies.
        (
            proptest::sample::select(bodies),
            any::<prop::sample::Index>()
        )
            .prop_map(|(b, i)| {
                let cut = i.index(b.len().max(1));
                b.char_indices()
                    .take_while(|(pos, _)| *pos < cut)
                    .map(|(_, c)| c)
                    .collect()
            }),
        "\\{\"detail\":\\{\"topicName\":\"v2\\.conversations\\.[^\"]{0,40}\\.x\"\\}[^}]{0,20}\\}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn parsing_anything_gives_a_dead_letter(body in body_strategy(), attributes in attribute_strategy(), count in any::<u32>()) {
        let message = ReceivedMessage::new("id", "handle", body.clone(), attributes.clone(), count, None);
        let letter = DeadLetter::from_message(&message);
        prop_assert_eq!(letter.raw_body(), body.as_str());
        prop_assert_eq!(letter.attributes(), &attributes);
        prop_assert_eq!(letter.receive_count(), count);
        prop_assert!(letter.event().is_some() != letter.parse_error().is_some());
        let _ = letter.category();
        let _ = letter.conversation_id();
        let _ = letter.next_attempt();
        let record = sqs_dlq::dead_letter::ReportRecord::new(&letter, None);
        prop_assert_eq!(record.original_body, body);
    }
}
