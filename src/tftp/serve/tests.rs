//! The serving machines against the client's, over a simulated lossy
//! link with a virtual clock: every request goes through the server's
//! own `request::parse` and `negotiate`, then blocks cross a link that
//! loses and doubles datagrams from a seed. Both ends must agree on the
//! bytes, whatever the link did (real clients and servers are met in
//! `tests/tftp_serve_*.rs`). `TFTP_SIM_DUMP=1` prints every datagram and
//! its fate.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use proptest::prelude::*;

use super::request::{self, Direction, Incoming, Limits};
use crate::tftp::netascii;
use crate::tftp::session::{
    Config, Download, Mode, Negotiated, Phase, Requested, Source, TftpError, Upload,
};
use crate::wire::tftp::Packet;

fn client() -> SocketAddr {
    "127.0.0.1:50000".parse().unwrap()
}
fn server() -> SocketAddr {
    "127.0.0.1:69".parse().unwrap()
}
fn tid() -> SocketAddr {
    "127.0.0.1:40000".parse().unwrap()
}

struct Bytes(Vec<u8>, usize);

impl Source for Bytes {
    fn read_block(&mut self, buf: &mut Vec<u8>, max: usize) -> std::io::Result<()> {
        let n = max.min(self.0.len() - self.1);
        buf.extend_from_slice(&self.0[self.1..self.1 + n]);
        self.1 += n;
        Ok(())
    }
}

/// xorshift64, seeded per case.
struct Rng(u64);
impl Rng {
    fn pct(&mut self, p: u32) -> bool {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % 100 < u64::from(p)
    }
}

/// Either end of a transfer, as the simulation drives it.
enum End {
    Get(Download, Vec<u8>),
    Put(Upload, Bytes),
}

impl End {
    fn datagram(&mut self, from: SocketAddr, bytes: &[u8]) -> Result<(), TftpError> {
        match self {
            End::Get(m, sink) => m.on_datagram(from, bytes, sink),
            End::Put(m, src) => {
                m.on_datagram(from, bytes, src)?;
                Self::pump(m, src)
            }
        }
    }
    fn timeout(&mut self) -> Result<(), TftpError> {
        match self {
            End::Get(m, _) => m.on_timeout(),
            End::Put(m, src) => {
                m.on_timeout(src)?;
                Self::pump(m, src)
            }
        }
    }
    /// The rest of a serving window, and the block after it read ahead,
    /// as the server's loop does (a client's window is full already).
    fn pump(m: &mut Upload, src: &mut Bytes) -> Result<(), TftpError> {
        while m.pump(src)? {}
        m.read_ahead(src)
    }
    fn outbox(&mut self) -> Vec<(SocketAddr, Vec<u8>)> {
        let out = match self {
            End::Get(m, _) => std::mem::take(m.outbox()),
            End::Put(m, _) => std::mem::take(m.outbox()),
        };
        out.into_iter().map(|(to, d)| (to, d.to_vec())).collect()
    }
    fn phase(&self) -> Phase {
        match self {
            End::Get(m, _) => m.phase(),
            End::Put(m, _) => m.phase(),
        }
    }
    fn wait(&self) -> Duration {
        match self {
            End::Get(m, _) => m.wait(),
            End::Put(m, _) => m.wait(),
        }
    }
    fn blocks(&self) -> u64 {
        match self {
            End::Get(m, _) => m.stats().blocks,
            End::Put(m, _) => m.stats().blocks,
        }
    }
    fn over(&self) -> bool {
        self.phase() == Phase::Done
    }
}

struct Case {
    file: Vec<u8>,
    write: bool,
    mode: Mode,
    options: Requested,
    limits: Limits,
    loss: u32,
    dup: u32,
    seed: u64,
}

/// What each end ended with, and the bytes the receiving end holds.
struct Outcome {
    client: Result<(), String>,
    server: Result<(), String>,
    received: Vec<u8>,
    neg: Negotiated,
}

