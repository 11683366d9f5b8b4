//! The kernel's neighbour table as `nettool arp -a` shows it: IPv4 (ARP)
//! and IPv6 (NDP) entries from one rtnetlink dump ([`crate::neigh`]), each
//! with its interface's name and, unless `-n`, its name in /etc/hosts
//! (never DNS), sorted by family, interface name and address so that two
//! runs over the same table print the same lines.
//!
//! The dump is what `ip neigh show nud all` lists: NOARP and NONE entries
//! included, proxy entries not. Nothing is sent on any network.

use std::collections::BTreeMap;
use std::io;
use std::net::IpAddr;
use std::path::Path;

use super::report::CacheReport;
use super::settings::CacheSettings;
use crate::neigh::{self, Family};
use crate::sockstat::names::Names;
use crate::wire::MacAddr;
use crate::wire::rtnetlink::{CacheInfo, Neighbour, NudState};

/// `nda_cacheinfo` counts `USER_HZ` ticks, which is 100 per second on
/// every Linux architecture (the ABI fixes it whatever the kernel's HZ).
const USER_HZ: f64 = 100.0;

/// One neighbour entry, named.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub family: Family,
    pub address: IpAddr,
    /// `None` while the kernel has no link-layer address for it
    /// (INCOMPLETE, FAILED, NONE) or the link's addresses are not 6 bytes.
    pub mac: Option<MacAddr>,
    pub state: NudState,
    /// The neighbour said it is a router (`NTF_ROUTER`: an IPv6 Neighbor
    /// Advertisement's R flag, or `ip neigh ... router`).
    pub router: bool,
    /// The interface's name; `if<index>` when it went away during the dump.
    pub iface: String,
    /// Its name in /etc/hosts (`None` with `-n`, or when it has none).
    pub name: Option<String>,
    /// How long ago the entry was used, confirmed and updated.
    pub ages: Option<Ages>,
    /// Probes sent since the state last changed.
    pub probes: Option<u32>,
}

/// An entry's ages in seconds, as `ip -s neigh` shows them
/// (`used USED/CONFIRMED/UPDATED`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ages {
    pub used: f64,
    pub confirmed: f64,
    pub updated: f64,
}

impl From<CacheInfo> for Ages {
    fn from(c: CacheInfo) -> Ages {
        let s = |ticks: u32| f64::from(ticks) / USER_HZ;
        Ages {
            used: s(c.used),
            confirmed: s(c.confirmed),
            updated: s(c.updated),
        }
    }
}

/// The entries of a dump, named and sorted (family, interface name,
/// address; a stable sort, so equal keys keep the kernel's order).
/// `iface_name` is asked once per interface index; `hosts` gives names.
pub fn entries(
    found: Vec<Neighbour>,
    iface_name: &mut dyn FnMut(u32) -> Option<String>,
    hosts: Option<&Names>,
) -> Vec<Entry> {
    let mut ifaces: BTreeMap<u32, String> = BTreeMap::new();
    let mut out: Vec<Entry> = found
        .into_iter()
        .map(|n| {
            let iface = ifaces
                .entry(n.ifindex)
                .or_insert_with(|| {
                    iface_name(n.ifindex).unwrap_or_else(|| format!("if{}", n.ifindex))
                })
                .clone();
            Entry {
                family: Family::of(n.addr),
                address: n.addr,
                mac: n.lladdr,
                state: n.state,
                router: n.router,
                iface,
                name: hosts.and_then(|h| h.host(n.addr)).map(str::to_string),
                ages: n.cache.map(Ages::from),
                probes: n.probes,
            }
        })
        .collect();
    out.sort_by(|a, b| (a.family, &a.iface, a.address).cmp(&(b.family, &b.iface, b.address)));
    out
}

