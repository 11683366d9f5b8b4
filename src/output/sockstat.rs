//! Renderers of a sockstat [`Report`]: the netstat-like table, the `-s`
//! text, and JSON.
//!
//! JSON streams: one [`SocketRecord`] serialized straight into the
//! buffered output per line, so 80k rows never exist as one document or
//! as `serde_json::Value`s. The bytes are `Report`'s own `Serialize`
//! laid out one socket per line (a test holds the two together).

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::output::table::{Align, Table};
use crate::sockstat::counters;
use crate::sockstat::display::Display;
use crate::sockstat::kill::{KILL_SCHEMA, KillReport};
use crate::sockstat::names::Users;
use crate::sockstat::report::{Listing, Report, SCHEMA};
use crate::sockstat::summary::Summary;

/// The table: netstat's columns, then with `extended` User (a name from
/// `users`, else the uid), Inode and Timer, then PID/Program with `-p`.
pub fn table(l: &Listing, display: Display<'_>, extended: bool, users: Option<&Users>) -> Table {
    let mut cols = vec![
        ("Proto", Align::Left),
        ("Recv-Q", Align::Right),
        ("Send-Q", Align::Right),
        ("Local Address", Align::Left),
        ("Foreign Address", Align::Left),
        ("State", Align::Left),
    ];
    if extended {
        cols.extend([
            ("User", Align::Left),
            ("Inode", Align::Right),
            ("Timer", Align::Left),
        ]);
    }
    if l.owners.is_some() {
        cols.push(("PID/Program", Align::Left));
    }
    // -N/--all-netns: the namespace first, as `ip -all netns exec` heads
    // each namespace's block.
    let labels: Vec<String> = l.namespaces.iter().map(|sp| sp.netns.label()).collect();
    if !labels.is_empty() {
        cols.insert(0, ("Netns", Align::Left));
    }
    let mut row_labels = l
        .namespaces
        .iter()
        .zip(&labels)
        .flat_map(|(sp, label)| std::iter::repeat_n(label.as_str(), sp.rows));
    let mut t = Table::new(&cols).with_capacity(l.sockets.len());
    for s in &l.sockets {
        if let Some(label) = row_labels.next() {
            t.cell_str(label);
        }
        t.cell(|b| {
            b.push_str(s.proto_label());
            if let Some(k) = s.unix_kind {
                b.push('/');
                b.push_str(k.name());
            }
        });
        cell_known(&mut t, s.recv_q);
        cell_known(&mut t, s.send_q);
        t.cell(|b| display.write_endpoint(b, &s.local, s.proto));
        t.cell(|b| display.write_endpoint(b, &s.remote, s.proto));
        t.cell_str(s.state_label());
        if extended {
            t.cell(|b| match (s.uid, users.and_then(|u| u.name(s.uid?))) {
                (None, _) => b.push('-'),
                (Some(_), Some(name)) => b.push_str(name),
                (Some(uid), None) => {
                    let _ = write!(b, "{uid}");
                }
            });
            t.cell_num(s.inode);
            #[allow(
                clippy::cast_precision_loss,
                reason = "a kernel timer in ms, far below 2^52"
            )]
            t.cell(|b| match s.timer {
                None => b.push_str("off"),
                Some(tm) => {
                    let _ = write!(
                        b,
                        "{} ({:.2}/{})",
                        tm.kind.name(),
                        tm.expires_ms as f64 / 1000.0,
                        tm.retrans
                    );
                }
            });
        }
        if let Some(map) = &l.owners {
            t.cell(|b| {
                let mut any = false;
                for o in map.get(s.inode) {
                    if any {
                        b.push(',');
                    }
                    let _ = write!(b, "{}/{}", o.pid, o.command);
                    any = true;
                }
                if !any {
                    b.push('-');
                }
            });
        }
    }
    t
}

/// A figure the source may not know: the number, or `-`.
fn cell_known(t: &mut Table, n: Option<u32>) {
    match n {
        Some(n) => t.cell_num(n),
        None => t.cell_str("-"),
    }
}

