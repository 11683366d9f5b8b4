//! Renderers of a sockstat [`Report`]: the netstat-like table, the `-s`
//! text, and JSON.
//!
//! JSON streams: one [`crate::sockstat::report::SocketRecord`] serialized straight into the
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
use crate::sockstat::report::{self, Listing, Report, SCHEMA};
use crate::sockstat::summary::Summary;
use crate::sockstat::{Extensions, Socket, TcpState};
use crate::wire::tcp_info::{CaState, TCPI_OPT_WSCALE, TcpInfo};

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
            // Labels and process names come from anyone on the host.
            writeln!(out, "  - {}", super::escape_control(d))?;
        }
    }
    if !s.findings.is_empty() {
        writeln!(out, "\nFindings (as --diagnose)")?;
        super::diagnose::write_lines(out, &s.findings, "  ")?;
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
        Report::Summary(_) | Report::Diagnosis(_) => super::json(out, report),
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
    // --all-netns: the sum of every namespace's (settings left out).
    let together = if s.namespaces.len() > 1 {
        format!(" of the {} namespaces together", s.namespaces.len())
    } else {
        String::new()
    };
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
            "\nProtocol counters{together} over {:.2} s: what changed (nonzero only)",
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
        format!(
            "\nProtocol counters{together} since boot (in a network namespace: since it was made; --interval S shows what changes)"
        )
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

/// The lines under a socket's row with `-i`/`-m` (README, "TCP internals
/// and socket memory"), each indented four spaces and ended by a line
/// feed: `-i` the congestion control and `tcp_info` (TCP sockets the
/// kernel sent it for), `-m` the `skmem` line. Fixed order, a unit on
/// every figure; a field the kernel did not send is left out.
#[allow(
    clippy::many_single_char_names,
    reason = "b the buffer, s the socket, i its internals, m memory, as everywhere here"
)]
pub fn write_internals(b: &mut String, s: &Socket, ext: Extensions) {
    let Some(i) = s.internals.as_deref() else {
        return;
    };
    if ext.info && (i.tcp_info.is_some() || i.congestion.is_some()) {
        let start = b.len();
        b.push_str("   ");
        if let Some(c) = &i.congestion {
            b.push(' ');
            b.push_str(&crate::output::escape_control(&c.as_str()));
        }
        // A listener's tcp_info has no connection in it (its unacked and
        // sacked are the accept queue and backlog, shown as Recv-Q and
        // Send-Q already): its line is the congestion control alone.
        if let (Some(t), false) = (&i.tcp_info, s.state == TcpState::Listen) {
            write_tcp_info(b, t);
        }
        if b.len() > start + 3 {
            b.push('\n');
        } else {
            b.truncate(start);
        }
    }
    if let (true, Some(m)) = (ext.memory, &i.memory) {
        b.push_str("    skmem");
        let pair =
            |b: &mut String, name: &str, used: Option<u32>, limit: Option<u32>| match (used, limit)
            {
                (Some(u), Some(l)) => {
                    let _ = write!(b, " {name} {u}/{l} B");
                }
                (Some(n), None) | (None, Some(n)) => {
                    let _ = write!(b, " {name} {n} B");
                }
                (None, None) => {}
            };
        pair(b, "rmem", m.rmem_alloc, m.rcvbuf);
        pair(b, "wmem", m.wmem_alloc, m.sndbuf);
        pair(b, "fwd", m.fwd_alloc, None);
        pair(b, "queued", m.wmem_queued, None);
        pair(b, "opt", m.optmem, None);
        pair(b, "backlog", m.backlog, None);
        if let Some(d) = m.drops {
            let _ = write!(b, " drops {d} pkt");
        }
        b.push('\n');
    }
}

