//! A scan in rounds, until stopped: every (host, port) of a scan probed
//! again and again, each result fed to one [`Tracker`] keyed by (host,
//! port), so a port that goes down or comes back is an [`Event::Probed`]
//! carrying the same [`Change`] as one target probed until stopped.
//!
//! Each round is one [`scan::run_until`] (parallel, rate, timeout as a
//! single scan). A round starts `interval` after the one before began, or
//! right when it ended if it took longer ([`next_start`]); no round starts
//! at or after the deadline, and a round the deadline or Ctrl-C cuts short
//! is not counted (as an attempt cut short is not, for one target).
//!
//! Memory does not grow with the run: one round's results at a time, the
//! counts per host, and the tracker's entry per (host, port).

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::Stop;
use super::scan::{self, Counts, HostCounts, Probed, ScanError, State};
use super::watch::{Change, Downtime, Key, Stamp, Tracker};
use crate::sys;

/// A scan made in rounds.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub scan: scan::Settings,
    /// Rounds to make, at least 1; `None`: until stopped (Ctrl-C or the
    /// deadline).
    pub count: Option<u64>,
    /// From the start of one round to the start of the next (at the
    /// soonest when the round before ended).
    pub interval: Duration,
    /// No round starts this long after the first began; a round going on
    /// then is not counted.
    pub deadline: Option<Duration>,
}

/// When the round after one that began at `began` and ended at `ended`
/// starts: `interval` after `began`, or at `ended` if that is later;
/// `None` when that is at or after `end` (the deadline).
pub fn next_start(
    began: Instant,
    ended: Instant,
    interval: Duration,
    end: Option<Instant>,
) -> Option<Instant> {
    let next = (began + interval).max(ended);
    match end {
        Some(e) if next >= e => None,
        _ => Some(next),
    }
}

/// What `run` says while it works.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// As [`scan::Event::ParallelLowered`], said once.
    ParallelLowered {
        asked: usize,
        allowed: usize,
        limit: u64,
    },
    /// The setup checked out; rounds of `probes` (host, port) pairs follow.
    Started { probes: u64, parallel: usize },
    /// Round `round` (1 for the first) probed `probe`, and this was its
    /// state change, if any. A round's probes come after the round ended,
    /// sorted by host then port.
    Probed {
        round: u64,
        probe: Probed,
        change: Option<Change<Key>>,
    },
    /// Round `round` said all its probes.
    RoundEnded { round: u64 },
}

/// The down periods of one (host, port) that was open at some point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PortDowntime {
    #[serde(serialize_with = "as_text")]
    pub target: Key,
    pub downtime: Downtime,
}

fn as_text<S: serde::Serializer>(k: &Key, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(k)
}

/// The rounds, in numbers.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Rounds counted (made whole).
    pub rounds: u64,
    /// Probes made in those rounds.
    pub probes: u64,
    /// Counts over every round, per host (sorted by host).
    pub hosts: Vec<HostCounts>,
    pub total: Counts,
    /// Counted rounds in which no probe was open.
    pub rounds_without_open: u64,
    /// In flight at most.
    pub parallel: usize,
    pub elapsed_s: f64,
    pub probes_per_second: f64,
    pub stopped_by: Stop,
    /// The (host, port)s open at some point that went down, sorted.
    pub down: Vec<PortDowntime>,
    /// (host, port)s never open in any round.
    pub never_open: u64,
}

impl Report {
    /// Exit 0? At least one round was made and every probe of every round
    /// was open; with `open_only`, every round found at least one open.
    pub fn passed(&self, open_only: bool) -> bool {
        self.rounds > 0
            && if open_only {
                self.rounds_without_open == 0
            } else {
                self.total.open == self.probes
            }
    }
}

/// The tracker's key of a probed address: the address (with its zone)
/// and the port.
fn key_of(a: SocketAddr) -> Key {
    match a {
        SocketAddr::V6(v6) if v6.scope_id() != 0 => Key {
            host: format!("{}%{}", v6.ip(), v6.scope_id()),
            port: v6.port(),
        },
        a => Key {
            host: a.ip().to_string(),
            port: a.port(),
        },
    }
}

/// What the rounds so far add up to.
#[derive(Default)]
struct Tally {
    rounds: u64,
    hosts: BTreeMap<IpAddr, Counts>,
    total: Counts,
    rounds_without_open: u64,
    tracker: Tracker<Key>,
}

