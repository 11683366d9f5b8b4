//! `nettool arp --localnet -6`: who is on the link, for IPv6.
//!
//! A /64 has 2^64 addresses, so it cannot be swept address by address as
//! an IPv4 network is. Instead one question goes to every node at once:
//! an `ICMPv6` echo request to all-nodes (`ff02::1`). Linux answers it by
//! default (`net.ipv6.icmp.echo_ignore_multicast` is 0), and so do the
//! BSDs and most embedded stacks. A Neighbor Solicitation cannot do the
//! same job: it asks about one target address, which is what we do not
//! know yet. Hosts that ignore multicast echoes (the sysctl at 1,
//! `echo_ignore_all`, a firewall) stay silent and are not listed: this
//! finds who answers, not who exists.
//!
//! The request goes out from each of our addresses on the interface
//! (link-local and global): a host replies from the address its source
//! selection picks for ours, so asking from both scopes brings back both
//! of its addresses, and replies are grouped by MAC into one station.
//!
//! No I/O here beyond the [`Link`] passed in, so the loop runs on a
//! simulated segment in the tests.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use super::link::{Drops, Link};
use super::probe::{BadMac, Sample};
use crate::wire::MacAddr;
use crate::wire::icmpv6::EchoFrame;

/// What every request carries and every reply must echo back.
pub const DATA: &[u8] = b"nettool arp -6\0\0";

/// Stations kept at most: a flood of forged MACs is counted past this,
/// not stored.
pub const MAX_STATIONS: usize = 4096;
/// Addresses kept per station at most.
pub const MAX_ADDRS: usize = 16;

/// Who asks: our MAC, the addresses we ask from, the echo identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asker {
    pub mac: MacAddr,
    /// Each gets its own request per round.
    pub sources: Vec<Ipv6Addr>,
    pub ident: u16,
}

/// How often to ask, and how long to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan6 {
    /// Rounds after the first (`--retries`): multicast is not
    /// acknowledged, so a lost request or reply is only made up for by
    /// asking again.
    pub retries: u32,
    /// Between rounds, and after the last (`--timeout`).
    pub timeout: Duration,
}

/// A MAC that answered, with every address it answered from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Station {
    pub mac: MacAddr,
    /// Link-local first, then the rest, each sorted; at most [`MAX_ADDRS`].
    pub addrs: Vec<Ipv6Addr>,
    /// The quickest reply: from the request it answered to when it was read.
    pub rtt: Duration,
}

/// What the run found.
#[derive(Debug, Clone)]
pub struct Outcome6 {
    /// Sorted by MAC.
    pub stations: Vec<Station>,
    /// Stations not kept past [`MAX_STATIONS`].
    pub not_kept: u64,
    pub sent: u64,
    pub elapsed: Duration,
    /// Replies to us with a source MAC no host has (zero, multicast).
    pub invalid: Sample<(Ipv6Addr, MacAddr, BadMac)>,
    pub dropped: Drops,
}

/// The replies read so far.
#[derive(Default)]
struct Seen {
    /// When each (source index, round) request went out.
    sent_at: HashMap<(usize, u16), Instant>,
    stations: BTreeMap<MacAddr, Station>,
    not_kept: u64,
    invalid: Sample<(Ipv6Addr, MacAddr, BadMac)>,
}

impl Seen {
    /// Take `bytes` read at `at`: an echo reply with our identifier, our
    /// data, a round we sent, to one of our addresses and our MAC, is a
    /// station's answer. Anything else (another program's ping, a reply
    /// from a previous run) is not.
    fn on_frame(&mut self, bytes: &[u8], at: Instant, me: &Asker) {
        let Ok(f) = EchoFrame::parse(bytes) else {
            return;
        };
        if !f.reply || f.ident != me.ident || f.data != DATA || f.eth_dst != me.mac {
            return;
        }
        let Some(src_index) = me.sources.iter().position(|a| *a == f.ip_dst) else {
            return;
        };
        let Some(&asked) = self.sent_at.get(&(src_index, f.seq)) else {
            return;
        };
        if f.eth_src == me.mac || f.ip_src.is_multicast() || f.ip_src.is_unspecified() {
            return;
        }
        if let Some(why) = BadMac::check(f.eth_src) {
            self.invalid.add((f.ip_src, f.eth_src, why));
            return;
        }
        let rtt = at.saturating_duration_since(asked);
        let full = self.stations.len() >= MAX_STATIONS;
        match self.stations.get_mut(&f.eth_src) {
            Some(s) => {
                s.rtt = s.rtt.min(rtt);
                if !s.addrs.contains(&f.ip_src) && s.addrs.len() < MAX_ADDRS {
                    s.addrs.push(f.ip_src);
                    s.addrs
                        .sort_by_key(|a| (!a.is_unicast_link_local(), a.octets()));
                }
            }
            None if full => self.not_kept += 1,
            None => {
                self.stations.insert(
                    f.eth_src,
                    Station {
                        mac: f.eth_src,
                        addrs: vec![f.ip_src],
                        rtt,
                    },
                );
            }
        }
    }
}

