//! The transfer as a sans-I/O state machine: it is fed datagrams (with
//! their source address) and timeouts, and answers with datagrams to send
//! and data to deliver. No socket, no clock inside, so loss, duplication,
//! reordering and hostile peers are tested fast and deterministically, and
//! the same machine runs over UDP in `transport`.
//!
//! Invariants:
//! - The server's transfer ID (address and port) is locked from its first
//!   reply, and only from the server's IP. Anything from another address
//!   is answered with ERROR 5 and changes nothing.
//! - A DATA block is delivered exactly once and in order; duplicates are
//!   re-acknowledged (when they are the block last acknowledged) but never
//!   delivered twice.
//! - A duplicate ACK never makes the sender resend (no Sorcerer's
//!   Apprentice): only a timeout does.
//! - Block numbers are counted in 64 bits internally; on the wire they wrap
//!   to 0 after 65535, or to 1 for servers that do that (detected).

use std::net::SocketAddr;
use std::time::Duration;

use crate::wire::tftp::{self, ErrorCode, Packet};

use super::netascii;

/// Default block size (RFC 1350).
pub const DEFAULT_BLKSIZE: u16 = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Octet,
    Netascii,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Octet => "octet",
            Mode::Netascii => "netascii",
        }
    }
}

/// Options to ask for; `None` means not asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Requested {
    pub blksize: Option<u16>,
    pub windowsize: Option<u16>,
    /// Whole seconds, 1..=255 (RFC 2349).
    pub timeout: Option<u8>,
    /// Ask for the size (RRQ: `tsize 0`; WRQ: the size we will send).
    pub tsize: Option<u64>,
}

impl Requested {
    fn is_empty(&self) -> bool {
        *self == Requested::default()
    }
}

/// What was agreed with the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Negotiated {
    pub blksize: u16,
    pub windowsize: u16,
    pub timeout: Option<u8>,
    pub tsize: Option<u64>,
    /// The server answered with an OACK (else plain RFC 1350).
    pub oack: bool,
}

impl Negotiated {
    fn defaults() -> Negotiated {
        Negotiated {
            blksize: DEFAULT_BLKSIZE,
            windowsize: 1,
            timeout: None,
            tsize: None,
            oack: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub filename: String,
    pub mode: Mode,
    pub options: Requested,
    /// Retransmissions of one packet before giving up.
    pub retries: u32,
    /// First retransmission timeout; doubles per retry, up to 4x.
    pub timeout: Duration,
    /// Most bytes a download may write (`--max-size`, else the tsize the
    /// server announced).
    pub max_size: Option<u64>,
    /// After the final ACK, how long to stay and re-ACK a repeated final
    /// DATA.
    pub dally: Duration,
    /// On ERROR 8, or silence, after a request with options: try once more
    /// without options.
    pub fallback: bool,
}

/// Why a transfer failed.
#[derive(Debug, thiserror::Error)]
pub enum TftpError {
    #[error("server error {} ({}): '{message}'", code.to_u16(), code.meaning())]
    Server { code: ErrorCode, message: String },
    #[error(
        "no answer from {addr} after {tries} tries: is a TFTP server running there, and does a firewall let UDP through?"
    )]
    Timeout { addr: SocketAddr, tries: u32 },
    #[error(
        "no ACK for the final block from {addr} after {tries} tries: the server may well have the whole file (check it), but did not confirm"
    )]
    FinalAckLost { addr: SocketAddr, tries: u32 },
    #[error("server's option answer refused: {0} (try --no-options)")]
    BadOption(String),
    #[error("protocol violation by the server: {0}")]
    Protocol(String),
    #[error("server sent more than {limit} bytes ({why}): transfer stopped")]
    TooLarge { limit: u64, why: &'static str },
    #[error("server announced tsize {announced} but sent {got} bytes")]
    SizeMismatch { announced: u64, got: u64 },
    #[error("nothing is listening on {0} (ICMP port unreachable): is the TFTP server running?")]
    PortUnreachable(SocketAddr),
    #[error("interrupted by {}", crate::sys::signal_name(*.0))]
    Interrupted(i32),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Where downloaded bytes go. A method that fails stops the transfer,
/// and the server is told (ERROR 3 for a full disk, else ERROR 0).
pub trait Sink {
    /// Take `data`, the next bytes of the file.
    ///
    /// # Errors
    /// The local write failed.
    fn write(&mut self, data: &[u8]) -> std::io::Result<()>;
    /// Every byte is in: commit (a file is renamed into place here, before
    /// the dally).
    ///
    /// # Errors
    /// The file could not be committed.
    fn complete(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    /// The datagrams this data caused (its ACK) have gone out: a good
    /// moment for slow work, such as writing buffered data to disk, that
    /// should not delay the ACK. `lull`: the server turns around now (the
    /// ACK asked for the next block or window); otherwise more blocks of
    /// the window are due at once, and only a large backlog should go.
    ///
    /// # Errors
    /// The local write failed.
    fn idle(&mut self, lull: bool) -> std::io::Result<()> {
        let _ = lull;
        Ok(())
    }
    /// [`write`](Self::write) then [`idle`](Self::idle), for data whose
    /// answer has gone out already. A sink that would write `data` out at
    /// this idle anyway may write it from where it lies, sparing the copy
    /// into its buffer (a 64 KiB block's).
    ///
    /// # Errors
    /// The local write failed.
    fn write_idle(&mut self, data: &[u8], lull: bool) -> std::io::Result<()> {
        self.write(data)?;
        self.idle(lull)
    }
}

impl Sink for Vec<u8> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.extend_from_slice(data);
        Ok(())
    }
}

/// Where uploaded bytes come from. A failed read stops the transfer, and
/// the server is told.
pub trait Source {
    /// Append up to `max` bytes to `buf`; fewer only at end of file.
    ///
    /// # Errors
    /// The local read failed, or the file changed size ([`SizeChanged`]).
    fn read_block(&mut self, buf: &mut Vec<u8>, max: usize) -> std::io::Result<()>;
}