impl Tally {
    /// A whole round, begun at `at`: counted and fed to the tracker;
    /// each probe comes back with the change it made.
    fn round(&mut self, at: Stamp, results: Vec<Probed>) -> Vec<(Probed, Option<Change<Key>>)> {
        self.rounds += 1;
        let mut open = 0u64;
        let out = results
            .into_iter()
            .map(|p| {
                let state = State::of(&p.outcome);
                self.hosts.entry(p.target.ip()).or_default().add(state);
                self.total.add(state);
                let is_open = p.outcome.is_open();
                open += u64::from(is_open);
                let change =
                    self.tracker
                        .attempt(&key_of(p.target), is_open, &p.outcome.label(), at);
                (p, change)
            })
            .collect();
        if open == 0 {
            self.rounds_without_open += 1;
        }
        out
    }

    fn report(self, parallel: usize, stopped_by: Stop, elapsed: Duration, end: Instant) -> Report {
        let probes = self.total.total();
        let elapsed_s = elapsed.as_secs_f64();
        #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
        let probes_per_second = probes as f64 / elapsed_s.max(1e-9);
        let mut down = Vec::new();
        let mut never_open = 0;
        for k in self.tracker.targets() {
            if !self.tracker.been_up(k) {
                never_open += 1;
                continue;
            }
            let downtime = self.tracker.downtime(k, end);
            if downtime.periods > 0 {
                down.push(PortDowntime {
                    target: k.clone(),
                    downtime,
                });
            }
        }
        Report {
            rounds: self.rounds,
            probes,
            hosts: self
                .hosts
                .into_iter()
                .map(|(host, counts)| HostCounts { host, counts })
                .collect(),
            total: self.total,
            rounds_without_open: self.rounds_without_open,
            parallel,
            elapsed_s,
            probes_per_second,
            stopped_by,
            down,
            never_open,
        }
    }
}

