//! nettool: network diagnostics in one binary.
//!
//! The library holds everything; `main.rs` only parses, dispatches and
//! maps errors to exit codes. See ARCHITECTURE.md for the map.

pub mod addr;
pub mod arp;
pub mod cli;
pub mod cmd;
pub mod neigh;
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

/// Whether the tests run under CI: the `CI` variable set to anything
/// non-empty. There a test that cannot run (no root, a missing program)
/// fails instead of skipping. The one definition for the unit tests and
/// the integration tests (`tests/util`); not part of the tool.
#[doc(hidden)]
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// A test that cannot run here (no root, a missing program) ends with
/// this. Outside CI: one line `SKIP <test>: <why>` that `cargo test` shows
/// even for a passing test, and it returns (the caller then returns). Under
/// CI ([`in_ci`]): a panic, because a skipped test is not a passed one.
///
/// `<test>` is the test's name: libtest names each test's thread after it.
/// The line is written to the process's stderr directly, because libtest
/// captures only what the `print!` family of macros writes, and shows that
/// for failing tests alone. Test support, not part of the tool.
#[doc(hidden)]
#[track_caller]
pub fn skip_or_fail(why: impl std::fmt::Display) {
    use std::io::Write;
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("<unnamed test>");
    assert!(
        !in_ci(),
        "{test} cannot run, and CI is set, so this is a failure, not a skip: {why}"
    );
    let _ = writeln!(std::io::stderr(), "SKIP {test}: {why}");
}
