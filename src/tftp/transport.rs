//! Runs a `session` machine over a UDP socket: sends what it queues, feeds
//! it datagrams and timeouts, and reports progress.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use super::Event;
use super::pace::{BusyPoll, WindowNap};
use super::session::{
    Deliver, Download, Negotiated, Phase, Sink, Source, Stats, TftpError, Upload,
};
use crate::wire::tftp::Packet;

/// The outcome of a finished transfer.
#[derive(Debug, Clone, Copy)]
pub struct Report {
    pub stats: Stats,
    pub negotiated: Negotiated,
    /// From the request to the last data block (not counting the dally).
    pub elapsed: Duration,
    /// How the waits for a block we answer at once went.
    pub waits: BusyPoll,
    /// How the naps through windows went.
    pub naps: WindowNap,
}

/// How the transport reports: `events` gets the progress, and with
/// `trace` (`--verbose`) every packet.
pub struct Hooks<'a> {
    pub events: &'a mut dyn FnMut(Event),
    pub trace: bool,
}

/// The client's end of its socket: `--bind` and `--port-range`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LocalEnd {
    /// The address to bind (an IPv6 one with its scope id; its port is
    /// not used); else the wildcard address of the server's family.
    pub addr: Option<SocketAddr>,
    /// Bind a port of this range (tftp-hpa's `-R`, for firewalls); else
    /// the kernel picks one.
    pub ports: Option<PortRange>,
}

/// Local ports `lo..=hi`, `1 <= lo <= hi` (checked by `cmd::tftp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub lo: u16,
    pub hi: u16,
}

impl std::fmt::Display for PortRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.lo, self.hi)
    }
}

impl PortRange {
    /// The range's ports in the order to try them: from `start` (taken
    /// modulo the range's size) up, wrapping round to `lo`, each once.
    pub fn from(self, start: u64) -> impl Iterator<Item = u16> {
        let size = u32::from(self.hi) - u32::from(self.lo) + 1;
        // Below 65536: the remainder of a division by at most 65535.
        #[allow(clippy::cast_possible_truncation)]
        let first = (start % u64::from(size)) as u32;
        (0..size).map(move |i| {
            // Within lo..=hi: lo + (first + i) mod size.
            #[allow(clippy::cast_possible_truncation)]
            let p = (u32::from(self.lo) + (first + i) % size) as u16;
            p
        })
    }
}

/// Why the client's socket could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("cannot open a UDP socket")]
    Open(#[source] io::Error),
    /// `--bind` of the other family than the server's.
    #[error(
        "--bind {bind} is an {} address and the server {server} an {} one: give a --bind address of the server's family",
        family(bind),
        family(server)
    )]
    Family { bind: IpAddr, server: IpAddr },
    #[error("cannot bind {}: {source}{}", shown(addr), hint(source))]
    Bind {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    /// No port of the range could be bound.
    #[error(
        "no port of --port-range {range} is free on {ip} ({in_use} in use{}): widen the range, or wait for one to be free",
        if *.denied > 0 { format!(", {} below 1024 need root or CAP_NET_BIND_SERVICE", .denied) } else { String::new() }
    )]
    RangeTaken {
        range: PortRange,
        ip: IpAddr,
        in_use: u32,
        denied: u32,
    },
}

fn family(ip: &IpAddr) -> &'static str {
    if ip.is_ipv6() { "IPv6" } else { "IPv4" }
}

/// A bind address as the user gave it: without a port when it had none.
fn shown(a: &SocketAddr) -> String {
    if a.port() == 0 {
        a.ip().to_string()
    } else {
        a.to_string()
    }
}

fn hint(e: &io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(crate::sys::errno::EADDRNOTAVAIL) => {
            ": give an address of this machine (see `ip addr`)"
        }
        Some(crate::sys::errno::EADDRINUSE) => ": the port is taken",
        _ => "",
    }
}

/// A UDP socket for talking to `server`, bound as `local` says, with a
/// receive buffer big enough for a whole window (`windowsize x (blksize +
/// 4)` plus headroom: with the default buffer, large windows overflow it
/// and the transfer collapses). With a port range, the ports are tried
/// from `start` on (see [`PortRange::from`]), a port in use skipped; the
/// kernel never picks one outside the range.
///
/// # Errors
/// The socket cannot be made, set to report ICMP errors, or bound.
pub fn socket_for(
    server: SocketAddr,
    blksize: u16,
    windowsize: u16,
    local: &LocalEnd,
    start: u64,
) -> Result<UdpSocket, SocketError> {
    let any: SocketAddr = if server.is_ipv6() {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    };
    let addr = local.addr.unwrap_or(any);
    if addr.is_ipv6() != server.is_ipv6() {
        return Err(SocketError::Family {
            bind: addr.ip(),
            server: server.ip(),
        });
    }
    let domain = if server.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP)).map_err(SocketError::Open)?;
    let want = usize::from(windowsize.max(1)) * (usize::from(blksize) + 4 + 64) + 256 * 1024;
    // The kernel caps this at net.core.rmem_max; more is a bonus.
    let _ = s.set_recv_buffer_size(want);
    let _ = s.set_send_buffer_size(want);
    crate::sys::set_recv_errors(s.as_fd(), server.is_ipv6()).map_err(SocketError::Open)?;
    bind(&s, addr, local.ports, start)?;
    Ok(s.into())
}

