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

/// Reads the whole body without reading more than `limit` bytes. A `Content-Length` above
/// the limit is refused before anything is read; one within it is read in one go (the
/// connection cannot deliver more than it declared); a body of unknown length is read chunk by
/// chunk and reading stops as soon as it passes the limit.
pub(crate) async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Bytes, BodyError> {
    let declared = response.content_length();
    if let Some(len) = declared {
        if len > limit as u64 {
            return Err(BodyError::TooLarge);
        }
        return response.bytes().await.map_err(BodyError::Read);
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
    let mut buf = BytesMut::with_capacity((first.len() + second.len()).min(limit));
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
