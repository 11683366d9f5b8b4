//! Real TFTP servers for the integration tests: tftpd-hpa (`in.tftpd`) and
//! atftpd ([`Server`]), and nettool's own `tftp serve` ([`Serve`]), each
//! started in the foreground on 127.0.0.1 (or `::1`) and a high port,
//! serving a fresh temporary directory; plus work directories for the
//! client and byte-comparison helpers. The client, `nettool`, runs through
//! the one harness in `tests/util`.
//!
//! Invariants:
//! - Traffic stays on loopback (shared/LAB.md): servers bind 127.0.0.1 or
//!   `::1` only, and every address is a literal.
//! - A [`Server`] is returned only once its own process holds the UDP port
//!   (checked in /proc: the socket inode bound to the port is one of the
//!   server's file descriptors), so the first request is never lost.
//!   `nettool tftp serve` binds port 0 and names the port in its
//!   `listening` record; a [`Serve`] is returned after that record and the
//!   same check.
//! - Dropping a [`Server`] or a [`Serve`] kills it by PID, and first any transfer children
//!   tftpd-hpa forked (found by their parent PID), also when the test
//!   panics.
//! - A missing server binary (or no root, which tftpd-hpa's chroot needs)
//!   skips the test with one `SKIP` line outside CI and fails it under CI
//!   (`util::skip_or_fail`).
//! - Both retransmit fast: tftpd-hpa after 50 ms (`-T`, [`Spec::retransmit_us`]),
//!   atftpd after 1 s (`--retry-timeout 1`, its minimum).
//! - `nettool tftp serve` always runs with `--json`; every stdout line is
//!   kept as it comes ([`Serve::records`], [`Serve::transfer_record`]). Run
//!   as root it drops to `nobody`, so its temporary directory is
//!   world-searchable, the served root world-writable and files 0666.
//!
//! Use: `mod util; mod tftpd;` then
//! `let Some(srv) = tftpd::Server::hpa() else { return };`, or
//! `let srv = tftpd::Serve::start(&["--write"]);` (the binary under test
//! is always there).
//! `TFTPD_TRACE=1` makes atftpd log every packet ([`Server::log`]).
//! Each test binary uses only part of this module.
#![allow(dead_code)]

use std::collections::HashSet;
use std::fmt;

use std::io::BufRead;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::util::{self, skip_or_fail};

/// tftpd-hpa's default first retransmission timeout here, in microseconds
/// (`-T`): short, so that loss tests recover fast.
pub const HPA_RETRANSMIT_US: u32 = 50_000;

/// How long a server may take to bind its port.
const READY_TIMEOUT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------
// Environment: CI, root, binaries

/// Skip (outside CI) or fail (under CI) because `why` (see
/// [`skip_or_fail`]). Returns `None` so that callers can `return` it.
pub fn unavailable<T>(why: &str) -> Option<T> {
    skip_or_fail(format!(
        "TFTP server: {why} (run scripts/test.sh as root to install the servers)"
    ));
    None
}

fn id(flag: &str) -> String {
    let out = Command::new("id")
        .arg(flag)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `id {flag}`: {e}"));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// (is root, user name, group name) of this process.
fn identity() -> &'static (bool, String, String) {
    static ID: OnceLock<(bool, String, String)> = OnceLock::new();
    ID.get_or_init(|| (id("-u") == "0", id("-un"), id("-gn")))
}

fn executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `in.tftpd` from tftpd-hpa: `$IN_TFTPD`, else /usr/sbin/in.tftpd.
fn hpa_binary() -> Option<PathBuf> {
    let p = std::env::var_os("IN_TFTPD")
        .map_or_else(|| PathBuf::from("/usr/sbin/in.tftpd"), PathBuf::from);
    executable(&p).then_some(p)
}

/// atftpd: `$ATFTPD`, else the copy scripts/test.sh unpacks into
/// `target/atftpd/` (its Debian package conflicts with tftpd-hpa's).
fn atftpd_binary() -> Option<PathBuf> {
    let p = std::env::var_os("ATFTPD").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/atftpd/usr/sbin/atftpd"),
        PathBuf::from,
    );
    executable(&p).then_some(p)
}

// ---------------------------------------------------------------------------
// Servers

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// tftpd-hpa 5.2: lock-step only (drops windowsize from its OACK).
    Hpa,
    /// atftpd 0.8: supports windowsize.
    Atftpd,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Hpa => "tftpd-hpa",
            Kind::Atftpd => "atftpd",
        })
    }
}

