//! "Filtered", or "no host there"? When a SYN to a directly connected
//! network goes unanswered, the kernel's neighbour table knows which: if
//! nothing answered its ARP (IPv4) or NDP (IPv6) requests, the SYN never
//! left the host, and the entry is FAILED (every probe unanswered, after
//! about `mcast_solicit` x `retrans_time` = 3 x 1 s) or still INCOMPLETE
//! (probes out, none answered yet). A firewall that drops SYNs leaves a
//! REACHABLE or STALE entry: the host is there, and "filtered" stands.
//!
//! [`decide`] is that rule, pure: the attempt's outcome, the route to the
//! target and the neighbour entry of its next hop in, the outcome out
//! ([`Outcome::NoNeighbour`] or unchanged). [`explain`] gathers the route
//! and the entry from the kernel ([`crate::neigh`]) and applies it; it
//! does no I/O for an outcome the rule cannot change (open, refused, a
//! remote ICMP error), and two netlink round trips otherwise, so it is
//! cheap enough to call after every attempt, or once per host of a scan.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Serialize;

use super::{Attempt, Outcome};
use crate::neigh;
use crate::wire::rtnetlink::{Neighbour, NudState, Route, RouteType};

/// How the kernel resolves a neighbour's link-layer address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// IPv4: ARP requests.
    Arp,
    /// IPv6: NDP neighbour solicitations.
    Ndp,
}

impl Resolution {
    /// `ARP` / `NDP`, as people write them.
    pub fn name(self) -> &'static str {
        match self {
            Resolution::Arp => "ARP",
            Resolution::Ndp => "NDP",
        }
    }

    fn of(addr: IpAddr) -> Resolution {
        if addr.is_ipv4() {
            Resolution::Arp
        } else {
            Resolution::Ndp
        }
    }
}

/// The neighbour entry's state, of the two that mean "no answer".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unresolved {
    /// Every probe went unanswered.
    Failed,
    /// Probes are out, none answered yet.
    Incomplete,
}

/// What [`Outcome::NoNeighbour`] says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoNeighbour {
    /// How long the attempt took (waited, or until the kernel gave up).
    pub after_us: f64,
    pub protocol: Resolution,
    /// Whom the kernel asked for: the target, or the gateway.
    pub neighbour: IpAddr,
    /// `neighbour` is the route's gateway, not the target.
    pub gateway: bool,
    /// The interface the requests went out of.
    pub iface: String,
    pub state: Unresolved,
}

/// An INCOMPLETE entry counts as unanswered only after this long: the
/// kernel's default `retrans_time` between probes. On a LAN a neighbour
/// answers in well under a millisecond, so a full retransmit interval of
/// silence is no slow reply; a shorter `-W` says "filtered" as before.
pub const INCOMPLETE_AFTER: Duration = Duration::from_secs(1);

/// The outcomes the rule may change, with how long the attempt took and
/// the ICMP sender if one spoke: silence (filtered), or host unreachable
/// without an ICMP error or with one whose sender must still be checked
/// to be our own kernel (a failed resolution makes the kernel send one to
/// itself).
fn silence(outcome: &Outcome) -> Option<(f64, Option<IpAddr>)> {
    match outcome {
        Outcome::Filtered { waited_us, .. } => Some((*waited_us, None)),
        Outcome::HostUnreachable { after_us, icmp } => match icmp {
            None => Some((*after_us, None)),
            Some(i) => i.from.map(|from| (*after_us, Some(from))),
        },
        _ => None,
    }
}

