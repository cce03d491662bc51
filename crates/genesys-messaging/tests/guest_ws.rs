//! The guest WebSocket end to end: against the simulator (bot, history through the JWT,
//! dropped connections, expiry, hostile frames) and against an independent stand-in server
//! written here with tokio-tungstenite (hostile frames, back-pressure, outbound limits), so no
//! behaviour is proven only by the simulator that shares this workspace.
#![cfg(feature = "guest-ws")]
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use genesys_messaging::guest::{
    FrameError, FrameKind, GuestConfig, GuestError, GuestEvent, GuestSession, OutgoingMessage,
};
use genesys_messaging::history::HistoryExport;
use genesys_messaging::{ContentType, Direction, MessageType, WebMessagingMessage};
use retry_policy::{Backoff, Pacer, RetryPolicy};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use url::Url;

const WAIT: Duration = Duration::from_secs(5);

fn fast_reconnect() -> RetryPolicy {
    RetryPolicy::builder()
        .max_attempts(6)
        .backoff(Backoff::exponential(
            Duration::from_millis(5),
            Duration::from_millis(50),
        ))
        .max_elapsed(Duration::from_secs(5))
        .no_budget()
        .build()
}

fn ws_url(sim: &genesys_sim::SimOrg) -> Url {
    Url::parse(&sim.guest_ws_url()).unwrap()
}

async fn sim() -> genesys_sim::SimOrg {
    genesys_sim::SimOrg::builder()
        .conversations(1)
        .messages_per_conversation(3)
        .start()
        .await
        .unwrap()
}

fn config(url: Url) -> genesys_messaging::guest::GuestConfigBuilder {
    GuestConfig::builder("sim-deployment")
        .url(url)
        .reconnect(fast_reconnect())
        .connect_timeout(Duration::from_secs(2))
        .answer_timeout(Duration::from_secs(2))
}

/// The next message event that satisfies `want`, skipping others; fails after [`WAIT`].
async fn expect_message(
    session: &mut GuestSession,
    want: impl Fn(&WebMessagingMessage) -> bool,
) -> WebMessagingMessage {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let ev = tokio::time::timeout_at(deadline, session.next_event())
            .await
            .expect("timed out waiting for a message")
            .expect("session ended");
        if let Ok(GuestEvent::Message { message, .. }) = ev
            && want(&message)
        {
            return *message;
        }
    }
}

async fn export_all(
    source: genesys_messaging::history::GuestSession,
) -> (
    Vec<WebMessagingMessage>,
    genesys_messaging::history::HistoryReport,
) {
    let mut stream = HistoryExport::builder(source)
        .page_size(2)
        .build()
        .unwrap()
        .stream();
    let mut out = Vec::new();
    while let Some(item) = stream.next().await {
        out.push(item.unwrap().message);
    }
    (out, stream.finished_report().await)
}

fn bot_text(m: &WebMessagingMessage) -> bool {
    m.direction == Some(Direction::Outbound) && m.message_type != Some(MessageType::Event)
}

#[tokio::test]
async fn scripted_bot_answers_with_text_quick_replies_and_cards() {
    let sim = sim().await;
    let mut session = GuestSession::connect(config(ws_url(&sim)).build().unwrap())
        .await
        .unwrap();
    assert_eq!(session.info().new_session, Some(true));

    session.send_text("hello").await.unwrap();
    let echo = expect_message(&mut session, |m| m.direction == Some(Direction::Inbound)).await;
    assert_eq!(echo.text.as_deref(), Some("hello"));
    let typing = expect_message(&mut session, |m| m.message_type == Some(MessageType::Event)).await;
    assert_eq!(typing.events.len(), 1);
    let reply = expect_message(&mut session, bot_text).await;
    assert_eq!(
        reply.text.as_deref(),
        Some("Hello! How can I help you today?")
    );

    session.send_text("show me the options").await.unwrap();
    let reply = expect_message(&mut session, bot_text).await;
    assert_eq!(reply.message_type, Some(MessageType::Structured));
    assert_eq!(reply.content.len(), 2);
    assert!(
        reply
            .content
            .iter()
            .all(|c| c.content_type == ContentType::QuickReply)
    );

    session
        .send(OutgoingMessage::quick_reply("Yes", "yes"))
        .await
        .unwrap();
    let reply = expect_message(&mut session, bot_text).await;
    assert_eq!(reply.text.as_deref(), Some("Great, let's continue."));

    session.send_text("card please").await.unwrap();
    let reply = expect_message(&mut session, bot_text).await;
    assert_eq!(reply.content[0].content_type, ContentType::Card);

    let stats = session.stats();
    assert_eq!(stats.frames_sent, 4);
    assert_eq!(stats.acknowledged, 4);
    session.close().await.unwrap();
}