/// Bind `s` to `addr`, with a port of `ports` when given (each tried
/// once, from `start` on; in use or forbidden: the next), else port 0.
fn bind(
    s: &Socket,
    mut addr: SocketAddr,
    ports: Option<PortRange>,
    start: u64,
) -> Result<(), SocketError> {
    let Some(range) = ports else {
        addr.set_port(0);
        return s
            .bind(&addr.into())
            .map_err(|source| SocketError::Bind { addr, source });
    };
    let (mut in_use, mut denied) = (0, 0);
    for port in range.from(start) {
        addr.set_port(port);
        match s.bind(&addr.into()) {
            Ok(()) => return Ok(()),
            Err(e) => match e.raw_os_error() {
                Some(crate::sys::errno::EADDRINUSE) => in_use += 1,
                Some(crate::sys::errno::EACCES) => denied += 1,
                _ => return Err(SocketError::Bind { addr, source: e }),
            },
        }
    }
    Err(SocketError::RangeTaken {
        range,
        ip: addr.ip(),
        in_use,
        denied,
    })
}

/// One line describing a packet, for `--verbose`.
pub fn describe(bytes: &[u8]) -> String {
    match Packet::parse(bytes) {
        Ok(
            Packet::Rrq {
                filename,
                mode,
                options,
            }
            | Packet::Wrq {
                filename,
                mode,
                options,
            },
        ) => {
            let op = if bytes.get(1) == Some(&1) {
                "RRQ"
            } else {
                "WRQ"
            };
            let opts: Vec<String> = options.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{op} '{filename}' {mode} {}", opts.join(" "))
                .trim_end()
                .to_string()
        }
        Ok(Packet::Data { block, data }) => format!("DATA block {block}, {} bytes", data.len()),
        Ok(Packet::Ack { block }) => format!("ACK block {block}"),
        Ok(Packet::Error { code, message }) => {
            format!("ERROR {} ({}) '{message}'", code.to_u16(), code.meaning())
        }
        Ok(Packet::Oack { options }) => {
            let opts: Vec<String> = options.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("OACK {}", opts.join(" "))
        }
        Err(e) => format!("unparsable {} bytes ({e})", bytes.len()),
    }
}

/// The two directions, seen the same way by the loop.
trait Machine {
    fn phase(&self) -> Phase;
    fn wait(&self) -> Duration;
    fn stats(&self) -> Stats;
    fn outbox(&mut self) -> &mut super::session::Outbox;
    fn datagram(&mut self, from: SocketAddr, bytes: &[u8]) -> Result<(), TftpError>;
    /// The answer to `bytes` (the datagram just handled, passed again) is
    /// out: carry out what the session left to deliver from it (and the
    /// idle work [`idle`](Self::idle)`(lull)` would do for it next).
    fn acked(&mut self, bytes: &[u8], lull: bool) -> io::Result<()> {
        let _ = (bytes, lull);
        Ok(())
    }
    fn timeout(&mut self) -> Result<(), TftpError>;
    fn complete(&mut self) -> io::Result<()>;
    /// After the outbox went out: deferred disk writes. `lull`: a longer
    /// quiet moment (see [`Sink::idle`]).
    fn idle(&mut self, lull: bool) -> io::Result<()>;
    fn total(&self) -> Option<u64>;
    fn negotiated(&self) -> Negotiated;
    /// The address ICMP errors are about: the locked TID, else the server.
    fn server(&self) -> SocketAddr;
    /// Worth polling for: the packet we wait for is one we answer at once
    /// (every block in lock-step, a window's last block).
    fn answer_due(&self) -> bool;
    /// Blocks the current window still lacks (zero outside a windowed
    /// download's transfer).
    fn window_left(&self) -> u64 {
        0
    }
    /// A local read or write failed: queue the ERROR that tells the server.
    fn local_failure(&mut self, e: &io::Error);
    /// Stopped by `signal`: queue the ERROR that tells the server.
    fn cancel(&mut self, signal: i32);
}

struct Get<'a> {
    m: Download,
    sink: &'a mut dyn Sink,
}

