//! The IPv6 fixed header (RFC 8200).
//!
//! ```text
//!  0       4            12                      24      32
//! +-------+-------------+-----------------------+-------+
//! |version| traffic cls |       flow label (20 bits)    |
//! +-------+-------------+---------------+-------+-------+
//! |       payload length              | next  | hop   |
//! |                                   | header| limit |
//! +-----------------------------------+-------+-------+
//! |              source address (16 bytes)            |
//! |           destination address (16 bytes)         |
//! +---------------------------------------------------+
//! ```
//! The view checks the header, the version and that the payload length
//! fits the buffer; its payload is exactly those bytes, so Ethernet padding
//! after them is never read as payload. [`Packet::upper_layer`] steps over
//! the extension headers a receiver steps over (hop-by-hop, destination
//! options, a routing header with no segments left) to the protocol after
//! them: a receiver takes a Neighbor Discovery message behind them, so a
//! watcher must too.

use std::net::Ipv6Addr;

use super::{Field, WireError};

pub const HEADER_LEN: usize = 40;
/// The Ethernet type of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// `next_header` of an `ICMPv6` message.
pub const NEXT_HEADER_ICMPV6: u8 = 58;
/// `next_header` of the hop-by-hop options header (RFC 8200 4.3).
pub const NEXT_HEADER_HOP_BY_HOP: u8 = 0;
/// `next_header` of the destination options header (RFC 8200 4.6).
pub const NEXT_HEADER_DEST_OPTS: u8 = 60;
/// `next_header` of the routing header (RFC 8200 4.4).
pub const NEXT_HEADER_ROUTING: u8 = 43;
/// Extension headers [`Packet::upper_layer`] steps over at most: a chain
/// longer than any sender needs is refused, not walked.
pub const MAX_EXTENSION_HEADERS: usize = 8;

/// Where the header's fields lie. Version, traffic class and flow label
/// share the first four bytes: 4, 8 and 20 bits.
mod field {
    use crate::wire::Field;

    pub const VER_TC_FLOW: Field = 0..4;
    pub const PAYLOAD_LEN: Field = 4..6;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: Field = 8..24;
    pub const DST: Field = 24..40;
}

/// The largest flow label: it is 20 bits.
pub const FLOW_LABEL_MAX: u32 = 0xf_ffff;

/// A checked view over an IPv6 packet.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap `buffer` after checking the header, the version and that
    /// `payload_len` bytes follow the header.
    ///
    /// # Errors
    /// `Truncated` for a short header or a payload length past the end,
    /// `Malformed` for a version other than 6.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, WireError> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(WireError::Truncated("IPv6 header is 40 bytes"));
        }
        if b[field::VER_TC_FLOW.start] >> 4 != 6 {
            return Err(WireError::Malformed("IP version is not 6"));
        }
        let p = Packet { buffer };
        if p.buffer.as_ref().len() < HEADER_LEN + usize::from(p.payload_len()) {
            return Err(WireError::Truncated(
                "IPv6 payload length runs past the end",
            ));
        }
        Ok(p)
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn first_word(&self) -> u32 {
        let b = &self.b()[field::VER_TC_FLOW];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    fn addr(&self, f: Field) -> Ipv6Addr {
        let octets: [u8; 16] = self.b()[f].try_into().unwrap_or_default();
        Ipv6Addr::from(octets)
    }

    /// Always 6 in a checked view.
    pub fn version(&self) -> u8 {
        self.b()[field::VER_TC_FLOW.start] >> 4
    }

    pub fn traffic_class(&self) -> u8 {
        // Bits 4..12 of the first word; the mask makes the cast exact.
        ((self.first_word() >> 20) & 0xff) as u8
    }

    pub fn flow_label(&self) -> u32 {
        self.first_word() & FLOW_LABEL_MAX
    }

    pub fn payload_len(&self) -> u16 {
        let b = &self.b()[field::PAYLOAD_LEN];
        u16::from_be_bytes([b[0], b[1]])
    }

    pub fn next_header(&self) -> u8 {
        self.b()[field::NEXT_HEADER]
    }

    pub fn hop_limit(&self) -> u8 {
        self.b()[field::HOP_LIMIT]
    }

    pub fn src(&self) -> Ipv6Addr {
        self.addr(field::SRC)
    }

    pub fn dst(&self) -> Ipv6Addr {
        self.addr(field::DST)
    }

    /// The `payload_len` bytes after the header; what follows them
    /// (Ethernet padding) is not part of it.
    pub fn payload(&self) -> &[u8] {
        &self.b()[HEADER_LEN..HEADER_LEN + usize::from(self.payload_len())]
    }

    /// The protocol after the extension headers a receiver steps over, and
    /// its bytes (the payload without those headers): hop-by-hop (first
    /// only, RFC 8200 4.1), destination options, and a routing header with
    /// no segments left sent to a unicast address (4.4: the receiver goes
    /// on to the next header). Each is its next header (1 byte), its
    /// length in 8-byte units not counting the first (1 byte), then the
    /// rest (a routing header's fourth byte is its segments left).
    ///
    /// # Errors
    /// `Truncated` for a header running past the payload, `Malformed` for
    /// a hop-by-hop header that is not the first or more than
    /// [`MAX_EXTENSION_HEADERS`] headers.
    pub fn upper_layer(&self) -> Result<(u8, &[u8]), WireError> {
        let (mut next, mut rest) = (self.next_header(), self.payload());
        for i in 0..MAX_EXTENSION_HEADERS {
            if next == NEXT_HEADER_HOP_BY_HOP && i > 0 {
                return Err(WireError::Malformed("IPv6 hop-by-hop header not first"));
            }
            let steps_over = match next {
                NEXT_HEADER_HOP_BY_HOP | NEXT_HEADER_DEST_OPTS => true,
                NEXT_HEADER_ROUTING => !self.dst().is_multicast() && rest.get(3) == Some(&0),
                _ => false,
            };
            if !steps_over {
                return Ok((next, rest));
            }
            let (&header_next, &units) = rest.first().zip(rest.get(1)).ok_or(
                WireError::Truncated("IPv6 options header is 2 bytes at least"),
            )?;
            let len = (usize::from(units) + 1) * 8;
            rest = rest.get(len..).ok_or(WireError::Truncated(
                "IPv6 options header runs past the payload",
            ))?;
            next = header_next;
        }
        if matches!(
            next,
            NEXT_HEADER_HOP_BY_HOP | NEXT_HEADER_DEST_OPTS | NEXT_HEADER_ROUTING
        ) {
            return Err(WireError::Malformed("too many IPv6 extension headers"));
        }
        Ok((next, rest))
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }
}

