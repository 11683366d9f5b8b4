//! When to poll and when to sleep while waiting for the server.
//!
//! Two policies the transport consults, kept apart from sockets and clocks
//! so they can be tested on their own: [`BusyPoll`] for the waits we
//! answer at once (every lock-step block, a window's last), and
//! [`WindowNap`] for the rest of a window, which is better slept through
//! on a timer than woken for block by block.

use std::time::Duration;

/// Busy-polling for the server's next packet before going to sleep.
///
/// In lock-step every block is a round trip of some tens of microseconds,
/// and sleeping through it costs a context switch and a wake-up per block
/// (on a virtual machine, an interrupt through the hypervisor). Polling
/// instead is both faster and cheaper in CPU (benches/RESULTS.md).
///
/// The budget adapts like the kernel's haltpoll governor: an answer soon
/// after giving up grows it (up to `max`), a longer wait halves it, down
/// to not polling; then one wait in 64 probes at `max` (a sleeping wait
/// cannot tell a quick server from a slow one). Timeouts change nothing.
/// A round of polls with many involuntary context switches means the
/// server shares our CPU: polling stops for a while, longer each time.
/// In a windowed download only the window's last block is polled for.
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

/// Sleeping through a window on a timer, instead of waking for its blocks.
///
/// A server sends a window back to back, and each block that finds us
/// asleep on the socket costs the server a wake-up (on a virtual machine,
/// an interrupt through the hypervisor) taken from its sending. Asleep on
/// a timer, nobody waits on the socket: the blocks queue up, one
/// `recvmmsg` takes them in, and we nap again in chunks of at most
/// `CHUNK` until shortly before the last block is due, then
/// poll (the [`BusyPoll`] budget) so its ACK leaves at once. Against
/// atftpd at windowsize 16 and 64 this is faster, with less CPU on both
/// sides, than waking per block or polling the window (benches/RESULTS.md).
///
/// `span`, from our ACK to the window's last block, is learned low: a
/// shorter window pulls it halfway down, a longer one 1/16 of the way up;
/// a nap that finds the last block already waiting overslept, and cuts it
/// by 1/8. Timer lateness (a running median of capped samples) is taken
/// off each nap. Only windows of at least [`MIN_WINDOW`](Self::MIN_WINDOW)
/// blocks and shorter than `MAX_SPAN` are napped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowNap {
    on: bool,
    /// From our ACK to the window's last block (zero: not known yet).
    span: Duration,
    /// How much later than asked our sleeps end.
    late: Option<Duration>,
    /// This window has napped: poll for its tail.
    napped: bool,
    /// This window overslept: its length teaches nothing.
    overslept: bool,
    /// Naps taken.
    pub naps: u64,
    /// Naps that found the rest of the window already waiting.
    pub late_wakes: u64,
}

impl WindowNap {
    /// Fewer blocks to a window than this: no naps.
    pub const MIN_WINDOW: u16 = 8;
    /// Wake this long before the last block is due: the spread of the
    /// server's pace, and time to take in the backlog.
    const MARGIN: Duration = Duration::from_micros(25);
    /// The longest single nap (longer for long windows: `span` / 8).
    const CHUNK: Duration = Duration::from_micros(60);
    /// Naps shorter than this are not worth a timer.
    const MIN_NAP: Duration = Duration::from_micros(10);
    /// Windows longer than this are slept through on the socket.
    const MAX_SPAN: Duration = Duration::from_millis(2);
    /// The step of the running median of timer lateness.
    const LATE_STEP: Duration = Duration::from_nanos(500);
    /// Lateness beyond this is a preemption, not the timer's.
    const MAX_LATE: Duration = Duration::from_micros(40);

    /// `on`: naps allowed at all (a download with polling not turned
    /// off); the transport naps only in windows of at least `MIN_WINDOW`.
    pub fn new(on: bool) -> Self {
        WindowNap {
            on,
            span: Duration::ZERO,
            late: None,
            napped: false,
            overslept: false,
            naps: 0,
            late_wakes: 0,
        }
    }

    pub fn on(&self) -> bool {
        self.on
    }

    /// A window begins: our ACK went out. `last`: how long after the
    /// previous window began its last block came, when that window ran
    /// its course (no timeout in it).
    pub fn window(&mut self, last: Option<Duration>) {
        if let Some(s) = last.filter(|_| !self.overslept) {
            self.span = if self.span.is_zero() {
                s
            } else if s < self.span {
                (self.span + s) / 2
            } else {
                self.span + s.saturating_sub(self.span) / 16
            };
        }
        self.napped = false;
        self.overslept = false;
    }

    /// How long to sleep now, `since` the window began; `None`: don't.
    pub fn nap(&self, since: Duration) -> Option<Duration> {
        if !self.on || self.overslept || self.span.is_zero() || self.span > Self::MAX_SPAN {
            return None;
        }
        let wake_by = self.span.checked_sub(Self::MARGIN)?;
        let room = wake_by.checked_sub(since + self.late.unwrap_or_default())?;
        (room >= Self::MIN_NAP).then(|| room.min(Self::CHUNK.max(self.span / 8)))
    }

