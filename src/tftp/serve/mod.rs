//! `nettool tftp serve`: a TFTP server on the client's ground. Requests
//! are checked on paper (`request`), files opened only below the served
//! directory (`files`), and each transfer is one of the session machines
//! the client uses, in its serving role (RRQ: `session::Upload` sends,
//! WRQ: `session::Download` receives), on a socket of its own (a new
//! transfer ID). One thread drives them all: an epoll set of every socket
//! and a heap of deadlines, so hundreds of transfers cost no thread each.
//!
//! Invariants:
//! - Root is never kept while serving: privileges are dropped after the
//!   sockets are bound and the directory is opened, before the first
//!   datagram is read.
//! - Nothing a client sends makes memory grow past the transfer limits: a
//!   refused request leaves nothing behind, a transfer lives at most
//!   `retries` timeouts past its last progress, and there are at most
//!   `--max-transfers` (`--max-per-client` per address).
//! - An upload appears under its name only once complete, before the
//!   final ACK tells the client so; a failed one leaves nothing.

pub mod files;
pub mod request;
#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::AsFd as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use socket2::{Domain, Protocol, Socket, Type};

use crate::sys::epoll::Epoll;
use crate::sys::user::Ids;
use crate::wire::tftp::{ErrorCode, MAX_PACKET, Packet};

use super::session::{
    Config, Deliver, Download, Mode, Negotiated, Phase, Requested, Sink as _, Stats, TftpError,
    Upload,
};
use files::{NewFile, Root, Served};
pub use request::{Direction, Limits};
use request::{Incoming, Refusal, Request};

/// Everything `serve` needs, parsed and checked by `cmd::tftp_serve`.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent switches, each from its own flag"
)]
pub struct Settings {
    pub dir: PathBuf,
    pub listen: Vec<SocketAddr>,
    /// Accept WRQs.
    pub write: bool,
    /// A WRQ may replace an existing file.
    pub overwrite: bool,
    /// Follow symbolic links that stay inside the directory.
    pub follow_symlinks: bool,
    pub limits: Limits,
    /// First retransmission timeout (a client's `timeout` option wins).
    pub timeout: Duration,
    pub retries: u32,
    pub max_transfers: usize,
    pub max_per_client: usize,
    /// After SIGINT/SIGTERM, how long running transfers may go on.
    pub grace: Duration,
    /// Who to become after binding (run as root).
    pub become_user: Option<Become>,
    /// Report every packet.
    pub trace: bool,
    /// Report the running transfers twice a second (a terminal's live
    /// line).
    pub live: bool,
    /// Poll up to this long for a client's answer before sleeping.
    pub busy_poll: Duration,
}

/// The user the server drops to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Become {
    pub name: String,
    pub ids: Ids,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every byte moved (an upload is in place).
    Ok,
    /// Started, then failed or cut short.
    Failed,
    /// Answered with an ERROR at once.
    Refused,
}

/// One transfer (or refused request), as it ended.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Record {
    #[serde(skip)]
    pub at: SystemTime,
    pub client: SocketAddr,
    pub file: String,
    pub direction: Direction,
    pub mode: &'static str,
    /// File bytes sent or received.
    pub bytes: u64,
    pub seconds: f64,
    pub options: Option<Negotiated>,
    pub outcome: Outcome,
    pub error: Option<String>,
    /// The ERROR code the client got from us, or sent us.
    pub error_code: Option<u16>,
    pub retransmits: u64,
}

/// What happens, as it happens.
#[derive(Debug)]
pub enum Event<'a> {
    Listening {
        addr: SocketAddr,
        dir: &'a Path,
        write: bool,
    },
    /// Privileges dropped to this user.
    Became {
        user: &'a str,
        ids: Ids,
    },
    Transfer(&'a Record),
    /// A packet (`--verbose`): sent (else received) to or from `peer`.
    Packet {
        sent: bool,
        peer: SocketAddr,
        bytes: &'a [u8],
    },
    /// Asked to stop: `active` transfers may go on for `grace`.
    Stopping {
        active: usize,
        grace: Duration,
    },
    /// The transfers running now (with `live`, twice a second).
    Active(&'a [Active]),
}

/// A running transfer, for the live line.
#[derive(Debug, Clone, PartialEq)]
pub struct Active {
    pub client: SocketAddr,
    pub file: String,
    pub direction: Direction,
    pub bytes: u64,
    /// The size, when known (a read's file; a write's announced tsize).
    pub size: Option<u64>,
    pub seconds: f64,
}

/// Counts over the server's life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub ok: u64,
    pub failed: u64,
    pub refused: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Refusals beyond the log's rate, counted only.
    pub refusals_not_logged: u64,
    /// Transfers still running when the grace ran out.
    pub cut_short: u64,
    /// Waits for a client's answer that polling caught (`--busy-poll`),
    /// and those that slept.
    pub polled: u64,
    pub slept: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot serve {}: {source}", path.display())]
    Dir { path: PathBuf, source: io::Error },
    #[error("cannot listen on {addr}: {source}{}", bind_hint(source, addr))]
    Bind { addr: SocketAddr, source: io::Error },
    #[error("cannot become user {user}: {source}")]
    Become { user: String, source: io::Error },
    #[error(
        "{} is not {what} by user {user} (uid {uid}), whom the server runs as: {fix}",
        path.display()
    )]
    NoAccess {
        path: PathBuf,
        what: &'static str,
        user: String,
        uid: u32,
        fix: &'static str,
    },
    #[error("{0}")]
    Io(#[from] io::Error),
}