/// The header as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub traffic_class: u8,
    /// 20 bits; `emit` refuses more.
    pub flow_label: u32,
    pub payload_len: u16,
    pub next_header: u8,
    pub hop_limit: u8,
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
}

impl Repr {
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Repr {
        Repr {
            traffic_class: p.traffic_class(),
            flow_label: p.flow_label(),
            payload_len: p.payload_len(),
            next_header: p.next_header(),
            hop_limit: p.hop_limit(),
            src: p.src(),
            dst: p.dst(),
        }
    }

    /// Write the 40-byte header at the start of `buf` (the payload is the
    /// caller's).
    ///
    /// # Errors
    /// `Truncated` when `buf` is shorter than the header, `Malformed` for a
    /// flow label over 20 bits.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), WireError> {
        if self.flow_label > FLOW_LABEL_MAX {
            return Err(WireError::Malformed("IPv6 flow label is 20 bits"));
        }
        let b = buf
            .get_mut(..HEADER_LEN)
            .ok_or(WireError::Truncated("IPv6 header needs 40 bytes"))?;
        let word = (6u32 << 28) | (u32::from(self.traffic_class) << 20) | self.flow_label;
        b[field::VER_TC_FLOW].copy_from_slice(&word.to_be_bytes());
        b[field::PAYLOAD_LEN].copy_from_slice(&self.payload_len.to_be_bytes());
        b[field::NEXT_HEADER] = self.next_header;
        b[field::HOP_LIMIT] = self.hop_limit;
        b[field::SRC].copy_from_slice(&self.src.octets());
        b[field::DST].copy_from_slice(&self.dst.octets());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ethernet::Frame;
    use crate::wire::tests::vector;

    /// The IPv6 header line of a vector and the `ICMPv6` lines after it.
    fn packet(name: &str) -> Vec<u8> {
        vector(name)[1..].concat()
    }

