//! Frames from the server: `{"type", "class", "code", "body"}` decoded into [`GuestEvent`].
//!
//! The parser never panics and never drops a frame silently: a frame it cannot read is a
//! [`FrameError`] (oversize, binary, malformed JSON, missing envelope fields, a body that does
//! not fit its class), and a frame of a class it does not know is kept whole as
//! [`GuestEvent::Unknown`] with its raw JSON.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

use crate::models::WebMessagingMessage;
use crate::models::open_enum::open_enum;

/// Inbound frames larger than this are refused by default (1 MiB). The platform documents no
/// maximum for what it sends; cards and carousels are the largest frames seen, far below this.
pub const DEFAULT_MAX_INBOUND_FRAME_BYTES: usize = 1024 * 1024;

/// The longest body snippet an error carries.
const SNIPPET_CHARS: usize = 120;

open_enum! {
    /// A frame's `type`: whether it answers one of our requests or is pushed by the server.
    pub enum FrameKind {
        /// The answer to a request of this session (configureSession, onMessage, echo, getJwt).
        Response => "response",
        /// Pushed by the server (agent or bot messages, events).
        Message => "message",
    }
}

/// The body of a `SessionResponse`: the session is configured (new or resumed).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SessionInfo {
    /// The socket is attached to the session.
    #[serde(default)]
    pub connected: bool,
    /// `true` for a new session, `false` when a session token resumed an existing one.
    #[serde(default)]
    pub new_session: Option<bool>,
    /// The conversation is read-only (it ended; history can still be read).
    #[serde(default)]
    pub read_only: Option<bool>,
    /// An earlier session was cleared by this one.
    #[serde(default)]
    pub cleared_existing_session: Option<bool>,
    /// Largest `customAttributes` payload the deployment accepts, in bytes.
    #[serde(default)]
    pub max_custom_data_bytes: Option<f64>,
    /// The session's lifetime in seconds, when the platform says.
    #[serde(default)]
    pub duration_seconds: Option<f64>,
    /// When the session expires (epoch, as the platform sends it).
    #[serde(default)]
    pub expiration_date: Option<f64>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// The body of a `JwtResponse`: a JWT for the guest REST API (history, attachments).
#[derive(Clone)]
#[non_exhaustive]
pub struct JwtIssued {
    /// The JWT (a bearer credential: never printed).
    pub jwt: SecretString,
    /// Its expiry, seconds since the epoch (`exp`).
    pub exp: Option<f64>,
}

impl fmt::Debug for JwtIssued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtIssued")
            .field("jwt", &"[redacted]")
            .field("exp", &self.exp)
            .finish()
    }
}

impl PartialEq for JwtIssued {
    fn eq(&self, other: &Self) -> bool {
        self.jwt.expose_secret() == other.jwt.expose_secret() && self.exp == other.exp
    }
}

/// What a non-200 frame says, by its code.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerErrorKind {
    /// 4006: the session expired; a new session token is needed.
    SessionExpired,
    /// 4007: no session for this token.
    SessionNotFound,
    /// 4011: the message is longer than the platform accepts.
    MessageTooLong,
    /// 4013: `customAttributes` are larger than the deployment allows.
    CustomAttributesTooLarge,
    /// 429 (or error code 4029): too many messages; `retry_after` says when to try again.
    TooManyRequests,
    /// 401: the request was not authorised.
    Unauthorized,
    /// 403: refused (a feature is off, or the origin is not allowed).
    Forbidden,
    /// 400: the request was not understood.
    BadRequest,
    /// Any other code.
    Other,
}

impl ServerErrorKind {
    /// The kind of a frame's `code` (and the body's `errorCode`, when it has one).
    pub fn from_codes(code: u32, error_code: Option<u32>) -> Self {
        match (code, error_code) {
            (4006, _) => Self::SessionExpired,
            (4007, _) => Self::SessionNotFound,
            (4011, _) => Self::MessageTooLong,
            (4013, _) => Self::CustomAttributesTooLarge,
            (429, _) | (_, Some(4029)) => Self::TooManyRequests,
            (401, _) => Self::Unauthorized,
            (403, _) => Self::Forbidden,
            (400, _) => Self::BadRequest,
            _ => Self::Other,
        }
    }
}

