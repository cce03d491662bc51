//! One message's way through the consumer: decode → idempotency check → handler (with a
//! heartbeat) → delete, back off through the visibility timeout, or copy to the DLQ then delete.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument as _;

use futures::FutureExt;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use crate::consumer::handler::{Delivery, Handler, HandlerError};
use crate::consumer::idempotency::Claim;
use crate::consumer::metrics::{ConsumerMetrics, DeadLetterReason};
use crate::queue::{MAX_VISIBILITY_TIMEOUT, Queue, ReceivedMessage};

use super::acker::Ack;
use super::codes;
use super::dead_letter_copy::dead_letter_copy;
use super::shared::Shared;

/// How a handler run ended.
enum Run {
    Finished(Result<(), HandlerError>),
    Panicked(String),
    /// The shutdown deadline passed while it ran.
    Abandoned,
}

/// Processes one message, holding one concurrency permit. Ends early, without acknowledging
/// anything, if the consumer is dropped (`abort`): the message then comes back after its
/// visibility timeout.
pub(crate) async fn process<Q: Queue, H: Handler>(
    shared: Arc<Shared<Q, H>>,
    message: ReceivedMessage,
    _permit: OwnedSemaphorePermit,
) {
    let abort = shared.abort.clone();
    tokio::select! {
        biased;
        _ = abort.cancelled() => {}
        _ = process_inner(&shared, &message) => {}
    }
}

async fn process_inner<Q: Queue, H: Handler>(shared: &Shared<Q, H>, message: &ReceivedMessage) {
    let payload = match shared.handler.decode(message) {
        Ok(payload) => payload,
        Err(error) => {
            tracing::warn!(
                target: "sqs_dlq::consumer",
                message_id = %message.message_id,
                %error,
                "poison message"
            );
            dead_letter(
                shared,
                message,
                DeadLetterReason::Poison,
                codes::POISON_MESSAGE,
                &error.to_string(),
            )
            .await;
            return;
        }
    };

    let key = match &shared.idempotency {
        Some(_) => shared
            .handler
            .idempotency_key(&payload, Delivery::new(message)),
        None => None,
    };
    let mut token = None;
    if let (Some(store), Some(key)) = (&shared.idempotency, &key) {
        // The lease is one visibility timeout: by then SQS shows the message again, and a
        // crashed claimer's copy must be claimable.
        match store.try_begin(key, shared.config.visibility_timeout).await {
            Ok(Claim::Acquired(t)) => token = Some(t),
            Ok(Claim::Done) => {
                tracing::debug!(
                    target: "sqs_dlq::consumer",
                    message_id = %message.message_id,
                    key = %key,
                    "duplicate of finished work acknowledged"
                );
                shared.meter.duplicate();
                shared
                    .acks
                    .send(Ack::Delete(message.receipt_handle.clone()));
                return;
            }
            Ok(_) => {
                // Claim::InProgress (and any later state): a copy is running now; look again
                // after the retry backoff for this receive (growing with each look, never
                // longer than a visibility timeout), without counting it as a failure. A
                // whole visibility timeout at once would hold the copy back long after a
                // short first run finished.
                let delay = shared
                    .retry_delay(message.receive_count)
                    .min(shared.config.visibility_timeout);
                tracing::debug!(
                    target: "sqs_dlq::consumer",
                    message_id = %message.message_id,
                    key = %key,
                    delay_ms = delay.as_millis() as u64,
                    "duplicate of work in progress put back"
                );
                shared.meter.deferred();
                shared
                    .acks
                    .send(Ack::Visibility(message.receipt_handle.clone(), delay));
                return;
            }
            Err(error) => {
                let delay = shared.retry_delay(message.receive_count);
                tracing::warn!(
                    target: "sqs_dlq::consumer",
                    message_id = %message.message_id,
                    %error,
                    delay_ms = delay.as_millis() as u64,
                    "idempotency store unavailable; message put back"
                );
                shared.meter.deferred();
                shared
                    .acks
                    .send(Ack::Visibility(message.receipt_handle.clone(), delay));
                return;
            }
        }
    }

    let started = Instant::now();
    let run = run_handler(shared, message, payload).await;
    if !matches!(run, Run::Abandoned) {
        shared.meter.handler_latency(started.elapsed());
    }

    let release_claim = async {
        if let (Some(store), Some(key), Some(token)) = (&shared.idempotency, &key, token)
            && let Err(error) = store.release(key, token).await
        {
            tracing::warn!(target: "sqs_dlq::consumer", key = %key, %error, "could not release idempotency claim");
        }
    };

    match run {
        Run::Finished(Ok(())) => {
            if let (Some(store), Some(key), Some(token)) = (&shared.idempotency, &key, token) {
                match store.complete(key, token).await {
                    Ok(crate::consumer::idempotency::Completion::Fenced) => tracing::warn!(
                        target: "sqs_dlq::consumer",
                        key = %key,
                        "finished after the idempotency lease ran out and the key was claimed anew"
                    ),
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(target: "sqs_dlq::consumer", key = %key, %error, "could not record finished work")
                    }
                }
            }
            shared.meter.succeeded();
            shared
                .acks
                .send(Ack::Delete(message.receipt_handle.clone()));
        }
        Run::Abandoned => {
            release_claim.await;
            tracing::info!(
                target: "sqs_dlq::consumer",
                message_id = %message.message_id,
                "shutdown deadline passed; message released"
            );
            shared.meter.released(1);
            shared.acks.send(Ack::Visibility(
                message.receipt_handle.clone(),
                Duration::ZERO,
            ));
        }
        Run::Finished(Err(HandlerError::Permanent { source, code })) => {
            release_claim.await;
            tracing::warn!(
                target: "sqs_dlq::consumer",
                message_id = %message.message_id,
                error = %source,
                "permanent failure"
            );
            let code = code.as_deref().unwrap_or(codes::PERMANENT_FAILURE);
            dead_letter(
                shared,
                message,
                DeadLetterReason::Permanent,
                code,
                &source.to_string(),
            )
            .await;
        }
        Run::Finished(Err(HandlerError::Transient { source, code })) => {
            release_claim.await;
            transient(shared, message, code.as_deref(), &source.to_string()).await;
        }
        Run::Panicked(text) => {
            release_claim.await;
            transient(shared, message, None, &format!("handler panicked: {text}")).await;
        }
    }
}

