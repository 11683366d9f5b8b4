//! nettool: network diagnostics in one binary.
//!
//! The library holds everything; `main.rs` only parses, dispatches and
//! maps errors to exit codes. See ARCHITECTURE.md for the map.

pub mod addr;
pub mod arp;
pub mod cli;
pub mod cmd;
pub mod output;
pub mod probe;
pub mod sockstat;
pub mod sys;
pub mod tftp;
pub mod wire;

/// A problem with what the user asked for (bad flag value, malformed
/// filter) or with the setup (missing privilege): exit status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Exit statuses shared by every subcommand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 0: what was asked for was done or found.
    Success,
    /// 1: the thing probed failed or nothing matched.
    NotFound,
    /// 128 + the signal (SIGINT, SIGTERM) that stopped the work, as
    /// shells expect.
    Interrupted(u8),
}

impl Status {
    pub fn code(self) -> u8 {
        match self {
            Status::Success => 0,
            Status::NotFound => 1,
            Status::Interrupted(signal) => 128u8.saturating_add(signal),
        }
    }
}

/// Under CI (the `CI` variable set to anything non-empty) a unit test that
/// cannot run fails instead of skipping.
#[cfg(test)]
pub(crate) fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}