fn bind_hint(e: &io::Error, addr: &SocketAddr) -> &'static str {
    match e.kind() {
        io::ErrorKind::PermissionDenied if addr.port() < 1024 => {
            " (ports below 1024 need root or CAP_NET_BIND_SERVICE; or --listen on a port above 1023)"
        }
        io::ErrorKind::AddrInUse => {
            " (another TFTP server runs there: stop it, or --listen elsewhere)"
        }
        io::ErrorKind::AddrNotAvailable => " (no interface has that address)",
        _ => "",
    }
}

/// Refusals logged per second at most; the rest are counted.
const LOG_PER_SECOND: u32 = 20;
/// The bytes all windows together may hold (see `Limits::window_bytes`).
const WINDOW_BUDGET: u64 = 16 << 20;
/// From this block size on, a window's blocks are sent one by one as
/// read; below it, read together and sent in one call.
const PIPELINE_BLKSIZE: u16 = 8192;
/// How often the live line is redrawn.
const LIVE_EVERY: Duration = Duration::from_millis(500);
/// Datagrams read from one socket per wake-up, for fairness.
const BATCH: usize = 64;

/// The machine of one transfer and its file.
enum Machine {
    /// RRQ: we send.
    Send(Upload, Served),
    /// WRQ: we receive.
    Receive(Download, NewFile),
}

struct Transfer {
    serial: u64,
    sock: UdpSocket,
    client: SocketAddr,
    file: String,
    direction: Direction,
    mode: Mode,
    machine: Machine,
    started: Instant,
    deadline: Instant,
    /// The outcome was reported (an upload is reported once committed,
    /// then dallies).
    reported: bool,
}

impl Transfer {
    fn phase(&self) -> Phase {
        match &self.machine {
            Machine::Send(m, _) => m.phase(),
            Machine::Receive(m, _) => m.phase(),
        }
    }
    fn wait(&self) -> Duration {
        match &self.machine {
            Machine::Send(m, _) => m.wait(),
            Machine::Receive(m, _) => m.wait(),
        }
    }
    fn stats(&self) -> Stats {
        match &self.machine {
            Machine::Send(m, _) => m.stats(),
            Machine::Receive(m, _) => m.stats(),
        }
    }
    fn negotiated(&self) -> Negotiated {
        match &self.machine {
            Machine::Send(m, _) => m.negotiated(),
            Machine::Receive(m, _) => m.negotiated(),
        }
    }
    /// The bytes its window holds at most.
    fn window(&self) -> u64 {
        let n = self.negotiated();
        u64::from(n.blksize) * u64::from(n.windowsize)
    }

    /// What moves the deadline on when it changes: blocks done, a
    /// retransmission, a new phase (the ACK 0 that answers an OACK).
    fn progress(&self) -> (u64, u64, Phase) {
        let s = self.stats();
        (s.blocks, s.retransmits, self.phase())
    }
}

/// Serve until SIGINT or SIGTERM (caught here), then let running
/// transfers finish within the grace.
///
/// # Errors
/// Setup failed: the directory, a bind, the privilege drop.
pub fn run(s: &Settings, on_event: &mut dyn FnMut(Event)) -> Result<Report, Error> {
    crate::sys::catch_termination()?;
    let root = Root::open(&s.dir, s.follow_symlinks).map_err(|source| Error::Dir {
        path: s.dir.clone(),
        source,
    })?;
    let mut listeners = Vec::new();
    for &addr in &s.listen {
        let sock = bind(addr).map_err(|source| Error::Bind { addr, source })?;
        listeners.push(sock);
    }
    if let Some(b) = &s.become_user {
        crate::sys::user::become_user(b.ids).map_err(|source| Error::Become {
            user: b.name.clone(),
            source,
        })?;
        check_access(&root, s, b)?;
        on_event(Event::Became {
            user: &b.name,
            ids: b.ids,
        });
    }
    let epoll = Epoll::new()?;
    let mut local = Vec::new();
    for (i, l) in listeners.iter().enumerate() {
        epoll.add(l.as_fd(), i as u64)?;
        let addr = l.local_addr()?;
        local.push(addr.ip());
        on_event(Event::Listening {
            addr,
            dir: &s.dir,
            write: s.write,
        });
    }
    let mut server = Server {
        s,
        root,
        epoll,
        first_slot: listeners.len(),
        listeners,
        local,
        slots: Vec::new(),
        free: Vec::new(),
        by_client: HashMap::new(),
        per_ip: HashMap::new(),
        timers: BinaryHeap::new(),
        serial: 0,
        buf: vec![0; MAX_PACKET + 1],
        report: Report::default(),
        window_bytes: 0,
        polling: super::pace::BusyPoll::new(if crate::sys::online_cpus() > 1 {
            s.busy_poll
        } else {
            Duration::ZERO
        }),
        log_second: Instant::now(),
        logged: 0,
    };
    server.serve(on_event)?;
    server.report.polled = server.polling.polled;
    server.report.slept = server.polling.slept;
    Ok(server.report)
}

