//! The org's data: conversations (stored) and their messages (generated on demand).
//!
//! Conversations are few and kept in memory. A message is a pure function of
//! `(seed, conversation, index)`: nothing per message is stored, so N × M can reach millions.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use rand::rngs::SmallRng;
use rand::{Rng, RngCore, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::config::SimConfig;
use crate::ids::{IdKind, hash, make_id};

/// One simulated conversation, as the handle reports it.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimConversation {
    /// Conversation id (also the analytics `conversationId`).
    pub id: String,
    /// The agent's communication id: the `{communicationId}` of the agent send endpoint.
    pub communication_id: String,
    /// The open messaging integration of this conversation: `{integrationId}` of the inbound
    /// open message endpoint. Every simulated conversation has its own.
    pub integration_id: Option<String>,
    /// Guest session JWT: the bearer for `GET /api/v2/webmessaging/messages` of this conversation.
    pub guest_jwt: String,
    /// `conversationStart`.
    pub start: DateTime<Utc>,
    /// `conversationEnd`.
    pub end: DateTime<Utc>,
    /// Messages generated for this conversation (messages sent through the API come on top).
    pub message_count: usize,
}

/// What the sim keeps per conversation.
#[derive(Clone, Debug)]
pub(crate) struct Conv {
    pub public: SimConversation,
    pub index: u32,
    pub customer_participant: String,
    pub agent_participant: String,
    pub bot_participant: String,
    pub customer_session: String,
    pub bot_session: String,
    pub agent_user: String,
    pub division: String,
    pub customer_first: &'static str,
    pub customer_last: &'static str,
    pub agent_name: &'static str,
    pub outbound_origin: bool,
    /// Average gap between two messages.
    pub gap: TimeDelta,
}

/// Message kinds of the guest API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MsgType {
    Text,
    Structured,
    Receipt,
    Event,
}

impl MsgType {
    fn as_str(self) -> &'static str {
        match self {
            MsgType::Text => "Text",
            MsgType::Structured => "Structured",
            MsgType::Receipt => "Receipt",
            MsgType::Event => "Event",
        }
    }
}

/// An attachment of a generated message.
#[derive(Clone, Debug)]
pub(crate) struct Attachment {
    pub id: String,
    pub media_type: &'static str,
    pub mime: &'static str,
    pub filename: String,
    pub size: usize,
    pub expired: bool,
    /// When expired: answer 404 (object gone) instead of 403 (signature expired).
    pub gone: bool,
    pub conv: u32,
    pub index: u32,
}

/// A generated message.
#[derive(Clone, Debug)]
pub(crate) struct Msg {
    pub id: String,
    pub conv: u32,
    pub index: u32,
    pub kind: MsgType,
    pub inbound: bool,
    pub bot: bool,
    pub time: DateTime<Utc>,
    pub text: Option<String>,
    pub structured: u8,
    pub receipt_status: &'static str,
    pub event: u8,
    pub attachment: Option<Attachment>,
}

const FIRST: [&str; 8] = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken",
];
const LAST: [&str; 8] = [
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson",
];
const AGENTS: [&str; 5] = [
    "Agent Smith",
    "Agent Jones",
    "Agent Brown",
    "Agent Green",
    "Agent White",
];
const GUEST_TEXT: [&str; 8] = [
    "Hi, I need help with my order",
    "It still has not arrived",
    "Can I change the delivery address?",
    "Thanks, that helps",
    "Here is a photo of the damage",
    "What are your opening hours?",
    "I would like a refund",
    "Ok, bye",
];
const AGENT_TEXT: [&str; 8] = [
    "Hello! How can I help you today?",
    "Let me check that for you.",
    "Your order is on its way.",
    "I have updated the address.",
    "Could you send a picture, please?",
    "We are open 9 to 5, Monday to Friday.",
    "The refund has been issued.",
    "Is there anything else I can help with?",
];

/// The whole dataset.
#[derive(Debug)]
pub(crate) struct Dataset {
    pub seed: u64,
    pub messages_per_conversation: u32,
    pub out_of_order_share: f64,
    pub expired_attachment_share: f64,
    pub attachment_share: f64,
    pub bot_share: f64,
    pub convs: Vec<Conv>,
    pub by_jwt: HashMap<String, u32>,
    pub created: DateTime<Utc>,
}

pub(crate) fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn to_delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