/// Run `c`: the client's request goes through the server's parse and
/// negotiation, then both machines talk over the lossy link. Each end
/// times out at its own virtual deadline when nothing is in flight.
#[allow(
    clippy::too_many_lines,
    reason = "one simulation loop, read top to bottom"
)]
fn run(c: &Case) -> Outcome {
    let cfg = Config {
        filename: "f.bin".into(),
        mode: c.mode,
        options: c.options,
        retries: 60,
        timeout: Duration::from_secs(1),
        max_size: None,
        // Longer than the server's retransmissions: a lost final ACK is
        // answered again (the RFC 1350 dally).
        dally: Duration::from_secs(30),
        fallback: false,
    };
    let mut cl = if c.write {
        let mut m = Upload::new(cfg, server());
        m.start();
        End::Put(m, Bytes(c.file.clone(), 0))
    } else {
        let mut m = Download::new(cfg, server());
        m.start();
        End::Get(m, Vec::new())
    };
    let mut rng = Rng(c.seed | 1);
    // The request: resent by the client until it gets through.
    let mut request = None;
    let mut now = Duration::ZERO;
    let mut client_at = cl.wait();
    for _ in 0..100 {
        for (to, bytes) in cl.outbox() {
            assert_eq!(to, server());
            if !rng.pct(c.loss) {
                request = Some(bytes);
            }
        }
        if request.is_some() {
            break;
        }
        now = client_at;
        cl.timeout()
            .expect("the client gives up before the request passes");
        client_at = now + cl.wait();
    }
    let Incoming::Request(req) = request::parse(&request.expect("a request got through")) else {
        panic!("our client's request refused");
    };
    assert_eq!(req.direction == Direction::Write, c.write);
    let size = (!c.write).then_some(c.file.len() as u64);
    let (neg, oack) = request::negotiate(&req, &c.limits, size).expect("negotiated");
    let scfg = Config {
        filename: req.filename.clone(),
        mode: req.mode,
        options: Requested::default(),
        retries: 60,
        timeout: Duration::from_secs(1),
        max_size: None,
        // As long as the client's: the final-ACK trade-off is the
        // server's setting, not what this test is about.
        dally: Duration::from_secs(30),
        fallback: false,
    };
    let mut sv = if c.write {
        let mut m = Download::serving(scfg, client(), neg, oack);
        m.start();
        End::Get(m, Vec::new())
    } else {
        let mut m = Upload::serving(scfg, client(), neg, oack);
        let mut src = Bytes(c.file.clone(), 0);
        m.open(&mut src).unwrap();
        End::pump(&mut m, &mut src).unwrap();
        End::Put(m, src)
    };
    let mut server_at = now + sv.wait();
    // (to the server, bytes)
    let mut link: VecDeque<(bool, Vec<u8>)> = VecDeque::new();
    let (mut client_r, mut server_r) = (Ok(()), Ok(()));
    for _ in 0..2_000_000 {
        for (to_server, end) in [(false, &mut sv), (true, &mut cl)] {
            for (to, bytes) in end.outbox() {
                if to_server && to == server() {
                    // The request again (the first answer was lost): the
                    // server's port ignores a request from a client that
                    // has a transfer; the transfer's timeout answers.
                    continue;
                }
                let want = if to_server { tid() } else { client() };
                assert_eq!(to, want, "sent to the other end's transfer ID");
                let lost = rng.pct(c.loss);
                if std::env::var("TFTP_SIM_DUMP").is_ok() {
                    eprintln!(
                        "{now:?} {} {} {}",
                        if to_server { "c->s" } else { "s->c" },
                        crate::tftp::transport::describe(&bytes),
                        if lost { "LOST" } else { "" }
                    );
                }
                if lost {
                    continue;
                }
                if rng.pct(c.dup) {
                    link.push_back((to_server, bytes.clone()));
                }
                link.push_back((to_server, bytes));
            }
        }
        let client_done = cl.over() || client_r.is_err();
        let server_done = sv.over() || server_r.is_err();
        if client_done && server_done && link.is_empty() {
            break;
        }
        if let Some((to_server, bytes)) = link.pop_front() {
            if to_server && server_r.is_ok() && !sv.over() {
                // As the server's loop does: only progress moves its
                // deadline, so a client repeating old blocks cannot keep
                // it from timing out (and re-ACKing).
                let before = (sv.blocks(), sv.phase());
                server_r = sv.datagram(client(), &bytes);
                if (sv.blocks(), sv.phase()) != before {
                    server_at = now + sv.wait();
                }
            } else if !to_server && client_r.is_ok() && !cl.over() {
                client_r = cl.datagram(tid(), &bytes);
                client_at = now + cl.wait();
            }
            continue;
        }
        // Nothing in flight: the earlier deadline fires.
        let client_waits = !client_done;
        let server_waits = !server_done;
        if client_waits && (!server_waits || client_at <= server_at) {
            now = client_at;
            client_r = cl.timeout();
            client_at = now + cl.wait();
        } else if server_waits {
            now = server_at;
            server_r = sv.timeout();
            server_at = now + sv.wait();
        }
    }
    let received = match (&cl, &sv) {
        (End::Get(_, got), _) | (_, End::Get(_, got)) => got.clone(),
        _ => unreachable!(),
    };
    Outcome {
        client: client_r.map_err(|e| e.to_string()),
        server: server_r.map_err(|e| e.to_string()),
        received,
        neg,
    }
}

