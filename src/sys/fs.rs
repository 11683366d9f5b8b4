//! Files and directories the standard library does not open the way we
//! need: a `/proc/PID/fd` scan with no allocation per descriptor, and a
//! non-blocking open (a FIFO must not wait for a writer).

use std::io;
use std::os::fd::FromRawFd;

/// Call `f(fd, link)` for every entry of a `/proc/PID/fd` directory, with
/// one `getdents64` per batch and one `readlinkat` per entry on the same
/// directory descriptor: no allocation per descriptor. Entries that vanish
/// meanwhile are skipped.
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
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n == 0 {
            break;
        }
        let mut off = 0usize;
        let n = n as usize;
        // struct linux_dirent64 { u64 d_ino; i64 d_off; u16 d_reclen;
        // u8 d_type; char d_name[]; }
        while off + 19 <= n {
            let reclen = usize::from(u16::from_ne_bytes([buf[off + 16], buf[off + 17]]));
            if reclen == 0 || off + reclen > n {
                break;
            }
            let name_bytes = &buf[off + 19..off + reclen];
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
                if r > 0 {
                    f(num, &link[..r as usize]);
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
pub fn open_read_nonblocking(path: &std::path::Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
}
