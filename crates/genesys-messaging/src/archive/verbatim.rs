//! [`Verbatim`]: a message with the exact bytes it arrived as.

use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

/// A JSON message as it was received: `parsed` for the caller's logic, and the bytes, which is
/// what it serializes to (unchanged: big integers, `1e-400`, duplicate keys, spacing), so an
/// archive sink stores the body exactly as received.
///
/// ```
/// use genesys_messaging::archive::Verbatim;
/// let raw = r#"{"id":"m1","n":123456789012345678901234567890}"#;
/// let m = Verbatim::<serde_json::Value>::from_json(raw)?;
/// assert_eq!(m.parsed()["id"], "m1");
/// assert_eq!(serde_json::to_string(&m)?, raw);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Verbatim<M> {
    parsed: M,
    raw: Box<RawValue>,
}

impl<M: DeserializeOwned> Verbatim<M> {
    /// Parses `text` (one JSON value) into `M`, keeping `text` itself.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        let raw = RawValue::from_string(text.to_owned())?;
        let parsed = serde_json::from_str(raw.get())?;
        Ok(Self { parsed, raw })
    }
}

impl<M> Verbatim<M> {
    /// The parsed form (numbers may be rounded and repeated keys merged here).
    pub fn parsed(&self) -> &M {
        &self.parsed
    }

    /// The bytes as received.
    pub fn raw(&self) -> &str {
        self.raw.get()
    }
}

impl<M> Serialize for Verbatim<M> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A big integer, a float below `f64`'s range, a repeated key, odd spacing and an escape:
    /// every one of them changes when parsed into a `Value` and written again.
    pub(crate) const HOSTILE_NUMBERS: &str = r#"{"id":"m1","big":123456789012345678901234567890,"tiny":1e-400,"dup":1,"dup":2,  "e":"\u00e9"}"#;

    #[test]
    fn a_value_round_trip_changes_these_bytes() {
        let v: serde_json::Value = serde_json::from_str(HOSTILE_NUMBERS).unwrap();
        assert_ne!(v.to_string(), HOSTILE_NUMBERS);
    }

    #[test]
    fn verbatim_serializes_to_the_bytes_received() {
        let m = Verbatim::<serde_json::Value>::from_json(HOSTILE_NUMBERS).unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), HOSTILE_NUMBERS);
        assert_eq!(m.raw(), HOSTILE_NUMBERS);
        assert_eq!(m.parsed()["dup"], 2);
        assert!(Verbatim::<serde_json::Value>::from_json("{").is_err());
    }
}
