//! Row selection: which states (given to the source, so the kernel can
//! filter), and which addresses and ports (applied to the rows).
//!
//! Every parser here returns a one-line message naming the valid forms,
//! which the CLI prints as a usage error (exit 2).

use std::net::IpAddr;

use super::StateSet;
use super::model::{Proto, Socket, TcpState};
use crate::addr::{self, AddrError, Cidr};

/// Which states to show, before protocol-specific meaning is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateSel {
    /// `-l`: TCP/UNIX listeners, unconnected UDP/raw sockets.
    Listening,
    /// Default, as netstat: everything but what `-l` shows.
    NonListening,
    /// `-a`.
    All,
    /// `--state LIST`: exactly these states for TCP; for UDP and raw,
    /// `listen` also selects unconnected sockets.
    Set(StateSet),
}

impl StateSel {
    /// The kernel state mask for one protocol.
    pub fn for_proto(self, proto: Proto) -> StateSet {
        let listen_like = match proto {
            Proto::Tcp | Proto::Unix => TcpState::Listen,
            Proto::Udp | Proto::Raw => TcpState::Close,
        };
        match self {
            StateSel::Listening => StateSet::of(&[listen_like]),
            StateSel::NonListening => StateSet(StateSet::ALL.0 & !listen_like.bit()),
            StateSel::All => StateSet::ALL,
            StateSel::Set(mut s) => {
                if listen_like == TcpState::Close && s.contains(TcpState::Listen) {
                    s.insert(TcpState::Close);
                }
                s
            }
        }
    }
}

/// The `--state` names, for messages and completions.
pub const STATE_NAMES: &str = "established, syn-sent, syn-recv, fin-wait-1, fin-wait-2, \
time-wait, close, close-wait, last-ack, listen, closing, or the groups all, connected, \
synchronized, bucket, big";

/// Parse `--state` values (comma-separated, repeatable). Accepts ss names
/// (`fin-wait-1`), netstat names (`FIN_WAIT1`) and any case.
///
/// # Errors
/// An unknown name, or no state at all; the message lists the names.
pub fn parse_states(list: &[String]) -> Result<StateSet, String> {
    let mut set = StateSet(0);
    for item in list.iter().flat_map(|s| s.split(',')) {
        let key: String = item
            .trim()
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if key.is_empty() {
            continue;
        }
        let connected: Vec<TcpState> = TcpState::ALL
            .into_iter()
            .filter(|s| !matches!(s, TcpState::Listen | TcpState::Close))
            .collect();
        let states: Vec<TcpState> = match key.as_str() {
            "all" => TcpState::ALL.to_vec(),
            // ss: every state but listening and closed.
            "connected" => connected,
            // ss: connected, minus syn-sent.
            "synchronized" => connected
                .into_iter()
                .filter(|s| *s != TcpState::SynSent)
                .collect(),
            // ss: minisockets, kept in their own hash buckets.
            "bucket" => vec![TcpState::SynRecv, TcpState::TimeWait],
            "big" => TcpState::ALL
                .into_iter()
                .filter(|s| !matches!(s, TcpState::SynRecv | TcpState::TimeWait))
                .collect(),
            "listening" => vec![TcpState::Listen],
            "estab" => vec![TcpState::Established],
            "unconn" | "unconnected" => vec![TcpState::Close],
            other => match TcpState::ALL.into_iter().find(|s| {
                s.filter_name().replace('-', "") == other
                    || s.netstat_name().replace('_', "").to_ascii_lowercase() == other
            }) {
                Some(s) => vec![s],
                None => {
                    return Err(format!(
                        "unknown state '{}': use {STATE_NAMES}",
                        item.trim()
                    ));
                }
            },
        };
        for s in states {
            set.insert(s);
        }
    }
    if set.0 == 0 {
        return Err(format!("--state needs at least one of: {STATE_NAMES}"));
    }
    Ok(set)
}

/// A port or an inclusive port range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub lo: u16,
    pub hi: u16,
}

impl PortRange {
    pub fn contains(self, port: u16) -> bool {
        (self.lo..=self.hi).contains(&port)
    }
}

