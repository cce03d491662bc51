//! Enums that never fail a page: every wire enum has an `Unknown(String)` variant that keeps
//! the value the platform sent (the platform adds values as it grows).
//!
//! Matching is case-insensitive (`"Inbound"` and `"inbound"` are the same variant); a known
//! value serializes back in its canonical wire spelling, an unknown one exactly as received.

/// Declares a wire enum with an `Unknown(String)` variant, `as_str`, `From<&str>`,
/// `Display`, and string (de)serialization, matching known values case-insensitively.
///
/// The code is `genesys_auth::__wire_enum!`, shared with `genesys-messaging`'s `open_enum!`;
/// the two differ only in matching: that crate's web messaging values must round-trip byte for
/// byte, so it matches exactly (and adds `FromStr`), while this crate accepts any case.
macro_rules! tolerant_enum {
    ($($enum:tt)+) => {
        genesys_auth::__wire_enum! { match = ascii_case_insensitive; $($enum)+ }
    };
}

pub(crate) use tolerant_enum;

#[cfg(test)]
mod tests {
    tolerant_enum! {
        /// A test enum.
        pub enum Colour {
            /// red
            Red => "red",
            /// dark blue
            DarkBlue => "darkBlue",
        }
    }

    #[test]
    fn known_values_match_case_insensitively_and_serialize_canonically() {
        let c: Colour = serde_json::from_str("\"DARKBLUE\"").unwrap();
        assert_eq!(c, Colour::DarkBlue);
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"darkBlue\"");
        assert_eq!(Colour::from("Red"), Colour::Red);
        assert!(!Colour::Red.is_unknown());
    }

    #[test]
    fn unknown_values_are_kept_verbatim() {
        let c: Colour = serde_json::from_str("\"Ultra Violet\"").unwrap();
        assert_eq!(c, Colour::Unknown("Ultra Violet".into()));
        assert!(c.is_unknown());
        assert_eq!(c.to_string(), "Ultra Violet");
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"Ultra Violet\"");
    }

    #[test]
    fn non_string_values_are_errors_not_panics() {
        assert!(serde_json::from_str::<Colour>("3").is_err());
        assert!(serde_json::from_str::<Colour>("null").is_err());
        assert!(serde_json::from_str::<Colour>("{}").is_err());
    }
}
