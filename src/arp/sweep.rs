//! arp-scan's job: ask every address of one or more networks, in paced
//! rounds, and keep who answered with which MAC. Each round after the first
//! asks only the addresses that have not answered yet.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use super::link::Link;
use super::probe::{self, Me};
use crate::wire::MacAddr;

/// An IPv4 network, `addr/len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    pub addr: Ipv4Addr,
    pub len: u8,
}

impl Net {
    pub fn parse(s: &str) -> Result<Net, String> {
        let bad = || format!("'{s}' is not an IPv4 network: write ADDR/LEN, e.g. 198.51.100.0/24");
        let (a, l) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = a.parse().map_err(|_| bad())?;
        let len: u8 = l.parse().map_err(|_| bad())?;
        if len > 32 {
            return Err(bad());
        }
        Ok(Net { addr, len })
    }

    fn mask(self) -> u32 {
        if self.len == 0 {
            0
        } else {
            u32::MAX << (32 - self.len)
        }
    }

    pub fn network(self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask())
    }

    pub fn contains(self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.addr) & self.mask()
    }

    /// Usable host addresses: all but the network and broadcast addresses,
    /// except on /31 and /32 where every address is a host.
    pub fn hosts(self) -> impl Iterator<Item = Ipv4Addr> {
        let base = u32::from(self.network());
        let size: u64 = 1u64 << (32 - u32::from(self.len));
        let (first, last) = if self.len >= 31 {
            (0, size - 1)
        } else {
            (1, size - 2)
        };
        (first..=last).map(move |i| Ipv4Addr::from(base.wrapping_add(i as u32)))
    }

    pub fn size(self) -> u64 {
        1u64 << (32 - u32::from(self.len))
    }
}

impl std::fmt::Display for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network(), self.len)
    }
}

/// Pacing and retries.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Requests per second.
    pub rate: u32,
    /// Extra rounds for addresses that did not answer.
    pub retries: u32,
    /// Wait after each round's last request.
    pub timeout: Duration,
}

/// One host that answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    pub ip: Ipv4Addr,
    pub mac: MacAddr,
    pub rtt: Duration,
    /// Further MACs that answered for the same address (duplicate IP or
    /// spoofing).
    pub others: Vec<MacAddr>,
}

#[derive(Debug)]
pub struct Outcome {
    /// Sorted by address.
    pub hosts: Vec<Host>,
    pub scanned: usize,
    pub sent: u64,
    pub elapsed: Duration,
}

