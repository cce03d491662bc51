//! Media checks: is an attachment URL safe to touch, and does it still work?

mod address;
mod expiry;
mod verifier;

pub use address::{AddressRange, check_address, special_range};
pub use expiry::signed_url_expiry;
pub use verifier::{
    BlockReason, ExpiryEvidence, MediaCheck, MediaStatus, MediaVerifier, MediaVerifierBuilder,
};
