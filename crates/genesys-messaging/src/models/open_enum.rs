//! `open_enum!`: string enums that never fail to decode.
//!
//! The platform adds enum values as it grows. Each enum generated here has its known variants
//! plus `Unknown(String)`, which keeps the raw wire value so it serializes back unchanged.

/// Declares a string enum with known variants and an `Unknown(String)` fallback, with serde,
/// `as_str`, `Display`, `From<&str>` and `FromStr`. Matching of known values is exact
/// (case-sensitive), so a value always round-trips byte for byte.
///
/// The code is `genesys_auth::__wire_enum!`, shared with `genesys-analytics`'s
/// `tolerant_enum!`, which matches case-insensitively instead; `FromStr` is added here only, as
/// this crate's public enums have always had it.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident { $($body:tt)+ }
    ) => {
        genesys_auth::__wire_enum! {
            match = exact;
            $(#[$meta])*
            $vis enum $name { $($body)+ }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                Ok(Self::from(raw))
            }
        }
    };
}

pub(crate) use open_enum;
