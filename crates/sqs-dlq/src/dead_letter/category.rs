//! [`Category`] and what it needs (its documentation is on the type).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::attributes::{DlqAttributes, ErrorCode};

/// Why a delivery failed, in terms of what to do next.
///
/// Each category says whether replaying the event unchanged is safe
/// ([`Category::replay_safe`]):
/// - `rate_limited` — **safe**: the target worked but refused the rate; a paced replay
///   delivers it.
/// - `endpoint_unreachable` — **safe**: the target was down, timed out or answered 5xx; once it
///   is back the same event is accepted. (A timeout may mean the target did process it: targets
///   should deduplicate on the event `id`; replays are at-least-once.)
/// - `auth_rejected` — **unsafe until fixed**: the credentials, connection or IAM role are
///   wrong; every replay fails the same way (and may lock an account). Fix, then force.
/// - `target_missing` — **unsafe until fixed**: the target or resource does not exist; create
///   or re-point it, then force.
/// - `payload_rejected` — **unsafe**: the target refused these exact bytes; replaying them
///   unchanged fails again. Transform the payload or fix the target's schema first.
/// - `transient` — **safe**: a passing failure inside AWS (assuming the role, EventBridge
///   itself, a resource limit, a batch refused because of other events in it); the event and
///   the target are not at fault.
/// - `misconfigured` — **unsafe until fixed**: the rule routes the event where EventBridge
///   will not deliver it (a third account or region hop, a receiving bus that refuses it, a
///   resource that already exists); fix the routing, then force.
/// - `unknown` — **unsafe**: nothing says a retry would behave differently; look first.
///
/// Failure categories of dead letters, decided from the EventBridge attributes (never by
/// searching the event body, which is the customer's data and says nothing about the failure).
///
/// Order of evidence:
/// 1. `ERROR_CODE`: every code on AWS's EventBridge dead-letter page has a category and a
///    reason ([`code_category`], [`code_reason`]): THROTTLING → [`Category::RateLimited`];
///    TRANSIENT_ASSUME_ROLE, INTERNAL_ERROR, RESOURCE_LIMIT_EXCEEDED,
///    EVENTS_IN_BATCH_REQUEST_REJECTED, RESOURCE_MODIFICATION_COLLISION →
///    [`Category::Transient`]; NO_PERMISSIONS, FAILED_TO_ASSUME_ROLE →
///    [`Category::AuthRejected`]; CONNECTION_FAILURE, TIMEOUT →
///    [`Category::EndpointUnreachable`]; NO_RESOURCE → [`Category::TargetMissing`];
///    INVALID_JSON, INVALID_PARAMETER → [`Category::PayloadRejected`];
///    CROSS_ACCOUNT_INGESTION_FAILED, CROSS_REGION_INGESTION_FAILED,
///    THIRD_ACCOUNT_HOP_DETECTED, THIRD_REGION_HOP_DETECTED, RESOURCE_ALREADY_EXISTS →
///    [`Category::Misconfigured`].
/// 2. For ERROR_FROM_TARGET, SDK_CLIENT_ERROR and UNKNOWN (whose category depends on what the
///    target said) and codes this crate does not know: the HTTP status found in
///    `ERROR_MESSAGE` (401/403/407 auth, 404/410 missing, 400/413/415/422 payload, 429 rate,
///    408 and 5xx unreachable).
/// 3. Key phrases of the `ERROR_MESSAGE` text.
/// 4. Otherwise [`Category::Unknown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Category {
    /// The target throttled the deliveries.
    RateLimited,
    /// The target or AWS refused the credentials or permissions.
    AuthRejected,
    /// The target could not be reached, timed out or failed with a server error.
    EndpointUnreachable,
    /// The target or a resource it needs does not exist.
    TargetMissing,
    /// The target rejected the payload itself.
    PayloadRejected,
    /// A passing failure inside AWS; the event and target are not at fault.
    Transient,
    /// The rule's routing is one EventBridge refuses to deliver.
    Misconfigured,
    /// No evidence points anywhere.
    Unknown,
}

impl Category {
    /// Every category, in report order.
    pub const ALL: [Category; 8] = [
        Category::RateLimited,
        Category::AuthRejected,
        Category::EndpointUnreachable,
        Category::TargetMissing,
        Category::PayloadRejected,
        Category::Transient,
        Category::Misconfigured,
        Category::Unknown,
    ];

