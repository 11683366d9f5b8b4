//! `nettool arp --watch`: flags -> [`Settings`] ->
//! [`crate::arp::watch::run::run`] -> a line per event (or a
//! `nettool.arp.event/1` JSON line), and a closing summary: events per
//! kind, frames, kernel drops. With `--prometheus` the summary is metrics
//! instead, at exit; with `--textfile` the file is rewritten while the
//! watch runs (at most once a second, when something changed, and once a
//! minute on a quiet link) and at exit, SIGTERM included, so
//! `node_exporter` sees the watch live.

use anyhow::Result;
use std::fmt::Write as _;
use std::io::Write as _;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use super::usage;
use crate::Status;
use crate::arp::watch::run::{self, Error, Progress, Report, Settings, Sink};
use crate::arp::watch::{Event, EventKind, Limits, Summary, What};
use crate::cli::{ArpArgs, MetricsArgs};
use crate::output::prometheus::arp::{WatchView, watch};
use crate::output::time::clock;
use crate::output::{Out, escape_control};

/// What the front end adds to the library's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub run: Settings,
    pub json: bool,
    /// No event lines: the summary only.
    pub quiet: bool,
}

/// The validated settings of a watch, from the flags (clap has already
/// refused the flags of other modes).
///
/// # Errors
/// A [`UsageError`](crate::UsageError) naming the flag.
pub fn settings(a: &ArpArgs) -> Result<Options> {
    if a.count == Some(0) {
        return Err(usage("-c 0: give a count of at least 1 event"));
    }
    let duration = a
        .deadline
        .map(|d| super::seconds("--duration", d, 0.001..=31_536_000.0, false))
        .transpose()?;
    let mut interfaces: Vec<String> = Vec::new();
    for i in &a.interface {
        if !interfaces.contains(i) {
            interfaces.push(i.clone());
        }
    }
    Ok(Options {
        run: Settings {
            interfaces,
            db: a.db.clone(),
            count: a.count,
            duration,
            limits: Limits::default(),
        },
        json: a.json,
        quiet: a.quiet,
    })
}

/// Parse, watch, render.
///
/// # Errors
/// Setup problems are usage errors (exit 2); a ring failing mid-run, or
/// the database failing to save at the end, exit 1.
pub fn run(a: &ArpArgs) -> Result<Status> {
    let o = settings(a)?;
    let metrics = a.metrics.wanted();
    let mut sink = Lines {
        out: Out::stdout(),
        json: o.json,
        quiet: o.quiet || metrics,
        failed: None,
        live: a.metrics.textfile.as_ref().map(|t| Live {
            // The live file only; stdout gets the metrics once, at exit.
            to: MetricsArgs {
                prometheus: false,
                textfile: Some(t.clone()),
            },
            written: None,
        }),
    };
    let report = run::run(&o.run, &mut sink, &mut |w| crate::say!("{w}"));
    if let Some(e) = sink.failed {
        return Err(e);
    }
    let mut out = sink.out;
    let report = match report {
        Ok(r) => r,
        Err(e @ (Error::Setup(_) | Error::Db(_))) => return Err(usage(e.to_string())),
        Err(e @ Error::Capture { .. }) => return Err(e.into()),
    };
    if metrics {
        let view = WatchView::new(
            &report.interfaces,
            (report.frames, report.ignored, report.drops),
            &report.summary,
        );
        super::metrics::emit(&a.metrics, "arp", watch(&view)?, true)?;
    } else if o.json {
        serde_json::to_writer(&mut out, &summary_json(&report))?;
        out.write_all(b"\n")?;
    } else {
        out.write_all(summary_text(&report).as_bytes())?;
    }
    out.flush()?;
    match &report.saved {
        Some(Err(e)) => Err(anyhow::anyhow!("{e}")),
        _ => Ok(Status::Success),
    }
}

/// Events to stdout, as lines or JSON lines. Written through a buffer and
/// flushed whenever the rings are empty: at once on a quiet link, in big
/// writes under a flood (a write per event cost frames).
struct Lines {
    out: Out,
    json: bool,
    quiet: bool,
    failed: Option<anyhow::Error>,
    /// `--textfile`: rewritten as the watch goes.
    live: Option<Live>,
}

/// The textfile a watch keeps rewriting, and what it last said.
struct Live {
    to: MetricsArgs,
    /// Frames, ignored, drops and the summary last written, and when.
    written: Option<((u64, u64, u64), Summary, Instant)>,
}

/// How often a live textfile may be rewritten: `node_exporter` reads it at
/// each scrape, seconds apart, and a rename per frame would cost a flood.
const LIVE_EVERY: Duration = Duration::from_secs(1);