/// A UDP socket on `addr`; `[::]` takes IPv4 too (dual-stack).
fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
    let sock = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        sock.set_only_v6(false)?;
    }
    sock.bind(&addr.into())?;
    Ok(sock.into())
}

/// After the drop: can the new user read (and with `--write`, write) the
/// directory? Said at start, not as ERRORs to the first clients.
fn check_access(root: &Root, s: &Settings, b: &Become) -> Result<(), Error> {
    let no = |what, fix| Error::NoAccess {
        path: s.dir.clone(),
        what,
        user: b.name.clone(),
        uid: b.ids.uid,
        fix,
    };
    if !crate::sys::fs::accessible(root.handle(), false) {
        return Err(no(
            "readable",
            "give others read and search permission (chmod o+rx), or pass --user",
        ));
    }
    if s.write && !crate::sys::fs::accessible(root.handle(), true) {
        return Err(no(
            "writable",
            "make it writable by that user (chown or chmod), or pass --user",
        ));
    }
    Ok(())
}

struct Server<'s> {
    s: &'s Settings,
    root: Root,
    epoll: Epoll,
    listeners: Vec<UdpSocket>,
    /// Each listener's address: transfers answer from it.
    local: Vec<IpAddr>,
    /// Tokens below this are listeners; a transfer's is its slot plus it.
    first_slot: usize,
    slots: Vec<Option<Transfer>>,
    free: Vec<usize>,
    /// Transfers by the client's transfer ID: a repeated request is not a
    /// second transfer.
    by_client: HashMap<SocketAddr, usize>,
    per_ip: HashMap<IpAddr, usize>,
    /// (deadline, slot, serial); an entry whose transfer moved its
    /// deadline on is pushed again for the new one when it comes up.
    timers: BinaryHeap<Reverse<(Instant, usize, u64)>>,
    serial: u64,
    buf: Vec<u8>,
    report: Report,
    /// The windows' bytes of the running transfers.
    window_bytes: u64,
    /// Polling before sleeping (`--busy-poll`).
    polling: super::pace::BusyPoll,
    log_second: Instant,
    logged: u32,
}

