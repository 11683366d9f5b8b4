//! Who to become after binding: a user's ids from the password database
//! (`getpwnam_r`, files and NSS alike) and the one-way drop to them.

use std::ffi::CString;
use std::io;

/// A user's numeric ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ids {
    pub uid: u32,
    pub gid: u32,
}

/// The ids of user `name`, `None` when there is no such user.
///
/// # Errors
/// The lookup itself failed, or `name` holds a NUL.
pub fn user_ids(name: &str) -> io::Result<Option<Ids>> {
    let c = CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "user name holds a NUL"))?;
    let mut buf = vec![0u8; 4096];
    loop {
        // SAFETY: all-zero is a valid passwd (null pointers, zero ids).
        let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
        let mut out: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call; `buf` outlives `pw`'s
        // use below (only the ids are read, which are copied).
        let rc = unsafe {
            libc::getpwnam_r(
                c.as_ptr(),
                &raw mut pw,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &raw mut out,
            )
        };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        return Ok((!out.is_null()).then_some(Ids {
            uid: pw.pw_uid,
            gid: pw.pw_gid,
        }));
    }
}

/// Whether this process runs with root's user id (real or effective).
pub fn is_root() -> bool {
    // SAFETY: no arguments, cannot fail.
    unsafe { libc::geteuid() == 0 || libc::getuid() == 0 }
}

/// Become `ids` for good: supplementary groups cleared, then the group,
/// then the user (real, effective and saved), so root cannot be taken
/// back; checked afterwards.
///
/// # Errors
/// A call failed, or root could still be regained.
pub fn become_user(ids: Ids) -> io::Result<()> {
    // SAFETY: plain calls with numbers; each result is checked.
    unsafe {
        if libc::setgroups(0, std::ptr::null()) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::setresgid(ids.gid, ids.gid, ids.gid) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::setresuid(ids.uid, ids.uid, ids.uid) != 0 {
            return Err(io::Error::last_os_error());
        }
        if ids.uid != 0 && libc::setuid(0) == 0 {
            return Err(io::Error::other("root could be regained after the drop"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_uid_0_and_a_missing_user_is_none() {
        assert_eq!(user_ids("root").unwrap(), Some(Ids { uid: 0, gid: 0 }));
        assert_eq!(user_ids("no-such-user-nettool").unwrap(), None);
        assert!(user_ids("a\0b").is_err());
    }
}