#[tokio::test]
async fn jwt_from_get_jwt_reads_the_history_of_exactly_the_messages_sent() {
    let sim = sim().await;
    let client = common::sim_client(&sim, Pacer::unlimited());
    let mut session = GuestSession::connect(config(ws_url(&sim)).build().unwrap())
        .await
        .unwrap();
    let sent = ["hello", "what are my options", "bye"];
    for text in sent {
        session.send_text(text).await.unwrap();
        expect_message(&mut session, bot_text).await;
    }
    let jwt = session.jwt().await.unwrap();
    assert!(jwt.exp.unwrap() > 0.0);
    // The same JWT again while it is fresh: no second getJwt.
    let again = session.jwt().await.unwrap();
    assert_eq!(again.jwt.expose_secret(), jwt.jwt.expose_secret());
    assert_eq!(session.stats().jwts_received, 1);

    let source = session.history(&client, "guest-session").await.unwrap();
    let (messages, report) = export_all(source).await;
    let mut inbound: Vec<_> = messages
        .iter()
        .filter(|m| m.direction == Some(Direction::Inbound))
        .collect();
    inbound.reverse(); // the history is newest first
    let texts: Vec<_> = inbound.iter().filter_map(|m| m.text.as_deref()).collect();
    assert_eq!(texts, sent, "exactly the messages sent, once each");
    let outbound = messages
        .iter()
        .filter(|m| m.direction == Some(Direction::Outbound))
        .count();
    assert_eq!(outbound, 3, "one bot answer each");
    assert_eq!(report.yielded, 6);

    // A history JWT of the dataset does not read this session, nor this one the dataset's.
    let other = sim.conversations()[0].guest_jwt.clone();
    assert_ne!(other, jwt.jwt.expose_secret());
    session.close().await.unwrap();
}

#[tokio::test]
async fn a_dropped_connection_is_resumed_without_losing_a_message() {
    let sim = sim().await;
    let client = common::sim_client(&sim, Pacer::unlimited());
    let mut session = GuestSession::connect(config(ws_url(&sim)).build().unwrap())
        .await
        .unwrap();
    session.send_text("one").await.unwrap();
    expect_message(&mut session, bot_text).await;
    // The sim stores this message, then drops the connection before acknowledging it; the
    // next one is queued while the connection is down.
    session.send_text("sim:drop").await.unwrap();
    session.send_text("two").await.unwrap();

    let deadline = tokio::time::Instant::now() + WAIT;
    let mut resumed = None;
    while resumed.is_none() {
        match tokio::time::timeout_at(deadline, session.next_event()).await {
            Ok(Some(Ok(GuestEvent::Session(info)))) => resumed = Some(info),
            Ok(Some(_)) => {}
            other => panic!("no resumption: {other:?}"),
        }
    }
    assert_eq!(
        resumed.unwrap().new_session,
        Some(false),
        "same session token resumed"
    );
    let reply = expect_message(&mut session, |m| {
        bot_text(m) && m.text.as_deref().is_some_and(|t| t.contains("\"two\""))
    })
    .await;
    assert!(reply.text.is_some());
    let stats = session.stats();
    assert_eq!(stats.reconnects, 1);
    assert!(
        stats.resent >= 1,
        "the unacknowledged message was written again"
    );

    let source = session.history(&client, "guest").await.unwrap();
    let (messages, _) = export_all(source).await;
    let mut inbound: Vec<_> = messages
        .iter()
        .filter(|m| m.direction == Some(Direction::Inbound))
        .collect();
    inbound.reverse(); // the history is newest first
    let texts: Vec<_> = inbound.iter().filter_map(|m| m.text.as_deref()).collect();
    assert_eq!(
        texts,
        ["one", "sim:drop", "two"],
        "nothing lost, nothing doubled"
    );
    session.close().await.unwrap();
}

