//! The guest web messaging WebSocket, `GET /v1?deploymentId=…` (upgraded), on the org's port,
//! and the guest history of the sessions it created.
//!
//! Actions: `configureSession` (new token or resume), `onMessage`, `echo`, `getJwt`,
//! `closeSession`. A scripted bot answers known phrases (`hello`, `options`/`quick reply`,
//! `card`, `help`, `bye`) with text, quick replies or a card, preceded by a typing event.
//! Every message of a session (the guest's and the bot's) lands in that session's history,
//! read with `GET /api/v2/webmessaging/messages` and the JWT that `getJwt` issued; a guest
//! message resent with a `customMessageId` already seen is acknowledged again, not stored twice.
//!
//! Faults on demand, sent as the guest's text (each is stored like any message):
//! - `sim:drop`: the connection drops before the message is acknowledged;
//! - `sim:expire`: the session expires (`SessionExpiredEvent`, then the socket closes, and the
//!   token can no longer resume);
//! - `sim:delay <ms> <text>`: the bot answers `<text>` after `<ms>` milliseconds;
//! - `sim:jwt-ttl <secs>`: JWTs issued from now on live `<secs>` seconds;
//! - `sim:hostile`: the server sends an oversize frame, malformed JSON, a frame of an unknown
//!   class and a binary frame, then `still here`.
//!
//! Limits (each answered with an error frame when reached): 20,000 sessions, 10,000 messages
//! per session, 4,096 characters of text (code 4011), 2,048 bytes of custom attributes (4013),
//! frames of 64 KiB.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use http::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::shared::{AppState, bearer, query};
use crate::error::GenesysError;
use crate::sync::lock;

const MAX_SESSIONS: usize = 20_000;
const MAX_MESSAGES_PER_SESSION: usize = 10_000;
const MAX_JWTS: usize = 100_000;
const MAX_TEXT_CHARS: usize = 4_096;
const MAX_CUSTOM_DATA_BYTES: usize = 2_048;
const MAX_FRAME_BYTES: usize = 64 * 1024;
const DEFAULT_JWT_TTL: Duration = Duration::from_secs(3_600);
const SESSION_SECONDS: u64 = 72 * 3_600;

#[derive(Debug, Default)]
struct Session {
    messages: Vec<Value>,
    seen_custom_ids: HashSet<String>,
    expired: bool,
    jwt_ttl: Option<Duration>,
}

#[derive(Debug)]
struct Jwt {
    token: String,
    exp: SystemTime,
}

/// The guest WebSocket side of one org.
#[derive(Debug)]
pub(crate) struct GuestWs {
    app: AppState,
    sessions: Mutex<HashMap<String, Session>>,
    jwts: Mutex<HashMap<String, Jwt>>,
}

impl GuestWs {
    pub(crate) fn new(app: AppState) -> Arc<Self> {
        Arc::new(Self {
            app,
            sessions: Mutex::new(HashMap::new()),
            jwts: Mutex::new(HashMap::new()),
        })
    }
}

/// The layer's entry: the WebSocket upgrade, the history of WebSocket-issued JWTs, and
/// everything else passed on unchanged.
pub(crate) async fn intercept(
    State(gw): State<Arc<GuestWs>>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    if path == "/v1" && req.method() == Method::GET {
        return upgrade(gw, req).await;
    }
    if path == "/api/v2/webmessaging/messages" && req.method() == Method::GET {
        let session_token = bearer(req.headers())
            .and_then(|jwt| lock(&gw.jwts).get(jwt).map(|j| (j.token.clone(), j.exp)));
        if let Some((token, exp)) = session_token {
            if exp <= SystemTime::now() {
                return GenesysError::unauthorized().into_response();
            }
            return match history(&gw, &token, req.uri()) {
                Ok(r) => r,
                Err(e) => e.into_response(),
            };
        }
    }
    next.run(req).await
}

