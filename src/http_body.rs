//! Every response body the daemon reads goes through [`read_capped`]: a remote (or something in
//! between, such as a proxy's error page) that answers with a huge or endless body must not
//! take the process's memory. The largest legitimate answers are a SuiteQL page of 1,000 rows
//! and an ION page of 50 purchase orders with their lines, both well under a megabyte.

/// The cap on one response body: 32 MiB, some thirty times the largest legitimate answer.
pub const MAX_BODY_BYTES: usize = 32 << 20;

#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Refused before or while reading; what was read is dropped.
    #[error(
        "the answer is larger than the {limit}-byte cap on a response body, so it was not read"
    )]
    TooLarge { limit: usize },
    /// The connection broke while reading (reset, timeout).
    #[error(transparent)]
    Read(#[from] reqwest::Error),
}

/// Reads `response`'s body up to `limit` bytes; refuses a declared `Content-Length` above it
/// without reading anything, and stops reading as soon as a body without one passes it.
pub async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return Err(BodyError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