#[tokio::test]
async fn an_expired_session_ends_and_its_token_no_longer_resumes() {
    let sim = sim().await;
    let url = ws_url(&sim);
    let mut session = GuestSession::connect(config(url.clone()).build().unwrap())
        .await
        .unwrap();
    let token = session.token().clone();
    session.send_text("sim:expire").await.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut saw_expiry = false;
    loop {
        match tokio::time::timeout_at(deadline, session.next_event()).await {
            Ok(Some(Ok(GuestEvent::SessionExpired))) => saw_expiry = true,
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(_) => panic!("the session did not end"),
        }
    }
    assert!(saw_expiry);
    assert!(matches!(session.jwt().await, Err(GuestError::Closed)));
    let resumed = GuestSession::connect(config(url).resume(token).build().unwrap()).await;
    assert!(
        matches!(resumed, Err(GuestError::SessionExpired)),
        "{resumed:?}"
    );
}

#[tokio::test]
async fn the_jwt_is_refreshed_before_its_exp() {
    let sim = sim().await;
    let mut session = GuestSession::connect(
        config(ws_url(&sim))
            .jwt_refresh_margin(Duration::from_millis(1500))
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    session.send_text("sim:jwt-ttl 2").await.unwrap();
    expect_message(&mut session, |m| m.direction == Some(Direction::Inbound)).await;
    let first = session.jwt().await.unwrap();
    // exp is whole seconds 1-2 s away, the margin 1.5 s: the session refreshes within 0.5 s
    // on its own, without being asked.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(session.stats().jwts_received >= 2, "{:?}", session.stats());
    let second = session.jwt().await.unwrap();
    assert_ne!(first.jwt.expose_secret(), second.jwt.expose_secret());
}

#[tokio::test]
async fn hostile_frames_from_the_sim_are_typed_errors_and_the_session_goes_on() {
    let sim = sim().await;
    let mut session = GuestSession::connect(config(ws_url(&sim)).build().unwrap())
        .await
        .unwrap();
    session.send_text("sim:hostile").await.unwrap();
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let ev = tokio::time::timeout_at(deadline, session.next_event())
            .await
            .expect("timed out")
            .expect("ended");
        match ev {
            Err(GuestError::Frame(FrameError::TooLarge { .. })) => seen.push("oversize"),
            Err(GuestError::Frame(FrameError::MalformedJson { .. })) => seen.push("malformed"),
            Err(GuestError::Frame(FrameError::Binary { .. })) => seen.push("binary"),
            Ok(GuestEvent::Unknown { class, .. }) if class == "HologramEvent" => {
                seen.push("unknown")
            }
            Ok(GuestEvent::Message { message, .. })
                if message.text.as_deref() == Some("still here") =>
            {
                break;
            }
            _ => {}
        }
    }
    assert_eq!(seen, ["oversize", "malformed", "unknown", "binary"]);
    assert_eq!(session.stats().reconnects, 0, "the connection survived");
    session.send_text("hello").await.unwrap();
    expect_message(&mut session, bot_text).await;
    assert_eq!(session.stats().bad_frames, 3);
}

