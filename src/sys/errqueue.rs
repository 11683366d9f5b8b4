//! The socket error queue (`IP_RECVERR` / `IPV6_RECVERR`): ICMP errors
//! (unreachable, refused) reported on the socket that caused them.
//!
//! Safe to callers: [`take_queued_error`] never blocks and copies what the
//! kernel queued into a plain [`QueuedError`]; the control-message walk
//! stays here, bounded by the buffer the kernel filled.

use std::io;
use std::net::IpAddr;

use super::sockaddr::{socket_addr_of, socklen};

/// `SO_EE_ORIGIN_*` values of [`QueuedError::origin`] that mean an ICMP
/// (or `ICMPv6`) message from the network, not a local error.
pub use libc::{SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6};

/// Ask the kernel to report ICMP errors (port or host unreachable) on an
/// unconnected UDP socket: the next receive then fails with
/// `ECONNREFUSED` / `EHOSTUNREACH` instead of waiting for a timeout.
///
/// # Errors
///
/// What `setsockopt` failed with: `fd` is not an IPv4 (or, with `ipv6`,
/// IPv6) socket.
pub fn set_recv_errors(fd: std::os::fd::BorrowedFd<'_>, ipv6: bool) -> io::Result<()> {
    use std::os::fd::AsRawFd as _;
    let one: libc::c_int = 1;
    let (level, name) = if ipv6 {
        (libc::IPPROTO_IPV6, libc::IPV6_RECVERR)
    } else {
        (libc::IPPROTO_IP, libc::IP_RECVERR)
    };
    // SAFETY: a valid fd borrowed for the call and an int option.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw const one).cast(),
            socklen::<libc::c_int>(),
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// An ICMP (or local) error the kernel queued on a socket with
/// `IP_RECVERR` / `IPV6_RECVERR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueuedError {
    /// The errno it stands for.
    pub errno: i32,
    /// `SO_EE_ORIGIN_*`: 1 local, 2 ICMP, 3 `ICMPv6`.
    pub origin: u8,
    pub icmp_type: u8,
    pub icmp_code: u8,
    /// Who sent the ICMP message (a router, or the host itself).
    pub offender: Option<IpAddr>,
    /// Where the packet that caused it was going.
    pub dest: Option<std::net::SocketAddr>,
    /// When the kernel received the ICMP message (`CLOCK_REALTIME`), on a
    /// socket with [`set_timestamps`]; `None` without.
    pub arrived: Option<std::time::SystemTime>,
}

/// Ask the kernel to stamp what it queues on this socket with its arrival
/// time (`SO_TIMESTAMPNS`): [`take_queued_error`] then returns the ICMP
/// message's receive time (`ip_recv_error` / `ipv6_recv_error` pass it as
/// a control message), not the time user space got around to reading it.
///
/// The kernel turns stamping on (a static key) shortly after the first
/// socket asks, and off when the last one closes; a message that arrived
/// before that is stamped when it is read.
///
/// # Errors
///
/// What `setsockopt` failed with.
pub fn set_timestamps(fd: std::os::fd::BorrowedFd<'_>) -> io::Result<()> {
    use std::os::fd::AsRawFd as _;
    let one: libc::c_int = 1;
    // SAFETY: a valid fd borrowed for the call and an int option.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&raw const one).cast(),
            socklen::<libc::c_int>(),
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Take the oldest entry of a socket's error queue (`MSG_ERRQUEUE`), if
/// any. Never blocks.
pub fn take_queued_error(fd: std::os::fd::BorrowedFd<'_>) -> Option<QueuedError> {
    use std::os::fd::AsRawFd as _;
    let mut data = [0u8; 256];
    let mut control = [0u64; 64];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    // SAFETY: plain old data; zero is valid.
    let mut name: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    // SAFETY: msghdr is plain old data; zero is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&raw mut name).cast();
    msg.msg_namelen = socklen::<libc::sockaddr_storage>();
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: every pointer in `msg` points at buffers we own for the call.
    let rc = unsafe {
        libc::recvmsg(
            fd.as_raw_fd(),
            &raw mut msg,
            libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT,
        )
    };
    if rc < 0 {
        return None;
    }
    // SAFETY: the CMSG_* macros walk the control buffer the kernel filled,
    // bounded by msg_controllen; every read through them is unaligned (the
    // control buffer promises no alignment to the structs inside).
    unsafe {
        let mut found: Option<QueuedError> = None;
        let mut arrived = None;
        let mut cmsg = libc::CMSG_FIRSTHDR(&raw const msg);
        while !cmsg.is_null() {
            let c = &*cmsg;
            if c.cmsg_level == libc::SOL_SOCKET && c.cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts = std::ptr::read_unaligned(cmsg_timespec(cmsg));
                arrived = system_time(ts.tv_sec, ts.tv_nsec);
            }
            let is_err = (c.cmsg_level == libc::IPPROTO_IP && c.cmsg_type == libc::IP_RECVERR)
                || (c.cmsg_level == libc::IPPROTO_IPV6 && c.cmsg_type == libc::IPV6_RECVERR);
            if is_err {
                #[allow(
                    clippy::cast_ptr_alignment,
                    reason = "read only through read_unaligned and SO_EE_OFFENDER"
                )]
                let ee = libc::CMSG_DATA(cmsg) as *const libc::sock_extended_err;
                let e = std::ptr::read_unaligned(ee);
                let off = libc::SO_EE_OFFENDER(ee).cast_const();
                let offender =
                    match i32::from(std::ptr::read_unaligned(&raw const (*off).sa_family)) {
                        libc::AF_INET => {
                            let sin = std::ptr::read_unaligned(off.cast::<libc::sockaddr_in>());
                            Some(IpAddr::from(sin.sin_addr.s_addr.to_ne_bytes()))
                        }
                        libc::AF_INET6 => {
                            let sin6 = std::ptr::read_unaligned(off.cast::<libc::sockaddr_in6>());
                            Some(IpAddr::from(sin6.sin6_addr.s6_addr))
                        }
                        _ => None,
                    };
                #[allow(
                    clippy::cast_possible_wrap,
                    reason = "errno values are small positive numbers"
                )]
                let errno = e.ee_errno as i32;
                found = found.or(Some(QueuedError {
                    errno,
                    origin: e.ee_origin,
                    icmp_type: e.ee_type,
                    icmp_code: e.ee_code,
                    offender,
                    dest: socket_addr_of(&name),
                    arrived: None,
                }));
            }
            cmsg = libc::CMSG_NXTHDR(&raw const msg, cmsg);
        }
        found.map(|q| QueuedError { arrived, ..q })
    }
}

