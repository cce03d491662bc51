//! The guest side of web messaging over its WebSocket (feature `guest-ws`, on by default):
//! [`GuestSession`] opens `wss://webmessaging.<env>/v1?deploymentId=…`, configures a session,
//! sends messages, reads typed frames, keeps the session alive and gets the JWT that the guest
//! history API takes.
//!
//! ```no_run
//! use genesys_auth::Region;
//! use genesys_messaging::guest::{GuestConfig, GuestEvent, GuestSession};
//!
//! # async fn demo() -> Result<(), genesys_messaging::guest::GuestError> {
//! let config = GuestConfig::builder("my-deployment-id").region(&Region::EuWest1).build()?;
//! let mut session = GuestSession::connect(config).await?;
//! session.send_text("hello").await?;
//! while let Some(event) = session.next_event().await {
//!     match event {
//!         Ok(GuestEvent::Message { message, .. }) => println!("{:?}", message.text),
//!         Ok(_) => {}
//!         Err(e) => eprintln!("skipped: {e}"), // a frame that could not be read
//!     }
//! #   break;
//! }
//! let jwt = session.jwt().await?; // for the guest history API
//! # let _ = jwt;
//! session.close().await
//! # }
//! ```
//!
//! # Protocol facts, and where they come from
//! See the crate README's "Guest WebSocket: confirmed and assumed". In short: the URL form,
//! action names (`configureSession`, `onMessage`, `echo`, `getJwt`, `closeSession`) and frame
//! classes are those of Genesys' web messaging SDKs; the size limits, heartbeat cadence and JWT
//! lifetime are not published, so they are settings here, with conservative defaults.
//!
//! # What it does not do
//! - No attachment upload (`onAttachment` and the presigned URL): send ids of attachments
//!   uploaded elsewhere with [`OutgoingMessage::with_attachment`].
//! - No authenticated (OAuth) guest sessions (`configureAuthenticatedSession`).
//! - No de-duplication of a message resent after a reconnect: the platform may show it twice
//!   if its acknowledgement was lost; both copies carry the same `customMessageId`.

mod action;
mod frame;
mod session;

pub use action::{
    DEFAULT_MAX_CUSTOM_DATA_BYTES, DEFAULT_MAX_OUTBOUND_FRAME_BYTES, OutgoingMessage,
};
pub use frame::{
    DEFAULT_MAX_INBOUND_FRAME_BYTES, FrameError, FrameKind, GuestEvent, JwtIssued, ServerError,
    ServerErrorKind, SessionInfo, parse_frame,
};
pub use session::{
    GuestConfig, GuestConfigBuilder, GuestError, GuestSession, GuestStats, SessionJwt,
    region_endpoint,
};
