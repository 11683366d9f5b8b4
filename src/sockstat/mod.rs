//! `nettool sockstat`: list sockets like netstat and ss.
//!
//! [`run`] is the library call: [`Settings`] in, a typed [`Report`] out,
//! warnings through an [`Event`] callback as they happen. Inside:
//! [`Query`] (which tables, which states) -> a source fills a
//! `Vec<Socket>` (netlink `sock_diag`, or the /proc/net text tables) ->
//! [`filter`] keeps the rows asked for -> either the [`summary`], or UNIX
//! peers named and [`owner`] mapping the survivors' inodes to processes.
//! The state filter is given to the source so that netlink can hand it to
//! the kernel: `-l` never walks the established table. With `-s` the
//! protocol [`counters`] are read first (with `--interval`, twice, the
//! sockets after the second reading). Nothing here prints;
//! `output::sockstat` renders the report.

pub mod container;
pub mod counters;
pub mod diagnose;
pub mod display;
pub mod error;
pub mod filter;
pub mod kill;
pub mod model;
pub mod names;
pub mod netlink;
pub mod netns;
pub mod owner;
pub mod procnet;
pub mod report;
pub mod summary;
pub mod watch;
pub mod watched;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use error::Error;
pub use kill::{KillReport, kill};
pub use model::{Endpoint, Proto, Socket, TcpState};
pub use report::{Listing, Report};

use model::UnixName;

/// Which socket tables to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "one switch per table, as the -t -u -w -x -4 -6 flags are"
)]
pub struct Tables {
    pub tcp: bool,
    pub udp: bool,
    pub raw: bool,
    pub unix: bool,
    pub v4: bool,
    pub v6: bool,
}

impl Tables {
    pub const ALL: Tables = Tables {
        tcp: true,
        udp: true,
        raw: true,
        unix: true,
        v4: true,
        v6: true,
    };

    /// The inet tables asked for, as `(proto, is_v6)` pairs.
    pub fn inet(&self) -> impl Iterator<Item = (Proto, bool)> + '_ {
        [
            (Proto::Tcp, self.tcp),
            (Proto::Udp, self.udp),
            (Proto::Raw, self.raw),
        ]
        .into_iter()
        .filter(|&(_, on)| on)
        .flat_map(move |(p, _)| {
            [(p, false, self.v4), (p, true, self.v6)]
                .into_iter()
                .filter(|&(_, _, on)| on)
                .map(|(p, v6, _)| (p, v6))
        })
    }
}

/// A set of states, as the bitmask `sock_diag` takes (`1 << state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateSet(pub u32);

impl StateSet {
    /// Every state, 1..=12.
    pub const ALL: StateSet = StateSet(0x1ffe);

    pub fn of(states: &[TcpState]) -> StateSet {
        let mut s = StateSet(0);
        for &st in states {
            s.insert(st);
        }
        s
    }

    /// Add a state. `SYN_RECV` also adds `NEW_SYN_RECV`, the request-socket
    /// state the kernel reports half-open connections in.
    pub fn insert(&mut self, st: TcpState) {
        self.0 |= st.bit();
        if st == TcpState::SynRecv {
            self.0 |= TcpState::NewSynRecv.bit();
        }
    }

    pub fn contains(self, st: TcpState) -> bool {
        self.0 & st.bit() != 0
    }

    pub fn is_all(self) -> bool {
        self.0 & StateSet::ALL.0 == StateSet::ALL.0
    }
}

/// Where socket rows come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[allow(
    clippy::doc_markdown,
    reason = "the variants' docs are --source's help text and man page"
)]
pub enum SourceKind {
    /// netlink sock_diag, falling back to /proc per table when the kernel
    /// lacks a handler (raw sockets on most kernels) or when PROC_ROOT
    /// points elsewhere than /proc.
    Auto,
    /// netlink sock_diag only (raw sockets still come from /proc when the
    /// kernel has no raw_diag; a note says so).
    Netlink,
    /// The /proc/net text tables only.
    Proc,
}

