//! `nettool probe --prometheus` / `--textfile`: `blackbox_exporter`'s TCP
//! prober metrics, per probed (host, port), from the attempt loop's
//! [`Report`] (one target) or a scan's [`scan::Report`].
//!
//! `probe_success` and `probe_duration_seconds` keep `blackbox_exporter`'s
//! names, without the `nettool_` prefix every other family has: they mean
//! what they mean there (1 when the TCP handshake completed; how long the
//! probe took), so the dashboards and alert rules written for
//! `blackbox_exporter` (`probe_success == 0`) work on nettool's files as
//! they are. What `blackbox_exporter` does not have is prefixed.
//!
//! Labels, and why their number is bounded:
//! - `host`, `port`: the address probed (numeric: a name is resolved,
//!   a network expanded, a link-local address keeps its zone as
//!   `%IFINDEX`) and the port. One series per (host, port) the user asked
//!   for: a scan is already bounded by `--max-probes` (65,536 unless
//!   raised), and with `--open` only the open ones get series.
//! - `name`: the name as written, when the one target was given as a
//!   name (one per run); so a target whose address moves stays findable.
//! - `result`, on `probe_success` only: nettool's classification, the
//!   `result` of the JSON outcome (`open`, `refused_rst`, `refused_icmp`,
//!   `filtered`, `host_unreachable`, `network_unreachable`,
//!   `admin_prohibited`, `reset_after_accept`, `no_neighbour`, `error`):
//!   ten values. A port whose answer changes starts a new series; sum
//!   `without (result)` to follow a port over time.
//!
//! Modes:
//! - one target (`-c N`, default 4): the per-target families describe the
//!   last attempt, as `blackbox_exporter`'s describe its one probe (what the
//!   port does now); the run's attempts are counted in
//!   `nettool_probe_attempts` and `nettool_probe_open_attempts` (gauges:
//!   per run, not ever-growing).
//! - one scan: the per-target families for each (host, port), and
//!   `nettool_probe_scan_ports{result}` for every result (zeros included,
//!   so an alert on a count never meets an absent series).
//!
//! Waiting modes (`-t`, a scan in rounds, `--trace`, the behaviour tests)
//! have no one answer to write and are refused by `cmd::probe`.

use std::net::SocketAddr;

use super::{Exposition, ExpositionError, Kind};
use crate::probe::{Outcome, Report, scan};

/// Every classification, as the JSON `result` (and the label) spells it.
pub const RESULTS: [&str; 10] = [
    "open",
    "reset_after_accept",
    "refused_rst",
    "refused_icmp",
    "filtered",
    "host_unreachable",
    "network_unreachable",
    "admin_prohibited",
    "error",
    "no_neighbour",
];

/// The outcome's `result`, as its JSON says it.
pub fn result(o: &Outcome) -> &'static str {
    match o {
        Outcome::Open { .. } => "open",
        Outcome::ResetAfterAccept { .. } => "reset_after_accept",
        Outcome::RefusedRst { .. } => "refused_rst",
        Outcome::RefusedIcmp { .. } => "refused_icmp",
        Outcome::Filtered { .. } => "filtered",
        Outcome::HostUnreachable { .. } => "host_unreachable",
        Outcome::NetworkUnreachable { .. } => "network_unreachable",
        Outcome::AdminProhibited { .. } => "admin_prohibited",
        Outcome::Error { .. } => "error",
        Outcome::NoNeighbour(_) => "no_neighbour",
    }
}

/// How long the attempt took to its answer (or to giving up), seconds.
fn duration_s(o: &Outcome) -> f64 {
    let us = match o {
        Outcome::Open { handshake_us, .. } => *handshake_us,
        Outcome::ResetAfterAccept {
            handshake_us,
            reset_after_us,
        } => handshake_us + reset_after_us,
        Outcome::RefusedRst { after_us }
        | Outcome::RefusedIcmp { after_us, .. }
        | Outcome::HostUnreachable { after_us, .. }
        | Outcome::NetworkUnreachable { after_us, .. }
        | Outcome::AdminProhibited { after_us, .. }
        | Outcome::Error { after_us, .. } => *after_us,
        Outcome::Filtered { waited_us, .. } => *waited_us,
        Outcome::NoNeighbour(n) => n.after_us,
    };
    us / 1e6
}

