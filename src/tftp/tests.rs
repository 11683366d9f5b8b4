//! The `session` machines against a simulated server over a simulated
//! link: no socket, no clock, so every loss, duplication, reordering and
//! hostile answer is scripted and replayed exactly.
//!
//! The server asked is 127.0.0.1:69; it answers from the transfer ID
//! 127.0.0.1:40000. The link (`Sim`) carries datagrams both ways and gives
//! each one a `Fate` (delivered, lost, doubled, late); when nothing is in
//! flight, whoever would be waiting times out (server and client in turn).
//! `GetServer` and `PutServer` are RFC 1350/7440 peers written here,
//! independently of the client's code.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use proptest::prelude::*;

use super::netascii;
use super::session::{
    Config, Deliver, Download, Mode, Outbox, Phase, Requested, Source, Stats, TftpError, Upload,
};
use crate::wire::tftp::{ErrorCode, Packet};

// ---------------------------------------------------------------------------
// Addresses, configs, packets

fn server() -> SocketAddr {
    "127.0.0.1:69".parse().unwrap()
}
/// The server's transfer ID.
fn tid() -> SocketAddr {
    "127.0.0.1:40000".parse().unwrap()
}
/// Another port on the server's host.
fn stranger() -> SocketAddr {
    "127.0.0.1:40001".parse().unwrap()
}

fn config(options: Requested) -> Config {
    Config {
        filename: "file.bin".into(),
        mode: Mode::Octet,
        options,
        retries: 5,
        timeout: Duration::from_secs(1),
        max_size: None,
        dally: Duration::from_secs(1),
        fallback: true,
    }
}

fn opts(blksize: Option<u16>, windowsize: Option<u16>, tsize: Option<u64>) -> Requested {
    Requested {
        blksize,
        windowsize,
        timeout: None,
        tsize,
    }
}

fn data(block: u16, payload: &[u8]) -> Vec<u8> {
    Packet::Data {
        block,
        data: payload,
    }
    .to_vec()
}

fn ack(block: u16) -> Vec<u8> {
    Packet::Ack { block }.to_vec()
}

fn oack(options: &[(&str, &str)]) -> Vec<u8> {
    Packet::Oack {
        options: options.to_vec(),
    }
    .to_vec()
}

fn error(code: u16, message: &str) -> Vec<u8> {
    Packet::Error {
        code: ErrorCode::from_u16(code),
        message,
    }
    .to_vec()
}

/// A file whose bytes all differ from their neighbours, so a block in the
/// wrong place shows.
#[allow(
    clippy::cast_possible_truncation,
    reason = "a byte pattern: wraps mod 256 on purpose"
)]
fn file_of(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// Wire number of internal block `k`.
#[allow(
    clippy::cast_possible_truncation,
    reason = "TFTP block numbers wrap mod 2^16 (or 65535 to 1); reduced first"
)]
fn wire(k: u64, wrap_to_one: bool) -> u16 {
    if wrap_to_one && k > 65535 {
        ((k - 1) % 65535 + 1) as u16
    } else {
        (k & 0xffff) as u16
    }
}

/// A packet, decoded into owned values for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sent {
    Rrq(Vec<(String, String)>),
    Wrq(Vec<(String, String)>),
    Data(u16, Vec<u8>),
    Ack(u16),
    Error(u16, String),
    Oack(Vec<(String, String)>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Request,
    Data,
    Ack,
    Error,
    Oack,
}

const KINDS: [Kind; 5] = [
    Kind::Request,
    Kind::Data,
    Kind::Ack,
    Kind::Error,
    Kind::Oack,
];

impl Sent {
    fn parse(bytes: &[u8]) -> Sent {
        let owned = |o: Vec<(&str, &str)>| -> Vec<(String, String)> {
            o.into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        match Packet::parse(bytes).expect("every packet the client sends parses") {
            Packet::Rrq { options, .. } => Sent::Rrq(owned(options)),
            Packet::Wrq { options, .. } => Sent::Wrq(owned(options)),
            Packet::Data { block, data } => Sent::Data(block, data.to_vec()),
            Packet::Ack { block } => Sent::Ack(block),
            Packet::Error { code, message } => Sent::Error(code.to_u16(), message.to_string()),
            Packet::Oack { options } => Sent::Oack(owned(options)),
        }
    }

    fn kind(&self) -> Kind {
        match self {
            Sent::Rrq(_) | Sent::Wrq(_) => Kind::Request,
            Sent::Data(..) => Kind::Data,
            Sent::Ack(_) => Kind::Ack,
            Sent::Error(..) => Kind::Error,
            Sent::Oack(_) => Kind::Oack,
        }
    }
}

fn drain(out: &mut Outbox) -> Vec<(SocketAddr, Sent)> {
    out.drain(..).map(|(to, b)| (to, Sent::parse(&b))).collect()
}

/// Upload source over a byte vector.
struct Bytes {
    data: Vec<u8>,
    pos: usize,
}

impl Bytes {
    fn new(data: Vec<u8>) -> Bytes {
        Bytes { data, pos: 0 }
    }
}

impl Source for Bytes {
    fn read_block(&mut self, buf: &mut Vec<u8>, max: usize) -> std::io::Result<()> {
        let n = max.min(self.data.len() - self.pos);
        buf.extend_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Simulated servers

trait Peer {
    fn on_packet(&mut self, bytes: &[u8]) -> Vec<Vec<u8>>;
    fn on_timeout(&mut self) -> Vec<Vec<u8>>;
}

/// Serves one file to an RRQ, lock-step or windowed (RFC 7440: an ACK
/// restarts the window after the block it names; a lock-step server ignores
/// a duplicate ACK and resends only on its timeout).
#[allow(
    clippy::struct_excessive_bools,
    reason = "a test server's independent progress flags"
)]
struct GetServer {
    file: Vec<u8>,
    blksize: usize,
    window: u64,
    oack: Option<Vec<(String, String)>>,
    wrap_to_one: bool,
    blocks: u64,
    started: bool,
    opened: bool,
    base: u64,
    done: bool,
}

impl GetServer {
    fn new(file: Vec<u8>, blksize: usize, window: u64) -> GetServer {
        let blocks = (file.len() / blksize) as u64 + 1;
        GetServer {
            file,
            blksize,
            window,
            oack: None,
            wrap_to_one: false,
            blocks,
            started: false,
            opened: false,
            base: 0,
            done: false,
        }
    }

    fn with_oack(mut self, o: &[(&str, &str)]) -> GetServer {
        self.oack = Some(
            o.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        self
    }

    fn block(&self, k: u64) -> Vec<u8> {
        let start = (usize::try_from(k - 1).unwrap() * self.blksize).min(self.file.len());
        let end = (start + self.blksize).min(self.file.len());
        data(wire(k, self.wrap_to_one), &self.file[start..end])
    }

    fn window_from(&self, first: u64) -> Vec<Vec<u8>> {
        let last = (first + self.window - 1).min(self.blocks);
        (first..=last).map(|k| self.block(k)).collect()
    }

    fn first(&mut self) -> Vec<Vec<u8>> {
        if let Some(o) = &self.oack {
            let o: Vec<(&str, &str)> = o.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            vec![oack(&o)]
        } else {
            self.opened = true;
            self.window_from(1)
        }
    }
}

impl Peer for GetServer {
    fn on_packet(&mut self, bytes: &[u8]) -> Vec<Vec<u8>> {
        match Sent::parse(bytes) {
            Sent::Rrq(_) if !self.opened => {
                self.started = true;
                self.first()
            }
            Sent::Rrq(_) => Vec::new(),
            Sent::Ack(0) if self.started && !self.opened => {
                self.opened = true;
                self.window_from(1)
            }
            Sent::Ack(_) if !self.opened || self.done => Vec::new(),
            Sent::Ack(n) => {
                let hit =
                    (self.base..=self.base + self.window).find(|&k| wire(k, self.wrap_to_one) == n);
                match hit {
                    Some(k) if k > self.base => {
                        self.base = k;
                        if k == self.blocks {
                            self.done = true;
                            return Vec::new();
                        }
                        self.window_from(k + 1)
                    }
                    Some(_) if self.window > 1 => self.window_from(self.base + 1),
                    _ => Vec::new(),
                }
            }
            Sent::Error(..) => {
                self.done = true;
                Vec::new()
            }
            other => panic!("a downloading client sent {other:?}"),
        }
    }

    fn on_timeout(&mut self) -> Vec<Vec<u8>> {
        if self.done || !self.started {
            Vec::new()
        } else if !self.opened {
            self.first()
        } else {
            self.window_from(self.base + 1)
        }
    }
}

/// Receives one file from a WRQ. Re-ACKs a duplicate of the block it last
/// acknowledged (as RFC 1350 receivers do: the trigger of the Sorcerer's
/// Apprentice in a naive sender), ACKs once per gap in windowed mode.
#[allow(
    clippy::struct_excessive_bools,
    reason = "a test server's independent progress flags"
)]
struct PutServer {
    blksize: usize,
    window: u64,
    oack: Option<Vec<(String, String)>>,
    got: Vec<u8>,
    /// Wire numbers of the blocks taken, in order.
    taken: Vec<u16>,
    done_block: u64,
    acked: u64,
    gap_acked: bool,
    started: bool,
    opened: bool,
    finished: bool,
}

impl PutServer {
    fn new(blksize: usize, window: u64) -> PutServer {
        PutServer {
            blksize,
            window,
            oack: None,
            got: Vec::new(),
            taken: Vec::new(),
            done_block: 0,
            acked: 0,
            gap_acked: false,
            started: false,
            opened: false,
            finished: false,
        }
    }

