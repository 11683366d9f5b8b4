//! Capabilities: drop every one of them once the privileged work (opening
//! the raw channel) is done, and ask whether one is held (before work that
//! needs it, so it can be refused up front with one clear line).
//!
//! Safe to callers: no pointers in or out; the `capset(2)`/`capget(2)`
//! structs are built here.

use std::io;

/// Drop every capability from the effective, permitted and inheritable
/// sets: called right after the raw channel is open, so nothing later runs
/// with `CAP_NET_RAW` (or anything else). Root's uid stays; a setcap'd
/// binary ends up with no privilege at all.
///
/// # Errors
///
/// What `capset` failed with; the capabilities may then still be held.
pub fn drop_capabilities() -> io::Result<()> {
    let mut header = Header::this_thread();
    let data = [Data::default(); 2];
    // SAFETY: capset(2) reads a v3 header and two data structs, which is
    // exactly what we pass; pid 0 means this thread.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &raw mut header, data.as_ptr()) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whether the effective uid is root: what a "run as root" hint would not
/// help with.
pub fn is_root() -> bool {
    // SAFETY: geteuid(2) takes no arguments and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// `CAP_NET_ADMIN` (`linux/capability.h`): what closing another socket
/// with `SOCK_DESTROY` needs.
pub const CAP_NET_ADMIN: u32 = 12;

/// Whether this thread holds capability `cap` (a `CAP_*` number below 64)
/// in its effective set: what the kernel checks, in the user namespace
/// that owns the network namespace (for `unshare --user --map-root-user
/// --net`, that one).
///
/// # Errors
///
/// What `capget` failed with.
pub fn has_effective(cap: u32) -> io::Result<bool> {
    let mut header = Header::this_thread();
    let mut data = [Data::default(); 2];
    // SAFETY: capget(2) with a v3 header writes exactly two data structs,
    // which `data` holds; pid 0 means this thread.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &raw mut header, data.as_mut_ptr()) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // Bits 0-31 in the first struct, 32-63 in the second.
    let word = data.get((cap / 32) as usize).map_or(0, |d| d.effective);
    Ok(word & (1u32 << (cap % 32)) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The effective set as /proc/self/status shows it (`CapEff`, hex).
    fn cap_eff_from_proc() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let hex = status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .unwrap()
            .trim();
        u64::from_str_radix(hex, 16).unwrap()
    }

    #[test]
    fn effective_set_agrees_with_proc_status() {
        let eff = cap_eff_from_proc();
        // CAP_NET_ADMIN, CAP_CHOWN (0), CAP_SYS_ADMIN (21), CAP_CHECKPOINT_RESTORE (40).
        for cap in [CAP_NET_ADMIN, 0, 21, 40] {
            assert_eq!(
                has_effective(cap).unwrap(),
                eff & (1 << cap) != 0,
                "capability {cap}, CapEff {eff:x}"
            );
        }
        assert!(!has_effective(63).unwrap() || eff & (1 << 63) != 0);
    }
}

/// `struct __user_cap_header_struct` (`linux/capability.h`), version 3.
#[repr(C)]
struct Header {
    version: u32,
    pid: i32,
}

impl Header {
    /// A v3 header for the calling thread (pid 0).
    fn this_thread() -> Header {
        const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
        Header {
            version: LINUX_CAPABILITY_VERSION_3,
            pid: 0,
        }
    }
}

/// `struct __user_cap_data_struct`: v3 takes two, capabilities 0-31 and
/// 32-63.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Data {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}
