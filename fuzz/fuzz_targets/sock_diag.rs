//! sock_diag replies: any datagram (messages and attributes with lying
//! lengths) is framed and parsed or refused, never a panic, never a read
//! past its end.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nettool::sockstat::netlink::parse_datagram;

fuzz_target!(|data: &[u8]| {
    let mut rows = Vec::new();
    let _ = parse_datagram(data, &mut rows);
    // A socket message is at least a netlink header and a diag message.
    assert!(rows.len() <= data.len() / 16);
});
