//! Watching targets until stopped: which attempts are state changes.
//!
//! [`Tracker`] is a pure machine: fed each attempt's target, whether it was
//! open, its outcome's label and its time, it returns the [`Change`] that
//! attempt made, if any: the first failure after open attempts is `Down`,
//! the first open after failures is `Up`; a resolved address unlike the
//! last is `Address`. No socket and no clock: the caller stamps each
//! attempt ([`Stamp`]: the monotonic clock for durations, the wall clock
//! for the time shown), so tests drive it with made-up times.
//!
//! It is keyed by any `Ord` target (one entry per (host, port) fed, never
//! per answer), so one tracker can follow many targets; what it keeps per
//! target is a few counters, whatever the run's length.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

/// When an attempt began, on both clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// For durations: immune to clock steps.
    pub mono: Instant,
    /// For the time shown.
    pub wall: SystemTime,
}

impl Stamp {
    pub fn now() -> Stamp {
        Stamp {
            mono: Instant::now(),
            wall: SystemTime::now(),
        }
    }
}

/// A target as the user named it: a host (a name, or an address) and a
/// port; what the probe's tracker is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub host: String,
    pub port: u16,
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// What a target is known to be, from its attempts so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No attempt yet.
    Unknown,
    Up,
    Down,
}

/// A state change, from the attempt that made it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change<K> {
    pub target: K,
    /// The wall-clock time of that attempt.
    pub at: SystemTime,
    pub kind: ChangeKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ChangeKind {
    /// The first failure after `after_open` open attempts in a row, which
    /// spanned `up_for` (first open attempt to this one).
    Down {
        outcome: String,
        after_open: u64,
        up_for: Duration,
    },
    /// The first open attempt after `after_failed` failures in a row, which
    /// spanned `down_for` (first failure to this attempt). `again`: it had
    /// been up before (false when the run began with failures).
    Up {
        after_failed: u64,
        down_for: Duration,
        again: bool,
    },
    /// The name resolved to another address.
    Address { from: IpAddr, to: IpAddr },
}

/// The down periods of one target: each from its first failed attempt to
/// the next open one (or the end of the run).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Downtime {
    pub periods: u64,
    pub longest_s: f64,
    pub total_s: f64,
    /// The run ended in a down period (counted up to the end).
    pub down_at_end: bool,
}

#[derive(Debug, Clone)]
struct Track {
    state: State,
    /// Attempts in a row in `state`.
    run: u64,
    /// The first attempt of that run.
    since: Instant,
    been_up: bool,
    addr: Option<IpAddr>,
    periods: u64,
    longest: Duration,
    total: Duration,
}

impl Track {
    fn new(at: Instant) -> Track {
        Track {
            state: State::Unknown,
            run: 0,
            since: at,
            been_up: false,
            addr: None,
            periods: 0,
            longest: Duration::ZERO,
            total: Duration::ZERO,
        }
    }

    fn close_down_period(&mut self, end: Instant) -> Duration {
        let d = end.saturating_duration_since(self.since);
        self.periods += 1;
        self.longest = self.longest.max(d);
        self.total += d;
        d
    }
}

/// Up/down state and the last address, per target.
#[derive(Debug, Clone)]
pub struct Tracker<K> {
    targets: BTreeMap<K, Track>,
}