fn file(len: usize, seed: u64) -> Vec<u8> {
    let mut r = Rng(seed | 1);
    (0..len)
        .map(|_| {
            r.pct(0);
            // Bytes with CR and LF among them, for netascii.
            match r.0 % 7 {
                0 => b'\r',
                1 => b'\n',
                _ => r.0.to_le_bytes()[1],
            }
        })
        .collect()
}

fn opts(blksize: Option<u16>, windowsize: Option<u16>, tsize: Option<u64>) -> Requested {
    Requested {
        blksize,
        windowsize,
        timeout: None,
        tsize,
    }
}

#[test]
fn a_clean_link_moves_every_size_both_ways() {
    for write in [false, true] {
        for len in [0, 1, 511, 512, 513, 1024, 5000] {
            let c = Case {
                file: file(len, len as u64),
                write,
                mode: Mode::Octet,
                options: Requested::default(),
                limits: Limits::default(),
                loss: 0,
                dup: 0,
                seed: 1,
            };
            let o = run(&c);
            assert_eq!(o.client, Ok(()), "write {write} len {len}");
            assert_eq!(o.server, Ok(()), "write {write} len {len}");
            assert_eq!(o.received, c.file, "write {write} len {len}");
            assert!(!o.neg.oack);
        }
    }
}

#[test]
fn block_numbers_roll_over_past_65535() {
    // 70,000 blocks of 8 bytes: past 65535 the wire number wraps to 0.
    for write in [false, true] {
        let c = Case {
            file: file(8 * 70_000 + 3, 9),
            write,
            mode: Mode::Octet,
            options: opts(Some(8), Some(4), None),
            limits: Limits::default(),
            loss: 0,
            dup: 0,
            seed: 2,
        };
        let o = run(&c);
        assert_eq!((o.client, o.server), (Ok(()), Ok(())));
        assert_eq!(o.received, c.file);
    }
}

#[test]
fn options_beyond_the_limits_are_lowered_and_used() {
    let c = Case {
        file: file(100_000, 3),
        write: false,
        mode: Mode::Octet,
        options: opts(Some(8192), Some(64), Some(0)),
        limits: Limits {
            max_blksize: 1468,
            max_windowsize: 8,
            ..Limits::default()
        },
        loss: 0,
        dup: 0,
        seed: 3,
    };
    let o = run(&c);
    assert_eq!((o.client, o.server), (Ok(()), Ok(())));
    assert_eq!(
        (o.neg.blksize, o.neg.windowsize, o.neg.tsize),
        (1468, 8, Some(100_000))
    );
    assert_eq!(o.received, c.file);
}

