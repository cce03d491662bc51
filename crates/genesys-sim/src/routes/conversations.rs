//! The agent side of messaging: the conversation with its participants' message ids, the bulk
//! message lookup, the agent send and the open messaging inbound endpoint.
//!
//! `GET /api/v2/conversations/messages/{conversationId}` follows the platform's
//! `MessageConversation`: `{id, participants[{id, name, purpose, state, direction, startTime,
//! endTime, messages[{messageId, messageURI, messageStatus, messageSegmentCount, messageTime}],
//! ...}], divisions, selfUri}` (no `recordingState`: that is the generic `Conversation`'s). Participants: the customer (inbound messages),
//! a bot (`purpose: "workflow"`, outbound bot messages) and the agent (outbound human messages,
//! plus whatever was sent through the agent send endpoint). Generated messages of every type
//! (receipts and events too) have ids here, so every guest history id resolves in the bulk call.

use axum::body::Bytes;
use axum::extract::{Path, State};
use chrono::Utc;
use http::{HeaderMap, StatusCode, Uri};
use serde_json::{Value, json};

use super::shared::{AppState, json, parse_json, query, require_oauth};
use crate::dataset::{Conv, iso};
use crate::error::{ApiResult, GenesysError};
use crate::state::SimState;
use crate::stats::SentMessage;
use crate::sync::lock;

/// Most ids in one bulk request.
pub(crate) const MAX_BULK_IDS: usize = 1_000;
/// Most characters of a `textBody` (the platform's limit for non-SMS channels).
pub(crate) const MAX_TEXT_CHARS: usize = 2_000;

fn conv_or_404<'a>(state: &'a SimState, id: &str) -> Result<&'a Conv, GenesysError> {
    state
        .data
        .conv_by_id(id)
        .ok_or_else(|| GenesysError::not_found(format!("Conversation {id} was not found.")))
}

fn message_detail(conversation_id: &str, id: &str, status: &str, time: &str) -> Value {
    json!({
        "messageId": id,
        "messageURI": format!("/api/v2/conversations/messages/{conversation_id}/messages/{id}"),
        "messageStatus": status,
        "messageSegmentCount": 1,
        "messageTime": time,
    })
}

pub(crate) async fn conversation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    require_oauth(&state, &headers)?;
    let conv = conv_or_404(&state, &id)?;
    let cid = &conv.public.id;
    let (mut customer, mut bot, mut agent) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..state.data.messages_per_conversation {
        let m = state.data.message(conv.index, i);
        let t = iso(m.time);
        if m.inbound {
            customer.push(message_detail(cid, &m.id, "received", &t));
        } else if m.bot {
            bot.push(message_detail(cid, &m.id, "delivery-success", &t));
        } else {
            agent.push(message_detail(cid, &m.id, "delivery-success", &t));
        }
    }
    if let Some(sent) = lock(&state.outbox).by_conversation.get(cid) {
        for s in sent {
            let d = message_detail(cid, &s.id, "sent", &iso(s.received_at));
            if s.communication_id.is_some() {
                agent.push(d);
            } else {
                customer.push(d);
            }
        }
    }
    let start = iso(conv.public.start);
    let end = iso(conv.public.end);
    let customer_name = format!("{} {}", conv.customer_first, conv.customer_last);
    let integration = conv.public.integration_id.clone().unwrap_or_default();
    let body = json!({
        "id": cid,
        "participants": [
            {
                "id": conv.customer_participant,
                "name": customer_name,
                "address": conv.customer_participant,
                "startTime": start,
                "endTime": end,
                "purpose": "customer",
                "state": "disconnected",
                "direction": if conv.outbound_origin { "outbound" } else { "inbound" },
                "held": false,
                "type": "webmessaging",
                "toAddress": {"addressNormalized": integration},
                "fromAddress": {"addressNormalized": conv.customer_participant, "name": customer_name},
                "messages": customer,
            },
            {
                "id": conv.bot_participant,
                "name": "Sim Bot",
                "startTime": start,
                "endTime": end,
                "purpose": "workflow",
                "state": "disconnected",
                "direction": "inbound",
                "held": false,
                "type": "webmessaging",
                "messages": bot,
            },
            {
                "id": conv.agent_participant,
                "name": conv.agent_name,
                "startTime": start,
                "endTime": end,
                "purpose": "agent",
                "state": "disconnected",
                "direction": "inbound",
                "held": false,
                "type": "webmessaging",
                "user": {"id": conv.agent_user},
                "peer": conv.public.communication_id,
                "messages": agent,
            }
        ],
        "otherMediaUris": [],
        "divisions": [{"division": {"id": conv.division}, "entities": []}],
        "selfUri": format!("/api/v2/conversations/messages/{cid}"),
    });
    Ok(json(StatusCode::OK, &body))
}

