//! `__wire_enum!`: the one implementation of the Genesys crates' string enums that never fail
//! to decode. Internal: `genesys-messaging` and `genesys-analytics` wrap it in their own
//! macros; it is not part of this crate's API and may change in any release.
//!
//! The platform adds enum values as it grows, so each generated enum has its known variants
//! plus `Unknown(String)`, which keeps the raw wire value so it serializes back unchanged. The
//! crates differ in one deliberate way, chosen by the caller with `match = ...;`:
//! - `exact`: only the canonical spelling is a known variant, so every value round-trips byte
//!   for byte (web messaging models);
//! - `ascii_case_insensitive`: `"Inbound"` and `"inbound"` are the same variant, which
//!   serializes back in its canonical spelling (analytics, whose API is loose about case).

/// Declares a string enum with known variants and an `Unknown(String)` fallback, with serde,
/// `as_str`, `is_unknown`, `Display` and `From<&str>` / `From<String>`. Internal to the
/// Genesys crates (see the `wire_enum` module); not a stable API.
#[doc(hidden)]
#[macro_export]
macro_rules! __wire_enum {
    (@matches exact, $value:expr, $wire:literal) => {
        $value == $wire
    };
    (@matches ascii_case_insensitive, $value:expr, $wire:literal) => {
        $value.eq_ignore_ascii_case($wire)
    };
    (
        match = $mode:ident;
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this crate does not know yet, kept exactly as it was received.
            Unknown(String),
        }

        impl $name {
            /// Every known wire value, in declaration order (what a contract check compares
            /// with the platform's own list).
            pub const WIRE_VALUES: &'static [&'static str] = &[$($wire),+];

            /// The value as it goes on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )+
                    Self::Unknown(raw) => raw.as_str(),
                }
            }

            /// Whether this is a value this crate does not know.
            pub fn is_unknown(&self) -> bool {
                matches!(self, Self::Unknown(_))
            }

            fn known(raw: &str) -> ::core::option::Option<Self> {
                $(
                    if $crate::__wire_enum!(@matches $mode, raw, $wire) {
                        return ::core::option::Option::Some(Self::$variant);
                    }
                )+
                ::core::option::Option::None
            }
        }

        impl ::core::convert::From<&str> for $name {
            fn from(raw: &str) -> Self {
                Self::known(raw).unwrap_or_else(|| Self::Unknown(raw.to_owned()))
            }
        }

        impl ::core::convert::From<::std::string::String> for $name {
            fn from(raw: ::std::string::String) -> Self {
                Self::known(&raw).unwrap_or(Self::Unknown(raw))
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::__private::serde::Serialize for $name {
            fn serialize<S>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error>
            where
                S: $crate::__private::serde::Serializer,
            {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::__private::serde::Deserialize<'de> for $name {
            fn deserialize<D>(deserializer: D) -> ::core::result::Result<Self, D::Error>
            where
                D: $crate::__private::serde::Deserializer<'de>,
            {
                let raw: ::std::string::String =
                    $crate::__private::serde::Deserialize::deserialize(deserializer)?;
                ::core::result::Result::Ok(Self::from(raw))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::__wire_enum! {
        match = exact;
        /// An exact test enum.
        pub enum Exact {
            /// dark blue
            DarkBlue => "darkBlue",
        }
    }

    crate::__wire_enum! {
        match = ascii_case_insensitive;
        /// A case-insensitive test enum.
        pub enum Loose {
            /// red
            Red => "red",
            /// dark blue
            DarkBlue => "darkBlue",
        }
    }

    #[test]
    fn exact_matching_keeps_other_spellings_verbatim() {
        assert_eq!(Exact::from("darkBlue"), Exact::DarkBlue);
        let other: Exact = serde_json::from_str("\"DARKBLUE\"").unwrap();
        assert_eq!(other, Exact::Unknown("DARKBLUE".into()));
        assert!(other.is_unknown());
        assert_eq!(serde_json::to_string(&other).unwrap(), "\"DARKBLUE\"");
    }

    #[test]
    fn case_insensitive_matching_serializes_the_canonical_spelling() {
        let c: Loose = serde_json::from_str("\"DARKBLUE\"").unwrap();
        assert_eq!(c, Loose::DarkBlue);
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"darkBlue\"");
        assert_eq!(Loose::from("Red".to_owned()), Loose::Red);
        assert!(!Loose::Red.is_unknown());
    }

    #[test]
    fn unknown_values_are_kept_verbatim_from_str_and_string() {
        assert_eq!(
            Loose::from("Ultra Violet"),
            Loose::Unknown("Ultra Violet".into())
        );
        let c = Loose::from("Ultra Violet".to_owned());
        assert!(c.is_unknown());
        assert_eq!(c.to_string(), "Ultra Violet");
        assert_eq!(c.as_str(), "Ultra Violet");
    }

    #[test]
    fn wire_values_list_every_known_value_in_order() {
        assert_eq!(Exact::WIRE_VALUES, ["darkBlue"]);
        assert_eq!(Loose::WIRE_VALUES, ["red", "darkBlue"]);
    }

    #[test]
    fn non_string_values_are_errors_not_panics() {
        assert!(serde_json::from_str::<Exact>("3").is_err());
        assert!(serde_json::from_str::<Loose>("null").is_err());
        assert!(serde_json::from_str::<Loose>("{}").is_err());
    }
}
