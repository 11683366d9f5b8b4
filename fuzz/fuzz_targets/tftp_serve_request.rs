//! What a TFTP server's port receives: any datagram goes through the
//! server's request parser and option negotiation. It never panics; a
//! request it takes names a file below the served directory (no leading
//! `/`, no `..` component), and the OACK it would send parses back and
//! stays within the server's limits; an ERROR 8 or 4 comes with a reason.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nettool::tftp::serve::request::{self, Direction, Incoming, Limits};
use nettool::wire::tftp::Packet;

// Input: limits (max blksize u16, max windowsize u16, options on, a
// max-size u32 or none), a file size u32, then the datagram.
fuzz_target!(|data: &[u8]| {
    if data.len() < 11 {
        return;
    }
    let max_blksize = u16::from_be_bytes([data[0], data[1]]).clamp(8, 65464);
    let max_windowsize = u16::from_be_bytes([data[2], data[3]]).max(1);
    let limits = Limits {
        max_blksize,
        max_windowsize,
        options: data[4] & 1 == 0,
        max_size: (data[4] & 2 != 0).then(|| u64::from(u32::from_be_bytes([data[5], data[6], data[7], data[8]]))),
        ..Limits::default()
    };
    let size = u64::from(u16::from_be_bytes([data[9], data[10]])) * 977;
    let datagram = &data[11..];
    match request::parse(datagram) {
        Incoming::Ignored => assert!(matches!(Packet::parse(datagram), Ok(Packet::Error { .. }))),
        Incoming::Refused(r) => assert!(!r.message.is_empty() && !r.why.is_empty()),
        Incoming::Request(req) => {
            assert!(datagram.len() <= 512);
            assert!(!req.filename.starts_with('/'));
            assert!(!req.filename.split('/').any(|c| c == ".."));
            let size = (req.direction == Direction::Read).then_some(size);
            let Ok((neg, oack)) = request::negotiate(&req, &limits, size) else {
                assert!(req.direction == Direction::Write && limits.max_size.is_some());
                return;
            };
            assert!(neg.blksize >= 8 && neg.blksize <= max_blksize.max(512));
            assert!(neg.windowsize >= 1 && neg.windowsize <= max_windowsize);
            assert!(
                neg.windowsize == 1
                    || u64::from(neg.blksize) * u64::from(neg.windowsize) <= limits.window_bytes
            );
            assert!(neg.timeout.is_none_or(|t| u64::from(t) <= request::MAX_TIMEOUT));
            assert_eq!(neg.oack, oack.is_some());
            if let Some(o) = oack {
                assert!(limits.options);
                let Ok(Packet::Oack { options }) = Packet::parse(&o) else {
                    panic!("our OACK does not parse");
                };
                assert!(!options.is_empty());
            }
        }
    }
});
