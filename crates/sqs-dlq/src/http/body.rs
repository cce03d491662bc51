//! Reading a request body under a size limit, the same way at every HTTP entry point (the
//! webhook ingest and the dead-letter receiver): a `Content-Length` over the limit is refused
//! before a byte is read, and a body streamed without one stops being read as soon as it grows
//! past the limit, so an oversize body never sits whole in memory.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Why a body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Declared or streamed past the limit.
    TooLarge,
    /// The stream broke off (the client went away, a transport error).
    Unreadable,
    /// The body did not arrive whole within the deadline.
    TimedOut,
    /// The shared budget of bytes held for bodies not yet authenticated is spent.
    OverBudget,
}

/// Bytes that bodies not yet authenticated may hold, together. A body read under it takes its
/// bytes from the budget as they arrive and gives them back when the read body is dropped.
#[derive(Debug, Clone)]
pub(crate) struct BodyBudget {
    bytes: Arc<Semaphore>,
}

impl BodyBudget {
    /// A budget of `bytes` (capped at what a semaphore can count).
    pub(crate) fn new(bytes: usize) -> Self {
        Self {
            bytes: Arc::new(Semaphore::new(bytes.min(Semaphore::MAX_PERMITS))),
        }
    }

    /// Bytes left in the budget now.
    #[cfg(test)]
    pub(crate) fn available(&self) -> usize {
        self.bytes.available_permits()
    }
}

/// How a body is read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadLimits<'a> {
    /// Most bytes accepted.
    pub(crate) max_bytes: usize,
    /// Time for the whole body, from the first poll.
    pub(crate) deadline: Option<Duration>,
    /// Budget the bytes are taken from while held.
    pub(crate) budget: Option<&'a BodyBudget>,
}

impl ReadLimits<'_> {
    /// Only a size limit.
    pub(crate) fn size(max_bytes: usize) -> Self {
        ReadLimits {
            max_bytes,
            deadline: None,
            budget: None,
        }
    }
}

/// A body read whole, with the budget it holds (given back on drop).
#[derive(Debug)]
pub(crate) struct ReadBody {
    pub(crate) bytes: Bytes,
    held: Option<OwnedSemaphorePermit>,
}

impl ReadBody {
    /// Gives the budget back early (once the request is authenticated).
    pub(crate) fn release_budget(&mut self) {
        self.held = None;
    }
}

/// The whole body, at most `limit` bytes.
#[cfg(test)]
pub(crate) async fn read_limited(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, BodyError> {
    read_body(headers, body, ReadLimits::size(limit))
        .await
        .map(|read| read.bytes)
}

/// The whole body under `limits`.
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limits: ReadLimits<'_>,
) -> Result<ReadBody, BodyError> {
    let limit = limits.max_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    let read = async {
        let mut stream = body.into_data_stream();
        let mut buf = BytesMut::new();
        let mut held: Option<OwnedSemaphorePermit> = None;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| BodyError::Unreadable)?;
            if buf.len() + chunk.len() > limit {
                return Err(BodyError::TooLarge);
            }
            if let Some(budget) = limits.budget
                && !chunk.is_empty()
            {
                let n = u32::try_from(chunk.len()).map_err(|_| BodyError::TooLarge)?;
                let permit = Arc::clone(&budget.bytes)
                    .try_acquire_many_owned(n)
                    .map_err(|_| BodyError::OverBudget)?;
                match &mut held {
                    Some(held) => held.merge(permit),
                    None => held = Some(permit),
                }
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(ReadBody {
            bytes: buf.freeze(),
            held,
        })
    };
    match limits.deadline {
        Some(deadline) => tokio::time::timeout(deadline, read)
            .await
            .unwrap_or(Err(BodyError::TimedOut)),
        None => read.await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(parts: Vec<Result<&'static [u8], std::io::Error>>) -> Body {
        Body::from_stream(futures::stream::iter(
            parts.into_iter().map(|p| p.map(Bytes::from_static)),
        ))
    }

    #[tokio::test]
    async fn a_body_up_to_the_limit_is_read_whole() {
        let body = chunks(vec![Ok(b"{\"a\":"), Ok(b"1}")]);
        let read = read_limited(&HeaderMap::new(), body, 7).await.unwrap();
        assert_eq!(&read[..], b"{\"a\":1}");
    }

    #[tokio::test]
    async fn a_streamed_body_past_the_limit_stops_being_read() {
        // The third chunk is an error: reaching it would give `Unreadable`, so `TooLarge`
        // shows the read stopped at the second.
        let body = chunks(vec![
            Ok(b"1234"),
            Ok(b"5678"),
            Err(std::io::Error::other("never polled")),
        ]);
        assert_eq!(
            read_limited(&HeaderMap::new(), body, 6).await,
            Err(BodyError::TooLarge)
        );
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_refused_before_reading() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, " 100 ".parse().unwrap());
        let body = chunks(vec![Err(std::io::Error::other("never polled"))]);
        assert_eq!(
            read_limited(&headers, body, 99).await,
            Err(BodyError::TooLarge)
        );
        // A declared length within the limit does not stop a longer stream being cut.
        headers.insert(header::CONTENT_LENGTH, "2".parse().unwrap());
        let body = chunks(vec![Ok(b"123")]);
        assert_eq!(
            read_limited(&headers, body, 2).await,
            Err(BodyError::TooLarge)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_does_not_arrive_in_time_times_out() {
        let slow = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"{"))])
            .chain(futures::stream::pending());
        let limits = ReadLimits {
            deadline: Some(Duration::from_secs(2)),
            ..ReadLimits::size(100)
        };
        let read = read_body(&HeaderMap::new(), Body::from_stream(slow), limits).await;
        assert_eq!(read.map(|r| r.bytes), Err(BodyError::TimedOut));
    }

    #[tokio::test]
    async fn bodies_take_from_the_budget_while_held_and_give_it_back() {
        let budget = BodyBudget::new(10);
        let limits = ReadLimits {
            budget: Some(&budget),
            ..ReadLimits::size(100)
        };
        let first = read_body(&HeaderMap::new(), chunks(vec![Ok(b"123456")]), limits)
            .await
            .unwrap();
        assert_eq!(budget.available(), 4);
        let second = read_body(&HeaderMap::new(), chunks(vec![Ok(b"12345")]), limits).await;
        assert_eq!(second.map(|r| r.bytes), Err(BodyError::OverBudget));
        assert_eq!(
            budget.available(),
            4,
            "a refused read gives back what it took"
        );
        let mut first = first;
        first.release_budget();
        assert_eq!(budget.available(), 10);
        drop(first);
        assert_eq!(budget.available(), 10);
    }

    #[tokio::test]
    async fn a_broken_stream_is_unreadable() {
        let body = chunks(vec![Ok(b"{"), Err(std::io::Error::other("reset"))]);
        assert_eq!(
            read_limited(&HeaderMap::new(), body, 100).await,
            Err(BodyError::Unreadable)
        );
    }
}