/// Parse `--sport`/`--dport`: `PORT`, `LO-HI`, or a service name from
/// /etc/services (`ssh`).
///
/// # Errors
/// Out of range, backwards, or neither a number nor a known service.
pub fn parse_port(s: &str, services: &dyn Fn(&str) -> Option<u16>) -> Result<PortRange, String> {
    let s = s.trim().trim_start_matches(':');
    let one = |p: &str| -> Result<u16, String> {
        if let Ok(n) = p.parse::<u32>() {
            return u16::try_from(n).map_err(|_| format!("port {n} is out of range: use 0-65535"));
        }
        services(p).ok_or_else(|| {
            format!("'{p}' is not a port: use a number 0-65535, a range like 1000-2000, or a name from /etc/services")
        })
    };
    if let Some((a, b)) = s.split_once('-')
        && !a.is_empty()
        && a.chars().all(|c| c.is_ascii_digit())
    {
        let (lo, hi) = (one(a)?, one(b)?);
        if lo > hi {
            return Err(format!("port range '{s}' is backwards: write LO-HI"));
        }
        return Ok(PortRange { lo, hi });
    }
    let p = one(s)?;
    Ok(PortRange { lo: p, hi: p })
}

/// `--src`/`--dst`: an address or CIDR, with an optional port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrSpec {
    /// `None` matches any address (`:22`). An IPv4-mapped net of /96 or
    /// longer is kept as the IPv4 net it stands for.
    pub net: Option<Cidr>,
    pub port: Option<u16>,
}

impl AddrSpec {
    /// IPv4 and IPv6 meet across the mapping ([`Cidr::contains`]): an IPv4
    /// net matches the same addresses whether a row shows them as IPv4 or
    /// comes from a tcp6 table, and `::ffff:0.0.0.0/96` matches every IPv4
    /// address.
    pub fn matches(&self, ip: IpAddr, port: u16) -> bool {
        if let Some(p) = self.port
            && p != port
        {
            return false;
        }
        self.net.is_none_or(|net| net.contains(ip))
    }
}

/// Parse `ADDR`, `ADDR/LEN`, `ADDR:PORT`, `[V6]:PORT`, `[V6/LEN]:PORT`,
/// `V6`, `V6/LEN` or `:PORT` (split as every address argument is, by
/// [`addr::split_host_port`]). IPv4-mapped addresses match as IPv4.
///
/// # Errors
/// Any other text (the message lists the forms), or a prefix too long for
/// its address.
pub fn parse_addr(s: &str) -> Result<AddrSpec, String> {
    let bad = || {
        format!(
            "'{s}' is not an address filter: use ADDR, ADDR/LEN (CIDR), ADDR:PORT, [IPV6]:PORT or :PORT, e.g. 198.51.100.0/24"
        )
    };
    let split = addr::split_host_port(s.trim()).map_err(|_| bad())?;
    let port = match split.port {
        Some(p) => Some(addr::parse_port(p, true).map_err(|_| bad())?),
        None => None,
    };
    if split.host.is_empty() || split.host == "*" {
        if port.is_none() {
            return Err(bad());
        }
        return Ok(AddrSpec { net: None, port });
    }
    let net = Cidr::parse(split.host).map_err(|e| match e {
        AddrError::PrefixTooLong { .. } => e.to_string(),
        _ => bad(),
    })?;
    // A shorter mapped net stays IPv6 (and may cover IPv4 and IPv6 alike).
    Ok(AddrSpec {
        net: Some(net.unmapped()),
        port,
    })
}

/// Address and port filters applied to rows after the source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowFilter {
    pub sport: Option<PortRange>,
    pub dport: Option<PortRange>,
    pub src: Option<AddrSpec>,
    pub dst: Option<AddrSpec>,
}

impl RowFilter {
    pub fn is_empty(&self) -> bool {
        self.sport.is_none() && self.dport.is_none() && self.src.is_none() && self.dst.is_none()
    }

