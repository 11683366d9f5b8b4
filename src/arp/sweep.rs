//! arp-scan's job: ask every address of one or more networks, in paced
//! rounds, and keep who answered with which MAC. Each round after the first
//! asks only the addresses that have not answered yet.
//!
//! A reply is a host only when it answers a request we sent to its address;
//! any other reply (for an address never asked, or not asked yet) is
//! unsolicited: counted, a few kept as examples, and it never stops the
//! address being asked. Replies with a sender MAC no host has are invalid,
//! counted the same way. Memory is bounded by the number of targets.

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::link::Link;
use super::probe::{self, BadMac, MAX_MACS, Me, Reject, Sample};
use crate::addr::Cidr;
use crate::wire::MacAddr;

/// Largest sweep: a /16.
pub const MAX_SWEEP_PREFIX: u8 = 16;

/// Most further rounds a sweep makes (arp-scan's default is 2 in all).
pub const MAX_RETRIES: u32 = 100;

/// The network address of an IPv4 network; `None` for IPv6, which ARP
/// cannot sweep.
pub fn ipv4_network(net: Cidr) -> Option<Ipv4Addr> {
    match net.network() {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(_) => None,
    }
}

/// Pacing and retries.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Plan {
    /// Requests per second.
    pub rate: u32,
    /// Extra rounds for addresses that did not answer.
    pub retries: u32,
    /// Wait after each round's last request.
    pub timeout: Duration,
}

/// One host that answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Host {
    pub ip: Ipv4Addr,
    pub mac: MacAddr,
    pub rtt: Duration,
    /// Further MACs that answered for the same address (duplicate IP or
    /// spoofing): the first `MAX_MACS - 1`.
    pub others: Vec<MacAddr>,
    /// Replies from further MACs than those: counted, not kept.
    pub others_not_kept: u64,
}

#[derive(Debug)]
pub struct Outcome {
    /// Sorted by address.
    pub hosts: Vec<Host>,
    pub scanned: usize,
    pub sent: u64,
    pub elapsed: Duration,
    /// Replies that answered no request of ours: (address, MAC).
    pub unsolicited: Sample<(Ipv4Addr, MacAddr)>,
    /// Replies with a sender MAC no host has.
    pub invalid: Sample<(Ipv4Addr, MacAddr, BadMac)>,
    /// Frames dropped unread (a flood), by the kernel and by our queue.
    pub dropped: super::link::Drops,
}

/// What the sweep has seen so far.
#[derive(Default)]
struct Seen {
    found: BTreeMap<Ipv4Addr, Host>,
    /// When each address was last asked, and the time before that: a
    /// reply read after a retry went out may answer the earlier request.
    /// Only targets are ever here.
    last_sent: BTreeMap<Ipv4Addr, (Instant, Option<Instant>)>,
    unsolicited: Sample<(Ipv4Addr, MacAddr)>,
    invalid: Sample<(Ipv4Addr, MacAddr, BadMac)>,
}

impl Seen {
    fn on_frame(&mut self, bytes: &[u8], at: Instant, me: Me) {
        let r = match probe::validate(bytes, me) {
            Ok(r) => r,
            Err(Reject::InvalidSender(r, why)) => {
                self.invalid.add((r.sender_ip, r.sender_mac, why));
                return;
            }
            Err(_) => return,
        };
        // A host answers a request we sent to its address.
        let Some(&(last, before)) = self.last_sent.get(&r.sender_ip) else {
            self.unsolicited.add((r.sender_ip, r.sender_mac));
            return;
        };
        // The request this reply answers: the latest one sent before it
        // came (its kernel timestamp).
        let asked = match before {
            Some(b) if at < last && b <= at => b,
            _ => last,
        };
        match self.found.get_mut(&r.sender_ip) {
            None => {
                self.found.insert(
                    r.sender_ip,
                    Host {
                        ip: r.sender_ip,
                        mac: r.sender_mac,
                        rtt: at.saturating_duration_since(asked),
                        others: Vec::new(),
                        others_not_kept: 0,
                    },
                );
            }
            Some(h) if h.mac == r.sender_mac || h.others.contains(&r.sender_mac) => {}
            Some(h) if h.others.len() + 1 < MAX_MACS => h.others.push(r.sender_mac),
            Some(h) => h.others_not_kept += 1,
        }
    }
}

