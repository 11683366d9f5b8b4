//! Runs a `session` machine over a UDP socket: sends what it queues, feeds
//! it datagrams and timeouts, and reports progress.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use super::session::{Download, Negotiated, Phase, Sink, Source, Stats, TftpError, Upload};
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
}

/// Busy-polling for the server's next packet before going to sleep.
///
/// In lock-step (windowsize 1) every block is a round trip: we send, then
/// wait a few tens of microseconds for the answer. Sleeping through that
/// wait costs a context switch and a wake-up per block, and on a virtual
/// machine whose idle CPUs halt (no guest halt-polling) the wake-up is an
/// inter-processor interrupt through the hypervisor. On the benchmark
/// machine (benches/RESULTS-tftp.md), polling the socket for up to 100 us
/// instead made lock-step transfers 1.7x (64 KiB blocks) to 3.4x (512)
/// faster than sleeping, *and* cheaper in CPU, since the sleep/wake path
/// costs more than the short poll.
///
/// The poll budget adapts the way the kernel's haltpoll governor does: an
/// answer that came soon after we gave up grows it (up to `max`); a wait
/// longer than `max` halves it, down to not polling at all, so a slow or
/// distant server costs almost nothing. With polling off, one wait in 64
/// polls for `max` again (a sleeping wait cannot tell a quick server from
/// a slow one: its length includes our own wake-up); timeouts change
/// nothing, so a lost packet does not turn polling off. When the server shares our CPU,
/// polling only keeps it from running: a round of polls with many
/// involuntary context switches (the kernel preempting us for it) stops
/// polling for a while (longer each time it happens again).
///
/// A windowed transfer polls only for the last block of each window: the
/// one we answer at once, with the ACK the server is waiting for (a few
/// percent faster at windowsize 16 and 64, and less CPU). Polling every
/// block of a window was about 18% faster still against atftpd, but cost
/// a third more CPU than atftp's client: there the server sets the pace,
/// and we would be polling through its send intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusyPoll {
    max: Duration,
    budget: Duration,
    /// The current budget is a probe from zero: a miss goes back to zero.
    probing: bool,
    /// Waits since polling stopped (for the next probe).
    idle: u32,
    /// Polls in the current round.
    round: u32,
    /// Our involuntary context switches when the round began.
    switches: Option<u64>,
    /// Waits left without polling after a round found us sharing a CPU.
    off_for: u32,
    /// How long the next such pause lasts (doubles while it keeps
    /// happening).
    off_next: u32,
    /// Waits the poll answered.
    pub polled: u64,
    /// Waits that went to sleep after all (polling or not).
    pub slept: u64,
}

impl BusyPoll {
    /// Polls are judged in rounds of this many.
    const ROUND: u32 = 32;
    /// More preemptions than this in a round: the server (or something
    /// else) shares our CPU, and polling only keeps it from running.
    const SHARED: u64 = Self::ROUND as u64 / 4;
    /// Waits without polling after that, before trying again; doubled
    /// each time the retry finds the same, up to 64 times this.
    const OFF_FOR: u32 = 1024;
    /// With polling off, one wait in this many polls `max` to see whether
    /// answers are quick again. (A sleeping wait cannot tell: its length
    /// includes our own wake-up, which is what polling saves.)
    const PROBE_EVERY: u32 = 64;

    /// At most `max` per wait; zero turns polling off.
    pub fn new(max: Duration) -> Self {
        BusyPoll {
            max,
            budget: max,
            probing: false,
            idle: 0,
            round: 0,
            switches: None,
            off_for: 0,
            off_next: Self::OFF_FOR,
            polled: 0,
            slept: 0,
        }
    }

    pub fn max(&self) -> Duration {
        self.max
    }

    /// How long to poll at the next wait.
    pub fn budget(&self) -> Duration {
        self.budget
    }

    /// The poll got a datagram.
    pub fn answered(&mut self) {
        self.polled += 1;
        self.round += 1;
        self.probing = false;
    }

