//! Media checks: is an attachment URL safe to touch, and does it still work?

mod address;
mod expiry;

pub use address::{AddressRange, check_address, special_range};
pub use expiry::signed_url_expiry;