impl Machine for Get<'_> {
    fn phase(&self) -> Phase {
        self.m.phase()
    }
    fn wait(&self) -> Duration {
        self.m.wait()
    }
    fn stats(&self) -> Stats {
        self.m.stats()
    }
    fn outbox(&mut self) -> &mut super::session::Outbox {
        self.m.outbox()
    }
    fn datagram(&mut self, from: SocketAddr, bytes: &[u8]) -> Result<(), TftpError> {
        self.m.handle(from, bytes, &mut *self.sink)
    }
    fn acked(&mut self, bytes: &[u8], lull: bool) -> io::Result<()> {
        match self.m.take_delivery() {
            // Written from the datagram itself when it goes out now.
            Some(Deliver(range)) => self.sink.write_idle(&bytes[range], lull),
            None => Ok(()),
        }
    }
    fn timeout(&mut self) -> Result<(), TftpError> {
        self.m.on_timeout()
    }
    fn complete(&mut self) -> io::Result<()> {
        self.sink.complete()
    }
    fn idle(&mut self, lull: bool) -> io::Result<()> {
        self.sink.idle(lull)
    }
    fn total(&self) -> Option<u64> {
        self.m.negotiated().tsize
    }
    fn negotiated(&self) -> Negotiated {
        self.m.negotiated()
    }
    fn server(&self) -> SocketAddr {
        self.m.peer()
    }
    fn answer_due(&self) -> bool {
        self.m.phase() == Phase::Transferring && self.m.blocks_to_ack() == 1
    }
    fn local_failure(&mut self, e: &io::Error) {
        self.m.local_failure(e);
    }
    fn cancel(&mut self, signal: i32) {
        self.m.cancel(signal);
    }
    fn window_left(&self) -> u64 {
        if self.m.phase() == Phase::Transferring && self.m.negotiated().windowsize > 1 {
            self.m.blocks_to_ack()
        } else {
            0
        }
    }
}

struct Put<'a> {
    m: Upload,
    src: &'a mut dyn Source,
    size: Option<u64>,
}

impl Machine for Put<'_> {
    fn phase(&self) -> Phase {
        self.m.phase()
    }
    fn wait(&self) -> Duration {
        self.m.wait()
    }
    fn stats(&self) -> Stats {
        self.m.stats()
    }
    fn outbox(&mut self) -> &mut super::session::Outbox {
        self.m.outbox()
    }
    fn datagram(&mut self, from: SocketAddr, bytes: &[u8]) -> Result<(), TftpError> {
        self.m.on_datagram(from, bytes, self.src)
    }
    fn timeout(&mut self) -> Result<(), TftpError> {
        self.m.on_timeout(self.src)
    }
    fn complete(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn idle(&mut self, _lull: bool) -> io::Result<()> {
        Ok(())
    }
    fn total(&self) -> Option<u64> {
        self.size
    }
    fn negotiated(&self) -> Negotiated {
        self.m.negotiated()
    }
    fn server(&self) -> SocketAddr {
        self.m.peer()
    }
    fn answer_due(&self) -> bool {
        // With a window the ACK comes only once the server has taken in
        // the whole window: too long a wait to poll through.
        self.m.phase() == Phase::Transferring && self.m.negotiated().windowsize <= 1
    }
    fn local_failure(&mut self, e: &io::Error) {
        self.m.local_failure(e);
    }
    fn cancel(&mut self, signal: i32) {
        self.m.cancel(signal);
    }
}

/// Where a received datagram is.
#[derive(Debug, Clone, Copy)]
enum Got {
    /// The first `n` bytes of the receive buffer.
    Buf(usize),
    /// Slot `i` of the batch, `n` bytes long.
    Batch(usize, usize),
}

/// Datagrams taken from the socket together (`recvmmsg`), handed out one
/// at a time.
struct Batch {
    buf: Vec<u8>,
    got: Vec<(usize, SocketAddr)>,
    next: usize,
    recv: crate::sys::RecvMany,
}

impl Batch {
    /// At most this many datagrams per receive.
    const MAX: usize = 64;
    /// Each slot holds any UDP datagram whole, as the single receive
    /// buffer does; the extra cache line keeps the slots' starts from all
    /// falling in the same cache sets. Pages are touched only as far as
    /// datagrams reach.
    const SLOT: usize = 65536 + 64;

    fn new() -> Self {
        Batch {
            buf: Vec::new(),
            got: Vec::new(),
            next: 0,
            recv: crate::sys::RecvMany::new(Self::MAX),
        }
    }

    /// Take in what is queued, up to a window of `windowsize`. Only once
    /// every datagram taken before is handed out.
    fn fill(&mut self, sock: &UdpSocket, windowsize: u16) -> io::Result<usize> {
        debug_assert!(self.next >= self.got.len(), "datagrams not handed out yet");
        let count = usize::from(windowsize).clamp(1, Self::MAX);
        if self.buf.len() < Self::SLOT * count {
            self.buf = vec![0; Self::SLOT * count];
        }
        self.next = 0;
        self.recv.recv_now(
            sock.as_fd(),
            &mut self.buf[..Self::SLOT * count],
            Self::SLOT,
            &mut self.got,
        )
    }