/// What to read.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub tables: Tables,
    /// The states to keep; see [`filter::StateSel::for_proto`] for what
    /// they mean for UDP, raw and UNIX sockets.
    pub states: filter::StateSel,
    pub source: SourceKind,
    /// Root of the proc filesystem (`PROC_ROOT`, default `/proc`).
    pub proc_root: PathBuf,
    /// `-i`, `-m`: internals to ask netlink for (the /proc tables have none).
    pub extensions: Extensions,
}

/// Read every socket the query asks for. Per-line problems in /proc tables
/// are reported through `warn` and skipped.
///
/// # Errors
/// A table that cannot be opened or is not a regular file, or a netlink
/// dump that fails where no fallback to /proc is allowed.
pub fn collect(q: &Query, warn: &mut dyn FnMut(String)) -> Result<Vec<Socket>, Error> {
    let use_netlink = match q.source {
        SourceKind::Proc => false,
        SourceKind::Netlink => true,
        SourceKind::Auto => q.proc_root == Path::new("/proc"),
    };
    // The calling thread's tables: inside another namespace (on the
    // netns worker) /proc/net would show the main thread's.
    let root = netns::net_root(&q.proc_root);
    let mut out = Vec::new();
    // TCP of both families in one dump when the kernel takes it: the walk
    // of the host-wide hash is most of a dump's cost.
    let tcp_both = use_netlink
        && q.tables.tcp
        && q.tables.v4
        && q.tables.v6
        && netlink::dump_tcp_both(q.states.for_proto(Proto::Tcp), q.extensions, &mut out).is_ok();
    for (proto, v6) in q.tables.inet() {
        if tcp_both && proto == Proto::Tcp {
            continue;
        }
        if use_netlink {
            let states = q.states.for_proto(proto);
            match netlink::dump_inet_ext(proto, v6, states, q.extensions, &mut out) {
                Ok(()) => continue,
                Err(Error::NetlinkUnsupported { table }) => {
                    if q.source == SourceKind::Netlink {
                        warn(format!(
                            "note: the kernel has no sock_diag for {table}; read /proc/net instead"
                        ));
                    }
                }
                Err(e) if q.source == SourceKind::Auto => {
                    warn(format!("note: {e}; read /proc/net instead"));
                }
                Err(e) => return Err(e),
            }
        }
        procnet::read_inet(&root, proto, v6, q.states.for_proto(proto), &mut out, warn)?;
    }
    if q.tables.unix {
        let done = use_netlink
            && match netlink::dump_unix(q.states.for_proto(Proto::Unix), &mut out) {
                Ok(()) => true,
                Err(e) if q.source == SourceKind::Auto => {
                    warn(format!("note: {e}; read /proc/net/unix instead"));
                    false
                }
                Err(e) => return Err(e),
            };
        if !done {
            procnet::read_unix(&root, q.states.for_proto(Proto::Unix), &mut out, warn)?;
        }
    }
    Ok(out)
}

/// Everything [`run`] needs, validated: plain data.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub query: Query,
    /// Ports and addresses, applied to the rows the source gives.
    pub rows: filter::RowFilter,
    /// `-s`: counts and a diagnosis instead of the rows.
    pub summary: bool,
    /// `-p`: find each listed socket's processes.
    pub processes: bool,
    /// `-s --interval`: read the protocol counters twice, this far apart.
    pub interval: Option<std::time::Duration>,
    /// `-N`, `--all-netns`: which network namespaces to list.
    pub netns: netns::Scope,
    /// `--diagnose`: the findings alone, from two readings `interval` (or
    /// [`DIAGNOSE_INTERVAL`]) apart.
    pub diagnose: bool,
}

/// `--diagnose`'s wait between its two readings without `--interval`.
pub const DIAGNOSE_INTERVAL: Duration = Duration::from_secs(1);

/// What happens while [`run`] works, as it happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// One line, `warning: ...` or `note: ...`: a malformed table line
    /// that was skipped, rows past a cap, or a source that fell back to
    /// /proc. The listing goes on.
    Warning(String),
}

