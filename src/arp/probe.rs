//! The arping logic, without I/O: build requests, validate replies, match
//! them to requests, flag duplicates and unsolicited replies, and keep the
//! statistics. The loop in `arp::run_probe` feeds it frames and times.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::output::stats::Spread;
use crate::wire::MacAddr;
use crate::wire::arp::{self, Operation, Packet};
use crate::wire::ethernet::{self, ETHERTYPE_ARP, Frame, MIN_FRAME_LEN};
use crate::wire::icmpv6::AdvertReject;

/// Our side of the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Me {
    pub mac: MacAddr,
    /// 0.0.0.0 in duplicate address detection.
    pub ip: Ipv4Addr,
}

/// Our side of an exchange of either family, as reports show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Source {
    pub mac: MacAddr,
    /// Unspecified (0.0.0.0, `::`) in duplicate address detection.
    pub ip: IpAddr,
}

impl From<Me> for Source {
    fn from(me: Me) -> Source {
        Source {
            mac: me.mac,
            ip: IpAddr::V4(me.ip),
        }
    }
}

/// What a received frame means to a probe of one target, either family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard {
    /// Not an answer about the target (other traffic, malformed, ours).
    Nothing,
    /// A valid answer: `from` is at `mac`.
    Reply { from: IpAddr, mac: MacAddr },
    /// An answer for the target with a MAC no host has.
    Invalid {
        from: IpAddr,
        mac: MacAddr,
        why: BadMac,
    },
    /// An advertisement for the target, to us, that fails NDP's checks
    /// (forged, forwarded, corrupted): sent from `mac`, never an answer.
    Rejected {
        from: IpAddr,
        mac: MacAddr,
        why: AdvertReject,
    },
}

/// What an ARP frame means to a probe of `target` by `me`.
pub fn hear(bytes: &[u8], me: Me, target: Ipv4Addr) -> Heard {
    match validate(bytes, me) {
        Ok(r) if r.sender_ip == target => Heard::Reply {
            from: IpAddr::V4(r.sender_ip),
            mac: r.sender_mac,
        },
        Err(Reject::InvalidSender(r, why)) if r.sender_ip == target => Heard::Invalid {
            from: IpAddr::V4(r.sender_ip),
            mac: r.sender_mac,
            why,
        },
        _ => Heard::Nothing,
    }
}

/// Build a 60-byte ARP frame (42 meaningful bytes, zero padding to the
/// Ethernet minimum).
pub fn frame(
    eth_dst: MacAddr,
    me: Me,
    op: Operation,
    target_mac: MacAddr,
    target_ip: Ipv4Addr,
) -> [u8; MIN_FRAME_LEN] {
    let mut buf = [0u8; MIN_FRAME_LEN];
    if let Ok(mut f) = Frame::new_checked(&mut buf[..]) {
        ethernet::Repr {
            dst: eth_dst,
            src: me.mac,
            ethertype: ETHERTYPE_ARP,
        }
        .emit(&mut f);
        let _ = arp::Repr {
            operation: op,
            sender_mac: me.mac,
            sender_ip: me.ip,
            target_mac,
            target_ip,
        }
        .emit(f.payload_mut());
    }
    buf
}

/// A broadcast "who has `target`? tell `me`".
pub fn request(me: Me, target: Ipv4Addr) -> [u8; MIN_FRAME_LEN] {
    frame(
        MacAddr::BROADCAST,
        me,
        Operation::Request,
        MacAddr::ZERO,
        target,
    )
}

/// A request for `target` straight to `mac`, which answered before
/// (`--unicast`, iputils arping's follow-ups).
pub fn request_unicast(me: Me, target: Ipv4Addr, mac: MacAddr) -> [u8; MIN_FRAME_LEN] {
    frame(mac, me, Operation::Request, mac, target)
}

/// A gratuitous announcement of `me.ip`: sender and target IP are both
/// ours. As a request (`-U`, RFC 5227's announcement) the target MAC is
/// zero; as a reply (`-A`) it is broadcast, as arping sends it.
pub fn announcement(me: Me, as_reply: bool) -> [u8; MIN_FRAME_LEN] {
    if as_reply {
        frame(
            MacAddr::BROADCAST,
            me,
            Operation::Reply,
            MacAddr::BROADCAST,
            me.ip,
        )
    } else {
        frame(
            MacAddr::BROADCAST,
            me,
            Operation::Request,
            MacAddr::ZERO,
            me.ip,
        )
    }
}

/// Why a sender MAC cannot be a host's: such a reply is invalid, counted
/// and shown as such, never taken for an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BadMac {
    Zero,
    Broadcast,
    /// The group bit is set.
    Multicast,
}