/// Counters for the final report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Bytes on the wire (before netascii translation).
    pub wire_bytes: u64,
    /// Bytes delivered to (or read from) the local side.
    pub bytes: u64,
    pub blocks: u64,
    /// Packets we sent again after a timeout.
    pub retransmits: u64,
    pub timeouts: u64,
    /// Duplicate DATA (get) or ACKs (put) received and ignored.
    pub duplicates: u64,
    /// Datagrams from other addresses, answered with ERROR 5.
    pub strangers: u64,
    /// Requests sent again without options after a refusal or silence.
    pub fell_back: bool,
}

/// Progress of a machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for the first answer.
    Requesting,
    Transferring,
    /// All data is in (get: delivered; the file can be committed); staying
    /// to re-ACK a repeated final DATA.
    Dallying,
    Done,
}

/// Datagrams the driver must send, drained after every call (also after
/// an error: a machine that gives up queues its ERROR first).
pub type Outbox = Vec<(SocketAddr, Datagram)>;

/// Opcode and block number before a DATA packet's payload.
const DATA_HEADER: usize = 4;

/// A datagram to send. An upload's DATA packets are kept for a resend
/// and go out from the same bytes: the outbox shares them with the
/// window instead of copying each block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram(std::rc::Rc<Vec<u8>>);

impl From<Vec<u8>> for Datagram {
    fn from(bytes: Vec<u8>) -> Self {
        Datagram(std::rc::Rc::new(bytes))
    }
}

impl std::ops::Deref for Datagram {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for Datagram {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Datagram {
    /// The bytes back, once nothing else holds them (for reuse).
    fn reclaim(self) -> Option<Vec<u8>> {
        std::rc::Rc::try_unwrap(self.0).ok()
    }
}

/// The RRQ (or with `write`, WRQ) for `cfg`, with its options when
/// `options_on`.
fn request_packet(cfg: &Config, options_on: bool, write: bool) -> Vec<u8> {
    let o = &cfg.options;
    let mut opts: Vec<(&str, String)> = Vec::new();
    if options_on {
        if let Some(b) = o.blksize {
            opts.push(("blksize", b.to_string()));
        }
        if let Some(t) = o.timeout {
            opts.push(("timeout", t.to_string()));
        }
        if let Some(t) = o.tsize {
            opts.push(("tsize", t.to_string()));
        }
        if let Some(w) = o.windowsize {
            opts.push(("windowsize", w.to_string()));
        }
    }
    let options: Vec<(&str, &str)> = opts.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (filename, mode) = (cfg.filename.as_str(), cfg.mode.name());
    let p = if write {
        Packet::Wrq {
            filename,
            mode,
            options,
        }
    } else {
        Packet::Rrq {
            filename,
            mode,
            options,
        }
    };
    p.to_vec()
}

/// Largest request we send: "the maximum size of a request packet is 512
/// octets" (RFC 2347); a longer one is cut short or refused by servers.
pub const MAX_REQUEST: usize = 512;

/// Bytes of the request `cfg` makes, with its options or without.
pub fn request_len(cfg: &Config, write: bool, options: bool) -> usize {
    request_packet(cfg, options && !cfg.options.is_empty(), write).len()
}

/// The longest ERROR text we send, in bytes.
pub const MAX_ERROR_TEXT: usize = 255;

/// `s` cut to at most `max` bytes, on a character boundary.
pub fn cut_to(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A local file that changed size while it was sent (`put --tsize`): the
/// server is told only that, the user the whole story.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SizeChanged(pub String);

/// The reason an ERROR gives for a local failure: fixed words, no path.
pub fn local_reason(e: &std::io::Error, write: bool) -> String {
    if e.get_ref()
        .is_some_and(<dyn std::error::Error + Send + Sync>::is::<SizeChanged>)
    {
        return "local file changed size".into();
    }
    let op = if write { "write" } else { "read" };
    format!("local {op} failed: {}", e.kind())
}

/// Shared plumbing of both directions.
#[derive(Debug)]
struct Common {
    cfg: Config,
    server: SocketAddr,
    tid: Option<SocketAddr>,
    options_on: bool,
    neg: Negotiated,
    tries: u32,
    stats: Stats,
    outbox: Outbox,
    /// The server's end of a transfer: the peer is a client, its TID known
    /// from its request.
    serving: bool,
    /// What a server sends again while the client has not started: its
    /// OACK. A client sends its request instead.
    opening: Option<Vec<u8>>,
}

impl Common {
    fn new(cfg: Config, server: SocketAddr) -> Common {
        let options_on = !cfg.options.is_empty();
        Common {
            cfg,
            server,
            tid: None,
            options_on,
            neg: Negotiated::defaults(),
            tries: 0,
            stats: Stats::default(),
            outbox: Vec::new(),
            serving: false,
            opening: None,
        }
    }

    /// The server's end of a transfer with `client`, options agreed as
    /// `neg`; `oack` is sent first (and again on timeouts) when options
    /// were agreed.
    fn serving(cfg: Config, client: SocketAddr, neg: Negotiated, oack: Option<Vec<u8>>) -> Common {
        let mut c = Common::new(cfg, client);
        c.options_on = false;
        c.tid = Some(client);
        c.neg = neg;
        c.serving = true;
        c.opening = oack;
        c
    }

    fn request(&mut self, write: bool) {
        let bytes = match &self.opening {
            Some(oack) => oack.clone(),
            None => request_packet(&self.cfg, self.options_on, write),
        };
        self.outbox.push((self.server, bytes.into()));
    }

    fn send(&mut self, bytes: impl Into<Datagram>) {
        let to = self.tid.unwrap_or(self.server);
        self.outbox.push((to, bytes.into()));
    }

    fn error_to(&mut self, to: SocketAddr, code: ErrorCode, message: &str) {
        let message = cut_to(message, MAX_ERROR_TEXT);
        self.outbox
            .push((to, Packet::Error { code, message }.to_vec().into()));
    }

    /// Give up: tell the server why, and return the error.
    fn abort(&mut self, code: ErrorCode, message: &str, err: TftpError) -> TftpError {
        let to = self.tid.unwrap_or(self.server);
        self.error_to(to, code, message);
        err
    }

    /// Stop on our side (a local failure, a signal): tell the server, once
    /// it has a transfer ID, with ERROR `code` and `message`.
    fn give_up(&mut self, code: ErrorCode, message: &str) {
        if let Some(tid) = self.tid {
            self.error_to(tid, code, message);
        }
    }

    /// A local read or write failed: ERROR 3 when the disk is full, else
    /// ERROR 0 with a fixed reason (never a local path: the details stay
    /// in the local error message).
    fn local_failure(&mut self, e: &std::io::Error, write: bool) {
        use std::io::ErrorKind::{QuotaExceeded, StorageFull};
        if matches!(e.kind(), StorageFull | QuotaExceeded) {
            let who = if self.serving { "server" } else { "client" };
            self.give_up(ErrorCode::DiskFull, &format!("{who}'s disk is full"));
        } else {
            self.give_up(ErrorCode::NotDefined, &local_reason(e, write));
        }
    }

    /// Check the source of a datagram. `Ok(true)`: from our server (the TID
    /// is locked now if it was not); `Ok(false)`: a stranger, answered.
    fn accept_source(&mut self, from: SocketAddr) -> bool {
        match self.tid {
            Some(tid) if tid == from => true,
            None if from.ip() == self.server.ip() => {
                self.tid = Some(from);
                true
            }
            _ => {
                self.stats.strangers += 1;
                self.error_to(from, ErrorCode::UnknownTid, "Unknown transfer ID");
                false
            }
        }
    }

    /// Parse a datagram from the server; an unparsable one ends the
    /// transfer with ERROR 4.
    fn parse<'a>(&mut self, bytes: &'a [u8]) -> Result<Packet<'a>, TftpError> {
        Packet::parse(bytes).map_err(|e| {
            self.abort(
                ErrorCode::IllegalOperation,
                "malformed packet",
                TftpError::Protocol(format!("unparsable packet ({e})")),
            )
        })
    }