/// List the sockets `s` asks for, or summarise them (`s.summary`).
///
/// # Errors
/// As [`collect`], and [`Error::Owners`] when the proc root cannot be
/// listed for `-p`; [`Error::Interrupted`] when SIGINT or SIGTERM ends
/// `--interval`'s wait; with `-N`, a namespace that cannot be entered.
pub fn run(s: &Settings, on_event: &mut dyn FnMut(Event)) -> Result<Report, Error> {
    let mut warn = |w: String| on_event(Event::Warning(w));
    // -s --interval and --diagnose: every namespace's first reading, then
    // one wait; the sockets and the second reading come after it.
    let wait = if s.diagnose {
        Some(s.interval.unwrap_or(DIAGNOSE_INTERVAL))
    } else {
        s.interval.filter(|_| s.summary)
    };
    let first = match wait {
        Some(wait) => {
            let started = Instant::now();
            let first = in_namespaces(s, &|w| first_reading(s, w), &mut warn)?;
            wait_until(started + wait)?;
            first
        }
        None => Vec::new(),
    };
    let per_ns = in_namespaces(s, &|w| gather(s, w), &mut warn)?;
    if s.diagnose {
        return Ok(Report::Diagnosis(diagnosis(s, first, per_ns)?));
    }
    if s.summary {
        return Ok(Report::Summary(summarize(s, first, per_ns)?));
    }
    let mut sockets = Vec::new();
    let mut namespaces = Vec::new();
    for (ns, g) in per_ns {
        if let Some(netns) = ns {
            namespaces.push(report::Span {
                netns,
                rows: g.sockets.len(),
            });
        }
        if sockets.is_empty() {
            sockets = g.sockets;
        } else {
            sockets.extend(g.sockets);
        }
    }
    resolve_unix_peers(&mut sockets);
    let (owners, uninspected) = if s.processes {
        let (map, uninspected) = owners_of(&s.query.proc_root, &sockets)?;
        (Some(map), uninspected)
    } else {
        (None, 0)
    };
    Ok(Report::Sockets(Listing {
        sockets,
        owners,
        uninspected,
        namespaces,
        extensions: s.query.extensions,
    }))
}

/// Run `work` in each namespace `s` asks for: our own (no `-N`), or those
/// [`netns::scan`] enters.
pub(crate) fn in_namespaces<G: Send>(
    s: &Settings,
    work: &netns::Work<'_, G>,
    warn: &mut dyn FnMut(String),
) -> Result<Vec<(Option<netns::Netns>, G)>, Error> {
    Ok(match &s.netns {
        netns::Scope::Own => vec![(None, work(warn)?)],
        scope => netns::scan(scope, &s.query.proc_root, work, warn)?
            .into_iter()
            .map(|(ns, g)| (Some(ns), g))
            .collect(),
    })
}

/// The calling thread's namespace's sockets and counters for the
/// diagnosis, and when they were read.
fn first_reading(
    s: &Settings,
    warn: &mut dyn FnMut(String),
) -> Result<(Instant, diagnose::Reading), Error> {
    let at = Instant::now();
    let keep = |sk: &Socket| s.rows.is_empty() || s.rows.matches(sk);
    // The sockets come from the live kernel's netlink: not for `-s` on a
    // PROC_ROOT tree or with `--source proc` (its counters alone then;
    // `--diagnose` refuses both).
    let live = match s.query.source {
        SourceKind::Proc => false,
        SourceKind::Netlink => true,
        SourceKind::Auto => s.query.proc_root == Path::new("/proc"),
    };
    let tables = if live {
        s.query.tables
    } else {
        Tables {
            tcp: false,
            udp: false,
            ..s.query.tables
        }
    };
    let r = diagnose::read(tables, &s.query.proc_root, &keep, warn)?;
    Ok((at, r))
}

/// `--interval`'s wait, which a caught SIGINT or SIGTERM ends at once (the
/// caller exits as the signal's default would).
fn wait_until(until: Instant) -> Result<(), Error> {
    let _watch = crate::sys::watch_termination().map_err(Error::Signals)?;
    loop {
        if let Some(signal) = crate::sys::termination() {
            return Err(Error::Interrupted { signal });
        }
        let now = Instant::now();
        if now >= until {
            return Ok(());
        }
        std::thread::sleep((until - now).min(Duration::from_millis(50)));
    }
}