#[test]
fn netascii_crosses_both_ways_unchanged() {
    for write in [false, true] {
        let c = Case {
            file: file(3000, 4),
            write,
            mode: Mode::Netascii,
            options: opts(Some(512), None, None),
            limits: Limits::default(),
            loss: 10,
            dup: 5,
            seed: 4,
        };
        let o = run(&c);
        assert_eq!((o.client, o.server), (Ok(()), Ok(())));
        // Encoding then decoding gives back every byte (a lone CR goes as
        // CR NUL), so the file arrives as it left.
        let mut wire = Vec::new();
        netascii::encode(&c.file, &mut wire);
        let mut back = Vec::new();
        let mut d = netascii::Decoder::default();
        d.decode(&wire, &mut back);
        d.finish(&mut back);
        assert_eq!(back, c.file);
        assert_eq!(o.received, c.file);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn lossy_duplicating_links_deliver_the_same_bytes(
        len in prop_oneof![0usize..1100, 0usize..20_000],
        write in any::<bool>(),
        blksize in prop_oneof![Just(None), Just(Some(8u16)), Just(Some(512u16)), Just(Some(1000u16))],
        windowsize in prop_oneof![Just(None), Just(Some(1u16)), Just(Some(4u16)), Just(Some(16u16))],
        tsize in any::<bool>(),
        loss in 0u32..25,
        dup in 0u32..10,
        seed in any::<u64>(),
    ) {
        let c = Case {
            file: file(len, seed),
            write,
            mode: Mode::Octet,
            options: opts(blksize, windowsize, tsize.then_some(if write { len as u64 } else { 0 })),
            limits: Limits::default(),
            loss,
            dup,
            seed,
        };
        let o = run(&c);
        prop_assert_eq!(&o.client, &Ok(()));
        prop_assert_eq!(&o.server, &Ok(()));
        prop_assert_eq!(o.received, c.file);
    }
}

#[test]
fn a_repeated_oack_is_sent_on_timeout_and_ack_0_starts_the_data() {
    let Incoming::Request(req) = request::parse(
        &Packet::Rrq {
            filename: "f",
            mode: "octet",
            options: vec![("blksize", "1024")],
        }
        .to_vec(),
    ) else {
        panic!()
    };
    let (neg, oack) = request::negotiate(&req, &Limits::default(), Some(2000)).unwrap();
    let cfg = Config {
        filename: "f".into(),
        mode: Mode::Octet,
        options: Requested::default(),
        retries: 2,
        timeout: Duration::from_secs(1),
        max_size: None,
        dally: Duration::ZERO,
        fallback: false,
    };
    let mut m = Upload::serving(cfg, client(), neg, oack.clone());
    let mut src = Bytes(vec![7; 2000], 0);
    m.open(&mut src).unwrap();
    assert_eq!(
        std::mem::take(m.outbox()),
        vec![(client(), oack.clone().unwrap().into())]
    );
    m.on_timeout(&mut src).unwrap();
    assert_eq!(
        std::mem::take(m.outbox()),
        vec![(client(), oack.unwrap().into())]
    );
    // A stranger is told off and changes nothing.
    let stranger: SocketAddr = "127.0.0.1:50001".parse().unwrap();
    m.on_datagram(stranger, &crate::wire::tftp::ack(0), &mut src)
        .unwrap();
    let out = std::mem::take(m.outbox());
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, stranger);
    assert!(matches!(Packet::parse(&out[0].1), Ok(Packet::Error { .. })));
    m.on_datagram(client(), &crate::wire::tftp::ack(0), &mut src)
        .unwrap();
    let out = std::mem::take(m.outbox());
    assert!(
        matches!(Packet::parse(&out[0].1), Ok(Packet::Data { block: 1, data }) if data.len() == 1024)
    );
    // A duplicate ACK 0 sends nothing (no Sorcerer's Apprentice).
    m.on_datagram(client(), &crate::wire::tftp::ack(0), &mut src)
        .unwrap();
    assert!(m.outbox().is_empty());
    // An ACK from the future (block 5 of 2) is not taken as progress.
    m.on_datagram(client(), &crate::wire::tftp::ack(5), &mut src)
        .unwrap();
    assert!(m.outbox().is_empty());
    assert_eq!(m.stats().blocks, 0);
}

#[test]
fn nothing_is_read_ahead_before_the_block_size_is_settled() {
    // A client asking blksize 1000 knows its block size only from the
    // OACK: a block read ahead at the default 512 would end the file.
    let cfg = Config {
        filename: "f".into(),
        mode: Mode::Octet,
        options: opts(Some(1000), None, None),
        retries: 3,
        timeout: Duration::from_secs(1),
        max_size: None,
        dally: Duration::ZERO,
        fallback: false,
    };
    let mut m = Upload::new(cfg, server());
    m.start();
    m.outbox().clear();
    let mut src = Bytes(vec![1; 1500], 0);
    m.read_ahead(&mut src).unwrap();
    assert_eq!(src.1, 0, "nothing read before the OACK");
    let oack = Packet::Oack {
        options: vec![("blksize", "1000")],
    }
    .to_vec();
    m.on_datagram(tid(), &oack, &mut src).unwrap();
    let out = std::mem::take(m.outbox());
    assert!(
        matches!(Packet::parse(&out[0].1), Ok(Packet::Data { block: 1, data }) if data.len() == 1000)
    );
    m.read_ahead(&mut src).unwrap();
    assert_eq!(src.1, 1500, "the next block, read ahead");
}