impl<K> Default for Tracker<K> {
    fn default() -> Self {
        Tracker {
            targets: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Clone> Tracker<K> {
    pub fn new() -> Tracker<K> {
        Tracker::default()
    }

    fn track(&mut self, target: &K, at: Instant) -> &mut Track {
        if !self.targets.contains_key(target) {
            self.targets.insert(target.clone(), Track::new(at));
        }
        self.targets.get_mut(target).expect("inserted above")
    }

    /// An attempt on `target` ended: open or not, with its outcome's label.
    pub fn attempt(&mut self, target: &K, open: bool, label: &str, at: Stamp) -> Option<Change<K>> {
        let t = self.track(target, at.mono);
        let now = if open { State::Up } else { State::Down };
        if t.state == now {
            t.run += 1;
            return None;
        }
        let kind = match (t.state, now) {
            (State::Up, State::Down) => Some(ChangeKind::Down {
                outcome: label.to_string(),
                after_open: t.run,
                up_for: at.mono.saturating_duration_since(t.since),
            }),
            (State::Down, State::Up) => Some(ChangeKind::Up {
                after_failed: t.run,
                down_for: t.close_down_period(at.mono),
                again: t.been_up,
            }),
            // The first attempt sets the state without a change.
            _ => None,
        };
        t.state = now;
        t.run = 1;
        t.since = at.mono;
        t.been_up |= open;
        kind.map(|kind| Change {
            target: target.clone(),
            at: at.wall,
            kind,
        })
    }

    /// `target`'s name resolved to `ip`: a change when it resolved to
    /// another address before.
    pub fn address(&mut self, target: &K, ip: IpAddr, at: Stamp) -> Option<Change<K>> {
        let t = self.track(target, at.mono);
        let from = t.addr.replace(ip)?;
        (from != ip).then(|| Change {
            target: target.clone(),
            at: at.wall,
            kind: ChangeKind::Address { from, to: ip },
        })
    }

    /// `target`'s down periods, a period still going counted up to `end`.
    pub fn downtime(&self, target: &K, end: Instant) -> Downtime {
        let Some(t) = self.targets.get(target) else {
            return Downtime::default();
        };
        let mut t = t.clone();
        let down_at_end = t.state == State::Down;
        if down_at_end {
            t.close_down_period(end);
        }
        Downtime {
            periods: t.periods,
            longest_s: t.longest.as_secs_f64(),
            total_s: t.total.as_secs_f64(),
            down_at_end,
        }
    }

    /// Whether an attempt on `target` was ever open.
    pub fn been_up(&self, target: &K) -> bool {
        self.targets.get(target).is_some_and(|t| t.been_up)
    }

    /// The targets fed so far, in order.
    pub fn targets(&self) -> impl Iterator<Item = &K> {
        self.targets.keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Attempt times: `ms` after a fixed start, on both clocks.
    struct Clock {
        mono: Instant,
        wall: SystemTime,
    }

    impl Clock {
        fn new() -> Clock {
            Clock {
                mono: Instant::now(),
                wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            }
        }
        fn at(&self, ms: u64) -> Stamp {
            let d = Duration::from_millis(ms);
            Stamp {
                mono: self.mono + d,
                wall: self.wall + d,
            }
        }
    }

    const T: &str = "198.51.100.2:22";

    /// Feeds `pattern` (`o` open, `x` failed) at 100 ms apart from `t0`;
    /// returns the changes with the index of the attempt that made them.
    fn feed(
        tr: &mut Tracker<&'static str>,
        c: &Clock,
        t0: u64,
        pattern: &str,
    ) -> Vec<(usize, ChangeKind)> {
        pattern
            .bytes()
            .enumerate()
            .filter_map(|(i, b)| {
                let open = b == b'o';
                let label = if open { "open" } else { "refused (RST)" };
                tr.attempt(&T, open, label, c.at(t0 + 100 * i as u64))
                    .map(|ch| {
                        assert_eq!(ch.target, T);
                        assert_eq!(ch.at, c.at(t0 + 100 * i as u64).wall);
                        (i, ch.kind)
                    })
            })
            .collect()
    }

    #[test]
    fn one_outage_is_one_down_and_one_up_with_counts_and_durations() {
        let c = Clock::new();
        let mut tr = Tracker::new();
        let changes = feed(&mut tr, &c, 0, "oooooxxxxxxxoo");
        assert_eq!(
            changes,
            vec![
                (
                    5,
                    ChangeKind::Down {
                        outcome: "refused (RST)".into(),
                        after_open: 5,
                        up_for: Duration::from_millis(500),
                    }
                ),
                (
                    12,
                    ChangeKind::Up {
                        after_failed: 7,
                        down_for: Duration::from_millis(700),
                        again: true,
                    }
                ),
            ]
        );
        let d = tr.downtime(&T, c.at(1400).mono);
        assert_eq!((d.periods, d.down_at_end), (1, false));
        assert!((d.longest_s - 0.7).abs() < 1e-9 && (d.total_s - 0.7).abs() < 1e-9);
    }

    #[test]
    fn steady_runs_make_no_changes() {
        let c = Clock::new();
        let mut tr = Tracker::new();
        assert!(feed(&mut tr, &c, 0, "oooooooo").is_empty());
        assert_eq!(tr.downtime(&T, c.at(800).mono), Downtime::default());
        let mut tr = Tracker::new();
        assert!(feed(&mut tr, &c, 0, "xxxx").is_empty());
        // Down from the first attempt to the end.
        let d = tr.downtime(&T, c.at(1000).mono);
        assert_eq!((d.periods, d.down_at_end), (1, true));
        assert!((d.total_s - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_run_that_starts_down_comes_up_not_again() {
        let c = Clock::new();
        let mut tr = Tracker::new();
        let changes = feed(&mut tr, &c, 0, "xxxoox");
        assert_eq!(
            changes[0],
            (
                3,
                ChangeKind::Up {
                    after_failed: 3,
                    down_for: Duration::from_millis(300),
                    again: false,
                }
            )
        );
        assert!(matches!(
            changes[1],
            (5, ChangeKind::Down { after_open: 2, .. })
        ));
        // Two periods: the first 300 ms, and the one going at the end.
        let d = tr.downtime(&T, c.at(900).mono);
        assert_eq!((d.periods, d.down_at_end), (2, true));
        assert!((d.longest_s - 0.4).abs() < 1e-9 && (d.total_s - 0.7).abs() < 1e-9);
    }

    #[test]
    fn flapping_counts_every_period_and_the_longest() {
        let c = Clock::new();
        let mut tr = Tracker::new();
        let changes = feed(&mut tr, &c, 0, "oxoxxxoxxo");
        assert_eq!(changes.len(), 6, "{changes:?}");
        let d = tr.downtime(&T, c.at(1000).mono);
        assert_eq!(d.periods, 3);
        assert!((d.longest_s - 0.3).abs() < 1e-9, "{d:?}");
        assert!((d.total_s - 0.6).abs() < 1e-9, "{d:?}");
    }

    #[test]
    fn the_down_event_names_the_first_failures_outcome() {
        let c = Clock::new();
        let mut tr = Tracker::new();
        tr.attempt(&T, true, "open", c.at(0));
        let ch = tr.attempt(&T, false, "filtered", c.at(100)).unwrap();
        assert!(matches!(ch.kind, ChangeKind::Down { ref outcome, .. } if outcome == "filtered"));
        // Another kind of failure while down is no change.
        assert_eq!(tr.attempt(&T, false, "refused (RST)", c.at(200)), None);
    }

    #[test]
    fn targets_are_tracked_apart() {
        let c = Clock::new();
        let mut tr = Tracker::new();
        let (a, b) = ("198.51.100.2:22", "198.51.100.3:22");
        assert_eq!(tr.attempt(&a, true, "open", c.at(0)), None);
        assert_eq!(tr.attempt(&b, false, "refused (RST)", c.at(0)), None);
        // b failing again is no news; a failing is.
        assert_eq!(tr.attempt(&b, false, "refused (RST)", c.at(100)), None);
        let ch = tr.attempt(&a, false, "refused (RST)", c.at(100)).unwrap();
        assert_eq!(ch.target, a);
        let up = tr.attempt(&b, true, "open", c.at(200)).unwrap();
        assert_eq!(up.target, b);
        assert!(matches!(
            up.kind,
            ChangeKind::Up {
                after_failed: 2,
                again: false,
                ..
            }
        ));
        assert_eq!(tr.downtime(&a, c.at(300).mono).periods, 1);
        assert_eq!(
            tr.downtime(&"203.0.113.9:1", c.at(300).mono),
            Downtime::default()
        );
    }

    #[test]
    fn address_changes_only_when_it_differs_from_the_last() {
        let c = Clock::new();
        let mut tr = Tracker::new();
        let (x, y): (IpAddr, IpAddr) = (
            "198.51.100.2".parse().unwrap(),
            "198.51.100.3".parse().unwrap(),
        );
        assert_eq!(tr.address(&T, x, c.at(0)), None);
        assert_eq!(tr.address(&T, x, c.at(100)), None);
        let ch = tr.address(&T, y, c.at(200)).unwrap();
        assert_eq!(ch.kind, ChangeKind::Address { from: x, to: y });
        assert_eq!(ch.at, c.at(200).wall);
        assert_eq!(tr.address(&T, y, c.at(300)), None);
        // Addresses and up/down are apart.
        assert_eq!(tr.attempt(&T, true, "open", c.at(300)), None);
    }
}