/// How often a live textfile is rewritten on a quiet link all the same:
/// its `nettool_last_run_timestamp_seconds` then keeps moving, so a stale
/// check (`time() - timestamp > 300` in the example rules) tells a dead
/// watch from a quiet one.
const LIVE_HEARTBEAT: Duration = Duration::from_secs(60);

impl Lines {
    fn fail(&mut self, r: anyhow::Result<()>) -> ControlFlow<()> {
        match r {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                self.failed = Some(e);
                ControlFlow::Break(())
            }
        }
    }
}

impl Sink for Lines {
    fn event(&mut self, e: &Event) -> ControlFlow<()> {
        if self.quiet {
            return ControlFlow::Continue(());
        }
        let r = if self.json {
            serde_json::to_writer(&mut self.out, e)
                .map_err(std::io::Error::from)
                .and_then(|()| self.out.write_all(b"\n"))
        } else {
            self.out.write_all(line(e).as_bytes())
        };
        self.fail(r.map_err(Into::into))
    }

    fn idle(&mut self) -> ControlFlow<()> {
        let r = self.out.flush();
        self.fail(r.map_err(Into::into))
    }

    fn progress_every(&self) -> Option<Duration> {
        self.live.as_ref().map(|_| LIVE_EVERY)
    }

    /// The live textfile, when something changed since it was written
    /// (the first time: at once, so the watch shows from its start), or a
    /// heartbeat ([`LIVE_HEARTBEAT`]) has passed.
    fn progress(&mut self, p: &Progress<'_>) -> ControlFlow<()> {
        let Some(live) = &mut self.live else {
            return ControlFlow::Continue(());
        };
        let now = ((p.frames, p.ignored, p.drops), p.summary);
        let same = live.written.as_ref().is_some_and(|(counts, summary, at)| {
            (*counts, *summary) == now && at.elapsed() < LIVE_HEARTBEAT
        });
        if same {
            return ControlFlow::Continue(());
        }
        live.written = Some((now.0, now.1, Instant::now()));
        let view = WatchView::new(p.interfaces, now.0, &p.summary);
        let r = watch(&view)
            .map_err(anyhow::Error::from)
            .and_then(|e| super::metrics::emit(&live.to, "arp", e, true));
        self.fail(r)
    }
}

/// One event as a line: time, interface, what, then its addresses.
pub fn line(e: &Event) -> String {
    let mut l = format!("{} {} ", clock(e.at), e.interface);
    let _ = match &e.what {
        What::NewStation { ip, mac, vendor } => {
            write!(l, "new station {ip} {mac} {}", escape_control(vendor))
        }
        What::Changed {
            ip,
            mac,
            vendor,
            old_mac,
            old_last_seen,
        } => write!(
            l,
            "changed MAC {ip} {mac} {} (was {old_mac}, last seen {})",
            escape_control(vendor),
            clock(*old_last_seen)
        ),
        What::FlipFlop {
            ip,
            mac,
            mac_last_seen,
            old_mac,
            old_last_seen,
        } => write!(
            l,
            "flip-flop {ip} {mac} (back from {old_mac}, last seen {}; {mac} last seen {})",
            clock(*old_last_seen),
            clock(*mac_last_seen)
        ),
        What::ManyIps { mac, vendor, ips } => write!(
            l,
            "many IPs {mac} {} claims {ips} addresses",
            escape_control(vendor)
        ),
        What::Announcement { ip, mac } => {
            let how = if ip.is_ipv4() {
                "gratuitous ARP"
            } else {
                "unsolicited NA"
            };
            write!(l, "announcement {ip} {mac} ({how})")
        }
        What::Bogon { ip, mac, reason } => {
            write!(
                l,
                "bogon {ip} {mac} ({})",
                reason.as_str().replace('_', " ")
            )
        }
        What::EtherMismatch { ip, mac, eth_src } => {
            write!(l, "ether mismatch {ip} {mac} (sent from {eth_src})")
        }
    };
    l.push('\n');
    l
}

/// The closing lines: per-kind counts, frames, drops, the database.
pub fn summary_text(r: &Report) -> String {
    let s = &r.summary;
    let mut t = format!(
        "--- watch on {}: {} frames ({} ignored), {} dropped by the kernel; stopped by {}\n",
        r.interfaces.join(", "),
        r.frames,
        r.ignored,
        r.drops,
        r.stopped_by.as_str()
    );
    let counts: Vec<String> = EventKind::ALL
        .iter()
        .map(|&k| format!("{} {}", s.events.get(k), k.as_str()))
        .collect();
    let _ = writeln!(t, "events: {}", counts.join(", "));
    let _ = write!(
        t,
        "stations: {} held, {} from the database",
        s.stations, r.loaded
    );
    if s.evicted_stations > 0 {
        let _ = write!(t, ", {} evicted (cap reached)", s.evicted_stations);
    }
    match &r.saved {
        Some(Ok(n)) => {
            let _ = write!(t, "; {n} saved");
        }
        Some(Err(_)) => t.push_str("; NOT saved"),
        None => {}
    }
    t.push('\n');
    t
}