fn share_hit(seed: u64, parts: &[u64], share: f64) -> bool {
    // 53 bits of the hash as a uniform draw in [0, 1).
    let u = (hash(seed, parts) >> 11) as f64 / (1u64 << 53) as f64;
    u < share
}

impl Dataset {
    pub fn generate(config: &SimConfig) -> Self {
        let seed = config.seed;
        let now = truncate_ms(Utc::now());
        let span = to_delta(config.history_span);
        let m = config.messages_per_conversation;
        let mut convs = Vec::with_capacity(config.conversations as usize);
        let mut by_jwt = HashMap::with_capacity(config.conversations as usize);
        for c in 0..config.conversations {
            let mut rng = SmallRng::seed_from_u64(hash(seed, &[0xC0, u64::from(c)]));
            let gap = TimeDelta::milliseconds(rng.random_range(5_000..40_000));
            let duration = gap * i32::try_from(m.max(1)).unwrap_or(i32::MAX);
            let room = (span - duration).max(TimeDelta::zero());
            let offset_ms = if room.num_milliseconds() > 0 {
                rng.random_range(0..room.num_milliseconds())
            } else {
                0
            };
            let start = now - span.max(duration) + TimeDelta::milliseconds(offset_ms);
            let end = start + duration;
            let id = make_id(seed, IdKind::Conversation, c, 0);
            let jwt = guest_jwt(seed, c, &id, now);
            by_jwt.insert(jwt.clone(), c);
            let public = SimConversation {
                id,
                communication_id: make_id(seed, IdKind::Communication, c, 0),
                integration_id: Some(make_id(seed, IdKind::Integration, c, 0)),
                guest_jwt: jwt,
                start,
                end,
                message_count: m as usize,
            };
            convs.push(Conv {
                public,
                index: c,
                customer_participant: make_id(seed, IdKind::CustomerParticipant, c, 0),
                agent_participant: make_id(seed, IdKind::AgentParticipant, c, 0),
                bot_participant: make_id(seed, IdKind::BotParticipant, c, 0),
                customer_session: make_id(seed, IdKind::CustomerSession, c, 0),
                bot_session: make_id(seed, IdKind::BotSession, c, 0),
                agent_user: make_id(seed, IdKind::AgentUser, rng.random_range(0..5), 0),
                division: make_id(seed, IdKind::Division, 0, 0),
                customer_first: FIRST[rng.random_range(0..FIRST.len())],
                customer_last: LAST[rng.random_range(0..LAST.len())],
                agent_name: AGENTS[rng.random_range(0..AGENTS.len())],
                outbound_origin: rng.random_bool(0.1),
                gap,
            });
        }
        Self {
            seed,
            messages_per_conversation: m,
            out_of_order_share: config.out_of_order_share,
            expired_attachment_share: config.expired_attachment_share,
            attachment_share: config.attachment_share,
            bot_share: config.bot_share,
            convs,
            by_jwt,
            created: now,
        }
    }

    pub fn conv_by_id(&self, id: &str) -> Option<&Conv> {
        let (c, zero) = crate::ids::parse_id(self.seed, IdKind::Conversation, id)?;
        if zero != 0 {
            return None;
        }
        self.convs.get(c as usize)
    }

    pub fn conv_by_integration(&self, id: &str) -> Option<&Conv> {
        let (c, _) = crate::ids::parse_id(self.seed, IdKind::Integration, id)?;
        self.convs.get(c as usize)
    }

    /// The message with this id, if this org generated it.
    pub fn message_by_id(&self, id: &str) -> Option<Msg> {
        let (c, i) = crate::ids::parse_id(self.seed, IdKind::Message, id)?;
        if (c as usize) < self.convs.len() && i < self.messages_per_conversation {
            Some(self.message(c, i))
        } else {
            None
        }
    }

    pub fn attachment_by_id(&self, id: &str) -> Option<Attachment> {
        let (c, i) = crate::ids::parse_id(self.seed, IdKind::Attachment, id)?;
        if (c as usize) < self.convs.len() && i < self.messages_per_conversation {
            self.message(c, i).attachment
        } else {
            None
        }
    }

