//! [`Handler`] and what it needs (its documentation is on the type).

use std::error::Error as StdError;
use std::fmt;

use async_trait::async_trait;
use serde::de::DeserializeOwned;

use crate::queue::ReceivedMessage;

/// A boxed error from user code.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Turns a received message into a handler's payload. A body that does not decode is a
/// *poison* message: the consumer copies it to the dead-letter queue at once (with the decode
/// error as the reason) and never deletes it without that copy.
///
/// Implemented for [`String`] (the body as is), [`serde_json::Value`] (any JSON) and
/// [`Json<T>`] (any `T: DeserializeOwned`). Implement it for your own types, or override
/// [`Handler::decode`].
pub trait Decode: Sized + Send + 'static {
    /// Decodes the message.
    fn decode(message: &ReceivedMessage) -> Result<Self, DecodeError>;
}

impl Decode for String {
    fn decode(message: &ReceivedMessage) -> Result<Self, DecodeError> {
        Ok(message.body.clone())
    }
}

impl Decode for serde_json::Value {
    fn decode(message: &ReceivedMessage) -> Result<Self, DecodeError> {
        serde_json::from_str(&message.body).map_err(DecodeError::new)
    }
}

/// A payload decoded from a JSON body with serde. Use `type Payload = Json<MyEvent>;`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + Send + 'static> Decode for Json<T> {
    fn decode(message: &ReceivedMessage) -> Result<Self, DecodeError> {
        serde_json::from_str(&message.body)
            .map(Json)
            .map_err(DecodeError::new)
    }
}

/// Why a body could not be decoded; it becomes the dead letter's `ERROR_MESSAGE`.
#[derive(Debug)]
pub struct DecodeError {
    source: BoxError,
}

impl DecodeError {
    /// Wraps the decoder's error.
    pub fn new(source: impl Into<BoxError>) -> Self {
        Self {
            source: source.into(),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "message body could not be decoded: {}", self.source)
    }
}

impl StdError for DecodeError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(self.source.as_ref())
    }
}

/// How a handler failed: the consumer retries a [`Transient`](HandlerError::Transient)
/// failure after a backoff (up to the maximum number of receives) and dead-letters a
/// [`Permanent`](HandlerError::Permanent) one at once.
#[derive(Debug)]
#[non_exhaustive]
pub enum HandlerError {
    /// Worth retrying later (a timeout, a 503, a lock held elsewhere).
    Transient {
        /// What went wrong.
        source: BoxError,
        /// Dead-letter `ERROR_CODE` to use if the retries run out (default
        /// [`codes::MAX_RECEIVES_EXCEEDED`](crate::consumer::codes::MAX_RECEIVES_EXCEEDED)).
        code: Option<String>,
    },
    /// Retrying the same message will not help (a validation error, a 400 from the target).
    Permanent {
        /// What went wrong.
        source: BoxError,
        /// Dead-letter `ERROR_CODE` (default
        /// [`codes::PERMANENT_FAILURE`](crate::consumer::codes::PERMANENT_FAILURE)).
        code: Option<String>,
    },
}

impl HandlerError {
    /// A failure worth retrying.
    pub fn transient(source: impl Into<BoxError>) -> Self {
        HandlerError::Transient {
            source: source.into(),
            code: None,
        }
    }

    /// A failure retrying will not fix.
    pub fn permanent(source: impl Into<BoxError>) -> Self {
        HandlerError::Permanent {
            source: source.into(),
            code: None,
        }
    }

    /// Sets the `ERROR_CODE` the dead letter carries if this failure sends the message there
    /// (for example `ERROR_FROM_TARGET`, so the dead-letter diagnosis can categorize it).
    pub fn with_code(mut self, error_code: impl Into<String>) -> Self {
        match &mut self {
            HandlerError::Transient { code, .. } | HandlerError::Permanent { code, .. } => {
                *code = Some(error_code.into());
            }
        }
        self
    }

    /// Whether the consumer will retry the message.
    pub fn is_transient(&self) -> bool {
        matches!(self, HandlerError::Transient { .. })
    }

    /// The error code set with [`with_code`](Self::with_code).
    pub fn code(&self) -> Option<&str> {
        match self {
            HandlerError::Transient { code, .. } | HandlerError::Permanent { code, .. } => {
                code.as_deref()
            }
        }
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandlerError::Transient { source, .. } => write!(f, "transient failure: {source}"),
            HandlerError::Permanent { source, .. } => write!(f, "permanent failure: {source}"),
        }
    }
}

impl StdError for HandlerError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            HandlerError::Transient { source, .. } | HandlerError::Permanent { source, .. } => {
                Some(source.as_ref())
            }
        }
    }
}

/// What a handler sees of the message besides its payload.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    message: &'a ReceivedMessage,
}

impl<'a> Delivery<'a> {
    pub(crate) fn new(message: &'a ReceivedMessage) -> Self {
        Self { message }
    }

    /// The message as received (id, attributes, receive count, raw body).
    pub fn message(&self) -> &'a ReceivedMessage {
        self.message
    }

    /// `ApproximateReceiveCount`: 1 on the first attempt.
    pub fn receive_count(&self) -> u32 {
        self.message.receive_count
    }

    /// Whether this is the first delivery.
    pub fn is_first_attempt(&self) -> bool {
        self.message.receive_count <= 1
    }
}