/// The handshake time, when the handshake completed.
fn handshake_s(o: &Outcome) -> Option<f64> {
    match o {
        Outcome::Open { handshake_us, .. } | Outcome::ResetAfterAccept { handshake_us, .. } => {
            Some(handshake_us / 1e6)
        }
        _ => None,
    }
}

/// The kernel's smoothed RTT (`tcpi_rtt`) after an open handshake.
fn rtt_s(o: &Outcome) -> Option<f64> {
    match o {
        Outcome::Open { kernel_rtt_us, .. } => Some(f64::from(*kernel_rtt_us) / 1e6),
        _ => None,
    }
}

/// The `host` label: the address, with a link-local's zone index.
fn host(a: SocketAddr) -> String {
    match a {
        SocketAddr::V6(v6) if v6.scope_id() != 0 => format!("{}%{}", v6.ip(), v6.scope_id()),
        a => a.ip().to_string(),
    }
}

/// One probed (host, port) and its labels (`host`, `port`, maybe `name`).
struct Row<'a> {
    labels: Vec<(&'static str, String)>,
    outcome: &'a Outcome,
}

fn target_labels(addr: SocketAddr, name: Option<&str>) -> Vec<(&'static str, String)> {
    let mut labels = vec![("host", host(addr)), ("port", addr.port().to_string())];
    if let Some(n) = name {
        labels.push(("name", n.to_string()));
    }
    labels
}

fn borrowed<'a>(labels: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
    labels.iter().map(|(l, v)| (*l, v.as_str())).collect()
}