type Firsts = Vec<(Option<netns::Netns>, (Instant, diagnose::Reading))>;

/// Each namespace's look for the diagnosis (its first reading matched by
/// namespace: one made or gone between the readings has none) and the
/// interval's length.
fn looks(
    s: &Settings,
    first: Firsts,
    per_ns: &mut [(Option<netns::Netns>, Gathered)],
) -> Result<Vec<diagnose::Look>, Error> {
    let all: Vec<&Socket> = per_ns
        .iter()
        .flat_map(|(_, g)| g.last.iter().flat_map(|(_, r)| &r.sockets))
        .map(|seen| &seen.socket)
        .filter(|sk| diagnose::may_be_named(sk))
        .collect();
    let owners = named_owners(&s.query.proc_root, &all)?;
    let inode = |ns: &Option<netns::Netns>| ns.as_ref().map(|n| n.inode);
    let mut first = first;
    let mut out = Vec::new();
    // Made unique among all the namespaces, in the order of the scan.
    let mut metric_labels =
        netns::metric_labels(per_ns.iter().filter_map(|(ns, _)| ns.as_ref())).into_iter();
    for (ns, g) in per_ns.iter_mut() {
        let metric_netns = ns.as_ref().and_then(|_| metric_labels.next());
        let Some((at, last)) = g.last.take() else {
            continue;
        };
        let before = first
            .iter()
            .position(|(n, _)| inode(n) == inode(ns))
            .map(|i| first.swap_remove(i).1);
        let seconds = before
            .as_ref()
            .map_or(0.0, |(then, _)| at.duration_since(*then).as_secs_f64());
        let mut kernel: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for (section, key, value) in &g.kernel {
            kernel
                .entry(section.clone())
                .or_default()
                .insert(key.clone(), *value);
        }
        out.push(diagnose::Look {
            first: before.map(|(_, r)| r),
            last,
            seconds,
            kernel,
            sysctls: g.sysctls.take().unwrap_or_default(),
            owners: owners.clone(),
            netns: ns.as_ref().map(netns::Netns::label),
            metric_netns,
        });
    }
    Ok(out)
}

/// `--diagnose`: every namespace's findings, as one list.
fn diagnosis(
    s: &Settings,
    first: Firsts,
    mut per_ns: Vec<(Option<netns::Netns>, Gathered)>,
) -> Result<report::Diagnosis, Error> {
    let looks = looks(s, first, &mut per_ns)?;
    let interval_s = looks.iter().map(|l| l.seconds).fold(0.0, f64::max);
    let sockets = looks.iter().map(|l| l.last.sockets.len() as u64).sum();
    let findings = diagnose::merge(looks.iter().map(diagnose::findings).collect());
    Ok(report::Diagnosis {
        findings,
        interval_s,
        sockets,
        namespaces: per_ns.iter().filter(|(ns, _)| ns.is_some()).count(),
    })
}

/// `-s`: each namespace's counts, kernel figures and counters (with
/// `--interval`, against its `first` reading), the diagnosis and the
/// findings.
fn summarize(
    s: &Settings,
    first: Firsts,
    mut per_ns: Vec<(Option<netns::Netns>, Gathered)>,
) -> Result<summary::Summary, Error> {
    let owners = if s.processes {
        let all: Vec<&Socket> = per_ns.iter().flat_map(|(_, g)| &g.sockets).collect();
        summary_owners(&s.query.proc_root, &all)?
    } else {
        BTreeMap::new()
    };
    let inode = |ns: &Option<netns::Netns>| ns.as_ref().map(|n| n.inode);
    // The counters' interval, before the readings move into the looks.
    let intervals: Vec<Option<counters::Interval>> = per_ns
        .iter()
        .map(|(ns, g)| {
            let (at, last) = g.last.as_ref()?;
            first
                .iter()
                .find(|(n, _)| inode(n) == inode(ns))
                .map(|(_, (then, before))| {
                    let seconds = at.duration_since(*then).as_secs_f64();
                    counters::Interval::between(&before.counters, &last.counters, seconds)
                })
        })
        .collect();
    let looks = looks(s, first, &mut per_ns)?;
    let summaries = per_ns
        .into_iter()
        .zip(intervals)
        .zip(looks)
        .map(|(((ns, g), interval), look)| {
            let counters = look.last.counters.clone();
            let mut sum = summary::Summary::compute(&g.sockets, g.kernel)
                .with_counters(counters, interval, &g.sockets, &owners);
            sum.findings = diagnose::findings(&look);
            (ns, sum)
        })
        .collect();
    Ok(summary::Summary::of_namespaces(
        summaries,
        s.netns == netns::Scope::All,
    ))
}

