//! `nettool tftp` over a lossy path: a deterministic UDP relay between the
//! client and a real server (tftpd-hpa, atftpd, or `nettool tftp serve`)
//! drops, duplicates, reorders and delays packets from a seed, and the
//! bytes must still arrive intact; a server gone silent must end in a clear
//! error and no file. With `nettool tftp serve` behind the relay its own
//! record of each transfer must say `ok` too (tests named `serve_*`).
//!
//! The relay (written here; the kernel lacks netem) listens on 127.0.0.1:R
//! for requests. The server answers from a new port (its transfer ID); the
//! relay gives each server port its own relay port toward the client, so
//! the client sees one consistent TID per server transfer, and forwards the
//! client's packets to the server port behind it.
//!
//! Every test prints its seed; `TFTP_LOSS_SEED=0x... cargo test --test
//! tftp_loss NAME` replays the same impairment decisions (timing may still
//! vary which retransmission a decision falls on). `TFTP_LOSS_DUMP=1`
//! prints every relayed packet.

mod tftpd;
mod util;

use std::collections::{HashMap, VecDeque};
use std::fmt::{self, Write as _};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tftpd::{Kind, Serve, Server, Spec, assert_same_bytes, listing, pattern, workdir};
use util::{Output, nettool};

// ---------------------------------------------------------------------------
// PRNG and seeds

/// xorshift64: tiny, and the same sequence everywhere.
#[derive(Debug, Clone)]
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> XorShift {
        // Never zero (xorshift's fixed point); mix the seed a little.
        XorShift((seed ^ 0x9e37_79b9_7f4a_7c15).max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// True with probability `pct` percent.
    fn chance(&mut self, pct: u32) -> bool {
        self.next() % 100 < u64::from(pct)
    }
}

/// The seed for a test: `$TFTP_LOSS_SEED` (decimal or 0x hex), else the
/// test's fixed default; printed so a failure replays.
fn seed(test: &str, default: u64) -> u64 {
    let s = match std::env::var("TFTP_LOSS_SEED") {
        Ok(v) => {
            let v = v.trim();
            v.strip_prefix("0x")
                .map_or_else(|| v.parse(), |h| u64::from_str_radix(h, 16))
                .unwrap_or_else(|e| panic!("TFTP_LOSS_SEED={v:?}: {e}"))
        }
        Err(_) => default,
    };
    eprintln!(
        "[{test}] seed {s:#x} (replay: TFTP_LOSS_SEED={s:#x} cargo test --test tftp_loss {test})"
    );
    s
}

// ---------------------------------------------------------------------------
// Packets (just enough TFTP to log and match them)

const RRQ: u16 = 1;
const WRQ: u16 = 2;
const DATA: u16 = 3;
const ACK: u16 = 4;
const ERROR: u16 = 5;
const OACK: u16 = 6;

fn opcode(p: &[u8]) -> u16 {
    if p.len() >= 2 {
        u16::from_be_bytes([p[0], p[1]])
    } else {
        0
    }
}

/// The block number of a DATA or ACK.
fn block(p: &[u8]) -> Option<u16> {
    (matches!(opcode(p), DATA | ACK) && p.len() >= 4).then(|| u16::from_be_bytes([p[2], p[3]]))
}

fn is_ack(p: &[u8], n: u16) -> bool {
    opcode(p) == ACK && block(p) == Some(n)
}

fn is_data(p: &[u8], n: u16) -> bool {
    opcode(p) == DATA && block(p) == Some(n)
}

fn describe(p: &[u8]) -> String {
    match opcode(p) {
        RRQ | WRQ | OACK | ERROR => {
            let name = ["?", "RRQ", "WRQ", "DATA", "ACK", "ERROR", "OACK"][usize::from(opcode(p))];
            let mut rest: Vec<String> = p[2..]
                .split(|&b| b == 0)
                .filter(|s| !s.is_empty())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect();
            if opcode(p) == ERROR && p.len() >= 4 {
                rest[0] = format!("code {}", u16::from_be_bytes([p[2], p[3]]));
                rest.push(
                    String::from_utf8_lossy(&p[4..])
                        .trim_end_matches('\0')
                        .to_string(),
                );
            }
            format!("{name} {}", rest.join(" "))
        }
        DATA => format!(
            "DATA {} ({} bytes)",
            block(p).unwrap_or(0),
            p.len().saturating_sub(4)
        ),
        ACK => format!("ACK {}", block(p).unwrap_or(0)),
        _ => format!("junk ({} bytes)", p.len()),
    }
}

// ---------------------------------------------------------------------------
// Impairments

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Dir {
    /// Client to server.
    C2S,
    /// Server to client.
    S2C,
}

type Matcher = Box<dyn Fn(&[u8]) -> bool + Send>;

/// What to do to one direction's packets; `n` counts that direction's
/// packets from 1.
#[derive(Default)]
struct Impair {
    /// Random loss, percent (from the seeded PRNG of this direction).
    loss_pct: u32,
    /// Send every Nth packet twice.
    dup_every: Option<u64>,
    /// Hold every Nth packet and send it after the next one (or after
    /// `HOLD_MAX` if no next one comes).
    reorder_every: Option<u64>,
    /// Delay packet N by the duration.
    delay: Vec<(u64, Duration)>,
    /// Drop everything after packet N.
    drop_after: Option<u64>,
    /// Drop the first `count` packets that match.
    drop_matching: Option<(Matcher, usize)>,
}

impl fmt::Debug for Impair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Impair")
            .field("loss_pct", &self.loss_pct)
            .field("dup_every", &self.dup_every)
            .field("reorder_every", &self.reorder_every)
            .field("delay", &self.delay)
            .field("drop_after", &self.drop_after)
            .field(
                "drop_matching",
                &self.drop_matching.as_ref().map(|(_, n)| *n),
            )
            .finish()
    }
}

/// A held (reordered) packet is sent after this long at the latest.
const HOLD_MAX: Duration = Duration::from_millis(300);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Forwarded,
    Dropped,
    Duplicated,
    /// Held back for reordering; sent later (a `Released` entry).
    Held,
    Released,
    Delayed(Duration),
}

/// One packet the relay saw.
#[derive(Debug, Clone)]
struct Entry {
    at: Duration,
    dir: Dir,
    /// Index in its direction, from 1 (0 for a release of a held packet).
    n: u64,
    /// The server's transfer port (0: the listening port).
    server_port: u16,
    bytes: Vec<u8>,
    action: Action,
}

impl Entry {
    /// Did the other side get (at least one copy of) it?
    fn delivered(&self) -> bool {
        !matches!(self.action, Action::Dropped | Action::Held)
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>8.3}ms {:?} #{:<4} srv:{:<5} {:<28} {:?}",
            self.at.as_secs_f64() * 1e3,
            self.dir,
            self.n,
            self.server_port,
            describe(&self.bytes),
            self.action
        )
    }
}

// ---------------------------------------------------------------------------
// The relay

/// Which socket a datagram came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// The relay's request port (127.0.0.1:R).
    Front,
    /// The relay's socket toward the server.
    Upstream,
    /// The relay port standing for one server transfer port.
    Transfer(u16),
}

struct Datagram {
    via: Via,
    from: SocketAddr,
    bytes: Vec<u8>,
}

struct Relay {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Entry>>>,
    /// server transfer port -> relay port shown to the client.
    tids: Arc<Mutex<Vec<(u16, u16)>>>,
    threads: Vec<JoinHandle<()>>,
}

/// Receive on `sock` into `tx` until `stop`.
fn reader(
    sock: UdpSocket,
    via: Via,
    tx: Sender<Datagram>,
    stop: Arc<AtomicBool>,
) -> JoinHandle<()> {
    sock.set_read_timeout(Some(Duration::from_millis(20)))
        .expect("set a read timeout");
    thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        while !stop.load(Ordering::Relaxed) {
            // Errors are timeouts, and ICMP errors about earlier sends (a
            // server transfer that ended): keep listening.
            if let Ok((n, from)) = sock.recv_from(&mut buf) {
                let d = Datagram {
                    via,
                    from,
                    bytes: buf[..n].to_vec(),
                };
                if tx.send(d).is_err() {
                    return;
                }
            }
        }
    })
}