    /// Message `i` of conversation `c` (both in range).
    pub fn message(&self, c: u32, i: u32) -> Msg {
        let seed = self.seed;
        let conv = &self.convs[c as usize];
        let mut rng = SmallRng::seed_from_u64(hash(seed, &[0x11, u64::from(c), u64::from(i)]));
        let roll: f64 = rng.random();
        let kind = if i == 0 || roll < 0.55 {
            MsgType::Text
        } else if roll < 0.70 {
            MsgType::Structured
        } else if roll < 0.90 {
            MsgType::Receipt
        } else {
            MsgType::Event
        };
        let inbound = if i == 0 {
            !conv.outbound_origin
        } else {
            match kind {
                MsgType::Receipt => false,
                _ => rng.random_bool(0.45),
            }
        };
        let bot = !inbound && rng.random_bool(self.bot_share.clamp(0.0, 1.0));
        let base = conv.public.start + conv.gap * i32::try_from(i).unwrap_or(i32::MAX);
        let jitter =
            TimeDelta::milliseconds(rng.random_range(0..conv.gap.num_milliseconds().max(1) / 2));
        let mut time = base + jitter;
        if i > 0 && rng.random_bool(self.out_of_order_share.clamp(0.0, 1.0)) {
            let back = conv.gap.num_milliseconds() * rng.random_range(2..5);
            time = base - TimeDelta::milliseconds(back);
        }
        let pool = if inbound { &GUEST_TEXT } else { &AGENT_TEXT };
        let text = match kind {
            MsgType::Text | MsgType::Structured => {
                Some(format!("{} (#{i})", pool[rng.random_range(0..pool.len())]))
            }
            _ => None,
        };
        let structured = rng.random_range(0..3u8);
        let receipt_status = ["Delivered", "Read", "Sent", "Read", "Delivered", "Failed"]
            [rng.random_range(0..6usize)];
        let event = rng.random_range(0..3u8);
        let attachment = match kind {
            MsgType::Text | MsgType::Structured
                if rng.random_bool(self.attachment_share.clamp(0.0, 1.0)) =>
            {
                let (media_type, mime, ext) = [
                    ("Image", "image/png", "png"),
                    ("Image", "image/jpeg", "jpg"),
                    ("File", "application/pdf", "pdf"),
                    ("Video", "video/mp4", "mp4"),
                    ("Audio", "audio/mpeg", "mp3"),
                ][rng.random_range(0..5usize)];
                Some(Attachment {
                    id: make_id(seed, IdKind::Attachment, c, i),
                    media_type,
                    mime,
                    filename: format!("attachment-{i}.{ext}"),
                    size: rng.random_range(64..4096),
                    expired: share_hit(
                        seed,
                        &[0xE0, u64::from(c), u64::from(i)],
                        self.expired_attachment_share,
                    ),
                    gone: share_hit(seed, &[0xE1, u64::from(c), u64::from(i)], 0.5),
                    conv: c,
                    index: i,
                })
            }
            _ => None,
        };
        Msg {
            id: make_id(seed, IdKind::Message, c, i),
            conv: c,
            index: i,
            kind,
            inbound,
            bot,
            time,
            text,
            structured,
            receipt_status,
            event,
            attachment,
        }
    }

    /// The bytes an attachment URL serves.
    pub fn attachment_body(&self, a: &Attachment) -> Vec<u8> {
        let mut rng = SmallRng::seed_from_u64(hash(
            self.seed,
            &[0xB0, u64::from(a.conv), u64::from(a.index)],
        ));
        let mut body = vec![0u8; a.size];
        rng.fill_bytes(&mut body);
        body
    }

    /// The signature part of an attachment URL.
    pub fn attachment_signature(&self, a: &Attachment) -> String {
        let mut h = Sha256::new();
        h.update(self.seed.to_be_bytes());
        h.update(a.id.as_bytes());
        hex::encode(h.finalize())
    }

    /// Signed-URL style address of an attachment on `base_url`.
    pub fn attachment_url(&self, base_url: &str, a: &Attachment) -> String {
        format!(
            "{base_url}/__media/{}/{}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={}&X-Amz-Expires=600&X-Amz-SignedHeaders=host&X-Amz-Signature={}",
            a.id,
            a.filename,
            self.created.format("%Y%m%dT%H%M%SZ"),
            self.attachment_signature(a)
        )
    }

    fn customer_party(conv: &Conv) -> Value {
        json!({
            "nickname": format!("{} {}", conv.customer_first, conv.customer_last),
            "firstName": conv.customer_first,
            "lastName": conv.customer_last,
        })
    }