/// How to start a server.
#[derive(Debug, Clone)]
pub struct Spec {
    pub kind: Kind,
    /// Listen on `::1` instead of 127.0.0.1 (tftpd-hpa only).
    pub ipv6: bool,
    /// Options the server must never accept (tftpd-hpa `-r`, atftpd
    /// `--no-OPTION`).
    pub refuse: Vec<&'static str>,
    /// tftpd-hpa's first retransmission timeout (`-T`), microseconds. It
    /// is also how long it waits for a repeated final DATA after its last
    /// ACK of an upload.
    pub retransmit_us: u32,
}

impl Spec {
    pub fn new(kind: Kind) -> Spec {
        Spec {
            kind,
            ipv6: false,
            refuse: Vec::new(),
            retransmit_us: HPA_RETRANSMIT_US,
        }
    }

    pub fn retransmit_us(mut self, us: u32) -> Spec {
        self.retransmit_us = us;
        self
    }

    pub fn ipv6(mut self) -> Spec {
        self.ipv6 = true;
        self
    }

    pub fn refuse(mut self, option: &'static str) -> Spec {
        self.refuse.push(option);
        self
    }

    /// Start it; `None` when it cannot run here (see [`unavailable`]).
    pub fn start(&self) -> Option<Server> {
        Server::start(self)
    }
}

/// A running server on a fresh root directory; killed on drop.
pub struct Server {
    pub kind: Kind,
    child: Child,
    addr: SocketAddr,
    dir: TempDir,
    root: PathBuf,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (pid {}) on {} serving {}",
            self.kind,
            self.child.id(),
            self.addr,
            self.root.display()
        )
    }
}

/// A port that was free a moment ago on `ip` (bind port 0, read it, close).
pub fn free_udp_port(ip: std::net::IpAddr) -> u16 {
    UdpSocket::bind((ip, 0))
        .and_then(|s| s.local_addr())
        .map_or_else(
            |e| panic!("cannot bind a UDP socket on {ip}: {e}"),
            |a| a.port(),
        )
}

/// Whether this machine can bind UDP on `::1`.
pub fn have_ipv6_loopback() -> bool {
    UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).is_ok()
}

impl Server {
    /// tftpd-hpa on 127.0.0.1.
    pub fn hpa() -> Option<Server> {
        Spec::new(Kind::Hpa).start()
    }

    /// atftpd on 127.0.0.1.
    pub fn atftpd() -> Option<Server> {
        Spec::new(Kind::Atftpd).start()
    }