    /// `packet` with the options headers `headers` (each: next header,
    /// length in 8-byte units less one, options) put before its payload.
    fn with_headers(packet: &[u8], headers: &[(u8, u8)]) -> Vec<u8> {
        let mut out = packet[..HEADER_LEN].to_vec();
        let mut first = packet[field::NEXT_HEADER];
        let mut chain = Vec::new();
        for &(kind, units) in headers.iter().rev() {
            let mut h = vec![0u8; (usize::from(units) + 1) * 8];
            h[0] = first;
            h[1] = units;
            // PadN over the rest: what a kernel puts there.
            h[2] = 1;
            h[3] = u8::try_from(h.len() - 4).unwrap();
            h.extend(chain);
            chain = h;
            first = kind;
        }
        out[field::NEXT_HEADER] = first;
        out.extend(chain);
        out.extend_from_slice(&packet[HEADER_LEN..]);
        let len = u16::try_from(out.len() - HEADER_LEN).unwrap();
        out[field::PAYLOAD_LEN].copy_from_slice(&len.to_be_bytes());
        out
    }

    #[test]
    fn the_upper_layer_is_found_behind_options_headers() {
        let plain = packet("ndp-na-solicited.hex");
        let p = Packet::new_checked(&plain[..]).unwrap();
        let want = p.payload().to_vec();
        assert_eq!(p.upper_layer().unwrap(), (NEXT_HEADER_ICMPV6, &want[..]));
        for headers in [
            &[(NEXT_HEADER_HOP_BY_HOP, 0)][..],
            &[(NEXT_HEADER_DEST_OPTS, 2)],
            &[(NEXT_HEADER_HOP_BY_HOP, 0), (NEXT_HEADER_DEST_OPTS, 1)],
        ] {
            let b = with_headers(&plain, headers);
            let p = Packet::new_checked(&b[..]).unwrap();
            assert_eq!(
                p.upper_layer().unwrap(),
                (NEXT_HEADER_ICMPV6, &want[..]),
                "{headers:?}"
            );
        }
        // A routing header with no segments left is stepped over (RFC 8200
        // 4.4) for a unicast destination; with segments left, or to a
        // group, the routing header is what follows (a receiver does not
        // take the message as its own).
        let routed = |segments_left: u8, name: &str| {
            let mut b = with_headers(&packet(name), &[(NEXT_HEADER_ROUTING, 0)]);
            b[HEADER_LEN + 3] = segments_left;
            b
        };
        let done = routed(0, "ndp-na-solicited.hex");
        let p = Packet::new_checked(&done[..]).unwrap();
        assert_eq!(p.upper_layer().unwrap(), (NEXT_HEADER_ICMPV6, &want[..]));
        let more = routed(1, "ndp-na-solicited.hex");
        let p = Packet::new_checked(&more[..]).unwrap();
        assert_eq!(p.upper_layer().unwrap().0, NEXT_HEADER_ROUTING);
        let group = routed(0, "ndp-na-unsolicited.hex");
        let p = Packet::new_checked(&group[..]).unwrap();
        assert!(p.dst().is_multicast());
        assert_eq!(p.upper_layer().unwrap().0, NEXT_HEADER_ROUTING);
        // Hop-by-hop after another header: a receiver drops it.
        let late = with_headers(
            &plain,
            &[(NEXT_HEADER_DEST_OPTS, 0), (NEXT_HEADER_HOP_BY_HOP, 0)],
        );
        assert!(
            Packet::new_checked(&late[..])
                .unwrap()
                .upper_layer()
                .is_err()
        );
        // A chain past the limit, and a header past the payload.
        let long = with_headers(
            &plain,
            &[(NEXT_HEADER_DEST_OPTS, 0); MAX_EXTENSION_HEADERS + 1],
        );
        assert!(
            Packet::new_checked(&long[..])
                .unwrap()
                .upper_layer()
                .is_err()
        );
        let mut cut = with_headers(&plain, &[(NEXT_HEADER_DEST_OPTS, 0)]);
        cut.truncate(HEADER_LEN + 8);
        cut[field::PAYLOAD_LEN].copy_from_slice(&8u16.to_be_bytes());
        cut[HEADER_LEN + 1] = 1;
        assert!(
            Packet::new_checked(&cut[..])
                .unwrap()
                .upper_layer()
                .is_err()
        );
    }

