//! Waiting for one descriptor to become readable or writable, with the
//! `POLL*` flags callers pass and test.
//!
//! A signal caught to stop (Ctrl-C by [`super::signal::catch_interrupt`],
//! SIGINT or SIGTERM by [`super::signal::catch_termination`]) ends the
//! wait with `EINTR`; any other signal does not.

use std::io;

use super::signal::termination;

/// Event flags for [`poll_one`], typed as it takes and returns them.
pub use libc::{POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDHUP};

/// `poll` one descriptor; returns the revents (0 on timeout).
///
/// # Errors
///
/// What `poll` failed with; `ErrorKind::Interrupted` when a caught
/// SIGINT or SIGTERM came during the wait.
pub fn poll_one(
    fd: std::os::fd::BorrowedFd<'_>,
    events: i16,
    timeout: Option<std::time::Duration>,
) -> io::Result<i16> {
    use std::os::fd::AsRawFd as _;
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events,
        revents: 0,
    };
    let ms = timeout.map_or(-1, |t| {
        // Round up so a sub-millisecond wait does not spin at 0.
        i32::try_from(t.as_micros().div_ceil(1000)).unwrap_or(i32::MAX)
    });
    loop {
        // SAFETY: one valid pollfd for the call.
        let rc = unsafe { libc::poll(&raw mut p, 1, ms) };
        if rc >= 0 {
            return Ok(if rc == 0 { 0 } else { p.revents });
        }
        let e = io::Error::last_os_error();
        // A signal: give up the wait when it was one we catch to stop
        // (Ctrl-C, or SIGTERM where caught), so callers can stop and
        // report; otherwise wait on.
        if e.kind() != io::ErrorKind::Interrupted || termination().is_some() {
            return Err(e);
        }
    }
}

/// `poll` many descriptors for the same `events` at once; returns each
/// one's revents, in order (all 0 on timeout).
///
/// # Errors
///
/// As [`poll_one`]: what `poll` failed with, `ErrorKind::Interrupted`
/// when a caught SIGINT or SIGTERM came during the wait.
pub fn poll_many(
    fds: &[std::os::fd::BorrowedFd<'_>],
    events: i16,
    timeout: Option<std::time::Duration>,
) -> io::Result<Vec<i16>> {
    use std::os::fd::AsRawFd as _;
    let mut p: Vec<libc::pollfd> = fds
        .iter()
        .map(|fd| libc::pollfd {
            fd: fd.as_raw_fd(),
            events,
            revents: 0,
        })
        .collect();
    let n = libc::nfds_t::try_from(p.len())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let ms = timeout.map_or(-1, |t| {
        i32::try_from(t.as_micros().div_ceil(1000)).unwrap_or(i32::MAX)
    });
    loop {
        // SAFETY: `n` valid pollfds in a buffer we own for the call.
        let rc = unsafe { libc::poll(p.as_mut_ptr(), n, ms) };
        if rc >= 0 {
            return Ok(p.iter().map(|x| x.revents).collect());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted || termination().is_some() {
            return Err(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::os::fd::AsFd as _;
    use std::time::Duration;

    #[test]
    fn reports_readable_only_once_a_datagram_is_queued() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let zero = Some(Duration::ZERO);
        assert_eq!(poll_one(rx.as_fd(), POLLIN, zero).unwrap(), 0);
        assert_eq!(poll_one(tx.as_fd(), POLLOUT, zero).unwrap(), POLLOUT);
        tx.send_to(b"x", rx.local_addr().unwrap()).unwrap();
        let ev = poll_one(rx.as_fd(), POLLIN, Some(Duration::from_secs(5))).unwrap();
        assert_eq!(ev & (POLLIN | POLLERR | POLLHUP), POLLIN);
    }

    #[test]
    fn poll_many_reports_each_descriptor_in_order() {
        let quiet = UdpSocket::bind("127.0.0.1:0").unwrap();
        let busy = UdpSocket::bind("127.0.0.1:0").unwrap();
        busy.send_to(b"x", busy.local_addr().unwrap()).unwrap();
        let ev = poll_many(
            &[quiet.as_fd(), busy.as_fd()],
            POLLIN,
            Some(Duration::from_secs(5)),
        )
        .unwrap();
        assert_eq!(ev, vec![0, POLLIN]);
        let none = poll_many(&[quiet.as_fd()], POLLIN, Some(Duration::ZERO)).unwrap();
        assert_eq!(none, vec![0]);
    }
}