impl Server<'_> {
    fn active(&self) -> usize {
        self.by_client.len()
    }

    /// Wait for readable sockets, up to `wait`. While transfers run,
    /// their clients' answers come within tens of microseconds on a LAN:
    /// poll for them first (the client's adaptive budget, `pace`), which
    /// saves a sleep and a wake-up per block, as it does for the client.
    fn wait(&mut self, ready: &mut Vec<u64>, wait: Duration) -> io::Result<()> {
        if self.active() == 0 {
            return self.epoll.wait(ready, Some(wait));
        }
        if self.polling.round_over() {
            self.polling.end_round(crate::sys::involuntary_switches());
        }
        let budget = self.polling.budget().min(wait);
        let start = Instant::now();
        // With the budget at zero the wait still counts: polling comes
        // back after a pause, or when a probe finds answers quick again.
        while !budget.is_zero() {
            self.epoll.wait(ready, Some(Duration::ZERO))?;
            if !ready.is_empty() {
                self.polling.answered();
                return Ok(());
            }
            if start.elapsed() >= budget || crate::sys::termination().is_some() {
                break;
            }
            std::hint::spin_loop();
        }
        self.epoll
            .wait(ready, Some(wait.saturating_sub(start.elapsed())))?;
        let answer = (!ready.is_empty()).then(|| start.elapsed());
        self.polling.slept(answer);
        Ok(())
    }

    fn running(&self) -> Vec<Active> {
        self.slots
            .iter()
            .flatten()
            .filter(|t| !t.reported)
            .map(|t| Active {
                client: t.client,
                file: t.file.clone(),
                direction: t.direction,
                bytes: t.stats().bytes,
                size: t.negotiated().tsize,
                seconds: t.started.elapsed().as_secs_f64(),
            })
            .collect()
    }

    fn serve(&mut self, on_event: &mut dyn FnMut(Event)) -> io::Result<()> {
        let mut ready = Vec::new();
        let mut stop_by: Option<Instant> = None;
        let mut shown = false;
        let mut next_live = Instant::now();
        loop {
            let now = Instant::now();
            if self.s.live && now >= next_live {
                next_live = now + LIVE_EVERY;
                // Once more when the last transfer ended: the line clears.
                if self.active() > 0 || shown {
                    let list = self.running();
                    shown = !list.is_empty();
                    on_event(Event::Active(&list));
                }
            }
            if stop_by.is_none() && crate::sys::termination().is_some() {
                for l in std::mem::take(&mut self.listeners) {
                    self.epoll.delete(l.as_fd())?;
                }
                on_event(Event::Stopping {
                    active: self.active(),
                    grace: self.s.grace,
                });
                stop_by = Some(now + self.s.grace);
            }
            if let Some(by) = stop_by {
                if self.active() == 0 {
                    return Ok(());
                }
                if now >= by {
                    self.cut_short(on_event);
                    return Ok(());
                }
            }
            let next = self.timers.peek().map(|Reverse((t, _, _))| *t);
            let live = (self.s.live && (self.active() > 0 || shown)).then_some(next_live);
            let wake = [next, stop_by, live].into_iter().flatten().min();
            // Bounded, so a signal that came just before the wait is seen.
            let wait = wake.map_or(Duration::from_millis(500), |t| {
                t.saturating_duration_since(now)
                    .min(Duration::from_millis(500))
            });
            self.wait(&mut ready, wait)?;
            for &token in &ready {
                let Ok(token) = usize::try_from(token) else {
                    continue;
                };
                if token < self.first_slot {
                    self.on_listener(token, on_event);
                } else {
                    self.on_transfer(token - self.first_slot, on_event);
                }
            }
            self.fire_timers(on_event);
        }
    }

    /// Requests waiting on listener `i`.
    fn on_listener(&mut self, i: usize, on_event: &mut dyn FnMut(Event)) {
        for _ in 0..BATCH {
            let Some(l) = self.listeners.get(i) else {
                return;
            };
            let local = self.local.get(i).copied();
            let (n, from) = match crate::sys::recv_from_now(l.as_fd(), &mut self.buf) {
                Ok(Some(got)) => got,
                Ok(None) => return,
                // An ICMP error for an earlier answer: nothing to do.
                Err(_) => continue,
            };
            let from = unmapped(from);
            if self.s.trace {
                on_event(Event::Packet {
                    sent: false,
                    peer: from,
                    bytes: &self.buf[..n],
                });
            }
            if let Some(&slot) = self.by_client.get(&from) {
                let over = matches!(self.slots.get(slot), Some(Some(t)) if t.reported);
                if !over {
                    // The client asked again before our first answer
                    // reached it: the transfer's own timeout answers.
                    continue;
                }
                // A new request from the port of a finished transfer (a
                // client that keeps its port, as tftp-hpa's does for
                // every transfer of a session) ends its dally.
                self.end(slot);
            }
            let incoming = request::parse(&self.buf[..n]);
            let local = local.unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
            match incoming {
                Incoming::Ignored => {}
                Incoming::Refused(r) => {
                    let (direction, file) = request::requested_name(&self.buf[..n]);
                    self.refuse(local, from, &file, (direction, ""), &r, on_event);
                }
                Incoming::Request(req) => self.start(local, from, &req, on_event),
            }
        }
    }

    /// Answer `to` with ERROR `r` from a new port (as a transfer would
    /// answer) and log it.
    fn refuse(
        &mut self,
        local: IpAddr,
        to: SocketAddr,
        file: &str,
        (direction, mode): (Direction, &'static str),
        r: &Refusal,
        on_event: &mut dyn FnMut(Event),
    ) {
        let pkt = Packet::Error {
            code: r.code,
            message: super::session::cut_to(&r.message, super::session::MAX_ERROR_TEXT),
        }
        .to_vec();
        if let Ok(sock) = transfer_socket(local, to) {
            let _ = sock.send_to(&pkt, to);
            if self.s.trace {
                on_event(Event::Packet {
                    sent: true,
                    peer: to,
                    bytes: &pkt,
                });
            }
        }
        self.report.refused += 1;
        let now = Instant::now();
        if now.duration_since(self.log_second) >= Duration::from_secs(1) {
            self.log_second = now;
            self.logged = 0;
        }
        if self.logged >= LOG_PER_SECOND {
            self.report.refusals_not_logged += 1;
            return;
        }
        self.logged += 1;
        let rec = Record {
            at: SystemTime::now(),
            client: to,
            file: file.to_string(),
            direction,
            mode,
            bytes: 0,
            seconds: 0.0,
            options: None,
            outcome: Outcome::Refused,
            error: Some(r.why.clone()),
            error_code: Some(r.code.to_u16()),
            retransmits: 0,
        };
        on_event(Event::Transfer(&rec));
    }

    /// A request: refuse it, or start its transfer.
    fn start(
        &mut self,
        local: IpAddr,
        from: SocketAddr,
        req: &Request,
        on_event: &mut dyn FnMut(Event),
    ) {
        let s = self.s;
        let name = request::shown(&req.filename);
        let refuse = |this: &mut Self, r: Refusal, on_event: &mut dyn FnMut(Event)| {
            this.refuse(
                local,
                from,
                &name,
                (req.direction, req.mode.name()),
                &r,
                on_event,
            );
        };
        if req.direction == Direction::Write && !s.write {
            let r = Refusal {
                code: ErrorCode::AccessViolation,
                message: "this server is read-only".into(),
                why: "write request refused: read-only (start the server with --write to accept uploads)".into(),
            };
            return refuse(self, r, on_event);
        }
        if self.active() >= s.max_transfers {
            let r = Refusal {
                code: ErrorCode::NotDefined,
                message: "server busy: try again later".into(),
                why: format!(
                    "busy: {} transfers at once (--max-transfers)",
                    s.max_transfers
                ),
            };
            return refuse(self, r, on_event);
        }
        let ip = from.ip();
        if self.per_ip.get(&ip).copied().unwrap_or(0) >= s.max_per_client {
            let r = Refusal {
                code: ErrorCode::NotDefined,
                message: "too many transfers from your address at once".into(),
                why: format!(
                    "{} transfers from {ip} at once (--max-per-client)",
                    s.max_per_client
                ),
            };
            return refuse(self, r, on_event);
        }
        let opened = match req.direction {
            Direction::Read => self
                .root
                .read(&req.filename)
                .map(|(f, size)| (Some((f, size)), None)),
            Direction::Write => self
                .root
                .create(&req.filename, s.overwrite)
                .map(|n| (None, Some(n))),
        };
        let (read, write) = match opened {
            Ok(o) => o,
            Err(r) => return refuse(self, r, on_event),
        };
        let size = read.as_ref().map(|(_, size)| *size);
        // Windows share one budget: many transfers at once each get a
        // smaller one, so memory stays bounded whatever clients ask.
        let limits = Limits {
            window_bytes: s
                .limits
                .window_bytes
                .min(WINDOW_BUDGET.saturating_sub(self.window_bytes)),
            ..s.limits
        };
        let (neg, oack) = match request::negotiate(req, &limits, size) {
            Ok(n) => n,
            Err(r) => return refuse(self, r, on_event),
        };
        let sock = match transfer_socket(local, from) {
            Ok(sock) => sock,
            Err(e) => {
                let r = Refusal {
                    code: ErrorCode::NotDefined,
                    message: "server out of resources".into(),
                    why: format!("no socket for the transfer: {e}"),
                };
                return refuse(self, r, on_event);
            }
        };
        let (machine, err) = machine(s, req, from, neg, oack, read, write);
        self.admit(slot_parts(sock, from, name, req, machine), err, on_event);
    }

    /// Register a new transfer and send its first packet (or end it at
    /// once when `err` already did).
    fn admit(&mut self, p: Parts, err: Option<TftpError>, on_event: &mut dyn FnMut(Event)) {
        let Parts {
            sock,
            client: from,
            file,
            direction,
            mode,
            mut machine,
        } = p;
        let trace = self.s.trace;
        let err = match (&mut machine, err) {
            (Machine::Send(m, src), None) => {
                send_more(m, src, Ok(()), &sock, trace, on_event).err()
            }
            (Machine::Send(m, _), err) => {
                flush(&sock, m.outbox(), trace, on_event);
                err
            }
            (Machine::Receive(m, _), err) => {
                flush(&sock, m.outbox(), trace, on_event);
                err
            }
        };
        let slot = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.slots.len() - 1
        });
        if self
            .epoll
            .add(sock.as_fd(), (slot + self.first_slot) as u64)
            .is_err()
        {
            self.free.push(slot);
            return;
        }
        self.serial += 1;
        let now = Instant::now();
        let mut t = Transfer {
            serial: self.serial,
            sock,
            client: from,
            file,
            direction,
            mode,
            machine,
            started: now,
            deadline: now,
            reported: false,
        };
        t.deadline = now + t.wait();
        self.timers.push(Reverse((t.deadline, slot, self.serial)));
        self.window_bytes += t.window();
        self.slots[slot] = Some(t);
        self.by_client.insert(from, slot);
        *self.per_ip.entry(from.ip()).or_insert(0) += 1;
        // Over already: sent in full (an empty file without options), or
        // the first read failed.
        self.after(slot, err, on_event);
    }

    /// Datagrams waiting on transfer `slot`'s socket.
    fn on_transfer(&mut self, slot: usize, on_event: &mut dyn FnMut(Event)) {
        for _ in 0..BATCH {
            let Some(Some(t)) = self.slots.get_mut(slot) else {
                return;
            };
            let (n, from) = match crate::sys::recv_from_now(t.sock.as_fd(), &mut self.buf) {
                Ok(Some(got)) => got,
                Ok(None) => return,
                Err(_) => continue,
            };
            let from = unmapped(from);
            let bytes = &self.buf[..n];
            if self.s.trace {
                on_event(Event::Packet {
                    sent: false,
                    peer: from,
                    bytes,
                });
            }
            let before = t.progress();
            let r = match &mut t.machine {
                Machine::Send(m, src) => {
                    let r = m.on_datagram(from, bytes, src);
                    send_more(m, src, r, &t.sock, self.s.trace, on_event)
                }
                Machine::Receive(m, sink) => {
                    receive(m, sink, &t.sock, from, bytes, self.s.trace, on_event)
                }
            };
            if t.progress() != before {
                t.deadline = Instant::now() + t.wait();
            }
            // A lock-step transfer has nothing more until it answers.
            let more = matches!(&t.machine, Machine::Receive(m, _) if m.blocks_to_ack() > 1);
            self.after(slot, r.err(), on_event);
            if !more {
                return;
            }
        }
    }

    /// Report and end transfer `slot` if it is over (or `err` ended it).
    #[allow(
        clippy::needless_pass_by_value,
        reason = "the error ends here: callers hand it over"
    )]
    fn after(&mut self, slot: usize, err: Option<TftpError>, on_event: &mut dyn FnMut(Event)) {
        let Some(Some(t)) = self.slots.get_mut(slot) else {
            return;
        };
        let phase = t.phase();
        if err.is_none() && !matches!(phase, Phase::Done | Phase::Dallying) {
            return;
        }
        let rec = (!t.reported).then(|| record(t, err.as_ref()));
        t.reported = true;
        // Ended before it is reported: a failed upload's temporary file
        // is gone by the time its record says so.
        if err.is_some() || phase == Phase::Done {
            self.end(slot);
        }
        if let Some(rec) = rec {
            match rec.outcome {
                Outcome::Ok => self.report.ok += 1,
                _ => self.report.failed += 1,
            }
            match rec.direction {
                Direction::Read => self.report.bytes_sent += rec.bytes,
                Direction::Write => self.report.bytes_received += rec.bytes,
            }
            on_event(Event::Transfer(&rec));
        }
    }

    fn end(&mut self, slot: usize) {
        let Some(t) = self.slots.get_mut(slot).and_then(Option::take) else {
            return;
        };
        let _ = self.epoll.delete(t.sock.as_fd());
        self.window_bytes -= t.window();
        self.by_client.remove(&t.client);
        let ip = t.client.ip();
        if let Some(n) = self.per_ip.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                self.per_ip.remove(&ip);
            }
        }
        self.free.push(slot);
    }

    fn fire_timers(&mut self, on_event: &mut dyn FnMut(Event)) {
        let now = Instant::now();
        while let Some(&Reverse((at, slot, serial))) = self.timers.peek() {
            if at > now {
                return;
            }
            self.timers.pop();
            let Some(Some(t)) = self.slots.get_mut(slot) else {
                continue;
            };
            if t.serial != serial {
                continue;
            }
            if t.deadline > now {
                // Progress moved it on since this entry was pushed.
                self.timers.push(Reverse((t.deadline, slot, serial)));
                continue;
            }
            let r = match &mut t.machine {
                Machine::Send(m, src) => {
                    let r = m.on_timeout(src);
                    send_more(m, src, r, &t.sock, self.s.trace, on_event)
                }
                Machine::Receive(m, _) => {
                    let r = m.on_timeout();
                    flush(&t.sock, m.outbox(), self.s.trace, on_event);
                    r
                }
            };
            t.deadline = now + t.wait();
            self.timers.push(Reverse((t.deadline, slot, serial)));
            self.after(slot, r.err(), on_event);
        }
    }

    /// The grace is over: stop every transfer still running.
    fn cut_short(&mut self, on_event: &mut dyn FnMut(Event)) {
        for slot in 0..self.slots.len() {
            let Some(Some(t)) = self.slots.get_mut(slot) else {
                continue;
            };
            let why = "server shutting down";
            match &mut t.machine {
                Machine::Send(m, _) => {
                    m.stop(why);
                    flush(&t.sock, m.outbox(), self.s.trace, on_event);
                }
                Machine::Receive(m, _) => {
                    m.stop(why);
                    flush(&t.sock, m.outbox(), self.s.trace, on_event);
                }
            }
            if !t.reported {
                self.report.cut_short += 1;
            }
            let err =
                TftpError::Protocol("cut short: the server stopped and the grace ran out".into());
            self.after(slot, Some(err), on_event);
        }
    }
}

