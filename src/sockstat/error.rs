//! Typed errors of the socket lister; the CLI turns them into one line.

use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A /proc file could not be opened or read at all (a bad line is not
    /// an error: it is skipped with a warning).
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    /// A /proc table that is not a regular file (a FIFO, /dev/zero): it
    /// would block or never end, so it is not read at all.
    #[error(
        "{} is {kind}, not a regular file: a socket table is a regular file (check PROC_ROOT)",
        path.display()
    )]
    NotATable { path: PathBuf, kind: &'static str },
    /// The netlink `sock_diag` dump failed for one table.
    #[error("netlink sock_diag dump of {table} failed: {source}")]
    Netlink {
        table: &'static str,
        source: io::Error,
    },
    /// The kernel has no `sock_diag` handler for this table (e.g. `raw_diag`
    /// not built); the caller may fall back to /proc.
    #[error("the kernel has no sock_diag support for {table}")]
    NetlinkUnsupported { table: &'static str },
    /// The proc root could not be listed for the owner scan (`-p`).
    #[error(transparent)]
    Owners(io::Error),
    /// SIGINT or SIGTERM (this number) came during `--interval`'s wait.
    #[error("interrupted by signal {signal}")]
    Interrupted { signal: i32 },
    /// The signal handlers for `--interval`'s wait could not be set.
    #[error("cannot catch SIGINT and SIGTERM: {0}")]
    Signals(io::Error),
    /// `-N NAME`: no such file under /run/netns.
    #[error(
        "no network namespace named '{name}' under /run/netns: {}",
        known_names(known)
    )]
    NetnsUnknown { name: String, known: Vec<String> },
    /// `-N PID`: no such process (or a zombie, which has no namespaces).
    #[error("process {pid} does not exist (or has exited): give the PID of a running process")]
    NetnsNoProcess { pid: u32 },
    /// `-N PATH`: not a network namespace file.
    #[error(
        "{} is {what}, not a network namespace file: give /run/netns/NAME, /proc/PID/ns/net or a bind mount of one",
        path.display()
    )]
    NotANetns { path: PathBuf, what: String },
    /// Opening or entering another network namespace was refused.
    #[error(
        "cannot enter network namespace {netns} ({op}: {}): that needs CAP_SYS_ADMIN: run as root",
        os_text(source)
    )]
    NetnsDenied {
        netns: String,
        op: &'static str,
        source: io::Error,
    },
    /// A network namespace could not be opened, entered or left.
    #[error("network namespace {netns}: {op}: {}", os_text(source))]
    Netns {
        netns: String,
        op: &'static str,
        source: io::Error,
    },
    /// `-K` over every namespace at once: refused, one at a time (`-N`).
    #[error(
        "-K closes sockets in one network namespace at a time: give -N NAME|PATH|PID instead of --all-netns"
    )]
    KillAllNetns,
    /// `-K` without `CAP_NET_ADMIN`: found before anything was closed.
    #[error("closing sockets needs CAP_NET_ADMIN: run as root, or with that capability")]
    KillNeedsCapNetAdmin,
    /// `SOCK_DESTROY` refused with `EOPNOTSUPP` before anything was closed.
    #[error(
        "this kernel cannot close sockets: it was built without CONFIG_INET_DIAG_DESTROY, nothing was closed"
    )]
    KillUnsupported,
    /// No netlink socket to send the destroy requests on.
    #[error("cannot open a netlink sock_diag socket to close sockets: {0}")]
    KillChannel(io::Error),
    /// `--watch` could not join the `sock_diag` destroy groups.
    #[error(
        "this kernel refused to let --watch join the sock_diag destroy groups (as ss -E does), which tell of sockets that close between two dumps: run as root, or with CAP_NET_ADMIN"
    )]
    WatchNeedsAdmin,
}

/// The names `ip netns list` would show, for the error of a wrong one.
fn known_names(known: &[String]) -> String {
    const SHOWN: usize = 10;
    if known.is_empty() {
        return "there are none (`ip netns add NAME` makes one; -N also takes a PID or a path)"
            .into();
    }
    let mut s = format!(
        "the names there are {}",
        known[..known.len().min(SHOWN)].join(", ")
    );
    if known.len() > SHOWN {
        let _ = write!(s, " and {} more (ip netns list)", known.len() - SHOWN);
    }
    s
}

/// An OS error's words without std's ` (os error N)`, for a message that
/// already says what failed: `Operation not permitted`.
pub(crate) fn os_text(e: &io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(at) if s.ends_with(')') => s[..at].to_string(),
        _ => s,
    }
}
