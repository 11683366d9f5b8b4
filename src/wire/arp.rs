//! ARP (RFC 826) for Ethernet and IPv4: the only pairing nettool speaks.
//!
//! ```text
//!  0        2        4    5    6        8        14       18       24       28
//! +--------+--------+----+----+--------+--------+--------+--------+--------+
//! | htype  | ptype  |hlen|plen|  oper  |  sha   |  spa   |  tha   |  tpa   |
//! |  = 1   |=0x0800 | =6 | =4 | 1 / 2  | 6 bytes| 4 bytes| 6 bytes| 4 bytes|
//! +--------+--------+----+----+--------+--------+--------+--------+--------+
//! ```
//! The view checks the fixed part and the lengths hlen/plen declare; the
//! `Repr` insists on Ethernet/IPv4. Bytes after the packet (Ethernet
//! padding up to 60 bytes) are ignored.

use std::net::Ipv4Addr;

use super::{Field, MacAddr, WireError};

/// An Ethernet/IPv4 ARP packet.
pub const PACKET_LEN: usize = 28;

pub const HTYPE_ETHERNET: u16 = 1;
pub const PTYPE_IPV4: u16 = 0x0800;

/// Where the fields lie. The four addresses follow the fixed part, their
/// lengths given by `hlen` and `plen`.
mod field {
    use crate::wire::Field;

    pub const HTYPE: Field = 0..2;
    pub const PTYPE: Field = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Field = 6..8;
    /// The fixed part: htype, ptype, hlen, plen, oper.
    pub const FIXED_LEN: usize = 8;

    /// Sender hardware address.
    pub fn sha(hlen: usize, _plen: usize) -> Field {
        FIXED_LEN..FIXED_LEN + hlen
    }
    /// Sender protocol address.
    pub fn spa(hlen: usize, plen: usize) -> Field {
        FIXED_LEN + hlen..FIXED_LEN + hlen + plen
    }
    /// Target hardware address.
    pub fn tha(hlen: usize, plen: usize) -> Field {
        FIXED_LEN + hlen + plen..FIXED_LEN + 2 * hlen + plen
    }
    /// Target protocol address.
    pub fn tpa(hlen: usize, plen: usize) -> Field {
        FIXED_LEN + 2 * hlen + plen..FIXED_LEN + 2 * (hlen + plen)
    }
}

super::enum_with_unknown! {
    /// The ARP operation (`oper`).
    pub enum Operation(u16) {
        Request = 1,
        Reply = 2,
    }
}

/// A checked view over an ARP packet of any hardware/protocol type.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Check the fixed part and that the addresses hlen/plen announce fit.
    ///
    /// # Errors
    /// `Truncated` when either does not.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, WireError> {
        let b = buffer.as_ref();
        if b.len() < field::FIXED_LEN {
            return Err(WireError::Truncated("ARP fixed header is 8 bytes"));
        }
        let (hlen, plen) = (usize::from(b[field::HLEN]), usize::from(b[field::PLEN]));
        if b.len() < field::tpa(hlen, plen).end {
            return Err(WireError::Truncated("ARP addresses run past the end"));
        }
        Ok(Packet { buffer })
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }
    fn u16_at(&self, f: Field) -> u16 {
        let b = &self.b()[f];
        u16::from_be_bytes([b[0], b[1]])
    }
    pub fn htype(&self) -> u16 {
        self.u16_at(field::HTYPE)
    }
    pub fn ptype(&self) -> u16 {
        self.u16_at(field::PTYPE)
    }
    pub fn hlen(&self) -> u8 {
        self.b()[field::HLEN]
    }
    pub fn plen(&self) -> u8 {
        self.b()[field::PLEN]
    }
    pub fn operation(&self) -> Operation {
        Operation::from(self.u16_at(field::OPER))
    }
    /// One of the address fields, placed by this packet's hlen and plen.
    fn address(&self, at: fn(usize, usize) -> Field) -> &[u8] {
        &self.b()[at(usize::from(self.hlen()), usize::from(self.plen()))]
    }
    /// Sender hardware address.
    pub fn sha(&self) -> &[u8] {
        self.address(field::sha)
    }
    /// Sender protocol address.
    pub fn spa(&self) -> &[u8] {
        self.address(field::spa)
    }
    /// Target hardware address.
    pub fn tha(&self) -> &[u8] {
        self.address(field::tha)
    }
    /// Target protocol address.
    pub fn tpa(&self) -> &[u8] {
        self.address(field::tpa)
    }
}