/// Sweep `targets` through `link`. `progress(sent, total)` is called as
/// requests go out; `stop()` is polled so Ctrl-C ends the sweep early with
/// what was found.
///
/// # Errors
/// The link failing to send or receive.
pub fn run(
    link: &mut dyn Link,
    me: Me,
    targets: &[Ipv4Addr],
    plan: Plan,
    progress: &mut dyn FnMut(u64, u64),
    stop: &dyn Fn() -> bool,
) -> std::io::Result<Outcome> {
    let start = Instant::now();
    let mut seen = Seen::default();
    let gap = Duration::from_secs_f64(1.0 / f64::from(plan.rate.max(1)));
    let total = targets.len() as u64 * (u64::from(plan.retries) + 1);
    let mut sent = 0u64;

    // Every address has its own retry timer: a retry for an address that
    // has not answered falls due `timeout` after its last request, and
    // shares the paced send schedule with first requests still waiting.
    // So the retry round overlaps the first instead of following it, and a
    // sweep costs about (requests / rate) + one timeout.
    let mut first: VecDeque<Ipv4Addr> = targets.iter().copied().collect();
    let mut retry: VecDeque<(Instant, Ipv4Addr, u32)> = VecDeque::new();
    let mut next_slot = Instant::now();
    let mut last_send = Instant::now();
    loop {
        if stop() {
            break;
        }
        // The next request: a due retry first (it has waited longest),
        // else the next first request.
        let now = Instant::now();
        let job = match retry.front() {
            Some(&(due, ip, left)) if due <= now.max(next_slot) => {
                retry.pop_front();
                Some((ip, left))
            }
            _ => first.pop_front().map(|ip| (ip, plan.retries)),
        };
        let Some((ip, left)) = job else {
            match retry.front() {
                // Nothing to send until the next retry falls due.
                Some(&(due, ..)) => {
                    while Instant::now() < due {
                        if let Some((b, at)) = link.recv(due)? {
                            seen.on_frame(&b, at, me);
                        }
                    }
                    continue;
                }
                None => break,
            }
        };
        if seen.found.contains_key(&ip) {
            continue;
        }
        // Pace by schedule, not by sleeping a gap after each send, so slow
        // sends do not stretch the sweep.
        while Instant::now() < next_slot {
            if let Some((b, at)) = link.recv(next_slot)? {
                seen.on_frame(&b, at, me);
            }
        }
        let at = link.send(&probe::request(me, ip))?;
        // Behind schedule (a slow send): go on from now, no catch-up burst.
        next_slot = (next_slot + gap).max(at);
        last_send = at;
        seen.last_sent
            .entry(ip)
            .and_modify(|e| *e = (at, Some(e.0)))
            .or_insert((at, None));
        sent += 1;
        progress(sent, total);
        if left > 0 {
            retry.push_back((at + plan.timeout, ip, left - 1));
        }
    }
    // The last request's answer may still be on its way.
    let until = last_send + plan.timeout;
    while !stop()
        && let Some((b, at)) = link.recv(until)?
    {
        seen.on_frame(&b, at, me);
    }
    Ok(Outcome {
        hosts: seen.found.into_values().collect(),
        scanned: targets.len(),
        sent,
        elapsed: start.elapsed(),
        unsolicited: seen.unsolicited,
        invalid: seen.invalid,
        dropped: link.drops(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arp::sim::Segment;
    use crate::wire::arp::Operation;
    use std::collections::{HashSet, VecDeque};

    #[test]
    fn networks_and_hosts() {
        let n = Cidr::parse("198.51.100.77/24").unwrap();
        assert_eq!(n.to_string(), "198.51.100.0/24");
        assert_eq!(ipv4_network(n), Some(Ipv4Addr::new(198, 51, 100, 0)));
        assert_eq!(ipv4_network(Cidr::parse("2001:db8::/64").unwrap()), None);
        let hosts: Vec<_> = n.ipv4_hosts().unwrap().collect();
        assert_eq!(hosts.len(), 254);
        assert_eq!(hosts[0], Ipv4Addr::new(198, 51, 100, 1));
        assert_eq!(hosts[253], Ipv4Addr::new(198, 51, 100, 254));
    }

    fn hosts_of(net: &str) -> impl Iterator<Item = Ipv4Addr> {
        Cidr::parse(net).unwrap().ipv4_hosts().unwrap()
    }

    #[test]
    fn sweep_finds_hosts_retries_the_silent_and_flags_duplicates() {
        let me = Me {
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            ip: Ipv4Addr::new(198, 51, 100, 1),
        };
        let ip = |n| Ipv4Addr::new(198, 51, 100, n);
        let mac = |n| MacAddr([2, 0, 0, 0, 1, n]);
        let mut seg = Segment {
            me,
            hosts: vec![
                (ip(10), mac(10)),
                (ip(11), mac(11)),
                (ip(11), mac(99)),
                (ip(12), mac(12)),
            ],
            drop_first: [ip(12)].into(),
            queue: VecDeque::new(),
            asked: Vec::new(),
        };
        let targets: Vec<_> = hosts_of("198.51.100.0/27")
            .filter(|a| *a != me.ip)
            .collect();
        let plan = Plan {
            rate: 100_000,
            retries: 1,
            timeout: Duration::from_millis(5),
        };
        let out = run(&mut seg, me, &targets, plan, &mut |_, _| {}, &|| false).unwrap();
        let got: Vec<_> = out
            .hosts
            .iter()
            .map(|h| (h.ip, h.mac, h.others.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (ip(10), mac(10), vec![]),
                (ip(11), mac(11), vec![mac(99)]),
                (ip(12), mac(12), vec![])
            ]
        );
        // Round two asked only the addresses that had not answered.
        assert_eq!(out.sent, 2 * targets.len() as u64 - 2);
        assert_eq!(out.scanned, 29);
        assert_eq!(out.unsolicited.count, 0);
    }

    #[test]
    fn replies_to_no_request_of_ours_are_unsolicited_not_hosts() {
        let me = Me {
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            ip: Ipv4Addr::new(198, 51, 100, 1),
        };
        let ip = |n| Ipv4Addr::new(198, 51, 100, n);
        let mac = |n| MacAddr([2, 0, 0, 0, 1, n]);
        let forger = MacAddr([2, 0xf0, 0, 0, 0, 1]);
        let forge = |sender: MacAddr, addr: Ipv4Addr| {
            probe::frame(
                me.mac,
                Me {
                    mac: sender,
                    ip: addr,
                },
                Operation::Reply,
                me.mac,
                me.ip,
            )
            .to_vec()
        };
        // Waiting before the sweep's first request is read: answers for
        // .20 (a target, nobody there, not asked yet), .12 (a host, not
        // asked yet), .200 (never asked), and one with a zero sender MAC.
        let mut seg = Segment {
            me,
            hosts: vec![(ip(10), mac(10)), (ip(12), mac(12))],
            drop_first: HashSet::default(),
            queue: [
                forge(forger, ip(20)),
                forge(forger, ip(12)),
                forge(forger, ip(200)),
                forge(MacAddr::ZERO, ip(10)),
            ]
            .into(),
            asked: Vec::new(),
        };
        let targets: Vec<_> = hosts_of("198.51.100.0/27")
            .filter(|a| *a != me.ip)
            .collect();
        let plan = Plan {
            rate: 100_000,
            retries: 1,
            timeout: Duration::from_millis(5),
        };
        let out = run(&mut seg, me, &targets, plan, &mut |_, _| {}, &|| false).unwrap();
        let got: Vec<_> = out
            .hosts
            .iter()
            .map(|h| (h.ip, h.mac, h.others.clone()))
            .collect();
        assert_eq!(got, [(ip(10), mac(10), vec![]), (ip(12), mac(12), vec![])]);
        assert!(out.hosts.iter().all(|h| h.rtt > Duration::ZERO));
        assert_eq!(
            out.unsolicited.first,
            [(ip(20), forger), (ip(12), forger), (ip(200), forger)]
        );
        assert_eq!(out.invalid.count, 1);
        assert_eq!(out.invalid.first[0].2, BadMac::Zero);
        // .20 and .12 were still asked (twice for the silent .20).
        assert_eq!(seg.asked.iter().filter(|a| **a == ip(20)).count(), 2);
        assert!(seg.asked.contains(&ip(12)));
    }

    /// A reply that came before a retry went out, but was read after it,
    /// measures from the first request: not a zero RTT.
    #[test]
    fn a_reply_read_after_a_retry_answers_the_first_request() {
        let me = Me {
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            ip: Ipv4Addr::new(198, 51, 100, 1),
        };
        let host = Me {
            mac: MacAddr([2, 0, 0, 0, 1, 9]),
            ip: Ipv4Addr::new(198, 51, 100, 9),
        };
        let t0 = Instant::now();
        let (replied, retried) = (t0 + Duration::from_millis(3), t0 + Duration::from_millis(5));
        let mut seen = Seen::default();
        seen.last_sent.insert(host.ip, (retried, Some(t0)));
        let reply = probe::frame(me.mac, host, Operation::Reply, me.mac, me.ip);
        seen.on_frame(&reply, replied, me);
        assert_eq!(seen.found[&host.ip].rtt, Duration::from_millis(3));
        // A reply after the retry measures from the retry.
        let mut seen = Seen::default();
        seen.last_sent.insert(host.ip, (retried, Some(t0)));
        seen.on_frame(&reply, t0 + Duration::from_millis(6), me);
        assert_eq!(seen.found[&host.ip].rtt, Duration::from_millis(1));
    }

    #[test]
    fn a_flood_of_macs_for_one_address_is_bounded() {
        let me = Me {
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            ip: Ipv4Addr::new(198, 51, 100, 1),
        };
        let target = Ipv4Addr::new(198, 51, 100, 2);
        let hosts = (0..1000u16)
            .map(|i| {
                let b = i.to_be_bytes();
                (target, MacAddr([2, 0, 0, 9, b[0], b[1]]))
            })
            .collect();
        let mut seg = Segment {
            me,
            hosts,
            drop_first: HashSet::default(),
            queue: VecDeque::new(),
            asked: Vec::new(),
        };
        let plan = Plan {
            rate: 100_000,
            retries: 0,
            timeout: Duration::from_millis(5),
        };
        let out = run(&mut seg, me, &[target], plan, &mut |_, _| {}, &|| false).unwrap();
        assert_eq!(out.hosts.len(), 1);
        assert_eq!(out.hosts[0].others.len(), MAX_MACS - 1);
        assert_eq!(out.hosts[0].others_not_kept, 1000 - MAX_MACS as u64);
    }
}
