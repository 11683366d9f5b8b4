//! Ethernet II frames: 6-byte destination, 6-byte source, 2-byte
//! ethertype, payload. The 4-byte FCS is not seen by raw sockets.

use super::{Field, MacAddr, WireError};

/// Where the header's fields lie.
mod field {
    use crate::wire::Field;

    pub const DESTINATION: Field = 0..6;
    pub const SOURCE: Field = 6..12;
    pub const ETHERTYPE: Field = 12..14;
}

pub const HEADER_LEN: usize = field::ETHERTYPE.end;
/// Smallest frame on the wire without FCS: 14 + 46 bytes of payload; the
/// NIC or the kernel pads shorter frames.
pub const MIN_FRAME_LEN: usize = 60;

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_ARP: u16 = 0x0806;

/// A checked view over an Ethernet frame.
#[derive(Debug, Clone)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Wrap `buffer` after checking it holds at least a header.
    ///
    /// # Errors
    /// `Truncated` when it does not.
    pub fn new_checked(buffer: T) -> Result<Frame<T>, WireError> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(WireError::Truncated("Ethernet header is 14 bytes"));
        }
        Ok(Frame { buffer })
    }

    fn mac(&self, f: Field) -> MacAddr {
        MacAddr(self.buffer.as_ref()[f].try_into().unwrap_or_default())
    }

    pub fn dst(&self) -> MacAddr {
        self.mac(field::DESTINATION)
    }

    pub fn src(&self) -> MacAddr {
        self.mac(field::SOURCE)
    }

    pub fn ethertype(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::ETHERTYPE];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Everything after the header, padding included.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    pub fn set_dst(&mut self, m: MacAddr) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&m.0);
    }
    pub fn set_src(&mut self, m: MacAddr) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&m.0);
    }
    pub fn set_ethertype(&mut self, t: u16) {
        self.buffer.as_mut()[field::ETHERTYPE].copy_from_slice(&t.to_be_bytes());
    }
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }
}

/// The header as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub dst: MacAddr,
    pub src: MacAddr,
    pub ethertype: u16,
}

impl Repr {
    pub fn parse<T: AsRef<[u8]>>(frame: &Frame<T>) -> Repr {
        Repr {
            dst: frame.dst(),
            src: frame.src(),
            ethertype: frame.ethertype(),
        }
    }

    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut Frame<T>) {
        frame.set_dst(self.dst);
        frame.set_src(self.src);
        frame.set_ethertype(self.ethertype);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tests::vector;

    #[test]
    fn parses_the_request_vector_header() {
        let layers = vector("arp-request.hex");
        let f = Frame::new_checked(&layers[0][..]).unwrap();
        assert_eq!(f.dst(), MacAddr::BROADCAST);
        assert_eq!(f.src().to_string(), "00:05:5d:61:58:a8");
        assert_eq!(f.ethertype(), ETHERTYPE_ARP);
        assert!(f.payload().is_empty());
    }

    #[test]
    fn emit_matches_the_reply_vector_byte_for_byte() {
        let want = &vector("arp-reply.hex")[0];
        let mut buf = [0xa5u8; HEADER_LEN];
        let mut f = Frame::new_checked(&mut buf[..]).unwrap();
        Repr {
            dst: "00:05:5d:61:58:a8".parse().unwrap(),
            src: "00:05:5d:a1:b8:40".parse().unwrap(),
            ethertype: ETHERTYPE_ARP,
        }
        .emit(&mut f);
        assert_eq!(&buf[..], &want[..]);
    }

    #[test]
    fn short_frames_are_rejected() {
        for n in 0..HEADER_LEN {
            assert!(Frame::new_checked(&[0u8; 20][..n]).is_err(), "{n}");
        }
    }
}
