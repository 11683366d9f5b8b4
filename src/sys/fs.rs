//! Files and directories the standard library does not open the way we
//! need: a `/proc/PID/fd` scan with no allocation per descriptor, and a
//! non-blocking open (a FIFO must not wait for a writer).

use std::io;
use std::os::fd::FromRawFd;

/// Byte offsets in `struct linux_dirent64 { u64 d_ino; i64 d_off;
/// u16 d_reclen; u8 d_type; char d_name[]; }`.
mod dirent {
    /// `d_reclen`, native-endian u16: the length of the whole record.
    pub const RECLEN: usize = 16;
    /// `d_name`, NUL-terminated, up to the end of the record.
    pub const NAME: usize = 19;
}

/// Call `f(fd, link)` for every entry of a `/proc/PID/fd` directory, with
/// one `getdents64` per batch and one `readlinkat` per entry on the same
/// directory descriptor: no allocation per descriptor. Entries that vanish
/// meanwhile are skipped.
///
/// # Errors
///
/// What opening or reading `dir` failed with (`ENOENT` once the process
/// is gone, `EACCES` for another user's process without privilege).
pub fn for_each_fd_link(dir: &std::path::Path, mut f: impl FnMut(u32, &[u8])) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt as _;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
    // SAFETY: a NUL-terminated path and constant flags.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: we own `fd` from here on; OwnedFd closes it once.
    let owned = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    let mut buf = vec![0u8; 32 * 1024];
    let mut link = [0u8; 64];
    loop {
        // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`.
        let n = unsafe { libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len()) };
        let n = match usize::try_from(n) {
            Ok(0) => break,
            Ok(n) => n,
            Err(_) => return Err(io::Error::last_os_error()),
        };
        let mut off = 0usize;
        while off + dirent::NAME <= n {
            let reclen = usize::from(u16::from_ne_bytes([
                buf[off + dirent::RECLEN],
                buf[off + dirent::RECLEN + 1],
            ]));
            if reclen == 0 || off + reclen > n {
                break;
            }
            let name_bytes = &buf[off + dirent::NAME..off + reclen];
            let name_len = name_bytes
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(name_bytes.len());
            let name = &name_bytes[..name_len];
            let fd_num = std::str::from_utf8(name)
                .ok()
                .and_then(|s| s.parse::<u32>().ok());
            if let Some(num) = fd_num {
                // SAFETY: `name` is followed by its NUL inside `buf` (the
                // kernel terminates d_name); `link` is ours to write.
                let r = unsafe {
                    libc::readlinkat(
                        fd,
                        name_bytes.as_ptr().cast(),
                        link.as_mut_ptr().cast(),
                        link.len(),
                    )
                };
                if let Ok(len @ 1..) = usize::try_from(r) {
                    f(num, &link[..len]);
                }
            }
            off += reclen;
        }
    }
    drop(owned);
    Ok(())
}

/// Open `path` for reading without waiting: a FIFO opens at once instead
/// of waiting for a writer, so the caller can look at what it opened
/// (`fstat`) before reading. Regular files read as usual.
///
/// # Errors
///
/// What `open` failed with.
pub fn open_read_nonblocking(path: &std::path::Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
}

/// Append up to `n` bytes read from `fd` to `buf` in one `read(2)`
/// straight into its spare room: no zeroing first and no probing reads
/// (`Read::read_to_end` through `take` reads a 64 KiB block as 8, 16, 32
/// and 8 KiB). Returns how many came (0 at end of file).
///
/// # Errors
/// What `read` failed with (`EINTR` is retried).
pub fn read_append(
    fd: std::os::fd::BorrowedFd<'_>,
    buf: &mut Vec<u8>,
    n: usize,
) -> io::Result<usize> {
    use std::os::fd::AsRawFd as _;
    buf.reserve(n);
    loop {
        let spare = buf.spare_capacity_mut();
        let want = n.min(spare.len());
        // SAFETY: `spare` is `want` or more writable bytes owned by `buf`;
        // read(2) writes at most `want` of them.
        let got = unsafe { libc::read(fd.as_raw_fd(), spare.as_mut_ptr().cast(), want) };
        if let Ok(got) = usize::try_from(got) {
            // SAFETY: read(2) initialised `got` <= `want` bytes right after
            // the vector's length.
            unsafe { buf.set_len(buf.len() + got) };
            return Ok(got);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Open `path` as a directory handle for [`open_beneath`].
///
/// # Errors
/// What `open` failed with (`ENOTDIR` for a file).
pub fn open_directory(path: &std::path::Path) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(path)?;
    Ok(f.into())
}

/// Whether this process may list and search the directory `dir` (and
/// with `write`, create files in it), by its real ids.
pub fn accessible(dir: std::os::fd::BorrowedFd<'_>, write: bool) -> bool {
    use std::os::fd::AsRawFd as _;
    let mode = libc::R_OK | libc::X_OK | if write { libc::W_OK } else { 0 };
    // SAFETY: a NUL-terminated name, a valid directory descriptor.
    unsafe { libc::faccessat(dir.as_raw_fd(), c".".as_ptr(), mode, 0) == 0 }
}

/// How [`open_beneath`] resolves a name below its directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// No symbolic link anywhere in the name.
    Refused,
    /// Links are followed while they stay below the directory.
    Inside,
}

/// What [`open_beneath`] opens the name for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read an existing file.
    Read,
    /// A directory, as a handle for the `*at` calls below (`O_PATH`).
    Dir,
    /// Create a new file for writing, failing if the name exists.
    CreateNew,
}

