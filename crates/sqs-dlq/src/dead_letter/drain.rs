//! The drain step [`Diagnosis`](super::Diagnosis) and [`Replay`](super::Replay) share: receive
//! from a dead-letter queue with retries, hand each message out once per run (a message that
//! comes back because its visibility timeout ran out only refreshes the receipt handle of the
//! letter already held), stop at a limit, at an empty receive or when the queue has cycled, and
//! release or delete held letters by receipt handle with per-message problems.

use std::collections::HashMap;
use std::time::Duration;

use retry_policy::{RetryClass, RetryPolicy, RetryableError};

use super::event::DeadLetter;
use crate::queue::{BatchOutcome, MAX_RECEIVE_BATCH, Queue, QueueError, ReceiveOptions};

/// A queue call's error, classified for the retry driver: throttling and outages are retried.
#[derive(Debug)]
pub(crate) struct QueueCall(pub(crate) QueueError);

impl RetryableError for QueueCall {
    fn retry_class(&self) -> RetryClass {
        if self.0.is_transient() {
            RetryClass::retry()
        } else {
            RetryClass::Fail
        }
    }
}

/// One run's walk through a queue: what it has handed out, and where the held letters are.
#[derive(Debug)]
pub(crate) struct Drain {
    limit: usize,
    wait_time: Duration,
    visibility_timeout: Duration,
    policy: RetryPolicy,
    taken: usize,
    /// Message id → index in the caller's held letters, or `None` once it is no longer held.
    seen: HashMap<String, Option<usize>>,
    seen_again: usize,
    done: bool,
}

impl Drain {
    /// A drain of at most `limit` distinct messages (`None`: until the queue is empty), each
    /// receive long-polling `wait_time` and hiding messages for `visibility_timeout`.
    pub(crate) fn new(
        limit: Option<usize>,
        wait_time: Duration,
        visibility_timeout: Duration,
        policy: RetryPolicy,
    ) -> Self {
        Self {
            limit: limit.unwrap_or(usize::MAX),
            wait_time,
            visibility_timeout,
            policy,
            taken: 0,
            seen: HashMap::new(),
            seen_again: 0,
            done: false,
        }
    }

    /// The next letters this run has not seen. Empty when the drain is over: the limit was
    /// reached, a receive came back empty, or only messages already handed out came back (the
    /// queue has cycled). A message seen before refreshes the receipt handle of its letter in
    /// `held` (when still held); messages past the limit are released at once. Transient
    /// receive errors are retried under the policy; the last error is returned, and the caller
    /// still owns (and must release) what it holds.
    pub(crate) async fn next<Q: Queue + ?Sized>(
        &mut self,
        queue: &Q,
        held: &mut [DeadLetter],
    ) -> Result<Vec<DeadLetter>, QueueError> {
        if self.done || self.taken >= self.limit {
            return Ok(Vec::new());
        }
        let opts = ReceiveOptions::default()
            .max_messages((self.limit - self.taken).min(MAX_RECEIVE_BATCH))
            .wait_time(self.wait_time)
            .visibility_timeout(self.visibility_timeout);
        let opts = &opts;
        let batch = retry_policy::retry(&self.policy, move |_| async move {
            queue.receive(opts).await.map_err(QueueCall)
        })
        .await
        .map_err(|e| e.last.0)?;
        let mut fresh = Vec::new();
        let mut overflow = Vec::new();
        for message in batch {
            if let Some(slot) = self.seen.get(&message.message_id) {
                // Back again within this run: refresh the handle of a held one, never hand it
                // out twice.
                self.seen_again += 1;
                if let Some(letter) = slot.and_then(|i| held.get_mut(i)) {
                    letter.set_receipt_handle(message.receipt_handle);
                }
                continue;
            }
            let letter = DeadLetter::from_received(message);
            if self.taken >= self.limit {
                // Over the limit (a backend returned more than asked): release it unseen.
                overflow.push(letter);
                continue;
            }
            self.taken += 1;
            self.seen.insert(letter.message_id().to_owned(), None);
            fresh.push(letter);
        }
        release(queue, &overflow).await;
        if fresh.is_empty() {
            self.done = true;
        }
        Ok(fresh)
    }

    /// Holds `letter` at the end of `held`: if its message comes back during the run, its
    /// receipt handle is refreshed there.
    pub(crate) fn hold(&mut self, letter: DeadLetter, held: &mut Vec<DeadLetter>) {
        self.seen
            .insert(letter.message_id().to_owned(), Some(held.len()));
        held.push(letter);
    }