/// Sweep `targets` through `link`. `progress(sent, total)` is called as
/// requests go out; `stop()` is polled so Ctrl-C ends the sweep early with
/// what was found.
pub fn run(
    link: &mut dyn Link,
    me: Me,
    targets: &[Ipv4Addr],
    plan: Plan,
    progress: &mut dyn FnMut(u64, u64),
    stop: &dyn Fn() -> bool,
) -> std::io::Result<Outcome> {
    let start = Instant::now();
    let wanted: HashSet<Ipv4Addr> = targets.iter().copied().collect();
    let mut found: BTreeMap<Ipv4Addr, Host> = BTreeMap::new();
    let mut last_sent: BTreeMap<Ipv4Addr, Instant> = BTreeMap::new();
    let gap = Duration::from_secs_f64(1.0 / f64::from(plan.rate.max(1)));
    let total = targets.len() as u64 * (u64::from(plan.retries) + 1);
    let mut sent = 0u64;

    let on_frame = |bytes: &[u8],
                    at: Instant,
                    found: &mut BTreeMap<Ipv4Addr, Host>,
                    last_sent: &BTreeMap<Ipv4Addr, Instant>| {
        let Ok(r) = probe::validate(bytes, me) else {
            return;
        };
        if !wanted.contains(&r.sender_ip) {
            return;
        }
        let rtt = last_sent
            .get(&r.sender_ip)
            .map_or(Duration::ZERO, |s| at.saturating_duration_since(*s));
        match found.get_mut(&r.sender_ip) {
            None => {
                found.insert(
                    r.sender_ip,
                    Host {
                        ip: r.sender_ip,
                        mac: r.sender_mac,
                        rtt,
                        others: Vec::new(),
                    },
                );
            }
            Some(h) if h.mac != r.sender_mac && !h.others.contains(&r.sender_mac) => {
                h.others.push(r.sender_mac);
            }
            Some(_) => {}
        }
    };

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
                            on_frame(&b, at, &mut found, &last_sent);
                        }
                    }
                    continue;
                }
                None => break,
            }
        };
        if found.contains_key(&ip) {
            continue;
        }
        // Pace by schedule, not by sleeping a gap after each send, so slow
        // sends do not stretch the sweep.
        while Instant::now() < next_slot {
            if let Some((b, at)) = link.recv(next_slot)? {
                on_frame(&b, at, &mut found, &last_sent);
            }
        }
        let at = link.send(&probe::request(me, ip))?;
        // Behind schedule (a slow send): go on from now, no catch-up burst.
        next_slot = (next_slot + gap).max(at);
        last_send = at;
        last_sent.insert(ip, at);
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
        on_frame(&b, at, &mut found, &last_sent);
    }
    Ok(Outcome {
        hosts: found.into_values().collect(),
        scanned: targets.len(),
        sent,
        elapsed: start.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::arp::Operation;
    use std::collections::VecDeque;

    #[test]
    fn networks_and_hosts() {
        let n = Net::parse("198.51.100.77/24").unwrap();
        assert_eq!(n.to_string(), "198.51.100.0/24");
        let hosts: Vec<_> = n.hosts().collect();
        assert_eq!(hosts.len(), 254);
        assert_eq!(hosts[0], Ipv4Addr::new(198, 51, 100, 1));
        assert_eq!(hosts[253], Ipv4Addr::new(198, 51, 100, 254));
        assert_eq!(Net::parse("198.51.100.4/31").unwrap().hosts().count(), 2);
        assert_eq!(Net::parse("198.51.100.4/32").unwrap().hosts().count(), 1);
        assert!(n.contains(Ipv4Addr::new(198, 51, 100, 200)));
        assert!(!n.contains(Ipv4Addr::new(198, 51, 101, 1)));
        for bad in ["198.51.100.0", "198.51.100.0/33", "x/24", "198.51.100.0/"] {
            assert!(Net::parse(bad).is_err(), "{bad}");
        }
    }

    /// A simulated segment: hosts that answer every request for their
    /// address, optionally dropping the first request to some of them.
    struct Segment {
        me: Me,
        hosts: Vec<(Ipv4Addr, MacAddr)>,
        drop_first: HashSet<Ipv4Addr>,
        queue: VecDeque<Vec<u8>>,
        asked: Vec<Ipv4Addr>,
    }

    impl Link for Segment {
        fn send(&mut self, frame: &[u8]) -> std::io::Result<Instant> {
            let target = Ipv4Addr::new(frame[38], frame[39], frame[40], frame[41]);
            let first = !self.asked.contains(&target);
            self.asked.push(target);
            if first && self.drop_first.contains(&target) {
                return Ok(Instant::now());
            }
            for (ip, mac) in self.hosts.iter().filter(|(ip, _)| *ip == target) {
                let r = probe::frame(
                    self.me.mac,
                    Me { mac: *mac, ip: *ip },
                    Operation::Reply,
                    self.me.mac,
                    self.me.ip,
                );
                self.queue.push_back(r.to_vec());
            }
            Ok(Instant::now())
        }
        fn recv(&mut self, until: Instant) -> std::io::Result<Option<(Vec<u8>, Instant)>> {
            match self.queue.pop_front() {
                Some(f) => Ok(Some((f, Instant::now()))),
                None => {
                    std::thread::sleep(until.saturating_duration_since(Instant::now()));
                    Ok(None)
                }
            }
        }
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
        let targets: Vec<_> = Net::parse("198.51.100.0/27")
            .unwrap()
            .hosts()
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
        assert_eq!(out.sent as usize, targets.len() + targets.len() - 2);
        assert_eq!(out.scanned, 29);
    }
}