    /// The next datagram taken in and not handed out yet.
    fn pop(&mut self) -> Option<(Got, SocketAddr)> {
        let &(n, from) = self.got.get(self.next)?;
        let i = self.next;
        self.next += 1;
        Some((Got::Batch(i, n.min(Self::SLOT)), from))
    }

    fn bytes(&self, i: usize, n: usize) -> &[u8] {
        &self.buf[i * Self::SLOT..i * Self::SLOT + n]
    }
}

/// Where datagrams land: the receive buffer of single receives, and the
/// batch that naps and tail polls fill. Apart from the [`Driver`], so a
/// datagram can be handled while it still lies here.
struct Inbox {
    buf: Vec<u8>,
    batch: Batch,
}

impl Inbox {
    fn new() -> Self {
        Inbox {
            buf: vec![0u8; 65536],
            batch: Batch::new(),
        }
    }

    fn bytes(&self, at: Got) -> &[u8] {
        match at {
            Got::Buf(n) => &self.buf[..n],
            Got::Batch(i, n) => self.batch.bytes(i, n),
        }
    }
}

/// A windowed download's waits: the nap policy, and the window under way.
struct Windows {
    nap: WindowNap,
    /// When the current window opened (our ACK went out), if it did.
    began: Option<Instant>,
    /// The batch being handed out was filled on waking from a nap.
    after_nap: bool,
}

impl Windows {
    fn new(nap: WindowNap) -> Self {
        Windows {
            nap,
            began: None,
            after_nap: false,
        }
    }

    /// The next datagram of the window `w`: one already taken in, or (in a
    /// window worth napping through) what a nap brings into `batch`, or
    /// once napped, what a poll of up to `budget` brings for the window's
    /// tail. `None`: wait the usual way.
    fn next(
        &mut self,
        sock: &UdpSocket,
        batch: &mut Batch,
        w: Window,
        deadline: Instant,
        budget: Duration,
    ) -> Option<io::Result<(Got, SocketAddr)>> {
        if let Some(got) = batch.pop() {
            return Some(Ok(got));
        }
        self.after_nap = false;
        let began = self.began?;
        if w.left == 0 || !self.naps_in(w.size) {
            return None;
        }
        let now = Instant::now();
        if let Some(t) = self.nap.nap(now - began) {
            let t = t.min(deadline.saturating_duration_since(now));
            if !t.is_zero() {
                if self.nap.naps == 0 {
                    crate::sys::precise_timers();
                }
                std::thread::sleep(t);
                self.nap.woke(t, now.elapsed());
                match batch.fill(sock, w.size) {
                    Ok(_) => {}
                    Err(e) => return Some(Err(e)),
                }
                self.after_nap = true;
                if let Some(got) = batch.pop() {
                    return Some(Ok(got));
                }
            }
        }
        // The last block is the ordinary busy poll's (it counts that wait).
        if !self.nap.tail() || w.left < 2 || budget.is_zero() {
            return None;
        }
        let budget = budget.min(deadline.saturating_duration_since(Instant::now()));
        poll(budget, || {
            Ok(match batch.fill(sock, w.size)? {
                0 => None,
                _ => batch.pop(),
            })
        })
    }

    /// The datagram from `at`, taken `received` with `left` blocks still
    /// due, is in: if its ACK opened a new window (`left_now` > `left`),
    /// learn from the one it closed. Only a window that ran its course
    /// (its last block, `left` 1) tells when a last block comes; one
    /// closed early by a gap ACK does not, and a last block a nap found
    /// waiting means the nap overslept.
    fn handled(&mut self, at: Got, received: Instant, left: u64, left_now: u64) {
        if left_now <= left {
            return;
        }
        let whole = left == 1;
        if whole && self.after_nap && matches!(at, Got::Batch(..)) {
            self.nap.overslept();
        }
        self.nap
            .window(self.began.filter(|_| whole).map(|b| received - b));
        self.began = Some(Instant::now());
    }

    /// A timeout: whatever went out again opens a new window, and the old
    /// one, cut short, teaches nothing.
    fn timed_out(&mut self, left_now: u64) {
        self.nap.window(None);
        self.began = (left_now > 0).then(Instant::now);
    }

    /// Slow work (disk writes) can be done now: outside a window we nap
    /// through, or at its start. Mid-window the blocks keep coming and
    /// the last must be answered at once.
    fn lull(&self, w: Window) -> bool {
        !self.naps_in(w.size) || w.left == 0 || w.left >= u64::from(w.size)
    }

    /// Windows of `windowsize` are napped through.
    fn naps_in(&self, windowsize: u16) -> bool {
        self.nap.on() && windowsize >= WindowNap::MIN_WINDOW
    }
}