    /// ERROR 8 to our request with options: forget the TID it came from and
    /// ask again without options. Returns whether it did.
    fn refused_options(&mut self, code: ErrorCode, write: bool) -> bool {
        if code != ErrorCode::OptionRefused {
            return false;
        }
        let tid = self.tid.take();
        let retried = self.fall_back(write);
        if !retried {
            self.tid = tid;
        }
        retried
    }

    /// No answer to our request: send it again, or, when the tries are used
    /// up, once more without options (if it had any), or give up.
    fn request_again(&mut self, write: bool) -> Result<(), TftpError> {
        match self.next_try() {
            Ok(()) => {
                self.request(write);
                Ok(())
            }
            Err(_) if self.fall_back(write) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// How long to wait now: the timeout, doubled per retry, up to 4x.
    fn wait(&self) -> Duration {
        self.cfg.timeout * (1u32 << self.tries.min(2))
    }

    /// One more try after a timeout, or the error when the tries are used
    /// up.
    fn next_try(&mut self) -> Result<(), TftpError> {
        self.stats.timeouts += 1;
        if self.tries >= self.cfg.retries {
            let addr = self.tid.unwrap_or(self.server);
            return Err(TftpError::Timeout {
                addr,
                tries: self.tries + 1,
            });
        }
        self.tries += 1;
        self.stats.retransmits += 1;
        Ok(())
    }

    /// Validate an OACK against what we asked. Every option must have been
    /// asked for, and answered within what we asked.
    fn take_oack(&mut self, options: &[(&str, &str)], write: bool) -> Result<(), TftpError> {
        if !self.options_on {
            return Err(self.abort(
                ErrorCode::OptionRefused,
                "no options were requested",
                TftpError::BadOption("OACK to a request without options".into()),
            ));
        }
        let asked = self.cfg.options;
        let mut neg = Negotiated {
            oack: true,
            ..Negotiated::defaults()
        };
        for (k, v) in options {
            let key = k.to_ascii_lowercase();
            let num = v.parse::<u64>().ok();
            let bad = match (key.as_str(), num) {
                ("blksize", Some(n)) => match asked.blksize {
                    Some(a) if (8..=u64::from(a)).contains(&n) => {
                        #[allow(
                            clippy::cast_possible_truncation,
                            reason = "n <= a, a u16: checked by the guard"
                        )]
                        let n = n as u16;
                        neg.blksize = n;
                        None
                    }
                    Some(a) => Some(format!("blksize {n} (asked {a}; must be 8..={a})")),
                    None => Some(format!("blksize {n} was never asked for")),
                },
                ("windowsize", Some(n)) => match asked.windowsize {
                    Some(a) if (1..=u64::from(a)).contains(&n) => {
                        #[allow(
                            clippy::cast_possible_truncation,
                            reason = "n <= a, a u16: checked by the guard"
                        )]
                        let n = n as u16;
                        neg.windowsize = n;
                        None
                    }
                    Some(a) => Some(format!("windowsize {n} (asked {a}; must be 1..={a})")),
                    None => Some(format!("windowsize {n} was never asked for")),
                },
                ("timeout", Some(n)) => match asked.timeout {
                    Some(a) if n == u64::from(a) => {
                        neg.timeout = Some(a);
                        None
                    }
                    Some(a) => Some(format!("timeout {n} (asked {a}; RFC 2349 wants it echoed)")),
                    None => Some(format!("timeout {n} was never asked for")),
                },
                ("tsize", Some(n)) => match asked.tsize {
                    Some(a) if !write || n == a => {
                        neg.tsize = Some(n);
                        None
                    }
                    Some(a) => Some(format!("tsize {n} (we send {a})")),
                    None => Some(format!("tsize {n} was never asked for")),
                },
                (_, None)
                    if ["blksize", "windowsize", "timeout", "tsize"].contains(&key.as_str()) =>
                {
                    Some(format!("{key} '{v}' is not a number"))
                }
                _ => Some(format!("option '{k}' was never asked for")),
            };
            if let Some(why) = bad {
                return Err(self.abort(
                    ErrorCode::OptionRefused,
                    "option answer refused",
                    TftpError::BadOption(why),
                ));
            }
        }
        self.neg = neg;
        Ok(())
    }

    /// ERROR 8 (or silence) after a request with options: ask again once,
    /// plainly. Returns whether it did.
    fn fall_back(&mut self, write: bool) -> bool {
        if !(self.cfg.fallback && self.options_on && self.tid.is_none()) {
            return false;
        }
        self.options_on = false;
        self.stats.fell_back = true;
        self.tries = 0;
        self.request(write);
        true
    }

    /// The internal block number that the wire number `n` stands for,
    /// looking forward from `base` (the last block done), within `span`.
    fn unwrap_block(base: u64, n: u16, span: u64, wrap_to_one: bool) -> Option<u64> {
        Self::first_in(base + 1, base + span, n, wrap_to_one)
    }

    /// The first block in `lo..=hi` whose wire number is `n`. Arithmetic,
    /// not a search: a window can span 65535 blocks, and a scan per
    /// datagram would let a server make every packet cost that much.
    fn first_in(lo: u64, hi: u64, n: u16, wrap_to_one: bool) -> Option<u64> {
        if lo > hi {
            return None;
        }
        let b = if wrap_to_one {
            // Wrapping to 1, wire numbers run 1..=65535 over and over from
            // block 1 on (below the wrap too: block b is wire b there);
            // only block 0 is wire 0.
            if n == 0 {
                return (lo == 0).then_some(0);
            }
            let lo = lo.max(1);
            let at_lo = u64::from(Self::wire(lo, true));
            lo + (u64::from(n) + 65535 - at_lo) % 65535
        } else {
            lo + u64::from(n.wrapping_sub(Self::wire(lo, false)))
        };
        (b <= hi).then_some(b)
    }

    #[allow(
        clippy::cast_possible_truncation,
        reason = "TFTP block numbers wrap mod 2^16 (or 65535 to 1); reduced first"
    )]
    fn wire(b: u64, wrap_to_one: bool) -> u16 {
        if wrap_to_one && b > 65535 {
            ((b - 1) % 65535 + 1) as u16
        } else {
            (b & 0xffff) as u16
        }
    }
}