/// The user's processing step, generic over its payload type.
///
/// The consumer decodes the body ([`decode`](Self::decode), by default the payload's
/// [`Decode`] impl), asks for an idempotency key, runs [`handle`](Self::handle) and routes the
/// message by the result: `Ok` → deleted (in batches), [`HandlerError::Transient`] → retried
/// after a backoff, [`HandlerError::Permanent`] → dead-lettered with the reason.
///
/// ```
/// use sqs_dlq::consumer::{Delivery, Handler, HandlerError, Json};
///
/// #[derive(serde::Deserialize)]
/// struct CallCompleted { #[serde(rename = "contactId")] contact_id: String, #[serde(rename = "callId")] call_id: String }
///
/// struct Record;
///
/// #[async_trait::async_trait]
/// impl Handler for Record {
///     type Payload = Json<CallCompleted>;
///     fn idempotency_key(&self, event: &Self::Payload, _: Delivery<'_>) -> Option<String> {
///         Some(format!("{}:{}", event.0.contact_id, event.0.call_id))
///     }
///     async fn handle(&self, event: Self::Payload, _: Delivery<'_>) -> Result<(), HandlerError> {
///         if event.0.contact_id.is_empty() {
///             return Err(HandlerError::permanent("contact id missing"));
///         }
///         Ok(())
///     }
/// }
/// ```
///
/// The [`Handler`] a [`Consumer`](crate::consumer::Consumer) runs for each message, the [`Decode`] step
/// that turns a body into the handler's payload, and the [`HandlerError`] that says whether a
/// failure is worth retrying.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// What the handler works on.
    type Payload: Decode;

    /// Turns the message into the payload; an error makes it a poison message.
    fn decode(&self, message: &ReceivedMessage) -> Result<Self::Payload, DecodeError> {
        Self::Payload::decode(message)
    }

    /// The key that identifies the work this message asks for (for example outbound contact
    /// id + conversation id). With a key, a repeat of work already done is acknowledged without
    /// running the handler, and a concurrent duplicate is put back for later. `None` (the
    /// default) turns the check off for this message.
    fn idempotency_key(&self, payload: &Self::Payload, delivery: Delivery<'_>) -> Option<String> {
        let _ = (payload, delivery);
        None
    }

    /// Processes one message.
    async fn handle(
        &self,
        payload: Self::Payload,
        delivery: Delivery<'_>,
    ) -> Result<(), HandlerError>;
}

/// A shared handler: one handler, with its state, can serve several consumer runs (a second
/// run that drains what arrived while the first one was stopping, say).
#[async_trait]
impl<H: Handler + ?Sized> Handler for std::sync::Arc<H> {
    type Payload = H::Payload;

    fn decode(&self, message: &ReceivedMessage) -> Result<Self::Payload, DecodeError> {
        (**self).decode(message)
    }

    fn idempotency_key(&self, payload: &Self::Payload, delivery: Delivery<'_>) -> Option<String> {
        (**self).idempotency_key(payload, delivery)
    }

    async fn handle(
        &self,
        payload: Self::Payload,
        delivery: Delivery<'_>,
    ) -> Result<(), HandlerError> {
        (**self).handle(payload, delivery).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::Attributes;

    fn msg(body: &str) -> ReceivedMessage {
        ReceivedMessage::new("m", "r", body, Attributes::new(), 1, None)
    }

    #[derive(serde::Deserialize, Debug)]
    struct Event {
        id: u32,
    }

    #[test]
    fn json_decodes_and_rejects() {
        let ok = Json::<Event>::decode(&msg(r#"{"id":7}"#)).unwrap();
        assert_eq!(ok.0.id, 7);
        let err = Json::<Event>::decode(&msg("{not json")).unwrap_err();
        assert!(err.to_string().contains("could not be decoded"), "{err}");
        assert!(StdError::source(&err).is_some());
        assert!(serde_json::Value::decode(&msg("[1,")).is_err());
        assert_eq!(String::decode(&msg("raw")).unwrap(), "raw");
    }

    /// Decodes with a prefix, keys by the payload, fails payloads that end in "fail".
    struct Custom;

    #[async_trait]
    impl Handler for Custom {
        type Payload = String;
        fn decode(&self, message: &ReceivedMessage) -> Result<String, DecodeError> {
            Ok(format!("custom:{}", message.body))
        }
        fn idempotency_key(&self, payload: &String, _: Delivery<'_>) -> Option<String> {
            Some(format!("key:{payload}"))
        }
        async fn handle(&self, payload: String, _: Delivery<'_>) -> Result<(), HandlerError> {
            if payload.ends_with("fail") {
                return Err(HandlerError::permanent("asked to fail"));
            }
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_shared_handler_forwards_every_method() {
        let shared = std::sync::Arc::new(Custom);
        let ok = msg("hello");
        let payload = Handler::decode(&shared, &ok).unwrap();
        assert_eq!(payload, "custom:hello", "the inner decode, not the default");
        let delivery = Delivery::new(&ok);
        assert_eq!(
            shared.idempotency_key(&payload, delivery).as_deref(),
            Some("key:custom:hello")
        );
        assert!(shared.handle(payload, delivery).await.is_ok());
        let bad = msg("fail");
        let payload = Handler::decode(&shared, &bad).unwrap();
        let err = shared
            .handle(payload, Delivery::new(&bad))
            .await
            .unwrap_err();
        assert!(!err.is_transient());
    }

    #[test]
    fn handler_error_kinds_and_codes() {
        let t = HandlerError::transient("timeout");
        assert!(t.is_transient());
        assert_eq!(t.code(), None);
        let p = HandlerError::permanent("bad").with_code("ERROR_FROM_TARGET");
        assert!(!p.is_transient());
        assert_eq!(p.code(), Some("ERROR_FROM_TARGET"));
        assert_eq!(p.to_string(), "permanent failure: bad");
    }
}