/// `-p`: every holder of every socket in `sockets`, and how many
/// processes could not be read, counted only when some socket's owner was
/// not found (0 when nothing is missing).
pub(crate) fn owners_of(
    root: &Path,
    sockets: &[Socket],
) -> Result<(owner::OwnerMap, usize), Error> {
    let wanted: HashSet<u64> = sockets
        .iter()
        .map(|s| s.inode)
        .filter(|&i| i != 0)
        .collect();
    let map = owner::scan(root, &wanted).map_err(Error::Owners)?;
    let missing = sockets
        .iter()
        .any(|s| s.inode != 0 && map.get(s.inode).next().is_none());
    let uninspected = if missing { map.unreadable } else { 0 };
    Ok((map, uninspected))
}

/// `-s -p`: "pid/command" of the holders of the sockets the diagnosis may
/// name (listeners and UDP sockets with data waiting).
fn summary_owners(root: &Path, sockets: &[&Socket]) -> Result<BTreeMap<u64, String>, Error> {
    let wanted: HashSet<u64> = sockets
        .iter()
        .filter(|s| {
            s.inode != 0
                && s.recv_q.unwrap_or(0) > 0
                && (s.state == TcpState::Listen && s.proto == Proto::Tcp || s.proto == Proto::Udp)
        })
        .map(|s| s.inode)
        .collect();
    if wanted.is_empty() {
        return Ok(BTreeMap::new());
    }
    let map = owner::scan(root, &wanted).map_err(Error::Owners)?;
    Ok(wanted
        .into_iter()
        .filter_map(|inode| {
            let holders: Vec<String> = map
                .get(inode)
                .map(|o| format!("{}/{}", o.pid, o.command))
                .collect();
            (!holders.is_empty()).then(|| (inode, holders.join(",")))
        })
        .collect())
}

/// `pid/command` (several joined by commas) of each of `sockets` that
/// has an owner, for the diagnosis to name.
fn named_owners(root: &Path, sockets: &[&Socket]) -> Result<BTreeMap<u64, String>, Error> {
    let wanted: HashSet<u64> = sockets
        .iter()
        .map(|s| s.inode)
        .filter(|&i| i != 0)
        .collect();
    if wanted.is_empty() {
        return Ok(BTreeMap::new());
    }
    let map = owner::scan(root, &wanted).map_err(Error::Owners)?;
    Ok(wanted
        .into_iter()
        .filter_map(|inode| {
            let mut holders: Vec<String> = map
                .get(inode)
                .map(|o| format!("{}/{}", o.pid, o.command))
                .collect();
            holders.sort();
            holders.dedup();
            (!holders.is_empty()).then(|| (inode, holders.join(",")))
        })
        .collect())
}

/// What one network namespace gives: its rows that pass the row filter,
/// and with `-s` or `--diagnose` the kernel's figures and the diagnosis's
/// second reading.
pub struct Gathered {
    pub sockets: Vec<Socket>,
    /// `/proc/net/sockstat` and `sockstat6` (`-s`, `--diagnose`).
    pub kernel: Vec<(String, String, u64)>,
    /// The diagnosis's reading (sockets with their internals, and the
    /// protocol counters) and when it was taken (`-s`, `--diagnose`).
    pub last: Option<(Instant, diagnose::Reading)>,
    /// The sysctls the findings compare with (`-s`, `--diagnose`).
    pub sysctls: Option<diagnose::Sysctls>,
}

