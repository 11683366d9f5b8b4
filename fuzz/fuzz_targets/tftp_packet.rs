//! The TFTP codec: any datagram parses or is refused without panicking, and
//! whatever parses comes back the same after emit -> parse.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nettool::wire::tftp::Packet;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = Packet::parse(data) else { return };
    let bytes = p.to_vec();
    let again = Packet::parse(&bytes).expect("an emitted packet parses");
    assert_eq!(p, again);
});