/// `CMSG_DATA` as a `timespec` pointer.
///
/// # Safety
/// `cmsg` points at a control message the kernel filled.
unsafe fn cmsg_timespec(cmsg: *const libc::cmsghdr) -> *const libc::timespec {
    #[allow(
        clippy::cast_ptr_alignment,
        reason = "read only through read_unaligned"
    )]
    // SAFETY: as the caller promises.
    unsafe {
        libc::CMSG_DATA(cmsg).cast::<libc::timespec>()
    }
}

/// A kernel timestamp as a [`std::time::SystemTime`]; `None` for zero (no
/// stamp) or nonsense.
fn system_time(sec: libc::time_t, nsec: libc::c_long) -> Option<std::time::SystemTime> {
    let sec = u64::try_from(sec).ok()?;
    let nsec = u32::try_from(nsec).ok().filter(|n| *n < 1_000_000_000)?;
    if sec == 0 && nsec == 0 {
        return None;
    }
    std::time::UNIX_EPOCH.checked_add(std::time::Duration::new(sec, nsec))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::errno::ECONNREFUSED;
    use crate::sys::poll::{POLLERR, poll_one};
    use std::net::UdpSocket;
    use std::os::fd::AsFd as _;
    use std::time::Duration;

    #[test]
    fn a_refused_datagram_queues_the_icmp_error_with_its_destination() {
        // A loopback port nobody listens on any more.
        let closed = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        set_recv_errors(s.as_fd(), false).unwrap();
        assert_eq!(take_queued_error(s.as_fd()), None);
        s.send_to(b"x", closed).unwrap();
        let ev = poll_one(s.as_fd(), 0, Some(Duration::from_secs(5))).unwrap();
        assert_ne!(ev & POLLERR, 0, "no error queued");
        let q = take_queued_error(s.as_fd()).expect("a queued error");
        assert_eq!(q.errno, ECONNREFUSED);
        assert_eq!(q.origin, SO_EE_ORIGIN_ICMP);
        assert_eq!((q.icmp_type, q.icmp_code), (3, 3), "port unreachable");
        assert_eq!(q.offender, Some(IpAddr::from([127, 0, 0, 1])));
        assert_eq!(q.dest, Some(closed));
        assert_eq!(take_queued_error(s.as_fd()), None, "taken once");
        assert_eq!(q.arrived, None, "no stamp without set_timestamps");
    }

    #[test]
    fn with_timestamps_the_icmp_error_carries_its_arrival_time() {
        let closed = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        set_recv_errors(s.as_fd(), false).unwrap();
        set_timestamps(s.as_fd()).unwrap();
        // The kernel turns receive stamping on from a work queue: until
        // then a message is stamped when read.
        std::thread::sleep(Duration::from_millis(100));
        let before = std::time::SystemTime::now();
        s.send_to(b"x", closed).unwrap();
        poll_one(s.as_fd(), 0, Some(Duration::from_secs(5))).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let read = std::time::SystemTime::now();
        let q = take_queued_error(s.as_fd()).expect("a queued error");
        let at = q.arrived.expect("a kernel timestamp");
        assert!(at >= before, "{at:?} before the send {before:?}");
        assert!(
            read.duration_since(at).unwrap() >= Duration::from_millis(20),
            "the arrival time, not the time it was read"
        );
    }

    #[test]
    fn recv_errors_need_a_socket_of_the_family() {
        let v4 = UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(set_recv_errors(v4.as_fd(), true).is_err());
    }
}
