//! A netlink socket to the kernel: `NETLINK_SOCK_DIAG` for the socket
//! lister, `NETLINK_ROUTE` for routes and neighbours. The only libc/unsafe
//! code of either.
//!
//! It moves bytes and nothing else: requests are encoded and replies parsed
//! by `wire::sock_diag` / `wire::rtnetlink` and their callers
//! (`sockstat::netlink`, `neigh`). Invariants: the descriptor is owned and
//! closed on drop; [`Netlink::recv`] only hands out bytes the kernel wrote,
//! only datagrams the kernel sent, and fails rather than return a
//! truncated datagram.

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A receive buffer size that holds any `sock_diag` dump datagram with room to
/// spare: the kernel sizes dump datagrams to the reader's past `recv`
/// lengths, capped at 32 KiB (more only for a single oversized message).
pub const RECV_BUF_LEN: usize = 256 * 1024;

/// Which kernel service a [`Netlink`] socket talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `NETLINK_SOCK_DIAG`: socket tables (`ss`).
    SockDiag,
    /// `NETLINK_ROUTE` (rtnetlink): routes, neighbours, links (`ip`).
    Route,
}

/// An open `AF_NETLINK` socket, bound to the network namespace of the
/// thread that opened it.
#[derive(Debug)]
pub struct Netlink {
    fd: OwnedFd,
}

impl Netlink {
    /// Open a socket for `protocol`.
    ///
    /// # Errors
    ///
    /// What `socket` failed with: out of descriptors, or no netlink in
    /// this kernel.
    pub fn open(protocol: Protocol) -> io::Result<Netlink> {
        let protocol = match protocol {
            Protocol::SockDiag => libc::NETLINK_SOCK_DIAG,
            Protocol::Route => libc::NETLINK_ROUTE,
        };
        // SAFETY: socket(2) takes no pointers; any return value is handled.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                protocol,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by socket(2), is valid and owned by
        // nobody else, so `OwnedFd` may take it and close it once.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Netlink { fd })
    }

    /// Send one request datagram to the kernel.
    ///
    /// # Errors
    ///
    /// What `sendto` failed with, or a short send.
    pub fn send(&self, req: &[u8]) -> io::Result<()> {
        let kernel = kernel_addr();
        loop {
            // SAFETY: `req` is a live slice, read for exactly `req.len()`
            // bytes; `kernel` is a properly initialised `sockaddr_nl` whose
            // exact size is passed with it. Neither is kept by the kernel.
            let n = unsafe {
                libc::sendto(
                    self.fd.as_raw_fd(),
                    req.as_ptr().cast(),
                    req.len(),
                    0,
                    (&raw const kernel).cast(),
                    sockaddr_nl_len(),
                )
            };
            if n >= 0 {
                // Netlink datagrams go whole or not at all; check anyway.
                return if usize::try_from(n) == Ok(req.len()) {
                    Ok(())
                } else {
                    Err(io::Error::other("netlink request sent short"))
                };
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// Receive the next datagram from the kernel into `buf` (use
    /// [`RECV_BUF_LEN`]) and return the part of it that was filled.
    /// Datagrams from other senders (a user process may write to our port)
    /// are dropped. A datagram larger than `buf` is an error, not a silent
    /// loss of sockets.
    ///
    /// # Errors
    ///
    /// What `recvfrom` failed with (`ENOBUFS`: the kernel dropped replies),
    /// or a datagram larger than `buf`.
    pub fn recv<'b>(&self, buf: &'b mut [u8]) -> io::Result<&'b [u8]> {
        loop {
            let mut from = kernel_addr();
            let mut from_len = sockaddr_nl_len();
            // SAFETY: the kernel writes at most `buf.len()` bytes into
            // `buf`, which is exclusively borrowed for the call, and at most
            // `from_len` bytes into `from`, which is that large. MSG_TRUNC
            // only changes the return value to the datagram's full length.
            let n = unsafe {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_TRUNC,
                    (&raw mut from).cast(),
                    &raw mut from_len,
                )
            };
            let Ok(n) = usize::try_from(n) else {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            };
            if n > buf.len() {
                return Err(io::Error::other(format!(
                    "netlink reply of {n} bytes does not fit a {} byte buffer",
                    buf.len()
                )));
            }
            if from.nl_pid != 0 {
                continue;
            }
            // `n <= buf.len()` was checked above, so `get` always succeeds.
            return Ok(buf.get(..n).unwrap_or_default());
        }
    }
}

