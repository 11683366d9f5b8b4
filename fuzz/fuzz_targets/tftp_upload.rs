//! The upload state machine fed any sequence of datagrams from the server
//! and from strangers, and timeouts, over a file of a given length. It
//! never panics, never reads past the end of the file or sends more than
//! it read, sends DATA no larger than the blksize, and writes only to the
//! server or (ERROR 5) to a stranger. `Acks` steps acknowledge what was
//! sent so far, so long transfers (and 16-bit block wrapping) are reached.
#![no_main]

use std::net::SocketAddr;

use libfuzzer_sys::fuzz_target;
use nettool::tftp::session::{Phase, Requested, Source, Upload};
use nettool::wire::tftp::{ErrorCode, MAX_PACKET, Packet};
use nettool_fuzz::{Bytes, SERVER, STRANGERS, TID, config};

// Input: a flags byte (1 netascii, 2 blksize u16 follows, 4 windowsize
// u16 follows), the file's length u32, then steps, each a tag byte (mod 7)
// and its fields:
//   0 Raw: u16 length + bytes from the server's transfer ID
//   1 Stranger: a byte (even: another host, 127.0.0.2; odd: another port
//     of the server's host, the transfer ID if it answers first), then
//     u16 length + bytes
//   2 Timeout
//   3 ACK: block u16
//   4 OACK: blksize u16, windowsize u16
//   5 ERROR: code u16
//   6 Acks: count (a byte: 0-254, or 255 and k for (k % 16 + 1) x 16384), back u8: ACK the highest DATA block sent so far
//     (less `back`), `count` times, each answer's DATA in turn
/// A file of `len` bytes (CR and LF among them, for netascii), read in
/// order.
struct File {
    len: u64,
    pos: u64,
}

impl Source for File {
    fn read_block(&mut self, buf: &mut Vec<u8>, max: usize) -> std::io::Result<()> {
        let n = (self.len - self.pos).min(max as u64);
        buf.extend((self.pos..self.pos + n).map(|i| if i % 7 == 3 { b'\r' } else { b'\n' }));
        self.pos += n;
        Ok(())
    }
}

/// Enough for 16-bit block numbers to wrap at small block sizes.
const MAX_FILE: u64 = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let mut input = Bytes(data);
    let flags = input.u8().unwrap_or(0);
    let (blksize, windowsize) = input.block_options(flags, 2, 4);
    let len = u64::from(input.u32().unwrap_or(0)) % MAX_FILE;
    let (server, tid, strangers) = (SERVER, TID, STRANGERS);
    let options = Requested {
        blksize,
        windowsize,
        timeout: None,
        tsize: Some(len),
    };
    let cfg = config(flags & 1 != 0, options, None, false);
    let mut up = Upload::new(cfg, server);
    let mut file = File { len, pos: 0 };
    up.start();
    let mut last_sent: u16 = 0;
    let mut acks_left: u32 = 200_000;

    while let Some(tag) = input.u8() {
        let result = match tag % 7 {
            0 => up.on_datagram(tid, input.chunk().unwrap_or_default(), &mut file),
            1 => {
                let from = strangers[usize::from(input.u8().unwrap_or(0) & 1)];
                up.on_datagram(from, input.chunk().unwrap_or_default(), &mut file)
            }
            2 => up.on_timeout(&mut file),
            3 => {
                let block = input.u16().unwrap_or(0);
                up.on_datagram(tid, &Packet::Ack { block }.to_vec(), &mut file)
            }
            4 => {
                let (b, w) = (input.u16().unwrap_or(0), input.u16().unwrap_or(0));
                let (b, w) = (b.to_string(), w.to_string());
                let options = vec![("blksize", b.as_str()), ("windowsize", w.as_str())];
                up.on_datagram(tid, &Packet::Oack { options }.to_vec(), &mut file)
            }
            5 => {
                let p = Packet::Error {
                    code: ErrorCode::from_u16(input.u16().unwrap_or(0)),
                    message: "no",
                };
                up.on_datagram(tid, &p.to_vec(), &mut file)
            }
            _ => {
                let count = input.count().unwrap_or(0);
                let back = input.u8().unwrap_or(0);
                let mut r = Ok(());
                for _ in 0..count {
                    if acks_left == 0 || r.is_err() || up.phase() == Phase::Done {
                        break;
                    }
                    acks_left -= 1;
                    let block = last_sent.wrapping_sub(u16::from(back));
                    r = up.on_datagram(tid, &Packet::Ack { block }.to_vec(), &mut file);
                    last_sent = drain(&mut up, &file, server).unwrap_or(last_sent);
                }
                r
            }
        };
        if let Some(b) = drain(&mut up, &file, server) {
            last_sent = b;
        }
        if result.is_err() || up.phase() == Phase::Done {
            break;
        }
    }
});

/// Check and empty the outbox; the highest DATA block number in it.
fn drain(up: &mut Upload, file: &File, server: SocketAddr) -> Option<u16> {
    assert!(file.pos <= file.len);
    let stats = up.stats();
    assert!(
        stats.bytes <= file.len,
        "read {} of a {}-byte file",
        stats.bytes,
        file.len
    );
    let blksize = usize::from(up.negotiated().blksize);
    let peer = up.peer();
    let mut last = None;
    for (to, bytes) in up.outbox().drain(..) {
        assert!(bytes.len() <= MAX_PACKET);
        let p = Packet::parse(&bytes).expect("we send well-formed packets");
        assert!(
            to == server || to == peer || matches!(p, Packet::Error { .. }),
            "{p:?} to {to}, a stranger"
        );
        if let Packet::Data { block, data } = p {
            assert!(
                data.len() <= blksize,
                "DATA of {} with blksize {blksize}",
                data.len()
            );
            last = Some(block);
        }
    }
    last
}