/// The window a wait is in: the negotiated `size`, and the blocks it still
/// lacks (zero outside a windowed download's transfer).
#[derive(Debug, Clone, Copy)]
struct Window {
    left: u64,
    size: u16,
}

/// The loop's state between steps: the machine, the socket, the waiting
/// policies and the timer.
struct Driver<'a, 'h> {
    sock: &'a UdpSocket,
    m: &'a mut dyn Machine,
    hooks: Hooks<'h>,
    busy: BusyPoll,
    windows: Windows,
    /// The machine's current wait, and when it ends.
    wait: Duration,
    deadline: Instant,
    /// The socket's receive timeout (see [`recv_by`]).
    timeout_set: Duration,
    start: Instant,
    /// When the last data block was in (get) or acknowledged (put).
    completed: Option<Duration>,
    /// Blocks and phase after the last datagram that moved them.
    last_progress: (u64, Phase),
    /// Bytes at the last progress report.
    last_reported: u64,
}

/// `busy_poll`: the most to poll the socket before sleeping at each
/// wait we answer at once (see [`BusyPoll`]); zero never polls, and never
/// naps through a window either ([`WindowNap`]).
///
/// # Errors
/// Whatever ended the transfer early: the server, a timeout, a local
/// write, a signal.
pub fn download(
    sock: &UdpSocket,
    mut m: Download,
    sink: &mut dyn Sink,
    busy_poll: Duration,
    hooks: Hooks<'_>,
) -> Result<Report, TftpError> {
    m.start();
    let busy = busy(busy_poll);
    let nap = WindowNap::new(!busy.max().is_zero());
    drive(sock, &mut Get { m, sink }, busy, nap, hooks)
}

/// [`download`]'s other direction: `src` holds `size` bytes, when known.
///
/// # Errors
/// As [`download`]'s, with a local read for the write.
pub fn upload(
    sock: &UdpSocket,
    mut m: Upload,
    src: &mut dyn Source,
    size: Option<u64>,
    busy_poll: Duration,
    hooks: Hooks<'_>,
) -> Result<Report, TftpError> {
    m.start();
    drive(
        sock,
        &mut Put { m, src, size },
        busy(busy_poll),
        WindowNap::new(false),
        hooks,
    )
}

/// With one CPU the server can only answer while we are not polling.
fn busy(max: Duration) -> BusyPoll {
    if crate::sys::online_cpus() < 2 {
        BusyPoll::new(Duration::ZERO)
    } else {
        BusyPoll::new(max)
    }
}

/// The shortest socket timeout we set, and the slack before we change it.
const MIN_TIMEOUT: Duration = Duration::from_millis(1);

/// Sleep for a datagram, no later than `deadline`: polling, strangers and
/// duplicates may have used part of the wait. The socket timeout
/// (`timeout_set`, at most `wait`) changes only when it is more than
/// `MIN_TIMEOUT` off, so a steady transfer makes no extra syscall.
fn recv_by(
    sock: &UdpSocket,
    buf: &mut [u8],
    deadline: Instant,
    wait: Duration,
    timeout_set: &mut Duration,
) -> io::Result<(usize, SocketAddr)> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::ErrorKind::TimedOut.into());
    }
    let timeout = left.clamp(MIN_TIMEOUT, wait.max(MIN_TIMEOUT));
    if timeout + MIN_TIMEOUT < *timeout_set || timeout > *timeout_set + MIN_TIMEOUT {
        sock.set_read_timeout(Some(timeout))?;
        *timeout_set = timeout;
    }
    sock.recv_from(buf)
}

/// Call `try_now` until it has something, for up to `budget`; `None` if
/// it never had.
fn poll<T>(
    budget: Duration,
    mut try_now: impl FnMut() -> io::Result<Option<T>>,
) -> Option<io::Result<T>> {
    let start = Instant::now();
    loop {
        match try_now() {
            Ok(Some(got)) => return Some(Ok(got)),
            Ok(None) => {}
            Err(e) => return Some(Err(e)),
        }
        if start.elapsed() >= budget {
            return None;
        }
        std::hint::spin_loop();
    }
}

/// Send and settle, wait for a datagram, handle it (or the timeout), over
/// and over: each step is a [`Driver`] method.
fn drive(
    sock: &UdpSocket,
    m: &mut dyn Machine,
    busy: BusyPoll,
    nap: WindowNap,
    hooks: Hooks<'_>,
) -> Result<Report, TftpError> {
    let start = Instant::now();
    let mut inbox = Inbox::new();
    let wait = m.wait();
    let timeout_set = wait.max(MIN_TIMEOUT);
    sock.set_read_timeout(Some(timeout_set))?;
    let last_progress = (0u64, m.phase());
    let mut d = Driver {
        sock,
        m,
        hooks,
        busy,
        windows: Windows::new(nap),
        wait,
        deadline: Instant::now() + wait,
        timeout_set,
        start,
        completed: None,
        last_progress,
        last_reported: 0,
    };
    // A signal before the request went out: nothing to tell anyone.
    if let Some(signal) = crate::sys::termination() {
        return Err(TftpError::Interrupted(signal));
    }
    while let Some(w) = d.settle()? {
        let (got, received) = d.receive(&mut inbox, w);
        let fired = match got {
            Ok((at, from)) => d.handle(at, from, inbox.bytes(at), received, w.left)?,
            Err(e) => d.failed(e)?,
        };
        if fired {
            d.timeout()?;
        }
    }
    Ok(d.report())
}