/// The rule. `outcome` is what an attempt to `target` ended with, `route`
/// the kernel's route to it, `neighbour` the kernel's entry for its next
/// hop (the target on a directly connected network, else the gateway) on
/// the route's interface `iface`, and `ours` says whether an address is
/// one of this host's (asked only for an ICMP sender other than the
/// route's source address).
///
/// The outcome becomes [`Outcome::NoNeighbour`] when all hold: it is
/// filtered, or host unreachable without an ICMP error or with one from
/// this host; the route is a unicast one through an interface; the entry
/// is that next hop's on that interface; and it is FAILED, or INCOMPLETE
/// after at least [`INCOMPLETE_AFTER`]. Otherwise it comes back unchanged.
pub fn decide(
    target: IpAddr,
    outcome: Outcome,
    route: &Route,
    neighbour: Option<&Neighbour>,
    iface: &str,
    ours: &dyn Fn(IpAddr) -> bool,
) -> Outcome {
    let Some((after_us, sender)) = silence(&outcome) else {
        return outcome;
    };
    // An IPv4-mapped target's ICMP comes with a mapped sender
    // (::ffff:198.51.100.1); the route speaks IPv4.
    if let Some(from) = sender.map(|f| f.to_canonical()) {
        if route.prefsrc != Some(from) && !ours(from) {
            return outcome;
        }
    }
    let Some(n) = neighbour else {
        return outcome;
    };
    let hop = route.next_hop(target);
    if route.kind != RouteType::Unicast || route.oif != Some(n.ifindex) || n.addr != hop {
        return outcome;
    }
    let state = match n.state {
        NudState::Failed => Unresolved::Failed,
        NudState::Incomplete if after_us >= INCOMPLETE_AFTER.as_secs_f64() * 1e6 => {
            Unresolved::Incomplete
        }
        _ => return outcome,
    };
    Outcome::NoNeighbour(Box::new(NoNeighbour {
        after_us,
        protocol: Resolution::of(hop),
        neighbour: hop,
        gateway: route.gateway.is_some(),
        iface: iface.to_string(),
        state,
    }))
}

/// [`decide`] with the route and the neighbour entry from the kernel of
/// this thread's network namespace. `iface` is the interface the attempt
/// was bound to (`-I`), if any; an IPv6 target's scope counts as one. Any
/// failure to ask (no route, no netlink) leaves the outcome unchanged.
pub fn explain(target: SocketAddr, iface: Option<&str>, outcome: Outcome) -> Outcome {
    if silence(&outcome).is_none() {
        return outcome;
    }
    let scope = match target {
        SocketAddr::V6(a) if a.scope_id() != 0 => Some(a.scope_id()),
        _ => None,
    };
    let oif = iface.and_then(crate::sys::interface_index).or(scope);
    // An IPv4-mapped target ([::ffff:198.51.100.3]) goes out as IPv4.
    let ip = target.ip().to_canonical();
    let Ok(route) = neigh::route_to(ip, oif) else {
        return outcome;
    };
    let (Some(ifindex), RouteType::Unicast) = (route.oif, route.kind) else {
        return outcome;
    };
    let Ok(entry) = neigh::lookup(route.next_hop(ip), ifindex) else {
        return outcome;
    };
    let name = crate::sys::interface_name(ifindex).unwrap_or_else(|| format!("if{ifindex}"));
    let ours = |a: IpAddr| neigh::route_to(a, None).is_ok_and(|r| r.kind == RouteType::Local);
    decide(ip, outcome, &route, entry.as_ref(), &name, &ours)
}