    /// UNIX sockets have no addresses or ports: any address or port
    /// filter excludes them.
    pub fn matches(&self, s: &Socket) -> bool {
        if self.is_empty() {
            return true;
        }
        let (Some(lip), Some(lport), Some(rip), Some(rport)) =
            (s.local.ip(), s.local.port(), s.remote.ip(), s.remote.port())
        else {
            return false;
        };
        self.sport.is_none_or(|r| r.contains(lport))
            && self.dport.is_none_or(|r| r.contains(rport))
            && self.src.is_none_or(|a| a.matches(lip, lport))
            && self.dst.is_none_or(|a| a.matches(rip, rport))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_services(_: &str) -> Option<u16> {
        None
    }

    #[test]
    fn state_names_in_every_spelling() {
        let one = |s: &str| parse_states(&[s.to_string()]).unwrap();
        assert_eq!(one("fin-wait-1"), StateSet::of(&[TcpState::FinWait1]));
        assert_eq!(one("FIN_WAIT1"), StateSet::of(&[TcpState::FinWait1]));
        assert_eq!(one("Time-Wait"), StateSet::of(&[TcpState::TimeWait]));
        assert_eq!(
            one("listen,established"),
            StateSet::of(&[TcpState::Listen, TcpState::Established])
        );
        assert!(one("syn-recv").contains(TcpState::NewSynRecv));
    }

    #[test]
    fn state_groups_as_ss_defines_them() {
        let c = parse_states(&["connected".into()]).unwrap();
        assert!(!c.contains(TcpState::Listen) && !c.contains(TcpState::Close));
        assert!(c.contains(TcpState::SynSent) && c.contains(TcpState::TimeWait));
        let s = parse_states(&["synchronized".into()]).unwrap();
        assert!(!s.contains(TcpState::SynSent) && s.contains(TcpState::Established));
    }

    #[test]
    fn unknown_state_names_the_choices() {
        let e = parse_states(&["establishd".into()]).unwrap_err();
        assert!(
            e.contains("unknown state 'establishd'") && e.contains("fin-wait-1"),
            "{e}"
        );
        assert!(parse_states(&[",".into()]).is_err());
    }

    #[test]
    fn listening_means_unconnected_for_datagrams() {
        assert!(
            StateSel::Listening
                .for_proto(Proto::Udp)
                .contains(TcpState::Close)
        );
        assert!(
            !StateSel::Listening
                .for_proto(Proto::Udp)
                .contains(TcpState::Listen)
        );
        assert!(
            !StateSel::NonListening
                .for_proto(Proto::Tcp)
                .contains(TcpState::Listen)
        );
        assert!(
            StateSel::NonListening
                .for_proto(Proto::Tcp)
                .contains(TcpState::TimeWait)
        );
    }

    #[test]
    fn ports_ranges_and_names() {
        let svc = |n: &str| (n == "ssh").then_some(22);
        assert_eq!(
            parse_port("22", &svc).unwrap(),
            PortRange { lo: 22, hi: 22 }
        );
        assert_eq!(
            parse_port(":80", &svc).unwrap(),
            PortRange { lo: 80, hi: 80 }
        );
        assert_eq!(
            parse_port("ssh", &svc).unwrap(),
            PortRange { lo: 22, hi: 22 }
        );
        assert_eq!(
            parse_port("1000-2000", &svc).unwrap(),
            PortRange { lo: 1000, hi: 2000 }
        );
        assert!(
            parse_port("70000", &no_services)
                .unwrap_err()
                .contains("out of range")
        );
        assert!(
            parse_port("2000-1000", &no_services)
                .unwrap_err()
                .contains("backwards")
        );
        assert!(
            parse_port("nope", &no_services)
                .unwrap_err()
                .contains("not a port")
        );
    }

    #[test]
    fn address_filters() {
        let a = parse_addr("198.51.100.0/24").unwrap();
        assert!(a.matches("198.51.100.7".parse().unwrap(), 1));
        assert!(!a.matches("203.0.113.7".parse().unwrap(), 1));
        let a = parse_addr("127.0.0.1:22").unwrap();
        assert!(a.matches("127.0.0.1".parse().unwrap(), 22));
        assert!(!a.matches("127.0.0.1".parse().unwrap(), 23));
        let a = parse_addr("[2001:db8::/32]:443").unwrap();
        assert!(a.matches("2001:db8:1::5".parse().unwrap(), 443));
        let a = parse_addr("2001:db8::1").unwrap();
        assert!(a.matches("2001:db8::1".parse().unwrap(), 9));
        let a = parse_addr(":53").unwrap();
        assert!(a.matches("::1".parse().unwrap(), 53));
        // Split as every address argument: a bare IPv6 address may begin
        // with "::"; ports and prefix lengths are digits only.
        let a = parse_addr("::1").unwrap();
        assert!(a.matches("::1".parse().unwrap(), 9) && a.port.is_none());
        assert!(
            parse_addr("::/0")
                .unwrap()
                .matches("2001:db8::1".parse().unwrap(), 9)
        );
        // Mapped addresses match an IPv4 CIDR.
        let a = parse_addr("127.0.0.0/8").unwrap();
        assert!(a.matches("::ffff:127.0.0.1".parse().unwrap(), 5));
        for bad in [
            "",
            "300.1.1.1",
            "10.0.0.0/33",
            "[::1",
            "abc",
            "1.2.3.4:x",
            ":",
            ":+22",
            "1.2.3.4/+8",
        ] {
            assert!(parse_addr(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn mapped_cidr_filters_match_ipv4_rows() {
        // Regression: `[::ffff:0.0.0.0/96]` matched no IPv4 row, and a mapped
        // address without a length kept /128 after becoming IPv4, which
        // overflowed the shift in a debug build.
        let all_v4 = parse_addr("[::ffff:0.0.0.0/96]").unwrap();
        for ip in ["127.0.0.1", "198.51.100.7", "::ffff:203.0.113.9"] {
            assert!(all_v4.matches(ip.parse().unwrap(), 1), "{ip}");
        }
        assert!(!all_v4.matches("2001:db8::1".parse().unwrap(), 1));
        assert!(!all_v4.matches("::".parse().unwrap(), 1));
        let one = parse_addr("[::ffff:127.0.0.1]").unwrap();
        assert!(one.matches("127.0.0.1".parse().unwrap(), 1));
        assert!(!one.matches("127.0.0.2".parse().unwrap(), 1));
        let net = parse_addr("[::ffff:198.51.100.0/120]:53").unwrap();
        assert!(net.matches("198.51.100.200".parse().unwrap(), 53));
        assert!(!net.matches("198.51.101.1".parse().unwrap(), 53));
        // A v6 prefix that covers the mapped range covers IPv4 rows too.
        let any = parse_addr("[::/0]").unwrap();
        assert!(any.matches("198.51.100.7".parse().unwrap(), 1));
        let zero = parse_addr("0.0.0.0/0").unwrap();
        assert!(zero.matches("::ffff:1.2.3.4".parse().unwrap(), 1));
        assert!(!zero.matches("2001:db8::1".parse().unwrap(), 1));
    }

    /// The address as 128 bits, IPv4 as its IPv4-mapped form.
    fn bits(ip: IpAddr) -> [bool; 128] {
        let n = match ip {
            IpAddr::V4(a) => u128::from(a.to_ipv6_mapped()),
            IpAddr::V6(a) => u128::from(a),
        };
        std::array::from_fn(|i| n >> (127 - i) & 1 == 1)
    }

    /// The reference: `ip` is in `net/len` iff their first `len` bits are
    /// equal, an IPv4 net's length counting from bit 96 of the mapped form.
    fn reference_in(ip: IpAddr, net: IpAddr, len: u8) -> bool {
        let len = usize::from(len) + if net.is_ipv4() { 96 } else { 0 };
        bits(ip)[..len] == bits(net)[..len]
    }

    /// An address of either family (or IPv4-mapped), from 128 bits.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "an IPv4 address is the low 32 bits"
    )]
    fn addr_of(n: u128, form: u8) -> IpAddr {
        match form % 3 {
            0 => IpAddr::V4(std::net::Ipv4Addr::from(n as u32)),
            1 => IpAddr::V6(std::net::Ipv4Addr::from(n as u32).to_ipv6_mapped()),
            _ => IpAddr::V6(std::net::Ipv6Addr::from(n)),
        }
    }

    fn filter_text(net: IpAddr, len: Option<u8>) -> String {
        match (net, len) {
            (IpAddr::V4(a), Some(l)) => format!("{a}/{l}"),
            (IpAddr::V4(a), None) => a.to_string(),
            (IpAddr::V6(a), Some(l)) => format!("[{a}/{l}]"),
            (IpAddr::V6(a), None) => format!("[{a}]"),
        }
    }

    proptest::proptest! {
        #[test]
        fn filter_parsers_never_panic(s in "\\PC{0,60}") {
            let _ = parse_addr(&s);
            let _ = parse_port(&s, &no_services);
            let _ = parse_states(std::slice::from_ref(&s));
        }

        /// `matches` agrees with the bitwise reference for every family
        /// pairing, mapped or not; addresses are drawn near the net (a
        /// random suffix flipped) so that both outcomes are common.
        #[test]
        fn address_matching_agrees_with_the_reference(
            base in proptest::num::u128::ANY,
            flip in proptest::num::u128::ANY,
            shift in 0u32..=128,
            net_form in 0u8..3,
            ip_form in 0u8..3,
            len in proptest::option::of(0u8..=128),
            port in proptest::num::u16::ANY,
        ) {
            let net = addr_of(base, net_form);
            let flip = flip.checked_shr(shift).unwrap_or(0);
            let ip = addr_of(base ^ flip, ip_form);
            let max = if net.is_ipv4() { 32 } else { 128 };
            let len = len.map(|l| l % (max + 1));
            let spec = parse_addr(&filter_text(net, len)).unwrap();
            let want = reference_in(ip, net, len.unwrap_or(max));
            proptest::prop_assert_eq!(spec.matches(ip, port), want, "{} vs {}", filter_text(net, len), ip);
        }
    }
}
