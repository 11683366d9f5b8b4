//! The served directory: files opened for reading and uploads created
//! only below it (`openat2(RESOLVE_BENEATH)` from one directory handle
//! taken at start, so a rename of the directory or a link planted later
//! cannot lead a name out of it), only regular files, and uploads that
//! appear under their name only once complete.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, BufRead as _, BufReader};
use std::os::fd::{AsFd as _, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::sys::errno;
use crate::sys::fs::{
    Access, Links, open_beneath, open_directory, read_append, rename_in, unlink_in,
};
use crate::wire::tftp::ErrorCode;

use super::super::session::{Sink, SizeChanged, Source};
use super::super::sink::Deferred;
use super::request::Refusal;

/// The directory served, held open.
#[derive(Debug)]
pub struct Root {
    dir: OwnedFd,
    links: Links,
}

/// Why a name could not be opened, as the client is told.
fn refusal(e: &io::Error, _name: &str) -> Refusal {
    let (code, msg) = match e.raw_os_error() {
        Some(errno::ENOENT | errno::ENOTDIR) => (ErrorCode::FileNotFound, "file not found"),
        Some(errno::EXDEV) => (
            ErrorCode::AccessViolation,
            "the name leads out of the served directory",
        ),
        Some(errno::ELOOP) => (
            ErrorCode::AccessViolation,
            "symbolic links are not followed here",
        ),
        Some(errno::EACCES | errno::EPERM) => (ErrorCode::AccessViolation, "permission denied"),
        // A socket file, or a device without a driver behind it.
        Some(errno::ENXIO | errno::ENODEV) => (ErrorCode::AccessViolation, "not a regular file"),
        Some(errno::ENOSPC | errno::EDQUOT) => (ErrorCode::DiskFull, "the server's disk is full"),
        _ => (ErrorCode::NotDefined, "cannot open the file"),
    };
    let why = if code == ErrorCode::NotDefined {
        format!("{msg}: {e}")
    } else {
        msg.to_string()
    };
    Refusal {
        code,
        message: msg.to_string(),
        why,
    }
}

fn not_regular(name: &str, what: &str) -> Refusal {
    Refusal {
        code: ErrorCode::AccessViolation,
        message: format!("not a regular file ({what})"),
        why: format!("{} is {what}", super::request::shown(name)),
    }
}

fn kind_of(m: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    let t = m.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

impl Root {
    /// Hold `path` open as the served directory; `follow`: symbolic links
    /// that stay inside it are followed (else none is).
    ///
    /// # Errors
    /// `path` cannot be opened as a directory.
    pub fn open(path: &Path, follow: bool) -> io::Result<Root> {
        Ok(Root {
            dir: open_directory(path)?,
            links: if follow {
                Links::Inside
            } else {
                Links::Refused
            },
        })
    }

    pub fn handle(&self) -> std::os::fd::BorrowedFd<'_> {
        self.dir.as_fd()
    }

    /// Open `name` to send it: a regular file below the directory, and
    /// its size now.
    ///
    /// # Errors
    /// The refusal to send the client.
    pub fn read(&self, name: &str) -> Result<(File, u64), Refusal> {
        let fd = open_beneath(self.dir.as_fd(), name.as_ref(), Access::Read, self.links)
            .map_err(|e| refusal(&e, name))?;
        let f = File::from(fd);
        let m = f.metadata().map_err(|e| refusal(&e, name))?;
        if !m.is_file() {
            return Err(not_regular(name, kind_of(&m)));
        }
        Ok((f, m.len()))
    }

    /// Start an upload to `name`: a temporary file beside it, renamed
    /// to `name` when complete. Without `overwrite` an existing `name`
    /// is refused now (ERROR 6) and never replaced later.
    ///
    /// # Errors
    /// The refusal to send the client.
    pub fn create(&self, name: &str, overwrite: bool) -> Result<NewFile, Refusal> {
        let path = Path::new(name);
        let (parent, base) = match (path.parent(), path.file_name()) {
            (Some(p), Some(b)) if !p.as_os_str().is_empty() => (p, b),
            (_, Some(b)) => (Path::new("."), b),
            // No last component: `.`, the directory itself.
            _ => return Err(not_regular(name, "a directory")),
        };
        let dir = open_beneath(self.dir.as_fd(), parent, Access::Dir, self.links)
            .map_err(|e| refusal(&e, name))?;
        match open_beneath(dir.as_fd(), base.as_ref(), Access::Read, Links::Refused) {
            Ok(fd) => {
                let m = File::from(fd).metadata().map_err(|e| refusal(&e, name))?;
                if !m.is_file() {
                    return Err(not_regular(name, kind_of(&m)));
                }
                if !overwrite {
                    return Err(Refusal {
                        code: ErrorCode::FileExists,
                        message: "file already exists".into(),
                        why: format!(
                            "{} exists (--overwrite replaces files)",
                            super::request::shown(name)
                        ),
                    });
                }
            }
            Err(e) if e.raw_os_error() == Some(errno::ENOENT) => {}
            Err(e) if e.raw_os_error() == Some(errno::ELOOP) => {
                return Err(Refusal {
                    code: if overwrite {
                        ErrorCode::AccessViolation
                    } else {
                        ErrorCode::FileExists
                    },
                    message: "a symbolic link has that name".into(),
                    why: format!("{} is a symbolic link", super::request::shown(name)),
                });
            }
            Err(e) => return Err(refusal(&e, name)),
        }
        let tmp = temp_name(base);
        let fd = open_beneath(dir.as_fd(), tmp.as_ref(), Access::CreateNew, Links::Refused)
            .map_err(|e| refusal(&e, name))?;
        Ok(NewFile {
            out: Some(Deferred::new(File::from(fd))),
            dir,
            tmp,
            target: base.to_os_string(),
            overwrite,
            committed: false,
        })
    }
}

/// `.nettool-tftp-NAME.PID.N`, within 255 bytes.
fn temp_name(base: &OsStr) -> OsString {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let suffix = format!(".{}.{n}", std::process::id());
    let prefix = ".nettool-tftp-";
    let room = 255 - prefix.len() - suffix.len();
    let mut name = base.as_encoded_bytes().to_vec();
    name.truncate(room);
    let mut s = OsString::from(prefix);
    s.push(String::from_utf8_lossy(&name).as_ref());
    s.push(suffix);
    s
}

/// An upload in progress: data goes to the temporary file, which is
/// renamed into place by `complete` and removed if dropped before.
pub struct NewFile {
    out: Option<Deferred<File>>,
    dir: OwnedFd,
    tmp: OsString,
    target: OsString,
    overwrite: bool,
    committed: bool,
}

impl Sink for NewFile {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        match &mut self.out {
            Some(w) => w.write(data),
            None => Err(io::Error::other("write after the file was committed")),
        }
    }
    fn idle(&mut self, lull: bool) -> io::Result<()> {
        self.out.as_mut().map_or(Ok(()), |w| w.idle(lull))
    }
    fn write_idle(&mut self, data: &[u8], lull: bool) -> io::Result<()> {
        match &mut self.out {
            Some(w) => w.write_idle(data, lull),
            None => Err(io::Error::other("write after the file was committed")),
        }
    }
    fn complete(&mut self) -> io::Result<()> {
        let Some(mut w) = self.out.take() else {
            return Ok(());
        };
        w.settle()?;
        drop(w);
        rename_in(self.dir.as_fd(), &self.tmp, &self.target, self.overwrite).map_err(|e| {
            if e.raw_os_error() == Some(errno::EEXIST) {
                io::Error::new(io::ErrorKind::AlreadyExists, "the file appeared meanwhile")
            } else {
                e
            }
        })?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for NewFile {
    fn drop(&mut self) {
        if !self.committed {
            // Nothing half-written stays: the temporary file goes.
            let _ = unlink_in(self.dir.as_fd(), &self.tmp);
        }
    }
}

/// A served file read in big pieces, exactly the size it had when opened:
/// a file that shrinks or grows while it is sent ends the transfer.
/// Blocks this big or bigger are read without a buffer.
const DIRECT_BLKSIZE: u16 = 16 << 10;

pub struct Served {
    r: Reader,
    size: u64,
    read: u64,
}

/// Small blocks come out of a buffer, a read per 64 KiB (hundreds of
/// transfers may hold one). Big ones are read straight into the block,
/// in one read each: through a buffer each would be copied once more, and
/// blocks just under its size would take two reads each.
enum Reader {
    Buffered(BufReader<File>),
    Direct(File),
}

impl Served {
    /// `blksize`: the transfer's block size, which decides the buffering.
    pub fn new(f: File, size: u64, blksize: u16) -> Served {
        let r = if blksize >= DIRECT_BLKSIZE {
            Reader::Direct(f)
        } else {
            Reader::Buffered(BufReader::with_capacity(64 << 10, f))
        };
        Served { r, size, read: 0 }
    }

    /// Append up to `n` bytes to `buf`; fewer only at the end of the file.
    fn fill(&mut self, buf: &mut Vec<u8>, n: usize) -> io::Result<usize> {
        let mut got = 0;
        while got < n {
            let k = match &mut self.r {
                Reader::Direct(f) => read_append(f.as_fd(), buf, n - got)?,
                Reader::Buffered(r) => {
                    let avail = r.fill_buf()?;
                    let k = avail.len().min(n - got);
                    buf.extend_from_slice(&avail[..k]);
                    r.consume(k);
                    k
                }
            };
            if k == 0 {
                break;
            }
            got += k;
        }
        Ok(got)
    }
}

impl Source for Served {
    fn read_block(&mut self, buf: &mut Vec<u8>, max: usize) -> io::Result<()> {
        let want = usize::try_from(self.size - self.read).map_or(max, |left| left.min(max));
        let got = self.fill(buf, want)?;
        self.read += got as u64;
        if got < want {
            return Err(io::Error::other(SizeChanged(format!(
                "the file shrank to {} bytes while it was sent (it had {})",
                self.read, self.size
            ))));
        }
        if self.read == self.size && want < max {
            // The last block: make sure nothing was appended meanwhile.
            let mut one = Vec::with_capacity(1);
            if matches!(self.fill(&mut one, 1), Ok(1)) {
                return Err(io::Error::other(SizeChanged(format!(
                    "the file grew while it was sent (it had {} bytes)",
                    self.size
                ))));
            }
        }
        Ok(())
    }
}