/// The `tcp_info` words of the `-i` line, each after a space.
fn write_tcp_info<T: AsRef<[u8]>>(b: &mut String, t: &TcpInfo<T>) {
    if let Some(ca) = t.ca_state().filter(|&c| c != CaState::Open) {
        let _ = write!(b, " ca {}", ca.name());
    }
    if let Some(opts) = t.options() {
        for (bit, name) in report::TCP_OPTION_NAMES {
            if opts & bit == 0 {
                continue;
            }
            b.push(' ');
            b.push_str(name);
            if bit == TCPI_OPT_WSCALE {
                if let (Some(snd), Some(rcv)) = (t.snd_wscale(), t.rcv_wscale()) {
                    let _ = write!(b, " {snd}/{rcv}");
                }
            }
        }
    }
    if let Some(rtt) = t.rtt_us() {
        b.push_str(" rtt ");
        push_ms(b, u64::from(rtt));
        if let Some(var) = t.rttvar_us() {
            b.push('/');
            push_ms(b, u64::from(var));
        }
        b.push_str(" ms");
    }
    let us = |b: &mut String, name: &str, v: Option<u64>| {
        if let Some(v) = v {
            let _ = write!(b, " {name} ");
            push_ms(b, v);
            b.push_str(" ms");
        }
    };
    let count = |b: &mut String, name: &str, v: Option<u32>, unit: &str| {
        if let Some(v) = v {
            let _ = write!(b, " {name} {v} {unit}");
        }
    };
    let bytes = |b: &mut String, name: &str, v: Option<u64>| {
        if let Some(v) = v {
            let _ = write!(b, " {name} ");
            push_bytes(b, v);
        }
    };
    us(b, "min_rtt", t.min_rtt_us().map(u64::from));
    us(b, "rto", t.rto_us().map(u64::from));
    us(b, "ato", t.ato_us().map(u64::from));
    count(b, "mss", t.snd_mss(), "B");
    count(b, "rcv_mss", t.rcv_mss(), "B");
    count(b, "advmss", t.advmss(), "B");
    count(b, "pmtu", t.pmtu(), "B");
    count(b, "cwnd", t.snd_cwnd(), "seg");
    // 0x7fffffff until the first loss: ss leaves it out too.
    count(
        b,
        "ssthresh",
        t.snd_ssthresh().filter(|&s| s < 0xffff),
        "seg",
    );
    bytes(b, "bytes_sent", t.bytes_sent());
    bytes(b, "bytes_acked", t.bytes_acked());
    bytes(b, "bytes_received", t.bytes_received());
    bytes(b, "bytes_retrans", t.bytes_retrans());
    count(b, "segs_out", t.segs_out(), "seg");
    count(b, "segs_in", t.segs_in(), "seg");
    count(b, "unacked", t.unacked(), "seg");
    match (t.retrans(), t.total_retrans()) {
        (Some(now), Some(total)) => {
            let _ = write!(b, " retrans {now}/{total} seg");
        }
        (Some(now), None) => {
            let _ = write!(b, " retrans {now} seg");
        }
        _ => {}
    }
    count(b, "lost", t.lost(), "seg");
    count(b, "sacked", t.sacked(), "seg");
    count(b, "reordering", t.reordering(), "seg");
    count(b, "delivered", t.delivered(), "seg");
    if t.delivery_rate_app_limited() == Some(true) {
        b.push_str(" app_limited");
    }
    let rate = |b: &mut String, name: &str, v: Option<u64>| {
        if let Some(v) = report::limited_rate(v) {
            let _ = write!(b, " {name} ");
            push_rate(b, v);
        }
    };
    rate(b, "delivery_rate", t.delivery_rate());
    rate(b, "pacing_rate", t.pacing_rate());
    rate(b, "max_pacing_rate", t.max_pacing_rate());
    us(b, "busy", t.busy_time_us());
    us(b, "rwnd_limited", t.rwnd_limited_us());
    us(b, "sndbuf_limited", t.sndbuf_limited_us());
    count(b, "last_send", t.last_data_sent_ms(), "ms");
    count(b, "last_recv", t.last_data_recv_ms(), "ms");
    count(b, "last_ack", t.last_ack_recv_ms(), "ms");
    bytes(b, "snd_wnd", t.snd_wnd().map(u64::from));
    bytes(b, "rcv_wnd", t.rcv_wnd().map(u64::from));
}

/// Microseconds as milliseconds: whole ones plain, else three decimals.
fn push_ms(b: &mut String, us: u64) {
    let (ms, frac) = (us / 1000, us % 1000);
    if frac == 0 {
        let _ = write!(b, "{ms}");
    } else {
        let _ = write!(b, "{ms}.{frac:03}");
    }
}

