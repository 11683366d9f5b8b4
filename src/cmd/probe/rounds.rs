//! `nettool probe` over many ports and hosts until stopped: `-t`, `-c N`
//! (N > 1), `-w SECS`, `-i SECS`, `--quiet-ok` on a scan -> [`Settings`]
//! -> [`rounds::run`] -> each round's sorted lines (or only the state
//! changes), then the counts over every round and the down periods of
//! each (host, port).
//!
//! A scan without those flags is one round, rendered as it always was
//! ([`super::scan`]).

use std::io::Write;
use std::time::Duration;

use anyhow::Result;
use serde_json::{Value, json};

use super::watch;
use crate::Status;
use crate::cli::ProbeArgs;
use crate::cmd::{seconds, usage};
use crate::output::Out;
use crate::probe::rounds::{self, Event, Report, Settings};
use crate::probe::{CloseWith, Stop, scan};

/// A scan once, or in rounds.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    Once(scan::Settings),
    Rounds(Settings),
}

/// How many rounds (`None`: until stopped), how far apart, for how long.
type Repeat = (Option<u64>, Duration, Option<Duration>);

/// How many rounds, how far apart and for how long: `None` for one round.
/// `-w` alone goes until the deadline (one round cut by it would show
/// nothing).
fn repeat(a: &ProbeArgs) -> Result<Option<Repeat>> {
    let deadline = a
        .deadline
        .map(|w| seconds("-w", w, 0.001..=31_536_000.0, false))
        .transpose()?;
    let interval = super::secs("-i", a.interval, true)?;
    let count = match a.count {
        _ if a.until_stopped => None,
        Some(0) => None,
        Some(n) => Some(n),
        None if deadline.is_some() => None,
        None => Some(1),
    };
    if count == Some(1) && deadline.is_none() {
        // -i has a default: only a value of the user's differs from it.
        if a.interval.to_bits() != 1.0f64.to_bits() {
            return Err(usage(format!(
                "-i {} paces the rounds of a scan: give -t, -c N or -w SECS too (pace the probes within a round with --rate PER_S)",
                a.interval
            )));
        }
        if a.quiet_ok {
            return Err(usage(
                "--quiet-ok with one round: no state change to show; give -t, -c N or -w SECS, or drop --quiet-ok",
            ));
        }
        return Ok(None);
    }
    if a.quiet_ok && count == Some(1) {
        return Err(usage(
            "--quiet-ok with -c 1: one round makes no state change to show; drop --quiet-ok",
        ));
    }
    Ok(Some((count, interval, deadline)))
}

/// A scan's plan from the flags: the rounds' flags first, then the scan's
/// ([`super::scan::settings`]).
///
/// # Errors
/// A usage error (exit 2) of one line that names the flag or the target.
pub fn plan(a: &ProbeArgs) -> Result<Plan> {
    let rep = repeat(a)?;
    let scan = super::scan::settings(a)?;
    Ok(match rep {
        None => Plan::Once(scan),
        Some((count, interval, deadline)) => Plan::Rounds(Settings {
            scan,
            count,
            interval,
            deadline,
        }),
    })
}

/// The header's "how many": `until stopped`, `5 rounds`, and the deadline.
fn how_many(s: &Settings) -> String {
    let count = match s.count {
        Some(1) => "1 round".to_string(),
        Some(n) => format!("{n} rounds"),
        None => "until stopped".to_string(),
    };
    match s.deadline {
        Some(d) => format!("{count}, at most {} s", watch::secs(d.as_secs_f64())),
        None => count,
    }
}

fn header(out: &mut Out, s: &Settings, probes: u64, parallel: usize) -> std::io::Result<()> {
    let rate = s
        .scan
        .rate
        .map(|r| format!(", at most {r} new per second"))
        .unwrap_or_default();
    let close = match s.scan.close {
        CloseWith::Rst => "RST",
        CloseWith::Fin => "FIN",
    };
    let pace = if s.interval.is_zero() {
        "rounds back to back".to_string()
    } else {
        format!("a round every {} s", watch::secs(s.interval.as_secs_f64()))
    };
    writeln!(
        out,
        "SCAN {probes} probes a round, {}, {pace}, at most {parallel} in flight{rate}, timeout {:.1} s, closing with {close}",
        how_many(s),
        s.scan.connect.timeout.as_secs_f64()
    )
}

/// What is shown of the rounds: which lines, in which format.
struct View {
    json: bool,
    /// Only open ports' lines (changes always).
    open_only: bool,
    /// Only the changes.
    quiet_ok: bool,
}

