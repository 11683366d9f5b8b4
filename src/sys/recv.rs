//! Receiving datagrams without waiting: one ([`recv_from_now`]) or many in
//! one system call ([`RecvMany`], `recvmmsg`).
//!
//! Invariants: never blocks (`MSG_DONTWAIT`; an empty queue is `Ok`, not
//! an error); the kernel writes only into the caller's buffer, within the
//! lengths given; senders come back as `std::net::SocketAddr`, equal to
//! what `UdpSocket::recv_from` would give.

use std::io;

use super::sockaddr::{socket_addr_of, socklen};

/// Receive one datagram if one is queued, without waiting: `Ok(None)` when
/// the queue is empty.
///
/// # Errors
///
/// What `recvfrom` failed with other than an empty queue: an ICMP error
/// queued with `IP_RECVERR` (`ECONNREFUSED`, `EHOSTUNREACH`, ...), or a
/// sender whose address family is neither IPv4 nor IPv6.
pub fn recv_from_now(
    fd: std::os::fd::BorrowedFd<'_>,
    buf: &mut [u8],
) -> io::Result<Option<(usize, std::net::SocketAddr)>> {
    use std::os::fd::AsRawFd as _;
    // SAFETY: plain old data; zero is valid.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = socklen::<libc::sockaddr_storage>();
    // SAFETY: `buf` and `ss` are ours and live across the call; the kernel
    // writes at most `buf.len()` and `len` bytes into them.
    let n = unsafe {
        libc::recvfrom(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT,
            (&raw mut ss).cast(),
            &raw mut len,
        )
    };
    let Ok(n) = usize::try_from(n) else {
        let e = io::Error::last_os_error();
        return match e.kind() {
            io::ErrorKind::WouldBlock => Ok(None),
            _ => Err(e),
        };
    };
    let from = socket_addr_of(&ss)
        .ok_or_else(|| io::Error::other("datagram from an unknown address family"))?;
    Ok(Some((n, from)))
}

/// Receiving many datagrams in one system call (`recvmmsg`), without
/// waiting; the headers are kept from one call to the next.
pub struct RecvMany {
    addrs: Vec<libc::sockaddr_storage>,
    iovs: Vec<libc::iovec>,
    msgs: Vec<libc::mmsghdr>,
}

impl RecvMany {
    /// Up to `n` datagrams a call.
    pub fn new(n: usize) -> Self {
        // SAFETY: plain old data; zero is valid for all three.
        let zero = || unsafe { std::mem::zeroed() };
        RecvMany {
            addrs: (0..n).map(|_| zero()).collect(),
            iovs: (0..n)
                .map(|_| libc::iovec {
                    iov_base: std::ptr::null_mut(),
                    iov_len: 0,
                })
                .collect(),
            // SAFETY: as above.
            msgs: (0..n).map(|_| unsafe { std::mem::zeroed() }).collect(),
        }
    }

    /// Take every datagram already queued, up to `buf.len() / slot` (and
    /// `n`) of them: datagram `i` lands in `buf[i * slot..]`, and `out`
    /// gets its length (its full length: more than `slot` means the rest
    /// was cut off) and its sender. `Ok(0)` when none is queued.
    ///
    /// # Errors
    ///
    /// As [`recv_from_now`].
    pub fn recv_now(
        &mut self,
        fd: std::os::fd::BorrowedFd<'_>,
        buf: &mut [u8],
        slot: usize,
        out: &mut Vec<(usize, std::net::SocketAddr)>,
    ) -> io::Result<usize> {
        use std::os::fd::AsRawFd as _;
        out.clear();
        if slot == 0 {
            return Ok(0);
        }
        let n = (buf.len() / slot).min(self.msgs.len());
        if n == 0 {
            return Ok(0);
        }
        let (iovs, addrs) = (self.iovs.as_mut_ptr(), self.addrs.as_mut_ptr());
        for (i, (chunk, m)) in buf
            .chunks_exact_mut(slot)
            .zip(&mut self.msgs)
            .enumerate()
            .take(n)
        {
            // SAFETY: i < n <= the length of `self.iovs` and `self.addrs`.
            let (iov, addr) = unsafe { (iovs.add(i), addrs.add(i)) };
            // SAFETY: `iov` points to a live element of `self.iovs`.
            unsafe {
                iov.write(libc::iovec {
                    iov_base: chunk.as_mut_ptr().cast(),
                    iov_len: chunk.len(),
                });
            }
            m.msg_hdr.msg_name = addr.cast();
            m.msg_hdr.msg_namelen = socklen::<libc::sockaddr_storage>();
            m.msg_hdr.msg_iov = iov;
            m.msg_hdr.msg_iovlen = 1;
            m.msg_hdr.msg_control = std::ptr::null_mut();
            m.msg_hdr.msg_controllen = 0;
            m.msg_hdr.msg_flags = 0;
            m.msg_len = 0;
        }
        // SAFETY: the first `n` headers point into `buf`, `self.iovs` and
        // `self.addrs`, all alive and unmoved for the call; the kernel
        // writes within the lengths given.
        let got = unsafe {
            libc::recvmmsg(
                fd.as_raw_fd(),
                self.msgs.as_mut_ptr(),
                libc::c_uint::try_from(n).unwrap_or(libc::c_uint::MAX),
                libc::MSG_DONTWAIT | libc::MSG_TRUNC,
                std::ptr::null_mut(),
            )
        };
        let Ok(got) = usize::try_from(got) else {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock => Ok(0),
                _ => Err(e),
            };
        };
        for (m, addr) in self.msgs.iter().zip(&self.addrs).take(got) {
            let from = socket_addr_of(addr)
                .ok_or_else(|| io::Error::other("datagram from an unknown address family"))?;
            out.push((m.msg_len as usize, from));
        }
        Ok(got)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::os::fd::AsFd as _;

    fn pair() -> (UdpSocket, UdpSocket) {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.connect(rx.local_addr().unwrap()).unwrap();
        (rx, tx)
    }

    #[test]
    fn recv_from_now_gives_none_then_the_datagram_and_its_sender() {
        let (rx, tx) = pair();
        let mut buf = [0u8; 16];
        assert_eq!(recv_from_now(rx.as_fd(), &mut buf).unwrap(), None);
        tx.send(b"hello").unwrap();
        let got = recv_from_now(rx.as_fd(), &mut buf).unwrap();
        assert_eq!(got, Some((5, tx.local_addr().unwrap())));
        assert_eq!(&buf[..5], b"hello");
    }

    #[test]
    fn recv_many_takes_every_queued_datagram_with_full_lengths() {
        let (rx, tx) = pair();
        let mut many = RecvMany::new(4);
        let mut buf = [0xa5u8; 4 * 8];
        let mut out = Vec::new();
        assert_eq!(many.recv_now(rx.as_fd(), &mut buf, 8, &mut out).unwrap(), 0);
        for d in [&b"one"[..], b"two!", b"longer than eight"] {
            tx.send(d).unwrap();
        }
        assert_eq!(many.recv_now(rx.as_fd(), &mut buf, 8, &mut out).unwrap(), 3);
        let from = tx.local_addr().unwrap();
        assert_eq!(out, [(3, from), (4, from), (17, from)]);
        assert_eq!(&buf[..3], b"one");
        assert_eq!(&buf[8..12], b"two!");
        // Cut at the slot, and nothing written past it.
        assert_eq!(&buf[16..24], b"longer t");
        assert_eq!(buf[24], 0xa5);
        // A zero slot takes nothing.
        assert_eq!(many.recv_now(rx.as_fd(), &mut buf, 0, &mut out).unwrap(), 0);
    }
}
