//! A target given by name: resolved through the system resolver (`getaddrinfo`:
//! /etc/hosts, then whatever /etc/nsswitch.conf lists), once when the
//! target is read and, with `-r`, again before each attempt.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

/// The address family a name must resolve to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Any,
    V4,
    V6,
}

impl Family {
    /// From `-4` / `-6`.
    pub fn of(v4: bool, v6: bool) -> Family {
        match (v4, v6) {
            (true, _) => Family::V4,
            (_, true) => Family::V6,
            _ => Family::Any,
        }
    }

    fn admits(self, a: &SocketAddr) -> bool {
        match self {
            Family::Any => true,
            Family::V4 => a.is_ipv4(),
            Family::V6 => a.is_ipv6(),
        }
    }
}

/// A name to resolve again before each attempt (`-r`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolve {
    pub name: String,
    pub port: u16,
    pub family: Family,
}

/// Why a name gave no address.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("cannot resolve '{name}': {error}")]
    Lookup {
        name: String,
        #[source]
        error: io::Error,
    },
    #[error("'{name}' has no address of the asked family")]
    NoAddressOfFamily { name: String },
    /// It resolved to an address no connection can go to.
    #[error("'{name}' resolves to {addr}, {why}")]
    Unusable {
        name: String,
        addr: std::net::IpAddr,
        why: &'static str,
    },
}

/// What the first reading of a target refused (in `cmd::probe`), checked
/// again for an address a name gives later (`-r`): no broadcast,
/// multicast or unspecified address, and no link-local IPv6 address
/// without a link (`bound`: the socket is bound to an interface).
///
/// # Errors
/// [`ResolveError::Unusable`], saying why.
pub fn usable(name: &str, addr: SocketAddr, bound: bool) -> Result<SocketAddr, ResolveError> {
    let ip = addr.ip().to_canonical();
    let why = match ip {
        std::net::IpAddr::V4(v4) if v4.is_broadcast() => Some("a broadcast address"),
        ip if ip.is_multicast() => Some("a multicast address"),
        ip if ip.is_unspecified() => Some("the unspecified address"),
        std::net::IpAddr::V6(v6) if v6.is_unicast_link_local() && !bound => {
            Some("a link-local address: name the interface with -I IFACE")
        }
        _ => None,
    };
    match why {
        Some(why) => Err(ResolveError::Unusable {
            name: name.to_string(),
            addr: addr.ip(),
            why,
        }),
        None => Ok(addr),
    }
}

/// `name`'s first address of `family` (in the resolver's order), with `port`.
///
/// # Errors
/// The lookup failed, or gave no address of that family.
pub fn resolve(name: &str, port: u16, family: Family) -> Result<SocketAddr, ResolveError> {
    (name, port)
        .to_socket_addrs()
        .map_err(|error| ResolveError::Lookup {
            name: name.to_string(),
            error,
        })?
        .find(|a| family.admits(a))
        .ok_or_else(|| ResolveError::NoAddressOfFamily {
            name: name.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_no_connection_can_go_to_is_refused_by_name() {
        let at = |a: &str| SocketAddr::new(a.parse().unwrap(), 7000);
        for (addr, bound, said) in [
            (
                "224.0.0.1",
                false,
                "'peer' resolves to 224.0.0.1, a multicast address",
            ),
            (
                "255.255.255.255",
                false,
                "'peer' resolves to 255.255.255.255, a broadcast address",
            ),
            (
                "0.0.0.0",
                false,
                "'peer' resolves to 0.0.0.0, the unspecified address",
            ),
            (
                "fe80::2",
                false,
                "'peer' resolves to fe80::2, a link-local address: name the interface with -I IFACE",
            ),
        ] {
            let e = usable("peer", at(addr), bound).unwrap_err();
            assert_eq!(e.to_string(), said);
        }
        for (addr, bound) in [
            ("198.51.100.2", false),
            ("fe80::2", true),
            ("2001:db8::2", false),
        ] {
            assert_eq!(usable("peer", at(addr), bound).unwrap(), at(addr));
        }
    }

    /// `localhost` is in every /etc/hosts: no DNS is asked.
    #[test]
    fn localhost_resolves_from_the_hosts_file_by_family() {
        let a = resolve("localhost", 7000, Family::V4).unwrap();
        assert!(
            a.ip().is_loopback() && a.is_ipv4() && a.port() == 7000,
            "{a}"
        );
        assert!(Family::V6.admits(&"[::1]:1".parse().unwrap()));
        assert!(!Family::V6.admits(&"127.0.0.1:1".parse().unwrap()));
        assert!(Family::Any.admits(&"127.0.0.1:1".parse().unwrap()));
        assert_eq!(Family::of(true, false), Family::V4);
        assert_eq!(Family::of(false, true), Family::V6);
        assert_eq!(Family::of(false, false), Family::Any);
    }
}