/// The last JSON line: the machine's summary (schema and `"event":
/// "summary"` first) plus what the loop saw.
#[derive(serde::Serialize)]
pub struct SummaryLine<'a> {
    #[serde(flatten)]
    summary: crate::arp::watch::Summary,
    interfaces: &'a [String],
    frames: u64,
    ignored_frames: u64,
    kernel_drops: u64,
    stopped_by: &'static str,
    loaded_stations: usize,
    saved_stations: Option<usize>,
}

pub fn summary_json(r: &Report) -> SummaryLine<'_> {
    SummaryLine {
        summary: r.summary,
        interfaces: &r.interfaces,
        frames: r.frames,
        ignored_frames: r.ignored,
        kernel_drops: r.drops,
        stopped_by: r.stopped_by.as_str(),
        loaded_stations: r.loaded,
        saved_stations: match &r.saved {
            Some(Ok(n)) => Some(*n),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arp::watch::FrameKind;
    use clap::Parser as _;
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    fn options(argv: &[&str]) -> Result<Options> {
        let cli = crate::cli::Cli::try_parse_from(argv).map_err(|e| usage(e.to_string()))?;
        let crate::cli::Command::Arp(a) = cli.command else {
            panic!("not arp: {argv:?}")
        };
        settings(&a)
    }

    #[test]
    fn watch_flags_become_settings() {
        let o = options(&[
            "nettool",
            "arp",
            "--watch",
            "-I",
            "a0",
            "-I",
            "b0",
            "-I",
            "a0",
            "--db",
            "s.db",
            "-c",
            "5",
            "--duration",
            "2.5",
            "--json",
        ])
        .unwrap();
        assert_eq!(o.run.interfaces, ["a0", "b0"]);
        assert_eq!(o.run.db.as_deref(), Some(std::path::Path::new("s.db")));
        assert_eq!((o.run.count, o.run.duration), (Some(5), Some(secs(2.5))));
        assert!(o.json && !o.quiet);
        let o = options(&["nettool", "arp", "--watch", "-w", "1", "-q"]).unwrap();
        assert!(o.run.interfaces.is_empty() && o.run.db.is_none());
        assert_eq!(o.run.duration, Some(secs(1.0)));
        assert!(o.quiet);
    }

    #[test]
    fn bad_watch_flags_are_refused() {
        assert!(options(&["nettool", "arp", "--watch", "-c", "0"]).is_err());
        assert!(options(&["nettool", "arp", "--watch", "--duration", "-1"]).is_err());
        assert!(options(&["nettool", "arp", "--watch", "198.51.100.2"]).is_err());
        assert!(options(&["nettool", "arp", "--watch", "-D"]).is_err());
        assert!(options(&["nettool", "arp", "--db", "x"]).is_err());
        // Several -I are for --watch only.
        let cli = crate::cli::Cli::try_parse_from([
            "nettool",
            "arp",
            "-I",
            "a0",
            "-I",
            "b0",
            "198.51.100.2",
        ])
        .unwrap();
        let crate::cli::Command::Arp(a) = cli.command else {
            panic!("not arp")
        };
        let e = crate::cmd::arp::settings(&a).unwrap_err().to_string();
        assert!(e.contains("only --watch"), "{e}");
    }

    #[test]
    fn events_read_as_lines() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let e = |what| Event {
            at,
            interface: Arc::from("veth0"),
            frame: FrameKind::ArpReply,
            what,
        };
        let ip = "198.51.100.7".parse().unwrap();
        let mac = "02:00:00:00:00:07".parse().unwrap();
        let old = "02:00:00:00:00:08".parse().unwrap();
        let l = line(&e(What::Changed {
            ip,
            mac,
            vendor: "(locally administered)".into(),
            old_mac: old,
            old_last_seen: at,
        }));
        let t = clock(at);
        assert_eq!(
            l,
            format!(
                "{t} veth0 changed MAC 198.51.100.7 02:00:00:00:00:07 (locally administered) (was 02:00:00:00:00:08, last seen {t})\n"
            )
        );
        let l = line(&e(What::NewStation {
            ip,
            mac,
            vendor: "EVIL\x1b[2J".into(),
        }));
        assert!(l.ends_with("new station 198.51.100.7 02:00:00:00:00:07 EVIL\\x1b[2J\n"));
    }
}