    #[allow(
        clippy::too_many_lines,
        reason = "each server's command line, side by side"
    )]
    fn start(spec: &Spec) -> Option<Server> {
        let bin = match spec.kind {
            Kind::Hpa => match hpa_binary() {
                Some(b) => b,
                None => {
                    return unavailable(
                        "tftpd-hpa's in.tftpd is not installed (apt-get install tftpd-hpa, or set IN_TFTPD)",
                    );
                }
            },
            Kind::Atftpd => match atftpd_binary() {
                Some(b) => b,
                None => {
                    return unavailable(
                        "atftpd is not unpacked in target/atftpd (apt-get download atftpd && dpkg -x atftpd_*.deb target/atftpd, or set ATFTPD)",
                    );
                }
            },
        };
        let (root_user, user, group) = identity();
        if spec.kind == Kind::Hpa && !root_user {
            return unavailable("tftpd-hpa needs root here (it chroots into its directory)");
        }
        let ip: std::net::IpAddr = if spec.ipv6 {
            Ipv6Addr::LOCALHOST.into()
        } else {
            Ipv4Addr::LOCALHOST.into()
        };
        let dir = tempfile::Builder::new()
            .prefix("nettool-tftpd.")
            .tempdir()
            .expect("create a temporary directory");
        let root = dir.path().join("root");
        std::fs::create_dir(&root).expect("create the server root");
        // atftpd wants a world readable and writable directory.
        set_mode(&root, 0o777);
        let log = dir.path().join("server.log");

        let mut last_err = String::new();
        for _attempt in 0..5 {
            let port = free_udp_port(ip);
            let addr = SocketAddr::new(ip, port);
            // atftpd opens its log file for appending but never creates it.
            std::fs::write(&log, b"").expect("create the server log");
            let stderr = std::fs::File::create(dir.path().join("server.stderr"))
                .expect("create the server's stderr file");
            let mut cmd = Command::new(&bin);
            match spec.kind {
                Kind::Hpa => {
                    let listen = if spec.ipv6 {
                        format!("[::1]:{port}")
                    } else {
                        format!("127.0.0.1:{port}")
                    };
                    cmd.args(["-L", if spec.ipv6 { "-6" } else { "-4" }, "-a"])
                        .arg(listen)
                        .args(["-s", "-c", "-U", "000", "-u", user.as_str(), "-T"])
                        .arg(spec.retransmit_us.to_string());
                    for o in &spec.refuse {
                        cmd.args(["-r", o]);
                    }
                }
                Kind::Atftpd => {
                    assert!(!spec.ipv6, "the tests run atftpd on IPv4 only");
                    cmd.args(["--daemon", "--no-fork", "--bind-address", "127.0.0.1"])
                        .arg("--port")
                        .arg(port.to_string())
                        .arg("--logfile")
                        .arg(&log)
                        .args(["--user", user.as_str(), "--group", group.as_str()])
                        .args(["--retry-timeout", "1"]);
                    // TFTPD_TRACE=1: atftpd logs every packet (see log()).
                    if std::env::var_os("TFTPD_TRACE").is_some() {
                        cmd.args(["--trace", "--verbose=7"]);
                    }
                    for o in &spec.refuse {
                        cmd.arg(format!("--no-{o}"));
                    }
                }
            }
            cmd.arg(&root)
                .current_dir(&root)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr);
            let mut child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            match wait_bound(&mut child, port) {
                Ok(()) => {
                    return Some(Server {
                        kind: spec.kind,
                        child,
                        addr,
                        dir,
                        root,
                    });
                }
                Err(e) => {
                    kill_tree(&mut child);
                    let stderr = std::fs::read_to_string(dir.path().join("server.stderr"))
                        .unwrap_or_default();
                    last_err = format!("{addr}: {e}; stderr: {}", stderr.trim());
                }
            }
        }
        panic!(
            "{} would not start on a free port after 5 tries: {last_err}",
            spec.kind
        );
    }

    /// The address to give nettool: `127.0.0.1:P` or `[::1]:P`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Put a file into the server's root.
    pub fn add_file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        add_file(&self.root, name, bytes)
    }

    pub fn read_file(&self, name: &str) -> Option<Vec<u8>> {
        std::fs::read(self.root.join(name)).ok()
    }

    /// Wait until the server's file `name` holds exactly `want`: a server
    /// may still be flushing (atftpd writes through stdio buffers and closes
    /// the file after its last ACK).
    #[track_caller]
    pub fn expect_file(&self, name: &str, want: &[u8], what: &str) {
        expect_file(&self.root, name, want, &format!("{what}: {self:?}"));
    }

    /// What the server wrote to stderr (tftpd-hpa logs to syslog; this
    /// holds only start-up failures).
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.stderr")).unwrap_or_default()
    }

    /// atftpd's log file.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// PIDs of the transfer processes tftpd-hpa forked.
    pub fn children(&self) -> Vec<u32> {
        children_of(self.child.id())
    }
}

/// Put a file into a server's root (readable and writable by anyone).
fn add_file(root: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = root.join(name);
    std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
    set_mode(&p, 0o666);
    p
}

/// Wait until `root/name` holds exactly `want`: a server may still be
/// flushing, or renaming an upload into place.
#[track_caller]
fn expect_file(root: &Path, name: &str, want: &[u8], what: &str) {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let got = std::fs::read(root.join(name)).ok();
        if got.as_deref() == Some(want) {
            return;
        }
        if Instant::now() > deadline {
            match got {
                Some(g) => assert_same_bytes(&format!("{what}: file {name}"), &g, want),
                None => panic!("{what}: file {name} was never created"),
            }
            return;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Until `child` itself holds UDP `port`: the socket inode bound to the
/// port is one of its file descriptors.
fn wait_bound(child: &mut Child, port: u16) -> Result<(), String> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("exited at once ({st})"));
        }
        let mine = socket_inodes(child.id());
        if bound_inodes(port).iter().any(|i| mine.contains(i)) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("did not bind port {port} within {READY_TIMEOUT:?}"));
        }
        thread::sleep(Duration::from_millis(5));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        kill_tree(&mut self.child);
    }
}

