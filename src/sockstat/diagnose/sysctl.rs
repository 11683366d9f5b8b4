//! The sysctls that bound what `--diagnose` judges, read from
//! `<proc>/sys/net`, which shows the namespace of the thread that opens it.

use std::path::Path;

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

    /// How many ephemeral ports there are.
    pub fn ephemeral_ports(&self) -> Option<u64> {
        self.ip_local_port_range
            .map(|(lo, hi)| u64::from(hi) - u64::from(lo) + 1)
    }
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
