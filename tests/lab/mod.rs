//! The network lab (shared/LAB.md): network namespaces, veth pairs and
//! bridges built for one test and removed when it ends, so lab tests talk to
//! real kernels and never to a real network.
//!
//! Invariants:
//! - Every namespace, veth and bridge is named `nt-<pid>-<n>` and is created
//!   directly inside a namespace of this lab: nothing is ever created in, or
//!   moved out of, the root namespace.
//! - Commands run only inside namespaces this process created and has not
//!   yet removed ([`run_in`] and [`Host::nettool`] panic otherwise, and
//!   `util::Nettool::in_netns` takes only `nt-<pid>-<n>` names): the lab's
//!   safety rule made a check instead of a convention.
//! - The [`Net`] that owns the namespaces kills every process still inside
//!   them and deletes them on drop, also when the test panics. Deleting a
//!   namespace deletes its interfaces.
//! - Topologies are built with a few `ip -batch` processes (one for the root
//!   namespace, one per namespace, run in parallel) and returned only when
//!   every link is up and every bridge port forwards, so the first packet a
//!   test sends is not dropped by a link still coming up.
//!
//! nettool itself runs through the one harness in `tests/util`
//! ([`Host::nettool`], or `util::nettool(ARGS).in_netns(NS)`).
//!
//! Use: `mod util; mod lab;` then
//! `let Some(lab) = lab::require() else { return };`.
//! Each test binary uses only part of this module.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{
    Bg, Nettool, Output, nettool, run_command, shell_words, skip_or_fail, tracing, which,
};

/// Where `ip netns add` keeps its namespace files.
const NETNS_DIR: &str = "/run/netns";

/// Longest interface name the kernel takes (IFNAMSIZ - 1).
pub const IFNAMSIZ_MAX: usize = 15;

/// How long a command in the lab may run unless the caller says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a new topology may take to have every link up.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// The subnet every builder uses (a documentation range).
pub const NET4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 0);

/// `198.51.100.<last>`.
pub const fn v4(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 51, 100, last)
}

/// `2001:db8::<last>`.
pub const fn v6(last: u16) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last)
}

// ---------------------------------------------------------------------------
// Names and the registry of live namespaces

static NEXT_NAME: AtomicU32 = AtomicU32::new(0);

/// Namespaces this process created and has not removed yet.
fn live() -> &'static Mutex<HashSet<String>> {
    static LIVE: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    LIVE.get_or_init(|| Mutex::new(HashSet::new()))
}

fn lock_live() -> std::sync::MutexGuard<'static, HashSet<String>> {
    // A panicking test must not poison the lab for the others.
    live()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A fresh name `nt-<pid>-<n>`, usable for a namespace or an interface
/// (at most 15 bytes). A name whose namespace file already exists (left by
/// an earlier process with the same pid that was killed) is skipped, never
/// reused.
pub fn unique_name() -> String {
    loop {
        let n = NEXT_NAME.fetch_add(1, Ordering::Relaxed);
        let name = format!("nt-{}-{n}", std::process::id());
        assert!(
            name.len() <= IFNAMSIZ_MAX,
            "lab: name {name:?} is longer than {IFNAMSIZ_MAX} bytes: too many lab objects in one process"
        );
        if !Path::new(NETNS_DIR).join(&name).exists() {
            return name;
        }
    }
}

/// Panics unless `ns` is a namespace this process created and still owns.
#[track_caller]
fn assert_ours(ns: &str) {
    assert!(
        lock_live().contains(ns),
        "lab safety: namespace {ns:?} was not created by this test process (or is already removed); \
         lab commands run only inside the lab's own namespaces"
    );
}

// ---------------------------------------------------------------------------
// Availability

/// Proof that the lab can run here; get one from [`require`].
#[derive(Clone, Copy, Debug)]
pub struct Lab(());

/// The lab if this process may build namespaces. Otherwise
/// [`skip_or_fail`]: outside CI one `SKIP` line and `None` (the caller
/// returns: the test is skipped); under CI a panic.
pub fn require() -> Option<Lab> {
    match Lab::available() {
        Ok(()) => Some(Lab(())),
        Err(why) => {
            skip_or_fail(format!(
                "the lab needs CAP_NET_ADMIN/CAP_NET_RAW: run as root or under \
                 `unshare --user --map-root-user --net --mount` with a tmpfs on {NETNS_DIR} ({why})"
            ));
            None
        }
    }
}

/// Like [`require`], for a test that also needs an outside program (such as
/// `arping`): skipped (or, under CI, failed) when it is missing.
pub fn require_with(programs: &[&str]) -> Option<Lab> {
    let lab = require()?;
    let missing: Vec<&str> = programs
        .iter()
        .copied()
        .filter(|p| which(p).is_none())
        .collect();
    if missing.is_empty() {
        return Some(lab);
    }
    skip_or_fail(format!(
        "missing program(s) {}: `bash scripts/test.sh` installs every package the tests use",
        missing.join(", ")
    ));
    None
}

