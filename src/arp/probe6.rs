//! The IPv6 side of the probe logic, without I/O: the frames a probe, a
//! duplicate address detection and an announcement send (RFC 4861,
//! RFC 4862), and what a received NDP frame means for them. The loop in
//! `arp::run_probe` and the MAC-based [`super::probe::Tracker`] are the
//! same as for ARP.

use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, Ipv6Addr};

use super::probe::{BadMac, Heard};
use crate::wire::MacAddr;
use crate::wire::icmpv6::{self, AdvertReject, ND_HOP_LIMIT, NdRepr, NdpFrame, validate_advert};
use crate::wire::{ethernet, ipv6};

/// Our side of an IPv6 exchange and what is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ask6 {
    pub mac: MacAddr,
    /// `::` in duplicate address detection; the announced address in an
    /// announcement.
    pub ip: Ipv6Addr,
    pub target: Ipv6Addr,
    /// RFC 7527's nonce in our DAD probes: the probe that comes back with
    /// it is ours, one with another nonce is another node's.
    pub nonce: [u8; 6],
}

/// A fresh random nonce (std's per-process hash keys, so no dependency:
/// the nonce needs to differ between nodes, not to be secret).
pub fn nonce() -> [u8; 6] {
    let n = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
        .to_be_bytes();
    [n[0], n[1], n[2], n[3], n[4], n[5]]
}

/// A solicitation for the target: to its solicited-node group with our
/// link-layer address, or, once it answered, straight to `unicast_to`
/// (`--unicast`).
pub fn solicitation(a: &Ask6, unicast_to: Option<MacAddr>) -> Vec<u8> {
    match unicast_to {
        Some(mac) => NdpFrame::solicit_unicast(a.mac, a.ip, a.target, mac),
        None => NdpFrame::solicit(a.mac, a.ip, a.target),
    }
    .to_bytes()
}

/// A DAD probe for the target: from `::`, no link-layer option, our nonce.
pub fn dad_probe(a: &Ask6) -> Vec<u8> {
    NdpFrame::dad_solicit(a.mac, a.target, Some(a.nonce)).to_bytes()
}

/// An unsolicited advertisement of `a.ip` to all nodes, override set;
/// `router` when this host forwards IPv6 on the interface (RFC 4861
/// 7.2.5: a neighbour that hears a router's address advertised with the
/// flag clear drops it from its default routers).
pub fn announcement(a: &Ask6, router: bool) -> Vec<u8> {
    NdpFrame::unsolicited_advert(a.mac, a.ip, router).to_bytes()
}

/// What a frame means to a probe of `a.target`: a valid advertisement
/// for it (all of [`validate_advert`], solicited, to our address, not
/// from us) is a reply from its target link-layer address; one with a
/// MAC no host has is invalid. An answer to a unicast solicitation may
/// leave the link-layer option out (RFC 4861 7.2.4, and Linux does):
/// it is taken from the Ethernet source when that is the MAC asked
/// (`unicast_to`). Any other one sent to our address answers a unicast
/// solicitation we did not send: this host's own reachability checks
/// ask from the same address. It claims no MAC, so it is other traffic,
/// not a forgery.
pub fn hear_probe(a: &Ask6, bytes: &[u8], unicast_to: Option<MacAddr>) -> Heard {
    let (eth_src, ip_dst, solicited, target, mac) = match validate_advert(bytes) {
        Ok(ad) => (
            ad.eth_src,
            ad.ip_dst,
            ad.flags.solicited,
            ad.target,
            ad.target_mac,
        ),
        Err(AdvertReject::NoTargetLinkLayer) => {
            let Ok(f) = NdpFrame::parse(bytes) else {
                return Heard::Nothing;
            };
            let NdRepr::Advert(na) = f.message else {
                return Heard::Nothing;
            };
            if unicast_to != Some(f.eth_src) {
                if f.ip_dst.is_multicast() {
                    return rejected(a, bytes, AdvertReject::NoTargetLinkLayer);
                }
                return Heard::Nothing;
            }
            (
                f.eth_src,
                f.ip_dst,
                na.flags.solicited,
                na.target,
                f.eth_src,
            )
        }
        Err(why) => return rejected(a, bytes, why),
    };
    if target != a.target || !solicited || ip_dst != a.ip || eth_src == a.mac {
        return Heard::Nothing;
    }
    heard(target, mac)
}