/// A transfer's parts before it has a slot.
struct Parts {
    sock: UdpSocket,
    client: SocketAddr,
    file: String,
    direction: Direction,
    mode: Mode,
    machine: Machine,
}

fn slot_parts(
    sock: UdpSocket,
    client: SocketAddr,
    file: String,
    req: &Request,
    machine: Machine,
) -> Parts {
    Parts {
        sock,
        client,
        file,
        direction: req.direction,
        mode: req.mode,
        machine,
    }
}

/// The session machine for `req`, its first packet queued, and the error
/// that ended it already, if any (the first block could not be read).
fn machine(
    s: &Settings,
    req: &Request,
    from: SocketAddr,
    neg: Negotiated,
    oack: Option<Vec<u8>>,
    read: Option<(std::fs::File, u64)>,
    write: Option<NewFile>,
) -> (Machine, Option<TftpError>) {
    let timeout = neg
        .timeout
        .map_or(s.timeout, |t| Duration::from_secs(u64::from(t)));
    let cfg = Config {
        filename: req.filename.clone(),
        mode: req.mode,
        options: Requested::default(),
        retries: s.retries,
        timeout,
        max_size: s.limits.max_size,
        // Stay to re-ACK a repeated final DATA through the client's
        // first two retransmissions (after 1 and 2 timeouts, as most
        // clients back off): a lost final ACK is then answered.
        dally: timeout * 3,
        fallback: false,
    };
    match (read, write) {
        (Some((f, size)), _) => {
            let mut src = Served::new(f, size, neg.blksize);
            let mut m = Upload::serving(cfg, from, neg, oack);
            let err = m.open(&mut src).err();
            if let Some(TftpError::Io(e)) = &err {
                m.local_failure(e);
            }
            (Machine::Send(m, src), err)
        }
        (None, Some(sink)) => {
            let mut m = Download::serving(cfg, from, neg, oack);
            m.start();
            (Machine::Receive(m, sink), None)
        }
        (None, None) => unreachable!("a request opens a file to read or to write"),
    }
}