/// A download (RRQ).
#[derive(Debug)]
pub struct Download {
    c: Common,
    phase: Phase,
    /// Last block delivered, in order.
    done: u64,
    /// Last block acknowledged.
    acked: u64,
    /// A re-ACK for the current gap was sent already (windowed mode).
    gap_acked: bool,
    /// Re-ACKs for duplicates of the block last acknowledged (reset by a
    /// new block).
    reacks: u32,
    wrap_to_one: bool,
    decoder: Option<netascii::Decoder>,
    scratch: Vec<u8>,
    /// Octet data of the datagram just handled, not written yet.
    deliver: Option<Deliver>,
}

/// An action for the driver: write bytes `a..b` of the datagram just
/// handled to the sink. Octet data is a piece of the datagram itself, so
/// the session only names it; the driver copies it once the ACK is out,
/// and the copy (up to 64 KiB) overlaps the server's turnaround instead of
/// delaying the ACK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deliver(pub std::ops::Range<usize>);

impl Download {
    pub fn new(cfg: Config, server: SocketAddr) -> Download {
        let decoder = (cfg.mode == Mode::Netascii).then(netascii::Decoder::default);
        Download {
            c: Common::new(cfg, server),
            phase: Phase::Requesting,
            done: 0,
            acked: 0,
            gap_acked: false,
            reacks: 0,
            wrap_to_one: false,
            decoder,
            scratch: Vec::new(),
            deliver: None,
        }
    }

    /// The server's end of a WRQ from `client`, options agreed as `neg`:
    /// [`start`](Self::start) sends `oack`, or ACK 0 without one.
    pub fn serving(
        cfg: Config,
        client: SocketAddr,
        neg: Negotiated,
        oack: Option<Vec<u8>>,
    ) -> Download {
        let mut d = Download::new(cfg, client);
        d.c = Common::serving(d.c.cfg.clone(), client, neg, oack);
        d.phase = Phase::Transferring;
        d
    }

    /// Queue the RRQ (serving: the OACK or ACK 0).
    pub fn start(&mut self) {
        if !self.c.serving {
            self.c.request(false);
        } else if let Some(oack) = self.c.opening.clone() {
            self.c.send(oack);
        } else {
            self.ack(0);
        }
    }

    pub fn outbox(&mut self) -> &mut Outbox {
        &mut self.c.outbox
    }
    pub fn phase(&self) -> Phase {
        self.phase
    }
    pub fn wait(&self) -> Duration {
        match self.phase {
            Phase::Dallying => self.c.cfg.dally,
            _ => self.c.wait(),
        }
    }
    pub fn stats(&self) -> Stats {
        self.c.stats
    }
    pub fn negotiated(&self) -> Negotiated {
        self.c.neg
    }
    /// The server's transfer ID once locked, else the address asked.
    pub fn peer(&self) -> SocketAddr {
        self.c.tid.unwrap_or(self.c.server)
    }

    /// A local write failed: tell the server why (see `Common::local_failure`).
    pub fn local_failure(&mut self, e: &std::io::Error) {
        self.c.local_failure(e, true);
    }

    /// Stopped by `signal`: tell the server.
    pub fn cancel(&mut self, signal: i32) {
        let why = format!("client interrupted by {}", crate::sys::signal_name(signal));
        self.stop(&why);
    }

    /// End the transfer here, telling the peer `why` (ERROR 0).
    pub fn stop(&mut self, why: &str) {
        self.c.give_up(ErrorCode::NotDefined, why);
        self.phase = Phase::Done;
    }

    /// The octet data the last [`handle`](Self::handle) delivered, to
    /// write to the sink now.
    pub fn take_delivery(&mut self) -> Option<Deliver> {
        self.deliver.take()
    }

    /// Blocks still to come before we acknowledge: 1 in lock-step, and at
    /// the last block of a window.
    pub fn blocks_to_ack(&self) -> u64 {
        let window = u64::from(self.c.neg.windowsize).max(1);
        window.saturating_sub(self.done - self.acked).max(1)
    }

