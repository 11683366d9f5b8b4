//! Scan targets as written: `HOST:PORTS`, `[IPV6]:PORTS` and
//! `NET/LEN:PORTS` (`[NET/LEN]:PORTS` for IPv6), where PORTS is a list of
//! ports and ranges, `22,80,8000-8100`.
//!
//! Pure text (fuzzed in `fuzz/fuzz_targets/host_port.rs`): nothing here
//! resolves a name or touches a socket. A port list is kept as sorted,
//! merged ranges, so its size is bounded by the argument's length and a
//! port written twice is probed once; a network is kept as a [`Cidr`] and
//! walked lazily, after its size was checked against [`MAX_NET_ADDRESSES`].

use crate::addr::{self, AddrError, Cidr, Host};

/// The most addresses one `NET/LEN` may expand to: an IPv4 /16, an IPv6
/// /112.
pub const MAX_NET_ADDRESSES: u128 = 65_536;

/// What is wrong with a target; the caller quotes the argument before it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("write [IPV6]:PORTS")]
    Bracket,
    #[error(
        "no ports: write HOST:PORTS or [IPV6]:PORTS, e.g. 198.51.100.2:22,80 or [2001:db8::2]:1-1024"
    )]
    NoPorts,
    #[error("an empty item in the port list '{0}': separate ports and ranges with single commas")]
    EmptyItem(String),
    #[error("port range '{0}' needs both ends, e.g. 8000-8100")]
    OpenRange(String),
    #[error("port range '{lo}-{hi}' is reversed: write {hi}-{lo}")]
    Reversed { lo: u16, hi: u16 },
    #[error(
        "{net} spans {size} addresses: at most {MAX_NET_ADDRESSES} in one target (an IPv4 /16, an IPv6 /112)"
    )]
    NetTooLarge { net: Cidr, size: u128 },
    #[error("{0}")]
    Addr(#[from] AddrError),
}

/// A set of ports: sorted, merged, non-empty inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ports {
    ranges: Vec<(u16, u16)>,
}

impl Ports {
    /// One port.
    pub fn one(port: u16) -> Ports {
        Ports {
            ranges: vec![(port, port)],
        }
    }

    /// `22`, `22,80,443`, `8000-8100`, `1-1024,8080`: ports 1-65535 in
    /// decimal digits, ranges `LO-HI` with `LO <= HI`, no empty items.
    ///
    /// # Errors
    /// The first item that is no port or range.
    pub fn parse(s: &str) -> Result<Ports, TargetError> {
        let mut ranges = Vec::new();
        for item in s.split(',') {
            if item.is_empty() {
                return Err(TargetError::EmptyItem(s.to_string()));
            }
            let (lo, hi) = match item.split_once('-') {
                Some((a, b)) if a.is_empty() || b.is_empty() => {
                    return Err(TargetError::OpenRange(item.to_string()));
                }
                Some((a, b)) => (addr::parse_port(a, false)?, addr::parse_port(b, false)?),
                None => {
                    let p = addr::parse_port(item, false)?;
                    (p, p)
                }
            };
            if lo > hi {
                return Err(TargetError::Reversed { lo, hi });
            }
            ranges.push((lo, hi));
        }
        let mut ports = Ports { ranges };
        ports.normalise();
        Ok(ports)
    }

    /// Sort and merge overlapping or adjacent ranges.
    fn normalise(&mut self) {
        self.ranges.sort_unstable();
        let mut merged: Vec<(u16, u16)> = Vec::with_capacity(self.ranges.len());
        for &(lo, hi) in &self.ranges {
            match merged.last_mut() {
                Some(last) if u32::from(lo) <= u32::from(last.1) + 1 => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        self.ranges = merged;
    }

    /// Both sets' ports.
    pub fn union(&mut self, other: &Ports) {
        self.ranges.extend_from_slice(&other.ranges);
        self.normalise();
    }

    /// How many ports (at least 1).
    pub fn count(&self) -> u64 {
        self.ranges
            .iter()
            .map(|&(lo, hi)| u64::from(hi - lo) + 1)
            .sum()
    }

    /// The ports in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        self.ranges.iter().flat_map(|&(lo, hi)| lo..=hi)
    }
}

/// The host part of a target as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostPart<'a> {
    /// An address, a scoped IPv6 address or a name.
    Host(Host<'a>),
    /// Every address of a network, at most [`MAX_NET_ADDRESSES`].
    Net(Cidr),
}

/// A target as written: its host part (with its text, for a resolver)
/// and its ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec<'a> {
    pub host: HostPart<'a>,
    /// The host as written, without brackets.
    pub host_text: &'a str,
    pub ports: Ports,
}

impl Spec<'_> {
    /// How many addresses the host part stands for (a name: 1).
    pub fn addresses(&self) -> u128 {
        match self.host {
            HostPart::Host(_) => 1,
            HostPart::Net(net) => net.size(),
        }
    }

    /// How many (address, port) probes it makes.
    pub fn probes(&self) -> u128 {
        self.addresses() * u128::from(self.ports.count())
    }
}

