//! `nettool sockstat`: flags -> [`Query`] + [`RowFilter`] -> rows ->
//! table, JSON or summary.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use crate::cli::SockstatArgs;
use crate::output::table::{Align, Table};
use crate::output::{self, Out};
use crate::sockstat::display::Display;
use crate::sockstat::filter::{self, RowFilter, StateSel};
use crate::sockstat::model::{Endpoint, Proto, Socket, TimerKind, UnixName};
use crate::sockstat::names::Names;
use crate::sockstat::owner::{self, OwnerMap};
use crate::sockstat::summary::Summary;
use crate::sockstat::{self as ss, Query, Tables, procnet};
use crate::{Status, UsageError};

/// The proc root: `PROC_ROOT` as ss honours it, else /proc.
fn proc_root() -> PathBuf {
    std::env::var_os("PROC_ROOT")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("/proc"), PathBuf::from)
}

/// Validated settings.
struct Settings {
    query: Query,
    rows: RowFilter,
}

fn settings(a: &SockstatArgs, services: &Names) -> Result<Settings, UsageError> {
    let any_kind = a.tcp || a.udp || a.raw || a.unix;
    let tables = Tables {
        tcp: a.tcp || !any_kind,
        udp: a.udp || !any_kind,
        raw: a.raw || !any_kind,
        // -4/-6 ask for internet sockets only, as in netstat.
        unix: a.unix || (!any_kind && !a.ipv4 && !a.ipv6),
        v4: !a.ipv6,
        v6: !a.ipv4,
    };
    let states = if !a.state.is_empty() {
        StateSel::Set(filter::parse_states(&a.state).map_err(UsageError)?)
    } else if a.all || a.summary {
        StateSel::All
    } else if a.listening {
        StateSel::Listening
    } else {
        StateSel::NonListening
    };
    let lookup = |name: &str| services.port_of(name);
    let port = |s: &Option<String>, flag: &str| -> Result<_, UsageError> {
        s.as_deref()
            .map(|v| filter::parse_port(v, &lookup).map_err(|e| UsageError(format!("{flag}: {e}"))))
            .transpose()
    };
    let addr = |s: &Option<String>, flag: &str| -> Result<_, UsageError> {
        s.as_deref()
            .map(|v| filter::parse_addr(v).map_err(|e| UsageError(format!("{flag}: {e}"))))
            .transpose()
    };
    let rows = RowFilter {
        sport: port(&a.sport, "--sport")?,
        dport: port(&a.dport, "--dport")?,
        src: addr(&a.src, "--src")?,
        dst: addr(&a.dst, "--dst")?,
    };
    if !(a.dns_timeout.is_finite() && a.dns_timeout > 0.0 && a.dns_timeout <= 3600.0) {
        return Err(UsageError(format!(
            "--dns-timeout {}: give seconds between 0 and 3600, e.g. 2 or 0.5",
            a.dns_timeout
        )));
    }
    Ok(Settings {
        query: Query {
            tables,
            states,
            source: a.source,
            proc_root: proc_root(),
        },
        rows,
    })
}

