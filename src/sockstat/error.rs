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
    /// SIGINT or SIGTERM (this number) came during `--interval`'s wait.
    #[error("interrupted by signal {signal}")]
    Interrupted { signal: i32 },
    /// The signal handlers for `--interval`'s wait could not be set.
    #[error("cannot catch SIGINT and SIGTERM: {0}")]
    Signals(io::Error),
}
