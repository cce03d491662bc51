//! Frames the guest sends: `{"action": …, "token": …}` requests.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// Outbound frames larger than this are refused by default (64 KiB). The platform's own limit
/// is not published; it answers an over-long message with code 4011.
pub const DEFAULT_MAX_OUTBOUND_FRAME_BYTES: usize = 64 * 1024;

/// The `customAttributes` limit the platform reports when it sends none of its own
/// (`maxCustomDataBytes` in the `SessionResponse` overrides it).
pub const DEFAULT_MAX_CUSTOM_DATA_BYTES: usize = 2048;

/// The `customMessageId` prefix of heartbeat echoes, so their answers are told from messages.
pub(crate) const ECHO_ID_PREFIX: &str = "echo-";

/// A message from the guest: text, attachments already uploaded, or a quick-reply answer.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct OutgoingMessage {
    /// The text.
    pub text: Option<String>,
    /// Ids of attachments uploaded beforehand.
    pub attachment_ids: Vec<String>,
    /// A quick-reply answer: (text, payload).
    pub button_response: Option<(String, String)>,
    /// `channel.metadata.customAttributes` sent with the message.
    pub custom_attributes: BTreeMap<String, String>,
}

impl OutgoingMessage {
    /// A text message.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: Some(text.into()),
            ..Self::default()
        }
    }

    /// The answer to a quick reply (the button's text and payload).
    pub fn quick_reply(text: impl Into<String>, payload: impl Into<String>) -> Self {
        let text = text.into();
        Self {
            text: Some(text.clone()),
            button_response: Some((text, payload.into())),
            ..Self::default()
        }
    }

    /// Adds an uploaded attachment.
    pub fn with_attachment(mut self, id: impl Into<String>) -> Self {
        self.attachment_ids.push(id.into());
        self
    }

    /// Adds a custom attribute (`channel.metadata.customAttributes`).
    pub fn with_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.custom_attributes.insert(key.into(), value.into());
        self
    }

    /// True when there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.text.as_deref().is_none_or(str::is_empty)
            && self.attachment_ids.is_empty()
            && self.button_response.is_none()
    }

    /// The `customAttributes` as JSON bytes (what the platform's limit counts).
    pub(crate) fn custom_attributes_bytes(&self) -> usize {
        if self.custom_attributes.is_empty() {
            0
        } else {
            serde_json::to_string(&self.custom_attributes).map_or(usize::MAX, |s| s.len())
        }
    }
}

/// `configureSession`: a new session (a fresh token) or the resumption of one (its token).
pub(crate) fn configure_session(deployment_id: &str, token: &str) -> String {
    json!({"action": "configureSession", "deploymentId": deployment_id, "token": token}).to_string()
}

/// `onMessage`, tagged with `metadata.customMessageId` so its answer can be matched.
pub(crate) fn on_message(token: &str, message: &OutgoingMessage, custom_id: &str) -> String {
    let mut content: Vec<Value> = message
        .attachment_ids
        .iter()
        .map(|id| json!({"contentType": "Attachment", "attachment": {"id": id}}))
        .collect();
    let kind = if let Some((text, payload)) = &message.button_response {
        content.push(json!({
            "contentType": "ButtonResponse",
            "buttonResponse": {"type": "QuickReply", "text": text, "payload": payload},
        }));
        "Structured"
    } else {
        "Text"
    };
    let mut msg = json!({"type": kind, "metadata": {"customMessageId": custom_id}});
    if let Some(text) = &message.text {
        msg["text"] = Value::from(text.as_str());
    }
    if !content.is_empty() {
        msg["content"] = Value::from(content);
    }
    let mut frame = json!({"action": "onMessage", "token": token, "message": msg});
    if !message.custom_attributes.is_empty() {
        frame["channel"] = json!({"metadata": {"customAttributes": message.custom_attributes}});
    }
    frame.to_string()
}

/// `echo`: the heartbeat. The server answers with the same text.
pub(crate) fn echo(token: &str, custom_id: &str) -> String {
    json!({
        "action": "echo",
        "token": token,
        "message": {"type": "Text", "text": "ping", "metadata": {"customMessageId": custom_id}},
    })
    .to_string()
}

/// `getJwt`: a JWT for the guest REST API.
pub(crate) fn get_jwt(token: &str) -> String {
    json!({"action": "getJwt", "token": token}).to_string()
}

/// `closeSession`: ends the session on the server.
pub(crate) fn close_session(token: &str) -> String {
    json!({"action": "closeSession", "token": token}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_match_the_protocol() {
        let v: Value = serde_json::from_str(&configure_session("dep", "tok")).unwrap();
        assert_eq!(
            v,
            json!({"action":"configureSession","deploymentId":"dep","token":"tok"})
        );

        let m = OutgoingMessage::text("hi")
            .with_attachment("a1")
            .with_attribute("k", "v");
        let v: Value = serde_json::from_str(&on_message("tok", &m, "c1")).unwrap();
        assert_eq!(v["action"], "onMessage");
        assert_eq!(v["message"]["type"], "Text");
        assert_eq!(v["message"]["text"], "hi");
        assert_eq!(v["message"]["content"][0]["attachment"]["id"], "a1");
        assert_eq!(v["message"]["metadata"]["customMessageId"], "c1");
        assert_eq!(v["channel"]["metadata"]["customAttributes"]["k"], "v");

        let q = OutgoingMessage::quick_reply("Yes", "yes");
        let v: Value = serde_json::from_str(&on_message("tok", &q, "c2")).unwrap();
        assert_eq!(v["message"]["type"], "Structured");
        assert_eq!(
            v["message"]["content"][0]["buttonResponse"]["payload"],
            "yes"
        );

        let v: Value = serde_json::from_str(&echo("tok", "echo-1")).unwrap();
        assert_eq!(v["action"], "echo");
        assert_eq!(v["message"]["text"], "ping");
        let v: Value = serde_json::from_str(&get_jwt("tok")).unwrap();
        assert_eq!(v, json!({"action":"getJwt","token":"tok"}));
        let v: Value = serde_json::from_str(&close_session("tok")).unwrap();
        assert_eq!(v, json!({"action":"closeSession","token":"tok"}));
    }

    #[test]
    fn emptiness_and_attribute_size() {
        assert!(OutgoingMessage::default().is_empty());
        assert!(OutgoingMessage::text("").is_empty());
        assert!(!OutgoingMessage::default().with_attachment("a").is_empty());
        assert_eq!(OutgoingMessage::text("x").custom_attributes_bytes(), 0);
        assert_eq!(
            OutgoingMessage::text("x")
                .with_attribute("k", "v")
                .custom_attributes_bytes(),
            r#"{"k":"v"}"#.len()
        );
    }
}
