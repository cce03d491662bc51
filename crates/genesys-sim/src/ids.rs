//! Deterministic, reversible ids.
//!
//! Every id the sim hands out is a UUID (version 4 layout) that carries the indices it was made
//! from plus a keyed check: `bytes[0..4]` = first index, `bytes[10..14]` = second index, the rest a
//! hash of `(seed, kind, indices)` with the version and variant bits set. So a message id turns back
//! into `(conversation, message)` in O(1) without storing a million ids, and an id that was not
//! issued by this seed fails the check.

/// What an id names; part of the keyed check, so a message id is never accepted as a conversation id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IdKind {
    Conversation = 1,
    Message = 2,
    Communication = 3,
    Integration = 4,
    CustomerParticipant = 5,
    AgentParticipant = 6,
    BotParticipant = 7,
    Attachment = 8,
    CustomerSession = 9,
    BotSession = 10,
    Division = 11,
    AgentUser = 12,
}

/// SplitMix64 finaliser: a fast, well-mixed 64-bit hash step.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash of a seed and a few parts.
pub(crate) fn hash(seed: u64, parts: &[u64]) -> u64 {
    let mut h = mix(seed);
    for p in parts {
        h = mix(h ^ p.wrapping_mul(0xA24B_AED4_963E_E407));
    }
    h
}

/// Makes the id of `kind` for indices `(a, b)`.
pub(crate) fn make_id(seed: u64, kind: IdKind, a: u32, b: u32) -> String {
    uuid::Uuid::from_bytes(id_bytes(seed, kind, a, b))
        .hyphenated()
        .to_string()
}

fn id_bytes(seed: u64, kind: IdKind, a: u32, b: u32) -> [u8; 16] {
    let h = hash(seed, &[kind as u64, u64::from(a), u64::from(b)]).to_be_bytes();
    let mut bytes = [0u8; 16];
    bytes[0..4].copy_from_slice(&a.to_be_bytes());
    bytes[4..10].copy_from_slice(&h[0..6]);
    bytes[10..14].copy_from_slice(&b.to_be_bytes());
    bytes[14..16].copy_from_slice(&h[6..8]);
    bytes[6] = (bytes[6] & 0x0F) | 0x40;
    bytes[8] = (bytes[8] & 0x3F) | 0x80;
    bytes
}

/// Turns an id back into its indices, if this seed issued it for `kind`.
pub(crate) fn parse_id(seed: u64, kind: IdKind, id: &str) -> Option<(u32, u32)> {
    let uuid = uuid::Uuid::parse_str(id).ok()?;
    let bytes = uuid.as_bytes();
    let a = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let b = u32::from_be_bytes([bytes[10], bytes[11], bytes[12], bytes[13]]);
    (id_bytes(seed, kind, a, b) == *bytes).then_some((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_are_kind_checked() {
        let id = make_id(7, IdKind::Message, 12, 345_678);
        assert_eq!(parse_id(7, IdKind::Message, &id), Some((12, 345_678)));
        assert_eq!(parse_id(7, IdKind::Conversation, &id), None);
        assert_eq!(parse_id(8, IdKind::Message, &id), None);
        assert_eq!(parse_id(7, IdKind::Message, "not-a-uuid"), None);
        let parsed = uuid::Uuid::parse_str(&id).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
    }

    #[test]
    fn ids_differ_across_indices() {
        assert_ne!(
            make_id(1, IdKind::Message, 0, 1),
            make_id(1, IdKind::Message, 1, 0)
        );
    }
}
