//! Trace context across the queue, without an OpenTelemetry dependency: the W3C `traceparent`
//! of an ingested webhook travels as the message attribute [`TRACEPARENT`] (one of SQS's ten),
//! the consumer puts it on its `sqs_dlq.process` span as the `traceparent` field (a
//! `tracing-opentelemetry` layer, or any subscriber, can continue the trace from it), a
//! dead-letter copy keeps it before any other original attribute, and replay sends it to an
//! HTTP target as the `traceparent` header (a queue target carries it with the attributes).

use crate::queue::{AttributeValue, Attributes};

/// The message attribute (and HTTP header) that carries the W3C trace context.
pub const TRACEPARENT: &str = "traceparent";

/// Whether `value` is a W3C `traceparent` this crate passes on: `VV-TRACEID-PARENTID-FLAGS`,
/// lowercase hex of 2, 32, 16 and 2 digits, version not `ff`, ids not all zeros.
///
/// ```
/// use sqs_dlq::trace_context::is_valid_traceparent;
/// assert!(is_valid_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
/// assert!(!is_valid_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
/// ```
pub fn is_valid_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let nonzero = |s: &str| s.bytes().any(|b| b != b'0');
    match parts.as_slice() {
        [version, trace, parent, flags, rest @ ..] => {
            hex(version, 2)
                && *version != "ff"
                && (rest.is_empty() || *version != "00")
                && hex(trace, 32)
                && nonzero(trace)
                && hex(parent, 16)
                && nonzero(parent)
                && hex(flags, 2)
        }
        _ => false,
    }
}

/// The valid `traceparent` among `attributes`, if any.
pub fn traceparent_of(attributes: &Attributes) -> Option<&str> {
    attributes
        .get(TRACEPARENT)
        .and_then(AttributeValue::as_str)
        .filter(|v| is_valid_traceparent(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_contexts_pass() {
        let ok = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert!(is_valid_traceparent(ok));
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert!(!is_valid_traceparent(bad), "{bad}");
        }
        let mut attributes = Attributes::new();
        assert_eq!(traceparent_of(&attributes), None);
        attributes.insert(
            TRACEPARENT.to_owned(),
            AttributeValue::String(ok.to_owned()),
        );
        assert_eq!(traceparent_of(&attributes), Some(ok));
    }
}
