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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd as _;

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
}