pub(crate) async fn bulk(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    require_oauth(&state, &headers)?;
    let conv = conv_or_404(&state, &id)?;
    let ids = match parse_json(&body)? {
        Value::Array(ids) => ids,
        _ => {
            return Err(GenesysError::bad_request(
                "The body must be a JSON array of message ids.",
            ));
        }
    };
    if ids.len() > MAX_BULK_IDS {
        return Err(GenesysError::invalid_value(format!(
            "At most {MAX_BULK_IDS} message ids are allowed per request, got {}.",
            ids.len()
        )));
    }
    let mut entities = Vec::with_capacity(ids.len());
    for v in &ids {
        let Some(mid) = v.as_str() else {
            return Err(GenesysError::bad_request(
                "Every message id must be a string.",
            ));
        };
        if let Some(m) = state.data.message_by_id(mid) {
            if m.conv == conv.index {
                entities.push(state.data.message_data_json(&m, &state.base_url));
            }
            continue;
        }
        let outbox = lock(&state.outbox);
        let same_conversation = outbox
            .index
            .get(mid)
            .is_some_and(|(c, _)| *c == conv.public.id);
        if let (Some(answer), true) = (outbox.answers.get(mid), same_conversation) {
            entities.push(answer.clone());
        }
    }
    Ok(json(StatusCode::OK, &json!({ "entities": entities })))
}

/// A `textBody` within the platform's limit for non-SMS channels.
fn check_text_length(text: Option<&str>) -> Result<(), GenesysError> {
    let chars = text.map_or(0, |t| t.chars().count());
    if chars > MAX_TEXT_CHARS {
        return Err(GenesysError::invalid_value(format!(
            "textBody is limited to {MAX_TEXT_CHARS} characters, got {chars}."
        )));
    }
    Ok(())
}

fn record_sent(state: &SimState, sent: SentMessage, answer: Value) {
    let mut outbox = lock(&state.outbox);
    let list = outbox
        .by_conversation
        .entry(sent.conversation_id.clone())
        .or_default();
    let position = list.len();
    let (id, cid) = (sent.id.clone(), sent.conversation_id.clone());
    list.push(sent);
    outbox.index.insert(id.clone(), (cid, position));
    outbox.answers.insert(id, answer);
}

pub(crate) async fn send(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, communication_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    require_oauth(&state, &headers)?;
    let conv = conv_or_404(&state, &id)?;
    if communication_id != conv.public.communication_id {
        return Err(GenesysError::not_found(format!(
            "Communication {communication_id} was not found in conversation {id}."
        )));
    }
    let value = parse_json(&body)?;
    let Some(obj) = value.as_object() else {
        return Err(GenesysError::bad_request("The body must be a JSON object."));
    };
    let text = match obj.get("textBody") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(GenesysError::invalid_value("textBody must be a string.")),
    };
    let media = obj
        .get("mediaIds")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    let template = obj.get("messagingTemplate").is_some_and(Value::is_object);
    if text.is_none() && !media && !template {
        return Err(GenesysError::bad_request(
            "One of textBody, mediaIds or messagingTemplate is required.",
        ));
    }
    check_text_length(text.as_deref())?;
    let message_id = uuid_from(state.next_unique(), state.next_unique());
    let now = Utc::now();
    let mut answer = json!({
        "id": message_id,
        "timestamp": iso(now),
        "fromAddress": conv.public.integration_id,
        "toAddress": conv.customer_participant,
        "direction": "outbound",
        "messengerType": "webmessaging",
        "status": "sent",
        "conversationId": conv.public.id,
        "selfUri": format!("/api/v2/conversations/messages/{}/messages/{message_id}", conv.public.id),
    });
    let mut normalized = json!({
        "id": message_id,
        "channel": {"time": iso(now), "messageId": message_id},
        "type": "Text",
        "direction": "Outbound",
        "originatingEntity": "Human",
    });
    if let Some(t) = &text {
        normalized["text"] = json!(t);
    }
    answer["normalizedMessage"] = normalized;
    record_sent(
        &state,
        SentMessage {
            id: message_id,
            conversation_id: conv.public.id.clone(),
            communication_id: Some(communication_id),
            integration_id: None,
            text,
            body: value,
            received_at: now,
        },
        answer.clone(),
    );
    Ok(json(StatusCode::OK, &answer))
}

