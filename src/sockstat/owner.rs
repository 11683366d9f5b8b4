//! Which process owns a socket: one pass over `<proc>/*/fd`.
//!
//! Every fd link is read once with `readlinkat` into a stack buffer (no
//! allocation, one syscall per fd); only links to inodes in the wanted set
//! (the rows that passed the filters) are kept, and a command name is read
//! only for the processes that own one of them. A socket shared by several
//! processes (a pre-forked listener) lists all of them.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use procfs::process::Process;

/// One holder of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner<'a> {
    pub pid: u32,
    pub fd: u32,
    /// `<proc>/PID/comm`, or `?` if the process vanished meanwhile.
    pub command: &'a str,
}

/// Result of a scan: (pid, fd) holders by inode, command names by pid, and
/// how many processes could not be inspected (not ours, and we are not
/// root).
#[derive(Debug, Default)]
pub struct OwnerMap {
    by_inode: HashMap<u64, Vec<(u32, u32)>>,
    commands: HashMap<u32, String>,
    pub unreadable: usize,
}

impl OwnerMap {
    pub fn get(&self, inode: u64) -> impl Iterator<Item = Owner<'_>> {
        self.by_inode
            .get(&inode)
            .into_iter()
            .flatten()
            .map(|&(pid, fd)| Owner {
                pid,
                fd,
                command: self.commands.get(&pid).map_or("?", String::as_str),
            })
    }
}

/// `socket:[12345]` -> 12345.
fn socket_inode(link: &[u8]) -> Option<u64> {
    let digits = link.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    let mut n: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(n)
}

/// Scan every process under `proc_root` for fds pointing at `wanted`.
/// Processes are shared out to a few threads (the scan is one syscall per
/// descriptor, so it is the whole cost of `-p`).
///
/// # Errors
/// Only when `proc_root` itself cannot be listed; a process that cannot
/// be inspected is counted in [`OwnerMap::unreadable`].
#[allow(
    clippy::implicit_hasher,
    reason = "one caller, with the default hasher"
)]
pub fn scan(proc_root: &Path, wanted: &HashSet<u64>) -> io::Result<OwnerMap> {
    let mut map = OwnerMap::default();
    if wanted.is_empty() {
        return Ok(map);
    }
    let pids: Vec<u32> = fs::read_dir(proc_root)?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()))
        .collect();
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, 4)
        .min(pids.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Vec<Partial> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| scope.spawn(|| scan_some(proc_root, &pids, &next, wanted)))
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    for part in results {
        map.unreadable += part.unreadable;
        for (inode, pid, fd) in part.hits {
            map.by_inode.entry(inode).or_default().push((pid, fd));
            if let std::collections::hash_map::Entry::Vacant(v) = map.commands.entry(pid)
                && let Some(comm) = command(proc_root, pid)
            {
                v.insert(comm);
            }
        }
    }
    // Keep each socket's holders in pid order, whatever thread found them.
    for holders in map.by_inode.values_mut() {
        holders.sort_unstable();
    }
    Ok(map)
}

/// The command name of `pid` (`<proc>/PID/comm`, through procfs's
/// process handle); `None` if the process is gone or the name unreadable.
/// The kernel's names are at most 15 bytes; a fixture's longer file is
/// read up to a page. (`Take` also spares the size probe, an fstat and
/// an lseek, that `File::read_to_string` makes for every process.)
pub(crate) fn command(proc_root: &Path, pid: u32) -> Option<String> {
    let process = Process::new_with_root(proc_root.join(pid.to_string())).ok()?;
    let mut comm = Vec::with_capacity(32);
    process
        .open_relative("comm")
        .ok()?
        .take(4096)
        .read_to_end(&mut comm)
        .ok()?;
    let comm = String::from_utf8(comm).ok()?;
    Some(comm.trim_end_matches('\n').to_string())
}

/// What one worker found.
#[derive(Default)]
struct Partial {
    hits: Vec<(u64, u32, u32)>,
    unreadable: usize,
}

fn scan_some(proc_root: &Path, pids: &[u32], next: &AtomicUsize, wanted: &HashSet<u64>) -> Partial {
    let mut part = Partial::default();
    let mut fd_dir = proc_root.to_path_buf();
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(&pid) = pids.get(i) else {
            return part;
        };
        fd_dir.push(pid.to_string());
        fd_dir.push("fd");
        let r = crate::sys::for_each_fd_link(&fd_dir, |fd, link| {
            if let Some(inode) = socket_inode(link)
                && wanted.contains(&inode)
            {
                part.hits.push((inode, pid, fd));
            }
        });
        fd_dir.pop();
        fd_dir.pop();
        match r {
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => part.unreadable += 1,
            // Gone between the listing and now, or not a process.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn socket_links() {
        assert_eq!(socket_inode(b"socket:[12345]"), Some(12345));
        assert_eq!(socket_inode(b"socket:[]"), None);
        assert_eq!(socket_inode(b"pipe:[12345]"), None);
        assert_eq!(socket_inode(b"socket:[99999999999999999999999]"), None);
        assert_eq!(socket_inode(b"/dev/null"), None);
    }

    #[test]
    fn finds_our_own_socket() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let path = format!("/proc/self/fd/{}", l.as_raw_fd());
        let inode = fs::metadata(&path).unwrap().ino();
        let wanted: HashSet<u64> = [inode].into();
        let map = scan(Path::new("/proc"), &wanted).unwrap();
        let owners: Vec<Owner> = map.get(inode).collect();
        assert_eq!(owners.len(), 1, "{owners:?}");
        assert_eq!(owners[0].pid, std::process::id());
        assert_eq!(i32::try_from(owners[0].fd).unwrap(), l.as_raw_fd());
        assert_ne!(owners[0].command, "?");
    }

    #[test]
    fn command_names_from_a_fixture_root() {
        let root = tempfile::tempdir().unwrap();
        let comm = |pid: u32, bytes: &[u8]| {
            fs::create_dir_all(root.path().join(pid.to_string())).unwrap();
            fs::write(root.path().join(format!("{pid}/comm")), bytes).unwrap();
        };
        comm(1, b"sshd\n");
        comm(2, b"\xff\xfe\n");
        comm(3, &[b'x'; 5000]);
        fs::create_dir_all(root.path().join("4")).unwrap();
        assert_eq!(command(root.path(), 1).as_deref(), Some("sshd"));
        assert_eq!(command(root.path(), 2), None, "not UTF-8");
        assert_eq!(command(root.path(), 3).map(|c| c.len()), Some(4096));
        assert_eq!(command(root.path(), 4), None, "no comm file");
        assert_eq!(command(root.path(), 5), None, "no such process");
    }

    #[test]
    fn fixture_root_with_symlinks() {
        let root = tempfile::tempdir().unwrap();
        let fd = root.path().join("4242/fd");
        fs::create_dir_all(&fd).unwrap();
        std::os::unix::fs::symlink("socket:[777]", fd.join("3")).unwrap();
        std::os::unix::fs::symlink("/dev/null", fd.join("0")).unwrap();
        std::os::unix::fs::symlink("socket:[888]", fd.join("5")).unwrap();
        fs::write(root.path().join("4242/comm"), "daemon\n").unwrap();
        fs::create_dir_all(root.path().join("self")).unwrap();
        let map = scan(root.path(), &[777].into()).unwrap();
        assert_eq!(
            map.get(777).collect::<Vec<_>>(),
            [Owner {
                pid: 4242,
                fd: 3,
                command: "daemon"
            }]
        );
        assert_eq!(map.get(888).count(), 0, "only wanted inodes are kept");
    }
}
