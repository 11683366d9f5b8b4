//! `sockstat --watch` rendered: one text line per event, or one JSON line
//! (`nettool.sockstat.event/1`), and the summary at the end.

use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;

use crate::output::time::{clock, iso};
use crate::sockstat::model::{Endpoint, Proto};
use crate::sockstat::netns::Netns;
use crate::sockstat::watch::{Event, Kind, Report};

pub const EVENT_SCHEMA: &str = "nettool.sockstat.event/1";

fn endpoint(e: &Endpoint) -> String {
    match e {
        Endpoint::Inet(sa) => sa.to_string(),
        Endpoint::Unix(_) => "*".into(),
    }
}

/// The state name as the listing shows it (`UNCONN` for a UDP socket
/// without a peer).
pub fn state_name(proto: Proto, s: crate::sockstat::TcpState) -> &'static str {
    match (proto, s) {
        (Proto::Tcp, s) => s.netstat_name(),
        (_, crate::sockstat::TcpState::Close) => "UNCONN",
        (_, s) => s.netstat_name(),
    }
}

/// `14:02:11.305 gone  tcp   198.51.100.1:80 198.51.100.2:41000 LAST_ACK -> gone acked=120 received=5 retrans=0 lived=1.250s nginx(812)`;
/// with `-N`/`--all-netns` the namespace's label (as the listing's `Netns`
/// column) follows the time: `14:02:11.305 [blue] gone  tcp ...`.
pub fn line(ev: &Event) -> String {
    let c = &ev.change;
    let e = &c.entry;
    let from = c.from.map_or("?", |s| state_name(e.proto, s));
    let to = c.to.map_or("gone", |s| state_name(e.proto, s));
    let states = match c.kind {
        Kind::New => format!("-> {to}"),
        Kind::State | Kind::Gone => format!("{from} -> {to}"),
    };
    // Labels name processes and containers: anyone's text.
    let netns = ev.netns.as_ref().map_or_else(String::new, |ns| {
        format!("[{}] ", crate::output::escape_control(&ns.label()))
    });
    let mut s = format!(
        "{} {netns}{:<5} {:<5} {} {} {states}",
        clock(ev.time),
        c.kind.name(),
        e.proto.table(e.v6),
        endpoint(&e.local),
        endpoint(&e.remote),
    );
    if let Some(t) = c.totals {
        let n = |v: Option<u64>| v.map_or_else(|| "?".into(), |v| v.to_string());
        let _ = write!(
            s,
            " acked={} received={} retrans={}",
            n(t.bytes_acked),
            n(t.bytes_received),
            n(t.total_retrans.map(u64::from))
        );
    }
    if let Some(ms) = c.lived_ms {
        let _ = write!(s, " lived={}.{:03}s", ms / 1000, ms % 1000);
    }
    if let Some(o) = &e.owner {
        s.push(' ');
        s.push_str(&crate::output::escape_control(o));
    }
    s
}

#[derive(Serialize)]
struct Addr {
    address: String,
    port: u16,
}

fn addr(e: &Endpoint) -> Option<Addr> {
    match e {
        Endpoint::Inet(sa) => Some(Addr {
            address: sa.ip().to_string(),
            port: sa.port(),
        }),
        Endpoint::Unix(_) => None,
    }
}

#[derive(Serialize)]
struct EventRecord<'a> {
    schema: &'static str,
    time: Option<String>,
    kind: Kind,
    cookie: u64,
    proto: &'static str,
    /// With `-N`/`--all-netns`: the namespace, as the listing's rows have it.
    #[serde(skip_serializing_if = "Option::is_none")]
    netns: Option<&'a Netns>,
    local: Option<Addr>,
    remote: Option<Addr>,
    from: Option<&'static str>,
    to: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes_acked: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes_received: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_retrans: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lived_ms: Option<u64>,
}

/// One event as one JSON line. `owner` is written when `processes`
/// (`-p`), `null` when no process could be named.
///
/// # Errors
/// What writing failed with.
pub fn write_json_event(out: &mut dyn Write, ev: &Event, processes: bool) -> io::Result<()> {
    let c = &ev.change;
    let e = &c.entry;
    let t = c.totals.unwrap_or_default();
    let rec = EventRecord {
        schema: EVENT_SCHEMA,
        time: iso(ev.time),
        kind: c.kind,
        cookie: c.cookie,
        proto: e.proto.table(e.v6),
        netns: ev.netns.as_deref(),
        local: addr(&e.local),
        remote: addr(&e.remote),
        from: c.from.map(|s| state_name(e.proto, s)),
        to: c.to.map(|s| state_name(e.proto, s)),
        owner: if processes {
            Some(e.owner.as_deref().unwrap_or(""))
        } else {
            None
        },
        bytes_acked: t.bytes_acked,
        bytes_received: t.bytes_received,
        total_retrans: t.total_retrans,
        lived_ms: c.lived_ms,
    };
    serde_json::to_writer(&mut *out, &rec)?;
    out.write_all(b"\n")
}