/// An advertisement that failed [`validate_advert`] for `why`: rejected
/// when it is one for our target, to us (or to a group), not from us;
/// else other traffic.
fn rejected(a: &Ask6, bytes: &[u8], why: AdvertReject) -> Heard {
    if matches!(why, AdvertReject::NotAdvert | AdvertReject::Malformed(_)) {
        return Heard::Nothing;
    }
    let Ok(f) = NdpFrame::parse(bytes) else {
        return Heard::Nothing;
    };
    let NdRepr::Advert(na) = f.message else {
        return Heard::Nothing;
    };
    let to_us = f.ip_dst == a.ip || f.ip_dst.is_multicast();
    if na.target != a.target || !to_us || f.eth_src == a.mac {
        return Heard::Nothing;
    }
    Heard::Rejected {
        from: IpAddr::V6(na.target),
        mac: f.eth_src,
        why,
    }
}

/// What a frame means to duplicate address detection of `a.target` (RFC
/// 4862 5.4.3, 5.4.4): a valid advertisement for it (any flags: a holder
/// answers `::` at all nodes, S clear), or another node's DAD probe for
/// it (from `::`, hop limit 255, a good checksum, and not our nonce),
/// says the address is taken, by that MAC.
pub fn hear_dad(a: &Ask6, bytes: &[u8]) -> Heard {
    match validate_advert(bytes) {
        Ok(ad) if ad.target == a.target && ad.eth_src != a.mac => {
            return heard(ad.target, ad.target_mac);
        }
        Ok(_) => return Heard::Nothing,
        Err(AdvertReject::NotAdvert) => {}
        Err(why) => return rejected(a, bytes, why),
    }
    let Ok(f) = NdpFrame::parse(bytes) else {
        return Heard::Nothing;
    };
    let NdRepr::Solicit(ns) = f.message else {
        return Heard::Nothing;
    };
    let probe = f.ip_src.is_unspecified() && ns.source_mac.is_none();
    if !probe
        || ns.target != a.target
        || f.hop_limit != ND_HOP_LIMIT
        || f.eth_src == a.mac
        || ns.nonce == Some(a.nonce)
        || !checksum_ok(bytes, f.ip_src, f.ip_dst)
    {
        return Heard::Nothing;
    }
    heard(ns.target, f.eth_src)
}