impl BadMac {
    pub fn check(mac: MacAddr) -> Option<BadMac> {
        if mac == MacAddr::ZERO {
            Some(BadMac::Zero)
        } else if mac.is_broadcast() {
            Some(BadMac::Broadcast)
        } else if mac.is_multicast() {
            Some(BadMac::Multicast)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BadMac::Zero => "zero",
            BadMac::Broadcast => "broadcast",
            BadMac::Multicast => "multicast",
        }
    }
}

/// Why a received frame is not a reply to us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    NotArp,
    Short,
    Malformed,
    NotReply,
    FromUs,
    NotForUs,
    /// A reply to us whose sender MAC no host can have.
    InvalidSender(arp::Repr, BadMac),
}

/// Check everything a reply to `me` must satisfy: ethertype 0x0806,
/// at least 42 bytes, Ethernet/IPv4 ARP (htype 1, ptype 0x0800, hlen 6,
/// plen 4), opcode 2, target IP ours, target MAC ours, an Ethernet source
/// that is not ours, and a sender MAC that is a host's (not zero, not
/// broadcast, group bit clear). The sender IP is checked by the caller
/// (a probe wants its target, a sweep any address it asked for).
///
/// # Errors
/// The first rule the frame breaks, as a [`Reject`].
pub fn validate(bytes: &[u8], me: Me) -> Result<arp::Repr, Reject> {
    let f = Frame::new_checked(bytes).map_err(|_| Reject::Short)?;
    if f.ethertype() != ETHERTYPE_ARP {
        return Err(Reject::NotArp);
    }
    if bytes.len() < ethernet::HEADER_LEN + arp::PACKET_LEN {
        return Err(Reject::Short);
    }
    if f.src() == me.mac {
        return Err(Reject::FromUs);
    }
    let p = Packet::new_checked(f.payload()).map_err(|_| Reject::Short)?;
    let r = arp::Repr::parse(&p).map_err(|_| Reject::Malformed)?;
    if r.operation != Operation::Reply {
        return Err(Reject::NotReply);
    }
    if r.target_ip != me.ip || r.target_mac != me.mac {
        return Err(Reject::NotForUs);
    }
    if let Some(why) = BadMac::check(r.sender_mac) {
        return Err(Reject::InvalidSender(r, why));
    }
    Ok(r)
}

/// Distinct MACs remembered per address. Replies from further MACs are
/// counted, not kept: a flood of random sender MACs costs a counter.
pub const MAX_MACS: usize = 64;

/// How many MACs one line names, how many replies are listed per request,
/// and how many examples a count keeps: output grows with what was asked,
/// not with what a peer sends.
pub const NAMED: usize = 8;

/// A count with its first few distinct items ([`NAMED`]) kept as examples.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample<T> {
    /// Every item, repeats included.
    pub count: u64,
    /// The first [`NAMED`] distinct items, in order of arrival.
    pub first: Vec<T>,
}

impl<T> Default for Sample<T> {
    fn default() -> Self {
        Sample {
            count: 0,
            first: Vec::new(),
        }
    }
}

impl<T: PartialEq> Sample<T> {
    /// Count `item`, keeping it if it is new and fewer than [`NAMED`] are
    /// kept; true if kept.
    pub fn add(&mut self, item: T) -> bool {
        self.count += 1;
        if self.first.len() < NAMED && !self.first.contains(&item) {
            self.first.push(item);
            true
        } else {
            false
        }
    }

    /// Every distinct item is in `first` (fewer than [`NAMED`] came), so
    /// the rest of `count` are repeats of them.
    pub fn all_kept(&self) -> bool {
        self.first.len() < NAMED
    }
}

/// What one valid reply was.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reply {
    pub mac: MacAddr,
    /// From the latest request's send time to this reply's read time.
    pub rtt: Option<Duration>,
    /// No request from us was waiting for this MAC's answer.
    pub unsolicited: bool,
    /// The first [`NAMED`] other MACs that also answered for the same
    /// address in this run.
    pub others: Vec<MacAddr>,
    /// How many other MACs answered: exact, or a lower bound when
    /// `others_at_least` (more MACs answered than are remembered).
    pub others_count: usize,
    pub others_at_least: bool,
    /// One of the first [`NAMED`] replies since the latest request: shown
    /// one by one. The rest are counted in [`Tracker::unlisted`].
    pub listed: bool,
}

impl Reply {
    pub fn duplicate(&self) -> bool {
        self.others_count > 0
    }
}

