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
    let mut t = Table::new(&cols).with_capacity(l.sockets.len());
    for s in &l.sockets {
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
    if !s.kernel.is_empty() {
        writeln!(out, "\nKernel (/proc/net/sockstat; mem in pages)")?;
        for (section, kv) in &s.kernel {
            let fields: Vec<String> = kv.iter().map(|(k, v)| format!("{k} {v}")).collect();
            writeln!(out, "  {section}: {}", fields.join(", "))?;
        }
    }
    if !s.diagnosis.is_empty() {
        writeln!(out, "\nWhat this means")?;
        for d in &s.diagnosis {
            writeln!(out, "  - {d}")?;
        }
    }
    Ok(())
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
