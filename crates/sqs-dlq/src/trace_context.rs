//! Trace context across the queue, without an OpenTelemetry dependency: the W3C `traceparent`
//! of an ingested webhook travels as the message attribute [`TRACEPARENT`] (one of SQS's ten),
//! the consumer puts it on its `sqs_dlq.process` span as the `traceparent` field (a
//! `tracing-opentelemetry` layer, or any subscriber, can continue the trace from it), a
//! dead-letter copy keeps it before any other original attribute, and replay sends it to an
//! HTTP target as the `traceparent` header (a queue target carries it with the attributes).
//!
//! To continue those traces in OpenTelemetry (or any tracer), the application installs one
//! [`Propagator`] with [`set_propagator`]: the crate then asks it for the current span's context
//! when an ingested webhook brings none ([`current_traceparent`], [`inject_current`]), and hands
//! it the consumer's `sqs_dlq.process` span with the message's context so the handler's spans
//! become children of the producer's. With no propagator installed nothing changes: the context
//! still travels and is recorded as the span's `traceparent` field.

use std::sync::OnceLock;

use crate::queue::{AttributeValue, Attributes, OutgoingMessage};

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

/// The bridge from this crate's W3C `traceparent` strings to the application's tracer.
///
/// With `opentelemetry` and `tracing-opentelemetry`, an implementation is a few lines: extract
/// the context with a `TraceContextPropagator` and call `OpenTelemetrySpanExt::set_parent` in
/// [`continue_trace`](Propagator::continue_trace); inject `span.context()` in
/// [`traceparent`](Propagator::traceparent). The crate itself depends on neither.
pub trait Propagator: Send + Sync + 'static {
    /// The W3C `traceparent` of `span`, if it belongs to a sampled or recorded trace.
    fn traceparent(&self, span: &tracing::Span) -> Option<String>;

    /// Makes `span` a child of the remote context `traceparent` (already checked well formed).
    fn continue_trace(&self, span: &tracing::Span, traceparent: &str);
}

static PROPAGATOR: OnceLock<Box<dyn Propagator>> = OnceLock::new();

/// [`set_propagator`] was called before: the first propagator stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a trace propagator is already installed")]
pub struct PropagatorAlreadySet;

/// Installs the process-wide [`Propagator`]. Once only, like a global tracing subscriber.
pub fn set_propagator(propagator: impl Propagator) -> Result<(), PropagatorAlreadySet> {
    PROPAGATOR
        .set(Box::new(propagator))
        .map_err(|_| PropagatorAlreadySet)
}

/// The current span's `traceparent`, through the installed [`Propagator`] (none without one,
/// or when it answers something not well formed).
pub fn current_traceparent() -> Option<String> {
    let propagator = PROPAGATOR.get()?;
    propagator
        .traceparent(&tracing::Span::current())
        .filter(|v| is_valid_traceparent(v))
}

/// `message` with the current span's context as its [`TRACEPARENT`] attribute, unless it
/// already has one or is at SQS's limit of [`MAX_MESSAGE_ATTRIBUTES`](crate::queue::MAX_MESSAGE_ATTRIBUTES)
/// attributes. For producers that send from inside a traced request.
pub fn inject_current(mut message: OutgoingMessage) -> OutgoingMessage {
    if message.attributes.contains_key(TRACEPARENT)
        || message.attributes.len() >= crate::queue::MAX_MESSAGE_ATTRIBUTES
    {
        return message;
    }
    if let Some(traceparent) = current_traceparent() {
        message
            .attributes
            .insert(TRACEPARENT.to_owned(), AttributeValue::String(traceparent));
    }
    message
}

/// Continues the trace of `attributes` on `span`: records the `traceparent` field and, with a
/// [`Propagator`] installed, makes `span` a child of that context.
pub(crate) fn continue_trace(span: &tracing::Span, attributes: &Attributes) {
    if let Some(traceparent) = traceparent_of(attributes) {
        span.record(TRACEPARENT, traceparent);
        if let Some(propagator) = PROPAGATOR.get() {
            propagator.continue_trace(span, traceparent);
        }
    }
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