impl Driver<'_, '_> {
    /// Send what the machine queued, then the slow work its answer allows
    /// (disk writes; at the end, committing the file), and a signal's
    /// stop. The window the next wait is in, or `None` when it is over.
    fn settle(&mut self) -> Result<Option<Window>, TftpError> {
        self.sent()?;
        let w = self.window();
        // The ACK is out; now the disk, while the server sends the next
        // block (or in a window we nap through, the next window).
        if let Err(e) = self.m.idle(self.windows.lull(w)) {
            return Err(self.local_failure(e));
        }
        let phase = self.m.phase();
        if matches!(phase, Phase::Dallying | Phase::Done) && self.completed.is_none() {
            self.completed = Some(self.start.elapsed());
            if let Err(e) = self.m.complete() {
                return Err(self.local_failure(e));
            }
            self.progress(self.m.stats().bytes);
        }
        if phase == Phase::Done {
            return Ok(None);
        }
        // SIGINT or SIGTERM: stop, and tell the server. In the dally the
        // file is complete and committed already: just stop.
        if let Some(signal) = crate::sys::termination() {
            if self.completed.is_some() {
                return Ok(None);
            }
            self.m.cancel(signal);
            let _ = self.flush();
            return Err(TftpError::Interrupted(signal));
        }
        if self.m.wait() != self.wait {
            self.wait = self.m.wait();
            self.deadline = Instant::now() + self.wait;
        }
        Ok(Some(w))
    }

    /// The window the next wait is in.
    fn window(&self) -> Window {
        Window {
            left: self.m.window_left(),
            size: self.m.negotiated().windowsize,
        }
    }

    /// Wait for the next datagram of window `w`: from a nap or a tail poll
    /// in a window, else the usual way ([`one`](Self::one)). Also when it
    /// came.
    fn receive(
        &mut self,
        inbox: &mut Inbox,
        w: Window,
    ) -> (io::Result<(Got, SocketAddr)>, Instant) {
        let answer_due = self.m.answer_due();
        let waiting = Instant::now();
        let budget = self.busy.budget();
        let got = match self
            .windows
            .next(self.sock, &mut inbox.batch, w, self.deadline, budget)
        {
            Some(got) => got,
            None => self
                .one(&mut inbox.buf, answer_due, waiting, budget)
                .map(|(n, from)| (Got::Buf(n), from)),
        };
        let received = Instant::now();
        if self.busy.round_over() {
            self.busy.end_round(crate::sys::involuntary_switches());
        }
        (got, received)
    }

    /// The usual wait, into `buf`: a busy poll of up to `budget` first
    /// when the packet is one we answer at once (`answer_due`), then
    /// asleep on the socket until the deadline. `waiting`: since when.
    fn one(
        &mut self,
        buf: &mut [u8],
        answer_due: bool,
        waiting: Instant,
        budget: Duration,
    ) -> io::Result<(usize, SocketAddr)> {
        if answer_due && !budget.is_zero() {
            let left = self.deadline.saturating_duration_since(waiting);
            let sock = self.sock;
            if let Some(got) = poll(budget.min(left), || {
                crate::sys::recv_from_now(sock.as_fd(), buf)
            }) {
                if got.is_ok() {
                    self.busy.answered();
                }
                return got;
            }
        }
        let got = recv_by(
            self.sock,
            buf,
            self.deadline,
            self.wait,
            &mut self.timeout_set,
        );
        if answer_due {
            self.busy.slept(got.is_ok().then(|| waiting.elapsed()));
        }
        got
    }