/// `-s` as text: totals, TCP states, the kernel's figures, the diagnosis.
pub fn write_summary(out: &mut dyn Write, s: &Summary) -> io::Result<()> {
    let total: u64 = s.protocols.values().sum();
    writeln!(out, "Sockets: {total}")?;
    let mut t = Table::new(&[("Proto", Align::Left), ("Sockets", Align::Right)]);
    for (p, n) in &s.protocols {
        t.cell_str(p);
        t.cell_num(n);
    }
    t.write_plain(out)?;
    if !s.tcp_states.is_empty() {
        writeln!(out, "\nTCP states")?;
        let mut t = Table::new(&[("State", Align::Left), ("Sockets", Align::Right)]);
        for (st, n) in &s.tcp_states {
            t.cell_str(st);
            t.cell_num(n);
        }
        t.write_plain(out)?;
    }
    if !s.namespaces.is_empty() {
        write_namespace_counts(out, s)?;
    }
    if !s.kernel.is_empty() {
        writeln!(out, "\nKernel (/proc/net/sockstat; mem in pages)")?;
        for (section, kv) in &s.kernel {
            let fields: Vec<String> = kv.iter().map(|(k, v)| format!("{k} {v}")).collect();
            writeln!(out, "  {section}: {}", fields.join(", "))?;
        }
    }
    write_counters(out, s)?;
    if !s.diagnosis.is_empty() {
        writeln!(out, "\nWhat this means")?;
        for d in &s.diagnosis {
            writeln!(out, "  - {d}")?;
        }
    }
    Ok(())
}

/// `-s` with `-N`/`--all-netns`: one line per namespace, its sockets per
/// protocol and TCP state (the columns any namespace has).
fn write_namespace_counts(out: &mut dyn Write, s: &Summary) -> io::Result<()> {
    let protocols: std::collections::BTreeSet<&'static str> = s
        .namespaces
        .iter()
        .flat_map(|n| n.summary.protocols.keys().copied())
        .collect();
    let states: std::collections::BTreeSet<&'static str> = s
        .namespaces
        .iter()
        .flat_map(|n| n.summary.tcp_states.keys().copied())
        .collect();
    let mut cols = vec![("Netns", Align::Left), ("Sockets", Align::Right)];
    cols.extend(protocols.iter().map(|p| (*p, Align::Right)));
    cols.extend(states.iter().map(|st| (*st, Align::Right)));
    let mut t = Table::new(&cols);
    for n in &s.namespaces {
        t.cell_str(&n.netns.label());
        t.cell_num(n.summary.protocols.values().sum::<u64>());
        for p in &protocols {
            t.cell_num(n.summary.protocols.get(p).copied().unwrap_or(0));
        }
        for st in &states {
            t.cell_num(n.summary.tcp_states.get(st).copied().unwrap_or(0));
        }
    }
    writeln!(out, "\nPer network namespace")?;
    t.write_plain(out)
}

/// The report as JSON: a listing one socket per line inside `sockets`,
/// a summary as one indented document.
pub fn write_json(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    match report {
        Report::Sockets(l) => write_listing_json(out, l),
        Report::Summary(_) => super::json(out, report),
    }
}

fn write_listing_json(out: &mut dyn Write, l: &Listing) -> io::Result<()> {
    write!(out, "{{\"schema\":\"{SCHEMA}\",\"sockets\":[")?;
    for (i, r) in l.records().enumerate() {
        out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
        serde_json::to_writer(&mut *out, &r)?;
    }
    out.write_all(b"\n]}\n")
}