/// After a sending machine handled something (`r`): send what it queued,
/// then the rest of its window block by block as each is read, then read
/// the next block ahead. A failed read tells the client.
fn send_more(
    m: &mut Upload,
    src: &mut Served,
    mut r: Result<(), TftpError>,
    sock: &UdpSocket,
    trace: bool,
    on_event: &mut dyn FnMut(Event),
) -> Result<(), TftpError> {
    // Big blocks go out as each is read, so the client works on one while
    // the next is read; small ones are cheap to read and leave together.
    let each = m.negotiated().blksize >= PIPELINE_BLKSIZE;
    flush(sock, m.outbox(), trace, on_event);
    while r.is_ok() {
        match m.pump(src) {
            Ok(true) if each => flush(sock, m.outbox(), trace, on_event),
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => r = Err(e),
        }
    }
    flush(sock, m.outbox(), trace, on_event);
    if r.is_ok() {
        r = m.read_ahead(src);
    }
    if let Err(TftpError::Io(e)) = &r {
        m.local_failure(e);
        flush(sock, m.outbox(), trace, on_event);
    }
    r
}

/// A datagram for a receiving transfer. The final block is written and
/// the file committed before the final ACK goes out, so the client is
/// never told "done" for a file that is not in place.
fn receive(
    m: &mut Download,
    sink: &mut NewFile,
    sock: &UdpSocket,
    from: SocketAddr,
    bytes: &[u8],
    trace: bool,
    on_event: &mut dyn FnMut(Event),
) -> Result<(), TftpError> {
    let was_transferring = m.phase() == Phase::Transferring;
    let r = m.handle(from, bytes, sink);
    let delivery = m.take_delivery();
    if let Err(TftpError::SizeMismatch { announced, got }) = &r {
        // The session ACKs the final block (a client has the file then),
        // but this upload is dropped: the client must not hear "done".
        let text = format!("you announced tsize {announced} but sent {got} bytes");
        let pkt = Packet::Error {
            code: ErrorCode::IllegalOperation,
            message: &text,
        }
        .to_vec();
        let to = m.peer();
        m.outbox().clear();
        m.outbox().push((to, pkt.into()));
        flush(sock, m.outbox(), trace, on_event);
        return r;
    }
    if r.is_ok() && was_transferring && matches!(m.phase(), Phase::Dallying | Phase::Done) {
        let committed = delivery
            .map_or(Ok(()), |Deliver(range)| sink.write(&bytes[range]))
            .and_then(|()| sink.complete());
        if let Err(e) = committed {
            m.outbox().clear();
            m.local_failure(&e);
            flush(sock, m.outbox(), trace, on_event);
            return Err(TftpError::Io(e));
        }
        flush(sock, m.outbox(), trace, on_event);
        return Ok(());
    }
    let lull = !m.outbox().is_empty();
    flush(sock, m.outbox(), trace, on_event);
    r?;
    if let Some(Deliver(range)) = delivery
        && let Err(e) = sink.write_idle(&bytes[range], lull)
    {
        m.local_failure(&e);
        flush(sock, m.outbox(), trace, on_event);
        return Err(TftpError::Io(e));
    }
    Ok(())
}