    fn with_oack(mut self, o: &[(&str, &str)]) -> PutServer {
        self.oack = Some(
            o.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        self
    }

    fn first(&mut self) -> Vec<Vec<u8>> {
        match &self.oack {
            Some(o) => {
                let o: Vec<(&str, &str)> =
                    o.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                vec![oack(&o)]
            }
            None => vec![ack(0)],
        }
    }

    fn ack_now(&mut self, k: u64) -> Vec<Vec<u8>> {
        self.acked = k;
        vec![ack(wire(k, false))]
    }
}

impl Peer for PutServer {
    fn on_packet(&mut self, bytes: &[u8]) -> Vec<Vec<u8>> {
        match Sent::parse(bytes) {
            Sent::Wrq(_) if !self.opened => {
                self.started = true;
                self.first()
            }
            Sent::Wrq(_) => Vec::new(),
            Sent::Data(n, payload) => {
                assert!(self.started, "DATA before the WRQ");
                assert!(
                    payload.len() <= self.blksize,
                    "DATA of {} bytes at blksize {}",
                    payload.len(),
                    self.blksize
                );
                self.opened = true;
                let next = self.done_block + 1;
                if self.finished {
                    return if n == wire(self.done_block, false) {
                        self.ack_now(self.done_block)
                    } else {
                        Vec::new()
                    };
                }
                if n == wire(next, false) {
                    self.got.extend_from_slice(&payload);
                    self.taken.push(n);
                    self.done_block = next;
                    self.gap_acked = false;
                    if payload.len() < self.blksize {
                        self.finished = true;
                        return self.ack_now(next);
                    }
                    if next - self.acked >= self.window {
                        return self.ack_now(next);
                    }
                    Vec::new()
                } else if n == wire(self.acked, false) {
                    self.ack_now(self.acked)
                } else if (self.done_block.saturating_sub(self.window)..self.done_block)
                    .any(|k| wire(k, false) == n)
                {
                    Vec::new()
                } else if !self.gap_acked {
                    self.gap_acked = true;
                    self.ack_now(self.done_block)
                } else {
                    Vec::new()
                }
            }
            Sent::Error(..) => {
                self.finished = true;
                Vec::new()
            }
            other => panic!("an uploading client sent {other:?}"),
        }
    }

    fn on_timeout(&mut self) -> Vec<Vec<u8>> {
        if !self.started || self.finished {
            Vec::new()
        } else if !self.opened {
            self.first()
        } else {
            self.ack_now(self.done_block)
        }
    }
}

// ---------------------------------------------------------------------------
// The link and the loop

trait Client {
    fn start(&mut self);
    fn outbox(&mut self) -> &mut Outbox;
    fn datagram(&mut self, from: SocketAddr, bytes: &[u8]) -> Result<(), TftpError>;
    fn timeout(&mut self) -> Result<(), TftpError>;
    fn phase(&self) -> Phase;
}

struct GetClient {
    m: Download,
    file: Vec<u8>,
}

impl Client for GetClient {
    fn start(&mut self) {
        self.m.start();
    }
    fn outbox(&mut self) -> &mut Outbox {
        self.m.outbox()
    }
    fn datagram(&mut self, from: SocketAddr, bytes: &[u8]) -> Result<(), TftpError> {
        self.m.on_datagram(from, bytes, &mut self.file)
    }
    fn timeout(&mut self) -> Result<(), TftpError> {
        self.m.on_timeout()
    }
    fn phase(&self) -> Phase {
        self.m.phase()
    }
}

struct PutClient {
    m: Upload,
    src: Bytes,
}

impl Client for PutClient {
    fn start(&mut self) {
        self.m.start();
    }
    fn outbox(&mut self) -> &mut Outbox {
        self.m.outbox()
    }
    fn datagram(&mut self, from: SocketAddr, bytes: &[u8]) -> Result<(), TftpError> {
        self.m.on_datagram(from, bytes, &mut self.src)
    }
    fn timeout(&mut self) -> Result<(), TftpError> {
        self.m.on_timeout(&mut self.src)
    }
    fn phase(&self) -> Phase {
        self.m.phase()
    }
}

/// What the link does to one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Deliver,
    Drop,
    Twice,
    /// Delivered after the next datagram (reordering).
    Late,
}

/// Chooses a fate: (packet, travelling to the server?) -> fate.
type Schedule<'a> = &'a mut dyn FnMut(&Sent, bool) -> Fate;

/// Everything that happened in one simulated transfer.
#[derive(Debug)]
struct Log {
    result: Result<(), TftpError>,
    /// Every datagram the client queued, before the link decided its fate.
    client_sent: Vec<(SocketAddr, Sent)>,
    server_sent: Vec<Sent>,
    client_timeouts: u32,
    /// What the client said to the stranger.
    to_stranger: Vec<Sent>,
}

impl Log {
    fn count(&self, kind: Kind, to_server: bool) -> usize {
        if to_server {
            self.client_sent
                .iter()
                .filter(|(_, s)| s.kind() == kind)
                .count()
        } else {
            self.server_sent.iter().filter(|s| s.kind() == kind).count()
        }
    }
    fn client_acks(&self) -> Vec<u16> {
        self.client_sent
            .iter()
            .filter_map(|(_, s)| match s {
                Sent::Ack(n) => Some(*n),
                _ => None,
            })
            .collect()
    }
    fn client_data(&self) -> Vec<u16> {
        self.client_sent
            .iter()
            .filter_map(|(_, s)| match s {
                Sent::Data(n, _) => Some(*n),
                _ => None,
            })
            .collect()
    }
}

#[derive(Default)]
struct Link {
    flight: VecDeque<(bool, Vec<u8>)>,
    held: Option<(bool, Vec<u8>)>,
}

impl Link {
    fn push(&mut self, to_server: bool, bytes: Vec<u8>, fate: Fate) {
        match fate {
            Fate::Drop => return,
            Fate::Late if self.held.is_none() => {
                self.held = Some((to_server, bytes));
                return;
            }
            Fate::Twice => {
                self.flight.push_back((to_server, bytes.clone()));
                self.flight.push_back((to_server, bytes));
            }
            Fate::Late | Fate::Deliver => self.flight.push_back((to_server, bytes)),
        }
        if let Some(h) = self.held.take() {
            self.flight.push_back(h);
        }
    }

    fn pop(&mut self) -> Option<(bool, Vec<u8>)> {
        self.flight.pop_front().or_else(|| self.held.take())
    }
}

/// Run a transfer to its end (or the client's error). `stranger_at`: at
/// that step or the first later one where the TID is locked (the first
/// answer from the server's host wins, as in any TFTP), DATA for every
/// plausible block number arrives from another port of that host.
fn simulate(
    client: &mut dyn Client,
    srv: &mut dyn Peer,
    schedule: Schedule<'_>,
    max_steps: usize,
    mut stranger_at: Option<usize>,
) -> Log {
    let mut log = Log {
        result: Ok(()),
        client_sent: Vec::new(),
        server_sent: Vec::new(),
        client_timeouts: 0,
        to_stranger: Vec::new(),
    };
    let mut link = Link::default();
    let mut server_turn = true;
    client.start();
    for step in 0..max_steps {
        for (to, bytes) in client.outbox().drain(..) {
            let s = Sent::parse(&bytes);
            if to == stranger() {
                log.to_stranger.push(s);
                continue;
            }
            match s.kind() {
                Kind::Request => assert_eq!(to, server(), "a request not sent to port 69"),
                _ => assert_eq!(to, tid(), "{s:?} not sent to the server's TID"),
            }
            let fate = schedule(&s, true);
            log.client_sent.push((to, s));
            link.push(true, bytes.to_vec(), fate);
        }
        if log.result.is_err() {
            return log;
        }
        if stranger_at.is_some_and(|k| step >= k) && client.phase() == Phase::Transferring {
            stranger_at = None;
            for b in 0..8u16 {
                let r = client.datagram(stranger(), &data(b, b"EVILEVIL"));
                assert!(
                    r.is_ok(),
                    "a stranger's DATA must not end the transfer: {r:?}"
                );
            }
        }
        let r = match link.pop() {
            Some((true, bytes)) => {
                for reply in srv.on_packet(&bytes) {
                    let s = Sent::parse(&reply);
                    let fate = schedule(&s, false);
                    log.server_sent.push(s);
                    link.push(false, reply, fate);
                }
                Ok(())
            }
            Some((false, bytes)) => client.datagram(tid(), &bytes),
            None => {
                if client.phase() == Phase::Done {
                    return log;
                }
                let out = if server_turn {
                    srv.on_timeout()
                } else {
                    Vec::new()
                };
                server_turn = !server_turn;
                if out.is_empty() {
                    log.client_timeouts += 1;
                    client.timeout()
                } else {
                    for reply in out {
                        let s = Sent::parse(&reply);
                        let fate = schedule(&s, false);
                        log.server_sent.push(s);
                        link.push(false, reply, fate);
                    }
                    Ok(())
                }
            }
        };
        // The client's last words (its ERROR) are drained at the next turn.
        log.result = r;
    }
    panic!("no end after {max_steps} steps: the transfer is stuck");
}

fn deliver_all() -> impl FnMut(&Sent, bool) -> Fate {
    |_, _| Fate::Deliver
}

/// `fate` for the `n`th (from 0) packet of `kind` going `to_server`.
fn nth(kind: Kind, to_server: bool, n: usize, fate: Fate) -> impl FnMut(&Sent, bool) -> Fate {
    let mut seen = 0;
    move |s, dir| {
        if s.kind() == kind && dir == to_server {
            seen += 1;
            if seen == n + 1 {
                return fate;
            }
        }
        Fate::Deliver
    }
}