/// A probe's line (or record), then its change's.
fn render_probe(
    out: &mut Out,
    view: &View,
    round: u64,
    p: &scan::Probed,
    change: Option<&crate::probe::watch::Change<crate::probe::watch::Key>>,
) -> std::io::Result<()> {
    if !view.quiet_ok && (!view.open_only || p.outcome.is_open()) {
        if view.json {
            serde_json::to_writer(&mut *out, &super::scan::attempt_json(round, p))?;
            writeln!(out)?;
        } else {
            let line = super::outcome_line(&p.target.to_string(), &p.outcome);
            writeln!(out, "{round}: {line}")?;
        }
    }
    if let Some(c) = change {
        if view.json {
            let mut v = watch::change_json(super::SCHEMA, round, c);
            if let Value::Object(m) = &mut v {
                m.insert("host".into(), json!(p.target.ip().to_string()));
                m.insert("port".into(), json!(p.target.port()));
            }
            serde_json::to_writer(&mut *out, &v)?;
            writeln!(out)?;
        } else {
            writeln!(out, "{}", watch::change_line(c))?;
        }
    }
    Ok(())
}

fn stopped(by: Stop) -> &'static str {
    match by {
        Stop::Count => "after the last round",
        Stop::Deadline => "at the deadline (-w)",
        Stop::Interrupt => "by Ctrl-C",
    }
}

/// The summary: the counts over every round, then each (host, port) that
/// went down.
fn write_text(out: &mut Out, r: &Report) -> std::io::Result<()> {
    let hosts = r.hosts.len();
    writeln!(
        out,
        "--- scan: {} round{}, {} probes of {hosts} host{}, {:.2} s ({:.0} probes/s), at most {} in flight ---",
        r.rounds,
        if r.rounds == 1 { "" } else { "s" },
        r.probes,
        if hosts == 1 { "" } else { "s" },
        r.elapsed_s,
        r.probes_per_second,
        r.parallel
    )?;
    super::scan::counts_table(out, &r.hosts, &r.total)?;
    if r.rounds == 0 {
        writeln!(
            out,
            "no round ended before the run was stopped (a round waits up to -W for silent ports)"
        )?;
    }
    for p in &r.down {
        let d = p.downtime;
        writeln!(
            out,
            "{} down {} time{}, longest {} s, total {} s down{}",
            p.target,
            d.periods,
            if d.periods == 1 { "" } else { "s" },
            watch::secs(d.longest_s),
            watch::secs(d.total_s),
            if d.down_at_end {
                " (down at the end)"
            } else {
                ""
            }
        )?;
    }
    writeln!(
        out,
        "went down: {}; never open: {}; stopped {}",
        r.down.len(),
        r.never_open,
        stopped(r.stopped_by)
    )
}

/// The `scan_summary` record of a single scan, plus the rounds' fields.
fn write_json(out: &mut Out, r: &Report, s: &Settings) -> std::io::Result<()> {
    let hosts: Vec<_> = r
        .hosts
        .iter()
        .map(|h| json!({"host": h.host.to_string(), "states": h.counts}))
        .collect();
    let down: Vec<_> = r
        .down
        .iter()
        .map(|p| {
            let d = p.downtime;
            json!({
                "target": p.target.to_string(),
                "host": p.target.host,
                "port": p.target.port,
                "down_periods": d.periods,
                "longest_down_s": d.longest_s,
                "downtime_s": d.total_s,
                "down_at_end": d.down_at_end,
            })
        })
        .collect();
    let v = json!({
        "schema": super::SCHEMA,
        "type": "scan_summary",
        "probes": r.probes,
        "open": r.total.open,
        "states": r.total,
        "hosts": hosts,
        "parallel": r.parallel,
        "rate": s.scan.rate,
        "timeout_s": s.scan.connect.timeout.as_secs_f64(),
        "elapsed_s": r.elapsed_s,
        "probes_per_second": r.probes_per_second,
        "interrupted": r.stopped_by == Stop::Interrupt,
        "rounds": r.rounds,
        "rounds_without_open": r.rounds_without_open,
        "interval_s": s.interval.as_secs_f64(),
        "until_stopped": s.count.is_none(),
        "stopped_by": r.stopped_by,
        "down": down,
        "never_open": r.never_open,
    });
    serde_json::to_writer(&mut *out, &v)?;
    writeln!(out)
}