/// A command for one of iproute2's programs, found in the sbin directories
/// even when `PATH` lacks them.
fn tool(program: &str) -> Command {
    Command::new(which(program).unwrap_or_else(|| PathBuf::from(program)))
}

#[allow(
    clippy::unused_self,
    reason = "a Lab is proof that namespaces work: the builders take it for that"
)]
impl Lab {
    /// Whether a network namespace can be made here (checked once per
    /// process by making one and deleting it); the error says why not.
    pub fn available() -> Result<(), String> {
        static AVAILABLE: OnceLock<Result<(), String>> = OnceLock::new();
        AVAILABLE.get_or_init(probe_namespaces).clone()
    }

    /// An empty lab network, for custom topologies.
    pub fn net(self) -> Net {
        Net::default()
    }

    /// Two namespaces A and B joined by a veth pair: A 198.51.100.1/24,
    /// B 198.51.100.2/24, `lo` and the links up.
    pub fn pair(self) -> Pair {
        build_pair(false)
    }

    /// [`Lab::pair`] plus `2001:db8::1/64` (A) and `2001:db8::2/64` (B), added
    /// with `nodad` so they are usable at once.
    pub fn pair_v6(self) -> Pair {
        build_pair(true)
    }

    /// A hub namespace with a bridge; `n` host namespaces, host `i` with
    /// 198.51.100.(10+i)/24 on a veth whose other end is a bridge port; and a
    /// client namespace with 198.51.100.1/24, where the tool under test runs.
    pub fn star(self, n: usize) -> Star {
        assert!(
            n <= 240,
            "lab: star({n}): at most 240 hosts fit in 198.51.100.10-250"
        );
        let addrs: Vec<Ipv4Addr> = (10..=250).take(n).map(v4).collect();
        build_star(&addrs)
    }

    /// A star whose hosts have the given addresses (all /24), in order.
    /// Repeating an address gives two hosts that both answer for it: the
    /// kernel does no duplicate address detection for IPv4.
    pub fn star_with(self, addrs: &[Ipv4Addr]) -> Star {
        build_star(addrs)
    }
}

fn probe_namespaces() -> Result<(), String> {
    if which("ip").is_none() {
        return Err("`ip` (iproute2) is not installed".into());
    }
    let name = unique_name();
    let add = tool("ip").args(["netns", "add", &name]).output();
    let result = match add {
        Err(e) => Err(format!("cannot run `ip netns add`: {e}")),
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "`ip netns add` failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .trim()
                .replace('\n', "; ")
        )),
    };
    // Remove it whatever happened: a half-made namespace file included.
    let _ = tool("ip")
        .args(["netns", "del", &name])
        .stderr(Stdio::null())
        .status();
    result
}

// ---------------------------------------------------------------------------
// Running commands inside a namespace

fn netns_exec(ns: &str, cmd: &str, args: &[&str]) -> (Command, String) {
    let mut command = tool("ip");
    command.args(["netns", "exec", ns, cmd]).args(args);
    let cmdline = format!(
        "ip netns exec {ns} {}",
        shell_words(&[&[cmd], args].concat())
    );
    (command, cmdline)
}

/// `ip netns exec NS CMD ARGS...` for a program other than nettool (which
/// runs with `util::nettool(ARGS).in_netns(NS)` or [`Host::nettool`]),
/// waited for (at most [`DEFAULT_TIMEOUT`]).
#[track_caller]
pub fn run_in(ns: &str, cmd: &str, args: &[&str]) -> Output {
    run_in_opts(ns, cmd, args, None, DEFAULT_TIMEOUT)
}

/// [`run_in`] with text on stdin and a timeout of the caller's.
#[track_caller]
pub fn run_in_opts(
    ns: &str,
    cmd: &str,
    args: &[&str],
    stdin: Option<&str>,
    timeout: Duration,
) -> Output {
    assert_ours(ns);
    let (command, cmdline) = netns_exec(ns, cmd, args);
    run_command(command, cmdline, stdin.map(str::as_bytes), timeout)
}

/// `ip -n NS ARGS...`; panics (with the output) unless it succeeds.
#[track_caller]
pub fn ip(ns: &str, args: &[&str]) -> Output {
    assert_ours(ns);
    let mut command = tool("ip");
    command.args(["-n", ns]).args(args);
    let cmdline = format!("ip -n {ns} {}", shell_words(args));
    let out = run_command(command, cmdline, None, DEFAULT_TIMEOUT);
    out.ok();
    out
}

/// `ip -n NS -j ARGS...` parsed.
#[track_caller]
pub fn ip_json(ns: &str, args: &[&str]) -> Value {
    let all: Vec<&str> = [&["-j"], args].concat();
    let out = ip(ns, &all);
    if out.stdout.trim().is_empty() {
        return Value::Array(Vec::new());
    }
    out.json()
}

