//! Names for ports, addresses and users, without `-n`.
//!
//! Ports come from /etc/services, addresses from /etc/hosts and users from
//! /etc/passwd: local files, read once (no NSS). DNS is asked only with
//! `--dns`, from worker threads, and everything not answered by the
//! deadline stays numeric.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::model::unmap;

#[derive(Debug, Default)]
pub struct Names {
    /// (port, "tcp"/"udp") -> service name.
    services: HashMap<(u16, &'static str), String>,
    /// Reverse of `services`, for `--sport ssh`.
    ports: HashMap<String, u16>,
    hosts: HashMap<IpAddr, String>,
}

impl Names {
    /// Load /etc/services and /etc/hosts from `etc` (missing files are
    /// simply no names).
    pub fn load(etc: &Path) -> Names {
        let mut n = Names::default();
        if let Ok(text) = std::fs::read_to_string(etc.join("services")) {
            n.add_services(&text);
        }
        if let Ok(text) = std::fs::read_to_string(etc.join("hosts")) {
            n.add_hosts(&text);
        }
        n
    }

    /// Only the services file: what a numeric listing still needs to
    /// resolve `--sport ssh`.
    pub fn load_services(etc: &Path) -> Names {
        let mut n = Names::default();
        if let Ok(text) = std::fs::read_to_string(etc.join("services")) {
            n.add_services(&text);
        }
        n
    }

    /// `ssh  22/tcp  # comment` lines; the first name for a port wins.
    pub fn add_services(&mut self, text: &str) {
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut it = line.split_ascii_whitespace();
            let (Some(name), Some(pp)) = (it.next(), it.next()) else {
                continue;
            };
            let Some((port, proto)) = pp.split_once('/') else {
                continue;
            };
            let Ok(port) = port.parse::<u16>() else {
                continue;
            };
            let proto = match proto {
                "tcp" => "tcp",
                "udp" => "udp",
                _ => continue,
            };
            self.services
                .entry((port, proto))
                .or_insert_with(|| name.to_string());
            self.ports.entry(name.to_string()).or_insert(port);
            for alias in it {
                self.ports.entry(alias.to_string()).or_insert(port);
            }
        }
    }

    /// `127.0.0.1 localhost other` lines; the first name for an address
    /// wins.
    pub fn add_hosts(&mut self, text: &str) {
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut it = line.split_ascii_whitespace();
            let (Some(addr), Some(name)) = (it.next(), it.next()) else {
                continue;
            };
            if let Ok(ip) = addr.parse::<IpAddr>() {
                self.hosts
                    .entry(unmap(ip))
                    .or_insert_with(|| name.to_string());
            }
        }
    }

    pub fn service(&self, port: u16, proto: &'static str) -> Option<&str> {
        self.services.get(&(port, proto)).map(String::as_str)
    }

    pub fn port_of(&self, name: &str) -> Option<u16> {
        self.ports.get(name).copied()
    }

    pub fn host(&self, ip: IpAddr) -> Option<&str> {
        self.hosts.get(&ip).map(String::as_str)
    }

    /// Reverse-resolve `ips` through DNS with a total time bound; answers
    /// that arrive in time are added as host names. Returns how many
    /// lookups were still pending at the deadline.
    pub fn resolve_dns(&mut self, ips: Vec<IpAddr>, budget: Duration) -> usize {
        let ips: Vec<IpAddr> = ips
            .into_iter()
            .filter(|ip| !ip.is_unspecified() && !self.hosts.contains_key(ip))
            .collect();
        if ips.is_empty() {
            return 0;
        }
        let total = ips.len();
        let (tx, rx) = mpsc::channel();
        // A few workers share the list; they are detached, so a resolver
        // that hangs cannot hold the listing past the deadline.
        let workers = total.clamp(1, 8);
        let queue = std::sync::Arc::new(std::sync::Mutex::new(ips));
        for _ in 0..workers {
            let (tx, queue) = (tx.clone(), queue.clone());
            std::thread::spawn(move || {
                loop {
                    let next = queue.lock().ok().and_then(|mut q| q.pop());
                    let Some(ip) = next else { break };
                    let name = crate::sys::reverse_lookup(ip);
                    if tx.send((ip, name)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let deadline = Instant::now() + budget;
        let mut answered = 0;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match rx.recv_timeout(left) {
                Ok((ip, name)) => {
                    answered += 1;
                    if let Some(name) = name {
                        self.hosts.insert(ip, name);
                    }
                }
                Err(_) => break,
            }
        }
        total - answered
    }
}

/// uid -> user name, from /etc/passwd.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Users(HashMap<u32, String>);

impl Users {
    /// `<etc>/passwd`; a missing or unreadable file is no names.
    pub fn load(etc: &Path) -> Users {
        Users::parse(&std::fs::read_to_string(etc.join("passwd")).unwrap_or_default())
    }

    /// `name:x:uid:...` lines; lines without a numeric uid are skipped,
    /// and a later line for the same uid wins.
    pub fn parse(text: &str) -> Users {
        Users(
            text.lines()
                .filter_map(|l| {
                    let mut f = l.split(':');
                    let name = f.next()?;
                    let uid = f.nth(1)?.parse().ok()?;
                    Some((uid, name.to_string()))
                })
                .collect(),
        )
    }

    pub fn name(&self, uid: u32) -> Option<&str> {
        self.0.get(&uid).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_file() {
        let u = Users::parse(
            "root:x:0:0:root:/root:/bin/bash\nbroken\nnobody:x:65534:65534::/:/usr/sbin/nologin\nnouid:x:abc:0::/:\ntwin:x:0:0::/:\n",
        );
        assert_eq!(u.name(0), Some("twin"));
        assert_eq!(u.name(65534), Some("nobody"));
        assert_eq!(u.name(1000), None);
    }

    #[test]
    fn services_and_hosts_files() {
        let mut n = Names::default();
        n.add_services("# comment\nssh\t\t22/tcp\t\t\t\t# SSH\ndomain 53/tcp\ndomain 53/udp\nhttp 80/tcp www\nbad line\nx 99999/tcp\n");
        n.add_hosts(
            "127.0.0.1 localhost\n127.0.0.1 other\n::1 ip6-localhost ip6-loopback\n# 1.2.3.4 no\n",
        );
        assert_eq!(n.service(22, "tcp"), Some("ssh"));
        assert_eq!(n.service(22, "udp"), None);
        assert_eq!(n.service(53, "udp"), Some("domain"));
        assert_eq!(n.port_of("www"), Some(80));
        assert_eq!(n.host("127.0.0.1".parse().unwrap()), Some("localhost"));
        assert_eq!(n.host("::1".parse().unwrap()), Some("ip6-localhost"));
        assert_eq!(n.host("1.2.3.4".parse().unwrap()), None);
    }
}
