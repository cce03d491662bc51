//! Which IP addresses a media check may connect to.
//!
//! Attachment URLs come from guests. A URL that points inside the network (the cloud metadata
//! service at 169.254.169.254, a database on 10.x, the host itself) must never be fetched. This
//! module classifies an address into the special-purpose ranges of RFC 6890 and friends; every
//! range other than ordinary global unicast is refused. IPv6 forms that embed an IPv4 address
//! (IPv4-mapped, IPv4-compatible, NAT64, 6to4) are judged by the embedded address.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The special-purpose range an address fell in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AddressRange {
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// 10/8, 172.16/12, 192.168/16.
    Private,
    /// 169.254/16 (incl. the metadata service 169.254.169.254), fe80::/10.
    LinkLocal,
    /// fc00::/7, and the deprecated site-local fec0::/10.
    UniqueLocal,
    /// 0.0.0.0/8, ::.
    Unspecified,
    /// 255.255.255.255.
    Broadcast,
    /// 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32.
    Documentation,
    /// 100.64/10 (carrier-grade NAT).
    SharedCgnat,
    /// 198.18/15 (benchmarking).
    Benchmarking,
    /// 224/4, ff00::/8.
    Multicast,
    /// 240/4, 192.0.0/24, Teredo 2001::/32 and other reserved blocks.
    Reserved,
}

impl fmt::Display for AddressRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::LinkLocal => "link-local",
            Self::UniqueLocal => "unique-local",
            Self::Unspecified => "unspecified",
            Self::Broadcast => "broadcast",
            Self::Documentation => "documentation",
            Self::SharedCgnat => "shared (CGNAT)",
            Self::Benchmarking => "benchmarking",
            Self::Multicast => "multicast",
            Self::Reserved => "reserved",
        })
    }
}

/// The special range `ip` belongs to, or `None` for an ordinary global unicast address.
pub fn special_range(ip: IpAddr) -> Option<AddressRange> {
    match ip {
        IpAddr::V4(v4) => v4_range(v4),
        IpAddr::V6(v6) => v6_range(v6),
    }
}

/// Whether a connection to `ip` is allowed; loopback only when `allow_loopback`.
pub fn check_address(ip: IpAddr, allow_loopback: bool) -> Result<(), AddressRange> {
    match special_range(ip) {
        None => Ok(()),
        Some(AddressRange::Loopback) if allow_loopback => Ok(()),
        Some(range) => Err(range),
    }
}

fn v4_range(ip: Ipv4Addr) -> Option<AddressRange> {
    let [a, b, c, _] = ip.octets();
    let range = match (a, b, c) {
        (127, _, _) => AddressRange::Loopback,
        (10, _, _) => AddressRange::Private,
        (172, 16..=31, _) => AddressRange::Private,
        (192, 168, _) => AddressRange::Private,
        (169, 254, _) => AddressRange::LinkLocal,
        (0, _, _) => AddressRange::Unspecified,
        (100, 64..=127, _) => AddressRange::SharedCgnat,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => AddressRange::Documentation,
        (198, 18..=19, _) => AddressRange::Benchmarking,
        (192, 0, 0) => AddressRange::Reserved,
        (224..=239, _, _) => AddressRange::Multicast,
        _ if ip == Ipv4Addr::BROADCAST => AddressRange::Broadcast,
        (240..=255, _, _) => AddressRange::Reserved,
        _ => return None,
    };
    Some(range)
}

fn v6_range(ip: Ipv6Addr) -> Option<AddressRange> {
    let seg = ip.segments();
    if ip.is_unspecified() {
        return Some(AddressRange::Unspecified);
    }
    if ip.is_loopback() {
        return Some(AddressRange::Loopback);
    }
    // ::ffff:a.b.c.d (IPv4-mapped) and ::a.b.c.d (IPv4-compatible, deprecated).
    if let Some(v4) = ip.to_ipv4() {
        return v4_range(v4).or(Some(AddressRange::Reserved).filter(|_| seg[5] != 0xffff));
    }
    // 64:ff9b::/96 (NAT64): the embedded IPv4 address decides.
    if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6] == [0, 0, 0, 0] {
        return v4_range(embedded_v4(seg[6], seg[7]));
    }
    // 2002::/16 (6to4): the embedded IPv4 address decides.
    if seg[0] == 0x2002 {
        return v4_range(embedded_v4(seg[1], seg[2]));
    }
    let range = match seg[0] {
        0xfe80..=0xfebf => AddressRange::LinkLocal,
        0xfec0..=0xfeff => AddressRange::UniqueLocal,
        0xfc00..=0xfdff => AddressRange::UniqueLocal,
        0xff00..=0xffff => AddressRange::Multicast,
        0x2001 if seg[1] == 0x0db8 => AddressRange::Documentation,
        0x2001 if seg[1] == 0 => AddressRange::Reserved, // Teredo tunnels to arbitrary v4
        0x0100 if seg[1..4] == [0, 0, 0] => AddressRange::Reserved, // discard-only 100::/64
        _ => return None,
    };
    Some(range)
}

