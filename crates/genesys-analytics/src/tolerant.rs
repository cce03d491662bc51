//! Enums that never fail a page: every wire enum has an `Unknown(String)` variant that keeps
//! the value the platform sent (the platform adds values as it grows).
//!
//! Matching is case-insensitive (`"Inbound"` and `"inbound"` are the same variant); a known
//! value serializes back in its canonical wire spelling, an unknown one exactly as received.

/// Declares a wire enum with an `Unknown(String)` variant, `as_str`, `From<&str>`,
/// `Display`, and string (de)serialization.
macro_rules! tolerant_enum {
    (
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
            /// A value this crate does not know yet, kept exactly as the platform sent it.
            Unknown(String),
        }

        impl $name {
            /// The value as it goes on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )+
                    Self::Unknown(other) => other.as_str(),
                }
            }

            /// Whether this is a value this crate does not know.
            pub fn is_unknown(&self) -> bool {
                matches!(self, Self::Unknown(_))
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                $( if value.eq_ignore_ascii_case($wire) { return Self::$variant; } )+
                Self::Unknown(value.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                match Self::from(value.as_str()) {
                    Self::Unknown(_) => Self::Unknown(value),
                    known => known,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = String::deserialize(deserializer)?;
                Ok(Self::from(value))
            }
        }
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
