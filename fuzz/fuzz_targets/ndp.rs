//! The IPv6 / ICMPv6 Neighbor Discovery codec: any bytes, read as an
//! Ethernet frame, go through every view (Ethernet, IPv6, ICMPv6, NS/NA
//! and its options) and are parsed or refused without panicking; a frame
//! that parses emits back to bytes that parse to the same value, with a
//! right checksum; the advertisement check never panics and what it passes
//! keeps its promises. Echo requests and replies (`--localnet -6`) too:
//! one that parses emits back to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nettool::wire::ethernet::{self, Frame};
use nettool::wire::icmpv6::{self, EchoFrame, NdMessage, NdRepr, NdpFrame, validate_advert};
use nettool::wire::ipv6;

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = Frame::new_checked(data) {
        let _ = ethernet::Repr::parse(&f);
        views(f.payload());
    }
    if let Ok(frame) = NdpFrame::parse(data) {
        let bytes = frame.to_bytes();
        assert_eq!(bytes.len(), frame.frame_len());
        assert_eq!(NdpFrame::parse(&bytes), Ok(frame));
        let icmp = &bytes[ethernet::HEADER_LEN + ipv6::HEADER_LEN..];
        assert!(icmpv6::checksum_ok(frame.ip_src, frame.ip_dst, icmp));
        // The message is never longer than the one it came from.
        assert!(bytes.len() <= data.len());
    }
    if let Ok(echo) = EchoFrame::parse(data) {
        let bytes = echo.to_bytes();
        assert_eq!(bytes.len(), echo.frame_len());
        // Every field is kept: the frame emits back as it came, less any
        // Ethernet padding after the IPv6 payload, and for the checksum:
        // one's complement has two zeros (0x0000, 0xffff), both verify,
        // and emit writes the first.
        let at = ethernet::HEADER_LEN + ipv6::HEADER_LEN + 2;
        assert_eq!(&bytes[..at], &data[..at]);
        assert_eq!(&bytes[at + 2..], &data[at + 2..bytes.len()]);
        let (sent, emitted) = (&data[at..at + 2], &bytes[at..at + 2]);
        assert!(sent == emitted || (sent == [0xff, 0xff] && emitted == [0, 0]));
        assert_eq!(EchoFrame::parse(&bytes), Ok(echo));
    }
    if let Ok(a) = validate_advert(data) {
        assert_eq!(a.eth_src, a.target_mac);
        assert!(!a.target.is_multicast());
        assert!(!(a.ip_dst.is_multicast() && a.flags.solicited));
        let frame = NdpFrame::parse(data).expect("a valid advert parses");
        assert_eq!(frame.hop_limit, icmpv6::ND_HOP_LIMIT);
    }
});

/// Every accessor of every view over an IPv6 packet.
fn views(b: &[u8]) {
    let Ok(ip) = ipv6::Packet::new_checked(b) else {
        return;
    };
    let r = ipv6::Repr::parse(&ip);
    let mut out = [0xa5u8; ipv6::HEADER_LEN];
    r.emit(&mut out).expect("a parsed header emits");
    assert_eq!(&out[..], &b[..ipv6::HEADER_LEN]);
    let payload = ip.payload();
    assert_eq!(payload.len(), usize::from(r.payload_len));
    if let Ok((_, upper)) = ip.upper_layer() {
        // What is behind the options headers lies inside the payload.
        assert!(upper.len() <= payload.len());
        assert!(payload.ends_with(upper));
    }
    if let Ok(p) = icmpv6::Packet::new_checked(payload) {
        let _ = (p.msg_type(), p.code(), p.checksum());
        let _ = p.verify_checksum(ip.src(), ip.dst());
    }
    if let Ok(m) = NdMessage::new_checked(payload) {
        let _ = (m.flags(), m.reserved(), m.target(), m.code());
        for o in m.options() {
            let Ok(o) = o else { break };
            assert!(o.data.len() % 8 == 6);
        }
        if let Ok(repr) = NdRepr::parse(&m) {
            let mut buf = vec![0u8; repr.buffer_len()];
            let n = repr.emit(ip.src(), ip.dst(), &mut buf).expect("sized");
            let again = NdMessage::new_checked(&buf[..n]).expect("emitted");
            assert_eq!(NdRepr::parse(&again), Ok(repr));
            assert!(again.verify_checksum(ip.src(), ip.dst()));
        }
    }
}
