//! Waiting for one descriptor ([`poll_one`]) or many ([`poll_many`]) to
//! become readable or writable, with the `POLL*` flags callers pass and
//! test.
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

/// One descriptor's entry for [`poll_many`]: the events asked for, and
/// what came back. It borrows the descriptor, which so outlives the call.
#[repr(transparent)]
pub struct PollFd<'fd> {
    raw: libc::pollfd,
    _fd: std::marker::PhantomData<std::os::fd::BorrowedFd<'fd>>,
}

impl<'fd> PollFd<'fd> {
    pub fn new(fd: std::os::fd::BorrowedFd<'fd>, events: i16) -> PollFd<'fd> {
        use std::os::fd::AsRawFd as _;
        PollFd {
            raw: libc::pollfd {
                fd: fd.as_raw_fd(),
                events,
                revents: 0,
            },
            _fd: std::marker::PhantomData,
        }
    }

    /// What `poll` reported for it (0: nothing yet).
    pub fn revents(&self) -> i16 {
        self.raw.revents
    }
}

/// `poll` many descriptors at once; returns how many have events (0 on
/// timeout). Each entry's [`PollFd::revents`] says which.
///
/// # Errors
///
/// What `poll` failed with; `ErrorKind::Interrupted` when a caught
/// SIGINT or SIGTERM came during the wait (as [`poll_one`]).
pub fn poll_many(
    fds: &mut [PollFd<'_>],
    timeout: Option<std::time::Duration>,
) -> io::Result<usize> {
    let ms = timeout.map_or(-1, |t| {
        i32::try_from(t.as_micros().div_ceil(1000)).unwrap_or(i32::MAX)
    });
    let n = libc::nfds_t::try_from(fds.len())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    loop {
        // SAFETY: `fds` is a live slice of `PollFd`s, each a transparent
        // `pollfd` over a descriptor it borrows; `n` is its length.
        let rc = unsafe { libc::poll(fds.as_mut_ptr().cast::<libc::pollfd>(), n, ms) };
        if let Ok(ready) = usize::try_from(rc) {
            return Ok(ready);
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
    fn poll_many_says_which_descriptors_are_ready() {
        let quiet = UdpSocket::bind("127.0.0.1:0").unwrap();
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.send_to(b"x", rx.local_addr().unwrap()).unwrap();
        let mut fds = [
            PollFd::new(quiet.as_fd(), POLLIN),
            PollFd::new(rx.as_fd(), POLLIN),
        ];
        let n = poll_many(&mut fds, Some(Duration::from_secs(5))).unwrap();
        assert_eq!(n, 1);
        assert_eq!(fds[0].revents(), 0);
        assert_eq!(fds[1].revents() & POLLIN, POLLIN);
        let mut none: [PollFd<'_>; 0] = [];
        assert_eq!(poll_many(&mut none, Some(Duration::ZERO)).unwrap(), 0);
    }
}
