//! The paced sender against the simulator: order per conversation under 429s, outcomes,
//! limits, back-pressure, open messaging.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use genesys_messaging::MessagingError;
use genesys_messaging::MessengerType;
use genesys_messaging::sender::{
    MessageSender, OnFailure, OutboundMessage, agent_communication_id,
};
use genesys_sim::{Faults, SimOrg};
use retry_policy::Pacer;

/// A simulated org with `conversations` conversations of one message each (seed 1).
async fn sim_with(conversations: u32) -> SimOrg {
    SimOrg::builder()
        .seed(1)
        .conversations(conversations)
        .messages_per_conversation(1)
        .start()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_conversation_order_survives_429s_and_retries() {
    let sim = SimOrg::builder()
        .seed(4)
        .conversations(10)
        .messages_per_conversation(1)
        .rate_limit(100.0, 1)
        .retry_after_zero(true)
        .faults(Faults {
            server_errors: 0.05,
            ..Faults::default()
        })
        .start()
        .await
        .unwrap();
    // The client starts well above the sim's limit with a large burst, and the sim's per-minute
    // headers hide its burst of 1, so 429s (with the Retry-After: 0 quirk) happen before and
    // after the pacer adapts.
    let policy = retry_policy::RetryPolicy::builder()
        .max_attempts(40)
        .backoff(retry_policy::Backoff::exponential(
            Duration::from_millis(5),
            Duration::from_millis(40),
        ))
        .retry_after_floor(Duration::from_millis(20))
        .max_elapsed(Duration::from_secs(20))
        .no_budget()
        .build();
    let client = common::sim_client_with(&sim, Pacer::per_second(2_000.0, 8), policy);
    // The sim's injected 5xx happen before a send is recorded, so retrying them cannot
    // duplicate here: opt in to see order kept across those retries too.
    let sender = MessageSender::builder(&client)
        .workers(4)
        .queue_capacity(64)
        .retry_uncertain_sends(true)
        .build()
        .unwrap();
    let conversations = sim.conversations();
    let mut pending = Vec::new();
    for i in 0..12 {
        for c in &conversations {
            let text = format!("{}#{i:02}", c.id);
            pending.push((
                c.id.clone(),
                sender
                    .submit(OutboundMessage::agent_text(
                        &c.id,
                        &c.communication_id,
                        text,
                    ))
                    .await
                    .unwrap(),
            ));
        }
    }
    let mut outcomes = Vec::new();
    for (conv, p) in pending {
        outcomes.push((conv, p.await.unwrap()));
    }
    let stats = sender.shutdown().await;
    assert_eq!((stats.submitted, stats.sent, stats.failed), (120, 120, 0));
    let sim_stats = sim.stats();
    assert!(sim_stats.rate_limited > 0, "the test must exercise 429s");
    for c in &conversations {
        let texts: Vec<String> = sim_stats.sent[&c.id]
            .iter()
            .map(|m| m.text.clone().unwrap())
            .collect();
        let expected: Vec<String> = (0..12).map(|i| format!("{}#{i:02}", c.id)).collect();
        assert_eq!(
            texts, expected,
            "conversation {} received out of order",
            c.id
        );
    }
    // Every caller got the id the platform gave its message.
    for (conv, sent) in &outcomes {
        assert!(sim_stats.sent[conv].iter().any(|m| m.id == sent.id));
        assert_eq!(&sent.order_key, conv);
    }
}

#[tokio::test]
async fn too_long_text_is_refused_before_sending() {
    let sim = sim_with(1).await;
    let client = common::sim_client(&sim, Pacer::unlimited());
    let sender = MessageSender::builder(&client)
        .workers(1)
        .queue_capacity(4)
        .build()
        .unwrap();
    let c = &sim.conversations()[0];
    let sms = OutboundMessage::agent_text(&c.id, &c.communication_id, "x".repeat(766))
        .channel(MessengerType::Sms);
    assert!(matches!(
        sender.submit(sms).await,
        Err(MessagingError::TextTooLong { limit: 765, .. })
    ));
    let web = OutboundMessage::agent_text(&c.id, &c.communication_id, "x".repeat(2_001));
    assert!(matches!(
        sender.submit(web).await,
        Err(MessagingError::TextTooLong { limit: 2_000, .. })
    ));
    assert_eq!(sim.stats().total_requests, 0);
    let ok = sender
        .submit(OutboundMessage::agent_text(
            &c.id,
            &c.communication_id,
            "x".repeat(2_000),
        ))
        .await
        .unwrap();
    ok.await.unwrap();
}

#[tokio::test]
async fn final_failures_reach_the_caller() {
    let sim = sim_with(1).await;
    let client = common::sim_client(&sim, Pacer::unlimited());
    let sender = MessageSender::builder(&client)
        .workers(2)
        .queue_capacity(4)
        .build()
        .unwrap();
    let c = &sim.conversations()[0];
    let wrong = sender
        .submit(OutboundMessage::agent_text(
            &c.id,
            "no-such-communication",
            "hi",
        ))
        .await
        .unwrap();
    let err = wrong.await.unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
    let right = sender
        .submit(OutboundMessage::agent_text(
            &c.id,
            &c.communication_id,
            "hi",
        ))
        .await
        .unwrap();
    assert!(!right.await.unwrap().id.is_empty());
    let stats = sender.shutdown().await;
    assert_eq!((stats.sent, stats.failed), (1, 1));
}

#[tokio::test]
async fn a_full_queue_pushes_back() {
    let sim = SimOrg::builder()
        .seed(1)
        .conversations(1)
        .messages_per_conversation(1)
        .latency(Duration::from_millis(100), Duration::ZERO)
        .start()
        .await
        .unwrap();
    let client = common::sim_client(&sim, Pacer::unlimited());
    let sender = MessageSender::builder(&client)
        .workers(1)
        .queue_capacity(1)
        .build()
        .unwrap();
    let c = &sim.conversations()[0];
    let msg = |i: u32| OutboundMessage::agent_text(&c.id, &c.communication_id, format!("m{i}"));
    let first = sender.submit(msg(0)).await.unwrap(); // taken by the worker
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = sender.try_submit(msg(1)).unwrap().unwrap(); // fills the one slot
    let third = sender.try_submit(msg(2)).unwrap();
    assert!(third.is_err(), "the queue is full: the message comes back");
    // `submit` waits for room instead.
    let third = tokio::time::timeout(Duration::from_secs(2), sender.submit(third.unwrap_err()))
        .await
        .unwrap()
        .unwrap();
    for p in [first, second, third] {
        p.await.unwrap();
    }
    let texts: Vec<String> = sim.stats().sent[&c.id]
        .iter()
        .map(|m| m.text.clone().unwrap())
        .collect();
    assert_eq!(texts, ["m0", "m1", "m2"]);
}

#[tokio::test]
async fn open_messaging_inbound_keeps_each_users_order() {
    let sim = SimOrg::builder()
        .seed(8)
        .conversations(6)
        .messages_per_conversation(1)
        .start()
        .await
        .unwrap();
    let client = common::sim_client(&sim, Pacer::unlimited());
    let conv = sim
        .conversations()
        .into_iter()
        .find(|c| c.integration_id.is_some())
        .expect("an open messaging conversation");
    let integration = conv.integration_id.clone().unwrap();
    let sender = MessageSender::builder(&client)
        .workers(3)
        .queue_capacity(30)
        .build()
        .unwrap();
    let mut pending = Vec::new();
    for i in 0..10 {
        pending.push(
            sender
                .submit(OutboundMessage::open_inbound_text(
                    &integration,
                    "user-1",
                    format!("u{i}"),
                ))
                .await
                .unwrap(),
        );
    }
    for p in pending {
        p.await.unwrap();
    }
    let texts: Vec<String> = sim.stats().sent[&conv.id]
        .iter()
        .map(|m| m.text.clone().unwrap())
        .collect();
    assert_eq!(texts, (0..10).map(|i| format!("u{i}")).collect::<Vec<_>>());
}

#[tokio::test]
async fn shutdown_sends_what_was_queued_then_refuses() {
    let sim = sim_with(2).await;
    let client = common::sim_client(&sim, Pacer::unlimited());
    let sender = MessageSender::builder(&client)
        .workers(2)
        .queue_capacity(50)
        .build()
        .unwrap();
    let c = &sim.conversations()[0];
    let mut pending = Vec::new();
    for i in 0..20 {
        pending.push(
            sender
                .submit(OutboundMessage::agent_text(
                    &c.id,
                    &c.communication_id,
                    format!("s{i}"),
                ))
                .await
                .unwrap(),
        );
    }
    let stats = sender.shutdown().await;
    assert_eq!(stats.sent, 20);
    for p in pending {
        p.await.unwrap();
    }
}

#[tokio::test]
async fn a_held_conversation_sends_nothing_after_a_failure_until_resumed() {
    let sim = sim_with(2).await;
    let client = common::sim_client(&sim, Pacer::unlimited());
    let sender = MessageSender::builder(&client)
        .workers(1) // both conversations share the lane: the hold must still be per conversation
        .queue_capacity(16)
        .on_failure(OnFailure::HoldConversation)
        .build()
        .unwrap();
    let (a, b) = (&sim.conversations()[0], &sim.conversations()[1]);
    let send = |c: &genesys_sim::SimConversation, text: &str| {
        OutboundMessage::agent_text(&c.id, &c.communication_id, text)
    };
    // a: one that fails (no such communication), then two meant to follow it; b in between.
    let failing = sender
        .submit(OutboundMessage::agent_text(
            &a.id,
            "no-such-communication",
            "a0",
        ))
        .await
        .unwrap();
    let a1 = sender.submit(send(a, "a1")).await.unwrap();
    let b1 = sender.submit(send(b, "b1")).await.unwrap();
    let a2 = sender.submit(send(a, "a2")).await.unwrap();
    assert_eq!(failing.await.unwrap_err().status(), Some(404));
    for held in [a1.await, a2.await] {
        match held {
            Err(MessagingError::HeldBack { order_key }) => assert_eq!(order_key, a.id),
            other => panic!("expected HeldBack, got {other:?}"),
        }
    }
    b1.await.unwrap();
    assert_eq!(sender.held_keys(), vec![a.id.clone()]);
    let texts = |sim: &SimOrg, id: &str| -> Vec<String> {
        sim.stats()
            .sent
            .get(id)
            .map(|v| v.iter().filter_map(|m| m.text.clone()).collect())
            .unwrap_or_default()
    };
    assert!(texts(&sim, &a.id).is_empty(), "nothing of a was sent");
    assert_eq!(texts(&sim, &b.id), vec!["b1"]);

    // Resumed: the caller resubmits in order and the conversation reads as written.
    assert!(sender.resume(&a.id));
    assert!(!sender.resume(&a.id), "a second resume finds no hold");
    assert!(sender.held_keys().is_empty());
    let mut again = Vec::new();
    for text in ["a0", "a1", "a2"] {
        again.push(sender.submit(send(a, text)).await.unwrap());
    }
    for p in again {
        p.await.unwrap();
    }
    assert_eq!(texts(&sim, &a.id), vec!["a0", "a1", "a2"]);
    let stats = sender.shutdown().await;
    assert_eq!(
        (stats.submitted, stats.sent, stats.failed, stats.held_back),
        (7, 4, 1, 2)
    );
}

#[tokio::test]
async fn by_default_a_failure_does_not_hold_the_conversation() {
    let sim = sim_with(1).await;
    let client = common::sim_client(&sim, Pacer::unlimited());
    let sender = MessageSender::builder(&client)
        .workers(1)
        .queue_capacity(4)
        .build()
        .unwrap();
    let c = &sim.conversations()[0];
    let failing = sender
        .submit(OutboundMessage::agent_text(
            &c.id,
            "no-such-communication",
            "x",
        ))
        .await
        .unwrap();
    let next = sender
        .submit(OutboundMessage::agent_text(&c.id, &c.communication_id, "y"))
        .await
        .unwrap();
    assert!(failing.await.is_err());
    next.await.unwrap();
    assert!(sender.held_keys().is_empty());
    assert!(!sender.resume(&c.id));
    assert_eq!(sender.shutdown().await.held_back, 0);
}

#[tokio::test]
async fn a_send_answered_with_a_5xx_is_not_retried_and_its_outcome_is_unknown() {
    let sim = SimOrg::builder()
        .seed(2)
        .conversations(1)
        .messages_per_conversation(1)
        .faults(Faults {
            server_errors: 1.0,
            ..Faults::default()
        })
        .start()
        .await
        .unwrap();
    let client = common::sim_client(&sim, Pacer::unlimited());
    let sender = MessageSender::builder(&client).workers(1).build().unwrap();
    let c = &sim.conversations()[0];
    let send_path = format!(
        "/api/v2/conversations/messages/{}/communications/{}/messages",
        c.id, c.communication_id
    );
    let outcome = sender
        .submit(OutboundMessage::agent_text(
            &c.id,
            &c.communication_id,
            "once",
        ))
        .await
        .unwrap()
        .await;
    match outcome {
        Err(MessagingError::OutcomeUnknown(e)) => assert!(e.status().is_some_and(|s| s >= 500)),
        other => panic!("expected OutcomeUnknown, got {other:?}"),
    }
    let attempts: u64 = sim
        .stats()
        .requests
        .get(&send_path)
        .map(|by_status| by_status.values().sum())
        .unwrap_or(0);
    assert_eq!(
        attempts, 1,
        "an uncertain send is never repeated by default"
    );
}

#[tokio::test]
async fn a_429_is_retried_since_the_send_provably_did_not_happen() {
    let sim = SimOrg::builder()
        .seed(3)
        .conversations(1)
        .messages_per_conversation(1)
        .rate_limit(20.0, 1)
        .start()
        .await
        .unwrap();
    let client = common::sim_client(&sim, Pacer::unlimited());
    let sender = MessageSender::builder(&client).workers(1).build().unwrap();
    let c = &sim.conversations()[0];
    let mut pending = Vec::new();
    for i in 0..4 {
        pending.push(
            sender
                .submit(OutboundMessage::agent_text(
                    &c.id,
                    &c.communication_id,
                    format!("m{i}"),
                ))
                .await
                .unwrap(),
        );
    }
    for p in pending {
        p.await.unwrap();
    }
    assert!(
        sim.stats().rate_limited > 0,
        "the sim refused some sends with 429"
    );
    assert_eq!(sim.stats().sent_texts(&c.id), vec!["m0", "m1", "m2", "m3"]);
}

#[tokio::test]
async fn agentless_sends_and_the_communication_lookup_use_the_platforms_endpoints() {
    let sim = sim_with(2).await;
    let client = common::sim_client(&sim, Pacer::unlimited());
    let sender = MessageSender::builder(&client).workers(2).build().unwrap();
    let c = &sim.conversations()[1];
    // The communication id the agent send needs, looked up rather than known beforehand.
    let communication = agent_communication_id(&client, &c.id, None).await.unwrap();
    assert_eq!(communication, c.communication_id);
    let agent = sender
        .submit(OutboundMessage::agent_text(
            &c.id,
            &communication,
            "looked up",
        ))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(agent.conversation_id.as_deref(), Some(c.id.as_str()));
    let agentless = sender
        .submit(OutboundMessage::agentless_text(
            c.integration_id.clone().unwrap(),
            "+15550100",
            MessengerType::Sms,
            "started by the integration",
        ))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(agentless.conversation_id.as_deref(), Some(c.id.as_str()));
    assert_eq!(
        sim.stats().sent_texts(&c.id),
        vec!["looked up", "started by the integration"]
    );
    // Open messaging: the conversation id only when asked for.
    let integration = c.integration_id.clone().unwrap();
    let plain = sender
        .submit(OutboundMessage::open_inbound_text(&integration, "u1", "hi"))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(plain.conversation_id, None);
    let prefetched = sender
        .submit(
            OutboundMessage::open_inbound_text(&integration, "u1", "again")
                .prefetch_conversation_id(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(prefetched.conversation_id.as_deref(), Some(c.id.as_str()));
    assert!(matches!(
        agent_communication_id(&client, "no-such-conversation", None).await,
        Err(MessagingError::Conversation { .. })
    ));
}
