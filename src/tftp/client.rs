//! `tftp get` and `tftp put` as one library call: validated [`Settings`]
//! in, [`Event`]s out while it runs, a [`Report`] back. The local side is
//! set up here (a temporary file beside the target, or standard output;
//! the file to send, or standard input), the server resolved only after
//! that, and SIGINT/SIGTERM end the transfer cleanly: the server is told,
//! and a download's temporary file is removed (or kept with
//! `keep_partial`), never renamed into place incomplete.

use std::fs::File;
use std::io;
use std::net::{SocketAddr, SocketAddrV6, ToSocketAddrs, UdpSocket};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::Duration;

use super::session::{Config, Download, Negotiated, Source, Stats, TftpError, Upload};
use super::sink::{Deferred, FileSink, ReadSource, SizedSource, StdoutSink, temp_file_for};
use super::transport::{self, Hooks, LocalEnd, SocketError};
use crate::addr::{AddrError, Host};

/// A validated transfer: plain data, built from the command line by
/// `cmd::tftp::settings`.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub direction: Direction,
    /// The server as given: an address, or a name resolved (by the
    /// system resolver) only once every local check has passed.
    pub host: String,
    pub port: u16,
    /// The remote file (`filename`), the options to ask for, the timers.
    pub session: Config,
    /// The most to busy-poll at a wait we answer at once; zero never
    /// polls, and never naps through windows either.
    pub busy_poll: Duration,
    /// The block and window sizes the socket buffers are made for (those
    /// asked, even when the request goes without options).
    pub blksize: u16,
    pub windowsize: u16,
    /// The client's socket: `--bind`, `--port-range`.
    pub local: LocalEnd,
    /// Report every packet ([`Event::Sent`], [`Event::Received`]).
    pub trace: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Direction {
    /// Download into `local`.
    Get(Destination),
    /// Upload from `local`.
    Put(Origin),
}

/// Where a download goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Destination {
    Stdout,
    /// A temporary file beside `path`, renamed to it once complete
    /// (replacing a file there only with `force`). On failure the partial
    /// data is kept as `PATH.part` with `keep_partial`, else deleted.
    File {
        path: PathBuf,
        force: bool,
        keep_partial: bool,
    },
}

/// Where an upload comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    Stdin,
    /// `path`, `size` bytes when it was checked; with `exact` (the size
    /// was announced as tsize) exactly that many are sent, and a file
    /// that shrinks or grows meanwhile is an error.
    File {
        path: String,
        size: u64,
        exact: bool,
    },
}

/// What a transfer reports while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Bytes done so far, and the total when known: every MiB, and once
    /// at the end.
    Progress { done: u64, total: Option<u64> },
    /// With `trace`: a packet went out, described in one line.
    Sent { to: SocketAddr, packet: String },
    /// With `trace`: a packet came in.
    Received { from: SocketAddr, packet: String },
    /// A failed download's partial data was kept (`keep_partial`) at
    /// `path`; `instead` says why not as `TARGET.part`, when it is not.
    Kept {
        path: PathBuf,
        instead: Option<String>,
    },
}

/// `get` or `put`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Get,
    Put,
}

impl Operation {
    pub fn name(self) -> &'static str {
        match self {
            Operation::Get => "get",
            Operation::Put => "put",
        }
    }
    /// "get X from SERVER", "put X to SERVER".
    fn toward(self) -> &'static str {
        match self {
            Operation::Get => "from",
            Operation::Put => "to",
        }
    }
}

/// A finished transfer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub operation: Operation,
    pub server: SocketAddr,
    pub remote: String,
    /// The local file as given; `-` for standard input or output.
    pub local: String,
    pub stats: Stats,
    pub negotiated: Negotiated,
    /// From the request to the last data block (not counting the dally).
    pub elapsed: Duration,
    pub busy_poll: Polls,
    pub window_nap: Naps,
}

/// How the waits we answer at once went.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Polls {
    /// The most polled per wait.
    pub max: Duration,
    /// Waits a poll answered.
    pub polled: u64,
    /// Waits that went to sleep after all.
    pub slept: u64,
}