/// An independent stand-in for the platform: answers configureSession, then runs `script` on
/// every text frame it reads (the frames it returns are sent back).
async fn stand_in<F>(script: F) -> (Url, tokio::sync::mpsc::UnboundedReceiver<Value>)
where
    F: Fn(&Value) -> Vec<Message> + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (seen_tx, seen_rx) = tokio::sync::mpsc::unbounded_channel();
    let script = std::sync::Arc::new(script);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let script = script.clone();
            let seen = seen_tx.clone();
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                while let Some(Ok(msg)) = ws.next().await {
                    let Message::Text(t) = msg else { continue };
                    let v: Value = serde_json::from_str(t.as_str()).unwrap();
                    let _ = seen.send(v.clone());
                    let mut out = Vec::new();
                    if v["action"] == "configureSession" {
                        out.push(Message::text(
                            json!({"type":"response","class":"SessionResponse","code":200,
                                   "body":{"connected":true,"newSession":true}})
                            .to_string(),
                        ));
                    }
                    out.extend(script(&v));
                    for m in out {
                        if ws.send(m).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (Url::parse(&format!("ws://{addr}/v1")).unwrap(), seen_rx)
}

#[tokio::test]
async fn hostile_frames_from_a_stand_in_server_are_typed_errors() {
    let (url, _seen) = stand_in(|v| {
        if v["action"] != "onMessage" {
            return Vec::new();
        }
        vec![
            Message::text("x".repeat(5000)),
            Message::text("{\"type\":"),
            Message::text(r#"{"type":"message","code":200}"#),
            Message::text(r#"{"type":"message","class":"FutureEvent","code":200,"body":{"a":1}}"#),
            Message::binary(vec![1u8, 2, 3]),
            Message::text(
                r#"{"type":"response","class":"string","code":4011,"body":"message too long"}"#,
            ),
            Message::text(
                json!({"type":"message","class":"StructuredMessage","code":200,
                       "body":{"id":"r","type":"Text","direction":"Outbound","text":"ok"}})
                .to_string(),
            ),
        ]
    })
    .await;
    let mut session = GuestSession::connect(
        GuestConfig::builder("dep")
            .url(url)
            .max_inbound_frame_bytes(4096)
            .reconnect(fast_reconnect())
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    session.send_text("hi").await.unwrap();
    let mut kinds = Vec::new();
    loop {
        let ev = tokio::time::timeout(WAIT, session.next_event())
            .await
            .unwrap()
            .unwrap();
        match ev {
            Err(GuestError::Frame(FrameError::TooLarge {
                bytes: 5000,
                max: 4096,
            })) => kinds.push("oversize"),
            Err(GuestError::Frame(FrameError::MalformedJson { .. })) => kinds.push("malformed"),
            Err(GuestError::Frame(FrameError::MissingField { field: "class", .. })) => {
                kinds.push("no-class")
            }
            Ok(GuestEvent::Unknown { class, raw }) => {
                assert_eq!(raw["body"]["a"], 1);
                kinds.push(if class == "FutureEvent" {
                    "unknown"
                } else {
                    "?"
                });
            }
            Err(GuestError::Frame(FrameError::Binary { bytes: 3 })) => kinds.push("binary"),
            Ok(GuestEvent::Error(e)) => {
                assert_eq!(e.code, 4011);
                kinds.push("error-4011");
            }
            Ok(GuestEvent::Message { kind, message }) => {
                assert_eq!(kind, FrameKind::Message);
                assert_eq!(message.text.as_deref(), Some("ok"));
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        kinds,
        [
            "oversize",
            "malformed",
            "no-class",
            "unknown",
            "binary",
            "error-4011"
        ]
    );
}

#[tokio::test]
async fn a_full_queue_pushes_back_and_oversize_messages_are_refused() {
    // The stand-in reads everything and acknowledges nothing until told to.
    let (url, mut seen) = stand_in(|_| Vec::new()).await;
    let session = GuestSession::connect(
        GuestConfig::builder("dep")
            .url(url)
            .queue_capacity(2)
            .max_outbound_frame_bytes(512)
            .reconnect(fast_reconnect())
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    // Oversize and empty messages never reach the queue.
    let big = session.try_send(OutgoingMessage::text("y".repeat(600)));
    assert!(
        matches!(big, Err(GuestError::FrameTooLarge { max: 512, .. })),
        "{big:?}"
    );
    assert!(matches!(
        session.try_send(OutgoingMessage::text("")),
        Err(GuestError::EmptyMessage)
    ));
    let attrs = (0..100).fold(OutgoingMessage::text("a"), |m, i| {
        m.with_attribute(format!("key{i}"), "value-value-value")
    });
    assert!(matches!(
        session.try_send(attrs),
        Err(GuestError::CustomAttributesTooLarge { max: 2048, .. })
    ));

    // Two written and unacknowledged, two waiting in the queue: the fifth is refused.
    let mut accepted = 0;
    for _ in 0..20 {
        match session.try_send(OutgoingMessage::text("m")) {
            Ok(_) => accepted += 1,
            Err(GuestError::QueueFull { capacity: 2 }) => {
                tokio::time::sleep(Duration::from_millis(30)).await;
                if matches!(
                    session.try_send(OutgoingMessage::text("m")),
                    Err(GuestError::QueueFull { .. })
                ) {
                    break;
                }
                accepted += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(accepted, 4);
    // The server saw configureSession and exactly the two messages in flight.
    let mut on_message = 0;
    while let Ok(Some(v)) = tokio::time::timeout(Duration::from_millis(100), seen.recv()).await {
        if v["action"] == "onMessage" {
            on_message += 1;
        }
    }
    assert_eq!(on_message, 2);
}

#[tokio::test]
async fn an_export_outliving_its_first_jwt_goes_on_with_the_session_s_next_one() {
    let sim = sim().await;
    let client = common::sim_client(&sim, Pacer::unlimited());
    let mut session = GuestSession::connect(
        config(ws_url(&sim))
            .jwt_refresh_margin(Duration::from_millis(300))
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    session.send_text("sim:jwt-ttl 1").await.unwrap();
    expect_message(&mut session, |m| m.direction == Some(Direction::Inbound)).await;
    for text in ["hello", "bye"] {
        session.send_text(text).await.unwrap();
        expect_message(&mut session, bot_text).await;
    }
    let first = session.jwt().await.unwrap();
    let source = session.history(&client, "guest").await.unwrap();
    // The first JWT lives at most one second; wait it out.
    tokio::time::sleep(Duration::from_millis(1_600)).await;

    // The same first JWT held fixed is refused now...
    let fixed = genesys_messaging::history::GuestSession::new(&client, first.jwt, "fixed");
    let mut stream = HistoryExport::builder(fixed)
        .page_size(2)
        .build()
        .unwrap()
        .stream();
    let refused = stream.next().await.expect("an item");
    assert!(refused.is_err(), "an expired JWT must be refused");

    // ...while the session's provider hands out the refreshed one for every page.
    let (messages, report) = export_all(source).await;
    assert!(session.stats().jwts_received >= 2, "{:?}", session.stats());
    let texts: Vec<_> = messages
        .iter()
        .filter(|m| m.direction == Some(Direction::Inbound))
        .filter_map(|m| m.text.as_deref())
        .filter(|t| !t.starts_with("sim:"))
        .collect();
    assert_eq!(texts, ["bye", "hello"], "newest first, each once");
    assert!(report.pages_fetched >= 2, "{report:?}");
    session.close().await.unwrap();
}

#[tokio::test]
async fn a_closed_session_s_token_provider_is_a_typed_auth_error() {
    use genesys_auth::{AuthError, TokenProvider};
    let sim = sim().await;
    let session = GuestSession::connect(config(ws_url(&sim)).build().unwrap())
        .await
        .unwrap();
    let tokens = session.token_provider();
    let live = tokens.access_token().await.unwrap();
    assert!(!live.expose().is_empty());
    session.close().await.unwrap();
    let err = tokens.access_token().await.unwrap_err();
    assert!(matches!(err, AuthError::Provider { .. }), "{err:?}");
}

/// How many frames of each action a stand-in server saw so far: `(configureSession, onMessage)`.
async fn sessions_and_messages(
    seen: &mut tokio::sync::mpsc::UnboundedReceiver<Value>,
) -> (u32, u32) {
    // The last frames may still be on their way to the stand-in.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (mut sessions, mut messages) = (0, 0);
    while let Ok(v) = seen.try_recv() {
        sessions += u32::from(v["action"] == "configureSession");
        messages += u32::from(v["action"] == "onMessage");
    }
    (sessions, messages)
}

/// The events of a session until it ends; fails after [`WAIT`].
async fn events_until_the_end(session: &mut GuestSession) -> Vec<Result<GuestEvent, GuestError>> {
    let mut events = Vec::new();
    loop {
        match tokio::time::timeout(WAIT, session.next_event()).await {
            Ok(Some(event)) => events.push(event),
            Ok(None) => return events,
            Err(_) => panic!("the session is still going after {WAIT:?}: {events:?}"),
        }
    }
}

#[tokio::test]
async fn a_message_the_server_drops_the_connection_over_is_resent_only_within_the_policy() {
    // The stand-in closes the socket on every onMessage: each reconnect succeeds, re-sends the
    // message, and is dropped again. The reconnect policy bounds the whole outage.
    let (url, mut seen) = stand_in(|v| {
        if v["action"] == "onMessage" {
            vec![Message::Close(None)]
        } else {
            Vec::new()
        }
    })
    .await;
    let attempts = 4;
    let policy = RetryPolicy::builder()
        .max_attempts(attempts)
        .max_elapsed(Duration::from_secs(60))
        .backoff(Backoff::constant(Duration::from_millis(5)))
        .no_budget()
        .build();
    let mut session = GuestSession::connect(
        GuestConfig::builder("dep")
            .url(url)
            .reconnect(policy)
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let id = session.send_text("poison").await.unwrap();

    let events = events_until_the_end(&mut session).await;
    match events.last() {
        Some(Err(GuestError::ResendFailed {
            attempts: made,
            unacknowledged,
            last,
        })) => {
            assert_eq!(*made, attempts);
            assert_eq!(unacknowledged, &[id]);
            assert!(
                matches!(**last, GuestError::ConnectionLost { .. }),
                "{last:?}"
            );
        }
        other => panic!("expected ResendFailed, got {other:?}"),
    }
    let resumed = events
        .iter()
        .filter(|e| matches!(e, Ok(GuestEvent::Session(_))))
        .count();
    assert_eq!(resumed as u32, attempts, "one resumption per attempt");
    let stats = session.stats();
    assert_eq!(stats.resent, u64::from(attempts));
    assert_eq!(stats.frames_sent, 1 + u64::from(attempts));
    assert!(matches!(
        session.send_text("after").await,
        Err(GuestError::Closed)
    ));
    // The first connection and one per attempt; the message once on each.
    assert_eq!(
        sessions_and_messages(&mut seen).await,
        (1 + attempts, 1 + attempts)
    );
}

#[tokio::test]
async fn a_server_that_drops_every_connection_at_once_ends_the_session_within_the_policy() {
    // Nothing to re-send: a reconnection counts as recovered only once the server answered a
    // heartbeat, which this one never lets happen.
    let (url, mut seen) = stand_in(|v| {
        if v["action"] == "configureSession" {
            vec![Message::Close(None)]
        } else {
            Vec::new()
        }
    })
    .await;
    let mut session = GuestSession::connect(
        GuestConfig::builder("dep")
            .url(url)
            .reconnect(fast_reconnect())
            .heartbeat(Duration::from_millis(20))
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let events = events_until_the_end(&mut session).await;
    match events.last() {
        Some(Err(GuestError::ReconnectFailed { attempts, .. })) => assert_eq!(*attempts, 6),
        other => panic!("expected ReconnectFailed, got {other:?}"),
    }
    assert_eq!(sessions_and_messages(&mut seen).await, (1 + 6, 0));
}
