//! `nettool sockstat`: list sockets like netstat and ss.
//!
//! Flow: [`Query`] (which tables, which states) -> a source fills a
//! `Vec<Socket>` (netlink sock_diag, or the /proc/net text tables) ->
//! [`filter`] keeps the rows asked for -> [`owner`] maps the survivors'
//! inodes to processes -> the CLI renders a table, JSON or a summary.
//! The state filter is given to the source so that netlink can hand it to
//! the kernel: `-l` never walks the established table.

pub mod display;
pub mod error;
pub mod filter;
pub mod model;
pub mod names;
pub mod netlink;
pub mod owner;
pub mod procnet;
pub mod summary;

use std::path::{Path, PathBuf};

pub use error::Error;
pub use model::{Endpoint, Proto, Socket, TcpState};

/// Which socket tables to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

    /// The inet tables asked for, as (proto, is_v6) pairs.
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

/// A set of states, as the bitmask sock_diag takes (`1 << state`).
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

    /// Add a state. SYN_RECV also adds NEW_SYN_RECV, the request-socket
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
#[derive(Debug, Clone)]
pub struct Query {
    pub tables: Tables,
    /// The states to keep; see [`filter::StateSel::for_proto`] for what
    /// they mean for UDP, raw and UNIX sockets.
    pub states: filter::StateSel,
    pub source: SourceKind,
    /// Root of the proc filesystem (`PROC_ROOT`, default `/proc`).
    pub proc_root: PathBuf,
}

/// Read every socket the query asks for. Per-line problems in /proc tables
/// are reported through `warn` and skipped.
pub fn collect(q: &Query, warn: &mut dyn FnMut(String)) -> Result<Vec<Socket>, Error> {
    let use_netlink = match q.source {
        SourceKind::Proc => false,
        SourceKind::Netlink => true,
        SourceKind::Auto => q.proc_root == Path::new("/proc"),
    };
    let mut out = Vec::new();
    for (proto, v6) in q.tables.inet() {
        if use_netlink {
            match netlink::dump_inet(proto, v6, q.states.for_proto(proto), &mut out) {
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
        procnet::read_inet(
            &q.proc_root,
            proto,
            v6,
            q.states.for_proto(proto),
            &mut out,
            warn,
        )?;
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
            procnet::read_unix(
                &q.proc_root,
                q.states.for_proto(Proto::Unix),
                &mut out,
                warn,
            )?;
        }
    }
    Ok(out)
}