    #[test]
    fn resolution_ns_header_every_field() {
        let bytes = packet("ndp-ns-resolve.hex");
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.version(), 6);
        assert_eq!(
            Repr::parse(&p),
            Repr {
                traffic_class: 0,
                flow_label: 0,
                payload_len: 32,
                next_header: NEXT_HEADER_ICMPV6,
                hop_limit: 255,
                src: "2001:db8::1".parse().unwrap(),
                dst: "ff02::1:ff00:2".parse().unwrap(),
            }
        );
        assert_eq!(p.payload(), &bytes[HEADER_LEN..]);
    }

    #[test]
    fn dad_ns_comes_from_the_unspecified_address() {
        let bytes = packet("ndp-ns-dad.hex");
        let r = Repr::parse(&Packet::new_checked(&bytes[..]).unwrap());
        assert_eq!(r.src, Ipv6Addr::UNSPECIFIED);
        assert_eq!(r.dst, "ff02::1:ff00:3".parse::<Ipv6Addr>().unwrap());
        assert_eq!((r.hop_limit, r.payload_len), (255, 32));
    }

    /// Every captured header, emitted from its fields into 0xa5 bytes.
    #[test]
    fn emit_reproduces_every_vector_header() {
        for name in [
            "ndp-ns-resolve.hex",
            "ndp-ns-dad.hex",
            "ndp-na-solicited.hex",
            "ndp-na-unsolicited.hex",
            "ndp-na-router.hex",
        ] {
            let want = &vector(name)[1];
            let bytes = packet(name);
            let r = Repr::parse(&Packet::new_checked(&bytes[..]).unwrap());
            let mut buf = [0xa5u8; HEADER_LEN];
            r.emit(&mut buf).unwrap();
            assert_eq!(&buf[..], &want[..], "{name}");
        }
    }

    #[test]
    fn traffic_class_and_flow_label_sit_across_byte_boundaries() {
        let r = Repr {
            traffic_class: 0xb8,
            flow_label: 0x1_2345,
            payload_len: 0,
            next_header: 59,
            hop_limit: 64,
            src: Ipv6Addr::LOCALHOST,
            dst: Ipv6Addr::LOCALHOST,
        };
        let mut buf = [0u8; HEADER_LEN];
        r.emit(&mut buf).unwrap();
        assert_eq!(buf[..4], [0x6b, 0x81, 0x23, 0x45]);
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!((p.traffic_class(), p.flow_label()), (0xb8, 0x1_2345));
        assert_eq!(Repr::parse(&p), r);
        let too_big = Repr {
            flow_label: FLOW_LABEL_MAX + 1,
            ..r
        };
        assert!(too_big.emit(&mut buf).is_err());
        assert!(r.emit(&mut [0u8; HEADER_LEN - 1]).is_err());
    }

    #[test]
    fn short_bad_version_and_overlong_payload_are_errors() {
        let good = packet("ndp-na-solicited.hex");
        for n in 0..good.len() {
            assert!(Packet::new_checked(&good[..n]).is_err(), "truncated to {n}");
        }
        for version in [0u8, 4, 5, 7, 15] {
            let mut b = good.clone();
            b[0] = (version << 4) | (b[0] & 0x0f);
            assert_eq!(
                Packet::new_checked(&b[..]).unwrap_err(),
                WireError::Malformed("IP version is not 6"),
                "{version}"
            );
        }
        let mut b = good.clone();
        b[field::PAYLOAD_LEN.end - 1] += 1;
        assert!(matches!(
            Packet::new_checked(&b[..]),
            Err(WireError::Truncated(_))
        ));
    }

    /// Ethernet pads short frames; the payload stops at `payload_len`.
    #[test]
    fn padding_after_the_payload_is_not_payload() {
        let mut bytes = packet("ndp-na-router.hex");
        let n = bytes.len();
        bytes.extend_from_slice(&[0; 20]);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.payload().len(), n - HEADER_LEN);
        // And through an Ethernet frame: the frame's payload is the packet.
        let frame = vector("ndp-na-router.hex").concat();
        let f = Frame::new_checked(&frame[..]).unwrap();
        assert_eq!(
            Packet::new_checked(f.payload()).unwrap().payload().len(),
            32
        );
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..120)) {
            if let Ok(p) = Packet::new_checked(&bytes[..]) {
                let r = Repr::parse(&p);
                proptest::prop_assert_eq!(p.payload().len(), usize::from(r.payload_len));
            }
        }

        #[test]
        fn emit_parse_round_trip(tc: u8, flow in 0..=FLOW_LABEL_MAX, len in 0u16..64, nh: u8, hl: u8, src: [u8; 16], dst: [u8; 16]) {
            let r = Repr {
                traffic_class: tc,
                flow_label: flow,
                payload_len: len,
                next_header: nh,
                hop_limit: hl,
                src: src.into(),
                dst: dst.into(),
            };
            let mut buf = vec![0xa5u8; HEADER_LEN + usize::from(len)];
            r.emit(&mut buf).unwrap();
            proptest::prop_assert_eq!(Repr::parse(&Packet::new_checked(&buf[..]).unwrap()), r);
        }
    }
}