async fn upgrade(gw: Arc<GuestWs>, req: Request) -> Response {
    let deployment_id = query(req.uri())
        .get("deploymentId")
        .cloned()
        .unwrap_or_default();
    if deployment_id.trim().is_empty() {
        return GenesysError::bad_request("deploymentId is required").into_response();
    }
    let (mut parts, _body) = req.into_parts();
    match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(ws) => ws
            .max_message_size(MAX_FRAME_BYTES)
            .on_upgrade(move |socket| serve(gw, socket, deployment_id)),
        Err(rejection) => rejection.into_response(),
    }
}

enum Out {
    Text(String),
    Binary(Vec<u8>),
    /// Drop the connection without a close handshake.
    Drop,
    /// Close it properly.
    Close,
}

fn frame(kind: &str, class: &str, code: u32, body: Value) -> Out {
    Out::Text(json!({"type": kind, "class": class, "code": code, "body": body}).to_string())
}

fn error(code: u32, text: &str) -> Out {
    frame("response", "string", code, Value::from(text))
}

/// The platform's 429 frame: `retryAfter` seconds, error code 4029.
fn too_many(what: &str) -> Out {
    frame(
        "response",
        "TooManyRequestsErrorMessage",
        429,
        json!({"retryAfter": 5, "errorCode": 4029, "errorMessage": format!("The simulator holds its maximum of {what}")}),
    )
}

fn iso_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn serve(gw: Arc<GuestWs>, socket: WebSocket, deployment_id: String) {
    let (mut sink, mut stream) = socket.split();
    let (out, mut out_rx) = mpsc::channel::<Out>(256);
    let writer = tokio::spawn(async move {
        while let Some(o) = out_rx.recv().await {
            let sent = match o {
                Out::Text(t) => sink.send(Message::Text(t.into())).await,
                Out::Binary(b) => sink.send(Message::Binary(b.into())).await,
                Out::Drop => return,
                Out::Close => {
                    let _ = sink.close().await;
                    return;
                }
            };
            if sent.is_err() {
                return;
            }
        }
    });
    let mut conn = Conn {
        gw,
        deployment_id,
        token: None,
        out,
    };
    while let Some(msg) = stream.next().await {
        let keep = match msg {
            Ok(Message::Text(t)) => conn.handle(t.as_str()).await,
            Ok(Message::Binary(_)) => {
                conn.send(error(400, "Binary frames are not supported."))
                    .await
            }
            Ok(Message::Close(_)) | Err(_) => false,
            Ok(_) => true,
        };
        if !keep {
            break;
        }
    }
    drop(conn);
    let _ = writer.await;
}

struct Conn {
    gw: Arc<GuestWs>,
    deployment_id: String,
    token: Option<String>,
    out: mpsc::Sender<Out>,
}

impl Conn {
    async fn send(&self, o: Out) -> bool {
        self.out.send(o).await.is_ok()
    }

    /// Handles one text frame; `false` ends the connection.
    async fn handle(&mut self, text: &str) -> bool {
        let Ok(req) = serde_json::from_str::<Value>(text) else {
            return self.send(error(400, "Request failed.")).await;
        };
        let action = req.get("action").and_then(Value::as_str).unwrap_or("");
        let token = req
            .get("token")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        if action == "configureSession" {
            return self.configure(&req, token).await;
        }
        if !["onMessage", "echo", "getJwt", "closeSession"].contains(&action) {
            return self.send(error(400, "Request failed.")).await;
        }
        if self.token.as_deref() != Some(token.as_str()) {
            return self.send(error(4007, "session not found")).await;
        }
        match action {
            "echo" => {
                let message = req.get("message").cloned().unwrap_or(Value::Null);
                let body = self.inbound_body(&message);
                self.send(frame("response", "StructuredMessage", 200, body))
                    .await
            }
            "getJwt" => self.issue_jwt(&token).await,
            "closeSession" => {
                self.send(frame("message", "ConnectionClosedEvent", 200, json!({})))
                    .await;
                self.send(Out::Close).await;
                false
            }
            _ => self.on_message(&req, &token).await,
        }
    }