fn flush(
    sock: &UdpSocket,
    outbox: &mut super::session::Outbox,
    trace: bool,
    on_event: &mut dyn FnMut(Event),
) {
    // A send that fails (the client's port gone) shows as silence: the
    // retries end the transfer. A window goes in one call.
    if outbox.len() > 1 {
        let _ = crate::sys::send::send_many(sock.as_fd(), outbox);
    } else if let Some((to, bytes)) = outbox.first() {
        let _ = sock.send_to(bytes, *to);
    }
    for (to, bytes) in outbox.drain(..) {
        if trace {
            on_event(Event::Packet {
                sent: true,
                peer: to,
                bytes: &bytes,
            });
        }
    }
}

fn record(t: &Transfer, err: Option<&TftpError>) -> Record {
    let (stats, neg) = (t.stats(), t.negotiated());
    let (error, error_code) = match err {
        None => (None, None),
        Some(e) => describe(e),
    };
    Record {
        at: SystemTime::now(),
        client: t.client,
        file: t.file.clone(),
        direction: t.direction,
        mode: t.mode.name(),
        bytes: stats.bytes,
        seconds: t.started.elapsed().as_secs_f64(),
        options: Some(neg),
        outcome: if err.is_none() {
            Outcome::Ok
        } else {
            Outcome::Failed
        },
        error,
        error_code,
        retransmits: stats.retransmits,
    }
}