/// The `ICMPv6` checksum of a parsed frame's message (behind any options
/// headers, as the frame was parsed).
fn checksum_ok(bytes: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> bool {
    bytes
        .get(ethernet::HEADER_LEN..)
        .and_then(|ip| ipv6::Packet::new_checked(ip).ok())
        .is_some_and(|p| {
            p.upper_layer()
                .is_ok_and(|(_, icmp)| icmpv6::checksum_ok(src, dst, icmp))
        })
}

fn heard(target: Ipv6Addr, mac: MacAddr) -> Heard {
    let from = IpAddr::V6(target);
    match BadMac::check(mac) {
        Some(why) => Heard::Invalid { from, mac, why },
        None => Heard::Reply { from, mac },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::icmpv6::{NaFlags, NeighborAdvert, NeighborSolicit};
    use crate::wire::tests::{behind_hop_by_hop, vector};

    fn ip(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }
    const A: MacAddr = MacAddr([2, 0, 0, 0, 0, 0x0a]);
    const B: MacAddr = MacAddr([2, 0, 0, 0, 0, 0x0b]);
    const C: MacAddr = MacAddr([2, 0, 0, 0, 0, 0x0c]);

    /// A asking for B, as in the lab pair the vectors come from.
    fn asker() -> Ask6 {
        Ask6 {
            mac: A,
            ip: ip("2001:db8::1"),
            target: ip("2001:db8::2"),
            nonce: [1, 2, 3, 4, 5, 6],
        }
    }

    fn na(
        eth_src: MacAddr,
        to: Ipv6Addr,
        flags: NaFlags,
        target: &str,
        tlla: Option<MacAddr>,
    ) -> NdpFrame {
        NdpFrame {
            eth_dst: A,
            eth_src,
            ip_src: ip(target),
            ip_dst: to,
            hop_limit: 255,
            message: NdRepr::Advert(NeighborAdvert {
                flags,
                target: ip(target),
                target_mac: tlla,
            }),
        }
    }

    const SO: NaFlags = NaFlags {
        router: false,
        solicited: true,
        override_: true,
    };

    #[test]
    fn our_solicitation_is_the_kernels_byte_for_byte() {
        let want = vector("ndp-ns-resolve.hex").concat();
        assert_eq!(solicitation(&asker(), None), want);
        // Unicast follow-ups go to the MAC and the address themselves.
        let f = NdpFrame::parse(&solicitation(&asker(), Some(B))).unwrap();
        assert_eq!(
            (f.eth_dst, f.ip_dst, f.hop_limit),
            (B, ip("2001:db8::2"), 255)
        );
    }

    #[test]
    fn the_captured_answer_is_a_reply_from_b() {
        let bytes = vector("ndp-na-solicited.hex").concat();
        let from = IpAddr::V6(ip("2001:db8::2"));
        assert_eq!(
            hear_probe(&asker(), &bytes, None),
            Heard::Reply { from, mac: B }
        );
        // Not for another target, nor for another asker's address.
        let other = Ask6 {
            target: ip("2001:db8::3"),
            ..asker()
        };
        assert_eq!(hear_probe(&other, &bytes, None), Heard::Nothing);
        let elsewhere = Ask6 {
            ip: ip("2001:db8::9"),
            ..asker()
        };
        assert_eq!(hear_probe(&elsewhere, &bytes, None), Heard::Nothing);
        // An unsolicited one (S clear, to all nodes) is no answer.
        let unsolicited = vector("ndp-na-unsolicited.hex").concat();
        let three = Ask6 {
            target: ip("2001:db8::3"),
            ..asker()
        };
        assert_eq!(hear_probe(&three, &unsolicited, None), Heard::Nothing);
        // A broken checksum is no answer: rejected, saying why.
        let mut bad = bytes.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(
            hear_probe(&asker(), &bad, None),
            Heard::Rejected {
                from,
                mac: B,
                why: AdvertReject::Checksum
            }
        );
        // The same for another target is other traffic.
        assert_eq!(hear_probe(&other, &bad, None), Heard::Nothing);
    }

    #[test]
    fn replies_are_matched_on_target_flags_and_source() {
        let me = asker();
        let from = IpAddr::V6(me.target);
        let good = na(C, me.ip, SO, "2001:db8::2", Some(C)).to_bytes();
        assert_eq!(hear_probe(&me, &good, None), Heard::Reply { from, mac: C });
        // S clear: not an answer to us.
        let o = NaFlags {
            solicited: false,
            ..SO
        };
        let plain = na(C, me.ip, o, "2001:db8::2", Some(C)).to_bytes();
        assert_eq!(hear_probe(&me, &plain, None), Heard::Nothing);
        // From us (looped back): nothing.
        let ours = na(A, me.ip, SO, "2001:db8::2", Some(A)).to_bytes();
        assert_eq!(hear_probe(&me, &ours, None), Heard::Nothing);
        // A MAC no host has: invalid, with why.
        let zero = MacAddr::ZERO;
        let mut f = na(C, me.ip, SO, "2001:db8::2", Some(zero));
        f.eth_src = zero;
        assert_eq!(
            hear_probe(&me, &f.to_bytes(), None),
            Heard::Invalid {
                from,
                mac: zero,
                why: BadMac::Zero
            }
        );
        // A forger that advertises another MAC than its own, or sends
        // from off-link (hop limit below 255): rejected, never an answer.
        let forged = na(C, me.ip, SO, "2001:db8::2", Some(B)).to_bytes();
        assert_eq!(
            hear_probe(&me, &forged, None),
            Heard::Rejected {
                from,
                mac: C,
                why: AdvertReject::SourceMismatch {
                    ethernet: C,
                    option: B
                }
            }
        );
        let mut far = na(C, me.ip, SO, "2001:db8::2", Some(C));
        far.hop_limit = 64;
        assert_eq!(
            hear_probe(&me, &far.to_bytes(), None),
            Heard::Rejected {
                from,
                mac: C,
                why: AdvertReject::HopLimit(64)
            }
        );
        // Without the link-layer option: an answer from the MAC we asked
        // unicast; to our address otherwise, the answer to the kernel's
        // own unicast check of B (from the same address): other traffic,
        // not a forgery (-d must not fail on it); to a group, rejected.
        let bare = na(B, me.ip, SO, "2001:db8::2", None).to_bytes();
        assert_eq!(hear_probe(&me, &bare, None), Heard::Nothing);
        assert_eq!(hear_probe(&me, &bare, Some(C)), Heard::Nothing);
        assert_eq!(
            hear_probe(&me, &bare, Some(B)),
            Heard::Reply { from, mac: B }
        );
        let o = NaFlags {
            solicited: false,
            ..SO
        };
        let all_nodes = na(B, ip("ff02::1"), o, "2001:db8::2", None).to_bytes();
        assert_eq!(
            hear_probe(&me, &all_nodes, None),
            Heard::Rejected {
                from,
                mac: B,
                why: AdvertReject::NoTargetLinkLayer,
            }
        );
    }

    #[test]
    fn dad_hears_a_holder_or_another_prober_never_itself() {
        let me = Ask6 {
            ip: Ipv6Addr::UNSPECIFIED,
            target: ip("2001:db8::3"),
            ..asker()
        };
        let from = IpAddr::V6(me.target);
        // B's announcement of ::3 (O only, to all nodes): the holder.
        let holder = vector("ndp-na-unsolicited.hex").concat();
        assert_eq!(hear_dad(&me, &holder), Heard::Reply { from, mac: B });
        // B's own DAD probe for ::3, with its nonce: another claimant.
        let probe = vector("ndp-ns-dad.hex").concat();
        assert_eq!(hear_dad(&me, &probe), Heard::Reply { from, mac: B });
        // Either behind a hop-by-hop header (8 bytes of PadN), which the
        // kernel steps over: the same.
        for frame in [&holder, &probe] {
            let hbh = behind_hop_by_hop(frame);
            assert_eq!(hear_dad(&me, &hbh), Heard::Reply { from, mac: B });
        }
        // The same probe with our nonce is ours, looped back.
        let f = NdpFrame::parse(&probe).unwrap();
        let NdRepr::Solicit(ns) = f.message else {
            panic!("{f:?}")
        };
        let looped = Ask6 {
            nonce: ns.nonce.unwrap(),
            ..me
        };
        assert_eq!(hear_dad(&looped, &probe), Heard::Nothing);
        // Our own probe, and probes for other addresses, are nothing.
        assert_eq!(hear_dad(&me, &dad_probe(&me)), Heard::Nothing);
        let two = Ask6 {
            target: ip("2001:db8::2"),
            ..me
        };
        assert_eq!(hear_dad(&two, &probe), Heard::Nothing);
        // A resolution (from an address, with a link-layer option) is not
        // a claim.
        let resolve = NdpFrame {
            message: NdRepr::Solicit(NeighborSolicit {
                target: me.target,
                source_mac: Some(C),
                nonce: None,
            }),
            ..NdpFrame::solicit(C, ip("2001:db8::7"), me.target)
        };
        assert_eq!(hear_dad(&me, &resolve.to_bytes()), Heard::Nothing);
        // A forwarded probe (hop limit 254) is not one.
        let mut hop = NdpFrame::parse(&probe).unwrap();
        hop.hop_limit = 254;
        assert_eq!(hear_dad(&me, &hop.to_bytes()), Heard::Nothing);
    }

    #[test]
    fn announcements_and_dad_probes_are_the_rfc_frames() {
        let me = asker();
        for router in [false, true] {
            let f = NdpFrame::parse(&announcement(&me, router)).unwrap();
            assert_eq!((f.ip_src, f.ip_dst), (me.ip, icmpv6::ALL_NODES));
            let NdRepr::Advert(na) = f.message else {
                panic!("{f:?}")
            };
            assert!(na.flags.override_ && !na.flags.solicited);
            assert_eq!(na.flags.router, router);
            assert_eq!((na.target, na.target_mac), (me.ip, Some(A)));
        }
        let f = NdpFrame::parse(&dad_probe(&me)).unwrap();
        assert!(f.ip_src.is_unspecified());
        assert_eq!(f.ip_dst, icmpv6::solicited_node(me.target));
        let NdRepr::Solicit(ns) = f.message else {
            panic!("{f:?}")
        };
        assert_eq!((ns.source_mac, ns.nonce), (None, Some(me.nonce)));
        assert_ne!(nonce(), nonce());
    }

    proptest::proptest! {
        #[test]
        fn hearing_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = hear_probe(&asker(), &bytes, Some(B));
            let _ = hear_dad(&asker(), &bytes);
        }
    }
}
