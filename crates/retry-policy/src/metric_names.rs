//! The names of the metrics this crate emits through the [`metrics`] facade. The crate installs
//! no recorder and no exporter: the application picks one (the recipes serve Prometheus text).
//! The workspace README has the table of every name, unit and attribute.

/// Gauge: the pace in force, requests a second (not set for an unlimited pacer).
pub const PACER_RATE: &str = "genesys.pacer.rate";
/// Gauge, attribute `source` (`configured`, `headers`, `aimd`, `unlimited`): 1 for the source of
/// the pace in force, 0 for the others.
pub const PACER_RATE_SOURCE: &str = "genesys.pacer.rate_source";
/// Histogram, seconds: the wait the pacer added to one acquire (only acquires that waited).
pub const PACER_WAIT_DURATION: &str = "genesys.pacer.wait.duration";
/// Counter: 429s reported to a pacer.
pub const PACER_RATE_LIMITED: &str = "genesys.pacer.rate_limited";
/// Counter: retries a [`RetryPolicy`](crate::RetryPolicy) granted.
pub const RETRIES: &str = "genesys.retries";
/// Counter, attribute `reason` (`max_attempts`, `max_elapsed`, `budget_exhausted`,
/// `retry_after_too_long`): retryable failures a policy refused to retry.
pub const GIVE_UPS: &str = "genesys.give_ups";
/// Gauge: tokens left in a [`RetryBudget`](crate::RetryBudget) (set when it changes).
pub const RETRY_BUDGET_TOKENS: &str = "genesys.retry_budget.tokens";
