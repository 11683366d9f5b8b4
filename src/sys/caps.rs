//! Capabilities: drop every one of them once the privileged work (opening
//! the raw channel) is done.
//!
//! Safe to callers: one call, no arguments; the `capset(2)` structs are
//! built here.

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
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    let mut header = Header {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
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