fn bind_loopback() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").expect("bind a relay socket on 127.0.0.1")
}

impl Relay {
    /// Relay to `server` (its listening address), impairing each direction.
    fn start(server: SocketAddr, c2s: Impair, s2c: Impair, seed: u64) -> Relay {
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let tids = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let front = bind_loopback();
        let upstream = bind_loopback();
        let addr = front.local_addr().unwrap();
        let mut threads = vec![
            reader(
                front.try_clone().unwrap(),
                Via::Front,
                tx.clone(),
                stop.clone(),
            ),
            reader(
                upstream.try_clone().unwrap(),
                Via::Upstream,
                tx.clone(),
                stop.clone(),
            ),
        ];
        let core = Core {
            server,
            front,
            upstream,
            client: None,
            transfers: HashMap::new(),
            by_relay_port: HashMap::new(),
            tx,
            stop: stop.clone(),
            log: log.clone(),
            tids: tids.clone(),
            started: Instant::now(),
            dirs: [
                DirState::new(c2s, XorShift::new(seed)),
                DirState::new(s2c, XorShift::new(seed.rotate_left(32) ^ 0x5eed)),
            ],
            timers: VecDeque::new(),
            readers: Vec::new(),
        };
        threads.push(thread::spawn(move || core.run(&rx)));
        Relay {
            addr,
            stop,
            log,
            tids,
            threads,
        }
    }

    /// Where the client sends its request: `127.0.0.1:R`.
    fn addr(&self) -> String {
        self.addr.to_string()
    }

    fn log(&self) -> Vec<Entry> {
        self.log.lock().unwrap().clone()
    }

    /// (server transfer port, relay port the client sees), in order seen.
    fn tids(&self) -> Vec<(u16, u16)> {
        self.tids.lock().unwrap().clone()
    }