/// Kill the forked transfer children of `child` (by PID), then `child`.
fn kill_tree(child: &mut Child) {
    for pid in children_of(child.id()) {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", p.display()));
}

/// Inodes of the sockets process `pid` holds.
fn socket_inodes(pid: u32) -> HashSet<u64> {
    let Ok(rd) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return HashSet::new();
    };
    rd.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.to_str()?.to_string();
            l.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
        })
        .collect()
}

/// Inodes of the UDP sockets bound to local `port` (IPv4 and IPv6).
fn bound_inodes(port: u16) -> Vec<u64> {
    let mut out = Vec::new();
    for table in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(inode)) = (f.get(1), f.get(9)) else {
                continue;
            };
            let p = local
                .rsplit_once(':')
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            if p == Some(port)
                && let Ok(i) = inode.parse()
            {
                out.push(i);
            }
        }
    }
    out
}

/// PIDs whose parent is `parent` (from /proc/PID/stat).
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.filter_map(|e| {
        let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // "pid (comm) state ppid ...": comm may hold spaces and parens.
        let after = &stat[stat.rfind(')')? + 1..];
        let parent_pid: u32 = after.split_whitespace().nth(1)?.parse().ok()?;
        (parent_pid == parent).then_some(pid)
    })
    .collect()
}

// ---------------------------------------------------------------------------
// nettool's own server

/// A running `nettool tftp serve DIR --listen 127.0.0.1:0 --json ARGS...`
/// on a fresh root directory; killed on drop.
pub struct Serve {
    child: Child,
    addr: SocketAddr,
    dir: TempDir,
    root: PathBuf,
    args: Vec<String>,
    /// Its stdout lines (JSON records), as they come.
    lines: Arc<Mutex<Vec<String>>>,
}

impl fmt::Debug for Serve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "nettool tftp serve {} (pid {}) on {} serving {}",
            self.args.join(" "),
            self.child.id(),
            self.addr,
            self.root.display()
        )
    }
}

impl fmt::Display for Serve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("nettool tftp serve")
    }
}

impl Serve {
    /// On 127.0.0.1, with `args` after `--json`.
    pub fn start(args: &[&str]) -> Serve {
        Serve::launch("127.0.0.1:0", args)
    }

    /// On `::1`.
    pub fn start_ipv6(args: &[&str]) -> Serve {
        Serve::launch("[::1]:0", args)
    }

    fn launch(listen: &str, args: &[&str]) -> Serve {
        let dir = tempfile::Builder::new()
            .prefix("nettool-tftpd.")
            .tempdir()
            .expect("create a temporary directory");
        set_mode(dir.path(), 0o755);
        let root = dir.path().join("root");
        std::fs::create_dir(&root).expect("create the server root");
        set_mode(&root, 0o777);
        let stderr = std::fs::File::create(dir.path().join("server.stderr"))
            .expect("create the server's stderr file");
        let mut cmd = util::nettool(&["tftp", "serve"]).command();
        cmd.arg(&root)
            .args(["--listen", listen, "--json"])
            .args(args)
            .current_dir(&root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", util::bin().display()));
        let out = child.stdout.take().expect("piped stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let keep = lines.clone();
        // Until the server exits: records are taken as they come, so a
        // full pipe never stalls the server.
        thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines() {
                let Ok(line) = line else { return };
                keep.lock().unwrap().push(line);
            }
        });
        let mut srv = Serve {
            child,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            dir,
            root,
            args: args.iter().map(|a| (*a).to_string()).collect(),
            lines,
        };
        let deadline = Instant::now() + READY_TIMEOUT;
        let addr = loop {
            let seen = srv.stdout_lines().iter().find_map(|l| {
                let v: Value = serde_json::from_str(l).ok()?;
                (v["event"] == "listening").then(|| v["address"].as_str().map(str::to_string))
            });
            if let Some(a) = seen {
                let a = a.expect("a listening record names its address");
                break a
                    .parse::<SocketAddr>()
                    .unwrap_or_else(|e| panic!("listening address {a:?}: {e}"));
            }
            let why = match srv.child.try_wait() {
                Ok(Some(st)) => format!("exited at once ({st})"),
                _ if Instant::now() > deadline => {
                    format!("no listening record within {READY_TIMEOUT:?}")
                }
                _ => {
                    thread::sleep(Duration::from_millis(5));
                    continue;
                }
            };
            kill_tree(&mut srv.child);
            panic!(
                "{srv:?}: {why}; stdout: {:?}; stderr: {}",
                srv.stdout_lines(),
                srv.stderr().trim()
            );
        };
        assert!(
            addr.ip().is_loopback() && addr.port() != 0,
            "lab safety: {srv:?} says it listens on {addr}, not a loopback port"
        );
        srv.addr = addr;
        if let Err(e) = wait_bound(&mut srv.child, addr.port()) {
            kill_tree(&mut srv.child);
            panic!("{srv:?}: its listening record names {addr} but: {e}");
        }
        srv
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Put a file into the served root.
    pub fn add_file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        add_file(&self.root, name, bytes)
    }

