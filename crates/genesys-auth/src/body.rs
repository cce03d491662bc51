//! Reading a response body without reading more than a limit.

use bytes::{Bytes, BytesMut};

/// Why a body could not be read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// Larger than the limit (declared or seen); reading stopped there.
    TooLarge,
    /// The connection failed while reading.
    Read(reqwest::Error),
}

/// Reads the body chunk by chunk and stops as soon as it passes `limit` bytes. A
/// `Content-Length` above the limit is refused before anything is read.
pub(crate) async fn read_limited(
    response: &mut reqwest::Response,
    limit: usize,
) -> Result<Bytes, BodyError> {
    let declared = response.content_length();
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    // The common case is one chunk: keep it without copying.
    let Some(first) = response.chunk().await.map_err(BodyError::Read)? else {
        return Ok(Bytes::new());
    };
    if first.len() > limit {
        return Err(BodyError::TooLarge);
    }
    let Some(second) = response.chunk().await.map_err(BodyError::Read)? else {
        return Ok(first);
    };
    let hint = declared.map_or(first.len() + second.len(), |len| len as usize);
    let mut buf = BytesMut::with_capacity(hint.min(limit));
    buf.extend_from_slice(&first);
    let mut next = Some(second);
    while let Some(chunk) = next {
        if buf.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        buf.extend_from_slice(&chunk);
        next = response.chunk().await.map_err(BodyError::Read)?;
    }
    Ok(buf.freeze())
}