/// A failed transfer in the server's words, and the ERROR code involved.
fn describe(e: &TftpError) -> (Option<String>, Option<u16>) {
    let (text, code) = match e {
        TftpError::Server { code, message } => (
            format!(
                "the client sent ERROR {} ({}): '{}'",
                code.to_u16(),
                code.meaning(),
                request::shown(message)
            ),
            Some(code.to_u16()),
        ),
        TftpError::Timeout { tries, .. } => (
            format!("the client went silent: no answer after {tries} tries"),
            None,
        ),
        TftpError::FinalAckLost { tries, .. } => (
            format!("no ACK for the final block after {tries} tries (the client may have it all)"),
            None,
        ),
        TftpError::Protocol(why) | TftpError::BadOption(why) => {
            (format!("protocol violation by the client: {why}"), Some(4))
        }
        TftpError::TooLarge { limit, .. } => (
            format!("upload stopped at {limit} bytes (--max-size or its announced tsize)"),
            Some(3),
        ),
        TftpError::SizeMismatch { announced, got } => (
            format!("the client announced tsize {announced} but sent {got} bytes"),
            Some(4),
        ),
        // The code local_failure sent the client for it.
        TftpError::Io(e) => {
            use std::io::ErrorKind::{QuotaExceeded, StorageFull};
            let code = if matches!(e.kind(), StorageFull | QuotaExceeded) {
                ErrorCode::DiskFull
            } else {
                ErrorCode::NotDefined
            };
            (format!("{e}"), Some(code.to_u16()))
        }
        other => (other.to_string(), None),
    };
    (Some(text), code)
}

/// IPv4 clients of a dual-stack socket arrive as `::ffff:a.b.c.d`; they
/// are IPv4 clients, and answered from an IPv4 socket.
fn unmapped(a: SocketAddr) -> SocketAddr {
    match a {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), v6.port()),
            None => a,
        },
        SocketAddr::V4(_) => a,
    }
}

/// A socket for one transfer (its own port: the server's transfer ID),
/// on the address the request came to when the listener has one.
fn transfer_socket(local: IpAddr, client: SocketAddr) -> io::Result<UdpSocket> {
    let ip = match (local, client) {
        (IpAddr::V4(l), SocketAddr::V4(_)) => IpAddr::V4(l),
        (IpAddr::V6(l), SocketAddr::V6(_)) => IpAddr::V6(l),
        (IpAddr::V6(l), SocketAddr::V4(_)) => {
            IpAddr::V4(l.to_ipv4_mapped().unwrap_or(Ipv4Addr::UNSPECIFIED))
        }
        (IpAddr::V4(_), SocketAddr::V6(_)) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    UdpSocket::bind(SocketAddr::new(ip, 0))
}