/// Sets a sysctl inside `ns`, e.g. (`net.ipv4.conf.all.arp_accept`, "1")
/// or (`net.ipv4.conf.<iface>.arp_accept`, "1").
#[track_caller]
pub fn sysctl(ns: &str, key: &str, value: &str) {
    // Written to /proc/sys directly: an interface name may hold dots, which
    // sysctl(8) would take for separators.
    let path = match key
        .strip_prefix("net.ipv4.conf.")
        .map(|r| ("ipv4", r))
        .or(key.strip_prefix("net.ipv6.conf.").map(|r| ("ipv6", r)))
    {
        Some((family, rest)) => {
            let (iface, knob) = rest.rsplit_once('.').expect("conf key ends in a knob");
            format!("/proc/sys/net/{family}/conf/{iface}/{knob}")
        }
        None => format!("/proc/sys/{}", key.replace('.', "/")),
    };
    run_in(ns, "sh", &["-c", &format!("echo {value} > {path}")]).ok();
}

/// Loads an nft ruleset (the text of an `nft -f` file) into `ns`, e.g.
/// `"table inet lab { chain input { type filter hook input priority 0; udp dport 69 drop; } }"`.
#[track_caller]
pub fn nft(ns: &str, rules: &str) {
    run_in_opts(ns, "nft", &["-f", "-"], Some(rules), DEFAULT_TIMEOUT).ok();
}

/// The MAC address of `iface` in `ns`, lower case (`ip -j link show`).
#[track_caller]
pub fn mac(ns: &str, iface: &str) -> String {
    let links = ip_json(ns, &["link", "show", "dev", iface]);
    let mac = links[0]["address"]
        .as_str()
        .unwrap_or_else(|| panic!("lab: no address for {iface} in {ns}: {links}"));
    assert!(
        is_mac(mac),
        "lab: {iface} in {ns} has no Ethernet address: {mac:?}"
    );
    mac.to_ascii_lowercase()
}

/// A change to a frame a forger may make to hide an NS or NA from a
/// capture filter while the kernel still takes it ([`hop_by_hop`],
/// [`routed`], [`pad_ndp`]).
pub type Disguise = fn(&[u8]) -> Vec<u8>;

/// `frame` (an Ethernet frame holding an IPv6 packet to a unicast
/// address) with a routing header of 8 bytes and no segments left before
/// its payload (an experimental routing type, RFC 4727): the kernel steps
/// over it (RFC 8200 4.4) to the NS or NA behind.
pub fn routed(frame: &[u8]) -> Vec<u8> {
    with_extension_header(frame, 43, [253, 0, 0, 0, 0, 0])
}

/// `frame` with the extension header `kind` (its next header and length
/// 0 written here, then `rest`) before its payload; the payload length
/// made right. The ICMPv6 checksum does not change: its pseudo-header
/// counts the message only.
fn with_extension_header(frame: &[u8], kind: u8, rest: [u8; 6]) -> Vec<u8> {
    let (eth, fixed) = (14, 40);
    let mut out = frame[..eth + fixed].to_vec();
    out.push(frame[eth + 6]);
    out.push(0);
    out.extend(rest);
    out.extend_from_slice(&frame[eth + fixed..]);
    out[eth + 6] = kind;
    let payload = u16::try_from(out.len() - eth - fixed).expect("one frame");
    out[eth + 4..eth + 6].copy_from_slice(&payload.to_be_bytes());
    out
}

/// `frame` (an Ethernet frame holding an IPv6 packet) with a hop-by-hop
/// options header of 8 bytes (a `PadN` option) before its payload: the
/// kernel steps over it to the NS or NA behind.
pub fn hop_by_hop(frame: &[u8]) -> Vec<u8> {
    with_extension_header(frame, 0, [1, 4, 0, 0, 0, 0])
}

/// `frame` (an Ethernet frame holding an NS or NA as
/// `NdpFrame::to_bytes` makes it) with an option of an unassigned type
/// and `pad` bytes (a multiple of 8, at most 2040) put before its own
/// options: the kernel skips it and takes the options after it, so a
/// forger may hide what it claims behind one. The IPv6 payload length and
/// the ICMPv6 checksum are made right again.
pub fn pad_ndp(frame: &[u8], pad: usize) -> Vec<u8> {
    assert!(pad >= 8 && pad % 8 == 0 && pad <= 2040, "pad_ndp: {pad}");
    let options = 14 + 40 + 24;
    let mut out = frame[..options].to_vec();
    let mut unknown = vec![0u8; pad];
    unknown[0] = 253; // RFC 4727's experimental type: nobody's option
    unknown[1] = u8::try_from(pad / 8).expect("pad fits");
    out.extend(unknown);
    out.extend_from_slice(&frame[options..]);
    let payload = u16::try_from(out.len() - 54).expect("one frame");
    out[18..20].copy_from_slice(&payload.to_be_bytes());
    let addr = |at: usize| {
        let b: [u8; 16] = out[at..at + 16].try_into().expect("16 bytes");
        Ipv6Addr::from(b)
    };
    let sum = nettool::wire::icmpv6::checksum(addr(22), addr(38), &out[54..]);
    out[56..58].copy_from_slice(&sum.to_be_bytes());
    out
}

