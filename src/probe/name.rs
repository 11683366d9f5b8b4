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