/// [`explain`] on an attempt's outcome, the rest of it unchanged.
pub fn explain_attempt(target: SocketAddr, iface: Option<&str>, at: Attempt) -> Attempt {
    Attempt {
        outcome: explain(target, iface, at.outcome),
        ..at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::Icmp;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const US: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 1));

    fn on_link() -> Route {
        Route {
            kind: RouteType::Unicast,
            dst: Some(ip("198.51.100.3")),
            oif: Some(3),
            gateway: None,
            prefsrc: Some(US),
            table: 254,
            flags: 0,
        }
    }

    fn via(gw: &str) -> Route {
        Route {
            dst: Some(ip("203.0.113.5")),
            gateway: Some(ip(gw)),
            ..on_link()
        }
    }

    fn entry(addr: &str, state: NudState) -> Neighbour {
        Neighbour {
            addr: ip(addr),
            ifindex: 3,
            state,
            lladdr: None,
            router: false,
            flags: 0,
            probes: None,
            cache: None,
        }
    }

    fn filtered(secs: f64) -> Outcome {
        Outcome::Filtered {
            waited_us: secs * 1e6,
            syn_retransmits: 1,
        }
    }

    fn unreachable_from(from: Option<&str>) -> Outcome {
        Outcome::HostUnreachable {
            after_us: 3.05e6,
            icmp: from.map(|f| Icmp {
                version: 4,
                icmp_type: 3,
                code: 1,
                from: Some(ip(f)),
            }),
        }
    }

    fn none_ours(_: IpAddr) -> bool {
        false
    }

    fn run(target: &str, o: Outcome, r: &Route, n: Option<&Neighbour>) -> Outcome {
        decide(ip(target), o, r, n, "veth0", &none_ours)
    }

    fn no_neighbour(after_us: f64, who: &str, gateway: bool, state: Unresolved) -> Outcome {
        Outcome::NoNeighbour(Box::new(NoNeighbour {
            after_us,
            protocol: Resolution::of(ip(who)),
            neighbour: ip(who),
            gateway,
            iface: "veth0".into(),
            state,
        }))
    }

    #[test]
    fn a_failed_entry_on_the_link_is_no_host() {
        let n = entry("198.51.100.3", NudState::Failed);
        assert_eq!(
            run("198.51.100.3", filtered(3.0), &on_link(), Some(&n)),
            no_neighbour(3e6, "198.51.100.3", false, Unresolved::Failed)
        );
        // The kernel's own ICMP host unreachable (from our address).
        assert_eq!(
            run(
                "198.51.100.3",
                unreachable_from(Some("198.51.100.1")),
                &on_link(),
                Some(&n)
            ),
            no_neighbour(3.05e6, "198.51.100.3", false, Unresolved::Failed)
        );
        assert_eq!(
            run("198.51.100.3", unreachable_from(None), &on_link(), Some(&n)),
            no_neighbour(3.05e6, "198.51.100.3", false, Unresolved::Failed)
        );
        // An IPv4-mapped target's ICMP names our address mapped too.
        assert_eq!(
            run(
                "198.51.100.3",
                unreachable_from(Some("::ffff:198.51.100.1")),
                &on_link(),
                Some(&n)
            ),
            no_neighbour(3.05e6, "198.51.100.3", false, Unresolved::Failed)
        );
    }

    #[test]
    fn incomplete_counts_after_a_full_retransmit_interval_only() {
        let n = entry("198.51.100.3", NudState::Incomplete);
        assert_eq!(
            run("198.51.100.3", filtered(1.5), &on_link(), Some(&n)),
            no_neighbour(1.5e6, "198.51.100.3", false, Unresolved::Incomplete)
        );
        assert_eq!(
            run("198.51.100.3", filtered(0.2), &on_link(), Some(&n)),
            filtered(0.2)
        );
    }

    #[test]
    fn a_host_that_answered_arp_is_filtered_still() {
        for state in [
            NudState::Reachable,
            NudState::Stale,
            NudState::Delay,
            NudState::Probe,
            NudState::Permanent,
            NudState::NoArp,
            NudState::None,
        ] {
            let n = entry("198.51.100.3", state);
            assert_eq!(
                run("198.51.100.3", filtered(3.0), &on_link(), Some(&n)),
                filtered(3.0),
                "{state:?}"
            );
        }
        assert_eq!(
            run("198.51.100.3", filtered(3.0), &on_link(), None),
            filtered(3.0)
        );
    }

    #[test]
    fn answers_and_remote_icmp_are_left_alone() {
        let n = entry("198.51.100.3", NudState::Failed);
        for o in [
            Outcome::RefusedRst { after_us: 1.0 },
            unreachable_from(Some("198.51.100.7")),
            Outcome::NetworkUnreachable {
                after_us: 1.0,
                icmp: None,
            },
            Outcome::Error {
                after_us: 1.0,
                error: "x".into(),
            },
        ] {
            assert_eq!(run("198.51.100.3", o.clone(), &on_link(), Some(&n)), o);
        }
        // A sender that is ours, though not the route's source address.
        let o = unreachable_from(Some("203.0.113.77"));
        assert!(matches!(
            decide(ip("198.51.100.3"), o, &on_link(), Some(&n), "veth0", &|a| a
                == ip("203.0.113.77")),
            Outcome::NoNeighbour(_)
        ));
    }

    #[test]
    fn the_entry_must_be_the_next_hops_on_the_routes_interface() {
        let other = entry("198.51.100.4", NudState::Failed);
        assert_eq!(
            run("198.51.100.3", filtered(3.0), &on_link(), Some(&other)),
            filtered(3.0)
        );
        let elsewhere = Neighbour {
            ifindex: 9,
            ..entry("198.51.100.3", NudState::Failed)
        };
        assert_eq!(
            run("198.51.100.3", filtered(3.0), &on_link(), Some(&elsewhere)),
            filtered(3.0)
        );
        let n = entry("198.51.100.3", NudState::Failed);
        let blackhole = Route {
            kind: RouteType::Blackhole,
            ..on_link()
        };
        assert_eq!(
            run("198.51.100.3", filtered(3.0), &blackhole, Some(&n)),
            filtered(3.0)
        );
    }

    #[test]
    fn a_gateway_that_does_not_answer_is_named() {
        let gw = entry("198.51.100.9", NudState::Failed);
        assert_eq!(
            run(
                "203.0.113.5",
                filtered(3.0),
                &via("198.51.100.9"),
                Some(&gw)
            ),
            no_neighbour(3e6, "198.51.100.9", true, Unresolved::Failed)
        );
        // The target's own entry does not count behind a gateway.
        let target = entry("203.0.113.5", NudState::Failed);
        assert_eq!(
            run(
                "203.0.113.5",
                filtered(3.0),
                &via("198.51.100.9"),
                Some(&target)
            ),
            filtered(3.0)
        );
    }

    #[test]
    fn ipv6_is_ndp() {
        let r = Route {
            dst: Some(ip("2001:db8::3")),
            prefsrc: Some(ip("2001:db8::1")),
            ..on_link()
        };
        let n = entry("2001:db8::3", NudState::Failed);
        let o = Outcome::HostUnreachable {
            after_us: 3e6,
            icmp: Some(Icmp {
                version: 6,
                icmp_type: 1,
                code: 3,
                from: Some(ip("2001:db8::1")),
            }),
        };
        let got = run("2001:db8::3", o, &r, Some(&n));
        assert_eq!(
            got,
            no_neighbour(3e6, "2001:db8::3", false, Unresolved::Failed)
        );
        assert_eq!(got.label(), "no NDP reply");
        let v = serde_json::to_value(&got).unwrap();
        assert_eq!(v["result"], "no_neighbour");
        assert_eq!(v["protocol"], "ndp");
        assert_eq!(v["state"], "failed");
        assert_eq!(v["neighbour"], "2001:db8::3");
        assert_eq!(v["gateway"], false);
        assert_eq!(v["iface"], "veth0");
    }

    /// Nothing to explain: no netlink at all (the loopback answers).
    #[test]
    fn explain_leaves_answered_attempts_alone() {
        let o = Outcome::RefusedRst { after_us: 5.0 };
        assert_eq!(explain("127.0.0.1:9".parse().unwrap(), None, o.clone()), o);
        // Loopback is a local route: never a neighbour question.
        assert_eq!(
            explain("127.0.0.1:9".parse().unwrap(), None, filtered(3.0)),
            filtered(3.0)
        );
    }
}