    /// The datagram `bytes` from `from` (at `at`, taken `received`, with
    /// `left` blocks of the window due) goes to the machine; its answer
    /// goes out before the data is written. Whether the timer fired.
    fn handle(
        &mut self,
        at: Got,
        from: SocketAddr,
        bytes: &[u8],
        received: Instant,
        left: u64,
    ) -> Result<bool, TftpError> {
        if self.hooks.trace {
            (self.hooks.events)(Event::Received {
                from,
                packet: describe(bytes),
            });
        }
        let r = self.m.datagram(from, bytes);
        // The ACK goes out first; the write and the bookkeeping can wait
        // for it.
        self.sent()?;
        // A window opened by that ACK began now, not after the write.
        self.windows
            .handled(at, received, left, self.m.window_left());
        // Whatever was delivered is written, even when the machine failed
        // after it (a tsize mismatch at the last block): every
        // acknowledged byte reaches the sink. At a lull it goes to disk
        // now, while it still lies in the datagram (the idle `settle`
        // does next finds nothing more to do).
        let lull = self.windows.lull(self.window());
        let written = self.m.acked(bytes, lull);
        self.told(r)?;
        if let Err(e) = written {
            return Err(self.local_failure(e));
        }
        let now = Instant::now();
        let now_progress = (self.m.stats().blocks, self.m.phase());
        if now_progress != self.last_progress {
            self.last_progress = now_progress;
            self.deadline = now + self.m.wait();
            let bytes = self.m.stats().bytes;
            if bytes >= self.last_reported + (1 << 20) {
                self.last_reported = bytes;
                self.progress(bytes);
            }
        }
        // Strangers and duplicates must not hold the timer off.
        Ok(now >= self.deadline)
    }

    /// The receive failed with `e`: whether that is the timer firing, an
    /// error to ignore, or the end.
    fn failed(&mut self, e: io::Error) -> Result<bool, TftpError> {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Ok(true),
            io::ErrorKind::Interrupted => Ok(false),
            io::ErrorKind::ConnectionRefused => {
                // Only an error about the server counts: an ERROR 5 sent to
                // a stranger whose port is gone must not end the transfer.
                let about = crate::sys::take_queued_error(self.sock.as_fd()).and_then(|q| q.dest);
                if about.is_none_or(|d| d == self.m.server()) {
                    return Err(TftpError::PortUnreachable(self.m.server()));
                }
                Ok(false)
            }
            _ => Err(e.into()),
        }
    }

    /// Nothing came in time: the machine resends or gives up.
    fn timeout(&mut self) -> Result<(), TftpError> {
        let r = self.m.timeout();
        if r.is_err() {
            self.sent()?;
        }
        self.told(r)?;
        self.windows.timed_out(self.m.window_left());
        self.deadline = Instant::now() + self.m.wait();
        Ok(())
    }

    fn progress(&mut self, done: u64) {
        let total = self.m.total();
        (self.hooks.events)(Event::Progress { done, total });
    }

    fn report(self) -> Report {
        Report {
            stats: self.m.stats(),
            negotiated: self.m.negotiated(),
            elapsed: self.completed.unwrap_or_else(|| self.start.elapsed()),
            waits: self.busy,
            naps: self.windows.nap,
        }
    }

    /// Send the outbox.
    fn flush(&mut self) -> Result<(), TftpError> {
        for (to, bytes) in self.m.outbox().drain(..) {
            if self.hooks.trace {
                (self.hooks.events)(Event::Sent {
                    to,
                    packet: describe(&bytes),
                });
            }
            loop {
                match self.sock.send_to(&bytes, to) {
                    Ok(_) => {}
                    // A refused send reports an earlier ICMP error; the
                    // receive path names it.
                    Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                        match crate::sys::termination() {
                            Some(signal) => return Err(TftpError::Interrupted(signal)),
                            None => continue,
                        }
                    }
                    Err(e) => return Err(e.into()),
                }
                break;
            }
        }
        Ok(())
    }

    /// [`flush`](Self::flush), and when a signal cut a send short, tell
    /// the server.
    fn sent(&mut self) -> Result<(), TftpError> {
        match self.flush() {
            Err(TftpError::Interrupted(signal)) => {
                self.m.cancel(signal);
                let _ = self.flush();
                Err(TftpError::Interrupted(signal))
            }
            r => r,
        }
    }

    /// A local read or write failed (`e`): tell the server, then give up.
    fn local_failure(&mut self, e: io::Error) -> TftpError {
        // A write blocked on a pipe gives way to SIGINT/SIGTERM: that is
        // the signal's stop, not a failure.
        if e.kind() == io::ErrorKind::Interrupted
            && let Some(signal) = crate::sys::termination()
        {
            self.m.cancel(signal);
            let _ = self.flush();
            return TftpError::Interrupted(signal);
        }
        self.m.local_failure(&e);
        // The local error is the one to report, even if the ERROR is lost.
        let _ = self.flush();
        TftpError::Io(e)
    }

    /// What the machine returned, with a local failure (the only `Io`
    /// errors a machine returns: its sink or source failed) told to the
    /// server.
    fn told(&mut self, r: Result<(), TftpError>) -> Result<(), TftpError> {
        match r {
            Err(TftpError::Io(e)) => Err(self.local_failure(e)),
            r => r,
        }
    }
}

#[cfg(test)]
mod batch_tests {
    use super::{Batch, Got};
    use std::net::UdpSocket;