    fn ack(&mut self, block: u64) {
        self.c
            .send(tftp::ack(Common::wire(block, self.wrap_to_one)).to_vec());
        self.acked = block;
    }

    /// The most bytes the server may send: the lower of --max-size and
    /// the tsize it announced (a server that said 16 bytes and goes on
    /// sending is stopped at 16, not at --max-size).
    fn limit(&self) -> Option<(u64, &'static str)> {
        match (self.c.cfg.max_size, self.c.neg.tsize) {
            (Some(m), Some(t)) if t < m => Some((t, "the tsize it announced")),
            (Some(m), _) => Some((m, "--max-size")),
            (None, Some(t)) => Some((t, "the tsize it announced")),
            (None, None) => None,
        }
    }

    /// Handle a datagram and write everything it delivers to `sink`
    /// ([`handle`](Self::handle) with its [`Deliver`] done at once).
    ///
    /// # Errors
    /// The transfer is over: the server failed it or broke the protocol
    /// (the ERROR that tells it so is queued), or `sink` failed.
    pub fn on_datagram(
        &mut self,
        from: SocketAddr,
        bytes: &[u8],
        sink: &mut dyn Sink,
    ) -> Result<(), TftpError> {
        let r = self.handle(from, bytes, sink);
        // Delivered is written, even when the session failed after it.
        if let Some(Deliver(range)) = self.take_delivery() {
            sink.write(&bytes[range])?;
        }
        r
    }

    /// Handle a datagram. Data that is not a piece of it (netascii's
    /// translation) goes to `sink` at once; octet data is left as a
    /// [`Deliver`] action to [`take_delivery`](Self::take_delivery), once
    /// the outbox is out. Take it even when this fails: a tsize mismatch
    /// is found after the last block was delivered.
    ///
    /// # Errors
    /// As [`on_datagram`](Self::on_datagram)'s.
    pub fn handle(
        &mut self,
        from: SocketAddr,
        bytes: &[u8],
        sink: &mut dyn Sink,
    ) -> Result<(), TftpError> {
        debug_assert!(self.deliver.is_none(), "the last delivery not taken");
        if self.phase == Phase::Done || !self.c.accept_source(from) {
            return Ok(());
        }
        if self.phase == Phase::Dallying {
            // The file is complete and committed: only a repeated final
            // DATA matters now (to re-ACK it); anything else is ignored.
            match Packet::parse(bytes) {
                Ok(Packet::Data { block, data })
                    if data.len() <= usize::from(self.c.neg.blksize) =>
                {
                    return self.on_data(block, data, bytes.len() - data.len(), sink);
                }
                // The server says it is over: no need to stay.
                Ok(Packet::Error { .. }) => self.phase = Phase::Done,
                _ => {}
            }
            return Ok(());
        }
        match self.c.parse(bytes)? {
            Packet::Error { code, message } => {
                if self.phase == Phase::Requesting && self.c.refused_options(code, false) {
                    return Ok(());
                }
                Err(TftpError::Server {
                    code,
                    message: message.to_string(),
                })
            }
            Packet::Oack { options } if self.phase == Phase::Requesting => {
                self.c.take_oack(&options, false)?;
                if let (Some(t), Some((limit, why))) = (
                    self.c.neg.tsize,
                    self.c.cfg.max_size.map(|m| (m, "--max-size")),
                ) && t > limit
                {
                    return Err(self.c.abort(
                        ErrorCode::DiskFull,
                        "file larger than the client allows",
                        TftpError::TooLarge { limit, why },
                    ));
                }
                self.phase = Phase::Transferring;
                self.c.tries = 0;
                self.ack(0);
                Ok(())
            }
            Packet::Oack { .. } if self.c.serving => Err(self.c.abort(
                ErrorCode::IllegalOperation,
                "unexpected packet",
                TftpError::Protocol("sent an OACK to a server".into()),
            )),
            Packet::Oack { .. } => {
                // A repeated OACK: our ACK 0 was lost; say it again.
                if self.done == 0 {
                    self.ack(0);
                }
                Ok(())
            }
            Packet::Data { block, data } => {
                self.on_data(block, data, bytes.len() - data.len(), sink)
            }
            _ => Err(self.c.abort(
                ErrorCode::IllegalOperation,
                "unexpected packet",
                TftpError::Protocol("sent a request or an ACK where DATA was due".into()),
            )),
        }
    }

