//! Reverse DNS through the system resolver: the one place nettool asks a
//! name server, and only when the user passed `--dns`.
//!
//! Safe to callers: the sockaddr is built here from an `IpAddr` and the
//! answer comes back as an owned `String`; no C buffer escapes.

use std::ffi::CStr;
use std::net::IpAddr;

use super::sockaddr::socklen;

/// Reverse DNS through the system resolver (`getnameinfo`, `NI_NAMEREQD`).
/// Blocks; only called when the user passed `--dns`, from worker threads
/// under a deadline.
pub fn reverse_lookup(ip: IpAddr) -> Option<String> {
    let sa = sockaddr_of(ip);
    let mut host = [0 as libc::c_char; libc::NI_MAXHOST as usize];
    // SAFETY: `sa` is a valid sockaddr of the length passed; `host` is a
    // writable buffer of the length passed; no service buffer is asked for.
    let rc = unsafe {
        libc::getnameinfo(
            (&raw const sa.0).cast(),
            sa.1,
            host.as_mut_ptr(),
            libc::NI_MAXHOST,
            std::ptr::null_mut(),
            0,
            libc::NI_NAMEREQD,
        )
    };
    if rc != 0 {
        return None;
    }
    // SAFETY: on success getnameinfo wrote a NUL-terminated string.
    let name = unsafe { CStr::from_ptr(host.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}

/// `ip` as a socket address (port 0) and its length.
#[allow(
    clippy::cast_possible_truncation,
    reason = "AF_INET and AF_INET6 fit in sa_family_t"
)]
fn sockaddr_of(ip: IpAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    match ip {
        IpAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_in fits in sockaddr_storage, which is
            // aligned for every sockaddr type.
            unsafe { std::ptr::write((&raw mut ss).cast(), sin) };
            (ss, socklen::<libc::sockaddr_in>())
        }
        IpAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: 0,
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.octets(),
                },
                sin6_scope_id: 0,
            };
            // SAFETY: as above, for sockaddr_in6.
            unsafe { std::ptr::write((&raw mut ss).cast(), sin6) };
            (ss, socklen::<libc::sockaddr_in6>())
        }
    }
}