    /// The wait slept. `answer`: how long after the start of the wait
    /// (polling included) a datagram came; `None` when none did (a
    /// timeout, an error), which says nothing about how quick answers are.
    pub fn slept(&mut self, answer: Option<Duration>) {
        self.slept += 1;
        if self.max.is_zero() {
            return;
        }
        if self.budget.is_zero() {
            if self.off_for > 0 {
                self.off_for -= 1;
                if self.off_for == 0 {
                    self.resume(self.max / 8, false);
                }
            } else {
                self.idle += 1;
                if self.idle >= Self::PROBE_EVERY {
                    self.resume(self.max, true);
                }
            }
            return;
        }
        self.round += 1;
        let Some(waited) = answer else { return };
        let floor = self.max / 8;
        self.budget = if self.probing {
            Duration::ZERO
        } else if waited <= self.max {
            (self.budget * 2).clamp(floor, self.max)
        } else if self.budget / 2 < floor {
            Duration::ZERO
        } else {
            self.budget / 2
        };
        self.probing = false;
        if self.budget.is_zero() {
            self.idle = 0;
        }
    }

    /// Poll again, from `budget`; preemptions count from here.
    fn resume(&mut self, budget: Duration, probing: bool) {
        self.budget = budget;
        self.probing = probing;
        self.idle = 0;
        self.round = 0;
        self.switches = None;
    }

    /// A round of polls is over (or one is starting): call `end_round`.
    pub fn round_over(&self) -> bool {
        !self.budget.is_zero() && (self.round >= Self::ROUND || self.switches.is_none())
    }

    /// `switches`: our involuntary context switches so far. Many during
    /// the round mean we were preempted while polling: stop for a while.
    pub fn end_round(&mut self, switches: u64) {
        if let Some(before) = self.switches {
            if switches.saturating_sub(before) > Self::SHARED {
                self.budget = Duration::ZERO;
                self.probing = false;
                self.off_for = self.off_next;
                self.off_next = (self.off_next * 2).min(Self::OFF_FOR * 64);
            } else {
                self.off_next = Self::OFF_FOR;
            }
        }
        self.switches = Some(switches);
        self.round = 0;
    }
}

/// Callbacks the transport reports through.
pub struct Hooks<'a> {
    /// Bytes done so far, and the total when known.
    pub progress: &'a mut dyn FnMut(u64, Option<u64>),
    /// With `--verbose`: one line per packet.
    pub trace: Option<&'a mut dyn FnMut(String)>,
}

/// A UDP socket for talking to `server`, with a receive buffer big enough
/// for a whole window (`windowsize x (blksize + 4)` plus headroom: with the
/// default buffer, large windows overflow it and the transfer collapses).
pub fn socket_for(server: SocketAddr, blksize: u16, windowsize: u16) -> io::Result<UdpSocket> {
    let domain = if server.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    let want = usize::from(windowsize.max(1)) * (usize::from(blksize) + 4 + 64) + 256 * 1024;
    // The kernel caps this at net.core.rmem_max; more is a bonus.
    let _ = s.set_recv_buffer_size(want);
    let _ = s.set_send_buffer_size(want);
    crate::sys::set_recv_errors(s.as_fd(), server.is_ipv6())?;
    let any: SocketAddr = if server.is_ipv6() {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    };
    s.bind(&any.into())?;
    Ok(s.into())
}