/// The protocol counters of `-s`: since boot, the ones [`counters::is_shown`]
/// names with what each means; over an interval, every one that changed
/// (as nstat), with its rate.
fn write_counters(out: &mut dyn Write, s: &Summary) -> io::Result<()> {
    // (section, key, value, rate, meaning)
    let mut rows: Vec<(&str, &str, String, String, &str)> = Vec::new();
    let heading = if let Some(i) = &s.interval {
        for (sec, key, d) in i.deltas.iter() {
            if d != 0 {
                // A level's change per second says little: no rate.
                let rate = if counters::is_gauge(sec, key) {
                    String::new()
                } else {
                    format!("{:.1}/s", i.rate(d))
                };
                let meaning = counters::meaning(sec, key).unwrap_or("");
                rows.push((sec, key, format!("{d:+}"), rate, meaning));
            }
        }
        format!(
            "\nProtocol counters over {:.2} s: what changed (nonzero only)",
            i.seconds
        )
    } else {
        for &sec in counters::SHOWN_SECTIONS {
            for (key, v) in s.counters.section(sec).unwrap_or_default() {
                if counters::is_shown(sec, key) {
                    let meaning = counters::meaning(sec, key).unwrap_or("");
                    rows.push((sec, key, v.to_string(), String::new(), meaning));
                }
            }
        }
        "\nProtocol counters since boot (in a network namespace: since it was made; --interval S shows what changes)".to_string()
    };
    if s.counters.is_empty() {
        return Ok(());
    }
    writeln!(out, "{heading}")?;
    if rows.is_empty() {
        writeln!(out, "  nothing changed")?;
    }
    let key_w = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    let value_w = rows.iter().map(|r| r.2.len()).max().unwrap_or(0);
    let rate_w = rows.iter().map(|r| r.3.len()).max().unwrap_or(0);
    let mut section = "";
    for (sec, key, value, rate, meaning) in &rows {
        if *sec != section {
            writeln!(out, "  {sec}")?;
            section = sec;
        }
        let mut line = format!("    {key:<key_w$}  {value:>value_w$}");
        if rate_w > 0 {
            let _ = write!(line, "  {rate:>rate_w$}");
        }
        if !meaning.is_empty() {
            line.push_str("  ");
            line.push_str(meaning);
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    if let Some(i) = &s.interval {
        for (sec, key, r) in i.resets.iter() {
            writeln!(
                out,
                "  {sec} {key} went down from {} to {}: reset or wrapped, no delta",
                r.before, r.after
            )?;
        }
    }
    Ok(())
}

/// `-K --json`: the [`KillReport`] document (`nettool.sockstat.kill/1`),
/// one socket per line inside each list, as a listing is written.
pub fn write_kill_json(out: &mut dyn Write, r: &KillReport) -> io::Result<()> {
    fn list<T: serde::Serialize>(
        out: &mut dyn Write,
        key: &str,
        items: impl Iterator<Item = T>,
    ) -> io::Result<()> {
        write!(out, ",\"{key}\":[")?;
        for (i, item) in items.enumerate() {
            out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
            serde_json::to_writer(&mut *out, &item)?;
        }
        out.write_all(b"\n]")
    }
    write!(out, "{{\"schema\":\"{KILL_SCHEMA}\"")?;
    list(out, "closed", r.closed_records())?;
    list(out, "vanished", r.vanished_records())?;
    list(out, "failed", r.failed_records())?;
    out.write_all(b"}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockstat::model::{
        Endpoint, Proto, Socket, TcpState, Timer, TimerKind, UnixKind, UnixName,
    };

    fn listing() -> Listing {
        let inet = Socket {
            proto: Proto::Tcp,
            v6: true,
            local: Endpoint::Inet("127.0.0.1:22".parse().unwrap()),
            remote: Endpoint::Inet("[2001:db8::1]:50000".parse().unwrap()),
            state: TcpState::Established,
            recv_q: Some(0),
            send_q: None,
            uid: Some(0),
            inode: 7,
            timer: Some(Timer {
                kind: TimerKind::Keepalive,
                expires_ms: 1500,
                retrans: 0,
            }),
            unix_kind: None,
            peer_inode: None,
        };
        let unix = Socket {
            proto: Proto::Unix,
            v6: false,
            local: Endpoint::Unix(UnixName::Path("/run/a \"b\"".into())),
            remote: Endpoint::Unix(UnixName::Abstract("peer".into())),
            state: TcpState::Listen,
            recv_q: None,
            send_q: None,
            uid: None,
            inode: 8,
            timer: None,
            unix_kind: Some(UnixKind::Stream),
            peer_inode: Some(0),
        };
        Listing {
            sockets: vec![inet, unix],
            owners: None,
            uninspected: 0,
            namespaces: Vec::new(),
        }
    }

    #[test]
    fn streamed_json_is_the_reports_own_document() {
        let report = Report::Sockets(listing());
        let mut streamed = Vec::new();
        write_json(&mut streamed, &report).unwrap();
        let text = String::from_utf8(streamed).unwrap();
        assert_eq!(text.lines().count(), 4, "one socket per line:\n{text}");
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, serde_json::to_value(&report).unwrap());
        assert_eq!(parsed["schema"], "nettool.sockstat/1");
        assert_eq!(parsed["sockets"][0]["family"], "inet6");
        assert_eq!(parsed["sockets"][0]["local"]["address"], "127.0.0.1");
        assert_eq!(parsed["sockets"][0]["timer"]["kind"], "keepalive");
        assert_eq!(parsed["sockets"][1]["local"]["path"], "/run/a \"b\"");
        assert_eq!(parsed["sockets"][1]["remote"]["abstract"], "peer");
        assert!(parsed["sockets"][1]["peer_inode"].is_null());
        assert!(parsed["sockets"][1]["processes"].is_null());
    }

    #[test]
    fn empty_listing_json() {
        let mut out = Vec::new();
        write_json(
            &mut out,
            &Report::Sockets(Listing {
                sockets: Vec::new(),
                owners: None,
                uninspected: 0,
                namespaces: Vec::new(),
            }),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"schema\":\"nettool.sockstat/1\",\"sockets\":[\n]}\n"
        );
    }

    #[test]
    fn extended_table_names_users_and_shows_unknowns_as_dashes() {
        let users = Users::parse("root:x:0:0::/:\n");
        let t = table(&listing(), Display::numeric(), true, Some(&users));
        let mut out = Vec::new();
        t.write_plain(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let rows: Vec<Vec<&str>> = text
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(
            rows[0],
            [
                "tcp6",
                "0",
                "-",
                "127.0.0.1:22",
                "[2001:db8::1]:50000",
                "ESTABLISHED",
                "root",
                "7",
                "keepalive",
                "(1.50/0)"
            ]
        );
        assert_eq!(&rows[1][..3], ["unix/stream", "-", "-"]);
        assert_eq!(rows[1][rows[1].len() - 3..], ["-", "8", "off"]);
    }

    fn summary_with(
        before: &[(&str, &str, i128)],
        after: &[(&str, &str, i128)],
        interval: bool,
    ) -> Summary {
        use crate::sockstat::counters::{Counters, Interval};
        let fill = |kv: &[(&str, &str, i128)]| {
            let mut c = Counters::default();
            for &(s, k, v) in kv {
                c.insert(s, k, v);
            }
            c
        };
        let (b, a) = (fill(before), fill(after));
        let i = interval.then(|| Interval::between(&b, &a, 1.0));
        Summary::compute(&[], Vec::new()).with_counters(
            a,
            i,
            &[],
            &std::collections::BTreeMap::new(),
        )
    }

    fn summary_text(s: &Summary) -> String {
        let mut out = Vec::new();
        write_summary(&mut out, s).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn counters_since_boot_are_the_named_ones_grouped_with_meanings() {
        let s = summary_with(
            &[],
            &[
                ("Tcp", "MaxConn", -1),
                ("Tcp", "RetransSegs", 12),
                ("TcpExt", "DelayedACKs", 5),
                ("TcpExt", "TCPFastOpenNew", 1),
                ("IpExt", "InOctets", 9),
                ("Udp6", "NoPorts", 3),
            ],
            false,
        );
        let text = summary_text(&s);
        let counters: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("Protocol counters since boot"))
            .skip(1)
            .collect();
        assert_eq!(
            counters,
            [
                "  Tcp",
                "    RetransSegs     12  segments retransmitted",
                "  TcpExt",
                "    TCPFastOpenNew   1",
                "  Udp6",
                "    NoPorts          3  datagrams to a port no socket has (ICMP port unreachable sent)",
            ],
            "{text}"
        );
    }

    #[test]
    fn counters_over_an_interval_are_the_nonzero_changes_with_rates_and_resets() {
        let s = summary_with(
            &[
                ("Tcp", "CurrEstab", 5),
                ("Tcp", "ActiveOpens", 1),
                ("Tcp", "OutSegs", 9),
                ("Ip", "InReceives", 4),
                ("TcpExt", "TW", 9),
            ],
            &[
                ("Tcp", "CurrEstab", 3),
                ("Tcp", "ActiveOpens", 1),
                ("Tcp", "OutSegs", 39),
                ("Ip", "InReceives", 4),
                ("TcpExt", "TW", 2),
            ],
            true,
        );
        let text = summary_text(&s);
        let counters: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("Protocol counters over 1.00 s"))
            .skip(1)
            .collect();
        assert_eq!(
            counters,
            [
                "  Tcp",
                "    CurrEstab   -2          connections now ESTABLISHED or CLOSE_WAIT (a level, not a counter)",
                "    OutSegs    +30  30.0/s",
                "  TcpExt TW went down from 9 to 2: reset or wrapped, no delta",
            ],
            "{text}"
        );
        let quiet = summary_with(&[("Tcp", "OutSegs", 9)], &[("Tcp", "OutSegs", 9)], true);
        assert!(summary_text(&quiet).ends_with("what changed (nonzero only)\n  nothing changed\n"));
    }

    #[test]
    fn namespaces_lead_each_row_in_the_table_and_json() {
        use crate::sockstat::container::Container;
        use crate::sockstat::netns::Netns;
        use crate::sockstat::report::Span;
        let mut l = listing();
        let ns = |name: Option<&str>, pid, container| Netns {
            inode: 4_026_532_001,
            name: name.map(str::to_string),
            host: false,
            pid,
            command: pid.map(|_| "sleep".to_string()),
            container,
        };
        let id = "ab".repeat(32);
        l.namespaces = vec![
            Span {
                netns: ns(Some("blue"), None, None),
                rows: 1,
            },
            Span {
                netns: ns(None, Some(42), None),
                rows: 0,
            },
            Span {
                netns: ns(
                    None,
                    Some(43),
                    Some(Container {
                        runtime: Some("docker"),
                        id: Some(id.clone()),
                        pod: None,
                    }),
                ),
                rows: 1,
            },
        ];
        let t = table(&l, Display::numeric(), false, None);
        let mut out = Vec::new();
        t.write_plain(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("Netns "), "{text}");
        assert!(lines[1].starts_with("blue "), "{text}");
        assert!(
            lines[2].starts_with("43/sleep docker:abababababab "),
            "{text}"
        );

        let report = Report::Sockets(l);
        let mut streamed = Vec::new();
        write_json(&mut streamed, &report).unwrap();
        let parsed: serde_json::Value = serde_json::from_slice(&streamed).unwrap();
        assert_eq!(parsed, serde_json::to_value(&report).unwrap());
        let n0 = &parsed["sockets"][0]["netns"];
        assert_eq!(n0["name"], "blue");
        assert!(n0["pid"].is_null() && n0["container"].is_null());
        assert_eq!(n0["inode"], 4_026_532_001_u64);
        let n1 = &parsed["sockets"][1]["netns"];
        assert_eq!(n1["pid"], 43);
        assert_eq!(n1["command"], "sleep");
        assert_eq!(n1["container"]["runtime"], "docker");
        assert_eq!(n1["container"]["id"], id.as_str(), "the full id in JSON");
        // Without -N/--all-netns the key is not there at all.
        let plain = Report::Sockets(listing());
        let v = serde_json::to_value(&plain).unwrap();
        assert!(v["sockets"][0].get("netns").is_none());
    }

    #[test]
    fn streamed_kill_json_is_the_reports_own_document() {
        use crate::sockstat::kill::Failure;
        let mut l = listing();
        let unix = l.sockets.pop().unwrap();
        let inet = l.sockets[0].clone();
        let report = KillReport {
            closed: l,
            vanished: vec![inet.clone(), unix],
            failed: vec![Failure {
                socket: inet,
                error: "Operation not permitted".into(),
            }],
        };
        let mut streamed = Vec::new();
        write_kill_json(&mut streamed, &report).unwrap();
        let text = String::from_utf8(streamed).unwrap();
        // schema and "closed", 1 socket, "]" and "vanished", 2, "]" and
        // "failed", 1, the closing line.
        assert_eq!(text.lines().count(), 8, "one socket per line:\n{text}");
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, serde_json::to_value(&report).unwrap());
        assert_eq!(parsed["schema"], "nettool.sockstat.kill/1");
        assert_eq!(parsed["closed"][0]["proto"], "tcp6");
        assert_eq!(parsed["vanished"][1]["proto"], "unix");
        assert_eq!(parsed["failed"][0]["error"], "Operation not permitted");

        let mut empty = Vec::new();
        let none = KillReport {
            closed: Listing {
                sockets: Vec::new(),
                owners: None,
                uninspected: 0,
                namespaces: Vec::new(),
            },
            vanished: Vec::new(),
            failed: Vec::new(),
        };
        write_kill_json(&mut empty, &none).unwrap();
        assert_eq!(
            String::from_utf8(empty).unwrap(),
            "{\"schema\":\"nettool.sockstat.kill/1\",\"closed\":[\n],\"vanished\":[\n],\"failed\":[\n]}\n"
        );
    }
}