    async fn configure(&mut self, req: &Value, token: String) -> bool {
        let deployment = req
            .get("deploymentId")
            .and_then(Value::as_str)
            .unwrap_or("");
        if deployment != self.deployment_id {
            return self
                .send(error(400, "deploymentId does not match the connection's"))
                .await;
        }
        if token.trim().is_empty() || token.len() > 128 {
            return self
                .send(error(400, "token must be 1 to 128 characters"))
                .await;
        }
        let new_session = {
            let mut sessions = lock(&self.gw.sessions);
            match sessions.get(&token) {
                Some(s) if s.expired => None,
                Some(_) => Some(false),
                None if sessions.len() >= MAX_SESSIONS => None,
                None => {
                    sessions.insert(token.clone(), Session::default());
                    Some(true)
                }
            }
        };
        let Some(new_session) = new_session else {
            let expired = lock(&self.gw.sessions)
                .get(&token)
                .is_some_and(|s| s.expired);
            return if expired {
                self.send(error(4006, "session expired")).await
            } else {
                self.send(too_many("sessions")).await
            };
        };
        self.token = Some(token);
        self.send(frame(
            "response",
            "SessionResponse",
            200,
            json!({
                "connected": true,
                "newSession": new_session,
                "readOnly": false,
                "maxCustomDataBytes": MAX_CUSTOM_DATA_BYTES,
                "durationSeconds": SESSION_SECONDS,
            }),
        ))
        .await
    }

    fn inbound_body(&self, message: &Value) -> Value {
        let id = format!("{:032x}", self.gw.app.next_unique());
        let mut body = json!({
            "id": id,
            "channel": {"time": iso_now(), "messageId": id},
            "type": message.get("type").cloned().unwrap_or(Value::from("Text")),
            "direction": "Inbound",
            "originatingEntity": "Human",
        });
        for key in ["text", "content", "metadata"] {
            if let Some(v) = message.get(key) {
                body[key] = v.clone();
            }
        }
        body
    }

    async fn issue_jwt(&self, token: &str) -> bool {
        let ttl = lock(&self.gw.sessions)
            .get(token)
            .and_then(|s| s.jwt_ttl)
            .unwrap_or(DEFAULT_JWT_TTL);
        let exp = SystemTime::now() + ttl;
        let exp_secs = exp.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let jwt = crate::dataset::jwt_shaped(
            &json!({
                "sub": hex::encode(&Sha256::digest(token.as_bytes())[..8]),
                "deploymentId": self.deployment_id,
                "exp": exp_secs,
                "jti": format!("{:016x}", self.gw.app.next_unique()),
            }),
            &self.gw.app.next_unique().to_be_bytes(),
        );
        let stored = {
            let mut jwts = lock(&self.gw.jwts);
            if jwts.len() >= MAX_JWTS {
                let now = SystemTime::now();
                jwts.retain(|_, j| j.exp > now);
            }
            if jwts.len() < MAX_JWTS {
                jwts.insert(
                    jwt.clone(),
                    Jwt {
                        token: token.to_owned(),
                        exp,
                    },
                );
                true
            } else {
                false
            }
        };
        if !stored {
            return self.send(too_many("JWTs")).await;
        }
        self.send(frame(
            "response",
            "JwtResponse",
            200,
            json!({"jwt": jwt, "exp": exp_secs}),
        ))
        .await
    }