/// Everything that asks the kernel about one network namespace: the
/// dump, the row filter, `-s`'s figures. It works in the namespace of the
/// calling thread, whichever that is: `netns::scan` calls it on its worker
/// inside each namespace.
fn gather(s: &Settings, warn: &mut dyn FnMut(String)) -> Result<Gathered, Error> {
    let judging = s.summary || s.diagnose;
    let last = if judging {
        Some(first_reading(s, warn)?)
    } else {
        None
    };
    let mut sockets = if s.diagnose {
        Vec::new()
    } else {
        collect(&s.query, warn)?
    };
    if !s.rows.is_empty() {
        sockets.retain(|sk| s.rows.matches(sk));
    }
    let mut kernel = Vec::new();
    let mut sysctls = None;
    if judging {
        let root = netns::net_root(&s.query.proc_root);
        kernel = procnet::read_sockstat(&root, "sockstat", warn)?;
        kernel.extend(procnet::read_sockstat(&root, "sockstat6", warn)?);
        sysctls = Some(diagnose::Sysctls::read_with_host(&s.query.proc_root));
    }
    Ok(Gathered {
        sockets,
        kernel,
        last,
        sysctls,
    })
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

/// Per-socket internals a listing asks the kernel for. Netlink only:
/// `sock_diag` sends them as attributes of each inet socket, when asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extensions {
    /// `-i`: `TCP_INFO` and the congestion control, for TCP sockets.
    pub info: bool,
    /// `-m`: socket memory (`SKMEMINFO`), for every inet socket.
    pub memory: bool,
}

impl Extensions {
    pub const NONE: Extensions = Extensions {
        info: false,
        memory: false,
    };

    pub fn any(self) -> bool {
        self.info || self.memory
    }

    /// The `idiag_ext` bits of a dump of `proto`'s table.
    pub fn bits_for(self, proto: Proto) -> u8 {
        use crate::wire::sock_diag::{
            INET_DIAG_CONG, INET_DIAG_INFO, INET_DIAG_SKMEMINFO, ext_bit,
        };
        let mut bits = 0;
        if self.info && proto == Proto::Tcp {
            bits |= ext_bit(INET_DIAG_INFO) | ext_bit(INET_DIAG_CONG);
        }
        if self.memory && proto != Proto::Unix {
            bits |= ext_bit(INET_DIAG_SKMEMINFO);
        }
        bits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 100 1 0000000000000000 100 0 0 10 0
   1: 0100007F:0016 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 101 1 0000000000000000 100 0 0 10 0
   2: not a row
";

    /// A proc tree: two TCP rows and a bad line, the kernel's counts, and
    /// process 4242 holding the established socket as fd 3.
    fn fixture() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let p = root.path();
        fs::create_dir_all(p.join("net")).unwrap();
        fs::write(p.join("net/tcp"), TCP).unwrap();
        fs::write(p.join("net/sockstat"), "TCP: inuse 2 orphan 0 tw 0\n").unwrap();
        fs::create_dir_all(p.join("4242/fd")).unwrap();
        fs::write(p.join("4242/comm"), "daemon\n").unwrap();
        std::os::unix::fs::symlink("socket:[101]", p.join("4242/fd/3")).unwrap();
        root
    }

    fn settings(root: &Path) -> Settings {
        Settings {
            query: Query {
                tables: Tables {
                    tcp: true,
                    udp: false,
                    raw: false,
                    unix: false,
                    v4: true,
                    v6: false,
                },
                states: filter::StateSel::All,
                source: SourceKind::Proc,
                proc_root: root.to_path_buf(),
                extensions: Extensions::NONE,
            },
            rows: filter::RowFilter::default(),
            summary: false,
            processes: true,
            interval: None,
            netns: netns::Scope::Own,
            diagnose: false,
        }
    }

