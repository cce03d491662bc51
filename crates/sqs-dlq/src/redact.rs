//! URLs as they may be printed: [`url`] replaces user info (`user:password@`) with `***@`.
//! Every URL this crate logs or puts in an error goes through it, and the recipes print theirs
//! with it, so a password given in a URL (`--target-url http://user:pw@host/…`) is used on the
//! wire but never shown. The function is `retry_policy::redact::url`, shared by every crate of
//! the workspace (the shared pacer's Redis URL goes through it too).
//!
//! ```
//! use sqs_dlq::redact;
//! assert_eq!(redact::url("https://user:pw@example.com/a?b"), "https://***@example.com/a?b");
//! ```

pub use retry_policy::redact::url;