pub fn run(a: &SockstatArgs) -> Result<Status> {
    let etc = Path::new("/etc");
    let mut names = if a.numeric || a.json {
        Names::load_services(etc)
    } else {
        Names::load(etc)
    };
    let s = settings(a, &names)?;
    check_proc_root(&s.query, a)?;
    let mut warn = |w: String| crate::say!("nettool: {w}");
    let mut sockets = ss::collect(&s.query, &mut warn).map_err(setup_error)?;
    if !s.rows.is_empty() {
        sockets.retain(|sk| s.rows.matches(sk));
    }
    let mut out = Out::stdout();

    if a.summary {
        let root = &s.query.proc_root;
        let mut kernel =
            procnet::read_sockstat(root, "sockstat", &mut warn).map_err(setup_error)?;
        kernel.extend(procnet::read_sockstat(root, "sockstat6", &mut warn).map_err(setup_error)?);
        let summary = Summary::compute(&sockets, kernel);
        if a.json {
            output::json(
                &mut out,
                &SummaryJson {
                    schema: "nettool.sockstat.summary/1",
                    summary: &summary,
                },
            )?;
        } else {
            write_summary(&mut out, &summary)?;
        }
        out.flush()?;
        return Ok(Status::Success);
    }

    resolve_unix_peers(&mut sockets);

    let owners = if a.processes {
        let wanted: HashSet<u64> = sockets
            .iter()
            .map(|s| s.inode)
            .filter(|&i| i != 0)
            .collect();
        let map = owner::scan(&s.query.proc_root, &wanted)?;
        if map.unreadable > 0
            && sockets
                .iter()
                .any(|s| s.inode != 0 && map.get(s.inode).next().is_none())
        {
            crate::say!(
                "nettool: note: {} processes could not be inspected; their sockets show '-' as owner (run as root to see them all)",
                map.unreadable
            );
        }
        Some(map)
    } else {
        None
    };

    if a.dns {
        let ips: HashSet<_> = sockets
            .iter()
            .flat_map(|s| [s.local.ip(), s.remote.ip()])
            .flatten()
            .collect();
        let pending = names.resolve_dns(
            ips.into_iter().collect(),
            Duration::from_secs_f64(a.dns_timeout),
        );
        if pending > 0 {
            crate::say!(
                "nettool: note: {pending} DNS lookups did not answer within {}s; those addresses stay numeric",
                a.dns_timeout
            );
        }
    }

    if a.json {
        write_json(&mut out, &sockets, owners.as_ref())?;
    } else {
        let display = if a.numeric {
            Display::numeric()
        } else {
            Display::named(&names)
        };
        let users = (a.extended && !a.numeric).then(|| users(etc));
        let table = build_table(
            &sockets,
            display,
            a.extended,
            users.as_ref(),
            owners.as_ref(),
        );
        let tty = out.tty;
        table.write(&mut out, tty)?;
    }
    out.flush()?;
    Ok(if sockets.is_empty() {
        Status::NotFound
    } else {
        Status::Success
    })
}

/// A proc root that will be read must be a directory: a missing one would
/// otherwise read as a machine without sockets (exit 1, no word).
fn check_proc_root(q: &Query, a: &SockstatArgs) -> Result<(), UsageError> {
    let root = &q.proc_root;
    let default = root == Path::new("/proc");
    let used = !default || q.source == ss::SourceKind::Proc || a.summary || a.processes;
    if !used {
        return Ok(());
    }
    if root.is_dir() {
        if root.join("net").is_dir() {
            return Ok(());
        }
        // An empty directory, or PROC_ROOT=/proc/net: it would list nothing.
        return Err(UsageError(format!(
            "{} has no net/ directory: point {} at a proc tree (a directory with net/tcp, net/unix, ...){}",
            root.display(),
            if default { "/proc" } else { "PROC_ROOT" },
            if default { "" } else { " or unset it" }
        )));
    }
    let what = if root.exists() {
        "is not a directory"
    } else {
        "does not exist"
    };
    Err(UsageError(if default {
        format!("/proc {what}: mount procfs there, or use --source netlink without -p and -s")
    } else {
        format!(
            "PROC_ROOT {} {what}: point it at a proc tree (a directory with net/tcp, net/unix, ...) or unset it",
            root.display()
        )
    }))
}

