//! Reading a request body under a size limit, the same way at every HTTP entry point (the
//! webhook ingest and the dead-letter receiver): a `Content-Length` over the limit is refused
//! before a byte is read, and a body streamed without one stops being read as soon as it grows
//! past the limit, so an oversize body never sits whole in memory.

use axum::body::Body;
use axum::http::{HeaderMap, header};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;

/// Why a body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Declared or streamed past the limit.
    TooLarge,
    /// The stream broke off (the client went away, a transport error).
    Unreadable,
}

/// The whole body, at most `limit` bytes.
pub(crate) async fn read_limited(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, BodyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut stream = body.into_data_stream();
    let mut buf = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| BodyError::Unreadable)?;
        if buf.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
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

    #[tokio::test]
    async fn a_broken_stream_is_unreadable() {
        let body = chunks(vec![Ok(b"{"), Err(std::io::Error::other("reset"))]);
        assert_eq!(
            read_limited(&HeaderMap::new(), body, 100).await,
            Err(BodyError::Unreadable)
        );
    }
}