/// Whether an errno from a `sock_diag` request means "no handler for this
/// family or protocol" (module not built or not loadable) rather than a
/// failure: the caller may read `/proc` instead.
pub fn is_no_handler(errno: i32) -> bool {
    matches!(
        errno,
        libc::ENOENT | libc::EOPNOTSUPP | libc::EPROTONOSUPPORT | libc::EAFNOSUPPORT
    )
}

/// The kernel's netlink address (port 0, no groups).
#[allow(
    clippy::cast_possible_truncation,
    reason = "AF_NETLINK (16) fits in sa_family_t"
)]
fn kernel_addr() -> libc::sockaddr_nl {
    // SAFETY: `sockaddr_nl` is plain integers, for which all-zero is a
    // valid value (and the one the kernel expects in the padding).
    let mut a: libc::sockaddr_nl = unsafe { mem::zeroed() };
    a.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    a
}

fn sockaddr_nl_len() -> libc::socklen_t {
    super::sockaddr::socklen::<libc::sockaddr_nl>()
}

impl Netlink {
    /// Join the multicast `group` (`NETLINK_ADD_MEMBERSHIP`); the socket
    /// must be bound first ([`Netlink::bind_any`]).
    ///
    /// # Errors
    ///
    /// What `setsockopt` failed with (`EPERM` without the capability).
    pub fn join_group(&self, group: u32) -> io::Result<()> {
        self.set_int(libc::SOL_NETLINK, libc::NETLINK_ADD_MEMBERSHIP, group)
    }

    /// Bind to a port the kernel picks. A socket that only listens to
    /// multicast must: an unbound one has port 0, the kernel's own, and
    /// the kernel skips it when it broadcasts.
    ///
    /// # Errors
    ///
    /// What `bind` failed with.
    pub fn bind_any(&self) -> io::Result<()> {
        let me = kernel_addr();
        // SAFETY: `me` is a properly initialised `sockaddr_nl` (port 0:
        // the kernel assigns one) whose exact size is passed with it.
        let rc = unsafe {
            libc::bind(
                self.fd.as_raw_fd(),
                (&raw const me).cast(),
                sockaddr_nl_len(),
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Ask for a receive buffer of `bytes`: `SO_RCVBUFFORCE` (past
    /// `net.core.rmem_max`, with `CAP_NET_ADMIN`), else `SO_RCVBUF`.
    ///
    /// # Errors
    ///
    /// What `setsockopt(SO_RCVBUF)` failed with.
    pub fn set_recv_buffer(&self, bytes: u32) -> io::Result<()> {
        self.set_int(libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, bytes)
            .or_else(|_| self.set_int(libc::SOL_SOCKET, libc::SO_RCVBUF, bytes))
    }

    fn set_int(&self, level: i32, name: i32, value: u32) -> io::Result<()> {
        let v = libc::c_int::try_from(value).unwrap_or(libc::c_int::MAX);
        // SAFETY: `v` is a live c_int whose exact size is passed with it;
        // the kernel only reads it during the call.
        let rc = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                level,
                name,
                (&raw const v).cast(),
                super::sockaddr::socklen::<libc::c_int>(),
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// [`Netlink::recv`] without waiting: `Ok(None)` when nothing is
    /// queued.
    ///
    /// # Errors
    ///
    /// As [`Netlink::recv`]; `ENOBUFS` when the kernel dropped messages
    /// because the receive buffer was full (the socket stays usable).
    pub fn try_recv<'b>(&self, buf: &'b mut [u8]) -> io::Result<Option<&'b [u8]>> {
        use std::os::fd::AsFd as _;
        if crate::sys::poll::poll_one(
            self.fd.as_fd(),
            libc::POLLIN,
            Some(std::time::Duration::ZERO),
        )? == 0
        {
            return Ok(None);
        }
        self.recv(buf).map(Some)
    }

    /// The descriptor, to wait on with `poll`.
    pub fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd as _;
        self.fd.as_fd()
    }
}