#[derive(Serialize)]
struct SummaryRecord<'a> {
    schema: &'static str,
    #[serde(rename = "type")]
    ty: &'static str,
    #[serde(flatten)]
    report: &'a Report,
}

/// The final `{"type":"summary"}` line.
///
/// # Errors
/// What writing failed with.
pub fn write_json_summary(out: &mut dyn Write, r: &Report) -> io::Result<()> {
    serde_json::to_writer(
        &mut *out,
        &SummaryRecord {
            schema: EVENT_SCHEMA,
            ty: "summary",
            report: r,
        },
    )?;
    out.write_all(b"\n")
}

/// The one-line summary for stderr.
pub fn summary_line(r: &Report) -> String {
    let mut s = format!(
        "watched {}.{:03}s ({} dumps): {} new, {} state changes, {} gone",
        r.elapsed_ms / 1000,
        r.elapsed_ms % 1000,
        r.dumps,
        r.new,
        r.state,
        r.gone
    );
    if r.overruns > 0 {
        let _ = write!(
            s,
            "; the kernel dropped destroy notifications {} times (a burst filled the buffer): sockets that lived between two dumps may be missing",
            r.overruns
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockstat::TcpState;
    use crate::sockstat::model::inet_endpoint;
    use crate::sockstat::watch::{Change, Entry};
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    fn event(netns: Option<Netns>) -> Event {
        let ep = |port| {
            inet_endpoint(
                false,
                [198, 51, 100, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                port,
            )
        };
        Event {
            time: SystemTime::UNIX_EPOCH + Duration::from_millis(1_500),
            change: Change {
                kind: Kind::New,
                cookie: 9,
                at_ms: 0,
                entry: Entry {
                    proto: Proto::Tcp,
                    v6: false,
                    local: ep(80),
                    remote: ep(0),
                    state: TcpState::Listen,
                    inode: 5,
                    netns: 4_026_532_001,
                    since_ms: None,
                    owner: None,
                    recv_q: None,
                    send_q: None,
                },
                from: None,
                to: Some(TcpState::Listen),
                totals: None,
                lived_ms: None,
            },
            netns: netns.map(Arc::new),
        }
    }

    fn json(ev: &Event) -> serde_json::Value {
        let mut out = Vec::new();
        write_json_event(&mut out, ev, false).unwrap();
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn events_name_their_namespace_only_with_n_or_all_netns() {
        let ns = Netns {
            inode: 4_026_532_001,
            name: None,
            host: false,
            pid: Some(42),
            command: Some("sle\x1bep".into()),
            container: None,
        };
        let plain = event(None);
        let named = event(Some(ns));
        let (a, b) = (line(&plain), line(&named));
        // The label follows the time, escaped (a command is anyone's text).
        let (clock_a, rest_a) = a.split_once(' ').unwrap();
        assert_eq!(b, format!("{clock_a} [42/sle\\x1bep] {rest_a}"));
        assert!(rest_a.starts_with("new   tcp   198.51.100.7:80"), "{a}");
        // JSON: the listing's namespace object, after proto; absent without.
        let (ja, jb) = (json(&plain), json(&named));
        assert!(ja.get("netns").is_none(), "{ja}");
        assert_eq!(jb["netns"]["inode"], 4_026_532_001_u64);
        assert_eq!(jb["netns"]["pid"], 42);
        assert_eq!(jb["netns"]["command"], "sle\u{1b}ep");
        assert_eq!(jb["netns"]["host"], false);
        assert!(jb["netns"]["name"].is_null() && jb["netns"]["container"].is_null());
        let mut raw = Vec::new();
        write_json_event(&mut raw, &named, false).unwrap();
        let text = String::from_utf8(raw).unwrap();
        assert!(
            text.find("\"proto\"").unwrap() < text.find("\"netns\"").unwrap()
                && text.find("\"netns\"").unwrap() < text.find("\"local\"").unwrap(),
            "{text}"
        );
    }
}
