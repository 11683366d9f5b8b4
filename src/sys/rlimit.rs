//! The open-files limit (`RLIMIT_NOFILE`): how many descriptors this
//! process may hold, raised to what it is allowed when a caller needs
//! many (a scan keeps one socket per probe in flight).

use std::io;

/// The limit after [`raise_open_files`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFiles {
    /// The soft limit now in force.
    pub soft: u64,
    /// The hard limit: as far as an unprivileged process may raise it.
    pub hard: u64,
    /// The soft limit before, when it was raised.
    pub raised_from: Option<u64>,
}

/// Raise the soft open-files limit to the hard one, if it is below.
///
/// # Errors
/// What `getrlimit` / `setrlimit` failed with.
pub fn raise_open_files() -> io::Result<OpenFiles> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: one rlimit struct of ours for the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut lim) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let (soft, hard) = (lim.rlim_cur, lim.rlim_max);
    if soft >= hard {
        return Ok(OpenFiles {
            soft,
            hard,
            raised_from: None,
        });
    }
    let raised = libc::rlimit {
        rlim_cur: hard,
        rlim_max: hard,
    };
    // SAFETY: one rlimit struct of ours for the call.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw const raised) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(OpenFiles {
        soft: hard,
        hard,
        raised_from: Some(soft),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_ends_at_the_hard_one() {
        let first = raise_open_files().unwrap();
        assert_eq!(first.soft, first.hard);
        let again = raise_open_files().unwrap();
        assert_eq!(
            again,
            OpenFiles {
                raised_from: None,
                ..first
            }
        );
    }
}
