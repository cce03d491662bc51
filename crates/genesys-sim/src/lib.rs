//! A simulated Genesys Cloud org, as a library and a binary, for tests, recipes and benchmarks.
//!
//! It is the other side of the wire: its models are written from the platform's documented
//! payloads on their own (this crate depends on no other crate of the workspace), so a bug shared
//! with a client cannot make both sides agree.
//!
//! ```no_run
//! use std::time::Duration;
//! use genesys_sim::{Faults, SimOrg};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let sim = SimOrg::builder()
//!     .seed(42)
//!     .conversations(5)
//!     .messages_per_conversation(200)
//!     .rate_limit(50.0, 10)
//!     .faults(Faults { server_errors: 0.05, ..Faults::default() })
//!     .start()
//!     .await?;
//! let conversation = &sim.conversations()[0];
//! let page: serde_json::Value = reqwest::Client::new()
//!     .get(format!("{}/api/v2/webmessaging/messages?pageSize=100", sim.base_url()))
//!     .bearer_auth(&conversation.guest_jwt)
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! assert_eq!(page["total"], 200);
//! println!("{} requests so far", sim.stats().total_requests);
//! # Ok(()) }
//! ```
//!
//! # What it serves
//! - `POST /oauth/token` (Basic auth client credentials; login base = API base).
//! - `GET /api/v2/webmessaging/messages` (guest JWT; newest first by default, see
//!   [`HistoryOrder`]).
//! - `GET /api/v2/conversations/{conversationId}` (the generic `Conversation`: its message
//!   communications carry the `communicationId`).
//! - `GET /api/v2/conversations/messages/{conversationId}`, `POST …/{conversationId}/messages/bulk`,
//!   `POST …/{conversationId}/communications/{communicationId}/messages`,
//!   `POST …/{integrationId}/inbound/open/message` (`prefetchConversationId`),
//!   `POST /api/v2/conversations/messages/agentless`.
//! - `POST /api/v2/analytics/conversations/details/query`, `GET /api/v2/analytics/conversations/{id}/details`,
//!   the details jobs API with `GET …/details/jobs/availability`.
//! - Attachment URLs under `/__media/…` (HEAD/GET), and `GET /__sim/stats`.
//!
//! Every `/api` and `/oauth` answer carries `ININ-Correlation-Id` and `inin-ratelimit-allowed`,
//! `-count`, `-reset`, as the [`LimitModel`] in force describes them (by default a fixed 60 s
//! window whose `allowed` is the configured rate × 60, or 1,000,000 without a limit). Errors use the Genesys body `{message, code, status, contextId, details,
//! errors}`, with `contextId` = the correlation id.
//!
//! # Traffic capture
//! With [`CAPTURE_DIR_ENV`] (`GENESYS_SIM_CAPTURE_DIR`) set, every `/api` exchange is appended
//! to a JSONL file of that directory (one per process): what `scripts/contract-check` validates
//! against the official SDK's models.
//!
//! # What it does not do
//! No WebSocket guest sessions (the guest JWTs are handed out by the handle), no notifications,
//! no TLS, no persistence, no permissions model beyond "a valid token", HTTP/1.1 only.

mod builder;
mod capture;
mod config;
mod conn;
mod dataset;
mod error;
mod ids;
mod job;
mod limits;
mod pipeline;
mod ratelimit;
mod routes;
mod server;
mod state;
mod stats;
mod sync;

pub use builder::SimOrgBuilder;
pub use capture::CAPTURE_DIR_ENV;
pub use config::{Faults, HistoryOrder};
pub use dataset::SimConversation;
pub use error::SimError;
pub use limits::{BucketHeaders, LimitModel};
pub use routes::analytics::FAIL_JOB_VALUE;
pub use server::SimOrg;
pub use stats::{FaultCounts, SentMessage, SimStats};