    #[test]
    fn a_batch_hands_out_each_datagram_whole_with_its_sender() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = rx.local_addr().unwrap();
        let sent: [(&UdpSocket, Vec<u8>); 5] = [
            (&a, vec![1; 516]),
            (&b, vec![2; 3000]),
            (&a, vec![]),
            (&a, vec![3; 65000]),
            (&b, vec![4; 8]),
        ];
        for (from, bytes) in &sent {
            from.send_to(bytes, to).unwrap();
        }
        // On loopback a datagram is queued by the time send_to returns.
        let mut batch = Batch::new();
        assert_eq!(batch.fill(&rx, 4).unwrap(), 4, "a window of 4 at most");
        for (from, bytes) in &sent[..4] {
            let (Got::Batch(i, n), addr) = batch.pop().unwrap() else {
                panic!("not from the batch")
            };
            assert_eq!(addr, from.local_addr().unwrap());
            assert_eq!(batch.bytes(i, n), &bytes[..], "whole and unchanged");
        }
        assert!(batch.pop().is_none());
        assert_eq!(batch.fill(&rx, 16).unwrap(), 1, "the rest stayed queued");
        let (Got::Batch(i, n), _) = batch.pop().unwrap() else {
            panic!("not from the batch")
        };
        assert_eq!(batch.bytes(i, n), &[4; 8]);
        assert_eq!(batch.fill(&rx, 16).unwrap(), 0, "nothing queued");
        assert!(batch.pop().is_none());
    }
}

#[cfg(test)]
mod bind_tests {
    use super::{LocalEnd, PortRange, SocketError, socket_for};
    use std::net::{SocketAddr, UdpSocket};

    #[test]
    fn a_range_is_walked_from_its_start_round_to_lo_each_port_once() {
        let r = PortRange { lo: 100, hi: 103 };
        assert_eq!(r.from(0).collect::<Vec<_>>(), [100, 101, 102, 103]);
        assert_eq!(r.from(6).collect::<Vec<_>>(), [102, 103, 100, 101]);
        let one = PortRange { lo: 7, hi: 7 };
        assert_eq!(one.from(u64::MAX).collect::<Vec<_>>(), [7]);
        let all = PortRange { lo: 1, hi: 65535 };
        let ports: Vec<u16> = all.from(65534).take(3).collect();
        assert_eq!(ports, [65535, 1, 2]);
        assert_eq!(all.from(12345).count(), 65535);
    }

    /// Three ports free a moment ago, in a row (bound on 127.0.0.1 and
    /// kept: the caller frees what it does not want taken).
    fn three_in_a_row() -> (PortRange, Vec<UdpSocket>) {
        for _ in 0..50 {
            let a = UdpSocket::bind("127.0.0.1:0").unwrap();
            let lo = a.local_addr().unwrap().port();
            if lo > 65533 {
                continue;
            }
            let rest: Vec<_> = (1..3)
                .filter_map(|i| UdpSocket::bind(("127.0.0.1", lo + i)).ok())
                .collect();
            if rest.len() == 2 {
                let mut held = vec![a];
                held.extend(rest);
                return (PortRange { lo, hi: lo + 2 }, held);
            }
        }
        panic!("no three free UDP ports in a row on 127.0.0.1");
    }

    #[test]
    fn ports_in_use_are_skipped_and_a_full_range_is_one_error() {
        let server: SocketAddr = "127.0.0.1:69".parse().unwrap();
        let (range, mut held) = three_in_a_row();
        let local = LocalEnd {
            addr: Some("127.0.0.1:0".parse().unwrap()),
            ports: Some(range),
        };
        let e = socket_for(server, 512, 1, &local, 0).unwrap_err();
        assert!(
            matches!(e, SocketError::RangeTaken { in_use: 3, .. }),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            format!(
                "no port of --port-range {range} is free on 127.0.0.1 (3 in use): widen the range, or wait for one to be free"
            )
        );
        // Free the middle port: from any start, that is the one bound.
        let middle = held.remove(1);
        drop(middle);
        for start in 0..3 {
            let s = socket_for(server, 512, 1, &local, start).unwrap();
            assert_eq!(s.local_addr().unwrap().port(), range.lo + 1, "from {start}");
        }
    }

    #[test]
    fn the_bind_address_must_be_of_the_servers_family() {
        let local = LocalEnd {
            addr: Some("[::1]:0".parse().unwrap()),
            ports: None,
        };
        let e = socket_for("127.0.0.1:69".parse().unwrap(), 512, 1, &local, 0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--bind ::1 is an IPv6 address and the server 127.0.0.1 an IPv4 one: give a --bind address of the server's family"
        );
        let local = LocalEnd {
            addr: Some("127.0.0.2:0".parse().unwrap()),
            ports: None,
        };
        let s = socket_for("127.0.0.1:69".parse().unwrap(), 512, 1, &local, 0).unwrap();
        let bound = s.local_addr().unwrap();
        assert_eq!(bound.ip().to_string(), "127.0.0.2");
        assert_ne!(bound.port(), 0);
    }
}