/// Fields of the deprecated `/inbound/open` endpoint's `OpenNormalizedMessage` that the
/// `/inbound/open/message` endpoint's `OpenInboundNormalizedMessage` does not have.
const OLD_INBOUND_FIELDS: &[&str] = &["type", "direction", "id"];
const OLD_INBOUND_CHANNEL_FIELDS: &[&str] = &["platform", "type", "to", "id"];

pub(crate) async fn inbound_open(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(integration_id): Path<String>,
    uri: Uri,
    body: Bytes,
) -> ApiResult {
    require_oauth(&state, &headers)?;
    let conv = state
        .data
        .conv_by_integration(&integration_id)
        .ok_or_else(|| {
            GenesysError::not_found(format!("Integration {integration_id} was not found."))
        })?;
    let prefetch = match query(&uri)
        .get("prefetchConversationId")
        .map(String::as_str)
    {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(GenesysError::invalid_value(format!(
                "prefetchConversationId must be true or false, got {other:?}."
            )));
        }
    };
    let value = parse_json(&body)?;
    let Some(obj) = value.as_object() else {
        return Err(GenesysError::bad_request("The body must be a JSON object."));
    };
    let Some(channel) = obj.get("channel").and_then(Value::as_object) else {
        return Err(GenesysError::bad_request("channel is required."));
    };
    let old_top = OLD_INBOUND_FIELDS.iter().find(|k| obj.contains_key(**k));
    let old_channel = OLD_INBOUND_CHANNEL_FIELDS
        .iter()
        .find(|k| channel.contains_key(**k));
    if let Some(field) = old_top.or(old_channel) {
        return Err(GenesysError::bad_request(format!(
            "Unrecognized field {field:?}: this endpoint takes an OpenInboundNormalizedMessage; {field:?} belongs to the deprecated /inbound/open endpoint's OpenNormalizedMessage."
        )));
    }
    let from = channel.get("from").and_then(Value::as_object);
    if from
        .and_then(|f| f.get("id"))
        .and_then(Value::as_str)
        .is_none()
    {
        return Err(GenesysError::bad_request("channel.from.id is required."));
    }
    let Some(external_id) = channel.get("messageId").and_then(Value::as_str) else {
        return Err(GenesysError::bad_request("channel.messageId is required."));
    };
    let text = obj.get("text").and_then(Value::as_str).map(str::to_owned);
    let content = obj.get("content").and_then(Value::as_array);
    if text.is_none() && content.is_none_or(Vec::is_empty) {
        return Err(GenesysError::bad_request("text or content is required."));
    }
    let message_id = uuid_from(state.next_unique(), state.next_unique());
    let now = Utc::now();
    let mut out_channel = json!({
        "platform": "Open",
        "type": "Private",
        "messageId": external_id,
        "to": {"id": integration_id},
        "from": from.cloned().unwrap_or_default(),
        "time": channel.get("time").cloned().unwrap_or_else(|| json!(iso(now))),
    });
    if let Some(m) = channel.get("metadata") {
        out_channel["metadata"] = m.clone();
    }
    let mut answer = json!({
        "id": message_id,
        "channel": out_channel,
        "type": "Text",
    });
    // The platform answers the conversation id only when asked to look it up first.
    if prefetch {
        answer["conversationId"] = json!(conv.public.id);
    }
    if let Some(t) = &text {
        answer["text"] = json!(t);
    }
    if let Some(c) = content {
        answer["content"] = Value::Array(c.clone());
    }
    if let Some(m) = obj.get("metadata") {
        answer["metadata"] = m.clone();
    }
    record_sent(
        &state,
        SentMessage {
            id: message_id,
            conversation_id: conv.public.id.clone(),
            communication_id: None,
            integration_id: Some(integration_id),
            text,
            body: value,
            received_at: now,
        },
        answer.clone(),
    );
    Ok(json(StatusCode::OK, &answer))
}

/// `toAddressMessengerType` values of `SendAgentlessOutboundMessageRequest`.
const AGENTLESS_MESSENGER_TYPES: &[&str] = &["sms", "whatsapp", "open", "webmessaging", "apple"];