/// Scan `s.scan` in rounds, `s.count` of them or until stopped, calling
/// `on_event` as things happen.
///
/// # Errors
/// As [`scan::run`]: a socket that cannot be set up (before the first
/// round sends anything, for a bad `-I` or `-s`), a failed wait, or the
/// callback's error.
pub fn run(
    s: &Settings,
    on_event: &mut impl FnMut(Event) -> io::Result<()>,
) -> Result<Report, ScanError> {
    sys::catch_interrupt();
    let started = Instant::now();
    let end = s.deadline.map(|d| started + d);
    let mut tally = Tally::default();
    let mut parallel = s.scan.parallel;
    let mut n = 0u64;
    let stopped_by = loop {
        if s.count.is_some_and(|c| n >= c) {
            break Stop::Count;
        }
        if sys::interrupted() {
            break Stop::Interrupt;
        }
        let at = Stamp::now();
        if end.is_some_and(|e| at.mono >= e) {
            break Stop::Deadline;
        }
        let first = n == 0;
        let r = scan::run_until(&s.scan, end, &mut |e| match e {
            scan::Event::ParallelLowered {
                asked,
                allowed,
                limit,
            } if first => on_event(Event::ParallelLowered {
                asked,
                allowed,
                limit,
            }),
            scan::Event::Started { probes, parallel } if first => {
                on_event(Event::Started { probes, parallel })
            }
            _ => Ok(()),
        })?;
        parallel = r.parallel;
        if r.interrupted {
            break Stop::Interrupt;
        }
        if r.cut_by_deadline {
            break Stop::Deadline;
        }
        n += 1;
        for (probe, change) in tally.round(at, r.results) {
            on_event(Event::Probed {
                round: n,
                probe,
                change,
            })
            .map_err(ScanError::Output)?;
        }
        on_event(Event::RoundEnded { round: n }).map_err(ScanError::Output)?;
        if s.count.is_some_and(|c| n >= c) {
            continue;
        }
        // No round starts at the deadline, which still ends the run (as
        // it ends one target's).
        let next = next_start(at.mono, Instant::now(), s.interval, end)
            .or(end)
            .unwrap_or_else(Instant::now);
        while Instant::now() < next && !sys::interrupted() {
            std::thread::sleep((next - Instant::now()).min(Duration::from_millis(100)));
        }
    };
    let now = Instant::now();
    Ok(tally.report(parallel, stopped_by, now - started, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{CloseWith, Outcome};

    #[test]
    fn a_round_starts_an_interval_after_the_last_began() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let i = Duration::from_secs(1);
        // A quick round: the interval counts from its start.
        assert_eq!(next_start(ms(0), ms(120), i, None), Some(ms(1000)));
        // A round longer than the interval: the next starts at once.
        assert_eq!(next_start(ms(0), ms(2500), i, None), Some(ms(2500)));
        // -i 0: back to back.
        assert_eq!(
            next_start(ms(0), ms(40), Duration::ZERO, None),
            Some(ms(40))
        );
        // The deadline: a start before it is kept, at or after it none.
        assert_eq!(
            next_start(ms(0), ms(120), i, Some(ms(1001))),
            Some(ms(1000))
        );
        assert_eq!(next_start(ms(0), ms(120), i, Some(ms(1000))), None);
        assert_eq!(next_start(ms(0), ms(2500), i, Some(ms(2000))), None);
    }

    fn probed(target: &str, open: bool) -> Probed {
        Probed {
            target: target.parse().unwrap(),
            local: None,
            outcome: if open {
                Outcome::Open {
                    handshake_us: 100.0,
                    kernel_rtt_us: 100,
                    peer: None,
                }
            } else {
                Outcome::RefusedRst { after_us: 50.0 }
            },
            closed_with: open.then_some(CloseWith::Rst),
        }
    }

    /// Three rounds over three ports: one steady open, one steady closed,
    /// one that goes down in round 2 and is back in round 3.
    #[test]
    fn rounds_are_counted_and_tracked_per_host_and_port() {
        let mut tally = Tally::default();
        let t0 = Stamp::now();
        let at = |ms| Stamp {
            mono: t0.mono + Duration::from_millis(ms),
            wall: t0.wall + Duration::from_millis(ms),
        };
        let round = |flaky: bool| {
            vec![
                probed("198.51.100.2:22", true),
                probed("198.51.100.2:23", false),
                probed("[2001:db8::2]:80", flaky),
            ]
        };
        let changes = |r: Vec<(Probed, Option<Change<Key>>)>| -> Vec<String> {
            r.into_iter()
                .filter_map(|(_, c)| c.map(|c| c.target.to_string()))
                .collect()
        };
        assert!(changes(tally.round(at(0), round(true))).is_empty());
        assert_eq!(
            changes(tally.round(at(200), round(false))),
            ["[2001:db8::2]:80"]
        );
        assert_eq!(
            changes(tally.round(at(400), round(true))),
            ["[2001:db8::2]:80"]
        );
        let r = tally.report(64, Stop::Deadline, Duration::from_secs(1), at(600).mono);
        assert_eq!(
            (r.rounds, r.probes, r.total.open, r.total.closed),
            (3, 9, 5, 4)
        );
        assert_eq!(r.hosts.len(), 2);
        assert_eq!(r.hosts[0].host.to_string(), "198.51.100.2");
        assert_eq!((r.hosts[0].counts.open, r.hosts[0].counts.closed), (3, 3));
        assert_eq!((r.hosts[1].counts.open, r.hosts[1].counts.closed), (2, 1));
        assert_eq!(r.never_open, 1, "port 23");
        assert_eq!(r.down.len(), 1);
        assert_eq!(r.down[0].target.to_string(), "[2001:db8::2]:80");
        let d = r.down[0].downtime;
        assert_eq!((d.periods, d.down_at_end), (1, false));
        assert!((d.total_s - 0.2).abs() < 1e-9, "{d:?}");
        assert_eq!(r.rounds_without_open, 0);
        assert!(!r.passed(false) && r.passed(true));
    }

    /// A long run keeps one tracker entry per (host, port) and one count
    /// per host, whatever the number of rounds.
    #[test]
    fn what_is_kept_does_not_grow_with_the_rounds() {
        let mut tally = Tally::default();
        let t0 = Stamp::now();
        for i in 0..10_000u64 {
            let at = Stamp {
                mono: t0.mono + Duration::from_millis(i),
                wall: t0.wall,
            };
            tally.round(
                at,
                vec![
                    probed("198.51.100.2:22", true),
                    probed("198.51.100.2:23", i % 2 == 0),
                    probed("198.51.100.3:22", false),
                ],
            );
        }
        assert_eq!(tally.tracker.targets().count(), 3);
        assert_eq!(tally.hosts.len(), 2);
        let r = tally.report(1, Stop::Interrupt, Duration::from_secs(10), t0.mono);
        assert_eq!((r.rounds, r.probes), (10_000, 30_000));
        // Port 23 flapped every round: 5,000 down periods, counted.
        assert_eq!(r.down.len(), 1);
        assert_eq!(r.down[0].downtime.periods, 5_000);
    }

    #[test]
    fn zones_are_part_of_the_key() {
        assert_eq!(
            key_of("[fe80::1%3]:22".parse().unwrap()).to_string(),
            "[fe80::1%3]:22"
        );
        assert_eq!(
            key_of("198.51.100.2:22".parse().unwrap()).to_string(),
            "198.51.100.2:22"
        );
    }
}
