//! Dead-letter attribute names and the `ERROR_CODE` values the consumer writes.

/// Attribute with the error code (same name as EventBridge's DLQ attribute).
pub const ATTR_ERROR_CODE: &str = "ERROR_CODE";
/// Attribute with the error text (at most 1 KiB).
pub const ATTR_ERROR_MESSAGE: &str = "ERROR_MESSAGE";
/// Number attribute: retries after the first attempt (`receive count - 1`).
pub const ATTR_RETRY_ATTEMPTS: &str = "RETRY_ATTEMPTS";
/// The body could not be decoded.
pub const POISON_MESSAGE: &str = "POISON_MESSAGE";
/// The handler reported a permanent failure (unless it set its own code).
pub const PERMANENT_FAILURE: &str = "PERMANENT_FAILURE";
/// Transient failures until the maximum number of receives (unless the handler set its own
/// code).
pub const MAX_RECEIVES_EXCEEDED: &str = "MAX_RECEIVES_EXCEEDED";