/// Matches replies to requests for one target address. Its size is bounded
/// whatever arrives: at most [`MAX_MACS`] MACs, [`NAMED`] examples of
/// invalid replies, and one RTT per request sent.
#[derive(Debug, Default)]
pub struct Tracker {
    pub sent: u64,
    /// Requests that got at least one answer.
    pub received: u64,
    last_sent: Option<Instant>,
    /// MACs that answered the latest request (at most [`MAX_MACS`]).
    answered_latest: Vec<MacAddr>,
    /// Replies listed since the latest request.
    listed_latest: usize,
    /// MACs that answered, in order of first answer, with counts: the
    /// first [`MAX_MACS`].
    pub macs: Vec<(MacAddr, u64)>,
    /// Replies from MACs past the first [`MAX_MACS`]: counted, not kept.
    pub not_kept: u64,
    /// Replies not listed one by one (more than [`NAMED`] for a request).
    pub unlisted: u64,
    /// Replies for the target with a sender MAC no host has.
    pub invalid: Sample<(MacAddr, BadMac)>,
    /// Advertisements for the target that fail NDP's checks (IPv6 only).
    pub rejected: Sample<(MacAddr, AdvertReject)>,
    /// Frames dropped unread (a flood), set at the end.
    pub dropped: super::link::Drops,
    pub rtts: Vec<Duration>,
}

impl Tracker {
    pub fn on_send(&mut self, at: Instant) {
        self.sent += 1;
        self.last_sent = Some(at);
        self.answered_latest.clear();
        self.listed_latest = 0;
    }

    /// A reply is matched to the latest request (ARP has no sequence
    /// number; late answers to older requests count against the newest,
    /// as arping does). A second answer from the same MAC to the same
    /// request, or an answer before any request, is unsolicited.
    pub fn on_reply(&mut self, mac: MacAddr, at: Instant) -> Reply {
        let room = self.macs.len() < MAX_MACS;
        let kept = match self.macs.iter_mut().find(|(m, _)| *m == mac) {
            Some((_, n)) => {
                *n += 1;
                true
            }
            None if room => {
                self.macs.push((mac, 1));
                true
            }
            None => {
                self.not_kept += 1;
                false
            }
        };
        let others = self
            .macs
            .iter()
            .map(|(m, _)| *m)
            .filter(|m| *m != mac)
            .take(NAMED)
            .collect();
        let others_count = self.macs.len() - usize::from(kept);
        let outstanding = self.last_sent.is_some() && !self.answered_latest.contains(&mac);
        let rtt = self.last_sent.map(|s| at.saturating_duration_since(s));
        if outstanding {
            if self.answered_latest.is_empty() {
                self.received += 1;
                if let Some(r) = rtt {
                    self.rtts.push(r);
                }
            }
            if self.answered_latest.len() < MAX_MACS {
                self.answered_latest.push(mac);
            }
        }
        let listed = self.listed_latest < NAMED;
        if listed {
            self.listed_latest += 1;
        } else {
            self.unlisted += 1;
        }
        Reply {
            mac,
            rtt: rtt.filter(|_| outstanding),
            unsolicited: !outstanding,
            others,
            others_count,
            others_at_least: self.not_kept > 0,
            listed,
        }
    }

    /// A reply for the target whose sender MAC is invalid: counted, never
    /// an answer. True if it is one of the first [`NAMED`], to be shown.
    pub fn on_invalid(&mut self, mac: MacAddr, why: BadMac) -> bool {
        self.invalid.add((mac, why));
        self.invalid.count <= NAMED as u64
    }

    /// An advertisement for the target that fails NDP's checks: counted,
    /// never an answer. True if it is one of the first [`NAMED`].
    pub fn on_rejected(&mut self, mac: MacAddr, why: AdvertReject) -> bool {
        self.rejected.add((mac, why));
        self.rejected.count <= NAMED as u64
    }

    /// True while the latest request has no answer.
    pub fn waiting(&self) -> bool {
        self.last_sent.is_some() && self.answered_latest.is_empty()
    }

    pub fn stats(&self) -> Option<RttStats> {
        let ms: Vec<f64> = self.rtts.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        Spread::of_ms(&ms)
    }

    pub fn loss_pct(&self) -> f64 {
        loss_pct(self.sent, self.received)
    }
}

/// The share of `sent` requests that got no answer, in percent.
#[allow(
    clippy::cast_precision_loss,
    reason = "packet counts stay far below 2^52"
)]
pub fn loss_pct(sent: u64, received: u64) -> f64 {
    if sent == 0 {
        0.0
    } else {
        100.0 * (sent - received.min(sent)) as f64 / sent as f64
    }
}