/// A frame whose `code` is not 200.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ServerError {
    /// The frame's `code` (HTTP-like, or the platform's 4xxx codes).
    pub code: u32,
    /// What the code means.
    pub kind: ServerErrorKind,
    /// The frame's `class` (`string` for plain errors).
    pub class: String,
    /// The body's text (`body` when a string, `errorMessage` otherwise), at most 120 characters.
    pub message: String,
    /// `retryAfter` (seconds) of a `TooManyRequestsErrorMessage`.
    pub retry_after: Option<Duration>,
}

/// One decoded server frame.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum GuestEvent {
    /// `SessionResponse`: the session is configured.
    Session(SessionInfo),
    /// `StructuredMessage`: a message (text, structured content, receipt, or events such as
    /// typing and presence). `kind` tells an answer to our own send or echo
    /// ([`FrameKind::Response`]) from a pushed one.
    Message {
        /// Response or pushed message.
        kind: FrameKind,
        /// The message (the same model as the history API's).
        message: Box<WebMessagingMessage>,
    },
    /// `JwtResponse`: the answer to `getJwt`.
    Jwt(JwtIssued),
    /// `SessionExpiredEvent`: the session is over; resuming it is no longer possible.
    SessionExpired,
    /// `SessionClearedEvent`: the conversation was cleared (by the guest, on another device).
    SessionCleared,
    /// `ConnectionClosedEvent`: the server is closing this connection.
    ConnectionClosed,
    /// `LogoutEvent`: an authenticated session logged out.
    Logout,
    /// A frame with a code other than 200.
    Error(ServerError),
    /// A frame of a class this version does not know, kept as it came.
    Unknown {
        /// The frame's `class`.
        class: String,
        /// The whole frame.
        raw: Value,
    },
}

/// Why a server frame could not be read. The session goes on after each of these.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The frame is larger than the configured maximum.
    #[error("frame of {bytes} bytes exceeds the maximum of {max}")]
    TooLarge {
        /// Its size.
        bytes: usize,
        /// The maximum.
        max: usize,
    },
    /// A binary frame: the protocol is JSON text only.
    #[error("binary frame of {bytes} bytes (the protocol sends JSON text only)")]
    Binary {
        /// Its size.
        bytes: usize,
    },
    /// The frame is not JSON.
    #[error("frame is not JSON: {source} (starts {snippet:?})")]
    MalformedJson {
        /// The first characters of the frame.
        snippet: String,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// The frame is JSON but not a `{type, class, code, body}` envelope.
    #[error("frame lacks `{field}` (starts {snippet:?})")]
    MissingField {
        /// The missing or mistyped field.
        field: &'static str,
        /// The first characters of the frame.
        snippet: String,
    },
    /// The body does not fit its class.
    #[error("{class} body does not decode: {source}")]
    BadBody {
        /// The frame's class.
        class: String,
        /// The decoder's error.
        #[source]
        source: serde_json::Error,
    },
}

fn snippet(text: &str) -> String {
    text.chars().take(SNIPPET_CHARS).collect()
}

/// Decodes one text frame, refusing frames over `max_bytes`.
///
/// ```
/// use genesys_messaging::guest::{parse_frame, GuestEvent};
/// let frame = r#"{"type":"response","class":"SessionResponse","code":200,"body":{"connected":true,"newSession":true}}"#;
/// match parse_frame(frame, 4096).unwrap() {
///     GuestEvent::Session(info) => assert_eq!(info.new_session, Some(true)),
///     other => panic!("{other:?}"),
/// }
/// ```
pub fn parse_frame(text: &str, max_bytes: usize) -> Result<GuestEvent, FrameError> {
    if text.len() > max_bytes {
        return Err(FrameError::TooLarge {
            bytes: text.len(),
            max: max_bytes,
        });
    }
    let raw: Value = serde_json::from_str(text).map_err(|source| FrameError::MalformedJson {
        snippet: snippet(text),
        source,
    })?;
    let missing = |field| FrameError::MissingField {
        field,
        snippet: snippet(text),
    };
    let obj = raw.as_object().ok_or_else(|| missing("type"))?;
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .map(FrameKind::from)
        .ok_or_else(|| missing("type"))?;
    let class = obj
        .get("class")
        .and_then(Value::as_str)
        .ok_or_else(|| missing("class"))?
        .to_owned();
    let code = obj
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|c| u32::try_from(c).ok())
        .ok_or_else(|| missing("code"))?;
    let body = obj.get("body").cloned().unwrap_or(Value::Null);

    if code != 200 {
        return Ok(GuestEvent::Error(server_error(code, class, &body)));
    }
    let bad_body = |source| FrameError::BadBody {
        class: class.clone(),
        source,
    };
    Ok(match class.as_str() {
        "SessionResponse" => {
            GuestEvent::Session(SessionInfo::deserialize(&body).map_err(bad_body)?)
        }
        "StructuredMessage" => GuestEvent::Message {
            kind,
            message: Box::new(WebMessagingMessage::deserialize(&body).map_err(bad_body)?),
        },
        "JwtResponse" => {
            #[derive(Deserialize)]
            struct Wire {
                jwt: String,
                #[serde(default)]
                exp: Option<f64>,
            }
            let wire = Wire::deserialize(&body).map_err(bad_body)?;
            GuestEvent::Jwt(JwtIssued {
                jwt: SecretString::from(wire.jwt),
                exp: wire.exp.filter(|e| e.is_finite()),
            })
        }
        "SessionExpiredEvent" => GuestEvent::SessionExpired,
        "SessionClearedEvent" => GuestEvent::SessionCleared,
        "ConnectionClosedEvent" => GuestEvent::ConnectionClosed,
        "LogoutEvent" => GuestEvent::Logout,
        _ => GuestEvent::Unknown { class, raw },
    })
}