    async fn on_message(&mut self, req: &Value, token: &str) -> bool {
        let message = req.get("message").cloned().unwrap_or(Value::Null);
        let text = message
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        if text.chars().count() > MAX_TEXT_CHARS {
            return self.send(error(4011, "message too long")).await;
        }
        let attrs = req
            .pointer("/channel/metadata/customAttributes")
            .map_or(0, |v| v.to_string().len());
        if attrs > MAX_CUSTOM_DATA_BYTES {
            return self
                .send(error(
                    4013,
                    "Custom Attributes in channel metadata is larger than 2048 bytes",
                ))
                .await;
        }
        if text.is_empty() && message.get("content").is_none() {
            return self.send(error(400, "Request failed.")).await;
        }
        let custom_id = message
            .pointer("/metadata/customMessageId")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let body = self.inbound_body(&message);
        // Store (once per customMessageId), or refuse when the session is full.
        let stored = {
            let mut sessions = lock(&self.gw.sessions);
            match sessions.get_mut(token) {
                None => Err(4007),
                Some(session) if session.expired => Err(4006),
                Some(session)
                    if custom_id
                        .as_ref()
                        .is_some_and(|c| session.seen_custom_ids.contains(c)) =>
                {
                    Ok(false)
                }
                Some(session) if session.messages.len() >= MAX_MESSAGES_PER_SESSION => Err(4012),
                Some(session) => {
                    if let Some(c) = &custom_id {
                        session.seen_custom_ids.insert(c.clone());
                    }
                    session.messages.push(body.clone());
                    Ok(true)
                }
            }
        };
        let fresh = match stored {
            Ok(fresh) => fresh,
            Err(4007) => return self.send(error(4007, "session not found")).await,
            Err(4006) => return self.send(error(4006, "session expired")).await,
            Err(code) => {
                return self
                    .send(error(code, "session message limit reached"))
                    .await;
            }
        };
        if !fresh {
            // A resend of a message already stored: acknowledge it again, answer nothing new.
            return self
                .send(frame("message", "StructuredMessage", 200, body))
                .await;
        }
        let command = text.trim();
        if command == "sim:drop" {
            tracing::debug!("guest ws fault: dropping the connection before the acknowledgement");
            self.send(Out::Drop).await;
            return false;
        }
        if !self
            .send(frame("message", "StructuredMessage", 200, body))
            .await
        {
            return false;
        }
        if command == "sim:expire" {
            if let Some(s) = lock(&self.gw.sessions).get_mut(token) {
                s.expired = true;
            }
            self.send(frame("message", "SessionExpiredEvent", 200, json!({})))
                .await;
            self.send(Out::Close).await;
            return false;
        }
        if command == "sim:hostile" {
            self.send(Out::Text(format!(
                r#"{{"type":"message","class":"StructuredMessage","code":200,"body":{{"text":"{}"}}}}"#,
                "x".repeat(2 * 1024 * 1024)
            )))
            .await;
            self.send(Out::Text("{\"type\":\"message\",\"class\":".into()))
                .await;
            self.send(frame("message", "HologramEvent", 200, json!({"beam": 1})))
                .await;
            self.send(Out::Binary(vec![0, 159, 146, 150])).await;
            let reply = self.bot_message(token, Reply::Text("still here".into()));
            return self.send(reply).await;
        }
        if let Some(rest) = command.strip_prefix("sim:jwt-ttl ") {
            if let Ok(secs) = rest.trim().parse::<u64>()
                && let Some(s) = lock(&self.gw.sessions).get_mut(token)
            {
                s.jwt_ttl = Some(Duration::from_secs(secs.min(86_400)));
            }
            return true;
        }
        let (delay, said) = match command.strip_prefix("sim:delay ") {
            Some(rest) => {
                let (ms, said) = rest.split_once(' ').unwrap_or((rest, ""));
                (
                    Duration::from_millis(ms.trim().parse::<u64>().unwrap_or(0).min(60_000)),
                    said.to_owned(),
                )
            }
            None => (Duration::ZERO, text.clone()),
        };
        let typing = frame(
            "message",
            "StructuredMessage",
            200,
            json!({
                "id": format!("{:032x}", self.gw.app.next_unique()),
                "channel": {"time": iso_now()},
                "type": "Event",
                "direction": "Outbound",
                "events": [{"eventType": "Typing", "typing": {"type": "On", "duration": 1000}}],
            }),
        );
        let reply = self.bot_message(token, bot_reply(&said));
        if delay.is_zero() {
            self.send(typing).await && self.send(reply).await
        } else {
            let out = self.out.clone();
            tokio::spawn(async move {
                let _ = out.send(typing).await;
                tokio::time::sleep(delay).await;
                let _ = out.send(reply).await;
            });
            true
        }
    }