/// Whether `s` is a MAC address written `xx:xx:xx:xx:xx:xx` (either case).
pub fn is_mac(s: &str) -> bool {
    s.len() == 17
        && s.split(':').count() == 6
        && s.split(':')
            .all(|b| b.len() == 2 && b.bytes().all(|c| c.is_ascii_hexdigit()))
}

/// Every MAC address in `text`, lower case, in order of appearance.
pub fn macs_in(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i + 17 <= bytes.len() {
        let boundary_before = i == 0 || !bytes[i - 1].is_ascii_hexdigit() && bytes[i - 1] != b':';
        let boundary_after = i + 17 == bytes.len() || {
            let c = bytes[i + 17];
            !c.is_ascii_hexdigit() && c != b':'
        };
        match text.get(i..i + 17) {
            Some(s) if boundary_before && boundary_after && is_mac(s) => {
                found.push(s.to_ascii_lowercase());
                i += 17;
            }
            _ => i += 1,
        }
    }
    found
}

/// `ip -n NS -j neigh show ADDR`: the neighbour's MAC if the kernel has one.
#[track_caller]
pub fn neigh_mac(ns: &str, addr: &str) -> Option<String> {
    let entries = ip_json(ns, &["neigh", "show", addr]);
    entries
        .as_array()?
        .iter()
        .find_map(|e| e["lladdr"].as_str().map(str::to_ascii_lowercase))
}

/// Starts `ip netns exec NS CMD ARGS...` in the background (for nettool:
/// `util::nettool(ARGS).in_netns(NS).spawn()`). `ip` execs the command in
/// place, so the child's pid is the command's.
#[track_caller]
pub fn spawn_in(ns: &str, cmd: &str, args: &[&str]) -> Bg {
    assert_ours(ns);
    let (command, cmdline) = netns_exec(ns, cmd, args);
    Bg::start(command, cmdline)
}

/// Runs `f` on a new thread that has joined the network namespace `ns`, so
/// that sockets it opens live there: a peer written in the test itself
/// (say, one that closes in a way no `probe serve` behaviour does). Only
/// that thread moves; the rest of the test process stays where it is.
#[track_caller]
pub fn thread_in<T, F>(ns: &str, f: F) -> thread::JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    use std::os::fd::AsRawFd;
    assert_ours(ns);
    let path = Path::new(NETNS_DIR).join(ns);
    let file = std::fs::File::open(&path)
        .unwrap_or_else(|e| panic!("lab: cannot open {}: {e}", path.display()));
    let ns = ns.to_string();
    thread::spawn(move || {
        // SAFETY: setns(2) on a namespace file we hold open; with
        // CLONE_NEWNET it changes the calling thread only.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(
            rc,
            0,
            "lab: setns into {ns}: {}",
            std::io::Error::last_os_error()
        );
        drop(file);
        f()
    })
}

/// A TCP listener on the IPv4 `addr` inside `ns`, `listen(fd, backlog)`:
/// a backlog std's `TcpListener::bind` does not let one choose.
#[track_caller]
pub fn listener_in(ns: &str, addr: std::net::SocketAddr, backlog: i32) -> std::net::TcpListener {
    use socket2::{Domain, Socket, Type};
    thread_in(ns, move || {
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
        s.set_reuse_address(true).expect("SO_REUSEADDR");
        s.bind(&addr.into()).expect("bind");
        s.listen(backlog).expect("listen");
        std::net::TcpListener::from(s)
    })
    .join()
    .expect("listener thread")
}

// ---------------------------------------------------------------------------
// Networks: namespaces owned together, built in batches

/// A set of namespaces (with everything in them) owned by one test. On drop
/// it kills the processes left inside them and deletes them.
#[derive(Default)]
pub struct Net {
    namespaces: Vec<String>,
}

/// One host of a topology: a namespace, its interface on the lab segment
/// and its addresses there.
#[derive(Clone, Debug)]
pub struct Host {
    pub ns: String,
    pub iface: String,
    pub ip: Ipv4Addr,
    pub ip6: Option<Ipv6Addr>,
}

impl Host {
    /// `ip netns exec NS CMD ARGS...`.
    #[track_caller]
    pub fn run(&self, cmd: &str, args: &[&str]) -> Output {
        run_in(&self.ns, cmd, args)
    }

    /// `nettool ARGS...` inside this host, killed after
    /// [`DEFAULT_TIMEOUT`]: [`Host::nettool_cmd`] run.
    #[track_caller]
    pub fn nettool(&self, args: &[&str]) -> Output {
        self.nettool_cmd(args).run()
    }

    /// `nettool ARGS...` to run inside this host, for more settings.
    #[track_caller]
    pub fn nettool_cmd(&self, args: &[&str]) -> Nettool {
        assert_ours(&self.ns);
        nettool(args).in_netns(&self.ns).timeout(DEFAULT_TIMEOUT)
    }

    /// The MAC of this host's lab interface.
    #[track_caller]
    pub fn mac(&self) -> String {
        mac(&self.ns, &self.iface)
    }
}

