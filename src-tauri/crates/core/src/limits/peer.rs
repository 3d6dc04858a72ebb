//! Who is knocking, as the pod's limits count them. An address is not a
//! person: every address in 127.0.0.0/8 (and `::1`) reaches a loopback
//! bind, and one IPv6 host is usually given a whole /64. Counting by exact
//! address would let one machine take as many turns as it has addresses, so
//! loopback is one peer, and an IPv6 address counts as its /64.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One peer for rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Peer {
    /// Any loopback address: this machine.
    Loopback,
    /// One IPv4 address.
    V4(Ipv4Addr),
    /// An IPv6 /64 network, by its first 64 bits.
    V6Net(u64),
}

impl Peer {
    /// The peer an address belongs to.
    pub fn of(ip: IpAddr) -> Peer {
        match ip {
            IpAddr::V4(v4) => Peer::of_v4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Peer::of_v4(v4),
                None if v6.is_loopback() => Peer::Loopback,
                None => Peer::V6Net((u128::from(v6) >> 64) as u64),
            },
        }
    }

    fn of_v4(v4: Ipv4Addr) -> Peer {
        if v4.is_loopback() {
            Peer::Loopback
        } else {
            Peer::V4(v4)
        }
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Loopback => f.write_str("this machine (loopback)"),
            Peer::V4(ip) => write!(f, "{ip}"),
            Peer::V6Net(net) => {
                let base = Ipv6Addr::from(u128::from(*net) << 64);
                write!(f, "{base}/64")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(s: &str) -> Peer {
        Peer::of(s.parse().unwrap())
    }

    #[test]
    fn every_loopback_address_is_one_peer() {
        for a in [
            "127.0.0.1",
            "127.0.0.2",
            "127.255.3.9",
            "::1",
            "::ffff:127.0.0.5",
        ] {
            assert_eq!(peer(a), Peer::Loopback, "{a}");
        }
        assert_eq!(peer("127.0.0.1").to_string(), "this machine (loopback)");
    }

    #[test]
    fn an_ipv6_host_counts_as_its_slash_64() {
        assert_eq!(
            peer("2001:db8:1:2::1"),
            peer("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_ne!(peer("2001:db8:1:2::1"), peer("2001:db8:1:3::1"));
        assert_eq!(peer("2001:db8:1:2::7").to_string(), "2001:db8:1:2::/64");
    }

    #[test]
    fn ipv4_addresses_stay_apart_and_mapped_ones_are_ipv4() {
        assert_ne!(peer("192.0.2.1"), peer("192.0.2.2"));
        assert_eq!(peer("::ffff:192.0.2.1"), peer("192.0.2.1"));
    }
}