    /// DATA `wire_block`; `data` is bytes `at..` of the datagram.
    fn on_data(
        &mut self,
        wire_block: u16,
        data: &[u8],
        at: usize,
        sink: &mut dyn Sink,
    ) -> Result<(), TftpError> {
        if self.phase == Phase::Requesting {
            // DATA 1 straight away: the server ignored our options.
            self.phase = Phase::Transferring;
            self.c.tries = 0;
        }
        let blksize = usize::from(self.c.neg.blksize);
        if data.len() > blksize {
            return Err(self.c.abort(
                ErrorCode::IllegalOperation,
                "DATA larger than blksize",
                TftpError::Protocol(format!(
                    "DATA of {} bytes with blksize {blksize}",
                    data.len()
                )),
            ));
        }
        let window = u64::from(self.c.neg.windowsize);
        let expected = self.done + 1;
        let block = if !self.wrap_to_one && window <= 1 && expected == 65536 && wire_block == 1 {
            // After 65535 this server said 1, not 0: it wraps to 1. Only in
            // lock-step: with a window, a lost block 0 followed by 1 looks
            // the same (and servers that window wrap to 0).
            self.wrap_to_one = true;
            Some(expected)
        } else {
            Common::unwrap_block(self.done, wire_block, window.max(1) + 1, self.wrap_to_one)
        };
        match block {
            Some(b) if b == expected && self.phase == Phase::Transferring => {
                let wire_len = data.len() as u64;
                if let Some((limit, why)) = self.limit()
                    && self.c.stats.wire_bytes + wire_len > limit
                {
                    return Err(self.c.abort(
                        ErrorCode::DiskFull,
                        "more data than announced",
                        TftpError::TooLarge { limit, why },
                    ));
                }
                self.deliver(data, at, sink)?;
                self.c.stats.wire_bytes += wire_len;
                self.c.stats.blocks += 1;
                self.done = b;
                self.c.tries = 0;
                self.gap_acked = false;
                self.reacks = 0;
                let last = data.len() < blksize;
                if last {
                    if let Some(d) = &mut self.decoder {
                        self.scratch.clear();
                        d.finish(&mut self.scratch);
                        sink.write(&self.scratch)?;
                        self.c.stats.bytes += self.scratch.len() as u64;
                    }
                    if let Some(t) = self.c.neg.tsize
                        && t != self.c.stats.wire_bytes
                    {
                        self.ack(b);
                        return Err(TftpError::SizeMismatch {
                            announced: t,
                            got: self.c.stats.wire_bytes,
                        });
                    }
                    self.ack(b);
                    self.phase = if self.c.cfg.dally.is_zero() {
                        Phase::Done
                    } else {
                        Phase::Dallying
                    };
                } else if b - self.acked >= window {
                    self.ack(b);
                }
                Ok(())
            }
            Some(_) if self.phase == Phase::Transferring => {
                // A block beyond the next one: one went missing. Say where
                // we are, once per gap (RFC 7440).
                if !self.gap_acked {
                    self.gap_acked = true;
                    self.ack(self.done);
                }
                Ok(())
            }
            _ => {
                // An old block: re-ACK if it is the one last acknowledged
                // (the sender missed our ACK); never deliver it again.
                // A client answers once per block: a server with the
                // Sorcerer's Apprentice bug answers every ACK with DATA,
                // and re-ACKing every copy would feed that loop; our own
                // timeout re-ACKs if needed. Serving, or dallying, each
                // copy is answered, up to the retry limit: the sender
                // resends only on its own timeout, which may be far
                // shorter than ours, and each copy left unanswered costs
                // it a try.
                self.c.stats.duplicates += 1;
                let limit = if self.c.serving || self.phase == Phase::Dallying {
                    self.c.cfg.retries.max(1)
                } else {
                    1
                };
                if self.reacks < limit && Some(self.acked) == self.recent(wire_block) {
                    self.reacks += 1;
                    self.ack(self.acked);
                }
                Ok(())
            }
        }
    }

    /// The internal number of an already-delivered block, if `wire` names
    /// one of the last window's.
    fn recent(&self, wire: u16) -> Option<u64> {
        let span = u64::from(self.c.neg.windowsize).max(1) + 1;
        Common::first_in(
            self.done.saturating_sub(span),
            self.done,
            wire,
            self.wrap_to_one,
        )
    }

    /// Deliver `data`, bytes `at..` of the datagram: octet data as a
    /// [`Deliver`] action, netascii's translation to `sink` at once.
    fn deliver(&mut self, data: &[u8], at: usize, sink: &mut dyn Sink) -> Result<(), TftpError> {
        match &mut self.decoder {
            None => {
                self.deliver = Some(Deliver(at..at + data.len()));
                self.c.stats.bytes += data.len() as u64;
            }
            Some(d) => {
                self.scratch.clear();
                d.decode(data, &mut self.scratch);
                sink.write(&self.scratch)?;
                self.c.stats.bytes += self.scratch.len() as u64;
            }
        }
        Ok(())
    }

    /// Nothing arrived within `wait()`.
    ///
    /// # Errors
    /// The tries are used up.
    pub fn on_timeout(&mut self) -> Result<(), TftpError> {
        match self.phase {
            Phase::Done => Ok(()),
            Phase::Dallying => {
                self.phase = Phase::Done;
                Ok(())
            }
            Phase::Requesting => self.c.request_again(false),
            Phase::Transferring => {
                self.c.next_try()?;
                match &self.c.opening {
                    // Serving, nothing in yet: the OACK was lost, or the
                    // client's first DATA.
                    Some(oack) if self.done == 0 => self.c.send(oack.clone()),
                    _ => self.ack(self.done),
                }
                self.reacks = 0;
                Ok(())
            }
        }
    }
}

/// An upload (WRQ).
#[derive(Debug)]
pub struct Upload {
    c: Common,
    phase: Phase,
    /// Highest block the server acknowledged.
    acked: u64,
    /// The DATA packets sent, from block `acked + 1` on.
    window: std::collections::VecDeque<Datagram>,
    /// Internal number of the final (short) block once read.
    last_block: Option<u64>,
    eof: bool,
    encoder_buf: Vec<u8>,
    pending_wire: Vec<u8>,
    /// The block after the window, read ahead (`read_ahead`): a DATA
    /// packet but for its block number.
    ahead: Option<Vec<u8>>,
    /// A packet the window is done with, to read the next block into: no
    /// allocation per block.
    spare: Option<Vec<u8>>,
}

impl Upload {
    pub fn new(cfg: Config, server: SocketAddr) -> Upload {
        Upload {
            c: Common::new(cfg, server),
            phase: Phase::Requesting,
            acked: 0,
            window: std::collections::VecDeque::new(),
            last_block: None,
            eof: false,
            encoder_buf: Vec::new(),
            pending_wire: Vec::new(),
            ahead: None,
            spare: None,
        }
    }

    pub fn start(&mut self) {
        self.c.request(true);
    }

    /// The server's end of an RRQ from `client`, options agreed as `neg`:
    /// [`open`](Self::open) sends `oack` and waits for ACK 0, or sends
    /// DATA 1 at once without one.
    pub fn serving(
        cfg: Config,
        client: SocketAddr,
        neg: Negotiated,
        oack: Option<Vec<u8>>,
    ) -> Upload {
        let mut u = Upload::new(cfg, client);
        u.c = Common::serving(u.c.cfg.clone(), client, neg, oack);
        u
    }

    /// Serving: the first answer to the RRQ, the OACK or DATA 1.
    ///
    /// # Errors
    /// `src` failed.
    pub fn open(&mut self, src: &mut dyn Source) -> Result<(), TftpError> {
        if self.c.opening.is_some() {
            self.c.request(false);
            Ok(())
        } else {
            self.begin(src)
        }
    }

