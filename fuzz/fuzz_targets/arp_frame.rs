//! The Ethernet/ARP codec and reply validation: any frame is parsed or
//! refused without panicking; a parsed ARP packet emits back to the same
//! 28 bytes.
#![no_main]

use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use nettool::arp::probe::{Me, validate};
use nettool::wire::MacAddr;
use nettool::wire::arp::{PACKET_LEN, Packet, Repr};
use nettool::wire::ethernet::{self, Frame};

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = Frame::new_checked(data) {
        let _ = ethernet::Repr::parse(&f);
        arp_round_trip(f.payload());
    }
    arp_round_trip(data);
    let me = Me {
        mac: "02:00:00:00:00:01".parse::<MacAddr>().unwrap(),
        ip: Ipv4Addr::new(198, 51, 100, 1),
    };
    if let Ok(r) = validate(data, me) {
        assert_eq!(r.target_ip, me.ip);
        assert_eq!(r.target_mac, me.mac);
    }
});

fn arp_round_trip(b: &[u8]) {
    let Ok(p) = Packet::new_checked(b) else {
        return;
    };
    let Ok(r) = Repr::parse(&p) else { return };
    let mut out = [0xa5u8; PACKET_LEN];
    r.emit(&mut out).expect("28 bytes are enough");
    assert_eq!(&out[..], &b[..PACKET_LEN]);
}