    fn org_party(conv: &Conv, bot: bool) -> Value {
        if bot {
            json!({"nickname": "Sim Bot"})
        } else {
            json!({
                "nickname": conv.agent_name,
                "image": "https://example.invalid/avatar.png",
            })
        }
    }

    fn content(&self, m: &Msg, base_url: &str) -> Vec<Value> {
        let mut content = Vec::new();
        if m.kind == MsgType::Structured {
            content.push(match m.structured {
                0 => json!({
                    "contentType": "QuickReply",
                    "quickReply": {"text": "Yes", "payload": "yes", "action": "Message"},
                }),
                1 => json!({
                    "contentType": "ButtonResponse",
                    "buttonResponse": {"type": "QuickReply", "text": "No", "payload": "no"},
                }),
                _ => json!({
                    "contentType": "Card",
                    "card": {
                        "title": "Your order",
                        "description": "Track it here",
                        "actions": [{"type": "Link", "text": "Track", "url": "https://example.invalid/track"}],
                    },
                }),
            });
        }
        if let Some(a) = &m.attachment {
            let sha = hex::encode(Sha256::digest(self.attachment_body(a)));
            content.push(json!({
                "contentType": "Attachment",
                "attachment": {
                    "id": a.id,
                    "mediaType": a.media_type,
                    "url": self.attachment_url(base_url, a),
                    "mime": a.mime,
                    "filename": a.filename,
                    "sha256": sha,
                    "fileSize": a.size,
                },
            }));
        }
        content
    }

    /// The guest API's `WebMessagingMessage`.
    pub fn webmessaging_json(&self, m: &Msg, base_url: &str) -> Value {
        let conv = &self.convs[m.conv as usize];
        let (from, to) = if m.inbound {
            (Self::customer_party(conv), Self::org_party(conv, false))
        } else {
            (Self::org_party(conv, m.bot), Self::customer_party(conv))
        };
        let mut v = json!({
            "id": m.id,
            "channel": {
                "time": iso(m.time),
                "messageId": m.id,
                "from": from,
                "to": to,
            },
            "type": m.kind.as_str(),
            "direction": if m.inbound { "Inbound" } else { "Outbound" },
            "originatingEntity": if m.bot { "Bot" } else { "Human" },
        });
        if let Some(t) = &m.text {
            v["text"] = json!(t);
        }
        let content = self.content(m, base_url);
        if !content.is_empty() {
            v["content"] = Value::Array(content);
        }
        match m.kind {
            MsgType::Receipt => {
                v["status"] = json!(m.receipt_status);
                if m.receipt_status == "Failed" {
                    v["reasons"] = json!([{"code": "MessageExpired", "message": "The message could not be delivered in time"}]);
                }
            }
            MsgType::Event => {
                v["events"] = match m.event {
                    0 => json!([{"eventType": "Presence", "presence": {"type": "Join"}}]),
                    1 => json!([{"eventType": "Presence", "presence": {"type": "Disconnect"}}]),
                    _ => json!([{
                        "eventType": "CoBrowse",
                        "coBrowse": {
                            "type": "Offering",
                            "sessionId": format!("cobrowse-{}-{}", m.conv, m.index),
                            "sessionJoinToken": format!("join-{}-{}", m.conv, m.index),
                        },
                    }]),
                };
            }
            _ => {}
        }
        v["metadata"] = json!({"customMessageId": format!("sim-{}-{}", m.conv, m.index)});
        v
    }

    /// The agent API's `MessageData` (the current model: text and attachments live in
    /// `normalizedMessage` only; `textBody`, `media` and `stickers` are gone).
    pub fn message_data_json(&self, m: &Msg, base_url: &str) -> Value {
        let conv = &self.convs[m.conv as usize];
        let mut normalized = self.webmessaging_json(m, base_url);
        // `ConversationContentAttachment` says `contentSizeBytes` where the guest API's
        // `WebMessagingAttachment` says `fileSize`.
        for item in normalized
            .get_mut("content")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(a) = item.get_mut("attachment").and_then(Value::as_object_mut)
                && let Some(size) = a.remove("fileSize")
            {
                a.insert("contentSizeBytes".into(), size);
            }
        }
        let (from, to) = if m.inbound {
            (
                conv.customer_participant.as_str(),
                conv.public.integration_id.as_deref().unwrap_or(""),
            )
        } else {
            (
                conv.public.integration_id.as_deref().unwrap_or(""),
                conv.customer_participant.as_str(),
            )
        };
        json!({
            "id": m.id,
            "name": format!("message {}", m.index),
            "providerMessageId": format!("sim-{}-{}", m.conv, m.index),
            "timestamp": iso(m.time),
            "fromAddress": from,
            "toAddress": to,
            "direction": if m.inbound { "inbound" } else { "outbound" },
            "messengerType": "webmessaging",
            "status": if m.inbound { "received" } else { "delivery-success" },
            "normalizedMessage": normalized,
            "conversationId": conv.public.id,
            "selfUri": format!("/api/v2/conversations/messages/{}/messages/{}", conv.public.id, m.id),
        })
    }
}

