//! Genesys Cloud web messaging on top of [`genesys_auth::GenesysClient`]: a concurrent,
//! validated, deduplicated history export; SSRF-safe media checks; archive sinks; and a paced
//! message sender.
//!
//! ```no_run
//! use genesys_messaging::archive::WebhookArchive;
//! use genesys_messaging::history::{GuestSession, HistoryExport};
//! use genesys_messaging::media::MediaVerifier;
//! use genesys_messaging::MessageType;
//!
//! # async fn demo(client: genesys_auth::GenesysClient, jwt: String) -> Result<(), Box<dyn std::error::Error>> {
//! let source = GuestSession::new(&client, jwt.into(), "conversation-id");
//! let export = HistoryExport::builder(source)
//!     .page_size(100)
//!     .concurrency(8)
//!     .message_types([MessageType::Text, MessageType::Structured])
//!     .media_verifier(MediaVerifier::builder().build()?)
//!     .build()?; // page size etc. are checked here, before any request
//! let archive = WebhookArchive::builder("https://archive.example.com/genesys")
//!     .secret("hmac-secret".to_owned().into())
//!     .build()?;
//! let report = export.archive(&archive, 500).await?;
//! println!("{} messages, {} duplicates dropped", report.yielded, report.duplicates);
//! # Ok(()) }
//! ```
//!
//! # What is here
//! - [`models`]: [`WebMessagingMessage`] (time in `channel.time`, `content[]`, events,
//!   receipts) and [`MessageData`]; every enum keeps unknown values (`Unknown(raw)`), every
//!   struct keeps unknown fields, so a newer platform never fails a page.
//! - [`history`]: [`history::HistoryExport`] over a [`history::GuestSession`] (guest JWT) or a
//!   [`history::ConversationHistory`] (OAuth: message ids, then bulk in chunks of ≤ 1,000).
//!   Page 1 gives `pageCount`; pages 2..n are fetched concurrently under the client's shared
//!   pacer and yielded **in order** as a `Stream`. Each message is decoded on its own (a bad one
//!   is reported and skipped), deduplicated in bounded memory, checked for order, filtered.
//!   A [`history::HistoryReport`] says what happened.
//! - [`media`]: [`media::MediaVerifier`]: https only, host allowlist, no internal addresses
//!   (checked on the address actually connected to and on every redirect hop), signed-URL
//!   expiry read from the URL, HEAD / ranged GET with a short timeout.
//! - [`archive`]: the [`archive::ArchiveSink`] trait, [`archive::WebhookArchive`] (idempotency
//!   key, HMAC signature, retries via `retry-policy`, a failed batch returned to the caller) and
//!   [`archive::JsonLinesFile`].
//! - `guest` (feature `guest-ws`): `guest::GuestSession`, a guest over the web messaging
//!   WebSocket (typed frames, heartbeats, JWT kept fresh, resume after a dropped connection).
//! - [`sender`]: [`sender::MessageSender`]: bounded queue, N workers sharing the org pacer,
//!   per-conversation order even across retries, an outcome per message, text limits checked
//!   before sending. Agent sends, open messaging inbound (`OpenInboundNormalizedMessage`) and
//!   agentless sends; [`sender::agent_communication_id`] finds the communication an agent send
//!   needs. A send is retried only when it provably did not happen (429, refused connection):
//!   otherwise it ends with [`MessagingError::OutcomeUnknown`] unless the caller opts in, as
//!   the platform has no idempotency key for sends.
//!
//! # Duplicates in bounded memory
//! The export remembers only the last `W` ids (default `page_size × (concurrency + 2)`, at
//! least 1,024). That is enough because pages are handed on in page order and paging is by
//! offset: a message is served twice only when the listing shifts between two page fetches,
//! and then its second appearance is at most as many positions later as messages were
//! added or removed meanwhile. The report's `total_changes` tells when the listing moved.
//!
//! # What it does not do
//! - No retry loops, authentication or rate limiting of its own: every Genesys call goes through
//!   `GenesysClient` (pacer, bearer, retries, typed errors). The one addition: an answer that
//!   arrived whole but does not parse (a truncated body) is fetched again through
//!   `retry_policy::retry_with` under the client's own policy.
//! - The guest WebSocket is optional (feature `guest-ws`, on by default): without it, get the
//!   guest JWT yourself and pass it to [`history::GuestSession`].
//! - No full sort of an export (that needs the whole export in memory): a bounded sort window.
//! - No download or storage of media: the verifier only checks that a URL is safe and alive.

pub mod archive;
pub mod endpoints;
mod error;
#[cfg(feature = "guest-ws")]
pub mod guest;
pub mod history;
pub mod media;
pub mod models;
mod send_body;
pub mod sender;

pub use error::MessagingError;
pub use models::*;
