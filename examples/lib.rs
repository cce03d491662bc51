//! Shared plumbing for the recipes in this package (`cargo run --example NAME`).
//!
//! The recipes themselves are the `[[example]]` targets next to this file; each is a thin
//! binary that composes the toolkit crates. What they share lives here:
//!
//! - [`cli`]: the common flags (`--sim`, `--log-format`) and report format.
//! - [`logging`]: tracing-subscriber set-up (`RUST_LOG`, text or JSON on stderr).
//! - [`mode`]: "real service or embedded simulator": `GENESYSCLOUD_*` set → Genesys Cloud,
//!   else a [`genesys_sim::SimOrg`] (the first stderr line says which; `--sim` forces it).
//! - [`queues`]: `--queue-url` → [`sqs_dlq::queue::SqsQueue`] from the AWS config chain, else a
//!   [`sqs_dlq::queue::MemoryQueue`].
//! - [`conversation_test`]: scripted web messaging conversations (`web-messaging-test`).
//! - [`dead_letters`]: EventBridge-shaped dead letters of every failure family.
//! - [`http_server`]: sqs-dlq's hardened HTTP server with its flags, stopped on signals.
//! - [`servers`]: the local HTTP peers the recipes start (replay target, archive receiver).
//! - [`outbound`]: the webhook consumer's sample handler and its durable JSON-lines writer.
//! - [`sinks`]: an archive sink that writes to several sinks.
//! - [`fleet`]: `--redis-url` (env `REDIS_URL`): one pace (and idempotency store) per fleet.
//! - [`guest`]: a web messaging guest session on a deployment or on the embedded simulator.
//! - [`history`]: the history export of `history-export` and `quickstart`.
//! - [`progress`]: indicatif bars, only when stderr is a terminal.
//! - [`reports`]: the `--report json` documents of the recipes (a stable contract).
//! - [`exit`]: a one-line reason and a non-zero exit status on failure.
//! - [`shutdown`]: Ctrl-C / SIGTERM.
//! - [`telemetry`]: the Prometheus recorder, `--metrics-listen`, the metric summary at exit.

#[path = "common/cli.rs"]
pub mod cli;
#[path = "common/conversation_test.rs"]
pub mod conversation_test;
#[path = "common/dead_letters.rs"]
pub mod dead_letters;
#[path = "common/exit.rs"]
pub mod exit;
#[path = "common/fleet.rs"]
pub mod fleet;
#[path = "common/guest.rs"]
pub mod guest;
#[path = "common/history.rs"]
pub mod history;
#[path = "common/http_server.rs"]
pub mod http_server;
#[path = "common/logging.rs"]
pub mod logging;
#[path = "common/mode.rs"]
pub mod mode;
#[path = "common/outbound.rs"]
pub mod outbound;
#[path = "common/progress.rs"]
pub mod progress;
#[path = "common/queues.rs"]
pub mod queues;
#[path = "common/reports.rs"]
pub mod reports;
#[path = "common/servers.rs"]
pub mod servers;
#[path = "common/shutdown.rs"]
pub mod shutdown;
#[path = "common/telemetry.rs"]
pub mod telemetry;