    /// A bot message, stored in the session's history, as a frame.
    fn bot_message(&self, token: &str, reply: Reply) -> Out {
        let id = format!("{:032x}", self.gw.app.next_unique());
        let mut body = json!({
            "id": id,
            "channel": {"time": iso_now(), "messageId": id},
            "direction": "Outbound",
            "originatingEntity": "Bot",
        });
        match reply {
            Reply::Text(t) => {
                body["type"] = json!("Text");
                body["text"] = json!(t);
            }
            Reply::Structured(t, content) => {
                body["type"] = json!("Structured");
                body["text"] = json!(t);
                body["content"] = content;
            }
        }
        if let Some(s) = lock(&self.gw.sessions).get_mut(token)
            && s.messages.len() < MAX_MESSAGES_PER_SESSION
        {
            s.messages.push(body.clone());
        }
        frame("message", "StructuredMessage", 200, body)
    }
}

enum Reply {
    Text(String),
    Structured(String, Value),
}

/// The scripted bot: known phrases, case-insensitive.
fn bot_reply(said: &str) -> Reply {
    let s = said.to_lowercase();
    let has = |w: &str| {
        s.split(|c: char| !c.is_alphanumeric())
            .any(|word| word == w)
    };
    if s.contains("quick reply") || has("options") {
        Reply::Structured(
            "Would you like to continue?".into(),
            json!([
                {"contentType": "QuickReply", "quickReply": {"text": "Yes", "payload": "yes", "action": "Message"}},
                {"contentType": "QuickReply", "quickReply": {"text": "No", "payload": "no", "action": "Message"}},
            ]),
        )
    } else if has("card") {
        Reply::Structured(
            "Here is our offer".into(),
            json!([{"contentType": "Card", "card": {
                "title": "Broadband 500",
                "description": "Fast fibre, no contract",
                "actions": [{"type": "Button", "text": "Order", "payload": "order"}],
            }}]),
        )
    } else if has("hello") || has("hi") {
        Reply::Text("Hello! How can I help you today?".into())
    } else if has("help") {
        Reply::Text("I can answer: hello, options, card, bye.".into())
    } else if has("bye") || has("goodbye") {
        Reply::Text("Goodbye!".into())
    } else if has("yes") {
        Reply::Text("Great, let's continue.".into())
    } else {
        Reply::Text(format!("Sorry, I did not understand \"{said}\"."))
    }
}

fn history(gw: &GuestWs, token: &str, uri: &http::Uri) -> Result<Response, GenesysError> {
    let sessions = lock(&gw.sessions);
    let Some(session) = sessions.get(token) else {
        return Err(GenesysError::unauthorized());
    };
    super::webmessaging::history_page(
        uri,
        &gw.app.config,
        session.messages.len() as u64,
        |index| session.messages[index as usize].clone(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(r: Reply) -> String {
        match r {
            Reply::Text(t) | Reply::Structured(t, _) => t,
        }
    }

    #[test]
    fn bot_answers_known_phrases() {
        assert_eq!(
            text(bot_reply("Hello there")),
            "Hello! How can I help you today?"
        );
        assert!(matches!(
            bot_reply("show me the options"),
            Reply::Structured(..)
        ));
        assert!(matches!(bot_reply("a CARD please"), Reply::Structured(..)));
        assert_eq!(text(bot_reply("bye")), "Goodbye!");
        assert!(text(bot_reply("zzz")).contains("did not understand"));
        // "hi" is a word, not a substring of "this".
        assert!(text(bot_reply("this")).contains("did not understand"));
    }
}