fn get_client(cfg: Config) -> GetClient {
    GetClient {
        m: Download::new(cfg, server()),
        file: Vec::new(),
    }
}

fn put_client(cfg: Config, file: &[u8]) -> PutClient {
    PutClient {
        m: Upload::new(cfg, server()),
        src: Bytes::new(file.to_vec()),
    }
}

/// One download scenario: what the client asks, what the server answers.
#[derive(Clone)]
struct GetCase {
    name: &'static str,
    options: Requested,
    blksize: usize,
    window: u64,
    len: usize,
    oack: Option<Vec<(&'static str, String)>>,
}

impl GetCase {
    fn server(&self) -> GetServer {
        let s = GetServer::new(file_of(self.len), self.blksize, self.window);
        match &self.oack {
            Some(o) => {
                let o: Vec<(&str, &str)> = o.iter().map(|(k, v)| (*k, v.as_str())).collect();
                s.with_oack(&o)
            }
            None => s,
        }
    }

    fn run(&self, schedule: Schedule<'_>) -> (Log, GetClient) {
        let mut c = get_client(config(self.options));
        let mut srv = self.server();
        let log = simulate(&mut c, &mut srv, schedule, 10_000, None);
        (log, c)
    }
}

fn get_cases() -> Vec<GetCase> {
    let with = |name, blksize: usize, window: u64, len: usize| GetCase {
        name,
        options: opts(
            Some(u16::try_from(blksize).unwrap()),
            (window > 1).then_some(u16::try_from(window).unwrap()),
            Some(0),
        ),
        blksize,
        window,
        len,
        oack: Some({
            let mut o = vec![("blksize", blksize.to_string()), ("tsize", len.to_string())];
            if window > 1 {
                o.push(("windowsize", window.to_string()));
            }
            o
        }),
    };
    vec![
        GetCase {
            name: "plain 512, 5 blocks",
            options: Requested::default(),
            blksize: 512,
            window: 1,
            len: 4 * 512 + 52,
            oack: None,
        },
        GetCase {
            name: "plain 512, 4 full blocks and an empty one",
            options: Requested::default(),
            blksize: 512,
            window: 1,
            len: 4 * 512,
            oack: None,
        },
        with("blksize 8 lock-step, 5 blocks", 8, 1, 36),
        with("blksize 8 lock-step, empty final block", 8, 1, 40),
        with("blksize 8 windowsize 4, 5 blocks", 8, 4, 36),
        with("blksize 8 windowsize 4, empty final block", 8, 4, 32),
        with("blksize 8 windowsize 3, 9 blocks", 8, 3, 70),
    ]
}

// ---------------------------------------------------------------------------
// Download: loss, duplication, reordering

#[test]
fn get_clean_transfer_talks_to_port_69_then_the_tid() {
    let case = &get_cases()[2];
    let (log, c) = case.run(&mut deliver_all());
    log.result.as_ref().unwrap();
    assert_eq!(c.file, file_of(36));
    assert_eq!(c.m.phase(), Phase::Done);
    let (to, first) = &log.client_sent[0];
    assert_eq!(*to, server());
    assert_eq!(
        *first,
        Sent::Rrq(vec![
            ("blksize".into(), "8".into()),
            ("tsize".into(), "0".into())
        ])
    );
    assert_eq!(log.client_acks(), [0, 1, 2, 3, 4, 5]);
    let n = c.m.negotiated();
    assert_eq!(
        (n.blksize, n.windowsize, n.tsize, n.oack),
        (8, 1, Some(36), true)
    );
    let st = c.m.stats();
    assert_eq!((st.bytes, st.wire_bytes, st.blocks), (36, 36, 5));
    assert_eq!((st.retransmits, st.duplicates, st.strangers), (0, 0, 0));
}

/// Drop (then double, then delay) the nth packet of each kind, in each
/// direction, for every n a clean run has: the file arrives exactly once.
#[test]
fn get_survives_loss_duplication_and_delay_at_every_position() {
    for case in get_cases() {
        let (clean, _) = case.run(&mut deliver_all());
        clean.result.as_ref().unwrap();
        let want = file_of(case.len);
        for to_server in [true, false] {
            for kind in KINDS {
                for n in 0..clean.count(kind, to_server) {
                    for fate in [Fate::Drop, Fate::Twice, Fate::Late] {
                        let what = format!(
                            "{}: {fate:?} {kind:?} #{n} {}",
                            case.name,
                            if to_server { "to server" } else { "to client" }
                        );
                        let (log, c) = case.run(&mut nth(kind, to_server, n, fate));
                        assert!(log.result.is_ok(), "{what}: {:?}", log.result);
                        assert_eq!(c.file, want, "{what}: file differs");
                        assert_eq!(c.m.phase(), Phase::Done, "{what}");
                        if fate == Fate::Drop {
                            // Only a timer can repair a loss.
                            let st = c.m.stats();
                            assert!(
                                log.client_timeouts > clean.client_timeouts
                                    || log.server_sent.len() > clean.server_sent.len(),
                                "{what}: recovered without any timeout? {st:?}"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn get_every_data_twice_is_written_once_and_reacked() {
    for case in &get_cases()[..4] {
        let mut twice = |s: &Sent, to_server: bool| {
            if !to_server && s.kind() == Kind::Data {
                Fate::Twice
            } else {
                Fate::Deliver
            }
        };
        let (log, c) = case.run(&mut twice);
        log.result.as_ref().unwrap();
        assert_eq!(c.file, file_of(case.len), "{}", case.name);
        let blocks = u16::try_from(case.len / case.blksize).unwrap() + 1;
        let st = c.m.stats();
        assert_eq!(st.duplicates, u64::from(blocks), "{}", case.name);
        assert_eq!(st.blocks, u64::from(blocks));
        // Lock-step: every block's duplicate is re-ACKed once, the last one
        // in the dally.
        let acks = log.client_acks();
        for b in 1..=blocks {
            assert_eq!(
                acks.iter().filter(|&&a| a == b).count(),
                2,
                "{}: ACK {b} in {acks:?}",
                case.name
            );
        }
    }
}

#[test]
fn get_window_reordered_blocks_are_never_delivered_out_of_order() {
    let file = file_of(52); // blocks 1..=7 at blksize 8, 7th is 4 bytes
    let block = |k: usize| {
        data(
            u16::try_from(k).unwrap(),
            &file[(k - 1) * 8..(k * 8).min(52)],
        )
    };
    let mut d = Download::new(config(opts(Some(8), Some(4), None)), server());
    d.start();
    let mut out = Vec::new();
    d.outbox().clear();
    d.on_datagram(
        tid(),
        &oack(&[("blksize", "8"), ("windowsize", "4")]),
        &mut out,
    )
    .unwrap();
    assert_eq!(drain(d.outbox()), [(tid(), Sent::Ack(0))]);

    d.on_datagram(tid(), &block(1), &mut out).unwrap();
    assert_eq!(drain(d.outbox()), []);
    d.on_datagram(tid(), &block(3), &mut out).unwrap();
    assert_eq!(
        drain(d.outbox()),
        [(tid(), Sent::Ack(1))],
        "one re-ACK of 1 for the gap"
    );
    assert_eq!(out, file[..8], "block 3 must not be written before 2");
    d.on_datagram(tid(), &block(2), &mut out).unwrap();
    assert_eq!(drain(d.outbox()), []);
    assert_eq!(out, file[..16]);
    // 3 was dropped when it came early: 4 opens a new gap at 2.
    d.on_datagram(tid(), &block(4), &mut out).unwrap();
    assert_eq!(drain(d.outbox()), [(tid(), Sent::Ack(2))]);
    // More of the same gap: no more ACKs.
    d.on_datagram(tid(), &block(5), &mut out).unwrap();
    d.on_datagram(tid(), &block(4), &mut out).unwrap();
    assert_eq!(drain(d.outbox()), []);
    assert_eq!(out, file[..16]);
    // The server restarts after 2: 3, 4, 5, 6 -> one ACK at the window's end.
    for k in 3..=6 {
        d.on_datagram(tid(), &block(k), &mut out).unwrap();
    }
    assert_eq!(drain(d.outbox()), [(tid(), Sent::Ack(6))]);
    d.on_datagram(tid(), &block(7), &mut out).unwrap();
    assert_eq!(drain(d.outbox()), [(tid(), Sent::Ack(7))]);
    assert_eq!(out, file);
    assert_eq!(d.phase(), Phase::Dallying);
}

#[test]
fn get_window_reordering_in_the_simulator_keeps_the_file() {
    // Every 3rd DATA arrives after the next one.
    let case = &get_cases()[6];
    let mut i = 0;
    let mut late = |s: &Sent, to_server: bool| {
        if !to_server && s.kind() == Kind::Data {
            i += 1;
            if i % 3 == 0 {
                return Fate::Late;
            }
        }
        Fate::Deliver
    };
    let (log, c) = case.run(&mut late);
    log.result.as_ref().unwrap();
    assert_eq!(c.file, file_of(case.len));
}

// ---------------------------------------------------------------------------
// Download: hostile servers

/// A download past its OACK (blksize 8, tsize `tsize`), block 0 acked.
fn get_after_oack(options: Requested, oack_opts: &[(&str, &str)]) -> (Download, Vec<u8>) {
    let mut d = Download::new(config(options), server());
    d.start();
    let mut out = Vec::new();
    assert!(matches!(drain(d.outbox())[..], [(_, Sent::Rrq(_))]));
    d.on_datagram(tid(), &oack(oack_opts), &mut out).unwrap();
    assert_eq!(drain(d.outbox()), [(tid(), Sent::Ack(0))]);
    (d, out)
}

#[test]
fn get_wrong_tid_gets_error_5_and_changes_nothing() {
    let (mut d, mut out) = get_after_oack(opts(Some(8), None, None), &[("blksize", "8")]);
    d.on_datagram(tid(), &data(1, b"aaaaaaaa"), &mut out)
        .unwrap();
    assert_eq!(drain(d.outbox()), [(tid(), Sent::Ack(1))]);
    // The next block, from another port of the same host.
    d.on_datagram(stranger(), &data(2, b"EVILEVIL"), &mut out)
        .unwrap();
    let sent = drain(d.outbox());
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, stranger(), "ERROR 5 goes to the stranger only");
    assert!(matches!(&sent[0].1, Sent::Error(5, _)), "{sent:?}");
    assert_eq!(out, b"aaaaaaaa");
    assert_eq!(d.stats().strangers, 1);
    assert_eq!(d.peer(), tid());
    // Also its ERROR and its garbage change nothing.
    d.on_datagram(stranger(), &error(0, "go away"), &mut out)
        .unwrap();
    d.on_datagram(stranger(), b"\xff\xff", &mut out).unwrap();
    assert_eq!(d.stats().strangers, 3);
    assert!(
        drain(d.outbox())
            .iter()
            .all(|(to, s)| *to == stranger() && matches!(s, Sent::Error(5, _)))
    );
    // The transfer continues with the real server.
    d.on_datagram(tid(), &data(2, b"bb"), &mut out).unwrap();
    assert_eq!(drain(d.outbox()), [(tid(), Sent::Ack(2))]);
    assert_eq!(out, b"aaaaaaaabb");
}

#[test]
fn get_tid_is_locked_only_from_the_servers_ip() {
    let mut d = Download::new(config(Requested::default()), server());
    d.start();
    drain(d.outbox());
    let mut out = Vec::new();
    let other_host: SocketAddr = "127.0.0.2:40000".parse().unwrap();
    d.on_datagram(other_host, &data(1, b"evil"), &mut out)
        .unwrap();
    assert!(matches!(&drain(d.outbox())[..], [(to, Sent::Error(5, _))] if *to == other_host));
    assert_eq!(d.phase(), Phase::Requesting);
    assert!(out.is_empty());
    d.on_datagram(tid(), &data(1, b"good"), &mut out).unwrap();
    assert_eq!(drain(d.outbox()), [(tid(), Sent::Ack(1))]);
    assert_eq!(out, b"good");
}

#[test]
fn get_error_mid_transfer_is_a_server_error() {
    let (mut d, mut out) = get_after_oack(opts(Some(8), None, None), &[("blksize", "8")]);
    d.on_datagram(tid(), &data(1, b"aaaaaaaa"), &mut out)
        .unwrap();
    drain(d.outbox());
    let e = d
        .on_datagram(tid(), &error(2, "Access violation: disk on fire"), &mut out)
        .unwrap_err();
    match &e {
        TftpError::Server { code, message } => {
            assert_eq!(*code, ErrorCode::AccessViolation);
            assert_eq!(message, "Access violation: disk on fire");
        }
        other => panic!("{other:?}"),
    }
    let text = e.to_string();
    assert!(
        text.contains("server error 2") && text.contains("disk on fire"),
        "{text}"
    );
    assert_eq!(drain(d.outbox()), [], "an ERROR is never answered");
}

#[test]
fn get_oack_smaller_blksize_is_accepted() {
    let (mut d, mut out) = get_after_oack(opts(Some(1024), None, None), &[("blksize", "512")]);
    assert_eq!(d.negotiated().blksize, 512);
    d.on_datagram(tid(), &data(1, &[1; 512]), &mut out).unwrap();
    assert_eq!(
        d.phase(),
        Phase::Transferring,
        "512 bytes is a full block now"
    );
    d.on_datagram(tid(), &data(2, &[2; 10]), &mut out).unwrap();
    assert_eq!(d.phase(), Phase::Dallying);
    assert_eq!(out.len(), 522);
}

/// Start a download asking `options`, answer `answer`, expect ERROR 8 and
/// `BadOption`.
fn refused(options: Requested, answer: &[(&str, &str)]) -> String {
    let mut d = Download::new(config(options), server());
    d.start();
    drain(d.outbox());
    let mut out = Vec::new();
    let e = d.on_datagram(tid(), &oack(answer), &mut out).unwrap_err();
    assert!(matches!(e, TftpError::BadOption(_)), "{answer:?}: {e:?}");
    let sent = drain(d.outbox());
    assert!(
        matches!(&sent[..], [(to, Sent::Error(8, _))] if *to == tid()),
        "{answer:?}: {sent:?}"
    );
    assert_ne!(d.phase(), Phase::Transferring);
    e.to_string()
}

#[test]
fn get_oack_refusals_send_error_8() {
    let all = Requested {
        blksize: Some(1024),
        windowsize: Some(4),
        timeout: Some(3),
        tsize: Some(0),
    };
    let msg = refused(opts(Some(1024), None, None), &[("blksize", "2048")]);
    assert!(msg.contains("2048"), "{msg}");
    refused(opts(Some(1024), None, None), &[("blksize", "4")]);
    refused(opts(Some(1024), None, None), &[("blksize", "lots")]);
    refused(opts(Some(8), None, None), &[("windowsize", "4")]);
    let msg = refused(
        opts(Some(8), None, None),
        &[("blksize", "8"), ("foo", "bar")],
    );
    assert!(msg.contains("foo"), "{msg}");
    refused(all, &[("windowsize", "8")]);
    refused(all, &[("windowsize", "0")]);
    // RFC 2349: the timeout is echoed or omitted, never changed.
    refused(all, &[("timeout", "5")]);
    refused(opts(Some(8), None, None), &[("timeout", "5")]);
    refused(opts(Some(8), None, None), &[("tsize", "100")]);
    // No options asked: any OACK is a violation.
    let msg = refused(Requested::default(), &[("blksize", "512")]);
    assert!(msg.contains("without options"), "{msg}");
    refused(Requested::default(), &[]);
}

#[test]
fn get_oack_missing_options_mean_defaults() {
    let all = Requested {
        blksize: Some(1024),
        windowsize: Some(4),
        timeout: Some(3),
        tsize: Some(0),
    };
    let (d, _) = get_after_oack(all, &[("tsize", "20")]);
    let n = d.negotiated();
    assert_eq!(
        (n.blksize, n.windowsize, n.timeout, n.tsize, n.oack),
        (512, 1, None, Some(20), true)
    );
    // Names compare case-insensitively; an echoed timeout is taken.
    let (d, _) = get_after_oack(all, &[("BLKSIZE", "1024"), ("Timeout", "3")]);
    let n = d.negotiated();
    assert_eq!((n.blksize, n.timeout), (1024, Some(3)));
}

#[test]
fn get_error_8_falls_back_to_a_request_without_options() {
    let mut d = Download::new(config(opts(Some(1024), None, Some(0))), server());
    d.start();
    assert!(matches!(&drain(d.outbox())[..], [(_, Sent::Rrq(o))] if o.len() == 2));
    let mut out = Vec::new();
    d.on_datagram(tid(), &error(8, "no options, please"), &mut out)
        .unwrap();
    assert_eq!(drain(d.outbox()), [(server(), Sent::Rrq(vec![]))]);
    assert!(d.stats().fell_back);
    assert_eq!(d.phase(), Phase::Requesting);
    // The answer to the second request comes from a new TID.
    let tid2: SocketAddr = "127.0.0.1:40002".parse().unwrap();
    d.on_datagram(tid2, &data(1, b"plain"), &mut out).unwrap();
    assert_eq!(drain(d.outbox()), [(tid2, Sent::Ack(1))]);
    assert_eq!(out, b"plain");
    assert!(!d.negotiated().oack);

    // Without fallback (or a second time) ERROR 8 is the end.
    let mut cfg = config(opts(Some(1024), None, None));
    cfg.fallback = false;
    let mut d = Download::new(cfg, server());
    d.start();
    let e = d
        .on_datagram(tid(), &error(8, "no"), &mut Vec::new())
        .unwrap_err();
    assert!(matches!(
        e,
        TftpError::Server {
            code: ErrorCode::OptionRefused,
            ..
        }
    ));
}

#[test]
fn get_silence_after_options_falls_back_then_times_out() {
    let mut cfg = config(opts(Some(1024), None, Some(0)));
    cfg.retries = 2;
    let mut d = Download::new(cfg, server());
    d.start();
    let mut reqs = Vec::new();
    let mut result = Ok(());
    for _ in 0..10 {
        for (to, s) in drain(d.outbox()) {
            assert_eq!(to, server());
            match s {
                Sent::Rrq(o) => reqs.push(o.len()),
                other => panic!("{other:?}"),
            }
        }
        if result.is_err() {
            break;
        }
        result = d.on_timeout();
    }
    // 1 + 2 retries with options, then 1 + 2 without.
    assert_eq!(reqs, [2, 2, 2, 0, 0, 0]);
    assert!(d.stats().fell_back);
    match result {
        Err(TftpError::Timeout { addr, tries }) => {
            assert_eq!(addr, server());
            assert_eq!(tries, 3);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn get_retries_exhausted_is_timeout_with_the_tries() {
    let mut cfg = config(Requested::default());
    cfg.retries = 3;
    let mut d = Download::new(cfg, server());
    d.start();
    drain(d.outbox());
    let mut out = Vec::new();
    d.on_datagram(tid(), &data(1, &[0; 512]), &mut out).unwrap();
    assert_eq!(drain(d.outbox()), [(tid(), Sent::Ack(1))]);
    let s = Duration::from_secs(1);
    let mut waits = vec![d.wait()];
    for _ in 0..3 {
        d.on_timeout().unwrap();
        assert_eq!(drain(d.outbox()), [(tid(), Sent::Ack(1))]);
        waits.push(d.wait());
    }
    assert_eq!(waits, [s, 2 * s, 4 * s, 4 * s], "doubling, up to 4x");
    match d.on_timeout().unwrap_err() {
        TftpError::Timeout { addr, tries } => {
            assert_eq!(addr, tid());
            assert_eq!(tries, 4);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(d.stats().retransmits, 3);
    assert_eq!(d.stats().timeouts, 4);
}

#[test]
fn get_zero_length_final_block() {
    let (mut d, mut out) = get_after_oack(
        opts(Some(8), None, Some(0)),
        &[("blksize", "8"), ("tsize", "16")],
    );
    d.on_datagram(tid(), &data(1, b"01234567"), &mut out)
        .unwrap();
    d.on_datagram(tid(), &data(2, b"89abcdef"), &mut out)
        .unwrap();
    assert_eq!(
        d.phase(),
        Phase::Transferring,
        "16 bytes of 16, but no short block yet"
    );
    d.on_datagram(tid(), &data(3, b""), &mut out).unwrap();
    assert_eq!(d.phase(), Phase::Dallying);
    assert_eq!(out, b"0123456789abcdef");
    assert_eq!(
        drain(d.outbox()),
        [
            (tid(), Sent::Ack(1)),
            (tid(), Sent::Ack(2)),
            (tid(), Sent::Ack(3))
        ]
    );
    assert_eq!(d.stats().blocks, 3);
}

#[test]
fn get_data_larger_than_blksize_is_error_4() {
    // Default blksize.
    let mut d = Download::new(config(Requested::default()), server());
    d.start();
    drain(d.outbox());
    let mut out = Vec::new();
    let e = d
        .on_datagram(tid(), &data(1, &[7; 513]), &mut out)
        .unwrap_err();
    assert!(matches!(e, TftpError::Protocol(_)), "{e:?}");
    assert!(e.to_string().contains("513"), "{e}");
    assert!(matches!(&drain(d.outbox())[..], [(to, Sent::Error(4, _))] if *to == tid()));
    assert!(out.is_empty(), "not one byte of it written");
    // Negotiated blksize, mid-transfer.
    let (mut d, mut out) = get_after_oack(opts(Some(8), None, None), &[("blksize", "8")]);
    d.on_datagram(tid(), &data(1, b"12345678"), &mut out)
        .unwrap();
    drain(d.outbox());
    let e = d
        .on_datagram(tid(), &data(2, b"123456789"), &mut out)
        .unwrap_err();
    assert!(matches!(e, TftpError::Protocol(_)), "{e:?}");
    assert!(matches!(&drain(d.outbox())[..], [(_, Sent::Error(4, _))]));
    assert_eq!(out, b"12345678");
}

#[test]
fn get_garbage_and_wrong_packets_are_protocol_errors() {
    for bad in [
        b"\x00\x09hello".to_vec(),
        b"\x00".to_vec(),
        ack(1),
        Packet::Rrq {
            filename: "x",
            mode: "octet",
            options: vec![],
        }
        .to_vec(),
    ] {
        let (mut d, mut out) = get_after_oack(opts(Some(8), None, None), &[("blksize", "8")]);
        let e = d.on_datagram(tid(), &bad, &mut out).unwrap_err();
        assert!(matches!(e, TftpError::Protocol(_)), "{bad:?}: {e:?}");
        assert!(
            matches!(&drain(d.outbox())[..], [(_, Sent::Error(4, _))]),
            "{bad:?}"
        );
    }
}

#[test]
fn get_endless_transfer_beyond_tsize_stops_with_error_3() {
    let (mut d, mut out) = get_after_oack(
        opts(Some(8), None, Some(0)),
        &[("blksize", "8"), ("tsize", "16")],
    );
    d.on_datagram(tid(), &data(1, b"aaaaaaaa"), &mut out)
        .unwrap();
    d.on_datagram(tid(), &data(2, b"bbbbbbbb"), &mut out)
        .unwrap();
    drain(d.outbox());
    let e = d
        .on_datagram(tid(), &data(3, b"cccccccc"), &mut out)
        .unwrap_err();
    assert!(matches!(e, TftpError::TooLarge { limit: 16, .. }), "{e:?}");
    assert!(matches!(&drain(d.outbox())[..], [(to, Sent::Error(3, _))] if *to == tid()));
    assert_eq!(
        out, b"aaaaaaaabbbbbbbb",
        "nothing past the limit is written"
    );

    // --max-size, no tsize.
    let mut cfg = config(Requested::default());
    cfg.max_size = Some(1000);
    let mut d = Download::new(cfg, server());
    d.start();
    let mut out = Vec::new();
    d.on_datagram(tid(), &data(1, &[0; 512]), &mut out).unwrap();
    let e = d
        .on_datagram(tid(), &data(2, &[0; 512]), &mut out)
        .unwrap_err();
    assert!(
        matches!(
            e,
            TftpError::TooLarge {
                limit: 1000,
                why: "--max-size"
            }
        ),
        "{e:?}"
    );
    assert_eq!(out.len(), 512);

    // --max-size below the announced tsize: refused at the OACK.
    let mut cfg = config(opts(None, None, Some(0)));
    cfg.max_size = Some(100);
    let mut d = Download::new(cfg, server());
    d.start();
    drain(d.outbox());
    let e = d
        .on_datagram(tid(), &oack(&[("tsize", "5000")]), &mut Vec::new())
        .unwrap_err();
    assert!(matches!(e, TftpError::TooLarge { limit: 100, .. }), "{e:?}");
    assert!(matches!(&drain(d.outbox())[..], [(_, Sent::Error(3, _))]));
}

/// Found by the `tftp_download` fuzz target: with --max-size above the
/// announced tsize, the tsize was not a limit, so a server could send up
/// to --max-size bytes into the file before the size check at the end.
#[test]
fn get_beyond_tsize_stops_even_with_a_larger_max_size() {
    let mut cfg = config(opts(Some(8), None, Some(0)));
    cfg.max_size = Some(1_000_000);
    let mut d = Download::new(cfg, server());
    d.start();
    drain(d.outbox());
    let mut out = Vec::new();
    d.on_datagram(tid(), &oack(&[("blksize", "8"), ("tsize", "16")]), &mut out)
        .unwrap();
    d.on_datagram(tid(), &data(1, b"aaaaaaaa"), &mut out)
        .unwrap();
    d.on_datagram(tid(), &data(2, b"bbbbbbbb"), &mut out)
        .unwrap();
    drain(d.outbox());
    let e = d
        .on_datagram(tid(), &data(3, b"cccccccc"), &mut out)
        .unwrap_err();
    assert!(
        matches!(
            e,
            TftpError::TooLarge {
                limit: 16,
                why: "the tsize it announced"
            }
        ),
        "{e:?}"
    );
    assert!(matches!(&drain(d.outbox())[..], [(_, Sent::Error(3, _))]));
    assert_eq!(
        out, b"aaaaaaaabbbbbbbb",
        "nothing past the tsize is written"
    );
}

#[test]
fn get_tsize_mismatch_at_the_end() {
    let (mut d, mut out) = get_after_oack(
        opts(Some(8), None, Some(0)),
        &[("blksize", "8"), ("tsize", "20")],
    );
    d.on_datagram(tid(), &data(1, b"aaaaaaaa"), &mut out)
        .unwrap();
    let e = d
        .on_datagram(tid(), &data(2, b"bbbb"), &mut out)
        .unwrap_err();
    assert!(
        matches!(
            e,
            TftpError::SizeMismatch {
                announced: 20,
                got: 12
            }
        ),
        "{e:?}"
    );
}

#[test]
fn get_dally_reacks_a_repeated_final_block() {
    let mut d = Download::new(config(Requested::default()), server());
    d.start();
    drain(d.outbox());
    let mut out = Vec::new();
    d.on_datagram(tid(), &data(1, b"short"), &mut out).unwrap();
    assert_eq!(d.phase(), Phase::Dallying);
    assert_eq!(d.wait(), Duration::from_secs(1), "the dally time");
    assert_eq!(drain(d.outbox()), [(tid(), Sent::Ack(1))]);
    // Our ACK was lost: the server sends the final block again.
    d.on_datagram(tid(), &data(1, b"short"), &mut out).unwrap();
    assert_eq!(drain(d.outbox()), [(tid(), Sent::Ack(1))]);
    assert_eq!(out, b"short", "written once");
    assert_eq!(d.stats().duplicates, 1);
    d.on_timeout().unwrap();
    assert_eq!(d.phase(), Phase::Done);
    assert_eq!(drain(d.outbox()), []);
    // Done: deaf to everything.
    d.on_datagram(tid(), &data(1, b"short"), &mut out).unwrap();
    d.on_timeout().unwrap();
    assert_eq!(drain(d.outbox()), []);

    // An ERROR in the dally changes nothing: the file is complete.
    let mut d = Download::new(config(Requested::default()), server());
    d.start();
    let mut out = Vec::new();
    d.on_datagram(tid(), &data(1, b"x"), &mut out).unwrap();
    d.on_datagram(tid(), &error(0, "bye"), &mut out).unwrap();
    assert_eq!(d.phase(), Phase::Done);

    // Without a dally the machine is done at once.
    let mut cfg = config(Requested::default());
    cfg.dally = Duration::ZERO;
    let mut d = Download::new(cfg, server());
    d.start();
    d.on_datagram(tid(), &data(1, b"x"), &mut Vec::new())
        .unwrap();
    assert_eq!(d.phase(), Phase::Done);
}

/// In the dally the file is complete (and committed by the driver): only a
/// repeated final DATA matters, as for an ERROR there, nothing else may
/// turn the transfer into a failure.
#[test]
fn get_garbage_in_the_dally_changes_nothing() {
    for late in [b"\x00\x09junk".to_vec(), ack(1), data(1, &[0; 600])] {
        let mut d = Download::new(config(Requested::default()), server());
        d.start();
        let mut out = Vec::new();
        d.on_datagram(tid(), &data(1, b"short"), &mut out).unwrap();
        assert_eq!(d.phase(), Phase::Dallying);
        let r = d.on_datagram(tid(), &late, &mut out);
        assert!(r.is_ok(), "{late:?} in the dally: {r:?}");
        assert_eq!(out, b"short");
    }
}

// ---------------------------------------------------------------------------
// Download: block numbers past 65535

const ROLLOVER_BLOCKS: u64 = 70_000;

fn rollover_get(wrap_to_one: bool) -> (Log, GetClient, Vec<u8>) {
    let len = usize::try_from(ROLLOVER_BLOCKS - 1).unwrap() * 8 + 5;
    let file = file_of(len);
    let mut srv = GetServer::new(file.clone(), 8, 1).with_oack(&[("blksize", "8")]);
    srv.wrap_to_one = wrap_to_one;
    let mut c = get_client(config(opts(Some(8), None, None)));
    let log = simulate(&mut c, &mut srv, &mut deliver_all(), 1_000_000, None);
    (log, c, file)
}

#[test]
fn get_rollover_wraps_to_zero() {
    let (log, c, file) = rollover_get(false);
    log.result.as_ref().unwrap();
    assert!(c.file == file, "file differs after the rollover");
    let acks = log.client_acks();
    assert_eq!(acks.len() as u64, ROLLOVER_BLOCKS + 1);
    assert_eq!(acks[65535], 65535);
    assert_eq!(acks[65536], 0, "the ACK after 65535 is 0");
    assert_eq!(acks[65537], 1);
    assert_eq!(c.m.stats().blocks, ROLLOVER_BLOCKS);
}

#[test]
fn get_follows_a_server_that_wraps_to_one() {
    let (log, c, file) = rollover_get(true);
    assert!(
        log.result.is_ok(),
        "stalled after block 65535 against a wrap-to-1 server ({} bytes of {}): {:?}",
        c.file.len(),
        file.len(),
        log.result
    );
    assert!(c.file == file, "file differs after the rollover");
    let acks = log.client_acks();
    assert_eq!(acks[65535], 65535);
    assert_eq!(acks[65536], 1, "the ACK after 65535 follows the server: 1");
    assert_eq!(acks[65537], 2);
}

/// Windowed, against a server that wraps to 0 (as windowing servers do):
/// when block 65536 (wire 0) is lost, the next DATA says 1 and means
/// 65537. Taking it for a wrap to 1 would skip a block and shift every
/// later one.
#[test]
fn get_window_rollover_with_block_65536_lost_keeps_the_file() {
    // Windowsize 3: block 65536 opens a window (65536 = 3 * 21845 + 1).
    let len = usize::try_from(ROLLOVER_BLOCKS - 1).unwrap() * 8 + 5;
    let file = file_of(len);
    let mut srv =
        GetServer::new(file.clone(), 8, 3).with_oack(&[("blksize", "8"), ("windowsize", "3")]);
    let mut c = get_client(config(opts(Some(8), Some(3), None)));
    let mut lost = false;
    let mut drop_first_zero = |s: &Sent, to_server: bool| {
        if !to_server && !lost && matches!(s, Sent::Data(0, _)) {
            lost = true;
            return Fate::Drop;
        }
        Fate::Deliver
    };
    let log = simulate(&mut c, &mut srv, &mut drop_first_zero, 1_000_000, None);
    assert!(lost);
    assert!(log.result.is_ok(), "{:?}", log.result);
    assert_eq!(c.file.len(), file.len(), "a block was skipped or added");
    assert!(c.file == file, "file differs after the rollover");
}

#[test]
fn get_wrap_to_one_is_detected_on_the_first_data_after_65535() {
    let mut d = Download::new(config(opts(Some(8), None, None)), server());
    d.start();
    let mut out = Vec::new();
    d.on_datagram(tid(), &oack(&[("blksize", "8")]), &mut out)
        .unwrap();
    for k in 1..=65535u16 {
        d.on_datagram(tid(), &data(k, &[(k & 0xff) as u8; 8]), &mut out)
            .unwrap();
    }
    drain(d.outbox());
    // The server wraps to 1.
    d.on_datagram(tid(), &data(1, &[1; 8]), &mut out).unwrap();
    assert_eq!(
        drain(d.outbox()),
        [(tid(), Sent::Ack(1))],
        "DATA 1 after 65535 from a wrap-to-1 server must be taken and ACKed as 1"
    );
    assert_eq!(out.len(), 65536 * 8);
}

// ---------------------------------------------------------------------------
// Netascii

#[test]
fn netascii_get_decodes_line_ends_split_across_blocks() {
    // A local text with CR LF, a bare CR, LF, and a CR at the very end.
    let local = b"one\r\ntwo\rthree\nfour\r\n\r\rfive\n\r".to_vec();
    let mut wire_text = Vec::new();
    netascii::encode(&local, &mut wire_text);
    assert_eq!(
        wire_text,
        b"one\r\0\r\ntwo\r\0three\r\nfour\r\0\r\n\r\0\r\0five\r\n\r\0".to_vec()
    );
    let mut split_cr = 0;
    for blksize in 8..=24usize {
        if wire_text
            .chunks(blksize)
            .any(|c| c.len() == blksize && c.last() == Some(&b'\r'))
        {
            split_cr += 1;
        }
        for fate in [Fate::Deliver, Fate::Twice] {
            let mut cfg = config(opts(Some(u16::try_from(blksize).unwrap()), None, None));
            cfg.mode = Mode::Netascii;
            let mut c = get_client(cfg);
            let bs = blksize.to_string();
            let mut srv =
                GetServer::new(wire_text.clone(), blksize, 1).with_oack(&[("blksize", &bs)]);
            let mut sched = |s: &Sent, to_server: bool| {
                if !to_server && s.kind() == Kind::Data {
                    fate
                } else {
                    Fate::Deliver
                }
            };
            let log = simulate(&mut c, &mut srv, &mut sched, 10_000, None);
            log.result.as_ref().unwrap();
            assert_eq!(
                String::from_utf8_lossy(&c.file),
                String::from_utf8_lossy(&local),
                "blksize {blksize}, {fate:?}"
            );
            assert_eq!(c.m.stats().wire_bytes, wire_text.len() as u64);
            assert_eq!(c.m.stats().bytes, local.len() as u64);
        }
    }
    assert!(split_cr >= 3, "the sweep must split CR from its follower");
}

#[test]
fn netascii_put_encodes_line_ends() {
    let local = b"a\nb\rc\r\nd\n\n\r".to_vec();
    let mut want = Vec::new();
    netascii::encode(&local, &mut want);
    for blksize in 8..=12usize {
        let mut cfg = config(opts(Some(u16::try_from(blksize).unwrap()), None, None));
        cfg.mode = Mode::Netascii;
        let mut c = put_client(cfg, &local);
        let bs = blksize.to_string();
        let mut srv = PutServer::new(blksize, 1).with_oack(&[("blksize", &bs)]);
        let log = simulate(&mut c, &mut srv, &mut deliver_all(), 10_000, None);
        log.result.as_ref().unwrap();
        assert_eq!(srv.got, want, "blksize {blksize}");
    }
}

// ---------------------------------------------------------------------------
// Upload

/// An upload scenario: blksize, windowsize, length, OACK or plain.
fn put_case(blksize: usize, window: u64, len: usize, options: bool) -> (Config, PutServer) {
    if !options {
        return (config(Requested::default()), PutServer::new(512, 1));
    }
    let o = opts(
        Some(u16::try_from(blksize).unwrap()),
        (window > 1).then_some(u16::try_from(window).unwrap()),
        Some(len as u64),
    );
    let (bs, ws, ts) = (blksize.to_string(), window.to_string(), len.to_string());
    let mut answer = vec![("blksize", bs.as_str()), ("tsize", ts.as_str())];
    if window > 1 {
        answer.push(("windowsize", ws.as_str()));
    }
    (
        config(o),
        PutServer::new(blksize, window).with_oack(&answer),
    )
}

fn put_cases() -> Vec<(&'static str, usize, u64, usize, bool)> {
    vec![
        ("plain 512, 5 blocks", 512, 1, 4 * 512 + 52, false),
        ("plain 512, empty final block", 512, 1, 4 * 512, false),
        ("blksize 8 lock-step", 8, 1, 36, true),
        ("blksize 8 lock-step, empty final", 8, 1, 40, true),
        ("blksize 8 windowsize 4", 8, 4, 36, true),
        ("blksize 8 windowsize 4, empty final", 8, 4, 32, true),
        ("blksize 8 windowsize 3, 9 blocks", 8, 3, 70, true),
    ]
}

fn run_put(
    blksize: usize,
    window: u64,
    len: usize,
    options: bool,
    schedule: Schedule<'_>,
) -> (Log, PutClient, PutServer) {
    let (cfg, mut srv) = put_case(blksize, window, len, options);
    let mut c = put_client(cfg, &file_of(len));
    let log = simulate(&mut c, &mut srv, schedule, 10_000, None);
    (log, c, srv)
}

#[test]
fn put_survives_loss_duplication_and_delay_at_every_position() {
    for (name, bs, ws, len, o) in put_cases() {
        let (clean, _, srv) = run_put(bs, ws, len, o, &mut deliver_all());
        clean.result.as_ref().unwrap();
        assert_eq!(srv.got, file_of(len), "{name}: clean run");
        for to_server in [true, false] {
            for kind in KINDS {
                for n in 0..clean.count(kind, to_server) {
                    for fate in [Fate::Drop, Fate::Twice, Fate::Late] {
                        let what = format!("{name}: {fate:?} {kind:?} #{n} to_server={to_server}");
                        let (log, c, srv) =
                            run_put(bs, ws, len, o, &mut nth(kind, to_server, n, fate));
                        assert!(log.result.is_ok(), "{what}: {:?}", log.result);
                        assert_eq!(srv.got, file_of(len), "{what}");
                        assert!(srv.finished, "{what}");
                        assert_eq!(c.m.phase(), Phase::Done, "{what}");
                    }
                }
            }
        }
    }
}

#[test]
fn put_every_ack_twice_never_sends_extra_data() {
    for (name, bs, ws, len, o) in put_cases() {
        let mut twice = |s: &Sent, to_server: bool| {
            if !to_server && s.kind() == Kind::Ack {
                Fate::Twice
            } else {
                Fate::Deliver
            }
        };
        let (log, c, srv) = run_put(bs, ws, len, o, &mut twice);
        log.result.as_ref().unwrap();
        assert_eq!(srv.got, file_of(len), "{name}");
        let blocks = len / bs + 1;
        assert_eq!(
            log.count(Kind::Data, true),
            blocks,
            "{name}: Sorcerer's Apprentice: DATA sent {:?}",
            log.client_data()
        );
        // Every doubled ACK is counted, but the last: it finds the machine
        // done.
        let acks = log.count(Kind::Ack, false) as u64;
        assert_eq!(c.m.stats().duplicates, acks - 1, "{name}");
        assert_eq!(c.m.stats().retransmits, 0);
    }
}

fn upload_started(
    options: Requested,
    answer: Option<&[(&str, &str)]>,
    file: &[u8],
) -> (Upload, Bytes) {
    let mut u = Upload::new(config(options), server());
    let mut src = Bytes::new(file.to_vec());
    u.start();
    assert!(matches!(&drain(u.outbox())[..], [(to, Sent::Wrq(_))] if *to == server()));
    let first = match answer {
        Some(o) => oack(o),
        None => ack(0),
    };
    u.on_datagram(tid(), &first, &mut src).unwrap();
    (u, src)
}

fn data_blocks(sent: &[(SocketAddr, Sent)]) -> Vec<u16> {
    sent.iter()
        .map(|(to, s)| {
            assert_eq!(*to, tid());
            match s {
                Sent::Data(n, _) => *n,
                other => panic!("{other:?}"),
            }
        })
        .collect()
}

#[test]
fn put_duplicate_ack_is_never_answered() {
    let file = file_of(1300);
    let (mut u, mut src) = upload_started(Requested::default(), None, &file);
    assert_eq!(data_blocks(&drain(u.outbox())), [1]);
    u.on_datagram(tid(), &ack(0), &mut src).unwrap();
    assert_eq!(drain(u.outbox()), [], "a second ACK 0 sends nothing");
    u.on_datagram(tid(), &ack(1), &mut src).unwrap();
    assert_eq!(data_blocks(&drain(u.outbox())), [2]);
    u.on_datagram(tid(), &ack(1), &mut src).unwrap();
    u.on_datagram(tid(), &ack(1), &mut src).unwrap();
    assert_eq!(drain(u.outbox()), [], "duplicate ACK 1 sends nothing");
    assert_eq!(u.stats().duplicates, 3);
    u.on_datagram(tid(), &ack(2), &mut src).unwrap();
    let sent = drain(u.outbox());
    assert!(matches!(&sent[..], [(_, Sent::Data(3, d))] if d.len() == 1300 - 1024));
    u.on_datagram(tid(), &ack(3), &mut src).unwrap();
    assert_eq!(u.phase(), Phase::Done);
    assert_eq!(u.stats().blocks, 3);
}

#[test]
fn put_window_ack_mid_window_moves_it() {
    let file = file_of(80); // 10 full blocks of 8, then an empty 11th
    let (mut u, mut src) = upload_started(
        opts(Some(8), Some(4), None),
        Some(&[("blksize", "8"), ("windowsize", "4")]),
        &file,
    );
    assert_eq!(data_blocks(&drain(u.outbox())), [1, 2, 3, 4]);
    // The server took 1 and 2 only.
    u.on_datagram(tid(), &ack(2), &mut src).unwrap();
    let sent = drain(u.outbox());
    assert_eq!(data_blocks(&sent), [3, 4, 5, 6]);
    assert_eq!(
        sent[0].1,
        Sent::Data(3, file[16..24].to_vec()),
        "block 3 resent unchanged"
    );
    assert_eq!(sent[3].1, Sent::Data(6, file[40..48].to_vec()));
    // An old ACK changes nothing.
    u.on_datagram(tid(), &ack(1), &mut src).unwrap();
    assert_eq!(drain(u.outbox()), []);
    u.on_datagram(tid(), &ack(6), &mut src).unwrap();
    assert_eq!(data_blocks(&drain(u.outbox())), [7, 8, 9, 10]);
    u.on_datagram(tid(), &ack(10), &mut src).unwrap();
    let sent = drain(u.outbox());
    assert_eq!(sent, [(tid(), Sent::Data(11, vec![]))]);
    u.on_datagram(tid(), &ack(11), &mut src).unwrap();
    assert_eq!(u.phase(), Phase::Done);
    assert_eq!(u.stats().blocks, 11);
    assert_eq!(u.stats().bytes, 80);
}

#[test]
fn put_lost_data_is_resent_only_after_a_timeout() {
    let file = file_of(20);
    let (mut u, mut src) =
        upload_started(opts(Some(8), None, None), Some(&[("blksize", "8")]), &file);
    assert_eq!(
        drain(u.outbox()),
        [(tid(), Sent::Data(1, file[..8].to_vec()))]
    );
    // DATA 1 is lost: nothing happens until the timer fires.
    assert_eq!(drain(u.outbox()), []);
    u.on_timeout(&mut src).unwrap();
    assert_eq!(
        drain(u.outbox()),
        [(tid(), Sent::Data(1, file[..8].to_vec()))]
    );
    assert_eq!(u.stats().retransmits, 1);
    u.on_datagram(tid(), &ack(1), &mut src).unwrap();
    assert_eq!(data_blocks(&drain(u.outbox())), [2]);

    // Windowed: the whole window again.
    let (mut u, mut src) = upload_started(
        opts(Some(8), Some(3), None),
        Some(&[("blksize", "8"), ("windowsize", "3")]),
        &file_of(100),
    );
    assert_eq!(data_blocks(&drain(u.outbox())), [1, 2, 3]);
    u.on_timeout(&mut src).unwrap();
    assert_eq!(data_blocks(&drain(u.outbox())), [1, 2, 3]);

    // Retries run out mid-file: a timeout.
    let mut cfg = config(Requested::default());
    cfg.retries = 2;
    let mut u = Upload::new(cfg.clone(), server());
    let mut src = Bytes::new(file_of(2000));
    u.start();
    u.on_datagram(tid(), &ack(0), &mut src).unwrap();
    u.on_timeout(&mut src).unwrap();
    u.on_timeout(&mut src).unwrap();
    match u.on_timeout(&mut src).unwrap_err() {
        TftpError::Timeout { addr, tries } => assert_eq!((addr, tries), (tid(), 3)),
        other => panic!("{other:?}"),
    }

    // Retries run out after the final block went out: only the
    // confirmation is missing, and the error says so.
    let mut u = Upload::new(cfg, server());
    let mut src = Bytes::new(file_of(10));
    u.start();
    u.on_datagram(tid(), &ack(0), &mut src).unwrap();
    u.on_timeout(&mut src).unwrap();
    u.on_timeout(&mut src).unwrap();
    match u.on_timeout(&mut src).unwrap_err() {
        TftpError::FinalAckLost { addr, tries } => assert_eq!((addr, tries), (tid(), 3)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn put_of_zero_bytes_sends_one_empty_data() {
    let (mut u, mut src) = upload_started(Requested::default(), None, b"");
    assert_eq!(drain(u.outbox()), [(tid(), Sent::Data(1, vec![]))]);
    u.on_datagram(tid(), &ack(1), &mut src).unwrap();
    assert_eq!(u.phase(), Phase::Done);
    assert_eq!(drain(u.outbox()), []);
    let st: Stats = u.stats();
    assert_eq!((st.blocks, st.bytes, st.wire_bytes), (1, 0, 0));
}

#[test]
fn put_rollover_wraps_to_zero() {
    let len = usize::try_from(ROLLOVER_BLOCKS - 1).unwrap() * 8 + 3;
    let file = file_of(len);
    let mut c = put_client(config(opts(Some(8), None, None)), &file);
    let mut srv = PutServer::new(8, 1).with_oack(&[("blksize", "8")]);
    let log = simulate(&mut c, &mut srv, &mut deliver_all(), 1_000_000, None);
    log.result.as_ref().unwrap();
    assert!(srv.got == file, "uploaded file differs");
    let sent = log.client_data();
    assert_eq!(sent.len() as u64, ROLLOVER_BLOCKS);
    assert_eq!(sent[65534], 65535);
    assert_eq!(sent[65535], 0, "the block after 65535 is 0");
    assert_eq!(sent[65536], 1);
    assert_eq!(c.m.stats().blocks, ROLLOVER_BLOCKS);
}

#[test]
fn put_hostile_answers() {
    // ERROR mid-transfer.
    let (mut u, mut src) = upload_started(Requested::default(), None, &file_of(2000));
    drain(u.outbox());
    let e = u
        .on_datagram(tid(), &error(3, "Disk full"), &mut src)
        .unwrap_err();
    assert!(
        matches!(
            e,
            TftpError::Server {
                code: ErrorCode::DiskFull,
                ..
            }
        ),
        "{e:?}"
    );
    // DATA to an uploading client.
    let (mut u, mut src) = upload_started(Requested::default(), None, &file_of(2000));
    drain(u.outbox());
    let e = u.on_datagram(tid(), &data(1, b"x"), &mut src).unwrap_err();
    assert!(matches!(e, TftpError::Protocol(_)), "{e:?}");
    assert!(matches!(&drain(u.outbox())[..], [(_, Sent::Error(4, _))]));
    // A stranger's ACK: ERROR 5 to it, nothing sent to the server.
    let (mut u, mut src) = upload_started(Requested::default(), None, &file_of(2000));
    drain(u.outbox());
    u.on_datagram(stranger(), &ack(1), &mut src).unwrap();
    assert!(matches!(&drain(u.outbox())[..], [(to, Sent::Error(5, _))] if *to == stranger()));
    assert_eq!(u.stats().blocks, 0);
    // OACK changing the tsize we send.
    let mut u = Upload::new(config(opts(None, None, Some(2000))), server());
    u.start();
    drain(u.outbox());
    let mut src = Bytes::new(file_of(2000));
    let e = u
        .on_datagram(tid(), &oack(&[("tsize", "1")]), &mut src)
        .unwrap_err();
    assert!(matches!(e, TftpError::BadOption(_)), "{e:?}");
    assert!(matches!(&drain(u.outbox())[..], [(_, Sent::Error(8, _))]));
    // ERROR 8 to a WRQ with options: a plain WRQ.
    let mut u = Upload::new(config(opts(Some(1024), None, None)), server());
    u.start();
    drain(u.outbox());
    u.on_datagram(tid(), &error(8, "no"), &mut src).unwrap();
    assert_eq!(drain(u.outbox()), [(server(), Sent::Wrq(vec![]))]);
    assert!(u.stats().fell_back);
}

// ---------------------------------------------------------------------------
// Random schedules

/// `SplitMix64`: a whole schedule from one seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn fate(&mut self) -> Fate {
        match self.next() % 100 {
            0..15 => Fate::Drop,
            15..25 => Fate::Twice,
            25..35 => Fate::Late,
            _ => Fate::Deliver,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_schedule_never_corrupts_a_download(
        seed: u64,
        len in 0usize..90,
        blksize in 8usize..12,
        window in 1u64..5,
        options: bool,
        stranger_at in proptest::option::of(0usize..60),
    ) {
        let (options, blksize, window, len, oack) = if options {
            (
                opts(Some(u16::try_from(blksize).unwrap()), (window > 1).then_some(u16::try_from(window).unwrap()), Some(0)),
                blksize,
                window,
                len,
                Some(vec![
                    ("blksize", blksize.to_string()),
                    ("tsize", len.to_string()),
                    ("windowsize", window.to_string()),
                ]),
            )
        } else {
            (Requested::default(), 512, 1, len * 20, None)
        };
        let mut oack = oack;
        if let Some(o) = &mut oack && window == 1 {
            o.pop();
        }
        let case = GetCase { name: "random", options, blksize, window, len, oack };
        let mut cfg = config(case.options);
        cfg.retries = 40;
        let mut c = get_client(cfg);
        let mut srv = case.server();
        let mut rng = Rng(seed);
        let mut sched = |_: &Sent, _: bool| rng.fate();
        let log = simulate(&mut c, &mut srv, &mut sched, 100_000, stranger_at);
        prop_assert!(log.result.is_ok(), "{:?}", log.result);
        prop_assert_eq!(&c.file, &file_of(len));
        prop_assert_eq!(c.m.phase(), Phase::Done);
        prop_assert!(log.to_stranger.iter().all(|s| matches!(s, Sent::Error(5, _))));
    }

    #[test]
    fn random_schedule_never_corrupts_an_upload(
        seed: u64,
        len in 0usize..90,
        blksize in 8usize..12,
        window in 1u64..5,
        options: bool,
    ) {
        let len = if options { len } else { len * 20 };
        let (mut cfg, mut srv) = put_case(blksize, window, len, options);
        cfg.retries = 40;
        let mut c = put_client(cfg, &file_of(len));
        let mut rng = Rng(seed);
        let mut sched = |_: &Sent, _: bool| rng.fate();
        let log = simulate(&mut c, &mut srv, &mut sched, 100_000, None);
        prop_assert!(log.result.is_ok(), "{:?}", log.result);
        prop_assert_eq!(&srv.got, &file_of(len));
        prop_assert_eq!(c.m.phase(), Phase::Done);
    }
}

/// `blocks_to_ack` says when the next block is the one we answer at once
/// (the transport busy-polls for exactly those).
#[test]
fn blocks_to_ack_counts_down_each_window() {
    let file = file_of(70); // blocks 1..=9 at blksize 8, the 9th 6 bytes
    let block = |k: usize| {
        data(
            u16::try_from(k).unwrap(),
            &file[(k - 1) * 8..(k * 8).min(70)],
        )
    };
    let mut d = Download::new(config(opts(Some(8), Some(4), None)), server());
    d.start();
    let mut out = Vec::new();
    d.outbox().clear();
    d.on_datagram(
        tid(),
        &oack(&[("blksize", "8"), ("windowsize", "4")]),
        &mut out,
    )
    .unwrap();
    let mut seen = vec![d.blocks_to_ack()];
    for k in 1..=6 {
        d.on_datagram(tid(), &block(k), &mut out).unwrap();
        seen.push(d.blocks_to_ack());
    }
    assert_eq!(seen, [4, 3, 2, 1, 4, 3, 2]);
    // A gap re-ACK starts the window again from what we have.
    d.on_datagram(tid(), &block(8), &mut out).unwrap();
    assert_eq!(drain(d.outbox()).last(), Some(&(tid(), Sent::Ack(6))));
    assert_eq!(d.blocks_to_ack(), 4);

    // Lock-step: every block is answered at once.
    let mut l = Download::new(config(opts(Some(8), None, None)), server());
    l.start();
    l.on_datagram(tid(), &oack(&[("blksize", "8")]), &mut out)
        .unwrap();
    assert_eq!(l.blocks_to_ack(), 1);
    l.on_datagram(tid(), &block(1), &mut out).unwrap();
    assert_eq!(l.blocks_to_ack(), 1);
}

/// The transport writes octet data only once the ACK is out: `handle`
/// names it as bytes `a..b` of the datagram (a `Deliver`) and writes
/// nothing; netascii's translation, which is not a piece of the datagram,
/// goes to the sink at once.
#[test]
fn handle_names_octet_data_as_a_piece_of_the_datagram() {
    let (mut d, mut out) = get_after_oack(opts(Some(8), None, Some(0)), &[("blksize", "8")]);
    let block = data(1, b"abcdefgh");
    d.handle(tid(), &block, &mut out).unwrap();
    assert!(out.is_empty(), "nothing written yet: {out:?}");
    assert_eq!(drain(d.outbox()), [(tid(), Sent::Ack(1))], "the ACK first");
    assert_eq!(d.take_delivery(), Some(Deliver(4..12)));
    assert_eq!(d.take_delivery(), None, "taken once");
    assert_eq!(d.stats().bytes, 8);
    // A duplicate delivers nothing.
    d.handle(tid(), &block, &mut out).unwrap();
    assert_eq!(d.take_delivery(), None);

    let mut cfg = config(opts(Some(8), None, None));
    cfg.mode = Mode::Netascii;
    let mut n = Download::new(cfg, server());
    n.start();
    n.handle(tid(), &oack(&[("blksize", "8")]), &mut out)
        .unwrap();
    n.handle(tid(), &data(1, b"ab\r\ncd\r\n"), &mut out)
        .unwrap();
    assert_eq!(n.take_delivery(), None);
    assert_eq!(out, b"ab\ncd\n");
}

/// A tsize mismatch is found at the last block, after it was delivered:
/// the delivery is still there to take, so every acknowledged byte
/// reaches the sink.
#[test]
fn a_failed_last_block_still_leaves_its_delivery() {
    let (mut d, mut out) = get_after_oack(
        opts(Some(8), None, Some(0)),
        &[("blksize", "8"), ("tsize", "20")],
    );
    d.handle(tid(), &data(1, b"abcdefgh"), &mut out).unwrap();
    assert_eq!(d.take_delivery(), Some(Deliver(4..12)));
    let e = d.handle(tid(), &data(2, b"xy"), &mut out).unwrap_err();
    assert!(matches!(e, TftpError::SizeMismatch { .. }), "{e}");
    assert_eq!(d.take_delivery(), Some(Deliver(4..6)));
}
