//! Waiting on many sockets at once with `epoll`: the TFTP server holds a
//! socket per transfer (hundreds), and `poll` would walk all of them for
//! every datagram.
//!
//! A signal caught to stop (SIGINT or SIGTERM) ends the wait early: the
//! wait returns no events, and the caller looks at
//! [`super::signal::termination`].

use std::io;
use std::os::fd::{AsRawFd as _, BorrowedFd, FromRawFd as _, OwnedFd};
use std::time::Duration;

/// An epoll instance; each registered descriptor carries a token that
/// [`Epoll::wait`] hands back when it is readable.
#[derive(Debug)]
pub struct Epoll {
    fd: OwnedFd,
    events: Vec<libc::epoll_event>,
}

impl Epoll {
    /// # Errors
    /// What `epoll_create1` failed with (out of descriptors).
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: no pointers; the result is checked.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Epoll {
            // SAFETY: a new descriptor that nothing else owns.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            events: vec![libc::epoll_event { events: 0, u64: 0 }; 256],
        })
    }

    /// Watch `fd` for input; [`wait`](Self::wait) names it by `token`.
    ///
    /// # Errors
    /// What `epoll_ctl` failed with.
    pub fn add(&self, fd: BorrowedFd<'_>, token: u64) -> io::Result<()> {
        // Only EPOLLIN is a flag of type c_int; the field is u32.
        #[allow(clippy::cast_sign_loss, reason = "a flag bit, not a number")]
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token,
        };
        // SAFETY: a valid event for the call.
        let rc = unsafe {
            libc::epoll_ctl(
                self.fd.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                fd.as_raw_fd(),
                &raw mut ev,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Stop watching `fd` (closing it does too, once no copy is left).
    ///
    /// # Errors
    /// What `epoll_ctl` failed with.
    pub fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        // SAFETY: a null event is allowed for EPOLL_CTL_DEL.
        let rc = unsafe {
            libc::epoll_ctl(
                self.fd.as_raw_fd(),
                libc::EPOLL_CTL_DEL,
                fd.as_raw_fd(),
                std::ptr::null_mut(),
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Wait up to `timeout` (`None`: for ever) and put the tokens of the
    /// readable descriptors in `ready` (cleared first). A signal ends the
    /// wait with none.
    ///
    /// # Errors
    /// What `epoll_wait` failed with, but for `EINTR`.
    pub fn wait(&mut self, ready: &mut Vec<u64>, timeout: Option<Duration>) -> io::Result<()> {
        ready.clear();
        let ms = timeout.map_or(-1, |t| {
            // Round up so a sub-millisecond wait does not spin at 0.
            i32::try_from(t.as_micros().div_ceil(1000)).unwrap_or(i32::MAX)
        });
        let max = i32::try_from(self.events.len()).unwrap_or(i32::MAX);
        // SAFETY: `events` has room for `max` entries.
        let rc =
            unsafe { libc::epoll_wait(self.fd.as_raw_fd(), self.events.as_mut_ptr(), max, ms) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted {
                Ok(())
            } else {
                Err(e)
            };
        }
        #[allow(clippy::cast_sign_loss, reason = "rc >= 0: checked above")]
        let n = rc as usize;
        ready.extend(self.events[..n].iter().map(|e| e.u64));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::os::fd::AsFd as _;

    #[test]
    fn names_the_readable_socket_by_its_token() {
        let mut ep = Epoll::new().unwrap();
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        ep.add(a.as_fd(), 7).unwrap();
        ep.add(b.as_fd(), 9).unwrap();
        let mut ready = Vec::new();
        ep.wait(&mut ready, Some(Duration::from_millis(1))).unwrap();
        assert!(ready.is_empty(), "nothing queued yet");
        b.send_to(b"x", a.local_addr().unwrap()).unwrap();
        ep.wait(&mut ready, Some(Duration::from_secs(2))).unwrap();
        assert_eq!(ready, vec![7]);
        ep.delete(a.as_fd()).unwrap();
        ep.wait(&mut ready, Some(Duration::from_millis(1))).unwrap();
        assert!(ready.is_empty(), "a deleted socket is not reported");
    }
}