/// One line describing a packet, for `--verbose`.
pub fn describe(bytes: &[u8]) -> String {
    match Packet::parse(bytes) {
        Ok(Packet::Rrq {
            filename,
            mode,
            options,
        })
        | Ok(Packet::Wrq {
            filename,
            mode,
            options,
        }) => {
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
    fn timeout(&mut self) -> Result<(), TftpError>;
    fn complete(&mut self) -> io::Result<()>;
    /// After the outbox went out: deferred disk writes.
    fn idle(&mut self) -> io::Result<()>;
    fn total(&self) -> Option<u64>;
    fn negotiated(&self) -> Negotiated;
    /// The address ICMP errors are about: the locked TID, else the server.
    fn server(&self) -> SocketAddr;
    /// Worth polling for: the packet we wait for is one we answer at once
    /// (every block in lock-step, a window's last block).
    fn answer_due(&self) -> bool;
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
        self.m.on_datagram(from, bytes, self.sink)
    }
    fn timeout(&mut self) -> Result<(), TftpError> {
        self.m.on_timeout()
    }
    fn complete(&mut self) -> io::Result<()> {
        self.sink.complete()
    }
    fn idle(&mut self) -> io::Result<()> {
        self.sink.idle()
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
    fn idle(&mut self) -> io::Result<()> {
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
}

/// `busy_poll`: the most to poll the socket before sleeping at each
/// lock-step wait (see [`BusyPoll`]); zero never polls.
pub fn download(
    sock: &UdpSocket,
    mut m: Download,
    sink: &mut dyn Sink,
    busy_poll: Duration,
    hooks: Hooks<'_>,
) -> Result<Report, TftpError> {
    m.start();
    drive(sock, &mut Get { m, sink }, busy(busy_poll), hooks)
}

pub fn upload(
    sock: &UdpSocket,
    mut m: Upload,
    src: &mut dyn Source,
    size: Option<u64>,
    busy_poll: Duration,
    hooks: Hooks<'_>,
) -> Result<Report, TftpError> {
    m.start();
    drive(sock, &mut Put { m, src, size }, busy(busy_poll), hooks)
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
    let want = left.clamp(MIN_TIMEOUT, wait.max(MIN_TIMEOUT));
    if want + MIN_TIMEOUT < *timeout_set || want > *timeout_set + MIN_TIMEOUT {
        sock.set_read_timeout(Some(want))?;
        *timeout_set = want;
    }
    sock.recv_from(buf)
}

/// Poll for a datagram for up to `budget`; `None` if none came.
fn poll_for(
    sock: &UdpSocket,
    buf: &mut [u8],
    budget: Duration,
) -> Option<io::Result<(usize, SocketAddr)>> {
    let start = Instant::now();
    loop {
        match crate::sys::recv_from_now(sock.as_fd(), buf) {
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

fn flush(
    sock: &UdpSocket,
    m: &mut dyn Machine,
    trace: &mut Option<&mut dyn FnMut(String)>,
) -> Result<(), TftpError> {
    for (to, bytes) in m.outbox().drain(..) {
        if let Some(t) = trace.as_mut() {
            t(format!("-> {to}  {}", describe(&bytes)));
        }
        match sock.send_to(&bytes, to) {
            Ok(_) => {}
            // A refused send reports an earlier ICMP error; the receive
            // path names it.
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn drive(
    sock: &UdpSocket,
    m: &mut dyn Machine,
    mut busy: BusyPoll,
    mut hooks: Hooks<'_>,
) -> Result<Report, TftpError> {
    let start = Instant::now();
    let mut buf = vec![0u8; 65536];
    let mut wait = m.wait();
    let mut timeout_set = wait.max(MIN_TIMEOUT);
    sock.set_read_timeout(Some(timeout_set))?;
    let mut deadline = Instant::now() + wait;
    let mut completed: Option<Duration> = None;
    let mut last_progress = (0u64, m.phase());
    let mut last_reported = 0u64;
    loop {
        flush(sock, m, &mut hooks.trace)?;
        // The ACK is out; now the disk, while the server sends the next
        // block.
        m.idle()?;
        let phase = m.phase();
        if matches!(phase, Phase::Dallying | Phase::Done) && completed.is_none() {
            completed = Some(start.elapsed());
            m.complete()?;
            (hooks.progress)(m.stats().bytes, m.total());
        }
        if phase == Phase::Done {
            break;
        }
        if m.wait() != wait {
            wait = m.wait();
            deadline = Instant::now() + wait;
        }
        // A packet we answer at once comes soon: poll before sleeping.
        let answer_due = m.answer_due();
        let waiting = Instant::now();
        let polled = if answer_due && !busy.budget().is_zero() {
            let left = deadline.saturating_duration_since(waiting);
            poll_for(sock, &mut buf, busy.budget().min(left))
        } else {
            None
        };
        let got = match polled {
            Some(got) => {
                if got.is_ok() {
                    busy.answered();
                }
                got
            }
            None => {
                let got = recv_by(sock, &mut buf, deadline, wait, &mut timeout_set);
                if answer_due {
                    busy.slept(got.is_ok().then(|| waiting.elapsed()));
                }
                got
            }
        };
        if busy.round_over() {
            busy.end_round(crate::sys::involuntary_switches());
        }
        let fired = match got {
            Ok((n, from)) => {
                if let Some(t) = hooks.trace.as_mut() {
                    t(format!("<- {from}  {}", describe(&buf[..n])));
                }
                let r = m.datagram(from, &buf[..n]);
                // The ACK goes out first; the bookkeeping can wait for it.
                flush(sock, m, &mut hooks.trace)?;
                r?;
                let now = Instant::now();
                let now_progress = (m.stats().blocks, m.phase());
                if now_progress != last_progress {
                    last_progress = now_progress;
                    deadline = now + m.wait();
                    let bytes = m.stats().bytes;
                    if bytes >= last_reported + (1 << 20) {
                        last_reported = bytes;
                        (hooks.progress)(bytes, m.total());
                    }
                }
                // Strangers and duplicates must not hold the timer off.
                now >= deadline
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                true
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => false,
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                // Only an error about the server counts: an ERROR 5 sent to
                // a stranger whose port is gone must not end the transfer.
                let about = crate::sys::take_queued_error(sock.as_fd()).and_then(|q| q.dest);
                if about.is_none_or(|d| d == m.server()) {
                    return Err(TftpError::PortUnreachable(m.server()));
                }
                false
            }
            Err(e) => return Err(e.into()),
        };
        if fired {
            if let Err(e) = m.timeout() {
                flush(sock, m, &mut hooks.trace)?;
                return Err(e);
            }
            deadline = Instant::now() + m.wait();
        }
    }
    Ok(Report {
        stats: m.stats(),
        negotiated: m.negotiated(),
        elapsed: completed.unwrap_or_else(|| start.elapsed()),
        waits: busy,
    })
}

#[cfg(test)]
mod busy_poll_tests {
    use super::BusyPoll;
    use std::time::Duration;

    const US: Duration = Duration::from_micros(1);
    const LONG: Option<Duration> = Some(Duration::from_millis(2));

    #[test]
    fn starts_at_max_and_counts_waits() {
        let mut b = BusyPoll::new(100 * US);
        assert_eq!(b.budget(), 100 * US);
        b.answered();
        b.answered();
        b.slept(Some(40 * US));
        b.slept(None);
        assert_eq!((b.polled, b.slept), (2, 2));
    }

    #[test]
    fn long_waits_halve_the_budget_down_to_no_polling() {
        let mut b = BusyPoll::new(100 * US);
        let mut seen = Vec::new();
        for _ in 0..5 {
            b.slept(LONG);
            seen.push(b.budget().as_nanos());
        }
        assert_eq!(seen, [50_000, 25_000, 12_500, 0, 0]);
    }

    #[test]
    fn an_answer_soon_after_giving_up_grows_it_back() {
        let mut b = BusyPoll::new(100 * US);
        b.slept(LONG);
        b.slept(LONG);
        assert_eq!(b.budget(), 25 * US);
        b.slept(Some(60 * US));
        assert_eq!(b.budget(), 50 * US);
        b.slept(Some(90 * US));
        assert_eq!(b.budget(), 100 * US);
        b.slept(Some(90 * US));
        assert_eq!(b.budget(), 100 * US, "never above max");
    }

    #[test]
    fn timeouts_say_nothing_about_the_budget() {
        let mut b = BusyPoll::new(100 * US);
        for _ in 0..10 {
            b.slept(None);
        }
        assert_eq!(b.budget(), 100 * US);
        assert_eq!(b.slept, 10);
    }

    #[test]
    fn polling_off_is_probed_now_and_then() {
        let mut b = BusyPoll::new(100 * US);
        for _ in 0..4 {
            b.slept(LONG);
        }
        assert_eq!(b.budget(), Duration::ZERO);
        // A sleeping wait can't tell a quick server from a slow one (it
        // includes our wake-up): only a probe can.
        for _ in 0..BusyPoll::PROBE_EVERY - 1 {
            b.slept(Some(60 * US));
            assert_eq!(b.budget(), Duration::ZERO);
        }
        b.slept(Some(60 * US));
        assert_eq!(b.budget(), 100 * US, "a probe at max");
        // A missed probe goes straight back off...
        b.slept(Some(105 * US));
        assert_eq!(b.budget(), Duration::ZERO);
        for _ in 0..BusyPoll::PROBE_EVERY {
            b.slept(LONG);
        }
        assert_eq!(b.budget(), 100 * US, "the next probe");
        // ...an answered one keeps polling at max.
        b.answered();
        assert_eq!(b.budget(), 100 * US);
        b.slept(Some(90 * US));
        assert_eq!(b.budget(), 100 * US);
    }

    #[test]
    fn preemptions_while_polling_stop_it_for_a_while() {
        let mut b = BusyPoll::new(100 * US);
        assert!(b.round_over(), "the first round needs a starting count");
        b.end_round(1000);
        // A round with a few preemptions (a busy machine) changes nothing.
        for _ in 0..BusyPoll::ROUND {
            assert!(!b.round_over());
            b.answered();
        }
        assert!(b.round_over());
        b.end_round(1000 + BusyPoll::SHARED);
        assert_eq!(b.budget(), 100 * US);
        // A round where most polls were preempted: the server shares our
        // CPU. No polling for OFF_FOR waits, then a careful restart.
        for _ in 0..BusyPoll::ROUND {
            b.answered();
        }
        b.end_round(1000 + BusyPoll::SHARED + 20);
        assert_eq!(b.budget(), Duration::ZERO);
        for _ in 0..BusyPoll::OFF_FOR - 1 {
            b.slept(Some(10 * US));
            assert_eq!(b.budget(), Duration::ZERO);
            assert!(!b.round_over(), "no polls, no round");
        }
        b.slept(Some(10 * US));
        assert_eq!(b.budget(), 100 * US / 8);
        // Preemptions while polling was off do not count: the round
        // starts from a fresh count.
        assert!(b.round_over());
        b.end_round(5000);
        assert_eq!(b.budget(), 100 * US / 8);
        b.slept(Some(10 * US));
        assert_eq!(b.budget(), 100 * US / 4);
        // Still shared: the next pause is twice as long.
        for _ in 1..BusyPoll::ROUND {
            b.answered();
        }
        b.end_round(5000 + BusyPoll::ROUND as u64);
        assert_eq!(b.budget(), Duration::ZERO);
        let mut waits = 0;
        while b.budget().is_zero() {
            b.slept(Some(10 * US));
            waits += 1;
        }
        assert_eq!(waits, 2 * BusyPoll::OFF_FOR);
    }

    #[test]
    fn zero_never_polls() {
        let mut b = BusyPoll::new(Duration::ZERO);
        b.slept(Some(10 * US));
        b.slept(LONG);
        for _ in 0..200 {
            b.slept(None);
        }
        assert_eq!(b.budget(), Duration::ZERO);
        assert!(!b.round_over());
        assert_eq!(b.slept, 202);
    }
}
