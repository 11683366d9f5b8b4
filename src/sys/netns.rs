//! Network namespace files: open one, say what kind of namespace it is,
//! and move the calling thread into it.
//!
//! Invariants: an [`NsFile`] owns its descriptor (closed on drop) and knows
//! its namespace's inode from `fstat` of that very descriptor, so what was
//! checked is what is entered. [`NsFile::enter`] is `setns(fd,
//! CLONE_NEWNET)`, which moves the calling thread only: the rest of the
//! process stays where it was (`sockstat::netns` does it on a worker thread).

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

/// The calling thread's own network namespace file. `/proc/self/ns/net`
/// would be the main thread's, which a worker that has entered another
/// namespace is not in.
pub const THREAD_NET_NS: &str = "/proc/thread-self/ns/net";

/// What kind of namespace a namespace file is (`NS_GET_NSTYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NsKind {
    Net,
    /// Another kind, in words: `mount`, `pid`, `user`, `uts`, `ipc`,
    /// `cgroup`, `time`, or `unknown`.
    Other(&'static str),
}

/// An open namespace file (`/run/netns/NAME`, `/proc/PID/ns/net`, or a
/// bind mount of one).
#[derive(Debug)]
pub struct NsFile {
    file: File,
    inode: u64,
}

impl NsFile {
    /// Open `path` read-only (`O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY`)
    /// and `fstat` it. Any file opens; [`NsFile::kind`] says whether it is
    /// a namespace.
    ///
    /// # Errors
    /// What `open` or `fstat` failed with: `ENOENT` (no such name, or the
    /// process is gone), `EACCES` (another user's process, or a mode-0
    /// `/run/netns` file without privilege).
    pub fn open(path: &Path) -> io::Result<NsFile> {
        // O_NONBLOCK: a FIFO given as a path must not wait for a writer;
        // O_NOCTTY: a terminal must not become ours. Neither changes what
        // opening a namespace file does.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path)?;
        let inode = file.metadata()?.ino();
        Ok(NsFile { file, inode })
    }

    /// The namespace's inode: what `readlink /proc/PID/ns/net` shows as
    /// `net:[INODE]`, the same for every file of one namespace.
    pub fn inode(&self) -> u64 {
        self.inode
    }

    /// The kind of namespace this file is.
    ///
    /// # Errors
    /// `ENOTTY` (or `EINVAL`) when it is not a namespace file at all: a
    /// regular file, a directory, a device.
    pub fn kind(&self) -> io::Result<NsKind> {
        // SAFETY: NS_GET_NSTYPE takes no argument and writes no memory; the
        // descriptor is open for as long as `self` lives.
        let t = unsafe { libc::ioctl(self.file.as_raw_fd(), libc::NS_GET_NSTYPE) };
        if t < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(match t {
            libc::CLONE_NEWNET => NsKind::Net,
            libc::CLONE_NEWNS => NsKind::Other("mount"),
            libc::CLONE_NEWPID => NsKind::Other("pid"),
            libc::CLONE_NEWUSER => NsKind::Other("user"),
            libc::CLONE_NEWUTS => NsKind::Other("uts"),
            libc::CLONE_NEWIPC => NsKind::Other("ipc"),
            libc::CLONE_NEWCGROUP => NsKind::Other("cgroup"),
            // CLONE_NEWTIME, which libc does not name on every target.
            0x80 => NsKind::Other("time"),
            _ => NsKind::Other("unknown"),
        })
    }

    /// Move the calling thread into this network namespace:
    /// `setns(fd, CLONE_NEWNET)`. Sockets the thread opens afterwards
    /// (netlink ones included) belong to it; /proc/thread-self/net shows it.
    ///
    /// # Errors
    /// `EPERM` without `CAP_SYS_ADMIN` (in the namespace's owning user
    /// namespace and in our own); `EINVAL` when the file is not a network
    /// namespace.
    pub fn enter(&self) -> io::Result<()> {
        // SAFETY: setns(2) takes a descriptor we hold open and a constant;
        // it touches no memory of ours. With CLONE_NEWNET it changes the
        // calling thread's namespace only, which is what callers want.
        let rc = unsafe { libc::setns(self.file.as_raw_fd(), libc::CLONE_NEWNET) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_namespace_is_a_network_namespace_and_entering_it_needs_no_move() {
        let own = NsFile::open(Path::new(THREAD_NET_NS)).unwrap();
        assert_eq!(own.kind().unwrap(), NsKind::Net);
        let link = std::fs::read_link(THREAD_NET_NS).unwrap();
        assert_eq!(
            link.to_str().unwrap(),
            format!("net:[{}]", own.inode()),
            "fstat's inode is the one readlink names"
        );
        let mnt = NsFile::open(Path::new("/proc/thread-self/ns/mnt")).unwrap();
        assert_eq!(mnt.kind().unwrap(), NsKind::Other("mount"));
    }

    #[test]
    fn a_regular_file_is_no_namespace() {
        let f = tempfile::NamedTempFile::new().unwrap();
        let ns = NsFile::open(f.path()).unwrap();
        let e = ns.kind().unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOTTY), "{e}");
        assert!(ns.enter().is_err());
    }
}
