//! Signals: how a long run learns that the user asked it to stop.
//!
//! One mechanism: every handler here records the signal in one atomic
//! ([`interrupted`] and [`termination`] read it) and is installed by one
//! `sigaction` call. What differs is how a caught signal treats a call that
//! is blocked when it comes, and both ways are needed:
//! - [`catch_interrupt`]: SIGINT only, with `SA_RESTART`. arp and probe
//!   check [`interrupted`] between short waits; their blocking calls
//!   (pnet's reads, `connect`, sleeps) must restart, not fail with `EINTR`
//!   and turn Ctrl-C into an error. SIGTERM keeps its default: it kills.
//!   `poll` never restarts, so [`super::poll::poll_one`] gives up its wait
//!   itself on Ctrl-C.
//! - [`catch_termination`], [`watch_termination`]: SIGINT and SIGTERM
//!   without `SA_RESTART`, so a blocked receive, accept or write returns
//!   `EINTR` at once and tftp (or `probe serve`) cleans up, tells its peer
//!   and exits 128 + the signal ([`termination`]). The watch also re-arms
//!   a wake-up alarm for a signal that came just before a blocking call.
//!
//! Every handler only stores to an atomic or calls `alarm`, both
//! async-signal-safe. The flag guards no other data, so `Relaxed` is
//! enough.

use std::io;
use std::sync::atomic::{AtomicI32, Ordering};

/// The signal that asked us to stop (SIGINT or SIGTERM), 0 for none.
static CAUGHT: AtomicI32 = AtomicI32::new(0);

/// What a caught signal does to a system call blocked when it comes.
#[derive(Debug, Clone, Copy)]
enum Blocked {
    /// `SA_RESTART`: the call goes on (most calls; not `poll`).
    Restarts,
    /// The call fails with `EINTR`.
    Interrupted,
}

extern "C" fn on_stop(signal: libc::c_int) {
    CAUGHT.store(signal, Ordering::Relaxed);
}

/// Like `on_stop`, and wakes whatever call the signal missed: one that came
/// between a check of [`termination`] and a blocking call (a receive, a
/// read from a pipe, a write to one) would otherwise wait for that call to
/// return. An alarm a second later interrupts it.
extern "C" fn on_stop_waking(signal: libc::c_int) {
    CAUGHT.store(signal, Ordering::Relaxed);
    // SAFETY: alarm is async-signal-safe.
    unsafe {
        libc::alarm(1);
    }
}

/// The wake-up alarm: interrupts the blocked call (no `SA_RESTART`), and
/// comes again in a second in case this one fell between a check and a
/// call too.
extern "C" fn on_wake_alarm(_: libc::c_int) {
    if CAUGHT.load(Ordering::Relaxed) != 0 {
        // SAFETY: alarm is async-signal-safe.
        unsafe {
            libc::alarm(1);
        }
    }
}

/// A handler function as `sigaction` takes it.
fn handler(f: extern "C" fn(libc::c_int)) -> libc::sighandler_t {
    f as *const () as libc::sighandler_t
}

/// Install `handler` (one of the handlers above, or `SIG_DFL` / `SIG_IGN`)
/// for `signal`. The signal is blocked while its handler runs (no
/// `SA_NODEFER`), as with `signal(3)`.
fn set_handler(
    signal: libc::c_int,
    handler: libc::sighandler_t,
    blocked: Blocked,
) -> io::Result<()> {
    // SAFETY: a zeroed sigaction is valid; every handler passed here only
    // touches atomics and calls async-signal-safe functions (or is
    // SIG_DFL / SIG_IGN); `sa` lives across the call.
    let rc = unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = handler;
        sa.sa_flags = match blocked {
            Blocked::Restarts => libc::SA_RESTART,
            Blocked::Interrupted => 0,
        };
        libc::sigemptyset(&raw mut sa.sa_mask);
        libc::sigaction(signal, &raw const sa, std::ptr::null_mut())
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Catch SIGINT (Ctrl-C) so a long-running probe or arp can stop and print
/// its summary; [`interrupted`] tells whether it arrived. Blocked calls
/// restart (see the module doc).
pub fn catch_interrupt() {
    // Cannot fail: SIGINT is a valid, catchable signal.
    let _ = set_handler(libc::SIGINT, handler(on_stop), Blocked::Restarts);
}

/// Whether SIGINT has been caught.
pub fn interrupted() -> bool {
    CAUGHT.load(Ordering::Relaxed) == libc::SIGINT
}

/// Catch SIGINT and SIGTERM so a transfer can clean up, tell its peer and
/// exit 128 + the signal; [`termination`] tells which came. Without
/// `SA_RESTART`, so a blocking receive or write returns `EINTR` at once.
///
/// # Errors
///
/// The error of `sigaction`, which in practice does not fail.
pub fn catch_termination() -> io::Result<()> {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        set_handler(signal, handler(on_stop), Blocked::Interrupted)?;
    }
    Ok(())
}

/// The signal [`catch_termination`] or [`watch_termination`] caught, if one
/// came.
#[inline]
pub fn termination() -> Option<i32> {
    match CAUGHT.load(Ordering::Relaxed) {
        0 => None,
        s => Some(s),
    }
}

/// The name of signal `n`, e.g. `SIGINT`.
pub fn signal_name(n: i32) -> String {
    match n {
        libc::SIGINT => "SIGINT".into(),
        libc::SIGTERM => "SIGTERM".into(),
        n => format!("signal {n}"),
    }
}

/// While alive, SIGINT and SIGTERM are caught as by [`catch_termination`]
/// (see [`termination`]), and a call blocked when one came is interrupted
/// within a second even if the signal missed it. Dropped, the default
/// dispositions are back (a later blocked write ends at Ctrl-C).
#[must_use = "dropping it restores the default dispositions"]
pub struct TerminationWatch(());

/// Start a [`TerminationWatch`].
///
/// # Errors
///
/// The error of `sigaction`, which in practice does not fail.
pub fn watch_termination() -> io::Result<TerminationWatch> {
    set_handler(libc::SIGALRM, handler(on_wake_alarm), Blocked::Interrupted)?;
    let watch = TerminationWatch(());
    for signal in [libc::SIGINT, libc::SIGTERM] {
        set_handler(signal, handler(on_stop_waking), Blocked::Interrupted)?;
    }
    Ok(watch)
}

impl Drop for TerminationWatch {
    fn drop(&mut self) {
        let restore = |signal, disposition| {
            let _ = set_handler(signal, disposition, Blocked::Interrupted);
        };
        restore(libc::SIGINT, libc::SIG_DFL);
        restore(libc::SIGTERM, libc::SIG_DFL);
        // A pending alarm must not kill us once SIGALRM is back to its
        // default: ignore it, cancel it, then restore the default.
        restore(libc::SIGALRM, libc::SIG_IGN);
        // SAFETY: alarm(0) only cancels a pending alarm.
        unsafe {
            libc::alarm(0);
        }
        restore(libc::SIGALRM, libc::SIG_DFL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_signals_nettool_catches() {
        assert_eq!(signal_name(libc::SIGINT), "SIGINT");
        assert_eq!(signal_name(libc::SIGTERM), "SIGTERM");
        assert_eq!(
            signal_name(libc::SIGHUP),
            format!("signal {}", libc::SIGHUP)
        );
    }
}