    pub fn outbox(&mut self) -> &mut Outbox {
        &mut self.c.outbox
    }
    pub fn phase(&self) -> Phase {
        self.phase
    }
    pub fn wait(&self) -> Duration {
        self.c.wait()
    }
    pub fn stats(&self) -> Stats {
        self.c.stats
    }
    pub fn negotiated(&self) -> Negotiated {
        self.c.neg
    }
    pub fn peer(&self) -> SocketAddr {
        self.c.tid.unwrap_or(self.c.server)
    }

    /// A local read failed: tell the server why (see `Common::local_failure`).
    pub fn local_failure(&mut self, e: &std::io::Error) {
        self.c.local_failure(e, false);
    }

    /// Stopped by `signal`: tell the server.
    pub fn cancel(&mut self, signal: i32) {
        let why = format!("client interrupted by {}", crate::sys::signal_name(signal));
        self.stop(&why);
    }

    /// End the transfer here, telling the peer `why` (ERROR 0).
    pub fn stop(&mut self, why: &str) {
        self.c.give_up(ErrorCode::NotDefined, why);
        self.phase = Phase::Done;
    }

    /// Read the next block into a DATA packet whose block number is
    /// still to be set (netascii-encoded if asked).
    fn read_block(&mut self, src: &mut dyn Source) -> std::io::Result<Vec<u8>> {
        let blksize = usize::from(self.c.neg.blksize);
        let mut pkt = self.spare.take().unwrap_or_default();
        pkt.clear();
        pkt.reserve(DATA_HEADER + blksize);
        pkt.extend_from_slice(&[0; DATA_HEADER]);
        if self.c.cfg.mode == Mode::Octet {
            // Counted when it joins the window (it may be read ahead).
            src.read_block(&mut pkt, blksize)?;
            return Ok(pkt);
        }
        while self.pending_wire.len() < blksize && !self.eof {
            self.encoder_buf.clear();
            src.read_block(&mut self.encoder_buf, blksize)?;
            self.eof = self.encoder_buf.len() < blksize;
            self.c.stats.bytes += self.encoder_buf.len() as u64;
            netascii::encode(&self.encoder_buf, &mut self.pending_wire);
        }
        let n = self.pending_wire.len().min(blksize);
        pkt.extend(self.pending_wire.drain(..n));
        Ok(pkt)
    }

    /// Send blocks `acked+1 ..= acked+windowsize`: those read already,
    /// then new ones. A client reads and queues them all now; serving, at
    /// least one, and [`pump`](Self::pump) queues the rest one by one, so
    /// the driver can send each as soon as it is read (the client works
    /// on the first block while the server reads the next).
    fn send_window(&mut self, src: &mut dyn Source) -> Result<(), TftpError> {
        for i in 0..self.window.len() {
            let pkt = self.window[i].clone();
            self.c.send(pkt);
        }
        if !self.c.serving {
            while self.push_block(src)? {}
        } else if self.window.is_empty() {
            self.push_block(src)?;
        }
        Ok(())
    }

    /// Read the next block into the window and queue it, if the window
    /// has room and the file has more. Returns whether it did.
    fn push_block(&mut self, src: &mut dyn Source) -> Result<bool, TftpError> {
        let w = usize::from(self.c.neg.windowsize.max(1));
        let read_all = self
            .last_block
            .is_some_and(|l| self.acked + self.window.len() as u64 >= l);
        if self.window.len() >= w || read_all {
            return Ok(false);
        }
        let mut pkt = match self.ahead.take() {
            Some(p) => p,
            None => self.read_block(src)?,
        };
        let len = pkt.len() - DATA_HEADER;
        if self.c.cfg.mode == Mode::Octet {
            self.c.stats.bytes += len as u64;
        }
        let n = self.acked + self.window.len() as u64 + 1;
        if len < usize::from(self.c.neg.blksize) {
            self.last_block = Some(n);
        }
        self.c.stats.wire_bytes += len as u64;
        tftp::data_header(&mut pkt, Common::wire(n, false));
        let pkt = Datagram::from(pkt);
        self.window.push_back(pkt.clone());
        self.c.send(pkt);
        Ok(true)
    }

    /// Serving: queue the window's next block (see `send_window`); call
    /// until it returns false, sending the outbox after each.
    ///
    /// # Errors
    /// `src` failed (the transfer is over: see `local_failure`).
    pub fn pump(&mut self, src: &mut dyn Source) -> Result<bool, TftpError> {
        if self.phase != Phase::Transferring {
            return Ok(false);
        }
        self.push_block(src)
    }

    /// Read the block after the window now, while the peer works on the
    /// window just sent, so that its ACK is answered without a read in
    /// between (octet mode). Call once the outbox is out.
    ///
    /// # Errors
    /// `src` failed (the transfer is over: see `local_failure`).
    pub fn read_ahead(&mut self, src: &mut dyn Source) -> Result<(), TftpError> {
        // Only once the block size is settled: a client learns it from
        // the OACK; a server has agreed it before it answers.
        let settled = self.phase == Phase::Transferring
            || (self.c.serving && self.phase == Phase::Requesting);
        if self.c.cfg.mode != Mode::Octet
            || !settled
            || self.ahead.is_some()
            || self.last_block.is_some()
        {
            return Ok(());
        }
        self.ahead = Some(self.read_block(src)?);
        Ok(())
    }