    /// How many received messages were ones this run had already handed out.
    pub(crate) fn seen_again(&self) -> usize {
        self.seen_again
    }
}

/// A message the final delete or release could not handle. It is not lost: it reappears on
/// the queue when its visibility timeout ends.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EntryProblem {
    /// The message.
    pub message_id: String,
    /// The backend's code.
    pub code: String,
    /// The backend's message.
    pub message: String,
}

fn handles(letters: &[DeadLetter]) -> Vec<(String, String)> {
    letters
        .iter()
        .filter_map(|l| {
            l.receipt_handle()
                .map(|h| (l.message_id().to_owned(), h.to_owned()))
        })
        .collect()
}

/// Makes these messages visible again. Returns how many were released and the failures.
pub(crate) async fn release<Q: Queue + ?Sized>(
    queue: &Q,
    letters: &[DeadLetter],
) -> (usize, Vec<EntryProblem>) {
    let entries = handles(letters);
    if entries.is_empty() {
        return (0, Vec::new());
    }
    let call = entries
        .iter()
        .map(|(_, h)| (h.clone(), Duration::ZERO))
        .collect();
    let answer = queue.change_visibility_batch(call).await;
    if let Err(error) = &answer {
        tracing::warn!(queue = queue.name(), error = %error, messages = entries.len(), "release failed; messages reappear after their visibility timeout");
    }
    settle(&entries, answer, "ReleaseFailed")
}

/// Deletes these messages. Returns how many were deleted and the failures.
pub(crate) async fn delete<Q: Queue + ?Sized>(
    queue: &Q,
    letters: &[DeadLetter],
) -> (usize, Vec<EntryProblem>) {
    let entries = handles(letters);
    if entries.is_empty() {
        return (0, Vec::new());
    }
    let call = entries.iter().map(|(_, h)| h.clone()).collect();
    let answer = queue.delete_batch(call).await;
    if let Err(error) = &answer {
        tracing::warn!(queue = queue.name(), error = %error, messages = entries.len(), "delete failed; messages stay on the queue");
    }
    settle(&entries, answer, "DeleteFailed")
}

/// How many of `entries` (message id, receipt handle) a batch call did, and the problems by
/// message id: the entries it refused, or every entry, under `whole_failure_code`, when the
/// call failed as a whole.
fn settle(
    entries: &[(String, String)],
    answer: Result<BatchOutcome<()>, QueueError>,
    whole_failure_code: &str,
) -> (usize, Vec<EntryProblem>) {
    match answer {
        Ok(outcome) => {
            let problems = outcome
                .failed
                .into_iter()
                .map(|f| EntryProblem {
                    message_id: entries
                        .get(f.index)
                        .map(|(id, _)| id.clone())
                        .unwrap_or_default(),
                    code: f.code,
                    message: f.message,
                })
                .collect();
            (outcome.ok.len(), problems)
        }
        Err(error) => {
            let problems = entries
                .iter()
                .map(|(id, _)| EntryProblem {
                    message_id: id.clone(),
                    code: whole_failure_code.to_owned(),
                    message: error.to_string(),
                })
                .collect();
            (0, problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::BatchEntryFailure;

    fn entries() -> Vec<(String, String)> {
        vec![("m0".into(), "h0".into()), ("m1".into(), "h1".into())]
    }

    #[test]
    fn refused_entries_are_named_by_message_id() {
        let mut outcome = BatchOutcome::empty();
        outcome.ok.push((0, ()));
        outcome.failed.push(BatchEntryFailure {
            index: 1,
            code: "ReceiptHandleIsInvalid".into(),
            message: "expired".into(),
            sender_fault: true,
        });
        let (done, problems) = settle(&entries(), Ok(outcome), "DeleteFailed");
        assert_eq!(done, 1);
        assert_eq!(
            problems,
            vec![EntryProblem {
                message_id: "m1".into(),
                code: "ReceiptHandleIsInvalid".into(),
                message: "expired".into(),
            }]
        );
    }

    #[test]
    fn a_whole_failure_marks_every_entry_with_the_callers_code() {
        let error = QueueError::Throttled { queue: "q".into() };
        let text = error.to_string();
        let (done, problems) = settle(&entries(), Err(error), "ReleaseFailed");
        assert_eq!(done, 0);
        let ids: Vec<_> = problems.iter().map(|p| p.message_id.as_str()).collect();
        assert_eq!(ids, ["m0", "m1"]);
        assert!(
            problems
                .iter()
                .all(|p| p.code == "ReleaseFailed" && p.message == text)
        );
    }
}
