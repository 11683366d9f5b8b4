//! Signals: how a long run learns that the user asked it to stop.
//!
//! Two mechanisms, for two kinds of loop:
//! - [`catch_interrupt`] / [`interrupted`]: SIGINT only, for probe and arp,
//!   whose loops check the flag between short waits.
//! - [`catch_termination`] / [`watch_termination`] / [`termination`]:
//!   SIGINT and SIGTERM without `SA_RESTART`, so a blocked call returns
//!   `EINTR` at once and the caller can clean up and exit 128 + signal.
//!
//! Every handler only stores to an atomic or calls `alarm`, both
//! async-signal-safe.

use std::io;

static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Catch SIGINT (Ctrl-C) so a long-running probe can stop and print its
/// summary; [`interrupted`] tells whether it arrived.
pub fn catch_interrupt() {
    // SAFETY: the handler only stores to an atomic, which is
    // async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t);
    }
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// The signal that asked us to stop (SIGINT or SIGTERM), 0 for none.
static TERMINATION: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

extern "C" fn on_termination(signal: libc::c_int) {
    TERMINATION.store(signal, std::sync::atomic::Ordering::Relaxed);
}

/// Catch SIGINT and SIGTERM so a transfer can clean up, tell its peer and
/// exit 128 + the signal; [`termination`] tells which came. Without
/// `SA_RESTART`, so a blocking receive or write returns `EINTR` at once.
pub fn catch_termination() -> io::Result<()> {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction is valid; the handler only stores to
        // an atomic, which is async-signal-safe.
        let rc = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_termination as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(signal, &sa, std::ptr::null_mut())
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The signal [`catch_termination`] caught, if one came.
#[inline]
pub fn termination() -> Option<i32> {
    match TERMINATION.load(std::sync::atomic::Ordering::Relaxed) {
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

/// Like `on_termination`, and wakes whatever call the signal missed: one
/// that came between a check of [`termination`] and a blocking call
/// (a receive, a read from a pipe, a write to one) would otherwise wait
/// for that call to return. An alarm a second later interrupts it.
extern "C" fn on_termination_waking(signal: libc::c_int) {
    TERMINATION.store(signal, std::sync::atomic::Ordering::Relaxed);
    // SAFETY: alarm is async-signal-safe.
    unsafe {
        libc::alarm(1);
    }
}

/// The wake-up alarm: interrupts the blocked call (no `SA_RESTART`), and
/// comes again in a second in case this one fell between a check and a
/// call too.
extern "C" fn on_wake_alarm(_: libc::c_int) {
    if TERMINATION.load(std::sync::atomic::Ordering::Relaxed) != 0 {
        // SAFETY: alarm is async-signal-safe.
        unsafe {
            libc::alarm(1);
        }
    }
}

fn set_handler(signal: libc::c_int, handler: libc::sighandler_t) -> io::Result<()> {
    // SAFETY: a zeroed sigaction is valid; every handler passed here only
    // touches atomics and calls async-signal-safe functions (or is
    // SIG_DFL / SIG_IGN). No SA_RESTART: blocked calls return EINTR.
    let rc = unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = handler;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(signal, &sa, std::ptr::null_mut())
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// While alive, SIGINT and SIGTERM are caught as by [`catch_termination`]
/// (see [`termination`]), and a call blocked when one came is interrupted
/// within a second even if the signal missed it. Dropped, the default
/// dispositions are back (a later blocked write ends at Ctrl-C).
#[must_use = "dropping it restores the default dispositions"]
pub struct TerminationWatch(());

/// Start a [`TerminationWatch`].
pub fn watch_termination() -> io::Result<TerminationWatch> {
    set_handler(
        libc::SIGALRM,
        on_wake_alarm as *const () as libc::sighandler_t,
    )?;
    let watch = TerminationWatch(());
    for signal in [libc::SIGINT, libc::SIGTERM] {
        set_handler(
            signal,
            on_termination_waking as *const () as libc::sighandler_t,
        )?;
    }
    Ok(watch)
}

impl Drop for TerminationWatch {
    fn drop(&mut self) {
        let _ = set_handler(libc::SIGINT, libc::SIG_DFL);
        let _ = set_handler(libc::SIGTERM, libc::SIG_DFL);
        // A pending alarm must not kill us once SIGALRM is back to its
        // default: ignore it, cancel it, then restore the default.
        let _ = set_handler(libc::SIGALRM, libc::SIG_IGN);
        // SAFETY: alarm(0) only cancels a pending alarm.
        unsafe {
            libc::alarm(0);
        }
        let _ = set_handler(libc::SIGALRM, libc::SIG_DFL);
    }
}