/// The scan in rounds: 0 when every probe of every round was open (with
/// `--open`: when every round found at least one open), and at least one
/// round was made; 1 otherwise.
///
/// # Errors
/// Setup errors (exit 2), a failure on our side, or a closed stdout.
pub fn run(a: &ProbeArgs, s: &Settings) -> Result<Status> {
    let view = View {
        json: a.json,
        open_only: a.open,
        quiet_ok: a.quiet_ok,
    };
    let mut out = Out::stdout();
    let report = rounds::run(s, &mut |e| match e {
        Event::ParallelLowered {
            asked,
            allowed,
            limit,
        } => {
            crate::say!(
                "nettool: --parallel {asked} lowered to {allowed}: the open-files limit (RLIMIT_NOFILE) is {limit}, even raised to its hard limit (raise it with `ulimit -Hn` as root, or in limits.conf)"
            );
            Ok(())
        }
        Event::Started { .. } if view.json => Ok(()),
        Event::Started { probes, parallel } => {
            header(&mut out, s, probes, parallel)?;
            out.flush()
        }
        Event::Probed {
            round,
            probe,
            change,
        } => render_probe(&mut out, &view, round, &probe, change.as_ref()),
        Event::RoundEnded { .. } => out.flush(),
    })
    .map_err(|e| super::scan::scan_error(e, &s.scan))?;
    if view.json {
        write_json(&mut out, &report, s)?;
    } else {
        write_text(&mut out, &report)?;
    }
    out.flush()?;
    Ok(if report.passed(a.open) {
        Status::Success
    } else {
        Status::NotFound
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of(argv: &[&str]) -> Result<Plan> {
        let a = super::super::test_args(argv);
        assert!(super::super::scan::wanted(&a), "{argv:?} is a scan");
        plan(&a)
    }

    fn rounds_of(argv: &[&str]) -> Settings {
        match plan_of(argv).unwrap() {
            Plan::Rounds(r) => r,
            Plan::Once(_) => panic!("{argv:?} is one round"),
        }
    }

    #[test]
    fn settings_from_argv() {
        let once = |argv: &[&str]| matches!(plan_of(argv).unwrap(), Plan::Once(_));
        assert!(once(&["198.51.100.2:22,80"]));
        assert!(once(&["-c", "1", "198.51.100.2:22", "198.51.100.3:7000"]));
        let r = rounds_of(&["-t", "198.51.100.2:22,80", "198.51.100.3:7000"]);
        assert_eq!(
            (r.count, r.interval, r.deadline),
            (None, Duration::from_secs(1), None)
        );
        // The scan of each round is the scan once.
        let Plan::Once(once_scan) = plan_of(&["198.51.100.2:22,80", "198.51.100.3:7000"]).unwrap()
        else {
            panic!("one round")
        };
        assert_eq!(r.scan, once_scan);
        assert_eq!(r.scan.targets.len(), 2);
        let r = rounds_of(&["-c", "0", "-i", "0.2", "-w", "5", "198.51.100.2:22,80"]);
        assert_eq!(
            (r.count, r.interval, r.deadline),
            (
                None,
                Duration::from_millis(200),
                Some(Duration::from_secs(5))
            )
        );
        let r = rounds_of(&["-c", "3", "-i", "0", "--quiet-ok", "198.51.100.0/30:22"]);
        assert_eq!((r.count, r.interval), (Some(3), Duration::ZERO));
        // -w alone: until the deadline, a round a second.
        let r = rounds_of(&["-w", "2.5", "--open", "198.51.100.2:1-100"]);
        assert_eq!(
            (r.count, r.interval, r.deadline),
            (
                None,
                Duration::from_secs(1),
                Some(Duration::from_millis(2500))
            )
        );
        // -c 1 with a deadline: one round, in the rounds' form.
        assert_eq!(
            rounds_of(&["-c", "1", "-w", "9", "198.51.100.2:22,80"]).count,
            Some(1)
        );
    }

    #[test]
    fn bad_argv_is_one_line_that_says_why() {
        for (argv, said) in [
            (
                &["-i", "0.1", "198.51.100.2:22,80"][..],
                "-i 0.1 paces the rounds of a scan: give -t, -c N or -w SECS too (pace the probes within a round with --rate PER_S)",
            ),
            (
                &["--quiet-ok", "198.51.100.2:22,80"],
                "--quiet-ok with one round: no state change to show; give -t, -c N or -w SECS, or drop --quiet-ok",
            ),
            (
                &["--quiet-ok", "-c", "1", "-w", "5", "198.51.100.2:22,80"],
                "--quiet-ok with -c 1: one round makes no state change to show; drop --quiet-ok",
            ),
            (
                &["-t", "-i", "-1", "198.51.100.2:22,80"],
                "-i -1: give 0, or 0.001 to 86400 seconds (fractions allowed)",
            ),
            (
                &["-t", "-w", "0", "198.51.100.2:22,80"],
                "-w 0: give 0.001 to 31536000 seconds (fractions allowed)",
            ),
            (
                &["-t", "-r", "198.51.100.2:22", "198.51.100.3:22"],
                "-r works on one HOST:PORT, not on a scan of many",
            ),
            (
                &["-c", "5", "-v", "198.51.100.2:22,80"],
                "-v works on one HOST:PORT, not on a scan of many",
            ),
            // The rounds' flags are checked before the targets.
            (
                &["--quiet-ok", "198.51.100.2:0,22"],
                "--quiet-ok with one round: no state change to show; give -t, -c N or -w SECS, or drop --quiet-ok",
            ),
        ] {
            let e = plan_of(argv).expect_err(&format!("{argv:?}"));
            assert!(
                e.downcast_ref::<crate::UsageError>().is_some(),
                "{argv:?}: exit 2"
            );
            assert_eq!(e.to_string(), said, "{argv:?}");
        }
    }
}
