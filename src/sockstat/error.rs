//! Typed errors of the socket lister; the CLI turns them into one line.

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
}