/// `nettool arp ARGS...` inside `host`.
#[track_caller]
pub fn arp(host: &Host, args: &[&str]) -> Output {
    let mut all = vec!["arp"];
    all.extend_from_slice(args);
    host.nettool(&all)
}

/// The commands that build a topology: lines for one `ip -batch` in the root
/// namespace (namespaces, and links created straight into them), then lines
/// for one `ip -n NS -batch` per namespace (addresses, masters, links up).
#[derive(Default)]
struct Plan {
    root: Vec<String>,
    inside: BTreeMap<String, Vec<String>>,
    /// (hub namespace, bridge) pairs whose ports must be forwarding.
    bridges: Vec<(String, String)>,
}

impl Plan {
    fn inside(&mut self, ns: &str, line: String) {
        self.inside.entry(ns.to_string()).or_default().push(line);
    }
}

impl Net {
    /// The namespaces of this network, in order of creation.
    pub fn namespaces(&self) -> &[String] {
        &self.namespaces
    }

    /// Registers fresh names and schedules their creation with `lo` up.
    fn plan_namespaces(&mut self, plan: &mut Plan, k: usize) -> Vec<String> {
        let names: Vec<String> = (0..k).map(|_| unique_name()).collect();
        for name in &names {
            // Owned before created: a failure half-way still cleans up.
            lock_live().insert(name.clone());
            self.namespaces.push(name.clone());
            plan.root.push(format!("netns add {name}"));
            plan.inside(name, "link set lo up".into());
        }
        names
    }

    /// Creates `k` empty namespaces (loopback up).
    pub fn add_namespaces(&mut self, k: usize) -> Vec<String> {
        let mut plan = Plan::default();
        let names = self.plan_namespaces(&mut plan, k);
        apply(&plan);
        names
    }

    /// Schedules a veth pair with one end in each namespace; returns the
    /// names of the ends. `index` fixes the first end's ifindex.
    fn plan_veth(plan: &mut Plan, ns_a: &str, ns_b: &str, index: Option<u32>) -> (String, String) {
        let (a, b) = (unique_name(), unique_name());
        let index = index.map(|i| format!(" index {i}")).unwrap_or_default();
        plan.root.push(format!(
            "link add {a} netns {ns_a}{index} type veth peer name {b} netns {ns_b}"
        ));
        (a, b)
    }

    /// Adds a veth pair between two namespaces of this network, both ends
    /// up, no addresses; returns the names of the ends. Waits until it is up.
    #[allow(
        clippy::unused_self,
        reason = "a link of this network: its namespaces' removal takes it along"
    )]
    pub fn veth(&mut self, ns_a: &str, ns_b: &str) -> (String, String) {
        assert_ours(ns_a);
        assert_ours(ns_b);
        let mut plan = Plan::default();
        let (a, b) = Self::plan_veth(&mut plan, ns_a, ns_b, None);
        plan.inside(ns_a, format!("link set {a} up"));
        plan.inside(ns_b, format!("link set {b} up"));
        apply(&plan);
        (a, b)
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        if self.namespaces.is_empty() {
            return;
        }
        kill_processes_in(&self.namespaces);
        let script: String = self
            .namespaces
            .iter()
            .fold(String::new(), |mut script, ns| {
                let _ = writeln!(script, "netns del {ns}");
                script
            });
        // Errors are ignored: the namespace may never have been made.
        let _ = run_command(
            {
                let mut c = tool("ip");
                c.args(["-force", "-batch", "-"]);
                c
            },
            "ip -force -batch - (netns del ...)".into(),
            Some(script.as_bytes()),
            DEFAULT_TIMEOUT,
        );
        let mut live = lock_live();
        for ns in &self.namespaces {
            live.remove(ns);
        }
    }
}