fn embedded_v4(hi: u16, lo: u16) -> Ipv4Addr {
    let [a, b] = hi.to_be_bytes();
    let [c, d] = lo.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(s: &str) -> Option<AddressRange> {
        special_range(s.parse().unwrap())
    }

    #[test]
    fn v4_special_ranges() {
        assert_eq!(range("127.0.0.1"), Some(AddressRange::Loopback));
        assert_eq!(range("127.255.0.9"), Some(AddressRange::Loopback));
        assert_eq!(range("10.0.0.1"), Some(AddressRange::Private));
        assert_eq!(range("172.16.0.1"), Some(AddressRange::Private));
        assert_eq!(range("172.31.255.255"), Some(AddressRange::Private));
        assert_eq!(range("192.168.1.1"), Some(AddressRange::Private));
        assert_eq!(range("169.254.169.254"), Some(AddressRange::LinkLocal));
        assert_eq!(range("0.0.0.0"), Some(AddressRange::Unspecified));
        assert_eq!(range("255.255.255.255"), Some(AddressRange::Broadcast));
        assert_eq!(range("192.0.2.7"), Some(AddressRange::Documentation));
        assert_eq!(range("198.51.100.7"), Some(AddressRange::Documentation));
        assert_eq!(range("203.0.113.7"), Some(AddressRange::Documentation));
        assert_eq!(range("100.64.0.1"), Some(AddressRange::SharedCgnat));
        assert_eq!(range("100.127.255.254"), Some(AddressRange::SharedCgnat));
        assert_eq!(range("198.18.0.1"), Some(AddressRange::Benchmarking));
        assert_eq!(range("224.0.0.1"), Some(AddressRange::Multicast));
        assert_eq!(range("240.0.0.1"), Some(AddressRange::Reserved));
    }

    #[test]
    fn v4_public_addresses_pass() {
        for ip in [
            "8.8.8.8",
            "172.15.0.1",
            "172.32.0.1",
            "100.63.0.1",
            "100.128.0.1",
            "1.1.1.1",
            "52.95.110.1",
        ] {
            assert_eq!(range(ip), None, "{ip}");
        }
    }

    #[test]
    fn v6_special_ranges() {
        assert_eq!(range("::1"), Some(AddressRange::Loopback));
        assert_eq!(range("::"), Some(AddressRange::Unspecified));
        assert_eq!(range("fe80::1"), Some(AddressRange::LinkLocal));
        assert_eq!(range("fc00::1"), Some(AddressRange::UniqueLocal));
        assert_eq!(range("fd12:3456::1"), Some(AddressRange::UniqueLocal));
        assert_eq!(range("fec0::1"), Some(AddressRange::UniqueLocal));
        assert_eq!(range("ff02::1"), Some(AddressRange::Multicast));
        assert_eq!(range("2001:db8::1"), Some(AddressRange::Documentation));
        assert_eq!(range("2001:0:4136::1"), Some(AddressRange::Reserved));
    }

    #[test]
    fn v6_forms_embedding_v4_are_judged_by_the_v4_address() {
        assert_eq!(range("::ffff:127.0.0.1"), Some(AddressRange::Loopback));
        assert_eq!(range("::ffff:10.0.0.1"), Some(AddressRange::Private));
        assert_eq!(
            range("::ffff:169.254.169.254"),
            Some(AddressRange::LinkLocal)
        );
        assert_eq!(range("::ffff:8.8.8.8"), None);
        assert_eq!(range("::10.0.0.1"), Some(AddressRange::Private));
        assert_eq!(range("::8.8.8.8"), Some(AddressRange::Reserved));
        assert_eq!(range("64:ff9b::a00:1"), Some(AddressRange::Private));
        assert_eq!(range("64:ff9b::808:808"), None);
        assert_eq!(range("2002:a9fe:a9fe::1"), Some(AddressRange::LinkLocal));
        assert_eq!(range("2606:4700::1111"), None);
    }

    #[test]
    fn loopback_only_with_opt_in() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(check_address(lo, false), Err(AddressRange::Loopback));
        assert_eq!(check_address(lo, true), Ok(()));
        let v6lo: IpAddr = "::1".parse().unwrap();
        assert_eq!(check_address(v6lo, true), Ok(()));
        let private: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(check_address(private, true), Err(AddressRange::Private));
    }
}