impl<'a> Row<'a> {
    fn new(addr: SocketAddr, name: Option<&str>, outcome: &'a Outcome) -> Row<'a> {
        Row {
            labels: target_labels(addr, name),
            outcome,
        }
    }

    fn labels(&self) -> Vec<(&str, &str)> {
        borrowed(&self.labels)
    }
}

/// The per-target families, one sample per row (handshake and rtt only
/// where they were measured).
fn per_target(e: &mut Exposition, rows: &[Row<'_>]) -> Result<(), ExpositionError> {
    let mut f = e.family(
        "probe_success",
        "1 when the TCP handshake completed (the port is open), else 0; result is nettool's classification of the answer.",
        Kind::Gauge,
    )?;
    for r in rows {
        let mut l = r.labels();
        l.push(("result", result(r.outcome)));
        f.sample(&l, if r.outcome.is_open() { 1.0 } else { 0.0 })?;
    }
    let mut f = e.family(
        "probe_duration_seconds",
        "How long the probe took: connect() to the answer, or to giving up.",
        Kind::Gauge,
    )?;
    for r in rows {
        f.sample(&r.labels(), duration_s(r.outcome))?;
    }
    let mut f = e.family(
        "nettool_probe_handshake_seconds",
        "TCP handshake time in user space, connect() to writable, when the handshake completed.",
        Kind::Gauge,
    )?;
    for r in rows {
        if let Some(s) = handshake_s(r.outcome) {
            f.sample(&r.labels(), s)?;
        }
    }
    let mut f = e.family(
        "nettool_probe_rtt_seconds",
        "The kernel's smoothed round-trip time (TCP_INFO tcpi_rtt) right after an open handshake.",
        Kind::Gauge,
    )?;
    for r in rows {
        if let Some(s) = rtt_s(r.outcome) {
            f.sample(&r.labels(), s)?;
        }
    }
    Ok(())
}

/// The attempt loop's run: the last attempt (`None` when none was made)
/// and the counts. `name`: the target as written, when it was a name.
///
/// # Errors
/// Only a renderer bug (a bad name or label): the format's checks.
pub fn single(
    r: &Report,
    last: Option<(SocketAddr, &Outcome)>,
    name: Option<&str>,
) -> Result<Exposition, ExpositionError> {
    let mut e = Exposition::new();
    let rows: Vec<Row<'_>> = last
        .into_iter()
        .map(|(addr, o)| Row::new(addr, name, o))
        .collect();
    per_target(&mut e, &rows)?;
    let totals = target_labels(last.map_or(r.target, |(a, _)| a), name);
    let l = borrowed(&totals);
    e.family(
        "nettool_probe_attempts",
        "Connection attempts made in this run.",
        Kind::Gauge,
    )?
    .sample(&l, count(r.attempts))?;
    e.family(
        "nettool_probe_open_attempts",
        "Connection attempts in this run whose handshake completed.",
        Kind::Gauge,
    )?
    .sample(&l, count(r.open))?;
    Ok(e)
}

/// A scan: each (host, port) (with `open_only`, the open ones), and the
/// probes per result.
///
/// # Errors
/// Only a renderer bug (a bad name or label): the format's checks.
pub fn scan(r: &scan::Report, open_only: bool) -> Result<Exposition, ExpositionError> {
    let mut e = Exposition::new();
    let rows: Vec<Row<'_>> = r
        .results
        .iter()
        .filter(|p| !open_only || p.outcome.is_open())
        .map(|p| Row::new(p.target, None, &p.outcome))
        .collect();
    per_target(&mut e, &rows)?;
    let mut f = e.family(
        "nettool_probe_scan_ports",
        "(host, port) pairs probed by the scan, by nettool's classification of the answer.",
        Kind::Gauge,
    )?;
    for name in RESULTS {
        let n = r
            .results
            .iter()
            .filter(|p| result(&p.outcome) == name)
            .count();
        f.sample(&[("result", name)], count(n as u64))?;
    }
    Ok(e)
}

#[allow(
    clippy::cast_precision_loss,
    reason = "counts of attempts and probes, far below 2^53"
)]
fn count(n: u64) -> f64 {
    n as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::Stop;
    use crate::probe::scan::{Counts, Probed};
    use crate::probe::{Icmp, watch::Downtime};

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn open(us: f64, rtt: u32) -> Outcome {
        Outcome::Open {
            handshake_us: us,
            kernel_rtt_us: rtt,
            peer: None,
        }
    }

    #[test]
    fn result_is_what_the_json_says() {
        let icmp = Icmp {
            version: 4,
            icmp_type: 3,
            code: 3,
            from: None,
        };
        let outcomes = [
            open(1.0, 1),
            Outcome::ResetAfterAccept {
                handshake_us: 1.0,
                reset_after_us: 1.0,
            },
            Outcome::RefusedRst { after_us: 1.0 },
            Outcome::RefusedIcmp {
                after_us: 1.0,
                icmp,
            },
            Outcome::Filtered {
                waited_us: 1.0,
                syn_retransmits: 1,
            },
            Outcome::HostUnreachable {
                after_us: 1.0,
                icmp: None,
            },
            Outcome::NetworkUnreachable {
                after_us: 1.0,
                icmp: None,
            },
            Outcome::AdminProhibited {
                after_us: 1.0,
                icmp,
            },
            Outcome::Error {
                after_us: 1.0,
                error: "x".into(),
            },
        ];
        for o in &outcomes {
            let v = serde_json::to_value(o).unwrap();
            assert_eq!(v["result"], result(o), "{o:?}");
            assert!(RESULTS.contains(&result(o)));
        }
        assert_eq!(RESULTS.len(), outcomes.len() + 1, "no_neighbour besides");
    }

    fn session_report(attempts: u64, open: u64) -> Report {
        Report {
            target: addr("198.51.100.2:80"),
            attempts,
            open,
            failed: attempts - open,
            loss_pct: 0.0,
            handshake: None,
            kernel_rtt: None,
            elapsed_s: 1.0,
            attempts_per_second: 1.0,
            peer_failed: false,
            until_stopped: false,
            stopped_by: Stop::Count,
            downtime: Downtime::default(),
            address_changes: 0,
            name: None,
        }
    }

    #[test]
    fn one_target_is_its_last_attempt_and_the_counts() {
        let r = session_report(3, 2);
        let o = open(250.0, 125);
        let e = single(&r, Some((addr("198.51.100.2:80"), &o)), Some("web")).unwrap();
        let l = "host=\"198.51.100.2\",port=\"80\",name=\"web\"";
        assert_eq!(
            e.finish(),
            format!(
                "# HELP probe_success 1 when the TCP handshake completed (the port is open), else 0; result is nettool's classification of the answer.\n\
                 # TYPE probe_success gauge\n\
                 probe_success{{{l},result=\"open\"}} 1\n\
                 # HELP probe_duration_seconds How long the probe took: connect() to the answer, or to giving up.\n\
                 # TYPE probe_duration_seconds gauge\n\
                 probe_duration_seconds{{{l}}} 0.00025\n\
                 # HELP nettool_probe_handshake_seconds TCP handshake time in user space, connect() to writable, when the handshake completed.\n\
                 # TYPE nettool_probe_handshake_seconds gauge\n\
                 nettool_probe_handshake_seconds{{{l}}} 0.00025\n\
                 # HELP nettool_probe_rtt_seconds The kernel's smoothed round-trip time (TCP_INFO tcpi_rtt) right after an open handshake.\n\
                 # TYPE nettool_probe_rtt_seconds gauge\n\
                 nettool_probe_rtt_seconds{{{l}}} 0.000125\n\
                 # HELP nettool_probe_attempts Connection attempts made in this run.\n\
                 # TYPE nettool_probe_attempts gauge\n\
                 nettool_probe_attempts{{{l}}} 3\n\
                 # HELP nettool_probe_open_attempts Connection attempts in this run whose handshake completed.\n\
                 # TYPE nettool_probe_open_attempts gauge\n\
                 nettool_probe_open_attempts{{{l}}} 2\n"
            )
        );
    }

    #[test]
    fn a_refused_target_has_no_handshake_nor_rtt() {
        let r = session_report(1, 0);
        let o = Outcome::RefusedRst { after_us: 500.0 };
        let e = single(&r, Some((addr("[fe80::2%3]:22"), &o)), None).unwrap();
        let samples: Vec<String> = e
            .finish()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(String::from)
            .collect();
        assert_eq!(
            samples,
            [
                "probe_success{host=\"fe80::2%3\",port=\"22\",result=\"refused_rst\"} 0",
                "probe_duration_seconds{host=\"fe80::2%3\",port=\"22\"} 0.0005",
                "nettool_probe_attempts{host=\"fe80::2%3\",port=\"22\"} 1",
                "nettool_probe_open_attempts{host=\"fe80::2%3\",port=\"22\"} 0",
            ]
        );
    }

    #[test]
    fn a_scan_has_a_series_per_port_and_counts_per_result() {
        let p = |t: &str, outcome| Probed {
            target: addr(t),
            local: None,
            outcome,
            closed_with: None,
        };
        let r = scan::Report {
            results: vec![
                p("198.51.100.2:22", open(100.0, 50)),
                p("198.51.100.2:23", Outcome::RefusedRst { after_us: 200.0 }),
                p(
                    "198.51.100.3:22",
                    Outcome::Filtered {
                        waited_us: 1e6,
                        syn_retransmits: 0,
                    },
                ),
            ],
            hosts: vec![],
            total: Counts::default(),
            probes: 3,
            parallel: 3,
            elapsed_s: 1.0,
            probes_per_second: 3.0,
            interrupted: false,
            cut_by_deadline: false,
        };
        let text = scan(&r, false).unwrap().finish();
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            samples,
            [
                "probe_success{host=\"198.51.100.2\",port=\"22\",result=\"open\"} 1",
                "probe_success{host=\"198.51.100.2\",port=\"23\",result=\"refused_rst\"} 0",
                "probe_success{host=\"198.51.100.3\",port=\"22\",result=\"filtered\"} 0",
                "probe_duration_seconds{host=\"198.51.100.2\",port=\"22\"} 0.0001",
                "probe_duration_seconds{host=\"198.51.100.2\",port=\"23\"} 0.0002",
                "probe_duration_seconds{host=\"198.51.100.3\",port=\"22\"} 1",
                "nettool_probe_handshake_seconds{host=\"198.51.100.2\",port=\"22\"} 0.0001",
                "nettool_probe_rtt_seconds{host=\"198.51.100.2\",port=\"22\"} 0.00005",
                "nettool_probe_scan_ports{result=\"open\"} 1",
                "nettool_probe_scan_ports{result=\"reset_after_accept\"} 0",
                "nettool_probe_scan_ports{result=\"refused_rst\"} 1",
                "nettool_probe_scan_ports{result=\"refused_icmp\"} 0",
                "nettool_probe_scan_ports{result=\"filtered\"} 1",
                "nettool_probe_scan_ports{result=\"host_unreachable\"} 0",
                "nettool_probe_scan_ports{result=\"network_unreachable\"} 0",
                "nettool_probe_scan_ports{result=\"admin_prohibited\"} 0",
                "nettool_probe_scan_ports{result=\"error\"} 0",
                "nettool_probe_scan_ports{result=\"no_neighbour\"} 0",
            ]
        );
        // --open: only the open port has series; the counts stay whole.
        let text = scan(&r, true).unwrap().finish();
        assert_eq!(text.matches("probe_success{").count(), 1);
        assert!(text.contains("nettool_probe_scan_ports{result=\"filtered\"} 1"));
    }
}