    #[test]
    fn kill_refuses_every_namespace_at_once_before_reading_anything() {
        let mut s = settings(Path::new("/nonexistent"));
        s.netns = netns::Scope::All;
        let mut events = Vec::new();
        let e = kill::kill(&s, &mut |e| events.push(e)).unwrap_err();
        assert!(matches!(e, Error::KillAllNetns), "{e:?}");
        assert!(events.is_empty());
    }

    #[test]
    fn a_listing_with_owners_and_the_bad_line_as_an_event() {
        let root = fixture();
        let mut events = Vec::new();
        let report = run(&settings(root.path()), &mut |e| events.push(e)).unwrap();
        let Report::Sockets(l) = report else {
            panic!("{report:?}")
        };
        assert_eq!(events.len(), 1, "{events:?}");
        let Event::Warning(w) = &events[0];
        assert!(w.contains("net/tcp line 4: "), "{w}");
        assert_eq!(
            l.sockets.iter().map(|s| s.inode).collect::<Vec<_>>(),
            [100, 101]
        );
        let owners = l.owners.as_ref().unwrap();
        assert_eq!(owners.get(100).count(), 0);
        let o: Vec<_> = owners.get(101).map(|o| (o.pid, o.fd, o.command)).collect();
        assert_eq!(o, [(4242, 3, "daemon")]);
        assert_eq!(l.uninspected, 0);
    }

    #[test]
    fn a_summary_after_the_row_filter() {
        let root = fixture();
        let mut s = settings(root.path());
        s.summary = true;
        s.rows.dport = Some(filter::PortRange { lo: 1, hi: 65535 });
        let report = run(&s, &mut |_| {}).unwrap();
        let Report::Summary(sum) = report else {
            panic!("{report:?}")
        };
        assert_eq!(sum.protocols["tcp"], 1, "the listener has no remote port");
        assert_eq!(sum.tcp_states["ESTABLISHED"], 1);
        assert_eq!(sum.kernel["TCP"]["inuse"], 2);
    }

    #[test]
    fn unix_peers_are_named_by_inode() {
        let unix = |inode, local: UnixName, peer| Socket {
            proto: Proto::Unix,
            v6: false,
            local: Endpoint::Unix(local),
            remote: Endpoint::Unix(UnixName::Unnamed),
            state: TcpState::Established,
            recv_q: None,
            send_q: None,
            uid: None,
            inode,
            timer: None,
            unix_kind: None,
            peer_inode: peer,
            internals: None,
        };
        let mut socks = [
            unix(1, UnixName::Path("/run/server".into()), Some(2)),
            unix(2, UnixName::Unnamed, Some(1)),
            unix(3, UnixName::Unnamed, Some(0)),
        ];
        resolve_unix_peers(&mut socks);
        assert_eq!(socks[0].remote, Endpoint::Unix(UnixName::Unnamed));
        assert_eq!(
            socks[1].remote,
            Endpoint::Unix(UnixName::Path("/run/server".into()))
        );
        assert_eq!(socks[2].remote, Endpoint::Unix(UnixName::Unnamed));
    }

    #[test]
    fn extension_bits_per_table() {
        let info = Extensions {
            info: true,
            memory: false,
        };
        let both = Extensions {
            info: true,
            memory: true,
        };
        let memory = Extensions {
            info: false,
            memory: true,
        };
        // INFO 0x02 | CONG 0x08 for TCP only; SKMEMINFO 0x40 for inet.
        assert_eq!(info.bits_for(Proto::Tcp), 0x0a);
        assert_eq!(info.bits_for(Proto::Udp), 0);
        assert_eq!(both.bits_for(Proto::Tcp), 0x4a);
        assert_eq!(memory.bits_for(Proto::Udp), 0x40);
        assert_eq!(memory.bits_for(Proto::Raw), 0x40);
        assert_eq!(both.bits_for(Proto::Unix), 0);
        assert_eq!(Extensions::NONE.bits_for(Proto::Tcp), 0);
        assert!(!Extensions::NONE.any() && info.any() && memory.any());
    }
}