/// SIGKILLs every process whose network namespace is one of `namespaces`
/// (a background server the test forgot), so that deleting the namespace
/// really frees it. Only processes inside the lab's namespaces are touched.
fn kill_processes_in(namespaces: &[String]) {
    let inodes: HashSet<u64> = namespaces
        .iter()
        .filter_map(|ns| std::fs::metadata(Path::new(NETNS_DIR).join(ns)).ok())
        .map(|m| m.ino())
        .collect();
    if inodes.is_empty() {
        return;
    }
    let Ok(proc_dir) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in proc_dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(link) = std::fs::read_link(entry.path().join("ns/net")) else {
            continue;
        };
        let inode = link
            .to_str()
            .and_then(|s| s.strip_prefix("net:["))
            .and_then(|s| s.strip_suffix(']'))
            .and_then(|s| s.parse::<u64>().ok());
        if inode.is_some_and(|i| inodes.contains(&i))
            && u32::try_from(pid) != Ok(std::process::id())
        {
            // SAFETY: kill(2) with a pid read from /proc; no memory involved.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

/// Runs a plan: the root batch, then every namespace's batch in parallel,
/// then waits until the links are up. Panics with `ip`'s words on failure
/// (the owning [`Net`] still cleans up).
fn apply(plan: &Plan) {
    if !plan.root.is_empty() {
        batch(None, &plan.root);
    }
    let children: Vec<(String, Child)> = plan
        .inside
        .iter()
        .map(|(ns, lines)| {
            let mut child = tool("ip")
                .args(["-n", ns, "-batch", "-"])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run ip -batch");
            let mut script = lines.join("\n");
            script.push('\n');
            child
                .stdin
                .take()
                .expect("piped stdin")
                .write_all(script.as_bytes())
                .expect("write ip batch");
            (ns.clone(), child)
        })
        .collect();
    let mut failures = Vec::new();
    for (ns, child) in children {
        let out = child.wait_with_output().expect("wait for ip -batch");
        if !out.status.success() {
            failures.push(format!(
                "ip -n {ns} -batch -: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "lab: building the topology failed:\n{}",
        failures.join("\n")
    );
    wait_ready(plan);
}

/// `ip [-n NS] -batch -` with these lines; panics on failure.
fn batch(ns: Option<&str>, lines: &[String]) {
    let mut command = tool("ip");
    if let Some(ns) = ns {
        command.args(["-n", ns]);
    }
    command.args(["-batch", "-"]);
    let mut script = lines.join("\n");
    script.push('\n');
    let out = run_command(
        command,
        "ip -batch -".into(),
        Some(script.as_bytes()),
        DEFAULT_TIMEOUT,
    );
    assert_eq!(
        out.code(),
        Some(0),
        "lab: ip batch failed:\n{out}\n--- script ---\n{script}"
    );
}

/// Waits until every link that is administratively up in the plan's
/// namespaces is operationally up and every bridge port forwards. Until
/// then (the kernel's linkwatch runs a moment after carrier-on) a veth's
/// queue is the no-op one, which drops what is sent.
fn wait_ready(plan: &Plan) {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let children: Vec<(String, Child)> = plan
            .inside
            .keys()
            .map(|ns| {
                let child = tool("ip")
                    .args(["-n", ns, "-j", "link", "show"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("run ip link show");
                (ns.clone(), child)
            })
            .collect();
        let mut waiting = Vec::new();
        for (ns, child) in children {
            let out = child.wait_with_output().expect("wait for ip link show");
            let links: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            for link in links.as_array().into_iter().flatten() {
                let up = link["flags"]
                    .as_array()
                    .is_some_and(|f| f.iter().any(|x| x == "UP"));
                let ether = link["link_type"] == "ether";
                // A bridge's own operstate lags its ports' by up to a second
                // (a non-urgent linkwatch event) and does not matter for
                // forwarding: its ports are checked below instead.
                let bridge = link["ifname"]
                    .as_str()
                    .is_some_and(|n| plan.bridges.iter().any(|(_, b)| b == n));
                if up && ether && !bridge && link["operstate"] != "UP" {
                    waiting.push(format!("{ns}/{} is {}", link["ifname"], link["operstate"]));
                }
            }
        }
        for (hub, _) in &plan.bridges {
            let out = tool("bridge")
                .args(["-n", hub, "-j", "link", "show"])
                .output()
                .expect("run bridge link show");
            let ports: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            for port in ports.as_array().into_iter().flatten() {
                if port["state"] != "forwarding" {
                    waiting.push(format!(
                        "{hub}/{} port is {}",
                        port["ifname"], port["state"]
                    ));
                }
            }
        }
        if tracing() && !waiting.is_empty() {
            eprintln!("lab: waiting for {waiting:?}");
        }
        if waiting.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "lab: links not up after {READY_TIMEOUT:?}: {}",
            waiting.join(", ")
        );
        thread::sleep(Duration::from_millis(5));
    }
}

// ---------------------------------------------------------------------------
// Topologies

/// Two hosts on one veth link; dropping it removes both namespaces.
pub struct Pair {
    pub net: Net,
    /// 198.51.100.1 (and `2001:db8::1` with `pair_v6`).
    pub a: Host,
    /// 198.51.100.2 (and `2001:db8::2` with `pair_v6`).
    pub b: Host,
}

fn build_pair(with_v6: bool) -> Pair {
    let mut net = Net::default();
    let mut plan = Plan::default();
    let ns = net.plan_namespaces(&mut plan, 2);
    // Two fresh namespaces would give both ends ifindex 2. The kernel then
    // sees a veth whose ifindex equals its peer's as a non-urgent linkwatch
    // event and reports it operationally down for up to a second (and a
    // tool reading operstate would call it down): so A's end gets 3.
    let (ia, ib) = Net::plan_veth(&mut plan, &ns[0], &ns[1], Some(3));
    let mut hosts = Vec::new();
    for (last, (ns, iface)) in (1u8..).zip([(&ns[0], ia), (&ns[1], ib)]) {
        let ip = v4(last);
        let ip6 = with_v6.then(|| v6(u16::from(last)));
        plan.inside(ns, format!("addr add {ip}/24 dev {iface}"));
        if let Some(ip6) = ip6 {
            plan.inside(ns, format!("addr add {ip6}/64 dev {iface} nodad"));
        }
        plan.inside(ns, format!("link set {iface} up"));
        hosts.push(Host {
            ns: ns.clone(),
            iface,
            ip,
            ip6,
        });
    }
    apply(&plan);
    let b = hosts.pop().expect("host b");
    let a = hosts.pop().expect("host a");
    Pair { net, a, b }
}

/// A bridge in a hub namespace, hosts on it, and a client to run tools from.
pub struct Star {
    pub net: Net,
    /// The namespace holding the bridge (no addresses).
    pub hub: String,
    /// The bridge's name inside `hub`.
    pub bridge: String,
    /// 198.51.100.1/24: where the tool under test runs.
    pub client: Host,
    /// The hosts, in the order of the addresses asked for.
    pub hosts: Vec<Host>,
}

impl Star {
    /// The MAC of every host, in order (one `ip` call per host).
    pub fn host_macs(&self) -> Vec<String> {
        self.hosts.iter().map(Host::mac).collect()
    }
}

fn build_star(addrs: &[Ipv4Addr]) -> Star {
    let mut net = Net::default();
    let mut plan = Plan::default();
    let ns = net.plan_namespaces(&mut plan, addrs.len() + 2);
    let hub = ns[0].clone();
    let bridge = unique_name();
    plan.root
        .push(format!("link add {bridge} netns {hub} type bridge"));
    plan.bridges.push((hub.clone(), bridge.clone()));
    let attach = |plan: &mut Plan, host_ns: &str, ip: Ipv4Addr| {
        let (port, iface) = Net::plan_veth(plan, &hub, host_ns, None);
        plan.inside(&hub, format!("link set {port} master {bridge}"));
        plan.inside(&hub, format!("link set {port} up"));
        plan.inside(host_ns, format!("addr add {ip}/24 dev {iface}"));
        plan.inside(host_ns, format!("link set {iface} up"));
        Host {
            ns: host_ns.to_string(),
            iface,
            ip,
            ip6: None,
        }
    };
    let client = attach(&mut plan, &ns[1], v4(1));
    let hosts: Vec<Host> = addrs
        .iter()
        .zip(&ns[2..])
        .map(|(&ip, host_ns)| attach(&mut plan, host_ns, ip))
        .collect();
    plan.inside(&hub, format!("link set {bridge} up"));
    apply(&plan);
    Star {
        net,
        hub,
        bridge,
        client,
        hosts,
    }
}

// ---------------------------------------------------------------------------
// A routed chain (for traces)

/// `n` namespaces in a row joined by veth pairs and routed both ways: a
/// client, `n - 2` routers, a destination. Link `k` (between namespace `k`
/// and `k + 1`) is `198.51.100.4k+1/30` and `2001:db8:k::1/64` on the left,
/// `.4k+2` and `2001:db8:k::2` on the right. Forwarding is on in the
/// routers; ICMP rate limiting is off everywhere ([`Lab::chain`]), so every
/// probe a router answers is answered, or left at the kernel's defaults
/// ([`Lab::chain_rate_limited`]). Dropping it removes every namespace.
pub struct Chain {
    pub net: Net,
    /// Namespace 0, where the tool under test runs: 198.51.100.1,
    /// `2001:db8:0::1`.
    pub client: Host,
    /// The routers in path order, each with its address toward the client
    /// (the one its ICMP errors come from).
    pub routers: Vec<Host>,
    /// The last namespace, with its address on the last link.
    pub dest: Host,
}

impl Chain {
    /// The IPv4 hops a trace to the destination lists: each router, then
    /// the destination.
    pub fn hops_v4(&self) -> Vec<std::net::IpAddr> {
        self.routers
            .iter()
            .chain([&self.dest])
            .map(|h| h.ip.into())
            .collect()
    }

    /// The IPv6 hops, as [`Chain::hops_v4`].
    pub fn hops_v6(&self) -> Vec<std::net::IpAddr> {
        self.routers
            .iter()
            .chain([&self.dest])
            .map(|h| h.ip6.expect("chain hosts have IPv6").into())
            .collect()
    }
}

#[allow(
    clippy::unused_self,
    reason = "a Lab is proof that namespaces work: the builders take it for that"
)]
impl Lab {
    /// A routed chain of `n` namespaces (3 to 64): see [`Chain`].
    pub fn chain(self, n: usize) -> Chain {
        assert!(
            (3..=64).contains(&n),
            "lab: chain({n}): 3 to 64 namespaces (64 /30 links fit in 198.51.100.0/24)"
        );
        build_chain(n, false)
    }

    /// [`Lab::chain`] with the kernel's own ICMP rate limits left as they
    /// are (a burst of 6 per destination, then one a second, in every
    /// router), as on real paths.
    pub fn chain_rate_limited(self, n: usize) -> Chain {
        assert!((3..=64).contains(&n), "lab: chain({n}): 3 to 64 namespaces");
        build_chain(n, true)
    }
}

fn build_chain(n: usize, rate_limited: bool) -> Chain {
    let mut net = Net::default();
    let mut plan = Plan::default();
    let ns = net.plan_namespaces(&mut plan, n);
    let link4 = |k: usize, side: usize| v4(u8::try_from(4 * k + side).expect("at most 64 links"));
    let link6 = |k: usize, side: u16| {
        let k = u16::try_from(k).expect("at most 64 links");
        Ipv6Addr::new(0x2001, 0xdb8, k, 0, 0, 0, 0, side)
    };
    // Each link's MACs, fixed so that every neighbour entry can be made
    // permanent: a Linux IPv6 router without CONFIG_IPV6_ROUTER_PREF (this
    // kernel) will not route through a gateway whose neighbour entry does
    // not exist yet (rt6_check_neigh) and drops what it should forward
    // until its probe of that gateway is answered, about a second: the
    // first trace would see silent hops that are not.
    let mac = |k: usize, side: usize| format!("02:00:00:00:{k:02x}:{side:02x}");
    // (left interface, right interface) of every namespace.
    let mut ends: Vec<(Option<String>, Option<String>)> = vec![(None, None); n];
    for k in 0..n - 1 {
        let (l, r) = (unique_name(), unique_name());
        plan.root.push(format!(
            "link add {l} netns {} address {} type veth peer name {r} netns {} address {}",
            ns[k],
            mac(k, 1),
            ns[k + 1],
            mac(k, 2)
        ));
        for (here, iface, there) in [(k, &l, 2), (k + 1, &r, 1)] {
            plan.inside(
                &ns[here],
                format!(
                    "neigh replace {} lladdr {} dev {iface} nud permanent",
                    link4(k, there),
                    mac(k, there)
                ),
            );
            plan.inside(
                &ns[here],
                format!(
                    "neigh replace {} lladdr {} dev {iface} nud permanent",
                    link6(k, u16::try_from(there).expect("1 or 2")),
                    mac(k, there)
                ),
            );
        }
        plan.inside(&ns[k], format!("addr add {}/30 dev {l}", link4(k, 1)));
        plan.inside(&ns[k], format!("addr add {}/64 dev {l} nodad", link6(k, 1)));
        plan.inside(&ns[k], format!("link set {l} up"));
        plan.inside(&ns[k + 1], format!("addr add {}/30 dev {r}", link4(k, 2)));
        plan.inside(
            &ns[k + 1],
            format!("addr add {}/64 dev {r} nodad", link6(k, 2)),
        );
        plan.inside(&ns[k + 1], format!("link set {r} up"));
        ends[k].1 = Some(l);
        ends[k + 1].0 = Some(r);
    }
    // Every link not attached to namespace i is reached through the
    // neighbour on its side.
    for (i, name) in ns.iter().enumerate() {
        for k in 0..n - 1 {
            if k + 1 < i {
                plan.inside(
                    name,
                    format!("route add {}/30 via {}", link4(k, 0), link4(i - 1, 1)),
                );
                plan.inside(
                    name,
                    format!("route add {}/64 via {}", link6(k, 0), link6(i - 1, 1)),
                );
            } else if k > i {
                plan.inside(
                    name,
                    format!("route add {}/30 via {}", link4(k, 0), link4(i, 2)),
                );
                plan.inside(
                    name,
                    format!("route add {}/64 via {}", link6(k, 0), link6(i, 2)),
                );
            }
        }
    }
    apply(&plan);
    for (i, name) in ns.iter().enumerate() {
        chain_sysctls(name, i > 0 && i + 1 < n, rate_limited);
    }
    let host = |i: usize, iface: &Option<String>, k: usize, side: usize| Host {
        ns: ns[i].clone(),
        iface: iface.clone().expect("a chain link"),
        ip: link4(k, side),
        ip6: Some(link6(k, u16::try_from(side).expect("1 or 2"))),
    };
    let client = host(0, &ends[0].1, 0, 1);
    let routers = (1..n - 1).map(|i| host(i, &ends[i].0, i - 1, 2)).collect();
    let dest = host(n - 1, &ends[n - 1].0, n - 2, 2);
    Chain {
        net,
        client,
        routers,
        dest,
    }
}

/// Forwarding on (a router) or off, and ICMP rate limiting off unless
/// `rate_limited`, in chain namespace `ns`. A write that fails fails the
/// chain, loudly: `ok` panics with the output unless the script exits 0,
/// and the values are read back.
fn chain_sysctls(ns: &str, router: bool, rate_limited: bool) {
    let forward = u8::from(router);
    let mut script = format!(
        "set -e; echo {forward} > /proc/sys/net/ipv4/ip_forward; \
         echo {forward} > /proc/sys/net/ipv6/conf/all/forwarding; \
         test \"$(cat /proc/sys/net/ipv4/ip_forward)\" = {forward}"
    );
    if !rate_limited {
        script.push_str(
            "; echo 0 > /proc/sys/net/ipv4/icmp_ratelimit; \
             echo 0 > /proc/sys/net/ipv6/icmp/ratelimit; \
             test \"$(cat /proc/sys/net/ipv4/icmp_ratelimit)\" = 0",
        );
    }
    run_in(ns, "sh", &["-c", &script]).ok();
}
