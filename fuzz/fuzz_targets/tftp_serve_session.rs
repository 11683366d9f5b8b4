//! The server's end of a transfer: a request (chunk of the input) goes
//! through the server's parser and negotiation, then the serving machine
//! (RRQ: sends, WRQ: receives) is fed any datagrams from the client and
//! from strangers, and timeouts. It never panics; it writes only to the
//! client, or ERROR 5 to a stranger; DATA is never larger than the agreed
//! blksize, never past the file's end; an upload never takes more bytes
//! than --max-size.
#![no_main]

use std::net::SocketAddr;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use nettool::tftp::serve::request::{self, Direction, Incoming, Limits};
use nettool::tftp::session::{Config, Download, Outbox, Phase, Requested, Source, Upload};
use nettool::wire::tftp::{MAX_PACKET, Packet};
use nettool_fuzz::{Bytes, STRANGERS};

const CLIENT: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(
    std::net::Ipv4Addr::new(127, 0, 0, 1),
    50000,
));
const MAX_UPLOAD: u64 = 100_000;

struct File {
    len: u64,
    pos: u64,
}

impl Source for File {
    fn read_block(&mut self, buf: &mut Vec<u8>, max: usize) -> std::io::Result<()> {
        let n = (self.len - self.pos).min(max as u64);
        buf.extend((self.pos..self.pos + n).map(|i| if i % 5 == 1 { b'\r' } else { b'\n' }));
        self.pos += n;
        Ok(())
    }
}

// Input: the file's length u16 (x 7), the request as a chunk (u16 length
// + bytes), then steps: a tag byte and its fields:
//   0 a datagram from the client (chunk)   1 from a stranger (chunk)
//   2 a timeout   3 ACK n (u16) from the client
//   read (tag mod 6): 4 pump the window, 5 read ahead
//   write (tag mod 5): 4 DATA n (u16) of a length (u16) from the client
fuzz_target!(|data: &[u8]| {
    let mut input = Bytes(data);
    let len = u64::from(input.u16().unwrap_or(0)) * 7;
    let Some(req) = input.chunk() else { return };
    let Incoming::Request(req) = request::parse(req) else {
        return;
    };
    let limits = Limits {
        max_size: Some(MAX_UPLOAD),
        ..Limits::default()
    };
    let size = (req.direction == Direction::Read).then_some(len);
    let Ok((neg, oack)) = request::negotiate(&req, &limits, size) else {
        return;
    };
    let cfg = Config {
        filename: req.filename.clone(),
        mode: req.mode,
        options: Requested::default(),
        retries: 3,
        timeout: Duration::from_millis(10),
        max_size: limits.max_size,
        dally: Duration::from_millis(30),
        fallback: false,
    };
    let blksize = usize::from(neg.blksize);
    match req.direction {
        Direction::Read => {
            let mut file = File { len, pos: 0 };
            let mut m = Upload::serving(cfg, CLIENT, neg, oack);
            if m.open(&mut file).is_err() {
                return;
            }
            loop {
                check(m.outbox(), blksize);
                assert!(m.stats().bytes <= len);
                let Some(tag) = input.u8() else { break };
                let r = match tag % 6 {
                    0 => m.on_datagram(CLIENT, input.chunk().unwrap_or_default(), &mut file),
                    1 => m.on_datagram(STRANGERS[0], input.chunk().unwrap_or_default(), &mut file),
                    2 => m.on_timeout(&mut file),
                    3 => {
                        let block = input.u16().unwrap_or(0);
                        m.on_datagram(CLIENT, &Packet::Ack { block }.to_vec(), &mut file)
                    }
                    4 => m.pump(&mut file).map(drop),
                    _ => m.read_ahead(&mut file),
                };
                if r.is_err() || m.phase() == Phase::Done {
                    check(m.outbox(), blksize);
                    break;
                }
            }
        }
        Direction::Write => {
            let mut got: Vec<u8> = Vec::new();
            let mut m = Download::serving(cfg, CLIENT, neg, oack);
            m.start();
            loop {
                check(m.outbox(), blksize);
                assert!(got.len() as u64 <= MAX_UPLOAD);
                let Some(tag) = input.u8() else { break };
                let r = match tag % 5 {
                    0 => m.on_datagram(CLIENT, input.chunk().unwrap_or_default(), &mut got),
                    1 => m.on_datagram(STRANGERS[0], input.chunk().unwrap_or_default(), &mut got),
                    2 => m.on_timeout(),
                    3 => {
                        let block = input.u16().unwrap_or(0);
                        m.on_datagram(CLIENT, &Packet::Ack { block }.to_vec(), &mut got)
                    }
                    _ => {
                        let block = input.u16().unwrap_or(0);
                        let n = usize::from(input.u16().unwrap_or(0));
                        let payload = vec![b'x'; n];
                        let p = Packet::Data { block, data: &payload };
                        m.on_datagram(CLIENT, &p.to_vec(), &mut got)
                    }
                };
                if r.is_err() || m.phase() == Phase::Done {
                    check(m.outbox(), blksize);
                    break;
                }
            }
        }
    }
});

/// Everything queued is well formed and goes to the client, but for
/// ERROR 5 to a stranger; DATA within blksize.
fn check(out: &mut Outbox, blksize: usize) {
    for (to, bytes) in out.drain(..) {
        assert!(bytes.len() <= MAX_PACKET);
        let p = Packet::parse(&bytes).expect("we send well-formed packets");
        if to != CLIENT {
            assert!(matches!(p, Packet::Error { code, .. } if code.to_u16() == 5), "{p:?} to {to}");
        }
        if let Packet::Data { data, .. } = p {
            assert!(data.len() <= blksize);
        }
        assert!(!matches!(p, Packet::Rrq { .. } | Packet::Wrq { .. }), "a server sends no request");
    }
}
