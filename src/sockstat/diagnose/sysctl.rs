//! The sysctls that bound what `--diagnose` judges, read from
//! `<proc>/sys/net`, which shows the namespace of the thread that opens it.
//!
//! `tcp_max_orphans` and `tcp_mem` are the host's, and only the initial
//! namespace shows them: from any other (`ip netns exec`, a container,
//! an `--all-netns` worker) they are read on a thread that joined the
//! host's network namespace (PID 1's, or the one with the initial
//! namespace's fixed inode), once per process.

use std::path::Path;
use std::sync::OnceLock;

use crate::sockstat::netns::INIT_NET_INODE;
use crate::sys::netns::NsFile;

use serde::Serialize;

/// Each `None` when its file is missing or unreadable: a finding then
/// says less, it is never skipped for it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Sysctls {
    /// `net.core.somaxconn`: the cap on any `listen()` backlog.
    pub somaxconn: Option<u64>,
    /// `net.ipv4.tcp_max_syn_backlog`: half-open connections per listener.
    pub tcp_max_syn_backlog: Option<u64>,
    /// `net.ipv4.tcp_syncookies`: 0 off, 1 when the SYN queue overflows, 2 always.
    pub tcp_syncookies: Option<u64>,
    /// `net.ipv4.ip_local_port_range`: the ephemeral ports `connect()` picks from.
    pub ip_local_port_range: Option<(u16, u16)>,
    /// `net.ipv4.tcp_tw_reuse`: 0 off, 1 on, 2 loopback only.
    pub tcp_tw_reuse: Option<u64>,
    /// `net.ipv4.tcp_fin_timeout`: seconds an orphan waits in `FIN_WAIT2`.
    pub tcp_fin_timeout: Option<u64>,
    /// `net.ipv4.tcp_retries2`: retransmissions before an established
    /// connection is abandoned.
    pub tcp_retries2: Option<u64>,
    /// `net.ipv4.tcp_max_orphans` (host-wide).
    pub tcp_max_orphans: Option<u64>,
    /// `net.ipv4.tcp_mem`: low, pressure, high, in pages (host-wide).
    pub tcp_mem: Option<[u64; 3]>,
}

impl Sysctls {
    /// Read them under `proc_root` (`/proc`, or a fixture's root).
    pub fn read(proc_root: &Path) -> Sysctls {
        let dir = proc_root.join("sys/net");
        let text = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
        let one = |name: &str| text(name).and_then(|t| t.trim().parse().ok());
        let many = |name: &str| -> Option<Vec<u64>> {
            text(name)?
                .split_whitespace()
                .map(|w| w.parse().ok())
                .collect()
        };
        Sysctls {
            somaxconn: one("core/somaxconn"),
            tcp_max_syn_backlog: one("ipv4/tcp_max_syn_backlog"),
            tcp_syncookies: one("ipv4/tcp_syncookies"),
            ip_local_port_range: many("ipv4/ip_local_port_range").and_then(|v| match v[..] {
                [lo, hi] if lo <= hi => Some((u16::try_from(lo).ok()?, u16::try_from(hi).ok()?)),
                _ => None,
            }),
            tcp_tw_reuse: one("ipv4/tcp_tw_reuse"),
            tcp_fin_timeout: one("ipv4/tcp_fin_timeout"),
            tcp_retries2: one("ipv4/tcp_retries2"),
            tcp_max_orphans: one("ipv4/tcp_max_orphans"),
            tcp_mem: many("ipv4/tcp_mem").and_then(|v| <[u64; 3]>::try_from(v).ok()),
        }
    }

    /// [`Sysctls::read`], with the host-wide ones from the host's namespace
    /// when this one does not show them (`None` when that namespace cannot
    /// be found or entered: no `CAP_SYS_ADMIN`, or a container that sees
    /// no process of the host).
    pub fn read_with_host(proc_root: &Path) -> Sysctls {
        let mut s = Sysctls::read(proc_root);
        if s.tcp_max_orphans.is_none() || s.tcp_mem.is_none() {
            static HOST: OnceLock<(Option<u64>, Option<[u64; 3]>)> = OnceLock::new();
            let (orphans, mem) = *HOST.get_or_init(|| host_wide(proc_root));
            s.tcp_max_orphans = s.tcp_max_orphans.or(orphans);
            s.tcp_mem = s.tcp_mem.or(mem);
        }
        s
    }

    /// How many ephemeral ports there are.
    pub fn ephemeral_ports(&self) -> Option<u64> {
        self.ip_local_port_range
            .map(|(lo, hi)| u64::from(hi) - u64::from(lo) + 1)
    }
}

/// `tcp_max_orphans` and `tcp_mem` as the host's network namespace shows
/// them, read on a thread of its own that joins it (the caller's thread
/// stays where it is).
fn host_wide(proc_root: &Path) -> (Option<u64>, Option<[u64; 3]>) {
    let Some(ns) = host_namespace(proc_root) else {
        return (None, None);
    };
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                if ns.enter().is_err() {
                    return (None, None);
                }
                let s = Sysctls::read(proc_root);
                (s.tcp_max_orphans, s.tcp_mem)
            })
            .join()
            .unwrap_or((None, None))
    })
}

/// PID 1's network namespace; or, when it cannot be opened (a sandbox
/// that hides PID 1), the first process's whose namespace has the
/// initial namespace's fixed inode (kernels since 6.x).
fn host_namespace(proc_root: &Path) -> Option<NsFile> {
    if let Ok(ns) = NsFile::open(&proc_root.join("1/ns/net")) {
        return Some(ns);
    }
    std::fs::read_dir(proc_root)
        .ok()?
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .filter_map(|e| NsFile::open(&e.path().join("ns/net")).ok())
        .find(|ns| ns.inode() == INIT_NET_INODE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_from_a_proc_root_and_missing_files_are_none() {
        let dir = tempfile::tempdir().unwrap();
        let net = dir.path().join("sys/net");
        std::fs::create_dir_all(net.join("ipv4")).unwrap();
        std::fs::create_dir_all(net.join("core")).unwrap();
        std::fs::write(net.join("core/somaxconn"), "4096\n").unwrap();
        std::fs::write(net.join("ipv4/ip_local_port_range"), "32768\t60999\n").unwrap();
        std::fs::write(net.join("ipv4/tcp_mem"), "9000\t12000\t18000\n").unwrap();
        std::fs::write(net.join("ipv4/tcp_fin_timeout"), "sixty\n").unwrap();
        let s = Sysctls::read(dir.path());
        assert_eq!(s.somaxconn, Some(4096));
        assert_eq!(s.ip_local_port_range, Some((32768, 60999)));
        assert_eq!(s.ephemeral_ports(), Some(28232));
        assert_eq!(s.tcp_mem, Some([9000, 12000, 18000]));
        assert_eq!(s.tcp_fin_timeout, None);
        assert_eq!(s.tcp_max_orphans, None);
    }

    #[test]
    fn a_reversed_or_oversized_range_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let v4 = dir.path().join("sys/net/ipv4");
        std::fs::create_dir_all(&v4).unwrap();
        std::fs::write(v4.join("ip_local_port_range"), "60999 32768").unwrap();
        assert_eq!(Sysctls::read(dir.path()).ip_local_port_range, None);
        std::fs::write(v4.join("ip_local_port_range"), "1 70000").unwrap();
        assert_eq!(Sysctls::read(dir.path()).ip_local_port_range, None);
        std::fs::write(v4.join("tcp_mem"), "1 2").unwrap();
        assert_eq!(Sysctls::read(dir.path()).tcp_mem, None);
    }
}