/// An Ethernet/IPv4 ARP packet as values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub operation: Operation,
    pub sender_mac: MacAddr,
    pub sender_ip: Ipv4Addr,
    pub target_mac: MacAddr,
    pub target_ip: Ipv4Addr,
}

impl Repr {
    /// Parse, insisting on htype 1, ptype 0x0800, hlen 6, plen 4.
    ///
    /// # Errors
    /// `Malformed` for any other hardware or protocol type or length.
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<Repr, WireError> {
        if p.htype() != HTYPE_ETHERNET {
            return Err(WireError::Malformed("hardware type is not Ethernet (1)"));
        }
        if p.ptype() != PTYPE_IPV4 {
            return Err(WireError::Malformed("protocol type is not IPv4 (0x0800)"));
        }
        if p.hlen() != 6 || p.plen() != 4 {
            return Err(WireError::Malformed("Ethernet/IPv4 ARP has hlen 6, plen 4"));
        }
        let ip = |b: &[u8]| Ipv4Addr::new(b[0], b[1], b[2], b[3]);
        Ok(Repr {
            operation: p.operation(),
            sender_mac: MacAddr::from_slice(p.sha()).unwrap_or_default(),
            sender_ip: ip(p.spa()),
            target_mac: MacAddr::from_slice(p.tha()).unwrap_or_default(),
            target_ip: ip(p.tpa()),
        })
    }

    /// Write the 28-byte packet at the start of `buf`.
    ///
    /// # Errors
    /// `Truncated` when `buf` is shorter.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), WireError> {
        let b = buf
            .get_mut(..PACKET_LEN)
            .ok_or(WireError::Truncated("ARP packet needs 28 bytes"))?;
        let (hlen, plen) = (6, 4);
        b[field::HTYPE].copy_from_slice(&HTYPE_ETHERNET.to_be_bytes());
        b[field::PTYPE].copy_from_slice(&PTYPE_IPV4.to_be_bytes());
        b[field::HLEN] = 6;
        b[field::PLEN] = 4;
        b[field::OPER].copy_from_slice(&u16::from(self.operation).to_be_bytes());
        b[field::sha(hlen, plen)].copy_from_slice(&self.sender_mac.0);
        b[field::spa(hlen, plen)].copy_from_slice(&self.sender_ip.octets());
        b[field::tha(hlen, plen)].copy_from_slice(&self.target_mac.0);
        b[field::tpa(hlen, plen)].copy_from_slice(&self.target_ip.octets());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ethernet::{self, ETHERTYPE_ARP, Frame};
    use crate::wire::tests::vector;

    fn whole(name: &str) -> Vec<u8> {
        vector(name).concat()
    }

    #[test]
    fn request_vector_every_field() {
        let bytes = whole("arp-request.hex");
        assert_eq!(bytes.len(), 60);
        let f = Frame::new_checked(&bytes[..]).unwrap();
        assert_eq!(f.ethertype(), ETHERTYPE_ARP);
        let p = Packet::new_checked(f.payload()).unwrap();
        assert_eq!(
            (p.htype(), p.ptype(), p.hlen(), p.plen()),
            (1, 0x0800, 6, 4)
        );
        let r = Repr::parse(&p).unwrap();
        assert_eq!(
            r,
            Repr {
                operation: Operation::Request,
                sender_mac: "00:05:5d:61:58:a8".parse().unwrap(),
                sender_ip: Ipv4Addr::new(192, 168, 0, 55),
                target_mac: MacAddr::ZERO,
                target_ip: Ipv4Addr::new(192, 168, 0, 2),
            }
        );
    }