    /// Handle a datagram; the blocks it lets go out are read from `src`.
    ///
    /// # Errors
    /// The transfer is over: the server failed it or broke the protocol
    /// (the ERROR that tells it so is queued), or `src` failed.
    pub fn on_datagram(
        &mut self,
        from: SocketAddr,
        bytes: &[u8],
        src: &mut dyn Source,
    ) -> Result<(), TftpError> {
        if self.phase == Phase::Done || !self.c.accept_source(from) {
            return Ok(());
        }
        match self.c.parse(bytes)? {
            Packet::Error { code, message } => {
                if self.phase == Phase::Requesting && self.c.refused_options(code, true) {
                    return Ok(());
                }
                Err(TftpError::Server {
                    code,
                    message: message.to_string(),
                })
            }
            Packet::Oack { .. } if self.c.serving => Err(self.c.abort(
                ErrorCode::IllegalOperation,
                "unexpected packet",
                TftpError::Protocol("sent an OACK to a server".into()),
            )),
            Packet::Oack { options } if self.phase == Phase::Requesting => {
                self.c.take_oack(&options, true)?;
                self.begin(src)
            }
            Packet::Ack { block: 0 } if self.phase == Phase::Requesting => {
                if self.c.options_on {
                    // Options ignored: plain RFC 1350.
                    self.c.neg = Negotiated::defaults();
                }
                self.begin(src)
            }
            Packet::Ack { block } if self.phase == Phase::Transferring => {
                let sent = self.window.len() as u64;
                let Some(b) = Common::unwrap_block(self.acked, block, sent, false) else {
                    // A duplicate ACK: never answered with DATA (no
                    // Sorcerer's Apprentice); a timeout resends.
                    self.c.stats.duplicates += 1;
                    return Ok(());
                };
                let advanced = b - self.acked;
                #[allow(
                    clippy::cast_possible_truncation,
                    reason = "advanced <= sent, the window's length (per block: no check)"
                )]
                for done in self.window.drain(..advanced as usize) {
                    // Sent by now (the driver empties the outbox before
                    // it reads again): reuse it for the next block.
                    if let Some(p) = done.reclaim() {
                        self.spare = Some(p);
                    }
                }
                self.acked = b;
                self.c.stats.blocks += advanced;
                self.c.tries = 0;
                if self.last_block == Some(b) {
                    self.phase = Phase::Done;
                    return Ok(());
                }
                // RFC 7440: an ACK inside the window moves its start there;
                // the rest is sent again from that point.
                self.send_window(src)
            }
            Packet::Ack { .. } | Packet::Oack { .. } => {
                self.c.stats.duplicates += 1;
                Ok(())
            }
            _ => Err(self.c.abort(
                ErrorCode::IllegalOperation,
                "unexpected packet",
                TftpError::Protocol("sent DATA or a request where an ACK was due".into()),
            )),
        }
    }

    fn begin(&mut self, src: &mut dyn Source) -> Result<(), TftpError> {
        self.phase = Phase::Transferring;
        self.c.tries = 0;
        self.send_window(src)
    }

    /// Nothing arrived within `wait()`: send the window again.
    ///
    /// # Errors
    /// The tries are used up, or `src` failed.
    pub fn on_timeout(&mut self, src: &mut dyn Source) -> Result<(), TftpError> {
        match self.phase {
            Phase::Done | Phase::Dallying => Ok(()),
            Phase::Requesting => self.c.request_again(true),
            Phase::Transferring => {
                if let Err(e) = self.c.next_try() {
                    // Everything went out; only the confirmation is missing.
                    let all_sent = self
                        .last_block
                        .is_some_and(|l| l == self.acked + self.window.len() as u64);
                    return Err(match e {
                        TftpError::Timeout { addr, tries } if all_sent => {
                            TftpError::FinalAckLost { addr, tries }
                        }
                        e => e,
                    });
                }
                self.send_window(src)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::Common;

    /// What `first_in` computes, by looking at every block.
    fn scan(lo: u64, hi: u64, n: u16, wrap_to_one: bool) -> Option<u64> {
        (lo..=hi).find(|&b| Common::wire(b, wrap_to_one) == n)
    }

    /// Near the places where wire numbers wrap, and anywhere.
    fn start() -> impl Strategy<Value = u64> {
        prop_oneof![
            0u64..10,
            65_530u64..65_540,
            131_065u64..131_075,
            0u64..400_000,
            0u64..(1 << 48),
        ]
    }

    proptest! {
        #[test]
        fn first_in_agrees_with_a_scan(
            lo in start(),
            len in prop_oneof![0u64..4, 0u64..70_000],
            n in prop_oneof![Just(0u16), Just(1u16), Just(65_535u16), any::<u16>()],
            wrap_to_one in any::<bool>(),
        ) {
            let hi = lo + len;
            prop_assert_eq!(Common::first_in(lo, hi, n, wrap_to_one), scan(lo, hi, n, wrap_to_one));
        }
    }

    #[test]
    fn error_texts_are_cut_on_a_character_boundary_within_255_bytes() {
        let long = "é".repeat(300);
        let cut = super::cut_to(&long, super::MAX_ERROR_TEXT);
        assert_eq!(cut.len(), 254, "127 two-byte characters");
        assert_eq!(super::cut_to("abc", 255), "abc");
        assert_eq!(super::cut_to(&"x".repeat(300), 255).len(), 255);
    }

    #[test]
    fn local_failures_give_fixed_reasons_without_paths() {
        let e = std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "/home/someone/secret/file.bin: permission denied",
        );
        assert_eq!(
            super::local_reason(&e, true),
            "local write failed: permission denied"
        );
        let e = std::io::Error::other(super::SizeChanged("/home/x/f.bin shrank".into()));
        assert_eq!(super::local_reason(&e, false), "local file changed size");
    }

    #[test]
    fn first_in_at_the_wraps() {
        // Wrapping to 0: 65535, then 0, then 1.
        assert_eq!(Common::first_in(65_535, 65_537, 0, false), Some(65_536));
        assert_eq!(Common::first_in(65_535, 65_537, 1, false), Some(65_537));
        // Wrapping to 1: 65535, then 1 (no 0 ever again).
        assert_eq!(Common::first_in(65_536, 65_540, 1, true), Some(65_536));
        assert_eq!(Common::first_in(65_536, 200_000, 0, true), None);
        assert_eq!(Common::first_in(65_534, 65_536, 1, true), Some(65_536));
        // A whole window of 65535 blocks: the last one is found at once.
        assert_eq!(Common::first_in(1, 65_535, 65_535, false), Some(65_535));
        assert_eq!(Common::first_in(5, 4, 5, false), None);
    }
}