/// This network namespace's neighbour table: `s.family`'s entries (both
/// when `None`), only `s.interface`'s when given (its existence was checked
/// by the settings; one that vanished since is `NotFound`).
///
/// # Errors
/// The interface is gone, or the dump failed (the kernel's errno).
pub fn view(s: &CacheSettings) -> io::Result<CacheReport> {
    let ifindex = match &s.interface {
        None => None,
        Some(name) => Some(crate::sys::interface_index(name).ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("no interface {name}"))
        })?),
    };
    let found = neigh::neighbours(s.family, ifindex)?;
    let hosts = (!s.numeric).then(|| Names::load(Path::new("/etc")));
    let entries = entries(found, &mut crate::sys::interface_name, hosts.as_ref());
    Ok(CacheReport {
        entries,
        numeric: s.numeric,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(addr: &str, ifindex: u32, state: NudState) -> Neighbour {
        Neighbour {
            addr: addr.parse().unwrap(),
            ifindex,
            state,
            lladdr: None,
            router: false,
            flags: 0,
            probes: None,
            cache: None,
        }
    }

    #[test]
    fn sorted_by_family_interface_name_and_address() {
        // Index order (3 before 4) is not name order (eth1 after b0).
        let found = vec![
            n("2001:db8::2", 3, NudState::Reachable),
            n("198.51.100.20", 3, NudState::Stale),
            n("198.51.100.3", 3, NudState::Failed),
            n("fe80::1", 4, NudState::Stale),
            n("198.51.100.9", 4, NudState::Permanent),
            n("2001:db8::1", 3, NudState::Delay),
        ];
        let mut asked = Vec::new();
        let mut name = |i: u32| {
            asked.push(i);
            match i {
                3 => Some("eth1".to_string()),
                4 => Some("b0".to_string()),
                _ => None,
            }
        };
        let got: Vec<(Family, String, String)> = entries(found, &mut name, None)
            .into_iter()
            .map(|e| (e.family, e.iface, e.address.to_string()))
            .collect();
        let want = [
            (Family::V4, "b0", "198.51.100.9"),
            (Family::V4, "eth1", "198.51.100.3"),
            (Family::V4, "eth1", "198.51.100.20"),
            (Family::V6, "b0", "fe80::1"),
            (Family::V6, "eth1", "2001:db8::1"),
            (Family::V6, "eth1", "2001:db8::2"),
        ]
        .map(|(f, i, a)| (f, i.to_string(), a.to_string()));
        assert_eq!(got, want);
        assert_eq!(asked, [3, 4], "each interface's name asked once");
    }

    #[test]
    fn names_from_hosts_flags_ages_and_a_vanished_interface() {
        let mut hosts = Names::default();
        hosts.add_hosts("198.51.100.2 gw.example\n2001:db8::2 gw6.example\n");
        let mut router = n("2001:db8::2", 7, NudState::Stale);
        router.router = true;
        router.lladdr = Some(MacAddr([2, 0, 0, 0, 0, 2]));
        router.cache = Some(CacheInfo {
            confirmed: 6_050,
            used: 25,
            updated: 100,
            refcnt: 1,
        });
        router.probes = Some(3);
        let v4 = n("198.51.100.2", 7, NudState::Incomplete);
        let e = entries(vec![router, v4], &mut |_| None, Some(&hosts));
        assert_eq!(e[0].name.as_deref(), Some("gw.example"));
        assert_eq!((e[0].mac, e[0].router, e[0].ages), (None, false, None));
        assert_eq!(e[1].name.as_deref(), Some("gw6.example"));
        assert_eq!(e[1].iface, "if7");
        assert!(e[1].router);
        assert_eq!(
            e[1].mac.map(|m| m.to_string()).as_deref(),
            Some("02:00:00:00:00:02")
        );
        assert_eq!(
            e[1].ages,
            Some(Ages {
                used: 0.25,
                confirmed: 60.5,
                updated: 1.0
            })
        );
        assert_eq!(e[1].probes, Some(3));
        let numeric = entries(
            vec![n("198.51.100.2", 7, NudState::Stale)],
            &mut |_| None,
            None,
        );
        assert_eq!(numeric[0].name, None);
    }

    /// This test's namespace: a dump of `lo` works and names it; a name
    /// that is no interface is `NotFound`.
    #[test]
    fn the_view_of_this_namespace() {
        let lo = CacheSettings {
            interface: Some("lo".into()),
            family: None,
            numeric: true,
        };
        let r = view(&lo).unwrap();
        assert!(r.entries.iter().all(|e| e.iface == "lo"), "{:?}", r.entries);
        let gone = CacheSettings {
            interface: Some("nt-no-such-if".into()),
            ..lo
        };
        assert_eq!(view(&gone).unwrap_err().kind(), io::ErrorKind::NotFound);
    }
}