/// Setup problems (a table we may not read, a table that is not a file)
/// exit 2 with one line saying what to do; other failures stay errors.
fn setup_error(e: ss::Error) -> anyhow::Error {
    match &e {
        ss::Error::Read { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied => {
            UsageError(format!(
                "{e}: run as root, or as a user who may read the socket tables"
            ))
            .into()
        }
        ss::Error::NotATable { .. } => UsageError(e.to_string()).into(),
        _ => e.into(),
    }
}

/// A UNIX socket's foreign address is its peer's name, when the source
/// (netlink) told us the peer and the peer has a name.
fn resolve_unix_peers(sockets: &mut [Socket]) {
    if !sockets.iter().any(|s| s.peer_inode.is_some()) {
        return;
    }
    let by_inode: HashMap<u64, UnixName> = sockets
        .iter()
        .filter_map(|s| match &s.local {
            Endpoint::Unix(n) if *n != UnixName::Unnamed => Some((s.inode, n.clone())),
            _ => None,
        })
        .collect();
    for s in sockets.iter_mut() {
        if let Some(name) = s.peer_inode.and_then(|p| by_inode.get(&p)) {
            s.remote = Endpoint::Unix(name.clone());
        }
    }
}

/// uid -> user name from /etc/passwd (a local file, no NSS).
fn users(etc: &Path) -> HashMap<u32, String> {
    std::fs::read_to_string(etc.join("passwd"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let uid = f.nth(1)?.parse().ok()?;
            Some((uid, name.to_string()))
        })
        .collect()
}

fn build_table(
    sockets: &[Socket],
    display: Display<'_>,
    extended: bool,
    users: Option<&HashMap<u32, String>>,
    owners: Option<&OwnerMap>,
) -> Table {
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
    if owners.is_some() {
        cols.push(("PID/Program", Align::Left));
    }
    let mut t = Table::new(&cols).with_capacity(sockets.len());
    for s in sockets {
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
            t.cell(|b| match (s.uid, users) {
                (None, _) => b.push('-'),
                (Some(uid), Some(u)) if u.contains_key(&uid) => b.push_str(&u[&uid]),
                (Some(uid), _) => {
                    let _ = write!(b, "{uid}");
                }
            });
            t.cell_num(s.inode);
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
        if let Some(map) = owners {
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

#[derive(Serialize)]
struct SummaryJson<'a> {
    schema: &'static str,
    #[serde(flatten)]
    summary: &'a Summary,
}

fn write_summary(out: &mut dyn Write, s: &Summary) -> std::io::Result<()> {
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

/// JSON schema `nettool.sockstat/1`: documented in README.md. Addresses
/// are always numeric. One socket object per line inside `sockets`.
#[derive(Serialize)]
struct JsonSocket<'a> {
    proto: &'static str,
    family: &'static str,
    state: &'static str,
    /// `null` where the source cannot know (see `Socket`).
    recv_q: Option<u32>,
    send_q: Option<u32>,
    local: JsonEndpoint<'a>,
    remote: JsonEndpoint<'a>,
    uid: Option<u32>,
    inode: u64,
    timer: Option<JsonTimer>,
    unix_type: Option<&'static str>,
    peer_inode: Option<u64>,
    processes: Option<Vec<JsonProcess<'a>>>,
}

#[derive(Serialize)]
struct JsonEndpoint<'a> {
    address: Option<String>,
    port: Option<u16>,
    path: Option<&'a str>,
    #[serde(rename = "abstract")]
    abstract_name: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonTimer {
    kind: &'static str,
    expires_ms: u64,
    retransmits: u32,
}

#[derive(Serialize)]
struct JsonProcess<'a> {
    pid: u32,
    fd: u32,
    command: &'a str,
}

fn json_endpoint(ep: &Endpoint) -> JsonEndpoint<'_> {
    let mut j = JsonEndpoint {
        address: None,
        port: None,
        path: None,
        abstract_name: None,
    };
    match ep {
        Endpoint::Inet(sa) => {
            j.address = Some(sa.ip().to_string());
            j.port = Some(sa.port());
        }
        Endpoint::Unix(UnixName::Path(p)) => j.path = Some(p),
        Endpoint::Unix(UnixName::Abstract(a)) => j.abstract_name = Some(a),
        Endpoint::Unix(UnixName::Unnamed) => {}
    }
    j
}

fn write_json(
    out: &mut dyn Write,
    sockets: &[Socket],
    owners: Option<&OwnerMap>,
) -> std::io::Result<()> {
    out.write_all(b"{\"schema\":\"nettool.sockstat/1\",\"sockets\":[")?;
    for (i, s) in sockets.iter().enumerate() {
        out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
        let j = JsonSocket {
            proto: s.proto_label(),
            family: match (s.proto, s.v6) {
                (Proto::Unix, _) => "unix",
                (_, true) => "inet6",
                (_, false) => "inet",
            },
            state: s.state_label(),
            recv_q: s.recv_q,
            send_q: s.send_q,
            local: json_endpoint(&s.local),
            remote: json_endpoint(&s.remote),
            uid: s.uid,
            inode: s.inode,
            timer: s
                .timer
                .filter(|t| t.kind != TimerKind::Off)
                .map(|t| JsonTimer {
                    kind: t.kind.name(),
                    expires_ms: t.expires_ms,
                    retransmits: t.retrans,
                }),
            unix_type: s.unix_kind.map(|k| k.name()),
            // The kernel says 0 for a peer it cannot name (not accepted yet, or gone).
            peer_inode: s.peer_inode.filter(|&p| p != 0),
            processes: owners.map(|m| {
                m.get(s.inode)
                    .map(|o| JsonProcess {
                        pid: o.pid,
                        fd: o.fd,
                        command: o.command,
                    })
                    .collect()
            }),
        };
        serde_json::to_writer(&mut *out, &j)?;
    }
    out.write_all(b"\n]}\n")
}
