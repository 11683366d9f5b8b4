//! The download state machine fed any sequence of datagrams from the
//! server and from strangers, and timeouts. It never panics, never hands
//! the sink more than the negotiated size or --max-size allows, only ever
//! sends well-formed packets, and only to the server or (ERROR 5) to a
//! stranger that wrote to it. `Blocks` steps let the fuzzer run long
//! in-order transfers, so block-number wrapping (to 0 or to 1) is reached.
#![no_main]

use std::net::SocketAddr;

use libfuzzer_sys::fuzz_target;
use nettool::tftp::session::{Download, Phase, Requested, Sink};
use nettool::wire::tftp::{self, ErrorCode, MAX_PACKET, Packet};
use nettool_fuzz::{Bytes, SERVER, STRANGERS, TID, config};

// Input: a flags byte (1 ask tsize, 2 netascii, 4 dally, 8 blksize u16
// follows, 16 windowsize u16 follows, 32 --max-size u32 follows), then
// steps, each a tag byte (mod 6) and its fields:
//   0 Raw: u16 length + bytes from the server's transfer ID
//   1 Stranger: a byte (even: another host, 127.0.0.2; odd: another port
//     of the server's host, the transfer ID if it answers first), then
//     u16 length + bytes
//   2 Timeout
//   3 OACK: which u8 (1 windowsize, 2 tsize), blksize u16, windowsize u16,
//     tsize u32 (an option is in the OACK when `which` says so)
//   4 ERROR: code u16
//   5 Blocks: count (a byte: 0-254, or 255 and k for (k % 16 + 1) x 16384), length u16, skew i8, wrap-to-one u8: `count`
//     DATA blocks in order from the harness's counter (shifted by skew),
//     each `length` bytes capped at the blksize.
/// Counts what it is given; keeps nothing.
#[derive(Default)]
struct Counter {
    bytes: u64,
}

impl Sink for Counter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.bytes += data.len() as u64;
        Ok(())
    }
}

/// Enough blocks to pass 65535 twice, few enough to stay quick.
const MAX_BLOCKS: u64 = 140_000;
/// And enough bytes for that at blksize 8 (the seeds that wrap use it);
/// more would only make each run slower.
const MAX_BYTES: u64 = 4 << 20;

fuzz_target!(|data: &[u8]| {
    let mut input = Bytes(data);
    let flags = input.u8().unwrap_or(0);
    let (blksize, windowsize) = input.block_options(flags, 8, 16);
    let max_size = if flags & 32 != 0 {
        input.u32().map(u64::from)
    } else {
        None
    };
    let (server, tid, strangers) = (SERVER, TID, STRANGERS);
    let options = Requested {
        blksize,
        windowsize,
        timeout: None,
        tsize: (flags & 1 != 0).then_some(0),
    };
    let cfg = config(flags & 2 != 0, options, max_size, flags & 4 != 0);
    let mut dl = Download::new(cfg, server);
    let mut sink = Counter::default();
    dl.start();
    let mut next: u64 = 1;
    let mut blocks_sent: u64 = 0;
    let mut bytes_sent: u64 = 0;
    let payload = vec![b'x'; 65464];
    let mut buf = Vec::with_capacity(MAX_PACKET);

    while let Some(tag) = input.u8() {
        let result = match tag % 6 {
            0 => dl.on_datagram(tid, input.chunk().unwrap_or_default(), &mut sink),
            1 => {
                let from = strangers[usize::from(input.u8().unwrap_or(0) & 1)];
                dl.on_datagram(from, input.chunk().unwrap_or_default(), &mut sink)
            }
            2 => dl.on_timeout(),
            3 => {
                let which = input.u8().unwrap_or(0);
                let (b, w, t) = (
                    input.u16().unwrap_or(0).to_string(),
                    input.u16().unwrap_or(0).to_string(),
                    input.u32().unwrap_or(0).to_string(),
                );
                let mut options = vec![("blksize", b.as_str())];
                if which & 1 != 0 {
                    options.push(("windowsize", w.as_str()));
                }
                if which & 2 != 0 {
                    options.push(("tsize", t.as_str()));
                }
                dl.on_datagram(tid, &Packet::Oack { options }.to_vec(), &mut sink)
            }
            4 => {
                let p = Packet::Error {
                    code: ErrorCode::from_u16(input.u16().unwrap_or(0)),
                    message: "no",
                };
                dl.on_datagram(tid, &p.to_vec(), &mut sink)
            }
            _ => {
                let count = input.count().unwrap_or(0);
                let len = input.u16().unwrap_or(0);
                let skew = input.u8().unwrap_or(0) as i8;
                let wrap_to_one = input.u8().unwrap_or(0) & 1 != 0;
                let mut r = Ok(());
                for _ in 0..count {
                    if blocks_sent >= MAX_BLOCKS
                        || bytes_sent >= MAX_BYTES
                        || r.is_err()
                        || dl.phase() == Phase::Done
                    {
                        break;
                    }
                    blocks_sent += 1;
                    let b = next.saturating_add_signed(i64::from(skew)).max(1);
                    let wire = if wrap_to_one && b > 65535 {
                        ((b - 1) % 65535 + 1) as u16
                    } else {
                        (b & 0xffff) as u16
                    };
                    let n = usize::from(len).min(usize::from(dl.negotiated().blksize));
                    buf.clear();
                    bytes_sent += n as u64;
                    tftp::data_into(&mut buf, wire, &payload[..n]);
                    r = dl.on_datagram(tid, &buf, &mut sink);
                    next += 1;
                }
                r
            }
        };
        check(&mut dl, &sink, max_size, server);
        if result.is_err() || dl.phase() == Phase::Done {
            break;
        }
    }
});

fn check(dl: &mut Download, sink: &Counter, max_size: Option<u64>, server: SocketAddr) {
    let stats = dl.stats();
    let neg = dl.negotiated();
    // netascii only ever shrinks what came in.
    assert!(
        sink.bytes <= stats.wire_bytes,
        "{} > {}",
        sink.bytes,
        stats.wire_bytes
    );
    assert_eq!(sink.bytes, stats.bytes);
    if let Some(m) = max_size {
        assert!(
            stats.wire_bytes <= m,
            "wire {} past --max-size {m}",
            stats.wire_bytes
        );
    }
    if let Some(t) = neg.tsize {
        assert!(
            stats.wire_bytes <= t,
            "wire {} past tsize {t}",
            stats.wire_bytes
        );
    }
    let peer = dl.peer();
    for (to, bytes) in dl.outbox().drain(..) {
        assert!(bytes.len() <= MAX_PACKET);
        let p = Packet::parse(&bytes).expect("we send well-formed packets");
        // Requests and ACKs go to the server; strangers get ERROR 5 only.
        assert!(
            to == server || to == peer || matches!(p, Packet::Error { .. }),
            "{p:?} to {to}, a stranger"
        );
    }
}