    /// A nap of `asked` ended after `took`.
    pub fn woke(&mut self, asked: Duration, took: Duration) {
        self.naps += 1;
        self.napped = true;
        // Capped, so that one preempted wake-up cannot make every later
        // nap too short to take (and, untaken, never measured again).
        let late = took.saturating_sub(asked).min(Self::MAX_LATE);
        self.late = Some(match self.late {
            None => late,
            Some(l) if late > l => l + Self::LATE_STEP,
            Some(l) => l.saturating_sub(Self::LATE_STEP),
        });
    }

    /// The window's last block was already waiting when a nap ended: the
    /// server sat idle for our ACK. Nap less from now on; this window's
    /// length says only when we noticed.
    pub fn overslept(&mut self) {
        self.late_wakes += 1;
        self.overslept = true;
        self.span -= self.span / 8;
    }

    /// This window napped: poll for the rest of it.
    pub fn tail(&self) -> bool {
        self.napped
    }
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

#[cfg(test)]
mod window_nap_tests {
    use super::WindowNap;
    use std::time::Duration;

    const US: Duration = Duration::from_micros(1);

    fn learned(span: Duration) -> WindowNap {
        let mut n = WindowNap::new(true);
        n.window(None);
        n.window(Some(span));
        n
    }

    #[test]
    fn off_never_naps() {
        let mut n = WindowNap::new(false);
        for _ in 0..10 {
            n.window(Some(300 * US));
        }
        assert_eq!(n.nap(Duration::ZERO), None);
        assert!(!n.tail());
    }

    #[test]
    fn nothing_learned_no_nap() {
        let mut n = WindowNap::new(true);
        n.window(None);
        assert_eq!(n.nap(Duration::ZERO), None);
    }

    #[test]
    fn the_span_follows_short_windows_fast_and_long_ones_slowly() {
        let mut n = learned(100 * US);
        n.window(Some(60 * US));
        assert_eq!(n.span, 80 * US, "halfway down");
        n.window(Some(240 * US));
        assert_eq!(n.span, 90 * US, "1/16 of the way up");
    }

    #[test]
    fn wakes_a_margin_before_the_last_block_less_the_timer_lateness() {
        let mut n = learned(100 * US);
        // Nothing known about the timer yet: the whole room, 100 - 25.
        assert_eq!(n.nap(Duration::ZERO), Some(60 * US), "capped at a chunk");
        assert_eq!(n.nap(30 * US), Some(45 * US));
        assert!(!n.tail(), "no nap yet, no tail polling");
        // A 40 us nap that took 60: the timer is 20 us late.
        n.woke(40 * US, 60 * US);
        assert!(n.tail());
        assert_eq!(n.nap(30 * US), Some(25 * US), "100 - 25 - 30 - 20");
        assert_eq!(n.nap(50 * US), None, "5 us is not worth a timer");
        assert_eq!((n.naps, n.late_wakes), (1, 0));
        n.window(Some(100 * US));
        assert!(!n.tail(), "a new window has not napped yet");
    }

    #[test]
    fn long_windows_nap_in_eighths_and_very_long_ones_not_at_all() {
        let n = learned(Duration::from_millis(1));
        assert_eq!(n.nap(Duration::ZERO), Some(125 * US));
        let n = learned(Duration::from_millis(3));
        assert_eq!(n.nap(Duration::ZERO), None);
    }

    #[test]
    fn oversleeping_shortens_the_span_and_the_window_teaches_nothing() {
        let mut n = learned(160 * US);
        n.woke(60 * US, 70 * US);
        // The nap brought the window's last block.
        n.overslept();
        assert_eq!((n.naps, n.late_wakes), (1, 1));
        assert_eq!(n.span, 140 * US, "1/8 shorter");
        assert_eq!(n.nap(Duration::ZERO), None, "no more naps this window");
        // Its length only says when we noticed.
        n.window(Some(400 * US));
        assert_eq!(n.span, 140 * US);
        n.window(Some(300 * US));
        assert_eq!(n.span, 150 * US, "the next window counts again");
    }

    #[test]
    fn timer_lateness_is_a_running_median() {
        let mut n = learned(Duration::from_millis(1));
        n.woke(100 * US, 120 * US);
        assert_eq!(n.late, Some(20 * US), "the first lateness as it is");
        n.woke(100 * US, 900 * US);
        assert_eq!(
            n.late,
            Some(20 * US + WindowNap::LATE_STEP),
            "an outlier moves it one step"
        );
        n.woke(100 * US, 100 * US);
        n.woke(100 * US, 100 * US);
        assert_eq!(n.late, Some(20 * US - WindowNap::LATE_STEP));
    }

    #[test]
    fn one_preempted_wake_up_does_not_stop_the_naps() {
        let mut n = learned(100 * US);
        // The first nap ends 2 ms late (the CPU was busy elsewhere).
        n.woke(40 * US, 2040 * US);
        assert_eq!(n.late, Some(WindowNap::MAX_LATE));
        n.window(Some(100 * US));
        assert_eq!(n.nap(Duration::ZERO), Some(35 * US), "100 - 25 - 40");
    }
}