/// Open `name` below the directory `dir`, never outside it: with
/// `openat2(RESOLVE_BENEATH)` the kernel refuses (`EXDEV`) a `..` or an
/// absolute path or link that would leave `dir`, at every step of the
/// walk, so a name that races a rename cannot escape either. `/proc`
/// style magic links are never followed. Non-blocking, so a FIFO opens at
/// once and can be refused after an `fstat`.
///
/// # Errors
/// What `openat2` failed with: `EXDEV` for an escape, `ELOOP` for a link
/// when links are refused, `ENOSYS` on kernels before 5.6.
pub fn open_beneath(
    dir: std::os::fd::BorrowedFd<'_>,
    name: &std::path::Path,
    access: Access,
    links: Links,
) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::{AsRawFd as _, FromRawFd as _};
    use std::os::unix::ffi::OsStrExt as _;
    let c = std::ffi::CString::new(name.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name holds a NUL"))?;
    let flags = libc::O_CLOEXEC
        | match access {
            Access::Read => libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY,
            Access::Dir => libc::O_PATH | libc::O_DIRECTORY,
            Access::CreateNew => libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOCTTY,
        };
    let mut resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
    if links == Links::Refused {
        resolve |= libc::RESOLVE_NO_SYMLINKS;
    }
    // SAFETY: plain old data; all-zero is valid (and required of fields
    // this libc may add).
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = u64::try_from(flags).unwrap_or_default();
    how.mode = if access == Access::CreateNew {
        0o644
    } else {
        0
    };
    how.resolve = resolve;
    // SAFETY: a NUL-terminated name and a valid open_how of its own size.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            c.as_ptr(),
            &raw mut how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    #[allow(clippy::cast_possible_truncation, reason = "a descriptor fits an int")]
    // SAFETY: a new descriptor that nothing else owns.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(rc as i32) })
}

