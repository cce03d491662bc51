//! Helpers for the cross-crate tests in `tests/tests/`.

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