/// Ask every node on `link` who is there: `plan.retries + 1` rounds of
/// one echo request to all-nodes from each of `me.sources`, `timeout`
/// apart, then `timeout` more for the last answers. `stop()` is polled so
/// Ctrl-C ends it early with what was found.
///
/// # Errors
/// The link failing to send or receive.
pub fn run(
    link: &mut dyn Link,
    me: &Asker,
    plan: Plan6,
    stop: &dyn Fn() -> bool,
) -> std::io::Result<Outcome6> {
    let start = Instant::now();
    let mut seen = Seen::default();
    let mut sent = 0u64;
    let rounds = plan.retries.saturating_add(1);
    'rounds: for round in 0..rounds {
        // The sequence number names the round; past 65535 rounds the
        // numbers repeat, and a late reply is then timed from a later round.
        let seq = u16::try_from(round % 65_536).unwrap_or(0);
        let mut last = Instant::now();
        for (i, &src) in me.sources.iter().enumerate() {
            let frame = EchoFrame::request_to_all_nodes(me.mac, src, me.ident, seq, DATA);
            last = link.send(&frame.to_bytes())?;
            seen.sent_at.insert((i, seq), last);
            sent += 1;
        }
        let until = last + plan.timeout;
        while Instant::now() < until {
            if stop() {
                break 'rounds;
            }
            if let Some((b, at)) = link.recv(until)? {
                seen.on_frame(&b, at, me);
            }
        }
    }
    Ok(Outcome6 {
        stations: seen.stations.into_values().collect(),
        not_kept: seen.not_kept,
        sent,
        elapsed: start.elapsed(),
        invalid: seen.invalid,
        dropped: link.drops(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// A segment of hosts that answer a multicast echo (or not), each
    /// from its link-local address when asked from ours and from its
    /// global one when asked from our global one.
    struct Segment {
        me: MacAddr,
        /// (MAC, link-local, global, answers multicast echo)
        hosts: Vec<(MacAddr, Ipv6Addr, Option<Ipv6Addr>, bool)>,
        /// Frames to read, first the queued extras.
        queue: VecDeque<Vec<u8>>,
        /// Requests to lose, by count from the first.
        lose_first: usize,
        sends: usize,
    }

    impl Link for Segment {
        fn send(&mut self, frame: &[u8]) -> std::io::Result<Instant> {
            let req = EchoFrame::parse(frame).expect("an echo request");
            assert!(!req.reply && req.ip_dst == crate::wire::icmpv6::ALL_NODES);
            assert_eq!(req.hop_limit, 1);
            self.sends += 1;
            if self.sends <= self.lose_first {
                return Ok(Instant::now());
            }
            for &(mac, ll, global, answers) in &self.hosts {
                let from = if req.ip_src.is_unicast_link_local() {
                    Some(ll)
                } else {
                    global
                };
                let (true, Some(from)) = (answers, from) else {
                    continue;
                };
                let reply = EchoFrame {
                    eth_dst: self.me,
                    eth_src: mac,
                    hop_limit: 64,
                    ip_src: from,
                    ip_dst: req.ip_src,
                    reply: true,
                    ..req.clone()
                };
                self.queue.push_back(reply.to_bytes());
            }
            Ok(Instant::now())
        }

        fn recv(&mut self, until: Instant) -> std::io::Result<Option<(Vec<u8>, Instant)>> {
            if let Some(f) = self.queue.pop_front() {
                return Ok(Some((f, Instant::now())));
            }
            std::thread::sleep(until.saturating_duration_since(Instant::now()));
            Ok(None)
        }
    }

    fn ip(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn asker() -> Asker {
        Asker {
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            sources: vec![ip("fe80::1"), ip("2001:db8::1")],
            ident: 0x4e54,
        }
    }

    #[test]
    fn stations_are_grouped_by_mac_with_both_scopes_and_the_silent_left_out() {
        let m = |n| MacAddr([2, 0, 0, 0, 1, n]);
        let mut seg = Segment {
            me: asker().mac,
            hosts: vec![
                (m(2), ip("fe80::2"), Some(ip("2001:db8::2")), true),
                (m(3), ip("fe80::3"), None, true),
                (m(4), ip("fe80::4"), Some(ip("2001:db8::4")), false),
            ],
            queue: VecDeque::new(),
            // The whole first round is lost: the retry finds them.
            lose_first: 2,
            sends: 0,
        };
        let plan = Plan6 {
            retries: 1,
            timeout: Duration::from_millis(5),
        };
        let out = run(&mut seg, &asker(), plan, &|| false).unwrap();
        let got: Vec<_> = out
            .stations
            .iter()
            .map(|s| (s.mac, s.addrs.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (m(2), vec![ip("fe80::2"), ip("2001:db8::2")]),
                (m(3), vec![ip("fe80::3")]),
            ]
        );
        assert_eq!(out.sent, 4);
        assert_eq!(out.invalid.count, 0);
    }

    #[test]
    fn foreign_and_forged_replies_are_not_stations() {
        let me = asker();
        let good = EchoFrame {
            eth_dst: me.mac,
            eth_src: MacAddr([2, 0, 0, 0, 1, 2]),
            traffic_class: 0,
            flow_label: 0,
            hop_limit: 64,
            ip_src: ip("fe80::2"),
            ip_dst: ip("fe80::1"),
            reply: true,
            ident: me.ident,
            seq: 0,
            data: DATA.to_vec(),
        };
        let t0 = Instant::now();
        let mut seen = Seen::default();
        seen.sent_at.insert((0, 0), t0);
        let at = t0 + Duration::from_millis(2);
        let variants = [
            EchoFrame {
                ident: 1,
                ..good.clone()
            },
            EchoFrame {
                seq: 7,
                ..good.clone()
            },
            EchoFrame {
                data: b"ping".to_vec(),
                ..good.clone()
            },
            EchoFrame {
                ip_dst: ip("fe80::99"),
                ..good.clone()
            },
            EchoFrame {
                reply: false,
                ..good.clone()
            },
            EchoFrame {
                eth_src: me.mac,
                ..good.clone()
            },
        ];
        for v in &variants {
            seen.on_frame(&v.to_bytes(), at, &me);
        }
        let mut bad_sum = good.to_bytes();
        let n = bad_sum.len();
        bad_sum[n - 1] ^= 1;
        seen.on_frame(&bad_sum, at, &me);
        assert!(seen.stations.is_empty());
        seen.on_frame(
            &EchoFrame {
                eth_src: MacAddr::ZERO,
                ..good.clone()
            }
            .to_bytes(),
            at,
            &me,
        );
        assert_eq!(seen.invalid.count, 1);
        seen.on_frame(&good.to_bytes(), at, &me);
        assert_eq!(seen.stations.len(), 1);
        assert_eq!(seen.stations[&good.eth_src].rtt, Duration::from_millis(2));
    }

    #[test]
    fn a_flood_of_macs_is_bounded() {
        let me = asker();
        let t0 = Instant::now();
        let mut seen = Seen::default();
        seen.sent_at.insert((0, 0), t0);
        for i in 0..u32::try_from(MAX_STATIONS + 10).unwrap() {
            let b = i.to_be_bytes();
            let f = EchoFrame {
                eth_dst: me.mac,
                eth_src: MacAddr([2, 9, b[0], b[1], b[2], b[3]]),
                traffic_class: 0,
                flow_label: 0,
                hop_limit: 64,
                ip_src: ip("fe80::2"),
                ip_dst: ip("fe80::1"),
                reply: true,
                ident: me.ident,
                seq: 0,
                data: DATA.to_vec(),
            };
            seen.on_frame(&f.to_bytes(), t0, &me);
        }
        assert_eq!(seen.stations.len(), MAX_STATIONS);
        assert_eq!(seen.not_kept, 10);
    }
}