async fn transient<Q: Queue, H: Handler>(
    shared: &Shared<Q, H>,
    message: &ReceivedMessage,
    code: Option<&str>,
    error: &str,
) {
    if message.receive_count >= shared.config.max_receives {
        tracing::warn!(
            target: "sqs_dlq::consumer",
            message_id = %message.message_id,
            receive_count = message.receive_count,
            error,
            "transient failure on the last allowed receive"
        );
        dead_letter(
            shared,
            message,
            DeadLetterReason::RetriesExhausted,
            code.unwrap_or(codes::MAX_RECEIVES_EXCEEDED),
            error,
        )
        .await;
    } else {
        let delay = shared.retry_delay(message.receive_count);
        tracing::info!(
            target: "sqs_dlq::consumer",
            message_id = %message.message_id,
            receive_count = message.receive_count,
            delay_ms = delay.as_millis() as u64,
            error,
            "transient failure; retry after the visibility delay"
        );
        shared.meter.retried(delay);
        shared
            .acks
            .send(Ack::Visibility(message.receipt_handle.clone(), delay));
    }
}

/// Copies the message to the DLQ with the reason; deletes it only once the copy is stored.
async fn dead_letter<Q: Queue, H: Handler>(
    shared: &Shared<Q, H>,
    message: &ReceivedMessage,
    reason: DeadLetterReason,
    code: &str,
    error: &str,
) {
    let copy = dead_letter_copy(message, code, error);
    if copy.dropped_attributes > 0 {
        tracing::warn!(
            target: "sqs_dlq::consumer",
            message_id = %message.message_id,
            dropped = copy.dropped_attributes,
            "original attributes left off the dead letter (SQS allows 10)"
        );
    }
    match shared.dead_letter_queue.send(copy.message).await {
        Ok(dead_letter_id) => {
            tracing::warn!(
                target: "sqs_dlq::consumer",
                message_id = %message.message_id,
                %dead_letter_id,
                reason = reason.as_str(),
                error_code = code,
                "message copied to the dead-letter queue"
            );
            shared.meter.dead_lettered(reason);
            shared
                .acks
                .send(Ack::Delete(message.receipt_handle.clone()));
        }
        Err(error) => {
            // Never delete without a stored copy: the message comes back after its visibility
            // timeout and takes this path again.
            tracing::error!(
                target: "sqs_dlq::consumer",
                message_id = %message.message_id,
                dead_letter_queue = shared.dead_letter_queue.name(),
                %error,
                "dead-letter copy failed; message left in the queue"
            );
            shared.meter.dead_letter_failed();
        }
    }
}

async fn run_handler<Q: Queue, H: Handler>(
    shared: &Shared<Q, H>,
    message: &ReceivedMessage,
    payload: H::Payload,
) -> Run {
    // The handler's span continues the trace of the message (see `crate::trace_context`).
    let span = tracing::info_span!(
        "sqs_dlq.process",
        messaging.message.id = %message.message_id,
        traceparent = tracing::field::Empty,
    );
    crate::trace_context::continue_trace(&span, &message.attributes);
    let handler = AssertUnwindSafe(
        shared
            .handler
            .handle(payload, Delivery::new(message))
            .instrument(span),
    )
    .catch_unwind();
    let heartbeat = heartbeat(shared, message);
    tokio::select! {
        result = handler => match result {
            Ok(result) => Run::Finished(result),
            Err(panic) => Run::Panicked(panic_text(panic.as_ref())),
        },
        never = heartbeat => match never {},
        _ = shared.abandon.cancelled() => Run::Abandoned,
    }
}

/// Extends the message's visibility every heartbeat interval while the handler runs. Never
/// returns; dropped when the handler finishes.
async fn heartbeat<Q: Queue, H: Handler>(
    shared: &Shared<Q, H>,
    message: &ReceivedMessage,
) -> std::convert::Infallible {
    let interval = shared.config.heartbeat_interval;
    let extend_to = shared.config.visibility_timeout.min(MAX_VISIBILITY_TIMEOUT);
    let mut beats: u32 = 0;
    loop {
        tokio::time::sleep(interval).await;
        beats = beats.saturating_add(1);
        match shared
            .queue
            .change_visibility(&message.receipt_handle, extend_to)
            .await
        {
            Ok(()) => {
                shared.meter.heartbeat(true);
                tracing::debug!(
                    target: "sqs_dlq::consumer",
                    message_id = %message.message_id,
                    beats,
                    "visibility extended"
                )
            }
            Err(error) => {
                shared.meter.heartbeat(false);
                tracing::warn!(
                    target: "sqs_dlq::consumer",
                    message_id = %message.message_id,
                    %error,
                    "heartbeat could not extend the visibility"
                )
            }
        }
    }
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-text panic payload)".to_owned()
    }
}
