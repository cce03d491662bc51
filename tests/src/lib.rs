//! Helpers for the cross-crate tests in `tests/tests/`.

/// Now as Unix seconds, as the webhook and receiver signatures carry it
/// (`X-Signature-Timestamp`).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The Rust examples of the workspace README and of each crate's README, compiled as doc tests
/// so that what users copy keeps building against the current APIs (`no_run`: they need a
/// real org or server).
#[cfg(doctest)]
pub mod readme_examples {
    #[doc = include_str!("../../README.md")]
    pub struct Workspace;
    #[doc = include_str!("../../crates/retry-policy/README.md")]
    pub struct RetryPolicy;
    #[doc = include_str!("../../crates/genesys-auth/README.md")]
    pub struct GenesysAuth;
    #[doc = include_str!("../../crates/genesys-messaging/README.md")]
    pub struct GenesysMessaging;
    #[doc = include_str!("../../crates/genesys-analytics/README.md")]
    pub struct GenesysAnalytics;
    #[doc = include_str!("../../crates/sqs-dlq/README.md")]
    pub struct SqsDlq;
    #[doc = include_str!("../../crates/genesys-sim/README.md")]
    pub struct GenesysSim;
}