/// `POST /api/v2/conversations/messages/agentless`: a message the integration starts itself.
/// The sim routes it by `fromAddress`, which must be one of its integrations (the conversation
/// of that integration records it).
pub(crate) async fn agentless(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    require_oauth(&state, &headers)?;
    let value = parse_json(&body)?;
    let Some(obj) = value.as_object() else {
        return Err(GenesysError::bad_request("The body must be a JSON object."));
    };
    let field = |k: &str| obj.get(k).and_then(Value::as_str);
    let (Some(from), Some(to)) = (field("fromAddress"), field("toAddress")) else {
        return Err(GenesysError::bad_request(
            "fromAddress and toAddress are required.",
        ));
    };
    let messenger = match field("toAddressMessengerType") {
        Some(m) if AGENTLESS_MESSENGER_TYPES.contains(&m) => m.to_owned(),
        Some(m) => {
            return Err(GenesysError::invalid_value(format!(
                "toAddressMessengerType {m:?} is not one of {AGENTLESS_MESSENGER_TYPES:?}."
            )));
        }
        None => {
            return Err(GenesysError::bad_request(
                "toAddressMessengerType is required.",
            ));
        }
    };
    let text = field("textBody").map(str::to_owned);
    let template = obj.get("messagingTemplate").is_some_and(Value::is_object);
    if text.is_some() == template {
        return Err(GenesysError::bad_request(
            "Exactly one of textBody or messagingTemplate is required.",
        ));
    }
    check_text_length(text.as_deref())?;
    let conv = state.data.conv_by_integration(from).ok_or_else(|| {
        GenesysError::invalid_value(format!(
            "fromAddress {from} is not an integration of this org."
        ))
    })?;
    let use_existing = obj
        .get("useExistingActiveConversation")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let message_id = uuid_from(state.next_unique(), state.next_unique());
    let now = Utc::now();
    let mut normalized = json!({
        "id": message_id,
        "channel": {"time": iso(now), "messageId": message_id},
        "type": "Text",
        "direction": "Outbound",
        "originatingEntity": "Bot",
    });
    if let Some(t) = &text {
        normalized["text"] = json!(t);
    }
    let message = json!({
        "id": message_id,
        "timestamp": iso(now),
        "fromAddress": from,
        "toAddress": to,
        "direction": "outbound",
        "messengerType": messenger,
        "status": "sent",
        "normalizedMessage": normalized,
        "conversationId": conv.public.id,
        "selfUri": format!("/api/v2/conversations/messages/{}/messages/{message_id}", conv.public.id),
    });
    let answer = json!({
        "id": message_id,
        "conversationId": conv.public.id,
        "fromAddress": from,
        "toAddress": to,
        "messengerType": messenger,
        "useExistingActiveConversation": use_existing,
        "message": message,
        "timestamp": iso(now),
        "selfUri": format!("/api/v2/conversations/messages/agentless/{message_id}"),
    });
    record_sent(
        &state,
        SentMessage {
            id: message_id,
            conversation_id: conv.public.id.clone(),
            communication_id: None,
            integration_id: Some(from.to_owned()),
            text,
            body: value.clone(),
            received_at: now,
        },
        message,
    );
    Ok(json(StatusCode::OK, &answer))
}

/// `GET /api/v2/conversations/{conversationId}`: the generic `Conversation`, whose
/// participants' `messages[]` are their message communications (`Message.id` is the
/// `{communicationId}` of the agent send endpoint).
pub(crate) async fn conversation_generic(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    require_oauth(&state, &headers)?;
    let conv = conv_or_404(&state, &id)?;
    let (start, end) = (iso(conv.public.start), iso(conv.public.end));
    let direction = if conv.outbound_origin {
        "outbound"
    } else {
        "inbound"
    };
    let communication = |id: &str, state: &str| {
        json!({
            "id": id,
            "state": state,
            "initialState": "alerting",
            "direction": direction,
            "held": false,
            "type": "webmessaging",
        })
    };
    let body = json!({
        "id": conv.public.id,
        "startTime": start,
        "participants": [
            {
                "id": conv.customer_participant,
                "name": format!("{} {}", conv.customer_first, conv.customer_last),
                "startTime": start,
                "purpose": "customer",
                "messages": [communication(&conv.customer_session, "connected")],
            },
            {
                "id": conv.bot_participant,
                "name": "Sim Bot",
                "startTime": start,
                "endTime": end,
                "purpose": "workflow",
                "messages": [communication(&conv.bot_session, "disconnected")],
            },
            {
                "id": conv.agent_participant,
                "name": conv.agent_name,
                "startTime": start,
                "purpose": "agent",
                "userId": conv.agent_user,
                "messages": [communication(&conv.public.communication_id, "connected")],
            },
        ],
        "recordingState": "NONE",
        "divisions": [{"division": {"id": conv.division}, "entities": []}],
        "selfUri": format!("/api/v2/conversations/{}", conv.public.id),
    });
    Ok(json(StatusCode::OK, &body))
}

fn uuid_from(a: u64, b: u64) -> String {
    uuid::Builder::from_random_bytes(((u128::from(a) << 64) | u128::from(b)).to_be_bytes())
        .into_uuid()
        .hyphenated()
        .to_string()
}