/// How the naps through windows went.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Naps {
    pub naps: u64,
    /// Naps that found the rest of the window already waiting.
    pub late_wakes: u64,
}

/// Why a transfer did not happen or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The local side could not be set up, or the server not found: the
    /// user's to fix (the CLI's exit status 2).
    #[error("{0}")]
    Setup(String),
    #[error("cannot open a UDP socket")]
    Socket(#[source] io::Error),
    #[error("cannot catch SIGINT and SIGTERM")]
    Signals(#[source] io::Error),
    #[error("cannot use standard output")]
    Stdout(#[source] io::Error),
    /// The transfer failed, or a signal stopped it
    /// ([`TftpError::Interrupted`]).
    #[error("{} {remote} {} {server}", operation.name(), operation.toward())]
    Transfer {
        operation: Operation,
        remote: String,
        server: SocketAddr,
        #[source]
        error: TftpError,
    },
}

/// Run the transfer `s` describes, reporting to `on_event`.
///
/// # Errors
/// [`Error::Setup`] before any packet when the local side or the server
/// cannot be had; [`Error::Transfer`] when the transfer fails or is
/// interrupted (a download's file is then never left in place).
pub fn transfer(s: &Settings, on_event: &mut impl FnMut(Event)) -> Result<Report, Error> {
    let local = Local::open(&s.direction)?;
    // Every local check is done: only now a name may cost a DNS query.
    let server = resolve(&s.host, s.port)?;
    let sock = socket(s, server, port_start())?;
    // From here on SIGINT/SIGTERM end the transfer cleanly.
    let watch = crate::sys::watch_termination().map_err(Error::Signals)?;
    let result = local.run(s, server, &sock, on_event);
    // The transfer is over: Ctrl-C is the default again.
    drop(watch);
    result
}

/// Where a random port range walk starts (see
/// [`PortRange::from`](transport::PortRange::from)): another each run.
pub(super) fn port_start() -> u64 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(std::process::id())
}

/// The socket for `s`'s transfer with `server`; `start`: where a port
/// range is walked from.
pub(super) fn socket(s: &Settings, server: SocketAddr, start: u64) -> Result<UdpSocket, Error> {
    transport::socket_for(server, s.blksize, s.windowsize, &s.local, start).map_err(|e| match e {
        SocketError::Open(e) => Error::Socket(e),
        e => Error::Setup(e.to_string()),
    })
}

/// The local side of a transfer, set up (a temporary file made, the file
/// to send opened) before any packet.
pub(super) enum Local {
    /// A download into a temporary file, kept as `.part` on failure with
    /// the flag; the name as given.
    File(FileSink, bool, String),
    Stdout,
    /// An upload from this source, of this size when known.
    Source(Box<dyn Source>, Option<u64>, String),
}

impl Local {
    /// # Errors
    /// [`Error::Setup`]: no temporary file can be made beside the target,
    /// or the file to send cannot be opened.
    pub(super) fn open(direction: &Direction) -> Result<Local, Error> {
        Ok(match direction {
            Direction::Get(Destination::Stdout) => Local::Stdout,
            Direction::Get(Destination::File {
                path,
                force,
                keep_partial,
            }) => {
                let sink = FileSink::new(temp_file_for(path)?, path.clone(), *force);
                Local::File(sink, *keep_partial, path.display().to_string())
            }
            Direction::Put(Origin::Stdin) => {
                Local::Source(Box::new(ReadSource(io::stdin().lock())), None, "-".into())
            }
            Direction::Put(Origin::File { path, size, exact }) => {
                let f = File::open(path)
                    .map_err(|e| Error::Setup(format!("cannot read {path}: {e}")))?;
                let reader = io::BufReader::with_capacity(1 << 20, f);
                let source: Box<dyn Source> = if *exact {
                    Box::new(SizedSource::new(reader, path.clone(), *size))
                } else {
                    Box::new(ReadSource(reader))
                };
                Local::Source(source, Some(*size), path.clone())
            }
        })
    }

    /// The transfer itself, over `sock` with `server`; SIGINT and SIGTERM
    /// must be watched already.
    pub(super) fn run(
        self,
        s: &Settings,
        server: SocketAddr,
        sock: &UdpSocket,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<Report, Error> {
        match self {
            Local::File(mut sink, keep_partial, local) => {
                let machine = Download::new(s.session.clone(), server);
                let hooks = Hooks {
                    events: &mut *on_event,
                    trace: s.trace,
                };
                let r = transport::download(sock, machine, &mut sink, s.busy_poll, hooks);
                if r.is_err()
                    && let Some(kept) = sink.abandon(keep_partial)
                {
                    on_event(Event::Kept {
                        path: kept.path,
                        instead: kept.instead,
                    });
                }
                finish(s, Operation::Get, server, local, r)
            }
            Local::Stdout => {
                let machine = Download::new(s.session.clone(), server);
                let hooks = Hooks {
                    events: on_event,
                    trace: s.trace,
                };
                let out = io::stdout()
                    .as_fd()
                    .try_clone_to_owned()
                    .map_err(Error::Stdout)?;
                let mut sink = StdoutSink(Some(Deferred::new(File::from(out))));
                // Stopped by a signal, what is still buffered is dropped:
                // writing it could block on a full pipe again, past the
                // user's Ctrl-C.
                let r = transport::download(sock, machine, &mut sink, s.busy_poll, hooks);
                finish(s, Operation::Get, server, "-".into(), r)
            }
            Local::Source(mut source, size, local) => {
                let hooks = Hooks {
                    events: on_event,
                    trace: s.trace,
                };
                let r = transport::upload(
                    sock,
                    Upload::new(s.session.clone(), server),
                    source.as_mut(),
                    size,
                    s.busy_poll,
                    hooks,
                );
                finish(s, Operation::Put, server, local, r)
            }
        }
    }
}

fn finish(
    s: &Settings,
    operation: Operation,
    server: SocketAddr,
    local: String,
    result: Result<transport::Report, TftpError>,
) -> Result<Report, Error> {
    let remote = s.session.filename.clone();
    match result {
        Ok(r) => Ok(Report {
            operation,
            server,
            remote,
            local,
            stats: r.stats,
            negotiated: r.negotiated,
            elapsed: r.elapsed,
            busy_poll: Polls {
                max: r.waits.max(),
                polled: r.waits.polled,
                slept: r.waits.slept,
            },
            window_nap: Naps {
                naps: r.naps.naps,
                late_wakes: r.naps.late_wakes,
            },
        }),
        Err(error) => Err(Error::Transfer {
            operation,
            remote,
            server,
            error,
        }),
    }
}

/// The server's address. Literals (a zone names an interface of this
/// network namespace) never reach the resolver; names go through the
/// system resolver (the user gave a name, so asked for it).
///
/// # Errors
/// [`Error::Setup`]: no host, an unknown zone, a name that does not
/// resolve.
pub fn resolve(host: &str, port: u16) -> Result<SocketAddr, Error> {
    let setup = |e: AddrError| {
        Error::Setup(match e {
            AddrError::NoHost => "no host given: write HOST, HOST:PORT or [IPV6]:PORT".into(),
            AddrError::NotIpv6(_) => cannot_resolve(host),
            e => format!("'{host}': {e}"),
        })
    };
    match Host::parse(host).map_err(setup)? {
        Host::Ip(ip) => Ok(SocketAddr::new(ip, port)),
        Host::Zoned { ip, zone } => {
            let scope = crate::addr::zone_index(zone).map_err(setup)?;
            Ok(SocketAddr::V6(SocketAddrV6::new(ip, port, 0, scope)))
        }
        Host::Name(name) => (name, port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut it| it.next())
            .ok_or_else(|| Error::Setup(cannot_resolve(host))),
    }
}

fn cannot_resolve(host: &str) -> String {
    format!("cannot resolve '{host}': give an IP address, or check /etc/hosts and the resolver")
}