    #[test]
    fn reply_vector_every_field() {
        let bytes = whole("arp-reply.hex");
        let f = Frame::new_checked(&bytes[..]).unwrap();
        let r = Repr::parse(&Packet::new_checked(f.payload()).unwrap()).unwrap();
        assert_eq!(r.operation, Operation::Reply);
        assert_eq!(r.sender_mac.to_string(), "00:05:5d:a1:b8:40");
        assert_eq!(r.sender_ip, Ipv4Addr::new(192, 168, 0, 2));
        assert_eq!(r.target_mac.to_string(), "00:05:5d:61:58:a8");
        assert_eq!(r.target_ip, Ipv4Addr::new(192, 168, 0, 55));
    }

    /// Emit both vectors from their fields into 0xa5-filled buffers; the
    /// 42 meaningful bytes match, the padding is ours to choose.
    #[test]
    fn emit_reproduces_the_vectors() {
        for name in ["arp-request.hex", "arp-reply.hex"] {
            let want = whole(name);
            let f = Frame::new_checked(&want[..]).unwrap();
            let eth = ethernet::Repr::parse(&f);
            let arp = Repr::parse(&Packet::new_checked(f.payload()).unwrap()).unwrap();
            let mut buf = [0xa5u8; 42];
            let mut out = Frame::new_checked(&mut buf[..]).unwrap();
            eth.emit(&mut out);
            arp.emit(out.payload_mut()).unwrap();
            assert_eq!(&buf[..], &want[..42], "{name}");
        }
    }

    #[test]
    fn operation_numbers() {
        let named = [(Operation::Request, 1), (Operation::Reply, 2)];
        crate::wire::tests::assert_numeric_enum(&named, 0..=u16::MAX, Operation::Unknown);
    }

    #[test]
    fn malformed_packets_are_rejected() {
        let good = whole("arp-reply.hex")[14..42].to_vec();
        for n in 0..PACKET_LEN {
            assert!(Packet::new_checked(&good[..n]).is_err(), "truncated to {n}");
        }
        let with = |i: usize, v: u8| {
            let mut b = good.clone();
            b[i] = v;
            b
        };
        // hlen 7 makes the addresses run past the end of 28 bytes.
        assert!(Packet::new_checked(&with(field::HLEN, 7)[..]).is_err());
        let (htype, ptype) = (field::HTYPE.start, field::PTYPE.start);
        for bad in [
            with(htype + 1, 6),
            with(ptype, 0x86),
            with(field::HLEN, 4),
            with(field::PLEN, 16),
        ] {
            let parsed = Packet::new_checked(&bad[..])
                .map_err(|_| ())
                .and_then(|p| Repr::parse(&p).map_err(|_| ()));
            assert!(parsed.is_err(), "{bad:02x?}");
        }
        let oper_low = field::OPER.end - 1;
        let op = Repr::parse(&Packet::new_checked(&with(oper_low, 9)[..]).unwrap()).unwrap();
        assert_eq!(op.operation, Operation::Unknown(9));
        assert!(
            Repr::parse(&Packet::new_checked(&good[..]).unwrap())
                .unwrap()
                .emit(&mut [0u8; 27])
                .is_err()
        );
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..80)) {
            if let Ok(f) = Frame::new_checked(&bytes[..]) {
                let _ = ethernet::Repr::parse(&f);
                if let Ok(p) = Packet::new_checked(f.payload()) {
                    let _ = (p.sha(), p.spa(), p.tha(), p.tpa(), p.operation());
                    let _ = Repr::parse(&p);
                }
            }
            if let Ok(p) = Packet::new_checked(&bytes[..]) {
                let _ = (p.sha(), p.spa(), p.tha(), p.tpa());
                let _ = Repr::parse(&p);
            }
        }

        #[test]
        fn parse_emit_round_trip(op in 1u16..3, smac: [u8; 6], sip: [u8; 4], tmac: [u8; 6], tip: [u8; 4]) {
            let r = Repr {
                operation: Operation::from(op),
                sender_mac: MacAddr(smac),
                sender_ip: sip.into(),
                target_mac: MacAddr(tmac),
                target_ip: tip.into(),
            };
            let mut buf = [0u8; PACKET_LEN];
            r.emit(&mut buf).unwrap();
            proptest::prop_assert_eq!(Repr::parse(&Packet::new_checked(&buf[..]).unwrap()).unwrap(), r);
        }
    }
}
