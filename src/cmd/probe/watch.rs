//! Rendering what a probe run until stopped adds: the header's count, the
//! state-change lines and JSON records, the summary's down periods.

use serde_json::{Map, Value, json};

use crate::output::time::{clock, iso};
use crate::probe::watch::{Change, ChangeKind, Key};
use crate::probe::{Report, Settings, Stop};

/// The header's "how many": `4 attempts`, `until stopped`, and the deadline.
pub fn how_many(s: &Settings) -> String {
    let count = match s.count {
        Some(1) => "1 attempt".to_string(),
        Some(n) => format!("{n} attempts"),
        None => "until stopped".to_string(),
    };
    match s.deadline {
        Some(d) => format!("{count}, at most {} s", secs(d.as_secs_f64())),
        None => count,
    }
}

/// The header's target: the address, and the name when it is resolved
/// again before each attempt.
pub fn header_target(s: &Settings) -> String {
    match &s.resolve {
        Some(r) => format!(
            "{} ({}, resolved again before each attempt)",
            Key {
                host: r.name.clone(),
                port: r.port
            },
            s.target
        ),
        None => s.target.to_string(),
    }
}

/// Seconds as people read them: `7.2`, `0.35`, `3600`.
pub fn secs(v: f64) -> String {
    if v >= 10.0 {
        format!("{v:.1}").trim_end_matches(".0").to_string()
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A change as its line, e.g. `198.51.100.2:22 down at 12:00:03.214
/// (refused (RST)) after 41 open`.
pub fn change_line(c: &Change<Key>) -> String {
    let (target, at) = (&c.target, clock(c.at));
    match &c.kind {
        ChangeKind::Down {
            outcome,
            after_open,
            ..
        } => format!("{target} down at {at} ({outcome}) after {after_open} open"),
        ChangeKind::Up {
            after_failed,
            down_for,
            again,
        } => format!(
            "{target} up{} at {at} after {} s down ({after_failed} failed)",
            if *again { " again" } else { "" },
            secs(down_for.as_secs_f64())
        ),
        ChangeKind::Address { from, to } => {
            format!("{} address changed {from} -> {to} at {at}", target.host)
        }
    }
}

/// A change as its `--json` record (`"type":"change"`).
pub fn change_json(schema: &str, seq: u64, c: &Change<Key>) -> Value {
    let mut v = json!({
        "schema": schema,
        "type": "change",
        "seq": seq,
        "time": iso(c.at),
        "target": c.target.to_string(),
    });
    let more = match &c.kind {
        ChangeKind::Down {
            outcome,
            after_open,
            up_for,
        } => json!({
            "kind": "down",
            "outcome": outcome,
            "after_open": after_open,
            "up_for_s": up_for.as_secs_f64(),
        }),
        ChangeKind::Up {
            after_failed,
            down_for,
            again,
        } => json!({
            "kind": "up",
            "after_failed": after_failed,
            "down_for_s": down_for.as_secs_f64(),
            "again": again,
        }),
        ChangeKind::Address { from, to } => json!({
            "kind": "address",
            "name": c.target.host,
            "from": from.to_string(),
            "to": to.to_string(),
        }),
    };
    extend(&mut v, more);
    v
}

fn extend(v: &mut Value, more: Value) {
    if let (Value::Object(m), Value::Object(more)) = (v, more) {
        m.extend(more);
    }
}

/// The summary's fields about stopping, down periods and the name.
pub fn summary_fields(r: &Report) -> Map<String, Value> {
    let Value::Object(m) = json!({
        "until_stopped": r.until_stopped,
        "stopped_by": r.stopped_by,
        "down_periods": r.downtime.periods,
        "longest_down_s": r.downtime.longest_s,
        "downtime_s": r.downtime.total_s,
        "down_at_end": r.downtime.down_at_end,
        "name": r.name,
        "address_changes": r.address_changes,
    }) else {
        unreachable!("a JSON object literal")
    };
    m
}

/// The summary's lines about down periods and why the run stopped: for a
/// run until stopped, one the deadline or Ctrl-C cut short, or one that
/// followed a name (a run of `-c N` that made its N attempts keeps
/// today's summary).
pub fn summary_lines(r: &Report) -> Vec<String> {
    let d = r.downtime;
    if !r.until_stopped && r.stopped_by == Stop::Count && r.name.is_none() {
        return Vec::new();
    }
    let mut lines = Vec::new();
    let stopped = match r.stopped_by {
        Stop::Count => "after the last attempt",
        Stop::Deadline => "at the deadline (-w)",
        Stop::Interrupt => "by Ctrl-C",
    };
    lines.push(if d.periods == 0 {
        format!("never down; stopped {stopped}")
    } else {
        format!(
            "down {} time{}, longest {} s, total {} s down{}; stopped {stopped}",
            d.periods,
            if d.periods == 1 { "" } else { "s" },
            secs(d.longest_s),
            secs(d.total_s),
            if d.down_at_end {
                " (down at the end)"
            } else {
                ""
            }
        )
    });
    if let Some(name) = &r.name {
        lines.push(format!(
            "{name}: {} address change{}, last {}",
            r.address_changes,
            if r.address_changes == 1 { "" } else { "s" },
            r.target.ip()
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::watch::Downtime;
    use std::time::{Duration, UNIX_EPOCH};

    fn key() -> Key {
        Key {
            host: "198.51.100.2".into(),
            port: 22,
        }
    }

    #[test]
    fn change_lines_say_what_changed_when() {
        let at = UNIX_EPOCH + Duration::from_millis(1_800_016_496_789);
        let hms = clock(at);
        assert_eq!(hms.len(), 12, "{hms}");
        assert!(hms.ends_with(":56.789"), "{hms}");
        let down = Change {
            target: key(),
            at,
            kind: ChangeKind::Down {
                outcome: "refused (RST)".into(),
                after_open: 41,
                up_for: Duration::from_secs(4),
            },
        };
        assert_eq!(
            change_line(&down),
            format!("198.51.100.2:22 down at {hms} (refused (RST)) after 41 open")
        );
        let up = Change {
            target: key(),
            at,
            kind: ChangeKind::Up {
                after_failed: 5,
                down_for: Duration::from_millis(7217),
                again: true,
            },
        };
        assert_eq!(
            change_line(&up),
            format!("198.51.100.2:22 up again at {hms} after 7.2 s down (5 failed)")
        );
        let j = change_json("s/1", 9, &up);
        assert_eq!(j["kind"], "up");
        assert_eq!(j["after_failed"], 5);
        assert_eq!(j["seq"], 9);
        assert_eq!(j["target"], "198.51.100.2:22");
        let moved = Change {
            target: Key {
                host: "peer.lab.invalid".into(),
                port: 7000,
            },
            at,
            kind: ChangeKind::Address {
                from: "198.51.100.2".parse().unwrap(),
                to: "2001:db8::3".parse().unwrap(),
            },
        };
        assert_eq!(
            change_line(&moved),
            format!("peer.lab.invalid address changed 198.51.100.2 -> 2001:db8::3 at {hms}")
        );
        let j = change_json("s/1", 3, &moved);
        assert_eq!(
            (j["from"].as_str(), j["to"].as_str()),
            (Some("198.51.100.2"), Some("2001:db8::3"))
        );
        assert_eq!(j["target"], "peer.lab.invalid:7000");
        let t = iso(at).unwrap();
        assert!(t.contains('T') && t.contains(":56.789"), "{t}");
        assert_eq!(secs(0.25), "0.25");
        assert_eq!(secs(3600.0), "3600");
        assert_eq!(secs(12.34), "12.3");
    }

    fn report(until_stopped: bool, stopped_by: Stop, downtime: Downtime) -> Report {
        Report {
            target: "198.51.100.3:7000".parse().unwrap(),
            attempts: 10,
            open: 7,
            failed: 3,
            loss_pct: 30.0,
            handshake: None,
            kernel_rtt: None,
            elapsed_s: 1.0,
            attempts_per_second: 10.0,
            peer_failed: false,
            until_stopped,
            stopped_by,
            downtime,
            address_changes: 0,
            name: None,
        }
    }

    #[test]
    fn the_summary_counts_down_periods_of_runs_until_stopped() {
        let twice = Downtime {
            periods: 2,
            longest_s: 7.21,
            total_s: 9.05,
            down_at_end: true,
        };
        assert_eq!(
            summary_lines(&report(true, Stop::Interrupt, twice)),
            ["down 2 times, longest 7.2 s, total 9.1 s down (down at the end); stopped by Ctrl-C"]
        );
        assert_eq!(
            summary_lines(&report(true, Stop::Deadline, Downtime::default())),
            ["never down; stopped at the deadline (-w)"]
        );
        // -c N that made its N attempts: today's summary, nothing added.
        assert!(summary_lines(&report(false, Stop::Count, twice)).is_empty());
        let mut named = report(false, Stop::Count, Downtime::default());
        named.name = Some("peer.lab.invalid".into());
        named.address_changes = 1;
        assert_eq!(
            summary_lines(&named),
            [
                "never down; stopped after the last attempt",
                "peer.lab.invalid: 1 address change, last 198.51.100.3"
            ]
        );
        let j = summary_fields(&report(true, Stop::Deadline, twice));
        assert_eq!(j["stopped_by"], "deadline");
        assert_eq!(j["down_periods"], 2);
        assert_eq!(j["down_at_end"], true);
        assert_eq!(j["until_stopped"], true);
    }
}
