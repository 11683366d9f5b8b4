//! Scheduling and timers: how precisely this thread's sleeps end, how
//! often it was preempted, how many CPUs are online. Used by the TFTP
//! pacing to keep its measured timing.
//!
//! All best effort: failures give a neutral value, never an error.

/// Let this thread's timers end when asked: the kernel otherwise lets a
/// sleep run up to 50 us late (the default timer slack), to batch
/// wake-ups. Best effort.
pub fn precise_timers() {
    // SAFETY: PR_SET_TIMERSLACK takes a plain integer, in nanoseconds.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1000 as libc::c_ulong, 0, 0, 0);
    }
}

/// How often the kernel has preempted the calling thread (involuntary
/// context switches, from `getrusage(RUSAGE_THREAD)`).
pub fn involuntary_switches() -> u64 {
    // SAFETY: plain old data; zero is valid.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is ours and the right type for the call.
    if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &raw mut ru) } != 0 {
        return 0;
    }
    u64::try_from(ru.ru_nivcsw).unwrap_or(0)
}

/// How many CPUs are online (not just ours to run on).
pub fn online_cpus() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(n).unwrap_or(1).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_effort_values_are_sane() {
        assert!(online_cpus() >= 1);
        precise_timers();
        let before = involuntary_switches();
        assert!(involuntary_switches() >= before);
    }
}