/// A byte count: exact below 10 000, else three significant digits in
/// decimal units (kB = 1000 B).
fn push_bytes(b: &mut String, n: u64) {
    if n < 10_000 {
        let _ = write!(b, "{n} B");
    } else {
        push_scaled(b, n, &["B", "kB", "MB", "GB", "TB", "PB", "EB"]);
    }
}

/// A rate the kernel gives in bytes per second, in bits per second.
fn push_rate(b: &mut String, bytes_per_s: u64) {
    push_scaled(
        b,
        bytes_per_s.saturating_mul(8),
        &[
            "bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s", "Pbit/s", "Ebit/s",
        ],
    );
}

/// `n` in the largest unit (steps of 1000) it is at least 1 of, with
/// three significant digits.
fn push_scaled(b: &mut String, n: u64, units: &[&str; 7]) {
    let mut unit = 0;
    let mut scale = 1u64;
    while unit + 1 < units.len() && n / scale >= 1000 {
        scale *= 1000;
        unit += 1;
    }
    if unit == 0 {
        let _ = write!(b, "{n} {}", units[0]);
        return;
    }
    #[allow(
        clippy::cast_precision_loss,
        reason = "shown with three significant digits"
    )]
    let v = n as f64 / scale as f64;
    let digits = usize::from(v < 10.0) + usize::from(v < 100.0);
    let _ = write!(b, "{v:.digits$} {}", units[unit]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockstat::Extensions;
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
            internals: None,
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
            internals: None,
        };
        Listing {
            sockets: vec![inet, unix],
            owners: None,
            uninspected: 0,
            namespaces: Vec::new(),
            extensions: Extensions::NONE,
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
                extensions: Extensions::NONE,
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
            netns: None,
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
                extensions: Extensions::NONE,
            },
            vanished: Vec::new(),
            failed: Vec::new(),
            netns: None,
        };
        write_kill_json(&mut empty, &none).unwrap();
        assert_eq!(
            String::from_utf8(empty).unwrap(),
            "{\"schema\":\"nettool.sockstat.kill/1\",\"closed\":[\n],\"vanished\":[\n],\"failed\":[\n]}\n"
        );
    }

    /// The captured bulk sender (tests/vectors/sock-diag-tcp-info.hex) as
    /// a socket with its internals.
    fn captured_sender() -> Socket {
        let datagram = crate::wire::sock_diag::tests::captured_tcp_info_message();
        let mut rows = Vec::new();
        crate::sockstat::netlink::parse_datagram(&datagram, &mut rows).unwrap();
        assert_eq!(rows.len(), 1, "{rows:?}");
        rows.pop().unwrap()
    }

    fn lines(s: &Socket, ext: Extensions) -> String {
        let mut b = String::new();
        write_internals(&mut b, s, ext);
        b
    }

    const BOTH: Extensions = Extensions {
        info: true,
        memory: true,
    };

    #[test]
    #[cfg(target_endian = "little")]
    fn info_and_memory_lines_of_the_captured_sender() {
        let s = captured_sender();
        let info = "    bbr ts sack wscale 10/10 rtt 5.325/0.881 ms min_rtt 0.067 ms \
             rto 208 ms ato 0 ms mss 1448 B rcv_mss 536 B advmss 1448 B pmtu 1500 B \
             cwnd 10 seg ssthresh 138 seg bytes_sent 3.69 MB bytes_acked 3.59 MB \
             bytes_received 0 B bytes_retrans 78.6 kB segs_out 2551 seg segs_in 2421 seg \
             unacked 10 seg retrans 0/55 seg lost 0 seg sacked 0 seg reordering 3 seg \
             delivered 2483 seg delivery_rate 19.1 Mbit/s pacing_rate 19.4 Mbit/s \
             busy 1500 ms rwnd_limited 32 ms sndbuf_limited 0 ms last_send 0 ms \
             last_recv 1524 ms last_ack 0 ms snd_wnd 5.99 MB rcv_wnd 64.5 kB\n";
        let skmem = "    skmem rmem 0/131072 B wmem 22800/967680 B fwd 1304 B queued 854760 B \
             opt 0 B backlog 0 B drops 0 pkt\n";
        assert_eq!(lines(&s, BOTH), format!("{info}{skmem}"));
        let info_only = Extensions {
            info: true,
            memory: false,
        };
        assert_eq!(lines(&s, info_only), info);
        let memory_only = Extensions {
            info: false,
            memory: true,
        };
        assert_eq!(lines(&s, memory_only), skmem);
        assert_eq!(lines(&s, Extensions::NONE), "");
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn fields_the_kernel_did_not_send_are_left_out() {
        let mut s = captured_sender();
        let i = s.internals.as_mut().unwrap();
        // Linux 4.9's struct ends after delivery_rate; an old skmem array
        // after optmem.
        let bytes = crate::wire::tcp_info::tests::captured();
        i.tcp_info = Some(crate::wire::tcp_info::TcpInfo::new(&bytes[..168]).to_owned());
        let mem = i.memory.as_mut().unwrap();
        (mem.backlog, mem.drops) = (None, None);
        i.congestion = None;
        let text = lines(&s, BOTH);
        let (info, skmem) = text.split_once('\n').unwrap();
        assert!(
            info.starts_with("    ts sack wscale 10/10 rtt 5.325/0.881 ms"),
            "{info}"
        );
        // 4.9 has pacing_rate and delivery_rate, not bytes_sent, busy time
        // or the windows; the ages are old fields.
        assert!(
            info.contains(" pacing_rate 19.4 Mbit/s last_send 0 ms"),
            "{info}"
        );
        assert!(info.ends_with(" last_recv 1524 ms last_ack 0 ms"), "{info}");
        for gone in [
            "busy",
            "bytes_sent",
            "bytes_retrans",
            "delivered",
            "snd_wnd",
        ] {
            assert!(!info.contains(gone), "{gone} in {info}");
        }
        assert_eq!(
            skmem,
            "    skmem rmem 0/131072 B wmem 22800/967680 B fwd 1304 B queued 854760 B opt 0 B\n"
        );
        // Nothing sent: no line at all.
        s.internals = None;
        assert_eq!(lines(&s, BOTH), "");
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn a_listener_shows_its_congestion_control_only() {
        let mut s = captured_sender();
        s.state = TcpState::Listen;
        assert_eq!(
            lines(
                &s,
                Extensions {
                    info: true,
                    memory: false
                }
            ),
            "    bbr\n"
        );
        // A hostile name cannot break the line.
        let i = s.internals.as_mut().unwrap();
        i.congestion = Some(crate::sockstat::model::CongestionName::new(b"x\ny"));
        assert_eq!(
            lines(
                &s,
                Extensions {
                    info: true,
                    memory: false
                }
            ),
            "    x\\ny\n"
        );
    }

    #[test]
    fn units_scale() {
        let f = |n: u64, g: fn(&mut String, u64)| {
            let mut b = String::new();
            g(&mut b, n);
            b
        };
        assert_eq!(f(0, push_ms), "0");
        assert_eq!(f(67, push_ms), "0.067");
        assert_eq!(f(208_000, push_ms), "208");
        assert_eq!(f(1_234_567, push_ms), "1234.567");
        assert_eq!(f(9999, push_bytes), "9999 B");
        assert_eq!(f(10_000, push_bytes), "10.0 kB");
        assert_eq!(f(999_499, push_bytes), "999 kB");
        assert_eq!(f(3_688_352, push_bytes), "3.69 MB");
        assert_eq!(f(u64::MAX, push_bytes), "18.4 EB");
        assert_eq!(f(0, push_rate), "0 bit/s");
        assert_eq!(f(100, push_rate), "800 bit/s");
        assert_eq!(f(2_392_669, push_rate), "19.1 Mbit/s");
        assert_eq!(f(u64::MAX / 8, push_rate), "18.4 Ebit/s");
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn json_has_tcp_info_and_memory_only_when_asked() {
        let sender = captured_sender();
        let mut bare = sender.clone();
        bare.internals = None;
        let doc = |ext: Extensions| {
            let l = Listing {
                sockets: vec![sender.clone(), bare.clone()],
                owners: None,
                uninspected: 0,
                namespaces: Vec::new(),
                extensions: ext,
            };
            let mut out = Vec::new();
            write_json(&mut out, &Report::Sockets(l)).unwrap();
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
            v
        };
        let plain = doc(Extensions::NONE);
        assert!(plain["sockets"][0].get("tcp_info").is_none());
        assert!(plain["sockets"][0].get("memory").is_none());
        let both = doc(BOTH);
        let t = &both["sockets"][0]["tcp_info"];
        assert_eq!(t["congestion"], "bbr");
        assert_eq!(t["ca_state"], "open");
        assert_eq!(t["options"], serde_json::json!(["ts", "sack", "wscale"]));
        assert_eq!(
            (t["rtt_us"].as_u64(), t["rttvar_us"].as_u64()),
            (Some(5325), Some(881))
        );
        assert_eq!(
            (t["snd_cwnd_segs"].as_u64(), t["snd_ssthresh_segs"].as_u64()),
            (Some(10), Some(138))
        );
        assert_eq!(
            (t["retrans_segs"].as_u64(), t["total_retrans_segs"].as_u64()),
            (Some(0), Some(55))
        );
        assert_eq!(t["bytes_acked"], 3_592_329);
        assert_eq!(t["bytes_retrans"], 78_648);
        assert_eq!(t["delivery_rate_bytes_per_s"], 2_392_669);
        assert_eq!(t["pacing_rate_bytes_per_s"], 2_423_119);
        assert!(t["max_pacing_rate_bytes_per_s"].is_null(), "~0: no limit");
        assert_eq!(t["rwnd_limited_us"], 32_000);
        assert_eq!(t["last_data_recv_ms"], 1524);
        assert_eq!(
            (t["snd_wnd_bytes"].as_u64(), t["rcv_wnd_bytes"].as_u64()),
            (Some(5_985_280), Some(64_512))
        );
        assert_eq!(t["app_limited"], false);
        // Every value is a number, a string, a bool, a list or null.
        assert_eq!(t.as_object().unwrap().len(), 60);
        let m = &both["sockets"][0]["memory"];
        assert_eq!(
            *m,
            serde_json::json!({
                "rmem_alloc_bytes": 0, "rcvbuf_bytes": 131_072, "wmem_alloc_bytes": 22_800,
                "sndbuf_bytes": 967_680, "fwd_alloc_bytes": 1304, "wmem_queued_bytes": 854_760,
                "optmem_bytes": 0, "backlog_bytes": 0, "drops": 0
            })
        );
        // Asked, but the kernel sent nothing: null.
        assert!(both["sockets"][1]["tcp_info"].is_null());
        assert!(both["sockets"][1]["memory"].is_null());
        assert!(both["sockets"][1].get("tcp_info").is_some());
        // A shorter struct: the fields it lacks are null, the key stays.
        let mut old = sender.clone();
        let bytes = crate::wire::tcp_info::tests::captured();
        old.internals.as_mut().unwrap().tcp_info =
            Some(crate::wire::tcp_info::TcpInfo::new(&bytes[..104]).to_owned());
        let l = Listing {
            sockets: vec![old],
            owners: None,
            uninspected: 0,
            namespaces: Vec::new(),
            extensions: BOTH,
        };
        let v = serde_json::to_value(Report::Sockets(l)).unwrap();
        let t = &v["sockets"][0]["tcp_info"];
        assert_eq!(t["total_retrans_segs"], 55);
        assert!(t["bytes_acked"].is_null() && t["pacing_rate_bytes_per_s"].is_null());
        assert!(t.get("bytes_acked").is_some());
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn a_congestion_state_other_than_open_is_named() {
        let mut s = captured_sender();
        let mut bytes = crate::wire::tcp_info::tests::captured();
        bytes[crate::wire::tcp_info::field::CA_STATE] = 4;
        s.internals.as_mut().unwrap().tcp_info =
            Some(crate::wire::tcp_info::TcpInfo::new(&bytes[..]).to_owned());
        let info = Extensions {
            info: true,
            memory: false,
        };
        assert!(lines(&s, info).starts_with("    bbr ca loss ts sack wscale 10/10 rtt "));
    }
}