    pub fn read_file(&self, name: &str) -> Option<Vec<u8>> {
        std::fs::read(self.root.join(name)).ok()
    }

    /// Wait until the served file `name` holds exactly `want` (an upload
    /// is renamed into place around its last ACK).
    #[track_caller]
    pub fn expect_file(&self, name: &str, want: &[u8], what: &str) {
        expect_file(&self.root, name, want, &format!("{what}: {self:?}"));
    }

    /// What it wrote to stderr.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.stderr")).unwrap_or_default()
    }

    /// Its stdout so far, a line each.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Its records so far: every stdout line must be a JSON object of
    /// schema `nettool.tftp.serve/1`.
    #[track_caller]
    pub fn records(&self) -> Vec<Value> {
        self.stdout_lines()
            .iter()
            .map(|l| {
                let v: Value = serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("{self:?}: stdout line {l:?} is not JSON: {e}"));
                assert_eq!(v["schema"], "nettool.tftp.serve/1", "{self:?}: {l}");
                v
            })
            .collect()
    }

    /// The one `transfer` record of `file` in `direction` (`read` or
    /// `write`), waiting up to 5 s for it: the server may end a transfer
    /// after its client does (the final ACK, a dally). Panics when there is
    /// none, or more than one.
    #[track_caller]
    pub fn transfer_record(&self, file: &str, direction: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let mut mine: Vec<Value> = self
                .records()
                .into_iter()
                .filter(|r| {
                    r["event"] == "transfer" && r["file"] == file && r["direction"] == direction
                })
                .collect();
            if mine.len() == 1 {
                return mine.remove(0);
            }
            assert!(
                mine.is_empty() && Instant::now() <= deadline,
                "{self:?}: {} transfer records of {file:?} ({direction}), want 1; stdout:\n{}\nstderr: {}",
                mine.len(),
                self.stdout_lines().join("\n"),
                self.stderr()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Names in the root that an upload left behind as temporary files
    /// (`.nettool-tftp-*`).
    pub fn temp_files(&self) -> Vec<String> {
        listing(&self.root)
            .into_iter()
            .filter(|n| n.starts_with(".nettool-tftp-"))
            .collect()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        kill_tree(&mut self.child);
    }
}

// ---------------------------------------------------------------------------
// Client runs (nettool itself runs through `util::nettool(ARGS).current_dir(DIR)`)

/// A fresh, empty working directory for one client run.
pub fn workdir() -> TempDir {
    tempfile::Builder::new()
        .prefix("nettool-tftp-client.")
        .tempdir()
        .expect("create a temporary directory")
}

/// The names in `dir`, sorted (to show what a run left behind).
pub fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

// ---------------------------------------------------------------------------
// Data and comparison

/// `len` deterministic pseudo-random bytes (xorshift64*), every byte value
/// likely: files that catch swapped, dropped or repeated blocks.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        v.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    v.truncate(len);
    v
}

/// FNV-1a, 64 bits: a short fingerprint for messages (not for security).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Panic with lengths, fingerprints and the first difference unless `got`
/// and `want` are the same bytes.
#[track_caller]
pub fn assert_same_bytes(what: &str, got: &[u8], want: &[u8]) {
    if got == want {
        return;
    }
    let first = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    let window = |v: &[u8]| {
        let s = first.saturating_sub(8);
        let e = (first + 8).min(v.len());
        format!("{:02x?}", &v[s.min(e)..e])
    };
    panic!(
        "{what}: bytes differ\n  got  {} bytes, fnv1a64 {:016x}\n  want {} bytes, fnv1a64 {:016x}\n  first difference at offset {first} (block {} at 512, {} at 1468)\n  got  around it: {}\n  want around it: {}",
        got.len(),
        fnv1a64(got),
        want.len(),
        fnv1a64(want),
        first / 512 + 1,
        first / 1468 + 1,
        window(got),
        window(want),
    );
}