/// Rename `from` to `to`, both in the directory `dir`; unless `replace`,
/// fail with `EEXIST` rather than replace a file that appeared meanwhile
/// (`RENAME_NOREPLACE`).
///
/// # Errors
/// What `renameat2` failed with.
pub fn rename_in(
    dir: std::os::fd::BorrowedFd<'_>,
    from: &std::ffi::OsStr,
    to: &std::ffi::OsStr,
    replace: bool,
) -> io::Result<()> {
    use std::os::fd::AsRawFd as _;
    use std::os::unix::ffi::OsStrExt as _;
    let cstr = |s: &std::ffi::OsStr| {
        std::ffi::CString::new(s.as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name holds a NUL"))
    };
    let (from, to) = (cstr(from)?, cstr(to)?);
    let flags = if replace { 0 } else { libc::RENAME_NOREPLACE };
    // SAFETY: NUL-terminated names, a valid directory descriptor.
    let rc = unsafe {
        libc::renameat2(
            dir.as_raw_fd(),
            from.as_ptr(),
            dir.as_raw_fd(),
            to.as_ptr(),
            flags,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Remove the file `name` in the directory `dir`.
///
/// # Errors
/// What `unlinkat` failed with.
pub fn unlink_in(dir: std::os::fd::BorrowedFd<'_>, name: &std::ffi::OsStr) -> io::Result<()> {
    use std::os::fd::AsRawFd as _;
    use std::os::unix::ffi::OsStrExt as _;
    let c = std::ffi::CString::new(name.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name holds a NUL"))?;
    // SAFETY: a NUL-terminated name, a valid directory descriptor.
    if unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd as _;

    #[test]
    fn read_append_adds_after_what_is_there_in_one_read() {
        use std::io::Write as _;
        use std::os::fd::AsFd as _;
        let mut f = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        f.write_all(&data).unwrap();
        let f = std::fs::File::open(format!("/proc/self/fd/{}", f.as_raw_fd())).unwrap();
        let mut buf = b"head".to_vec();
        assert_eq!(read_append(f.as_fd(), &mut buf, 65_464).unwrap(), 65_464);
        assert_eq!(&buf[..4], b"head");
        assert_eq!(&buf[4..], &data[..65_464]);
        // The rest, then the end of the file.
        assert_eq!(
            read_append(f.as_fd(), &mut buf, 65_464).unwrap(),
            100_000 - 65_464
        );
        assert_eq!(&buf[4..], &data[..]);
        assert_eq!(read_append(f.as_fd(), &mut buf, 10).unwrap(), 0);
        assert_eq!(buf.len(), 4 + 100_000);
    }

    #[test]
    fn lists_our_own_descriptors_with_their_targets() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        let f = open_read_nonblocking(&path).unwrap();
        let mut links = Vec::new();
        for_each_fd_link("/proc/self/fd".as_ref(), |fd, link| {
            links.push((fd, link.to_vec()));
        })
        .unwrap();
        let fd = u32::try_from(f.as_raw_fd()).unwrap();
        let (_, link) = links.iter().find(|(n, _)| *n == fd).expect("our fd");
        // Links longer than the 64-byte buffer come back cut.
        assert!(path.as_os_str().as_encoded_bytes().starts_with(link));
        assert!(for_each_fd_link("/proc/self/no-such-dir".as_ref(), |_, _| {}).is_err());
    }

    #[test]
    fn open_beneath_refuses_escapes_and_links() {
        use std::os::fd::AsFd as _;
        let root = tempfile::tempdir().unwrap();
        let served = root.path().join("served");
        std::fs::create_dir(&served).unwrap();
        std::fs::write(root.path().join("secret"), b"s").unwrap();
        std::fs::write(served.join("ok.bin"), b"ok").unwrap();
        std::os::unix::fs::symlink("../secret", served.join("out")).unwrap();
        std::os::unix::fs::symlink("ok.bin", served.join("in")).unwrap();
        let dir = std::fs::File::open(&served).unwrap();
        let open = |name: &str, links| {
            open_beneath(dir.as_fd(), name.as_ref(), Access::Read, links)
                .map_err(|e| e.raw_os_error())
        };
        assert!(open("ok.bin", Links::Refused).is_ok());
        assert_eq!(
            open("../secret", Links::Inside).err(),
            Some(Some(libc::EXDEV))
        );
        assert_eq!(
            open("/etc/passwd", Links::Inside).err(),
            Some(Some(libc::EXDEV))
        );
        assert_eq!(open("out", Links::Inside).err(), Some(Some(libc::EXDEV)));
        assert_eq!(open("in", Links::Refused).err(), Some(Some(libc::ELOOP)));
        assert!(
            open("in", Links::Inside).is_ok(),
            "a link inside, when allowed"
        );
        let sub = open_beneath(dir.as_fd(), ".".as_ref(), Access::Dir, Links::Refused).unwrap();
        let f = open_beneath(
            sub.as_fd(),
            "new".as_ref(),
            Access::CreateNew,
            Links::Refused,
        );
        assert!(f.is_ok());
        let again = open_beneath(
            sub.as_fd(),
            "new".as_ref(),
            Access::CreateNew,
            Links::Refused,
        );
        assert_eq!(
            again.err().and_then(|e| e.raw_os_error()),
            Some(libc::EEXIST)
        );
        std::fs::write(served.join("other"), b"x").unwrap();
        let err = rename_in(sub.as_fd(), "new".as_ref(), "other".as_ref(), false).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EEXIST));
        rename_in(sub.as_fd(), "new".as_ref(), "other".as_ref(), true).unwrap();
        unlink_in(sub.as_fd(), "other".as_ref()).unwrap();
        assert!(!served.join("other").exists());
    }
}