fn server_error(code: u32, class: String, body: &Value) -> ServerError {
    let error_code = body
        .get("errorCode")
        .and_then(Value::as_u64)
        .and_then(|c| u32::try_from(c).ok());
    let message = match body {
        Value::String(s) => snippet(s),
        other => other
            .get("errorMessage")
            .and_then(Value::as_str)
            .map(snippet)
            .unwrap_or_else(|| snippet(&other.to_string())),
    };
    let retry_after = body
        .get("retryAfter")
        .and_then(Value::as_f64)
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(3600.0)));
    ServerError {
        code,
        kind: ServerErrorKind::from_codes(code, error_code),
        class,
        message,
        retry_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{EventType, MessageType};

    const MAX: usize = DEFAULT_MAX_INBOUND_FRAME_BYTES;

    #[test]
    fn session_response_new_and_resumed() {
        let f = r#"{"type":"response","class":"SessionResponse","code":200,"body":{"connected":true,"newSession":false,"readOnly":false,"maxCustomDataBytes":2048,"somethingNew":1}}"#;
        let GuestEvent::Session(info) = parse_frame(f, MAX).unwrap() else {
            panic!("not a session")
        };
        assert!(info.connected);
        assert_eq!(info.new_session, Some(false));
        assert_eq!(info.max_custom_data_bytes, Some(2048.0));
        assert_eq!(info.extra.get("somethingNew"), Some(&Value::from(1)));
    }

    #[test]
    fn structured_message_with_quick_replies_and_typing_events() {
        let f = r#"{"type":"message","class":"StructuredMessage","code":200,"body":{"id":"m1","type":"Structured","direction":"Outbound","text":"Pick one","channel":{"time":"2026-11-01T09:00:00Z"},"content":[{"contentType":"QuickReply","quickReply":{"text":"Yes","payload":"yes","action":"Message"}}],"originatingEntity":"Bot"}}"#;
        let GuestEvent::Message { kind, message } = parse_frame(f, MAX).unwrap() else {
            panic!("not a message")
        };
        assert_eq!(kind, FrameKind::Message);
        assert_eq!(message.message_type, Some(MessageType::Structured));
        assert_eq!(message.content.len(), 1);

        let typing = r#"{"type":"message","class":"StructuredMessage","code":200,"body":{"id":"e","type":"Event","direction":"Outbound","channel":{"time":"2026-11-01T09:00:00Z"},"events":[{"eventType":"Typing","typing":{"type":"On","duration":5000}},{"eventType":"Presence","presence":{"type":"Join"}}]}}"#;
        let GuestEvent::Message { message, .. } = parse_frame(typing, MAX).unwrap() else {
            panic!("not a message")
        };
        assert_eq!(message.events[0].event_type, EventType::Typing);
        assert_eq!(message.events[1].event_type, EventType::Presence);
    }

    #[test]
    fn jwt_response_is_secret_in_debug() {
        let f = r#"{"type":"response","class":"JwtResponse","code":200,"body":{"jwt":"eyJ.secret.sig","exp":1764930000}}"#;
        let GuestEvent::Jwt(j) = parse_frame(f, MAX).unwrap() else {
            panic!("not a jwt")
        };
        assert_eq!(j.jwt.expose_secret(), "eyJ.secret.sig");
        assert_eq!(j.exp, Some(1_764_930_000.0));
        assert!(!format!("{j:?}").contains("secret"));
    }

    #[test]
    fn lifecycle_events() {
        for (class, want) in [
            ("SessionExpiredEvent", GuestEvent::SessionExpired),
            ("SessionClearedEvent", GuestEvent::SessionCleared),
            ("ConnectionClosedEvent", GuestEvent::ConnectionClosed),
            ("LogoutEvent", GuestEvent::Logout),
        ] {
            let f = format!(r#"{{"type":"message","class":"{class}","code":200,"body":{{}}}}"#);
            assert_eq!(parse_frame(&f, MAX).unwrap(), want, "{class}");
        }
    }

    #[test]
    fn error_codes_are_typed() {
        let cases = [
            (
                r#"{"type":"response","class":"string","code":4006,"body":"session expired"}"#,
                ServerErrorKind::SessionExpired,
            ),
            (
                r#"{"type":"response","class":"string","code":4007,"body":"session not found"}"#,
                ServerErrorKind::SessionNotFound,
            ),
            (
                r#"{"type":"response","class":"string","code":4011,"body":"message too long"}"#,
                ServerErrorKind::MessageTooLong,
            ),
            (
                r#"{"type":"response","class":"string","code":4013,"body":"Custom Attributes in channel metadata is larger than 2048 bytes"}"#,
                ServerErrorKind::CustomAttributesTooLarge,
            ),
            (
                r#"{"type":"response","class":"string","code":403,"body":"forbidden"}"#,
                ServerErrorKind::Forbidden,
            ),
        ];
        for (f, want) in cases {
            let GuestEvent::Error(e) = parse_frame(f, MAX).unwrap() else {
                panic!("not an error: {f}")
            };
            assert_eq!(e.kind, want, "{f}");
            assert!(!e.message.is_empty());
        }
        let limited = r#"{"type":"response","class":"TooManyRequestsErrorMessage","code":429,"body":{"retryAfter":3,"errorCode":4029,"errorMessage":"Message rate too high for this session"}}"#;
        let GuestEvent::Error(e) = parse_frame(limited, MAX).unwrap() else {
            panic!("not an error")
        };
        assert_eq!(e.kind, ServerErrorKind::TooManyRequests);
        assert_eq!(e.retry_after, Some(Duration::from_secs(3)));
        assert_eq!(e.message, "Message rate too high for this session");
    }

    #[test]
    fn unknown_class_is_kept_whole() {
        let f = r#"{"type":"response","class":"PresignedUrlResponse","code":200,"body":{"attachmentId":"a","url":"https://x"}}"#;
        let GuestEvent::Unknown { class, raw } = parse_frame(f, MAX).unwrap() else {
            panic!("not unknown")
        };
        assert_eq!(class, "PresignedUrlResponse");
        assert_eq!(raw["body"]["attachmentId"], "a");
    }

    #[test]
    fn hostile_frames_are_typed_errors() {
        let big = format!(
            r#"{{"type":"message","class":"x","code":200,"body":"{}"}}"#,
            "a".repeat(100)
        );
        assert!(matches!(
            parse_frame(&big, 64),
            Err(FrameError::TooLarge { max: 64, .. })
        ));
        assert!(matches!(
            parse_frame("{not json", MAX),
            Err(FrameError::MalformedJson { .. })
        ));
        assert!(matches!(
            parse_frame("[1,2]", MAX),
            Err(FrameError::MissingField { field: "type", .. })
        ));
        assert!(matches!(
            parse_frame(r#"{"type":"message","code":200}"#, MAX),
            Err(FrameError::MissingField { field: "class", .. })
        ));
        assert!(matches!(
            parse_frame(r#"{"type":"message","class":"x","code":"200"}"#, MAX),
            Err(FrameError::MissingField { field: "code", .. })
        ));
        assert!(matches!(
            parse_frame(
                r#"{"type":"message","class":"JwtResponse","code":200,"body":{"exp":1}}"#,
                MAX
            ),
            Err(FrameError::BadBody { .. })
        ));
    }
}