/// `HOST:PORTS`, `[IPV6]:PORTS`, `NET/LEN:PORTS` or `[NET/LEN]:PORTS`.
///
/// # Errors
/// What is wrong, without the argument (the caller quotes it): no ports,
/// a bad port list, no host, a network larger than [`MAX_NET_ADDRESSES`].
pub fn parse(s: &str) -> Result<Spec<'_>, TargetError> {
    let split = addr::split_host_port(s).map_err(|_| TargetError::Bracket)?;
    let Some(ports) = split.port else {
        return Err(if split.bracketed {
            TargetError::Bracket
        } else {
            TargetError::NoPorts
        });
    };
    let ports = Ports::parse(ports)?;
    let host = if split.host.contains('/') {
        let net = Cidr::parse(split.host)?;
        let size = net.size();
        if size > MAX_NET_ADDRESSES {
            return Err(TargetError::NetTooLarge { net, size });
        }
        HostPart::Net(net)
    } else {
        HostPart::Host(Host::parse(split.host)?)
    };
    Ok(Spec {
        host,
        host_text: split.host,
        ports,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports(s: &str) -> Vec<u16> {
        Ports::parse(s).unwrap().iter().collect()
    }

    #[test]
    fn port_lists_and_ranges_sorted_and_merged() {
        assert_eq!(ports("22"), [22]);
        assert_eq!(ports("443,22,80"), [22, 80, 443]);
        assert_eq!(ports("8000-8003"), [8000, 8001, 8002, 8003]);
        assert_eq!(ports("5-6,1-3,2,4"), [1, 2, 3, 4, 5, 6]);
        assert_eq!(ports("65535,65534-65535"), [65534, 65535]);
        let all = Ports::parse("1-65535,80").unwrap();
        assert_eq!(all.count(), 65535);
        assert_eq!(all.ranges, [(1, 65535)]);
        let mut a = Ports::parse("22,80").unwrap();
        a.union(&Ports::parse("23,443").unwrap());
        assert_eq!(a.iter().collect::<Vec<_>>(), [22, 23, 80, 443]);
        assert_eq!(a.count(), 4);
    }

    #[test]
    fn bad_port_lists_say_which_item() {
        for (s, said) in [
            ("0", "port '0' is not valid: give 1-65535"),
            ("65536", "port '65536' is not valid: give 1-65535"),
            ("22,0-5", "port '0' is not valid: give 1-65535"),
            ("90-80", "port range '90-80' is reversed: write 80-90"),
            (
                "22,,80",
                "an empty item in the port list '22,,80': separate ports and ranges with single commas",
            ),
            (
                "22,",
                "an empty item in the port list '22,': separate ports and ranges with single commas",
            ),
            (
                "",
                "an empty item in the port list '': separate ports and ranges with single commas",
            ),
            ("80-", "port range '80-' needs both ends, e.g. 8000-8100"),
            ("-", "port range '-' needs both ends, e.g. 8000-8100"),
            ("1-2-3", "port '2-3' is not valid: give 1-65535"),
            ("+22", "port '+22' is not valid: give 1-65535"),
            ("ssh", "port 'ssh' is not valid: give 1-65535"),
        ] {
            assert_eq!(Ports::parse(s).unwrap_err().to_string(), said, "{s:?}");
        }
    }

    #[test]
    fn targets_hosts_networks_and_names() {
        let t = parse("198.51.100.2:22,80").unwrap();
        assert_eq!(
            t.host,
            HostPart::Host(Host::Ip("198.51.100.2".parse().unwrap()))
        );
        assert_eq!(t.probes(), 2);
        let t = parse("[2001:db8::2]:1-1024").unwrap();
        assert_eq!(t.host_text, "2001:db8::2");
        assert_eq!(t.probes(), 1024);
        let t = parse("198.51.100.0/28:22").unwrap();
        assert_eq!(
            t.host,
            HostPart::Net(Cidr::parse("198.51.100.0/28").unwrap())
        );
        assert_eq!(t.probes(), 16);
        let t = parse("[2001:db8::/120]:22,80").unwrap();
        assert_eq!(t.probes(), 512);
        assert_eq!(parse("198.51.0.0/16:1").unwrap().probes(), 65_536);
        assert_eq!(parse("[2001:db8::/112]:1").unwrap().probes(), 65_536);
        let t = parse("localhost:22").unwrap();
        assert_eq!(t.host, HostPart::Host(Host::Name("localhost")));
        let t = parse("[fe80::1%lo]:22").unwrap();
        assert!(matches!(t.host, HostPart::Host(Host::Zoned { .. })));
    }

    #[test]
    fn bad_targets() {
        for (s, said) in [
            (
                "198.51.100.2",
                "no ports: write HOST:PORTS or [IPV6]:PORTS, e.g. 198.51.100.2:22,80 or [2001:db8::2]:1-1024",
            ),
            ("[::1]", "write [IPV6]:PORTS"),
            ("[::1", "write [IPV6]:PORTS"),
            ("[::1]22", "write [IPV6]:PORTS"),
            (":22", "no host given"),
            (
                "198.50.0.0/15:22",
                "198.50.0.0/15 spans 131072 addresses: at most 65536 in one target (an IPv4 /16, an IPv6 /112)",
            ),
            (
                "[2001:db8::/64]:22",
                "2001:db8::/64 spans 18446744073709551616 addresses: at most 65536 in one target (an IPv4 /16, an IPv6 /112)",
            ),
            (
                "198.51.100.0/33:22",
                "prefix /33 is too long for 198.51.100.0: at most /32",
            ),
            ("198.51.100.0/:22", "'' is not a prefix length"),
            ("example/24:22", "'example' is not an IP address"),
            (
                "2001:db8::2:22",
                "no ports: write HOST:PORTS or [IPV6]:PORTS, e.g. 198.51.100.2:22,80 or [2001:db8::2]:1-1024",
            ),
            (
                "198.51.100.2:90-80",
                "port range '90-80' is reversed: write 80-90",
            ),
        ] {
            assert_eq!(parse(s).unwrap_err().to_string(), said, "{s:?}");
        }
    }
}