    /// The whole log, one packet a line, for failure messages.
    fn dump(&self) -> String {
        let mut s = format!("relay {} log:\n", self.addr);
        for e in self.log() {
            let _ = writeln!(s, "  {e}");
        }
        s
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

struct DirState {
    imp: Impair,
    rng: XorShift,
    count: u64,
    held: Option<(Instant, SocketAddr, Via, Vec<u8>, u16)>,
}

impl DirState {
    fn new(imp: Impair, rng: XorShift) -> DirState {
        DirState {
            imp,
            rng,
            count: 0,
            held: None,
        }
    }
}

/// The relay's state, owned by its main thread.
struct Core {
    server: SocketAddr,
    front: UdpSocket,
    upstream: UdpSocket,
    /// The client, from its first request.
    client: Option<SocketAddr>,
    /// server transfer port -> the relay's socket for it.
    transfers: HashMap<u16, UdpSocket>,
    /// relay port -> server transfer port.
    by_relay_port: HashMap<u16, u16>,
    tx: Sender<Datagram>,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Entry>>>,
    tids: Arc<Mutex<Vec<(u16, u16)>>>,
    started: Instant,
    dirs: [DirState; 2],
    /// Delayed packets: (due, dir index, to, via, bytes, server port).
    timers: VecDeque<(Instant, usize, SocketAddr, Via, Vec<u8>, u16)>,
    readers: Vec<JoinHandle<()>>,
}

impl Core {
    fn run(mut self, rx: &Receiver<Datagram>) {
        while !self.stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            let mut wait = Duration::from_millis(20);
            if let Some(t) = self.timers.iter().map(|t| t.0).min() {
                wait = wait.min(t.saturating_duration_since(now));
            }
            for d in &self.dirs {
                if let Some((since, ..)) = &d.held {
                    wait = wait.min((*since + HOLD_MAX).saturating_duration_since(now));
                }
            }
            match rx.recv_timeout(wait) {
                Ok(d) => self.on_datagram(&d),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            self.fire_timers();
        }
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
    }

    fn on_datagram(&mut self, d: &Datagram) {
        match d.via {
            Via::Front | Via::Transfer(_) => {
                if self.client.is_none() && d.via == Via::Front {
                    self.client = Some(d.from);
                }
                if Some(d.from) != self.client {
                    return; // not our client: not relayed
                }
                let (to, server_port) = match d.via {
                    Via::Transfer(p) => {
                        let sp = self.by_relay_port[&p];
                        (SocketAddr::new(self.server.ip(), sp), sp)
                    }
                    _ => (self.server, 0),
                };
                self.impair(0, to, Via::Upstream, &d.bytes, server_port);
            }
            Via::Upstream => {
                let Some(client) = self.client else { return };
                let sp = d.from.port();
                if !self.transfers.contains_key(&sp) {
                    // A new server transfer ID: give it a relay port of its
                    // own toward the client.
                    let s = bind_loopback();
                    let rp = s.local_addr().unwrap().port();
                    self.readers.push(reader(
                        s.try_clone().unwrap(),
                        Via::Transfer(rp),
                        self.tx.clone(),
                        self.stop.clone(),
                    ));
                    self.transfers.insert(sp, s);
                    self.by_relay_port.insert(rp, sp);
                    self.tids.lock().unwrap().push((sp, rp));
                }
                let rp = self.transfers[&sp].local_addr().unwrap().port();
                self.impair(1, client, Via::Transfer(rp), &d.bytes, sp);
            }
        }
    }

    fn record(&self, dir: usize, n: u64, server_port: u16, bytes: &[u8], action: Action) {
        self.log.lock().unwrap().push(Entry {
            at: self.started.elapsed(),
            dir: if dir == 0 { Dir::C2S } else { Dir::S2C },
            n,
            server_port,
            bytes: bytes.to_vec(),
            action,
        });
    }

    fn send(&self, to: SocketAddr, via: Via, bytes: &[u8]) {
        let sock = match via {
            Via::Front => &self.front,
            Via::Upstream => &self.upstream,
            Via::Transfer(rp) => &self.transfers[&self.by_relay_port[&rp]],
        };
        // A refused send (ICMP from an ended transfer) is just lost.
        let _ = sock.send_to(bytes, to);
    }

    /// Apply direction `dir`'s impairments to one packet.
    fn impair(&mut self, dir: usize, to: SocketAddr, via: Via, bytes: &[u8], sp: u16) {
        let st = &mut self.dirs[dir];
        st.count += 1;
        let n = st.count;
        // Drawn for every packet, so packet N's fate depends only on the
        // seed and N.
        let random_loss = st.rng.chance(st.imp.loss_pct);
        let matched = match &mut st.imp.drop_matching {
            Some((m, left)) if *left > 0 && m(bytes) => {
                *left -= 1;
                true
            }
            _ => false,
        };
        let dropped = st.imp.drop_after.is_some_and(|a| n > a) || matched || random_loss;
        if dropped {
            self.record(dir, n, sp, bytes, Action::Dropped);
            return;
        }
        if let Some(&(_, d)) = st.imp.delay.iter().find(|(k, _)| *k == n) {
            self.timers
                .push_back((Instant::now() + d, dir, to, via, bytes.to_vec(), sp));
            self.record(dir, n, sp, bytes, Action::Delayed(d));
            return;
        }
        if st.imp.reorder_every.is_some_and(|k| n % k == 0) && st.held.is_none() {
            st.held = Some((Instant::now(), to, via, bytes.to_vec(), sp));
            self.record(dir, n, sp, bytes, Action::Held);
            return;
        }
        let dup = st.imp.dup_every.is_some_and(|k| n % k == 0);
        let held = st.held.take();
        self.send(to, via, bytes);
        if dup {
            self.send(to, via, bytes);
        }
        self.record(
            dir,
            n,
            sp,
            bytes,
            if dup {
                Action::Duplicated
            } else {
                Action::Forwarded
            },
        );
        if let Some((_, hto, hvia, hbytes, hsp)) = held {
            self.send(hto, hvia, &hbytes);
            self.record(dir, 0, hsp, &hbytes, Action::Released);
        }
    }

    /// Send delayed packets that are due, and held ones kept too long.
    fn fire_timers(&mut self) {
        let now = Instant::now();
        let mut i = 0;
        while i < self.timers.len() {
            if self.timers[i].0 <= now {
                let (_, dir, to, via, bytes, sp) = self.timers.remove(i).unwrap();
                self.send(to, via, &bytes);
                self.record(dir, 0, sp, &bytes, Action::Released);
            } else {
                i += 1;
            }
        }
        for dir in 0..2 {
            let expired = self.dirs[dir]
                .held
                .as_ref()
                .is_some_and(|(since, ..)| now >= *since + HOLD_MAX);
            if expired {
                let (_, to, via, bytes, sp) = self.dirs[dir].held.take().unwrap();
                self.send(to, via, &bytes);
                self.record(dir, 0, sp, &bytes, Action::Released);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Tests

/// Timing flags for a lossy path: a short timeout and enough retries that
/// a run of losses does not end the transfer.
const FAST: &[&str] = &["--timeout", "0.05", "--retries", "10"];

/// tftpd-hpa with its 50 ms retransmit; the `timeout` option refused, or
/// the client's `--timeout 0.05` (asked as whole seconds, 1) would set the
/// server's retransmit to 1 s.
fn hpa() -> Option<Server> {
    Spec::new(Kind::Hpa).refuse("timeout").start()
}

/// atftpd with `timeout` refused too (its own retry timeout is 1 s; on
/// loss the client's faster re-ACKs drive recovery).
fn atftpd() -> Option<Server> {
    Spec::new(Kind::Atftpd).refuse("timeout").start()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Get,
    Put,
}

/// A server behind the relay: tftpd-hpa or atftpd ([`Server`]), or
/// nettool's own ([`Serve`]).
trait Upstream {
    fn addr(&self) -> SocketAddr;
    /// Its name, for messages.
    fn label(&self) -> String;
    fn add_file(&self, name: &str, bytes: &[u8]);
    fn expect_file(&self, name: &str, want: &[u8], what: &str);
    /// What it logged, for failure messages.
    fn log(&self) -> String;
}

impl Upstream for Server {
    fn addr(&self) -> SocketAddr {
        Server::addr(self)
    }

    fn label(&self) -> String {
        self.kind.to_string()
    }

    fn add_file(&self, name: &str, bytes: &[u8]) {
        Server::add_file(self, name, bytes);
    }

    #[track_caller]
    fn expect_file(&self, name: &str, want: &[u8], what: &str) {
        Server::expect_file(self, name, want, what);
    }

    fn log(&self) -> String {
        Server::log(self)
    }
}

impl Upstream for Serve {
    fn addr(&self) -> SocketAddr {
        Serve::addr(self)
    }

    fn label(&self) -> String {
        self.to_string()
    }

    fn add_file(&self, name: &str, bytes: &[u8]) {
        Serve::add_file(self, name, bytes);
    }

    #[track_caller]
    fn expect_file(&self, name: &str, want: &[u8], what: &str) {
        Serve::expect_file(self, name, want, what);
    }

    fn log(&self) -> String {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            self.stdout_lines().join("\n"),
            self.stderr()
        )
    }
}

/// One transfer of `size` bytes through a relay with impairments `imp`;
/// the bytes must match. Returns the relay for log checks.
fn transfer(
    test: &str,
    srv: &impl Upstream,
    op: Op,
    size: usize,
    extra: &[&str],
    imp: (Impair, Impair),
    seed: u64,
) -> Relay {
    transfer_run(test, srv, op, size, extra, imp, seed).0
}

/// As [`transfer`], also returning nettool's run (for `--json` stats).
fn transfer_run(
    test: &str,
    srv: &impl Upstream,
    op: Op,
    size: usize,
    extra: &[&str],
    imp: (Impair, Impair),
    seed: u64,
) -> (Relay, Output) {
    transfer_timed(test, srv, op, size, FAST, extra, imp, seed)
}

/// The blksize `extra` asks for (512 unless `--blksize N`).
fn blksize_of(extra: &[&str]) -> usize {
    extra
        .iter()
        .position(|a| *a == "--blksize")
        .map_or(512, |i| extra[i + 1].parse().expect("a --blksize number"))
}

/// Whether the client's put failed only because no ACK of its final block
/// ever got through: it says so, and the relay dropped every ACK of that
/// block the server sent (the server, which already has the file, may
/// have stopped listening: RFC 1350's dally is the receiver's choice).
fn final_ack_never_arrived(run: &Output, relay: &Relay, last: u16) -> bool {
    let acks: Vec<Entry> = relay
        .log()
        .into_iter()
        .filter(|e| e.dir == Dir::S2C && is_ack(&e.bytes, last))
        .collect();
    run.code() == Some(1)
        && run.stderr.contains("no ACK for the final block")
        && !acks.is_empty()
        && acks.iter().all(|e| !e.delivered())
}

/// As [`transfer_run`], with the client's timing flags `timing` in place
/// of [`FAST`]. A put whose final ACK never arrived passes when the
/// server has the whole file ([`final_ack_never_arrived`]), but only to
/// [`serve_transfer`], which then checks the server's own record.
#[allow(clippy::too_many_arguments, reason = "transfer_run's, plus the timing")]
fn transfer_timed(
    test: &str,
    srv: &impl Upstream,
    op: Op,
    size: usize,
    timing: &[&str],
    extra: &[&str],
    imp: (Impair, Impair),
    seed: u64,
) -> (Relay, Output) {
    transfer_checked(test, srv, op, size, timing, extra, imp, seed, false)
}

#[allow(clippy::too_many_arguments, reason = "transfer_timed's, plus one")]
fn transfer_checked(
    test: &str,
    srv: &impl Upstream,
    op: Op,
    size: usize,
    timing: &[&str],
    extra: &[&str],
    imp: (Impair, Impair),
    seed: u64,
    final_ack_may_be_lost: bool,
) -> (Relay, Output) {
    let data = pattern(size, seed ^ size as u64);
    let wd = workdir();
    let name = remote_name(test, op);
    let relay = Relay::start(srv.addr(), imp.0, imp.1, seed);
    let ra = relay.addr();
    let mut a = vec!["tftp", if op == Op::Get { "get" } else { "put" }];
    a.extend_from_slice(timing);
    a.extend_from_slice(extra);
    match op {
        Op::Get => {
            srv.add_file(&name, &data);
            a.extend([ra.as_str(), &name, "local.bin"]);
        }
        Op::Put => {
            std::fs::write(wd.path().join("local.bin"), &data).unwrap();
            a.extend([ra.as_str(), "local.bin", &name]);
        }
    }
    let run = nettool(&a).current_dir(wd.path()).run();
    let last = u16::try_from(size / blksize_of(extra) + 1).expect("a small file");
    let excused = final_ack_may_be_lost
        && op == Op::Put
        && run.code() != Some(0)
        && final_ack_never_arrived(&run, &relay, last);
    if excused {
        eprintln!("[{test}] every ACK of the final block {last} was lost: the client failed");
    }
    assert!(
        excused || run.code() == Some(0),
        "[{test}] {} {op:?} failed (seed {seed:#x}){run:?}\n{}\nserver log (TFTPD_TRACE=1 for atftpd's packets):\n{}",
        srv.label(),
        relay.dump(),
        tail(&srv.log(), 60)
    );
    let what = format!("[{test}] {} {op:?} (seed {seed:#x})", srv.label());
    match op {
        Op::Get => {
            let got = std::fs::read(wd.path().join("local.bin")).expect("get wrote local.bin");
            assert_same_bytes(&what, &got, &data);
            assert_eq!(listing(wd.path()), vec!["local.bin"], "{what}: leftovers");
        }
        Op::Put => srv.expect_file(&name, &data, &what),
    }
    let log = relay.log();
    eprintln!(
        "[{test}] {} {op:?} {size} bytes {}: {:.2?}; relay dropped {}+{}, client->server {} packets, server->client {}",
        srv.label(),
        extra.join(" "),
        run.elapsed,
        count(&log, Dir::C2S, Action::Dropped),
        count(&log, Dir::S2C, Action::Dropped),
        log.iter().filter(|e| e.dir == Dir::C2S && e.n > 0).count(),
        log.iter().filter(|e| e.dir == Dir::S2C && e.n > 0).count(),
    );
    if std::env::var_os("TFTP_LOSS_DUMP").is_some() {
        eprintln!("{}", relay.dump());
    }
    (relay, run)
}

/// The server's name of the file `transfer` moves.
fn remote_name(test: &str, op: Op) -> String {
    format!("{test}-{op:?}.bin").to_lowercase()
}

/// The last `n` lines of `s`.
fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Random loss `pct` in both directions.
fn loss(pct: u32) -> (Impair, Impair) {
    (
        Impair {
            loss_pct: pct,
            ..Impair::default()
        },
        Impair {
            loss_pct: pct,
            ..Impair::default()
        },
    )
}

fn count(log: &[Entry], dir: Dir, action: Action) -> usize {
    log.iter()
        .filter(|e| e.dir == dir && e.action == action)
        .count()
}

/// The relay itself: a clean path moves the bytes, the client talks to
/// one relay port per server transfer, and that port stands for the
/// server's real transfer port.
#[test]
fn relay_clean_path_and_tid_mapping() {
    let Some(srv) = hpa() else { return };
    let data = pattern(3000, 1);
    srv.add_file("clean.bin", &data);
    let wd = workdir();
    let relay = Relay::start(srv.addr(), Impair::default(), Impair::default(), 0);
    let run = nettool(&["tftp", "get", "-v", &relay.addr(), "clean.bin"])
        .current_dir(wd.path())
        .run();
    run.expect_code(0);
    assert_same_bytes(
        "clean relay get",
        &std::fs::read(wd.path().join("clean.bin")).unwrap(),
        &data,
    );
    let tids = relay.tids();
    assert_eq!(
        tids.len(),
        1,
        "one server transfer{run:?}\n{}",
        relay.dump()
    );
    let (server_port, relay_port) = tids[0];
    assert_ne!(server_port, srv.port(), "tftpd-hpa answers from a new port");
    // The client's trace shows the relay's transfer port as the TID.
    let tid = format!("<- 127.0.0.1:{relay_port}");
    assert!(run.stderr.contains(&tid), "want {tid:?}{run:?}");
    assert!(
        !run.stderr.contains(&format!("127.0.0.1:{server_port} ")),
        "the client must never see the server's own port{run:?}"
    );
    let log = relay.log();
    assert!(
        log.iter().all(|e| e.action == Action::Forwarded),
        "{}",
        relay.dump()
    );
    assert!(
        log.iter()
            .all(|e| e.server_port == server_port || opcode(&e.bytes) == RRQ)
    );
}

/// Assert the relay did drop something (else the test tests nothing).
#[track_caller]
fn expect_drops(r: &Relay) {
    let log = r.log();
    assert!(
        count(&log, Dir::C2S, Action::Dropped) + count(&log, Dir::S2C, Action::Dropped) > 0,
        "the relay dropped nothing: the test tests nothing\n{}",
        r.dump()
    );
}

#[test]
fn random_loss_5pct_both_directions() {
    const T: &str = "random_loss_5pct_both_directions";
    let Some(srv) = hpa() else { return };
    let s = seed(T, 0x5);
    for (op, s) in [(Op::Get, s), (Op::Put, s + 1)] {
        let r = transfer(T, &srv, op, 256 << 10, &["--blksize", "1468"], loss(5), s);
        expect_drops(&r);
    }
}

#[test]
fn random_loss_20pct_get() {
    const T: &str = "random_loss_20pct_get";
    let Some(srv) = hpa() else { return };
    let s = seed(T, 0x20);
    let r = transfer(
        T,
        &srv,
        Op::Get,
        256 << 10,
        &["--blksize", "1468"],
        loss(20),
        s,
    );
    expect_drops(&r);
}

#[test]
fn random_loss_20pct_put() {
    const T: &str = "random_loss_20pct_put";
    let Some(srv) = hpa() else { return };
    let s = seed(T, 0x21);
    let r = transfer(
        T,
        &srv,
        Op::Put,
        256 << 10,
        &["--blksize", "1468"],
        loss(20),
        s,
    );
    expect_drops(&r);
}

/// atftpd with windowsize 8 under loss: gaps inside a window, lost window
/// ACKs and the client's once-per-gap re-ACK (get); lost DATA and the
/// client's window resends (put). The put loses only client->server
/// packets: atftpd 0.8 answers a resent window after a lost ACK only in
/// one alignment (see `windowed_put_lost_window_ack_atftpd`); otherwise it
/// ignores blocks it already has and only its own 1 s timer, restarted by
/// every ignored block, re-ACKs. With `--timeout 0.05` the client's
/// resends never leave it a quiet second and the upload fails after its
/// retries (replay: both directions lossy, seed 0x12, 256 KiB).
#[test]
fn random_loss_windowed_atftpd() {
    const T: &str = "random_loss_windowed_atftpd";
    let Some(srv) = atftpd() else { return };
    let s = seed(T, 0x58);
    let ws8 = ["--blksize", "1468", "--windowsize", "8"];
    let c2s_only = |pct| {
        (
            Impair {
                loss_pct: pct,
                ..Impair::default()
            },
            Impair::default(),
        )
    };
    for (op, imp, s) in [
        (Op::Get, loss(5), s),
        (Op::Get, loss(20), s + 1),
        (Op::Put, c2s_only(5), s + 2),
        (Op::Put, c2s_only(20), s + 3),
    ] {
        let r = transfer(T, &srv, op, 256 << 10, &ws8, imp, s);
        expect_drops(&r);
    }
}

/// A windowed upload whose window ACK is lost: the client times out and
/// resends the window from the block after the last ACK; atftpd, seeing
/// the first block of the window it already acknowledged again, ACKs it once
/// more ("got wrong block, sending extra ACK") and the upload goes on.
#[test]
fn windowed_put_lost_window_ack_atftpd() {
    const T: &str = "windowed_put_lost_window_ack_atftpd";
    let _ = seed(T, 0);
    let Some(srv) = atftpd() else { return };
    let data = pattern(40 * 1468 + 5, 14);
    let wd = workdir();
    std::fs::write(wd.path().join("src.bin"), &data).unwrap();
    let relay = Relay::start(
        srv.addr(),
        Impair::default(),
        Impair {
            drop_matching: Some((Box::new(|p| is_ack(p, 16)), 1)),
            ..Impair::default()
        },
        0,
    );
    let run = nettool(&[
        "tftp",
        "put",
        "--blksize",
        "1468",
        "--windowsize",
        "8",
        "--timeout",
        "0.3",
        "--retries",
        "6",
        &relay.addr(),
        "src.bin",
        "window-up.bin",
    ])
    .current_dir(wd.path())
    .run();
    let dump = relay.dump();
    assert_eq!(
        run.code(),
        Some(0),
        "{run:?}\n{dump}\n{}",
        tail(&srv.log(), 40)
    );
    srv.expect_file("window-up.bin", &data, T);
    if std::env::var_os("TFTP_LOSS_DUMP").is_some() {
        eprintln!("{dump}\n{}", srv.log());
    }
    let log = relay.log();
    let acks16: Vec<&Entry> = log
        .iter()
        .filter(|e| e.dir == Dir::S2C && is_ack(&e.bytes, 16))
        .collect();
    assert!(acks16.len() >= 2, "{dump}");
    assert_eq!(acks16[0].action, Action::Dropped, "{dump}");
    eprintln!(
        "[{T}] atftpd repeated its lost ACK 16 after {:.2?}; the client resent the window {} time(s)",
        acks16[1].at.saturating_sub(acks16[0].at),
        log.iter()
            .filter(|e| e.dir == Dir::C2S && is_data(&e.bytes, 9))
            .count()
            - 1
    );
}

/// DATA sent by the server in a get, and the blocks of the file.
fn data_sent(r: &Relay, size: usize, blksize: usize) -> (usize, usize) {
    let sent = r
        .log()
        .iter()
        .filter(|e| e.dir == Dir::S2C && e.n > 0 && opcode(&e.bytes) == DATA)
        .count();
    (sent, size / blksize + 1)
}

fn dup3() -> (Impair, Impair) {
    (
        Impair {
            dup_every: Some(3),
            ..Impair::default()
        },
        Impair {
            dup_every: Some(3),
            ..Impair::default()
        },
    )
}

#[test]
fn duplicate_every_third_packet_hpa() {
    const T: &str = "duplicate_every_third_packet_hpa";
    let Some(srv) = hpa() else { return };
    let s = seed(T, 0x3);
    let size = 64 << 10;
    let g = transfer(T, &srv, Op::Get, size, &["--blksize", "1468"], dup3(), s);
    // tftpd-hpa must not answer a duplicate ACK with DATA (Sorcerer's
    // Apprentice): it sends each block once.
    let (sent, blocks) = data_sent(&g, size, 1468);
    eprintln!("[{T}] tftpd-hpa sent {sent} DATA for {blocks} blocks");
    assert_eq!(sent, blocks, "{}", g.dump());
    transfer(
        T,
        &srv,
        Op::Put,
        size,
        &["--blksize", "1468"],
        dup3(),
        s + 1,
    );
}

#[test]
fn duplicate_every_third_packet_atftpd() {
    const T: &str = "duplicate_every_third_packet_atftpd";
    let Some(srv) = atftpd() else { return };
    let s = seed(T, 0x3);
    let size = 64 << 10;
    // Lock-step atftpd answers every duplicate ACK with DATA (it has the
    // Sorcerer's Apprentice bug unless started with --prevent-sas), so
    // each duplicate starts a chain that never ends: keep that file small.
    // `transfer` checks that the file arrived identical, and here the
    // client's --json stats must show the duplicates the relay made: each
    // copy of a DATA (get) or an ACK (put) counted once, not delivered
    // (all but a copy of the final packet, which may come after the end).
    for (size, extra) in [
        (16 << 10, &["--blksize", "1468", "--json"][..]),
        (
            size,
            &["--blksize", "1468", "--windowsize", "4", "--json"][..],
        ),
    ] {
        for (op, seed, kind) in [(Op::Get, s, DATA), (Op::Put, s + 1, ACK)] {
            let (relay, run) = transfer_run(T, &srv, op, size, extra, dup3(), seed);
            let made = relay
                .log()
                .iter()
                .filter(|e| {
                    e.dir == Dir::S2C && e.action == Action::Duplicated && opcode(&e.bytes) == kind
                })
                .count() as u64;
            let stats = run.json();
            let counted = stats["duplicates"].as_u64().expect("duplicates in --json");
            eprintln!(
                "[{T}] atftpd {op:?} {}: relay duplicated {made}, client counted {counted}, {} bytes",
                extra.join(" "),
                stats["bytes"]
            );
            // Every copy the client got beyond the first of each packet:
            // the relay's duplicates and the server's own resends (atftpd
            // answers a duplicate ACK with DATA again). The client can
            // count no more than these.
            let mut copies: HashMap<&[u8], u64> = HashMap::default();
            let log = relay.log();
            for e in log
                .iter()
                .filter(|e| e.dir == Dir::S2C && opcode(&e.bytes) == kind)
            {
                let n = match e.action {
                    Action::Forwarded => 1,
                    Action::Duplicated => 2,
                    _ => 0,
                };
                *copies.entry(&e.bytes[..]).or_default() += n;
            }
            let repeats: u64 = copies.values().map(|&c| c.saturating_sub(1)).sum();
            assert!(made > 0, "[{T}] {op:?}: the relay duplicated nothing");
            assert!(
                counted + 1 >= made && counted <= repeats,
                "[{T}] {op:?} {}: {made} duplicates made, {repeats} repeats delivered, {counted} counted{run:?}",
                extra.join(" ")
            );
            assert_eq!(stats["bytes"].as_u64(), Some(size as u64), "[{T}] {op:?}");
            if op == Op::Get {
                let (sent, blocks) = data_sent(&relay, size, 1468);
                eprintln!("[{T}] atftpd sent {sent} DATA for {blocks} blocks");
            }
        }
    }
}

fn reorder() -> (Impair, Impair) {
    (
        Impair {
            reorder_every: Some(5),
            ..Impair::default()
        },
        Impair {
            reorder_every: Some(4),
            ..Impair::default()
        },
    )
}

#[test]
fn reordered_packets_hpa() {
    const T: &str = "reordered_packets_hpa";
    let Some(srv) = hpa() else { return };
    let s = seed(T, 0x4);
    for (op, s) in [(Op::Get, s), (Op::Put, s + 1)] {
        transfer(T, &srv, op, 32 << 10, &["--blksize", "1468"], reorder(), s);
    }
}

/// Windowed: DATA n+1 before DATA n inside a window.
#[test]
fn reordered_packets_windowed_atftpd() {
    const T: &str = "reordered_packets_windowed_atftpd";
    let Some(srv) = atftpd() else { return };
    let s = seed(T, 0x4);
    let ws8 = ["--blksize", "1468", "--windowsize", "8"];
    for (op, s) in [(Op::Get, s), (Op::Put, s + 1)] {
        transfer(T, &srv, op, 64 << 10, &ws8, reorder(), s);
    }
}

/// One packet held past the client's timeout each way: the client
/// retransmits, the late copy arrives as a duplicate and must not be
/// written twice.
#[test]
fn delayed_packet() {
    const T: &str = "delayed_packet";
    let Some(srv) = hpa() else { return };
    let s = seed(T, 0xd);
    let delay = || {
        (
            Impair {
                delay: vec![(7, Duration::from_millis(150))],
                ..Impair::default()
            },
            Impair {
                delay: vec![(5, Duration::from_millis(150))],
                ..Impair::default()
            },
        )
    };
    for (op, s) in [(Op::Get, s), (Op::Put, s + 1)] {
        let r = transfer(T, &srv, op, 32 << 10, &["--blksize", "1468"], delay(), s);
        let log = r.log();
        assert_eq!(
            log.iter()
                .filter(|e| matches!(e.action, Action::Delayed(_)))
                .count(),
            2,
            "{}",
            r.dump()
        );
    }
}

/// The final ACK of a get is lost: the server sends its last DATA again,
/// the client (dallying) ACKs it again, and the server ends without error.
#[test]
fn final_ack_lost_client_dallies() {
    const T: &str = "final_ack_lost_client_dallies";
    let Some(srv) = hpa() else { return };
    let _ = seed(T, 0);
    let size = 5 * 1468 + 100;
    let last = u16::try_from(size / 1468 + 1).unwrap();
    let data = pattern(size, 9);
    srv.add_file("dally.bin", &data);
    let wd = workdir();
    let relay = Relay::start(
        srv.addr(),
        Impair {
            drop_matching: Some((Box::new(move |p| is_ack(p, last)), 1)),
            ..Impair::default()
        },
        Impair::default(),
        0,
    );
    let run = nettool(&[
        "tftp",
        "get",
        "--blksize",
        "1468",
        "--timeout",
        "0.05",
        "--dally",
        "0.5",
        &relay.addr(),
        "dally.bin",
    ])
    .current_dir(wd.path())
    .run();
    run.expect_code(0);
    assert_same_bytes(
        T,
        &std::fs::read(wd.path().join("dally.bin")).unwrap(),
        &data,
    );
    // Give the server time to retransmit again if it had not got the
    // second ACK (its retransmit is 50 ms, doubling).
    thread::sleep(Duration::from_millis(500));
    let log = relay.log();
    let dump = relay.dump();
    let final_acks: Vec<&Entry> = log
        .iter()
        .filter(|e| e.dir == Dir::C2S && is_ack(&e.bytes, last))
        .collect();
    assert_eq!(
        final_acks.len(),
        2,
        "the final ACK, then the re-ACK while dallying\n{dump}"
    );
    assert_eq!(final_acks[0].action, Action::Dropped, "{dump}");
    assert!(
        final_acks[1].delivered(),
        "the server got the re-ACK\n{dump}"
    );
    let last_data: Vec<&Entry> = log
        .iter()
        .filter(|e| e.dir == Dir::S2C && is_data(&e.bytes, last))
        .collect();
    assert_eq!(
        last_data.len(),
        2,
        "the server sent its last DATA once more\n{dump}"
    );
    // Ended cleanly: nothing from the server after the re-ACK, and no
    // ERROR either way.
    assert!(
        log.iter().all(|e| opcode(&e.bytes) != ERROR),
        "an ERROR crossed the relay\n{dump}"
    );
    let reack_at = final_acks[1].at;
    assert!(
        !log.iter().any(|e| e.dir == Dir::S2C && e.at > reack_at),
        "the server still sent after the re-ACK\n{dump}"
    );
}

/// The server's final ACK of a put is lost: the client sends its last
/// DATA again; tftpd-hpa, dallying too, ACKs it again.
#[test]
fn final_ack_lost_on_put() {
    const T: &str = "final_ack_lost_on_put";
    // tftpd-hpa waits for a repeated final DATA only as long as its
    // retransmit timeout: make that 0.5 s, well above the client's 0.05.
    let Some(srv) = Spec::new(Kind::Hpa)
        .refuse("timeout")
        .retransmit_us(500_000)
        .start()
    else {
        return;
    };
    let _ = seed(T, 0);
    let size = 3 * 1468;
    let last = u16::try_from(size / 1468 + 1).unwrap(); // an empty final block
    let data = pattern(size, 10);
    let wd = workdir();
    std::fs::write(wd.path().join("src.bin"), &data).unwrap();
    let relay = Relay::start(
        srv.addr(),
        Impair::default(),
        Impair {
            drop_matching: Some((Box::new(move |p| is_ack(p, last)), 1)),
            ..Impair::default()
        },
        0,
    );
    let run = nettool(&[
        "tftp",
        "put",
        "--blksize",
        "1468",
        "--timeout",
        "0.05",
        &relay.addr(),
        "src.bin",
        "dally-up.bin",
    ])
    .current_dir(wd.path())
    .run();
    assert_eq!(run.code(), Some(0), "{run:?}\n{}", relay.dump());
    srv.expect_file("dally-up.bin", &data, T);
    let log = relay.log();
    let acks: Vec<&Entry> = log
        .iter()
        .filter(|e| e.dir == Dir::S2C && is_ack(&e.bytes, last))
        .collect();
    assert!(acks.len() >= 2, "{}", relay.dump());
    assert_eq!(acks[0].action, Action::Dropped);
}

/// The server stops answering mid-transfer: exit 1 within the retry
/// budget, "no answer" naming the address the client was talking to (the
/// relay's transfer port), and no file left behind.
#[test]
fn server_goes_silent() {
    const T: &str = "server_goes_silent";
    let _ = seed(T, 0);
    for kind in [Kind::Hpa, Kind::Atftpd] {
        let Some(srv) = Spec::new(kind).refuse("timeout").start() else {
            continue;
        };
        let data = pattern(64 << 10, 11);
        srv.add_file("silent.bin", &data);
        let wd = workdir();
        let relay = Relay::start(
            srv.addr(),
            Impair::default(),
            Impair {
                drop_after: Some(5),
                ..Impair::default()
            },
            0,
        );
        // Waits: 0.05, 0.1, 0.2, 0.2, 0.2 (doubling, capped at 4x) = 0.75 s.
        let run = nettool(&[
            "tftp",
            "get",
            "--blksize",
            "1468",
            "--timeout",
            "0.05",
            "--retries",
            "4",
            &relay.addr(),
            "silent.bin",
            "LOCAL",
        ])
        .current_dir(wd.path())
        .run();
        let dump = relay.dump();
        run.expect_code(1);
        let tids = relay.tids();
        assert_eq!(tids.len(), 1, "{dump}");
        let tid = format!("127.0.0.1:{}", tids[0].1);
        assert!(
            run.stderr.contains(&format!("no answer from {tid}")),
            "{kind}: want 'no answer from {tid}'{run:?}"
        );
        assert!(
            run.elapsed >= Duration::from_millis(700) && run.elapsed < Duration::from_secs(5),
            "{kind}: gave up after {:?}, want about 0.75 s of retries{run:?}",
            run.elapsed
        );
        assert!(
            listing(wd.path()).is_empty(),
            "{kind}: left {:?} (no LOCAL, no .LOCAL.*.part)",
            listing(wd.path())
        );
        // The client retried: 4 more ACKs of the last block it had.
        let log = relay.log();
        let acks = log
            .iter()
            .filter(|e| e.dir == Dir::C2S && opcode(&e.bytes) == ACK)
            .count();
        assert!(acks >= 5 + 4, "{kind}: {acks} ACKs\n{dump}");
    }
}

/// Nothing ever answers: the request is retried, then (RFC 2347 servers
/// that choke on options stay silent too) retried once more without
/// options; exit 1 naming the address asked, and no file.
#[test]
fn server_silent_from_the_start() {
    const T: &str = "server_silent_from_the_start";
    let _ = seed(T, 0);
    let Some(srv) = hpa() else { return };
    let wd = workdir();
    srv.add_file("never.bin", b"never sent");
    let relay = Relay::start(
        srv.addr(),
        Impair::default(),
        Impair {
            drop_after: Some(0),
            ..Impair::default()
        },
        0,
    );
    // Each round waits 0.05 + 0.1 + 0.2 s; two rounds (with options, then
    // without): 0.7 s.
    let run = nettool(&[
        "tftp",
        "get",
        "--timeout",
        "0.05",
        "--retries",
        "2",
        &relay.addr(),
        "never.bin",
    ])
    .current_dir(wd.path())
    .run();
    let dump = relay.dump();
    run.expect_code(1);
    let want = format!("no answer from {}", relay.addr());
    assert!(run.stderr.contains(&want), "want {want:?}{run:?}");
    assert!(
        run.elapsed >= Duration::from_millis(650) && run.elapsed < Duration::from_secs(5),
        "gave up after {:?}, want about 0.7 s{run:?}",
        run.elapsed
    );
    assert!(
        listing(wd.path()).is_empty(),
        "left {:?}",
        listing(wd.path())
    );
    let rrqs: Vec<String> = relay
        .log()
        .iter()
        .filter(|e| e.dir == Dir::C2S && opcode(&e.bytes) == RRQ)
        .map(|e| describe(&e.bytes))
        .collect();
    assert_eq!(
        rrqs,
        [
            "RRQ never.bin octet timeout 1 tsize 0",
            "RRQ never.bin octet timeout 1 tsize 0",
            "RRQ never.bin octet timeout 1 tsize 0",
            "RRQ never.bin octet",
            "RRQ never.bin octet",
            "RRQ never.bin octet",
        ],
        "three requests with options, then three without\n{dump}"
    );
}

/// The server stops answering an upload: exit 1 naming the transfer
/// address, the source file untouched.
#[test]
fn server_goes_silent_on_put() {
    const T: &str = "server_goes_silent_on_put";
    let _ = seed(T, 0);
    let Some(srv) = hpa() else { return };
    let wd = workdir();
    let data = pattern(20 * 1468, 12);
    std::fs::write(wd.path().join("src.bin"), &data).unwrap();
    let relay = Relay::start(
        srv.addr(),
        Impair::default(),
        Impair {
            drop_after: Some(3),
            ..Impair::default()
        },
        0,
    );
    let run = nettool(&[
        "tftp",
        "put",
        "--blksize",
        "1468",
        "--timeout",
        "0.05",
        "--retries",
        "3",
        &relay.addr(),
        "src.bin",
        "silent-up.bin",
    ])
    .current_dir(wd.path())
    .run();
    let dump = relay.dump();
    run.expect_code(1);
    let tids = relay.tids();
    assert_eq!(tids.len(), 1, "{dump}");
    let want = format!("no answer from 127.0.0.1:{}", tids[0].1);
    assert!(run.stderr.contains(&want), "want {want:?}{run:?}");
    // 0.05 + 0.1 + 0.2 + 0.2 s of waiting.
    assert!(
        run.elapsed >= Duration::from_millis(500) && run.elapsed < Duration::from_secs(5),
        "gave up after {:?}{run:?}",
        run.elapsed
    );
    assert_eq!(listing(wd.path()), ["src.bin"]);
    assert_same_bytes(T, &std::fs::read(wd.path().join("src.bin")).unwrap(), &data);
    // Block 3 sent once and retried three times.
    let d3 = relay
        .log()
        .iter()
        .filter(|e| e.dir == Dir::C2S && is_data(&e.bytes, 3))
        .count();
    assert_eq!(d3, 4, "{dump}");
}

/// The server's first answer is lost: the client asks again, the server
/// starts a second transfer from another port, and the client must stay
/// with the first TID it hears, refuse the other with ERROR 5, and get the
/// bytes right.
#[test]
fn first_answer_lost_second_server_transfer_refused() {
    const T: &str = "first_answer_lost_second_server_transfer_refused";
    let _ = seed(T, 0);
    // The server resends its OACK after 0.2 s, the client its RRQ after
    // 0.05 s: the second server transfer answers first, and the first
    // one's late OACK reaches the client while it dallies (0.5 s).
    let Some(srv) = Spec::new(Kind::Hpa)
        .refuse("timeout")
        .retransmit_us(200_000)
        .start()
    else {
        return;
    };
    let data = pattern(10 * 1468 + 3, 13);
    srv.add_file("twice.bin", &data);
    let wd = workdir();
    let relay = Relay::start(
        srv.addr(),
        Impair::default(),
        Impair {
            drop_matching: Some((Box::new(|p| opcode(p) == OACK), 1)),
            ..Impair::default()
        },
        0,
    );
    let run = nettool(&[
        "tftp",
        "get",
        "--blksize",
        "1468",
        "--timeout",
        "0.05",
        "--dally",
        "0.5",
        &relay.addr(),
        "twice.bin",
    ])
    .current_dir(wd.path())
    .run();
    let dump = relay.dump();
    assert_eq!(run.code(), Some(0), "{run:?}\n{dump}");
    assert_same_bytes(
        T,
        &std::fs::read(wd.path().join("twice.bin")).unwrap(),
        &data,
    );
    let tids = relay.tids();
    let log = relay.log();
    let rrqs = log
        .iter()
        .filter(|e| e.dir == Dir::C2S && opcode(&e.bytes) == RRQ)
        .count();
    assert!(rrqs >= 2, "the client asked again\n{dump}");
    assert!(tids.len() >= 2, "a second server transfer\n{dump}");
    // The transfer that won got the ACKs; every other heard ERROR 5.
    let winner = log
        .iter()
        .find(|e| e.dir == Dir::C2S && is_ack(&e.bytes, 1))
        .map(|e| e.server_port)
        .expect("an ACK 1");
    for (sp, _) in tids.iter().filter(|(sp, _)| *sp != winner) {
        let refused = log.iter().any(|e| {
            e.dir == Dir::C2S
                && e.server_port == *sp
                && opcode(&e.bytes) == ERROR
                && e.bytes.get(2..4) == Some(&[0, 5])
        });
        assert!(refused, "server port {sp} got no ERROR 5\n{dump}");
    }
    assert!(
        !log.iter()
            .any(|e| e.server_port == winner && opcode(&e.bytes) == ERROR),
        "the winning transfer saw an ERROR\n{dump}"
    );
}

// ---------------------------------------------------------------------------
// nettool tftp serve behind the relay

/// nettool's server on a lossy path: uploads allowed, and it retransmits
/// after 50 ms as the client does with [`FAST`].
fn serve() -> Serve {
    Serve::start(&["--write", "--timeout", "0.05", "--retries", "10"])
}

/// The client's timing flags toward nettool's server. A client's `timeout`
/// option wins over the server's `--timeout` (RFC 2349; nettool's client
/// asks its 0.05 rounded up, 1 s), and a sender resends on its own timer
/// only, never on a repeated ACK (no Sorcerer's Apprentice). So the
/// sender's timer sets the pace of recovery: on a get the server's (the
/// client asks no timeout; its 1 s default only backs the server's up),
/// on a put the client's ([`FAST`]). The server answers every repeated
/// DATA (`serve_put_repeated_data_is_acked_every_time`), so the client's
/// fast timer recovers a lost ACK whatever timeout it asked.
fn serve_timing(op: Op) -> &'static [&'static str] {
    match op {
        Op::Get => &["--retries", "10"],
        Op::Put => FAST,
    }
}

/// A lock-step put's flags under random loss (see [`serve_timing`]):
/// options, as a client would ask them (the `timeout` it asks is 1 s,
/// rounded up from its own 0.05).
const SERVE_PUT: &[&str] = &["--blksize", "1468"];

/// [`transfer`] to nettool's server (`test` names the file, so one
/// server takes several), then its record of the transfer: `ok`, every
/// byte.
fn serve_transfer(
    test: &str,
    srv: &Serve,
    op: Op,
    size: usize,
    extra: &[&str],
    imp: (Impair, Impair),
    seed: u64,
) -> Relay {
    let timing = serve_timing(op);
    let (relay, run) = transfer_checked(test, srv, op, size, timing, extra, imp, seed, true);
    let last = u16::try_from(size / blksize_of(extra) + 1).expect("a small file");
    check_serve_record(test, srv, op, size, &relay, last, &run);
    assert!(
        srv.temp_files().is_empty(),
        "[{test}] {:?}",
        srv.temp_files()
    );
    relay
}

/// nettool's server's record of a transfer through the relay: `ok` with
/// every byte; on a get also `failed` "no ACK for the final block" with
/// every byte sent, but only when the relay dropped every ACK of that
/// block the client sent (the server can not tell that from a client gone).
#[track_caller]
fn check_serve_record(
    test: &str,
    srv: &Serve,
    op: Op,
    size: usize,
    relay: &Relay,
    last: u16,
    run: &dyn fmt::Debug,
) {
    let dir = if op == Op::Get { "read" } else { "write" };
    let r = srv.transfer_record(&remote_name(test, op), dir);
    let never_acked = || {
        let acks: Vec<Entry> = relay
            .log()
            .into_iter()
            .filter(|e| e.dir == Dir::C2S && is_ack(&e.bytes, last))
            .collect();
        !acks.is_empty() && acks.iter().all(|e| !e.delivered())
    };
    let ok = r["outcome"] == "ok";
    let unconfirmed = op == Op::Get
        && r["outcome"] == "failed"
        && r["error"]
            .as_str()
            .is_some_and(|e| e.contains("no ACK for the final block"))
        && never_acked();
    if unconfirmed {
        eprintln!(
            "[{test}] every ACK of the final block {last} was lost: the server's record says failed"
        );
    }
    assert!(
        (ok || unconfirmed) && r["bytes"].as_u64() == Some(size as u64),
        "[{test}] {op:?}: the server's record {r}{run:?}\n{}",
        relay.dump()
    );
}

#[test]
fn serve_random_loss_5pct_and_20pct_both_directions() {
    const T: &str = "serve_random_loss_5pct_and_20pct_both_directions";
    let srv = serve();
    let s = seed(T, 0x5e5);
    for (pct, op, s) in [
        (5, Op::Get, s),
        (5, Op::Put, s + 1),
        (20, Op::Get, s + 2),
        (20, Op::Put, s + 3),
    ] {
        let t = format!("{T}-{pct}");
        let extra = match op {
            Op::Get => &["--blksize", "1468"][..],
            Op::Put => SERVE_PUT,
        };
        // Smaller at 20%: each loss costs the sender's timeout.
        let size = if pct == 5 { 128 << 10 } else { 64 << 10 };
        let r = serve_transfer(&t, &srv, op, size, extra, loss(pct), s);
        expect_drops(&r);
    }
}

/// Windowed (8 blocks of 1468) under 5% and 20% loss: gaps inside a
/// window, lost window ACKs, resent windows, both directions.
#[test]
fn serve_random_loss_windowed_both_directions() {
    const T: &str = "serve_random_loss_windowed_both_directions";
    let srv = serve();
    let s = seed(T, 0x5e8);
    let ws8 = ["--blksize", "1468", "--windowsize", "8"];
    for (pct, op, s) in [
        (5, Op::Get, s),
        (5, Op::Put, s + 1),
        (20, Op::Get, s + 2),
        (20, Op::Put, s + 3),
    ] {
        let t = format!("{T}-{pct}");
        let size = if pct == 5 { 256 << 10 } else { 128 << 10 };
        let r = serve_transfer(&t, &srv, op, size, &ws8, loss(pct), s);
        expect_drops(&r);
    }
}

/// Every third packet twice, each way: the bytes arrive once, and the
/// server answers no duplicate ACK with DATA (no Sorcerer's Apprentice:
/// with nothing lost it sends each block exactly once).
#[test]
fn serve_duplicate_every_third_packet() {
    const T: &str = "serve_duplicate_every_third_packet";
    let srv = serve();
    let s = seed(T, 0x5e3);
    let size = 64 << 10;
    for (tag, extra) in [
        ("lockstep", &["--blksize", "1468"][..]),
        ("ws4", &["--blksize", "1468", "--windowsize", "4"][..]),
    ] {
        let t = format!("{T}-{tag}");
        let g = serve_transfer(&t, &srv, Op::Get, size, extra, dup3(), s);
        let (sent, blocks) = data_sent(&g, size, 1468);
        eprintln!("[{T}] {tag}: the server sent {sent} DATA for {blocks} blocks");
        assert_eq!(sent, blocks, "{tag}: a block sent twice\n{}", g.dump());
        serve_transfer(&t, &srv, Op::Put, size, extra, dup3(), s + 1);
    }
}

/// Packets overtaking each other each way (lock-step and windowed).
#[test]
fn serve_reordered_packets() {
    const T: &str = "serve_reordered_packets";
    let srv = serve();
    let s = seed(T, 0x5e4);
    for (tag, extra) in [
        ("lockstep", &["--blksize", "1468"][..]),
        ("ws8", &["--blksize", "1468", "--windowsize", "8"][..]),
    ] {
        let t = format!("{T}-{tag}");
        for (op, s) in [(Op::Get, s), (Op::Put, s + 1)] {
            serve_transfer(&t, &srv, op, 32 << 10, extra, reorder(), s);
        }
    }
}

/// tftp-hpa's client (`tftp`, no options: lock-step at 512) through the
/// relay: get or put `size` bytes; the bytes must match. `None` when it is
/// not installed (after `skip_or_fail`).
fn hpa_client_transfer(
    test: &str,
    srv: &impl Upstream,
    op: Op,
    size: usize,
    imp: (Impair, Impair),
    seed: u64,
) -> Option<Relay> {
    let Some(tftp) = util::which("tftp") else {
        util::skip_or_fail("tftp-hpa's client `tftp` is not installed (apt-get install tftp-hpa)");
        return None;
    };
    let data = pattern(size, seed ^ size as u64);
    let wd = workdir();
    let name = remote_name(test, op);
    let relay = Relay::start(srv.addr(), imp.0, imp.1, seed);
    let ip = relay.addr.ip().to_string();
    let port = relay.addr.port().to_string();
    // Retransmit after 1 s (its least; default 5), give up after 30.
    let verb = match op {
        Op::Get => {
            srv.add_file(&name, &data);
            format!("get {name} local.bin")
        }
        Op::Put => {
            std::fs::write(wd.path().join("local.bin"), &data).unwrap();
            format!("put local.bin {name}")
        }
    };
    let script = format!("verbose\nbinary\nrexmt 1\ntimeout 30\n{verb}\nquit\n");
    let mut cmd = std::process::Command::new(&tftp);
    cmd.args([&ip, &port]).current_dir(wd.path());
    let run = util::run_command(
        cmd,
        format!("printf {script:?} | tftp {ip} {port}"),
        Some(script.as_bytes()),
        Duration::from_secs(60),
    );
    // tftp-hpa exits 0 even after an ERROR: the bytes decide.
    let what = format!(
        "[{test}] tftp-hpa client {op:?} via {} (seed {seed:#x})",
        srv.label()
    );
    assert_eq!(run.code(), Some(0), "{what}{run:?}\n{}", relay.dump());
    match op {
        Op::Get => {
            let got = std::fs::read(wd.path().join("local.bin")).unwrap_or_default();
            if got != data {
                eprintln!("{}\n{}", relay.dump(), tail(&srv.log(), 40));
            }
            assert_same_bytes(&what, &got, &data);
        }
        Op::Put => srv.expect_file(&name, &data, &what),
    }
    let log = relay.log();
    eprintln!(
        "{what}: {size} bytes in {:.2?}; relay dropped {}+{}",
        run.elapsed,
        count(&log, Dir::C2S, Action::Dropped),
        count(&log, Dir::S2C, Action::Dropped),
    );
    Some(relay)
}

/// tftp-hpa's client (lock-step at 512, no options) gets through 5% and
/// 20% loss (the server's 50 ms timer recovers) and puts through
/// duplication: it waits at least 1 s after a lost packet of a put (its
/// least `rexmt`, and it resends on its timer only), which random loss
/// would multiply past this suite's budget.
#[test]
fn serve_tftp_hpa_client_loss_and_duplication() {
    const T: &str = "serve_tftp_hpa_client_loss_and_duplication";
    let srv = serve();
    let s = seed(T, 0x5e6);
    for (tag, op, size, imp, s) in [
        ("loss5", Op::Get, 64 << 10, loss(5), s),
        ("loss20", Op::Get, 32 << 10, loss(20), s + 1),
        ("dup3", Op::Put, 64 << 10, dup3(), s + 2),
        ("dup3", Op::Get, 64 << 10, dup3(), s + 3),
    ] {
        let t = format!("{T}-{tag}");
        let Some(r) = hpa_client_transfer(&t, &srv, op, size, imp, s) else {
            return;
        };
        let last = u16::try_from(size / 512 + 1).unwrap();
        check_serve_record(&t, &srv, op, size, &r, last, &tag);
        if tag.starts_with("loss") {
            expect_drops(&r);
        }
    }
}

/// A put of `blocks` blocks of 1468 through a relay that drops the
/// server's first `drops` ACKs of block `acked`; the client's own flags
/// `client`. Returns the client's run and the relay.
fn serve_put_losing_acks(
    srv: &Serve,
    name: &str,
    blocks: usize,
    acked: u16,
    drops: usize,
    client: &[&str],
) -> (Output, Relay, Vec<u8>) {
    let data = pattern(blocks * 1468, u64::from(acked));
    let wd = workdir();
    std::fs::write(wd.path().join("src.bin"), &data).unwrap();
    let relay = Relay::start(
        srv.addr(),
        Impair::default(),
        Impair {
            drop_matching: Some((Box::new(move |p| is_ack(p, acked)), drops)),
            ..Impair::default()
        },
        0,
    );
    let ra = relay.addr();
    let mut a = vec!["tftp", "put", "--blksize", "1468"];
    a.extend_from_slice(client);
    a.extend([ra.as_str(), "src.bin", name]);
    let run = nettool(&a).current_dir(wd.path()).run();
    (run, relay, data)
}

/// The server's ACK of a block is lost twice: the client sends that DATA
/// again and again on its own timer (50 ms, doubling), and the server
/// must ACK every copy, as tftpd-hpa does (run it here with `Kind::Hpa`
/// and `-T 1000000`: it passes). Re-ACKing only the first repeat and
/// leaving the rest to its own timer (the client's asked `timeout 1`,
/// then 2 s) outlasts this client's five retries.
#[test]
fn serve_put_repeated_data_is_acked_every_time() {
    let srv = Serve::start(&["--write"]);
    let client = ["--timeout", "0.05", "--retries", "5"];
    let (run, relay, data) = serve_put_losing_acks(&srv, "reack.bin", 10, 3, 2, &client);
    let dump = relay.dump();
    assert_eq!(
        run.code(),
        Some(0),
        "two lost ACKs of block 3 ended the upload{run:?}\n{dump}"
    );
    srv.expect_file("reack.bin", &data, "after two lost ACKs");
    let acks3 = relay
        .log()
        .iter()
        .filter(|e| e.dir == Dir::S2C && is_ack(&e.bytes, 3))
        .count();
    assert!(
        acks3 >= 3,
        "the third ACK 3 is the one that arrives\n{dump}"
    );
    let r = srv.transfer_record("reack.bin", "write");
    assert_eq!(r["outcome"], "ok", "{r}");
}

/// The server's final ACK of an upload is lost, and the client, which
/// asked for `timeout 1`, resends its final DATA after 1 s, as asked.
/// The server must still be there to ACK it again: a dally of exactly
/// one timeout ends just before that resend arrives, and the client then
/// fails although the server has the whole file.
#[test]
fn serve_put_final_ack_lost_client_resends_after_the_asked_timeout() {
    let srv = Serve::start(&["--write"]);
    let client = ["--timeout", "1", "--retries", "1"];
    let (run, relay, data) = serve_put_losing_acks(&srv, "dally.bin", 4, 5, 1, &client);
    srv.expect_file("dally.bin", &data, "final ACK lost");
    assert_eq!(
        run.code(),
        Some(0),
        "the server never answered the repeated final DATA{run:?}\n{}",
        relay.dump()
    );
}