/// The RTT line: min/avg/max/mdev in milliseconds.
pub type RttStats = Spread;

#[cfg(test)]
mod tests {
    use super::*;

    const US: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 1]);
    const B: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 2]);
    const C: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 3]);

    fn me() -> Me {
        Me {
            mac: US,
            ip: Ipv4Addr::new(198, 51, 100, 1),
        }
    }

    fn reply_from(mac: MacAddr, ip: Ipv4Addr, to: Me) -> [u8; 60] {
        frame(to.mac, Me { mac, ip }, Operation::Reply, to.mac, to.ip)
    }

    #[test]
    fn request_is_the_vector_layout() {
        let me = Me {
            mac: "00:05:5d:61:58:a8".parse().unwrap(),
            ip: Ipv4Addr::new(192, 168, 0, 55),
        };
        let f = request(me, Ipv4Addr::new(192, 168, 0, 2));
        let want = crate::wire::tests::vector("arp-request.hex").concat();
        assert_eq!(&f[..42], &want[..42]);
        assert_eq!(f.len(), 60);
    }

    #[test]
    fn the_vector_reply_validates_for_its_asker() {
        let bytes = crate::wire::tests::vector("arp-reply.hex").concat();
        let asker = Me {
            mac: "00:05:5d:61:58:a8".parse().unwrap(),
            ip: Ipv4Addr::new(192, 168, 0, 55),
        };
        let r = validate(&bytes, asker).unwrap();
        assert_eq!(r.sender_ip, Ipv4Addr::new(192, 168, 0, 2));
        // The same frame is not for anyone else.
        assert_eq!(validate(&bytes, me()), Err(Reject::NotForUs));
    }

    #[test]
    fn every_validation_rule_rejects() {
        let peer = Ipv4Addr::new(198, 51, 100, 2);
        let good = reply_from(B, peer, me());
        assert!(validate(&good, me()).is_ok());
        let with = |i: usize, v: u8| {
            let mut f = good;
            f[i] = v;
            f
        };
        assert_eq!(validate(&with(13, 0x00), me()), Err(Reject::NotArp));
        assert_eq!(validate(&good[..41], me()), Err(Reject::Short));
        assert_eq!(
            validate(&with(15, 6), me()),
            Err(Reject::Malformed),
            "htype"
        );
        assert_eq!(
            validate(&with(16, 0x86), me()),
            Err(Reject::Malformed),
            "ptype"
        );
        assert_eq!(validate(&with(18, 8), me()), Err(Reject::Malformed), "hlen");
        assert_eq!(validate(&with(19, 6), me()), Err(Reject::Malformed), "plen");
        assert_eq!(
            validate(&with(21, 1), me()),
            Err(Reject::NotReply),
            "opcode"
        );
        assert_eq!(
            validate(&with(41, 9), me()),
            Err(Reject::NotForUs),
            "target ip"
        );
        assert_eq!(
            validate(&with(37, 9), me()),
            Err(Reject::NotForUs),
            "target mac"
        );
        let from_us = reply_from(US, peer, me());
        assert_eq!(validate(&from_us, me()), Err(Reject::FromUs));
        let zero = reply_from(MacAddr::ZERO, peer, me());
        assert!(
            matches!(
                validate(&zero, me()),
                Err(Reject::InvalidSender(_, BadMac::Zero))
            ),
            "sender MAC"
        );
        // Our own request looped back is not a reply.
        assert!(validate(&request(me(), peer), me()).is_err());
    }

    #[test]
    fn replies_match_requests_and_duplicates_are_flagged() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut t = Tracker::default();
        assert!(t.on_reply(B, t0).unsolicited, "before any request");
        t.on_send(ms(0));
        assert!(t.waiting());
        let r = t.on_reply(B, ms(1));
        assert!(!r.unsolicited && r.others.is_empty());
        assert_eq!(r.rtt, Some(Duration::from_millis(1)));
        assert!(!t.waiting());
        // A spoofer answers the same request: flagged with both MACs.
        let r = t.on_reply(C, ms(2));
        assert_eq!(r.others, [B]);
        assert!(!r.unsolicited);
        // B again for the same request: unsolicited.
        assert!(t.on_reply(B, ms(3)).unsolicited);
        t.on_send(ms(1000));
        let r = t.on_reply(C, ms(1002));
        assert_eq!(r.others, [B]);
        t.on_send(ms(2000));
        assert_eq!((t.sent, t.received), (3, 2));
        assert!((t.loss_pct() - 100.0 / 3.0).abs() < 1e-9);
        assert_eq!(t.macs, [(B, 3), (C, 2)]);
    }

    #[test]
    fn zero_broadcast_and_multicast_sender_macs_are_invalid() {
        let peer = Ipv4Addr::new(198, 51, 100, 2);
        for (mac, why) in [
            (MacAddr::ZERO, BadMac::Zero),
            (MacAddr::BROADCAST, BadMac::Broadcast),
            (MacAddr([0x01, 0x00, 0x5e, 0, 0, 1]), BadMac::Multicast),
            (MacAddr([0x33, 0x33, 0, 0, 0, 1]), BadMac::Multicast),
            (MacAddr([0x03, 0, 0, 0, 0, 9]), BadMac::Multicast),
        ] {
            // The Ethernet source stays a host's: only the ARP sender lies.
            let mut f = reply_from(B, peer, me());
            f[22..28].copy_from_slice(&mac.0);
            match validate(&f, me()) {
                Err(Reject::InvalidSender(r, w)) => {
                    assert_eq!((w, r.sender_mac, r.sender_ip), (why, mac, peer), "{mac}");
                }
                other => panic!("{mac}: {other:?}"),
            }
            assert_eq!(BadMac::check(mac), Some(why));
        }
        // Unicast MACs, vendor or locally administered, are hosts'.
        for mac in [B, MacAddr([0x00, 0x05, 0x5d, 0x61, 0x58, 0xa8])] {
            assert_eq!(BadMac::check(mac), None);
            assert!(validate(&reply_from(mac, peer, me()), me()).is_ok());
        }
    }

    #[test]
    fn a_flood_of_distinct_macs_leaves_the_tracker_bounded() {
        let t0 = Instant::now();
        let mac = |i: u32| {
            let b = i.to_be_bytes();
            MacAddr([0x02, 0x99, b[0], b[1], b[2], b[3]])
        };
        let mut t = Tracker::default();
        t.on_send(t0);
        let n = 10_000u32;
        for i in 0..n {
            let r = t.on_reply(mac(i), t0 + Duration::from_micros(u64::from(i)));
            assert!(r.others.len() <= NAMED);
            assert_eq!(r.listed, (i as usize) < NAMED, "{i}");
        }
        assert_eq!(t.macs.len(), MAX_MACS);
        assert_eq!(t.not_kept, u64::from(n) - MAX_MACS as u64);
        assert_eq!(t.unlisted, u64::from(n) - NAMED as u64);
        assert_eq!((t.sent, t.received, t.rtts.len()), (1, 1, 1));
        assert!(t.answered_latest.len() <= MAX_MACS);
        let r = t.on_reply(mac(n), t0);
        assert_eq!(r.others.len(), NAMED);
        assert_eq!(r.others_count, MAX_MACS);
        assert!(r.others_at_least && r.duplicate() && !r.listed);
        // A remembered MAC is not its own "other".
        let r = t.on_reply(mac(0), t0);
        assert_eq!(r.others_count, MAX_MACS - 1);
        assert!(!r.others.contains(&mac(0)));
        // The next request lists its first replies again.
        t.on_send(t0 + Duration::from_secs(1));
        assert!(t.on_reply(mac(1), t0 + Duration::from_secs(1)).listed);
        for i in 0..100 {
            t.on_invalid(MacAddr::ZERO, BadMac::Zero);
            assert!(t.invalid.first.len() <= NAMED, "{i}");
        }
        assert_eq!(t.invalid.count, 100);
    }

    #[test]
    fn a_sample_keeps_distinct_examples_and_counts_every_item() {
        let mut s = Sample::default();
        for _ in 0..10 {
            s.add(B);
        }
        assert!(s.add(C));
        assert!(!s.add(B));
        assert_eq!((s.count, s.first.clone()), (12, vec![B, C]));
        assert!(s.all_kept());
        for i in 0..20u8 {
            s.add(MacAddr([2, 0, 0, 0, 1, i]));
        }
        assert_eq!(s.first.len(), NAMED);
        assert_eq!(s.count, 32);
        assert!(!s.all_kept());
    }

    #[test]
    fn rtt_statistics() {
        let s = Spread::of_ms(&[1.0, 3.0]).unwrap();
        assert_eq!((s.min_ms, s.avg_ms, s.max_ms), (1.0, 2.0, 3.0));
        assert!((s.mdev_ms - 1.0).abs() < 1e-9);
        assert!(Spread::of_ms(&[]).is_none());
    }

    proptest::proptest! {
        #[test]
        fn validation_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..100)) {
            let _ = validate(&bytes, me());
        }
    }
}