    /// The serialized name (`rate_limited`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Category::RateLimited => "rate_limited",
            Category::AuthRejected => "auth_rejected",
            Category::EndpointUnreachable => "endpoint_unreachable",
            Category::TargetMissing => "target_missing",
            Category::PayloadRejected => "payload_rejected",
            Category::Transient => "transient",
            Category::Misconfigured => "misconfigured",
            Category::Unknown => "unknown",
        }
    }

    /// Whether replaying the event unchanged, without fixing anything first, can succeed.
    pub fn replay_safe(self) -> bool {
        matches!(
            self,
            Category::RateLimited | Category::EndpointUnreachable | Category::Transient
        )
    }

    /// One sentence on why replay is (un)safe, for reports and skip reasons.
    pub fn replay_advice(self) -> &'static str {
        match self {
            Category::RateLimited => {
                "safe: the target refused the rate, not the event; replay paced"
            }
            Category::EndpointUnreachable => {
                "safe once the target is back: the event never reached a working target"
            }
            Category::AuthRejected => {
                "unsafe until the credentials, connection or role are fixed; then force"
            }
            Category::TargetMissing => "unsafe until the target exists again; then force",
            Category::PayloadRejected => {
                "unsafe: the target rejected these exact bytes; transform or fix the schema first"
            }
            Category::Transient => {
                "safe: a passing failure inside AWS, not of the event or the target; replay"
            }
            Category::Misconfigured => {
                "unsafe until the rule's routing or the receiving bus is fixed; then force"
            }
            Category::Unknown => {
                "unsafe: nothing says a replay would behave differently; inspect first"
            }
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A category name that is not one of [`Category::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown category {0:?}; expected one of rate_limited, auth_rejected, endpoint_unreachable, target_missing, payload_rejected, transient, misconfigured, unknown"
)]
pub struct UnknownCategory(pub String);

impl FromStr for Category {
    type Err = UnknownCategory;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('-', "_");
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == wanted)
            .ok_or_else(|| UnknownCategory(s.to_owned()))
    }
}

/// What decided a category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Basis {
    /// The `ERROR_CODE` alone.
    ErrorCode,
    /// An HTTP status found in `ERROR_MESSAGE`.
    HttpStatus {
        /// The status.
        status: u16,
    },
    /// A phrase in `ERROR_MESSAGE`.
    MessageText,
    /// Nothing: the category is [`Category::Unknown`].
    NoEvidence,
}

/// A category and what decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Classification {
    /// The category.
    pub category: Category,
    /// What decided it.
    pub basis: Basis,
}

/// The category an EventBridge `ERROR_CODE` decides on its own; `None` for the codes whose
/// category depends on what the target said (ERROR_FROM_TARGET, SDK_CLIENT_ERROR, UNKNOWN) and
/// for codes this crate does not know.
pub fn code_category(code: &ErrorCode) -> Option<Category> {
    Some(match code {
        ErrorCode::Throttling => Category::RateLimited,
        ErrorCode::TransientAssumeRole
        | ErrorCode::InternalError
        | ErrorCode::ResourceLimitExceeded
        | ErrorCode::EventsInBatchRequestRejected
        | ErrorCode::ResourceModificationCollision => Category::Transient,
        ErrorCode::NoPermissions | ErrorCode::FailedToAssumeRole => Category::AuthRejected,
        ErrorCode::ConnectionFailure | ErrorCode::Timeout => Category::EndpointUnreachable,
        ErrorCode::NoResource => Category::TargetMissing,
        ErrorCode::InvalidJson | ErrorCode::InvalidParameter => Category::PayloadRejected,
        ErrorCode::CrossAccountIngestionFailed
        | ErrorCode::CrossRegionIngestionFailed
        | ErrorCode::ThirdAccountHopDetected
        | ErrorCode::ThirdRegionHopDetected
        | ErrorCode::ResourceAlreadyExists => Category::Misconfigured,
        ErrorCode::ErrorFromTarget
        | ErrorCode::SdkClientError
        | ErrorCode::Unspecified
        | ErrorCode::Unknown(_) => return None,
    })
}

/// What an EventBridge `ERROR_CODE` means, in one sentence, for reports.
pub fn code_reason(code: &ErrorCode) -> &'static str {
    match code {
        ErrorCode::ConnectionFailure => {
            "EventBridge could not connect to the target (DNS, TCP or TLS failed)"
        }
        ErrorCode::CrossAccountIngestionFailed => {
            "the event bus of the other account did not take the event (its resource policy or the rule's role)"
        }
        ErrorCode::CrossRegionIngestionFailed => {
            "the event bus of the other region did not take the event (its resource policy or the rule's role)"
        }
        ErrorCode::ErrorFromTarget => {
            "the target answered with an error; its status or message decides the category"
        }
        ErrorCode::EventsInBatchRequestRejected => {
            "the target refused the batch the event was sent in, because of other events in it"
        }
        ErrorCode::FailedToAssumeRole => {
            "EventBridge could not assume the target's IAM role (missing, or it does not trust EventBridge)"
        }
        ErrorCode::InternalError => {
            "an internal EventBridge error; the event and target are not at fault"
        }
        ErrorCode::InvalidJson => "the target refused the event as invalid JSON",
        ErrorCode::InvalidParameter => {
            "a target parameter (input transformer, path, header) is invalid for this event"
        }
        ErrorCode::NoPermissions => {
            "the rule's role or the target's policy does not permit the delivery"
        }
        ErrorCode::NoResource => "the target (or a resource it needs) does not exist",
        ErrorCode::ResourceAlreadyExists => {
            "the delivery would create a resource that already exists"
        }
        ErrorCode::ResourceLimitExceeded => {
            "a limit or quota of the target resource was reached for the moment"
        }
        ErrorCode::ResourceModificationCollision => {
            "the target resource was being modified at the same time; a later attempt does not collide"
        }
        ErrorCode::SdkClientError => {
            "the AWS SDK call to the target failed; its message decides the category"
        }
        ErrorCode::ThirdAccountHopDetected => {
            "the event would pass a third account; EventBridge delivers across one account hop only"
        }
        ErrorCode::ThirdRegionHopDetected => {
            "the event would pass a third region; EventBridge delivers across one region hop only"
        }
        ErrorCode::Throttling => "the target throttled EventBridge's deliveries",
        ErrorCode::Timeout => "the target did not answer in time",
        ErrorCode::TransientAssumeRole => {
            "assuming the target's IAM role failed for a passing reason (STS throttled or unavailable)"
        }
        ErrorCode::Unspecified => "EventBridge gave no specific code (UNKNOWN)",
        ErrorCode::Unknown(_) => "a code this version of the crate does not know",
    }
}

/// Categorizes a dead letter from its EventBridge attributes (see the module docs).
pub fn classify(attributes: &DlqAttributes) -> Classification {
    if let Some(category) = attributes.error_code.as_ref().and_then(code_category) {
        return Classification {
            category,
            basis: Basis::ErrorCode,
        };
    }
    let message = attributes.error_message.as_deref().unwrap_or("");
    if let Some((status, category)) =
        http_status_in(message).and_then(|s| category_for_status(s).map(|c| (s, c)))
    {
        return Classification {
            category,
            basis: Basis::HttpStatus { status },
        };
    }
    if let Some(category) = category_from_text(message) {
        return Classification {
            category,
            basis: Basis::MessageText,
        };
    }
    Classification {
        category: Category::Unknown,
        basis: Basis::NoEvidence,
    }
}

/// The category an HTTP status from a target points to, when it points anywhere.
pub fn category_for_status(status: u16) -> Option<Category> {
    match status {
        401 | 403 | 407 => Some(Category::AuthRejected),
        404 | 410 => Some(Category::TargetMissing),
        400 | 413 | 415 | 422 => Some(Category::PayloadRejected),
        429 => Some(Category::RateLimited),
        408 | 500..=599 => Some(Category::EndpointUnreachable),
        _ => None,
    }
}

/// Words that, shortly before a number, mark it as an HTTP status.
const STATUS_CONTEXT: &[&str] = &["status", "http", "code", "response", "returned", "error"];

/// Finds the HTTP status a target answered with in an EventBridge `ERROR_MESSAGE`, e.g.
/// `"Received response status [429] from target"`, `"statusCode":503` or `HTTP/1.1 401`.
///
/// A three-digit number from 100 to 599 standing alone (not part of a longer number, id or
/// ARN) counts when one of the words status/http/code/response/returned/error comes in the 32
/// characters before it; failing that, the only standalone 4xx/5xx number of the message.
pub fn http_status_in(message: &str) -> Option<u16> {
    let bytes = message.as_bytes();
    let lower = message.to_ascii_lowercase();
    let mut lone = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let end = i;
        let standalone = |b: Option<&u8>| {
            b.is_none_or(|b| !b.is_ascii_alphanumeric() && *b != b'-' && *b != b'_')
        };
        let before_ok = start == 0 || standalone(bytes.get(start - 1));
        // "1.1" in "HTTP/1.1" or "429.5" are not statuses: a '.' followed by a digit continues a number.
        let after_ok = standalone(bytes.get(end))
            && !(bytes.get(end) == Some(&b'.')
                && bytes.get(end + 1).is_some_and(u8::is_ascii_digit))
            && !(start > 0
                && bytes[start - 1] == b'.'
                && start > 1
                && bytes[start - 2].is_ascii_digit());
        if end - start != 3 || !before_ok || !after_ok {
            continue;
        }
        let Ok(status) = message[start..end].parse::<u16>() else {
            continue;
        };
        if !(100..=599).contains(&status) {
            continue;
        }
        let window_start = lower[..start]
            .char_indices()
            .rev()
            .nth(31)
            .map_or(0, |(idx, _)| idx);
        let window = &lower[window_start..start];
        if STATUS_CONTEXT.iter().any(|w| window.contains(w)) {
            return Some(status);
        }
        if status >= 400 {
            lone.push(status);
        }
    }
    if lone.len() == 1 {
        lone.first().copied()
    } else {
        None
    }
}

/// Phrases of `ERROR_MESSAGE` and the category they point to, checked in this order.
const PHRASES: &[(&str, Category)] = &[
    ("too many requests", Category::RateLimited),
    ("rate exceeded", Category::RateLimited),
    ("rate limit", Category::RateLimited),
    ("throttl", Category::RateLimited),
    ("unauthorized", Category::AuthRejected),
    ("forbidden", Category::AuthRejected),
    ("access denied", Category::AuthRejected),
    ("accessdenied", Category::AuthRejected),
    ("not authorized", Category::AuthRejected),
    ("permission", Category::AuthRejected),
    ("invalid token", Category::AuthRejected),
    ("expired token", Category::AuthRejected),
    ("credentials", Category::AuthRejected),
    ("timed out", Category::EndpointUnreachable),
    ("timeout", Category::EndpointUnreachable),
    ("connection refused", Category::EndpointUnreachable),
    ("connection reset", Category::EndpointUnreachable),
    ("unreachable", Category::EndpointUnreachable),
    ("could not resolve", Category::EndpointUnreachable),
    ("name resolution", Category::EndpointUnreachable),
    ("handshake", Category::EndpointUnreachable),
    ("service unavailable", Category::EndpointUnreachable),
    ("bad gateway", Category::EndpointUnreachable),
    ("internal server error", Category::EndpointUnreachable),
    ("not found", Category::TargetMissing),
    ("does not exist", Category::TargetMissing),
    ("no such", Category::TargetMissing),
    ("invalid json", Category::PayloadRejected),
    ("malformed", Category::PayloadRejected),
    ("too large", Category::PayloadRejected),
    ("payload size", Category::PayloadRejected),
    ("invalid parameter", Category::PayloadRejected),
    ("bad request", Category::PayloadRejected),
    ("validation", Category::PayloadRejected),
];

/// The category the words of an `ERROR_MESSAGE` point to, when they point anywhere.
pub fn category_from_text(message: &str) -> Option<Category> {
    let lower = message.to_lowercase();
    PHRASES
        .iter()
        .find(|(phrase, _)| lower.contains(phrase))
        .map(|(_, category)| *category)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(code: &str, message: &str) -> DlqAttributes {
        let mut a = DlqAttributes::default().with_error_code(ErrorCode::parse(code));
        if !message.is_empty() {
            a = a.with_error_message(message);
        }
        a
    }

    #[test]
    fn error_code_decides_first() {
        let cases = [
            ("THROTTLING", Category::RateLimited),
            ("NO_PERMISSIONS", Category::AuthRejected),
            ("FAILED_TO_ASSUME_ROLE", Category::AuthRejected),
            ("CONNECTION_FAILURE", Category::EndpointUnreachable),
            ("TIMEOUT", Category::EndpointUnreachable),
            ("NO_RESOURCE", Category::TargetMissing),
            ("INVALID_JSON", Category::PayloadRejected),
            ("INVALID_PARAMETER", Category::PayloadRejected),
        ];
        for (code, expected) in cases {
            // The message points elsewhere; the code wins.
            let c = classify(&attrs(code, "status code 404"));
            assert_eq!(c.category, expected, "{code}");
            assert_eq!(c.basis, Basis::ErrorCode);
        }
    }

    #[test]
    fn target_errors_by_status() {
        let cases = [
            (
                "Received response status [401] from target",
                Category::AuthRejected,
            ),
            (
                "Received response status [403] from target",
                Category::AuthRejected,
            ),
            (
                "Received response status [404] from target",
                Category::TargetMissing,
            ),
            (
                "Received response status [400] from target",
                Category::PayloadRejected,
            ),
            (
                "Received response status [413] from target",
                Category::PayloadRejected,
            ),
            (
                "Received response status [429] from target",
                Category::RateLimited,
            ),
            (
                "Received response status [503] from target",
                Category::EndpointUnreachable,
            ),
            (
                r#"{"statusCode":500,"message":"boom"}"#,
                Category::EndpointUnreachable,
            ),
        ];
        for code in ["ERROR_FROM_TARGET", "SDK_CLIENT_ERROR"] {
            for (message, expected) in cases {
                let c = classify(&attrs(code, message));
                assert_eq!(c.category, expected, "{code} {message}");
                assert!(matches!(c.basis, Basis::HttpStatus { .. }));
            }
        }
    }

    #[test]
    fn status_extraction_ignores_ids_and_versions() {
        assert_eq!(http_status_in("HTTP/1.1 401 Unauthorized"), Some(401));
        assert_eq!(http_status_in("request 5a429b failed"), None);
        assert_eq!(
            http_status_in("arn:aws:events:us-east-1:123456789012:rule/x failed with 502"),
            Some(502)
        );
        assert_eq!(http_status_in("took 250 ms and 300 ms"), None);
        assert_eq!(http_status_in("req-429-x"), None);
        assert_eq!(http_status_in("version 2.404.1"), None);
        assert_eq!(http_status_in(""), None);
    }

    #[test]
    fn falls_back_to_text_then_unknown() {
        let c = classify(&attrs(
            "ERROR_FROM_TARGET",
            "Connection refused by upstream",
        ));
        assert_eq!(
            (c.category, c.basis),
            (Category::EndpointUnreachable, Basis::MessageText)
        );
        let c = classify(&attrs("SOMETHING_NEW", "Rate exceeded"));
        assert_eq!(c.category, Category::RateLimited);
        let c = classify(&attrs("UNKNOWN", ""));
        assert_eq!(
            (c.category, c.basis),
            (Category::Unknown, Basis::NoEvidence)
        );
        assert_eq!(
            classify(&DlqAttributes::default()).category,
            Category::Unknown
        );
    }

    #[test]
    fn every_documented_code_has_a_category_or_defers_to_the_target_and_a_reason() {
        let deferring = [
            ErrorCode::ErrorFromTarget,
            ErrorCode::SdkClientError,
            ErrorCode::Unspecified,
        ];
        let mut reasons = std::collections::HashSet::new();
        for code in ErrorCode::documented() {
            assert!(
                code_category(&code).is_some() || deferring.contains(&code),
                "{code:?} has no category"
            );
            assert!(
                reasons.insert(code_reason(&code)),
                "{code:?} shares a reason"
            );
        }
        assert!(ErrorCode::documented().count() >= 21);
    }

    #[test]
    fn transient_aws_failures_are_safe_to_replay() {
        for code in [
            "TRANSIENT_ASSUME_ROLE",
            "INTERNAL_ERROR",
            "RESOURCE_LIMIT_EXCEEDED",
            "EVENTS_IN_BATCH_REQUEST_REJECTED",
        ] {
            let c = classify(&attrs(code, "anything"));
            assert_eq!(
                (c.category, c.basis),
                (Category::Transient, Basis::ErrorCode),
                "{code}"
            );
            assert!(c.category.replay_safe(), "{code}");
        }
        for code in [
            "THIRD_ACCOUNT_HOP_DETECTED",
            "CROSS_REGION_INGESTION_FAILED",
        ] {
            let c = classify(&attrs(code, "Received response status [503]"));
            assert_eq!(c.category, Category::Misconfigured, "{code}");
            assert!(!c.category.replay_safe());
        }
    }

    #[test]
    fn names_and_safety() {
        let json = serde_json::to_string(&Category::ALL).unwrap();
        assert_eq!(
            json,
            r#"["rate_limited","auth_rejected","endpoint_unreachable","target_missing","payload_rejected","transient","misconfigured","unknown"]"#
        );
        let safe: Vec<_> = Category::ALL
            .into_iter()
            .filter(|c| c.replay_safe())
            .collect();
        assert_eq!(
            safe,
            [
                Category::RateLimited,
                Category::EndpointUnreachable,
                Category::Transient
            ]
        );
        assert_eq!(
            "Auth-Rejected".parse::<Category>(),
            Ok(Category::AuthRejected)
        );
        assert!("nope".parse::<Category>().is_err());
    }
}
