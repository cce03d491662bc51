//! The copy of a failed message the consumer sends to its dead-letter queue: the body byte for
//! byte, the reason in `ERROR_CODE` / `ERROR_MESSAGE` / `RETRY_ATTEMPTS` (the attribute names
//! EventBridge uses, so one diagnosis reads both kinds of dead letter), then as many of the
//! original attributes as fit in the ten SQS allows.

use crate::queue::{
    AttributeValue, Attributes, MAX_MESSAGE_ATTRIBUTES, OutgoingMessage, ReceivedMessage,
};

use super::codes::{ATTR_ERROR_CODE, ATTR_ERROR_MESSAGE, ATTR_RETRY_ATTEMPTS};

/// Longest `ERROR_MESSAGE` kept, in bytes (cut on a character boundary).
pub(crate) const MAX_ERROR_MESSAGE_BYTES: usize = 1024;

/// What [`dead_letter_copy`] built, and how many original attributes did not fit.
pub(crate) struct DeadLetterCopy {
    pub(crate) message: OutgoingMessage,
    pub(crate) dropped_attributes: usize,
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = text[..end].to_owned();
    out.push('…');
    out
}

/// Builds the dead-letter copy of `message`. `RETRY_ATTEMPTS` counts the retries after the first
/// attempt, as EventBridge does: `receive_count - 1`.
pub(crate) fn dead_letter_copy(
    message: &ReceivedMessage,
    error_code: &str,
    error_message: &str,
) -> DeadLetterCopy {
    let mut attributes = Attributes::new();
    attributes.insert(
        ATTR_ERROR_CODE.to_owned(),
        AttributeValue::String(error_code.to_owned()),
    );
    let error_message = if error_message.trim().is_empty() {
        "(no message)".to_owned()
    } else {
        truncate(error_message, MAX_ERROR_MESSAGE_BYTES)
    };
    attributes.insert(
        ATTR_ERROR_MESSAGE.to_owned(),
        AttributeValue::String(error_message),
    );
    attributes.insert(
        ATTR_RETRY_ATTEMPTS.to_owned(),
        AttributeValue::Number(message.receive_count.saturating_sub(1).to_string()),
    );
    // The trace context first: the dead letter stays in the trace it came from.
    if let Some(traceparent) = crate::trace_context::traceparent_of(&message.attributes) {
        attributes.insert(
            crate::trace_context::TRACEPARENT.to_owned(),
            AttributeValue::String(traceparent.to_owned()),
        );
    }
    let mut dropped_attributes = 0;
    for (name, value) in &message.attributes {
        if attributes.contains_key(name) {
            // The reason of this failure replaces an older one of the same name.
            continue;
        }
        if attributes.len() >= MAX_MESSAGE_ATTRIBUTES {
            dropped_attributes += 1;
            continue;
        }
        attributes.insert(name.clone(), value.clone());
    }
    DeadLetterCopy {
        message: OutgoingMessage::new(message.body.clone()).with_attributes(attributes),
        dropped_attributes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(attrs: usize, receive_count: u32) -> ReceivedMessage {
        let mut attributes = Attributes::new();
        for i in 0..attrs {
            attributes.insert(format!("a{i:02}"), AttributeValue::String(i.to_string()));
        }
        attributes.insert(
            ATTR_ERROR_CODE.to_owned(),
            AttributeValue::String("OLD".into()),
        );
        ReceivedMessage::new("id", "rh", "{\"x\":1}", attributes, receive_count, None)
    }

    #[test]
    fn reason_first_then_originals_up_to_ten() {
        let copy = dead_letter_copy(&received(9, 4), "MAX_RECEIVES_EXCEEDED", "timeout");
        let attrs = &copy.message.attributes;
        assert_eq!(attrs.len(), MAX_MESSAGE_ATTRIBUTES);
        assert_eq!(
            attrs[ATTR_ERROR_CODE],
            AttributeValue::String("MAX_RECEIVES_EXCEEDED".into())
        );
        assert_eq!(
            attrs[ATTR_RETRY_ATTEMPTS],
            AttributeValue::Number("3".into())
        );
        assert_eq!(attrs["a00"], AttributeValue::String("0".into()));
        assert_eq!(copy.dropped_attributes, 2);
        assert_eq!(copy.message.body, "{\"x\":1}");
    }

    #[test]
    fn the_trace_context_is_kept_before_other_originals() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let mut message = received(9, 2);
        message.attributes.insert(
            crate::trace_context::TRACEPARENT.to_owned(),
            AttributeValue::String(tp.to_owned()),
        );
        let copy = dead_letter_copy(&message, "PERMANENT_FAILURE", "bad");
        let attrs = &copy.message.attributes;
        assert_eq!(attrs.len(), MAX_MESSAGE_ATTRIBUTES);
        assert_eq!(attrs["traceparent"], AttributeValue::String(tp.to_owned()));
        assert_eq!(copy.dropped_attributes, 3);
    }

    #[test]
    fn long_messages_are_cut_on_a_char_boundary() {
        let long = "é".repeat(2000);
        let copy = dead_letter_copy(&received(0, 1), "X", &long);
        let msg = copy.message.attributes[ATTR_ERROR_MESSAGE]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(msg.len() <= MAX_ERROR_MESSAGE_BYTES + '…'.len_utf8());
        assert!(msg.ends_with('…'));
        let empty = dead_letter_copy(&received(0, 1), "X", "  ");
        assert_eq!(
            empty.message.attributes[ATTR_ERROR_MESSAGE].as_str(),
            Some("(no message)")
        );
    }
}