fn truncate_ms(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

/// A JWT-shaped guest token. The sim accepts exactly the ones it issued (a lookup), so the
/// signature is only there to look right.
fn guest_jwt(seed: u64, c: u32, conversation_id: &str, now: DateTime<Utc>) -> String {
    let payload = json!({
        "iss": "genesys-sim",
        "sub": make_id(seed, IdKind::CustomerParticipant, c, 0),
        "jti": make_id(seed, IdKind::CustomerSession, c, 0),
        "conversationId": conversation_id,
        "iat": now.timestamp(),
        "exp": now.timestamp() + 7 * 24 * 3600,
    });
    jwt_shaped(&payload, &seed.to_be_bytes())
}

/// `header.payload.signature` of an HS256-looking JWT carrying `payload`; `salt` makes the
/// signature differ between issuers. Every JWT the simulator issues is built here.
pub(crate) fn jwt_shaped(payload: &Value, salt: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(payload.to_string());
    let mut h = Sha256::new();
    h.update(salt);
    h.update(header.as_bytes());
    h.update(b".");
    h.update(payload.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(h.finalize());
    format!("{header}.{payload}.{sig}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset(n: u32, m: u32) -> Dataset {
        let config = SimConfig {
            conversations: n,
            messages_per_conversation: m,
            seed: 9,
            ..SimConfig::default()
        };
        Dataset::generate(&config)
    }

    #[test]
    fn messages_are_deterministic_and_cover_every_kind() {
        let d = dataset(2, 400);
        let mut kinds = std::collections::HashSet::new();
        let (mut inbound, mut bot, mut human, mut attach) = (0, 0, 0, 0);
        for i in 0..400 {
            let m = d.message(1, i);
            assert_eq!(m.id, d.message(1, i).id);
            assert_eq!(d.message_by_id(&m.id).unwrap().index, i);
            kinds.insert(m.kind.as_str());
            inbound += usize::from(m.inbound);
            bot += usize::from(m.bot);
            human += usize::from(!m.bot);
            attach += usize::from(m.attachment.is_some());
        }
        assert_eq!(kinds.len(), 4);
        assert!(inbound > 50 && bot > 20 && human > 50 && attach > 5);
    }

    #[test]
    fn guest_jwts_are_jwt_shaped_and_map_to_their_conversation() {
        let d = dataset(3, 1);
        for c in &d.convs {
            let parts: Vec<_> = c.public.guest_jwt.split('.').collect();
            assert_eq!(parts.len(), 3);
            let payload: Value =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
            assert_eq!(payload["conversationId"], c.public.id.as_str());
            assert!(payload["exp"].as_i64().unwrap() > Utc::now().timestamp());
            assert_eq!(d.by_jwt[&c.public.guest_jwt], c.index);
        }
    }

    #[test]
    fn timestamps_are_mostly_ascending() {
        let config = SimConfig {
            conversations: 1,
            messages_per_conversation: 2000,
            out_of_order_share: 0.05,
            ..SimConfig::default()
        };
        let d = Dataset::generate(&config);
        let times: Vec<_> = (0..2000).map(|i| d.message(0, i).time).collect();
        let backwards = times.windows(2).filter(|w| w[1] < w[0]).count();
        assert!((40..=180).contains(&backwards), "backwards = {backwards}");
    }

    #[test]
    fn a_million_messages_generate_quickly_without_storage() {
        // Generation cost only: 1,000 × 1,000 would be too slow for a unit test in debug, so
        // sample the far end of a large org and check the ids resolve.
        let d = dataset(1000, 1000);
        let m = d.message(999, 999);
        assert_eq!(d.message_by_id(&m.id).unwrap().conv, 999);
        assert!(d.convs.iter().all(|c| c.public.start <= c.public.end));
    }
}
