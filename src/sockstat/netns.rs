//! `-N/--netns` and `--all-netns`: which network namespaces to list, what
//! to call each, and running the per-namespace work inside each one.
//!
//! [`scan`] starts a worker thread per CPU (at most [`MAX_WORKERS`]), each
//! with its share of the namespaces. For each namespace a worker
//! `Worker::within`s it: `setns(CLONE_NEWNET)` (which moves that thread
//! only), the caller's closure (the `sock_diag` dump: a netlink socket
//! belongs to the namespace of the thread that opens it; /proc tables from
//! [`net_dir`], the thread's own), then `setns` back to the original. The
//! rest of the process never moves, and nettool never re-executes itself.
//! The closure does not know about namespaces: it is the same code that
//! lists the caller's own namespace. Warnings it gives are sent to the
//! calling thread, which reports them as they come, each naming its
//! namespace; the results are put back in scan order.
//!
//! The namespaces of `--all-netns`: the named ones under /run/netns (as
//! `ip netns` makes them) and every `/proc/PID/ns/net`, deduplicated by
//! the namespace's inode; each is labelled by its name, else the lowest pid
//! in it, its command and the container its cgroup names
//! ([`super::container`]). One that vanishes mid-scan is skipped with a
//! note; the ones we may not enter are counted in one note at the end.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::marker::PhantomData;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use serde::Serialize;

use super::Error;
use super::container::{self, Container};
use super::error::os_text;
use crate::sys::netns::{NsFile, NsKind, THREAD_NET_NS};

/// Where `ip netns add NAME` puts the namespace file `NAME`.
pub const NAMED_DIR: &str = "/run/netns";

/// The initial network namespace's inode on kernels that give it a fixed
/// one (`PROC_NET_INIT_INO`, 0xEFFFFFF9; before, it was allocated like any
/// other, from 0xF0000000 up, so no other namespace can have it).
pub const INIT_NET_INODE: u64 = 0xEFFF_FFF9;

/// The most `/proc/PID/ns/net` paths kept per namespace: if the lowest pid
/// exits before the worker gets there, the next one serves.
const PATHS_PER_NAMESPACE: usize = 8;

/// The proc directory whose `net/` shows the calling thread's network
/// namespace: `/proc/thread-self` on the live /proc (`/proc/net` and
/// `/proc/self/net` show the main thread's, which a worker inside another
/// namespace is not in), else `proc_root` itself (a fixture tree).
pub fn net_root(proc_root: &Path) -> PathBuf {
    if proc_root == Path::new("/proc") {
        proc_root.join("thread-self")
    } else {
        proc_root.to_path_buf()
    }
}

/// The calling thread's `net/` directory (`/proc/thread-self/net`):
/// `sockstat`, `snmp`, `netstat`, the socket tables, of the namespace the
/// thread is in.
pub fn net_dir(proc_root: &Path) -> PathBuf {
    net_root(proc_root).join("net")
}

/// The namespace `-N` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A file under /run/netns.
    Name(String),
    /// A namespace file (`/proc/PID/ns/net`, a bind mount of one).
    Path(PathBuf),
    /// The namespace of this process.
    Pid(u32),
}

impl Target {
    /// `-N`'s argument: digits are a PID, anything with a `/` a path, the
    /// rest a name under /run/netns.
    ///
    /// # Errors
    /// One line naming the forms, for an empty argument, PID 0 or one out
    /// of range, and `.`/`..`.
    pub fn parse(s: &str) -> Result<Target, String> {
        const FORMS: &str = "give a name under /run/netns (ip netns list), a path to a namespace file (/proc/PID/ns/net) or a PID";
        if s.is_empty() || s == "." || s == ".." {
            return Err(format!("-N '{s}': {FORMS}"));
        }
        if s.bytes().all(|b| b.is_ascii_digit()) {
            return match s.parse::<u32>() {
                Ok(pid) if pid > 0 => Ok(Target::Pid(pid)),
                _ => Err(format!("-N {s}: not a process id: {FORMS}")),
            };
        }
        if s.contains('/') {
            return Ok(Target::Path(PathBuf::from(s)));
        }
        Ok(Target::Name(s.to_string()))
    }
}

/// Which network namespaces a listing covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// nettool's own (no flag).
    Own,
    /// `-N`.
    One(Target),
    /// `--all-netns`.
    All,
}

/// One network namespace and what it is called. Its `Serialize` is the
/// `netns` object of the JSON rows and summaries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Netns {
    /// What `readlink /proc/PID/ns/net` shows as `net:[INODE]`.
    pub inode: u64,
    /// Its name under /run/netns, when it has one.
    pub name: Option<String>,
    /// The host's: the kernel's initial namespace (known by its fixed
    /// inode on recent kernels) or PID 1's (the host's, unless nettool
    /// runs in a PID namespace of its own). `false` when neither can be
    /// told (PID 1's link unreadable on an older kernel).
    pub host: bool,
    /// The lowest pid of a process in it, when one is known.
    pub pid: Option<u32>,
    /// That process's command.
    pub command: Option<String>,
    /// The container that process's cgroup names.
    pub container: Option<Container>,
}

impl Netns {
    /// The table's `Netns` cell: `host`; else the name; else
    /// `PID/command` and the container (`docker:<12 hex>`, `pod:<uid>`);
    /// else `net:[INODE]`.
    pub fn label(&self) -> String {
        if self.host {
            return "host".into();
        }
        if let Some(name) = &self.name {
            return name.clone();
        }
        let Some(pid) = self.pid else {
            return format!("net:[{}]", self.inode);
        };
        let mut s = format!("{pid}/{}", self.command.as_deref().unwrap_or("?"));
        if let Some(c) = &self.container {
            s.push(' ');
            s.push_str(&c.label());
        }
        s
    }

    /// The `netns` label of a metric series: `host`; else the name under
    /// /run/netns; else the container's label (`docker:<12 hex>`,
    /// `pod:<uid>`, as [`Container::label`]); else `net:[INODE]`. Never a
    /// pid or a command, as [`Netns::label`] has: the lowest pid of a
    /// namespace changes from run to run, and a series whose labels change
    /// is a new series. Two namespaces may share one (two namespaces of
    /// one container): [`metric_labels`] makes them unique.
    pub fn metric_label(&self) -> String {
        if self.host {
            return "host".into();
        }
        if let Some(name) = &self.name {
            return name.clone();
        }
        match self.container.as_ref().map(Container::label) {
            Some(label) if !label.is_empty() => label,
            _ => format!("net:[{}]", self.inode),
        }
    }

    fn new(
        inode: u64,
        name: Option<String>,
        host: bool,
        pid: Option<u32>,
        proc_root: &Path,
    ) -> Netns {
        let command = pid.and_then(|p| super::owner::command(proc_root, p));
        let container = pid
            .and_then(|p| fs::read_to_string(proc_root.join(format!("{p}/cgroup"))).ok())
            .and_then(|text| container::from_cgroup_file(&text));
        Netns {
            inode,
            name,
            host,
            pid,
            command,
            container,
        }
    }
}

/// The [`Netns::metric_label`] of each of `spaces`, in order, made unique:
/// a label that namespaces of different inodes share gets ` net:[INODE]`
/// on each of them (on all of them, so that which one keeps the bare label
/// does not depend on the order of the scan). The same namespace listed
/// twice keeps one label.
pub fn metric_labels<'a>(spaces: impl IntoIterator<Item = &'a Netns>) -> Vec<String> {
    let spaces: Vec<&Netns> = spaces.into_iter().collect();
    let mut labels: Vec<String> = spaces.iter().map(|n| n.metric_label()).collect();
    // A suffixed label could meet a namespace named exactly like it (a
    // name may hold anything): then both are suffixed again. A label once
    // suffixed ends in its own inode, so it can only meet one never
    // suffixed: each round suffixes one more of those, so this ends.
    loop {
        let mut inodes: BTreeMap<&str, std::collections::BTreeSet<u64>> = BTreeMap::new();
        for (label, ns) in labels.iter().zip(&spaces) {
            inodes.entry(label).or_default().insert(ns.inode);
        }
        let shared: Vec<usize> = labels
            .iter()
            .enumerate()
            .filter(|(_, l)| inodes[l.as_str()].len() > 1)
            .map(|(i, _)| i)
            .collect();
        if shared.is_empty() {
            return labels;
        }
        for i in shared {
            let _ = write!(labels[i], " net:[{}]", spaces[i].inode);
        }
    }
}

/// A namespace to visit: who it is, and how to open it.
#[derive(Debug)]
pub struct Candidate {
    pub netns: Netns,
    source: Source,
}

#[derive(Debug)]
enum Source {
    /// Opened and checked already (`-N`).
    Open(NsFile),
    /// Paths to try in turn; the first that still is this namespace wins.
    Paths(Vec<PathBuf>),
}

/// The namespace `-N` names, opened and checked to be a network namespace.
///
/// # Errors
/// [`Error::NetnsUnknown`], [`Error::NetnsNoProcess`], [`Error::NotANetns`],
/// [`Error::NetnsDenied`], or [`Error::Netns`] for any other failure.
pub fn resolve(target: &Target, proc_root: &Path) -> Result<Candidate, Error> {
    let path = match target {
        Target::Name(n) => Path::new(NAMED_DIR).join(n),
        Target::Pid(p) => proc_root.join(format!("{p}/ns/net")),
        Target::Path(p) => p.clone(),
    };
    let shown = || path.display().to_string();
    let file = match NsFile::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(match target {
                Target::Name(name) => Error::NetnsUnknown {
                    name: name.clone(),
                    known: named(None).into_iter().map(|(n, _)| n).collect(),
                },
                Target::Pid(pid) => Error::NetnsNoProcess { pid: *pid },
                Target::Path(p) => Error::NotANetns {
                    path: p.clone(),
                    what: "no such file".into(),
                },
            });
        }
        Err(source) => return Err(enter_error(shown(), "open", source)),
    };
    match file.kind() {
        Ok(NsKind::Net) => {}
        Ok(NsKind::Other(kind)) => {
            return Err(Error::NotANetns {
                path,
                what: format!("a {kind} namespace"),
            });
        }
        Err(_) => {
            let what = match fs::metadata(&path).map(|m| m.file_type()) {
                Ok(t) if t.is_dir() => "a directory",
                Ok(t) if t.is_file() => "a regular file",
                Ok(t) if t.is_fifo() => "a FIFO",
                Ok(t) if t.is_char_device() || t.is_block_device() => "a device",
                Ok(t) if t.is_socket() => "a socket",
                _ => "another kind of file",
            };
            return Err(Error::NotANetns {
                path,
                what: what.into(),
            });
        }
    }
    let inode = file.inode();
    let name = match target {
        Target::Name(n) => Some(n.clone()),
        _ => named(None)
            .into_iter()
            .find_map(|(n, i)| (i == inode).then_some(n)),
    };
    let pid = match target {
        Target::Pid(p) => Some(*p),
        Target::Path(p) => pid_of_ns_path(p),
        Target::Name(_) => None,
    };
    let host = inode == INIT_NET_INODE || ns_inode(&proc_root.join("1/ns/net")).ok() == Some(inode);
    Ok(Candidate {
        netns: Netns::new(inode, name, host, pid, proc_root),
        source: Source::Open(file),
    })
}

/// `/proc/123/ns/net` -> 123.
fn pid_of_ns_path(p: &Path) -> Option<u32> {
    let s = p
        .to_str()?
        .strip_prefix("/proc/")?
        .strip_suffix("/ns/net")?;
    s.parse().ok()
}

/// Every network namespace to visit for `--all-netns`.
#[derive(Debug, Default)]
pub struct Discovery {
    pub candidates: Vec<Candidate>,
    /// Processes whose namespace link could not be read (another user's,
    /// and we are not root).
    pub unreadable: usize,
}

/// Find every network namespace: our own, the named ones, every process's.
///
/// # Errors
/// When our own namespace or `proc_root` cannot be read.
pub fn discover(proc_root: &Path) -> Result<Discovery, Error> {
    let io_err = |op: &'static str| {
        move |source| Error::Netns {
            netns: "(own)".into(),
            op,
            source,
        }
    };
    let own_path = proc_root.join("thread-self/ns/net");
    let own = fs::metadata(&own_path).map_err(io_err("stat /proc/thread-self/ns/net"))?;
    let mut unreadable = 0;
    let mut pids: BTreeMap<u64, Vec<u32>> = BTreeMap::new();
    for entry in fs::read_dir(proc_root).map_err(io_err("list /proc"))? {
        let Some(pid) = entry
            .ok()
            .and_then(|e| e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()))
        else {
            continue;
        };
        match ns_inode(&proc_root.join(format!("{pid}/ns/net"))) {
            Ok(inode) => pids.entry(inode).or_default().push(pid),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => unreadable += 1,
            // Gone meanwhile, or a zombie (no namespaces any more).
            Err(_) => {}
        }
    }
    for list in pids.values_mut() {
        list.sort_unstable();
    }
    let host = pids
        .iter()
        .find_map(|(inode, list)| (list.first() == Some(&1)).then_some(*inode))
        .or_else(|| {
            [own.ino()]
                .into_iter()
                .chain(pids.keys().copied())
                .find(|&i| i == INIT_NET_INODE)
        });
    let names = named(Some(own.dev()));
    let arranged = arrange(own.ino(), host, &names, &pids);
    let candidates = arranged
        .into_iter()
        .map(|(inode, name)| {
            let list = pids.get(&inode).map_or(&[][..], Vec::as_slice);
            let mut paths: Vec<PathBuf> =
                name.iter().map(|n| Path::new(NAMED_DIR).join(n)).collect();
            paths.extend(
                list.iter()
                    .take(PATHS_PER_NAMESPACE)
                    .map(|p| proc_root.join(format!("{p}/ns/net"))),
            );
            Candidate {
                netns: Netns::new(
                    inode,
                    name,
                    Some(inode) == host,
                    list.first().copied(),
                    proc_root,
                ),
                source: Source::Paths(paths),
            }
        })
        .collect();
    Ok(Discovery {
        candidates,
        unreadable,
    })
}

/// The order of the scan and each namespace's name: the host's first, then
/// the named ones by name, then the rest by their lowest pid (our own is
/// always among them). A namespace with several names keeps the first.
fn arrange(
    own: u64,
    host: Option<u64>,
    names: &[(String, u64)],
    pids: &BTreeMap<u64, Vec<u32>>,
) -> Vec<(u64, Option<String>)> {
    let mut out: Vec<(u64, Option<String>)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let name_of = |inode: u64| {
        names
            .iter()
            .find_map(|(n, i)| (*i == inode).then(|| n.clone()))
    };
    if let Some(h) = host {
        seen.insert(h);
        out.push((h, name_of(h)));
    }
    for (name, inode) in names {
        if seen.insert(*inode) {
            out.push((*inode, Some(name.clone())));
        }
    }
    let mut rest: Vec<(u32, u64)> = pids
        .iter()
        .filter(|(inode, _)| !seen.contains(*inode))
        .filter_map(|(inode, list)| Some((*list.first()?, *inode)))
        .collect();
    rest.sort_unstable();
    for (_, inode) in rest {
        seen.insert(inode);
        out.push((inode, None));
    }
    if seen.insert(own) {
        out.push((own, None));
    }
    out
}

/// The files under /run/netns, sorted, with their namespace inodes; with
/// `nsfs_dev`, only those that are namespace files (a leftover of a failed
/// `ip netns add` is a plain file on tmpfs).
fn named(nsfs_dev: Option<u64>) -> Vec<(String, u64)> {
    let Ok(dir) = fs::read_dir(NAMED_DIR) else {
        return Vec::new();
    };
    let mut out: Vec<(String, u64)> = dir
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let m = fs::metadata(e.path()).ok()?;
            nsfs_dev
                .is_none_or(|dev| m.dev() == dev)
                .then_some((name, m.ino()))
        })
        .collect();
    out.sort();
    out
}

/// `net:[N]` of a `/proc/PID/ns/net` link.
fn ns_inode(link: &Path) -> io::Result<u64> {
    let target = fs::read_link(link)?;
    target
        .to_str()
        .and_then(|s| s.strip_prefix("net:["))
        .and_then(|s| s.strip_suffix(']'))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not net:[INODE]"))
}

fn enter_error(netns: String, op: &'static str, source: io::Error) -> Error {
    if is_denied(&source) {
        Error::NetnsDenied { netns, op, source }
    } else {
        Error::Netns { netns, op, source }
    }
}

/// Why a namespace was not visited.
#[derive(Debug)]
enum Enter {
    /// Every path to it is gone, or names another namespace now.
    Vanished,
    /// Opening or entering it failed (`EPERM`/`EACCES` without root).
    Failed { op: String, source: io::Error },
    /// Coming back to the original namespace failed: the worker stops.
    Back(io::Error),
}

/// The one thread that enters namespaces; it cannot leave its thread.
struct Worker {
    /// The namespace the worker started in (the process's), to come back to.
    original: NsFile,
    _not_send: PhantomData<*const ()>,
}

impl Worker {
    fn new() -> io::Result<Worker> {
        Ok(Worker {
            original: NsFile::open(Path::new(THREAD_NET_NS))?,
            _not_send: PhantomData,
        })
    }

    /// Run `f` on this thread inside `c`'s namespace, then come back. Our
    /// own namespace needs no move (and no privilege).
    fn within<T>(&mut self, c: &Candidate, f: impl FnOnce() -> T) -> Result<T, Enter> {
        if c.netns.inode == self.original.inode() {
            return Ok(f());
        }
        let opened;
        let ns = match &c.source {
            Source::Open(file) => file,
            Source::Paths(paths) => {
                opened = open_first(paths, c.netns.inode)?;
                &opened
            }
        };
        ns.enter().map_err(|source| Enter::Failed {
            op: "setns".into(),
            source,
        })?;
        let out = f();
        self.original.enter().map_err(Enter::Back)?;
        Ok(out)
    }
}

/// The first of `paths` that still opens to namespace `inode`.
fn open_first(paths: &[PathBuf], inode: u64) -> Result<NsFile, Enter> {
    let mut failed = None;
    for p in paths {
        match NsFile::open(p) {
            Ok(f) if f.inode() == inode => return Ok(f),
            // A pid reused by a process elsewhere, a name now elsewhere.
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                failed.get_or_insert(Enter::Failed {
                    op: format!("open {}", p.display()),
                    source,
                });
            }
        }
    }
    Err(failed.unwrap_or(Enter::Vanished))
}

/// What [`scan`] runs inside each namespace: it reports warnings through
/// its argument and returns what it found.
pub type Work<'a, G> = dyn Fn(&mut dyn FnMut(String)) -> Result<G, Error> + Sync + 'a;

/// Run `work` inside every namespace `scope` names (not [`Scope::Own`]:
/// the caller runs that itself), on worker threads that each enter their
/// share of the namespaces one after another, and return each namespace
/// with its result, in scan order. Warnings (from `work`, and the notes on
/// vanished and forbidden namespaces) go to `warn` on the calling thread
/// as they come.
///
/// Most of a namespace's cost is the kernel walking its host-wide TCP hash
/// for the dump, whatever the namespace holds, so the namespaces are
/// spread over as many workers as there are CPUs (at most
/// [`MAX_WORKERS`]).
///
/// # Errors
/// For `-N`, any namespace that cannot be entered; for both, an error of
/// `work` (the first in scan order), or a worker that could not come back
/// to its namespace.
#[allow(
    clippy::missing_panics_doc,
    reason = "a panic of `work` on a worker is passed on, as if it ran here"
)]
pub fn scan<G: Send>(
    scope: &Scope,
    proc_root: &Path,
    work: &Work<'_, G>,
    warn: &mut dyn FnMut(String),
) -> Result<Vec<(Netns, G)>, Error> {
    let (candidates, unreadable, one) = match scope {
        Scope::Own | Scope::All => {
            let d = discover(proc_root)?;
            (d.candidates, d.unreadable, false)
        }
        Scope::One(t) => (vec![resolve(t, proc_root)?], 0, true),
    };
    visit_all(candidates, unreadable, one, work, warn)
}

/// [`scan`] of `--all-netns` over namespaces found already: those a later
/// [`discover`] found that the caller had not visited (`sockstat --watch`
/// picks up namespaces made while it runs). `unreadable` is counted in the
/// note on what could not be entered, as [`Discovery::unreadable`].
///
/// # Errors
/// As [`scan`] for `--all-netns`.
pub fn scan_candidates<G: Send>(
    candidates: Vec<Candidate>,
    unreadable: usize,
    work: &Work<'_, G>,
    warn: &mut dyn FnMut(String),
) -> Result<Vec<(Netns, G)>, Error> {
    visit_all(candidates, unreadable, false, work, warn)
}

fn visit_all<G: Send>(
    candidates: Vec<Candidate>,
    unreadable: usize,
    one: bool,
    work: &Work<'_, G>,
    warn: &mut dyn FnMut(String),
) -> Result<Vec<(Netns, G)>, Error> {
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, MAX_WORKERS)
        .min(candidates.len().max(1));
    // Worker i takes candidates i, i + workers, ...: each gets a fair share
    // whatever order discovery found them in.
    let mut shares: Vec<Vec<(usize, Candidate)>> = (0..workers).map(|_| Vec::new()).collect();
    for (i, c) in candidates.into_iter().enumerate() {
        shares[i % workers].push((i, c));
    }
    let (tx, rx) = mpsc::channel::<String>();
    let results: Vec<Result<Visited<G>, Error>> = std::thread::scope(|s| {
        let handles: Vec<_> = shares
            .into_iter()
            .map(|share| {
                let tx = tx.clone();
                s.spawn(move || visit(share, work, one, &tx))
            })
            .collect();
        drop(tx);
        for line in rx {
            warn(line);
        }
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut found = Vec::new();
    let mut denied_count = 0usize;
    let mut denied: Option<(usize, String, io::Error)> = None;
    let mut first_error: Option<(usize, Error)> = None;
    for r in results {
        match r {
            Ok(v) => {
                found.extend(v.found);
                denied_count += v.denied_count;
                if let Some(d) = v.denied {
                    if denied.as_ref().is_none_or(|(at, ..)| d.0 < *at) {
                        denied = Some(d);
                    }
                }
                if let Some(e) = v.error {
                    if first_error.as_ref().is_none_or(|(at, _)| e.0 < *at) {
                        first_error = Some(e);
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
    if let Some((_, e)) = first_error {
        return Err(e);
    }
    found.sort_unstable_by_key(|(i, ..)| *i);
    let root = crate::sys::caps::is_root();
    let first = denied.map(|(_, op, e)| (op, e));
    if let Some(line) = forbidden_note(denied_count, first.as_ref(), unreadable, root) {
        warn(line);
    }
    Ok(found.into_iter().map(|(_, ns, g)| (ns, g)).collect())
}

/// The most threads [`scan`] enters namespaces on.
pub const MAX_WORKERS: usize = 4;

/// What one worker did with its share: results by scan index, the
/// namespaces it was refused, and the error that stopped it.
struct Visited<G> {
    found: Vec<(usize, Netns, G)>,
    denied_count: usize,
    denied: Option<(usize, String, io::Error)>,
    error: Option<(usize, Error)>,
}

/// One worker: enter each namespace of `share` in turn, run `work` there,
/// come back. Stops at the first error (which it returns with its index).
fn visit<G>(
    share: Vec<(usize, Candidate)>,
    work: &Work<'_, G>,
    one: bool,
    tx: &mpsc::Sender<String>,
) -> Result<Visited<G>, Error> {
    let send = |m: String| {
        // The receiver lives until every worker has ended.
        let _ = tx.send(m);
    };
    let mut w = Worker::new().map_err(|source| Error::Netns {
        netns: "(own)".into(),
        op: "open /proc/thread-self/ns/net",
        source,
    })?;
    let mut v = Visited {
        found: Vec::with_capacity(share.len()),
        denied_count: 0,
        denied: None,
        error: None,
    };
    for (i, c) in share {
        // Several namespaces' notes interleave: each says whose it is.
        let label = c.netns.label();
        let mut tagged = |m: String| send(format!("{m} (network namespace {label})"));
        let error = match w.within(&c, || work(&mut tagged)) {
            Ok(Ok(r)) => {
                v.found.push((i, c.netns, r));
                continue;
            }
            Ok(Err(e)) => e,
            Err(Enter::Vanished) if !one => {
                send(format!(
                    "note: network namespace {} (inode {}) vanished during the scan; skipped",
                    c.netns.label(),
                    c.netns.inode
                ));
                continue;
            }
            Err(Enter::Failed { op, source }) if !one && is_denied(&source) => {
                v.denied_count += 1;
                if v.denied.is_none() {
                    v.denied = Some((i, op, source));
                }
                continue;
            }
            Err(Enter::Failed { op, source }) => failed(&c.netns, &op, source),
            Err(Enter::Vanished) => Error::Netns {
                netns: c.netns.label(),
                op: "open",
                source: io::Error::from(io::ErrorKind::NotFound),
            },
            Err(Enter::Back(source)) => Error::Netns {
                netns: c.netns.label(),
                op: "setns back to our own namespace",
                source,
            },
        };
        v.error = Some((i, error));
        break;
    }
    Ok(v)
}

fn is_denied(e: &io::Error) -> bool {
    e.raw_os_error() == Some(crate::sys::errno::EPERM)
        || e.kind() == io::ErrorKind::PermissionDenied
}

fn failed(netns: &Netns, op: &str, source: io::Error) -> Error {
    let what = if netns.name.is_some() || netns.pid.is_some() {
        format!("'{}'", netns.label())
    } else {
        format!("net:[{}]", netns.inode)
    };
    let op = if op == "setns" { "setns" } else { "open" };
    enter_error(what, op, source)
}

/// The one line that says how many namespaces could not be entered, and
/// how many processes' namespaces could not even be read.
fn forbidden_note(
    denied: usize,
    first: Option<&(String, io::Error)>,
    unreadable: usize,
    root: bool,
) -> Option<String> {
    // Root is refused only by another PID or user namespace's processes,
    // or a security module: "run as root" would not help then.
    let hint = if root {
        "refused even to root: another user namespace, or a security module"
    } else {
        "run as root"
    };
    let plural = |n: usize, one: &'static str, many: &'static str| if n == 1 { one } else { many };
    match (denied, first) {
        (0, _) | (_, None) if unreadable == 0 => None,
        (0, _) | (_, None) => Some(format!(
            "note: the network namespace of {unreadable} {} could not be read ({})",
            plural(unreadable, "process", "processes"),
            if root {
                hint
            } else {
                "not ours; run as root to list them all"
            }
        )),
        (n, Some((op, e))) => {
            let mut s = format!(
                "note: {n} network {} could not be entered ({op}: {}; {hint})",
                plural(n, "namespace", "namespaces"),
                os_text(e)
            );
            if unreadable > 0 {
                let _ = write!(
                    s,
                    "; the network namespace of {unreadable} more {} could not be read",
                    plural(unreadable, "process", "processes")
                );
            }
            Some(s)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_from_the_argument() {
        assert_eq!(Target::parse("blue"), Ok(Target::Name("blue".into())));
        assert_eq!(Target::parse("4242"), Ok(Target::Pid(4242)));
        assert_eq!(
            Target::parse("/proc/1/ns/net"),
            Ok(Target::Path("/proc/1/ns/net".into()))
        );
        assert_eq!(Target::parse("./ns"), Ok(Target::Path("./ns".into())));
        for bad in ["", ".", "..", "0", "99999999999"] {
            let e = Target::parse(bad).unwrap_err();
            assert!(
                e.contains("ip netns list") && e.contains("PID"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn net_dir_is_the_threads_on_the_live_proc() {
        assert_eq!(
            net_dir(Path::new("/proc")),
            Path::new("/proc/thread-self/net")
        );
        assert_eq!(
            net_dir(Path::new("/tmp/fixture")),
            Path::new("/tmp/fixture/net")
        );
    }

    #[test]
    fn scan_order_host_then_names_then_pids_and_own_always() {
        let pids: BTreeMap<u64, Vec<u32>> = [
            (10, vec![1, 50]),
            (20, vec![300]),
            (30, vec![200, 201]),
            (40, vec![900]),
        ]
        .into();
        let names = vec![
            ("blue".to_string(), 40),
            ("green".to_string(), 50),
            ("alias".to_string(), 40),
        ];
        let got = arrange(60, Some(10), &names, &pids);
        assert_eq!(
            got,
            [
                (10, None),
                (40, Some("blue".into())),
                (50, Some("green".into())),
                (30, None),
                (20, None),
                (60, None),
            ]
        );
        // Without PID 1's namespace (not ours to read), our own still comes.
        let got = arrange(20, None, &[], &pids);
        assert_eq!(got.iter().filter(|(i, _)| *i == 20).count(), 1);
        assert_eq!(got[0], (10, None), "lowest pid first");
    }

    fn ns(host: bool, name: Option<&str>, pid: Option<u32>, container: Option<Container>) -> Netns {
        Netns {
            inode: 4_026_532_000,
            name: name.map(str::to_string),
            host,
            pid,
            command: pid.map(|_| "pause".to_string()),
            container,
        }
    }

    #[test]
    fn labels() {
        assert_eq!(ns(true, Some("x"), Some(1), None).label(), "host");
        assert_eq!(ns(false, Some("blue"), Some(7), None).label(), "blue");
        assert_eq!(ns(false, None, Some(7), None).label(), "7/pause");
        assert_eq!(ns(false, None, None, None).label(), "net:[4026532000]");
        let c = container::from_path(&format!("/docker/{}", "ab".repeat(32)));
        assert_eq!(
            ns(false, None, Some(7), c).label(),
            "7/pause docker:abababababab"
        );
    }

    #[test]
    fn metric_labels_have_no_pid_nor_command() {
        assert_eq!(ns(true, Some("x"), Some(1), None).metric_label(), "host");
        assert_eq!(
            ns(false, Some("blue"), Some(7), None).metric_label(),
            "blue"
        );
        // The table's `7/pause`: the pid changes between runs.
        assert_eq!(
            ns(false, None, Some(7), None).metric_label(),
            "net:[4026532000]"
        );
        assert_eq!(
            ns(false, None, None, None).metric_label(),
            "net:[4026532000]"
        );
        let docker = container::from_path(&format!("/docker/{}", "ab".repeat(32)));
        assert_eq!(
            ns(false, None, Some(7), docker.clone()).metric_label(),
            "docker:abababababab"
        );
        // The same namespace whichever process is its lowest pid now.
        let mut later = ns(false, None, Some(9000), docker);
        later.command = Some("nginx".into());
        assert_eq!(later.metric_label(), "docker:abababababab");
        let pod = container::from_path(&format!(
            "/kubepods/besteffort/pod{}",
            "0123abcd-0000-1111-2222-333344445555"
        ));
        assert_eq!(
            ns(false, None, Some(7), pod).metric_label(),
            "pod:0123abcd-0000-1111-2222-333344445555"
        );
    }

    #[test]
    fn metric_labels_shared_by_two_namespaces_are_told_apart() {
        let docker = container::from_path(&format!("/docker/{}", "ab".repeat(32)));
        let with = |inode, name: Option<&str>, c: Option<Container>| Netns {
            inode,
            ..ns(false, name, Some(7), c)
        };
        // Two namespaces of one container (one made inside it by
        // `unshare -n`), the same namespace twice, and one named like a
        // suffixed label.
        let spaces = [
            with(11, None, docker.clone()),
            ns(true, None, Some(1), None),
            with(12, None, docker.clone()),
            with(13, Some("red"), None),
            with(11, None, docker.clone()),
            with(14, Some("docker:abababababab net:[12]"), None),
        ];
        let got = metric_labels(&spaces);
        assert_eq!(
            got,
            [
                "docker:abababababab net:[11]",
                "host",
                "docker:abababababab net:[12] net:[12]",
                "red",
                "docker:abababababab net:[11]",
                "docker:abababababab net:[12] net:[14]",
            ]
        );
        // Whatever the order of the scan, each namespace gets the same.
        let mut reversed: Vec<Netns> = spaces.to_vec();
        reversed.reverse();
        let mut back = metric_labels(&reversed);
        back.reverse();
        assert_eq!(back, got);
        // Distinct namespaces, distinct labels.
        let distinct: std::collections::BTreeSet<(u64, &String)> =
            spaces.iter().map(|n| n.inode).zip(&got).collect();
        let labels: std::collections::BTreeSet<&String> = got.iter().collect();
        assert_eq!(distinct.len(), labels.len());
        // Alone, a container's namespace keeps the bare label.
        assert_eq!(metric_labels(&spaces[..2]), ["docker:abababababab", "host"]);
    }

    #[test]
    fn one_note_for_what_could_not_be_entered() {
        let e = io::Error::from_raw_os_error(1);
        let first = ("setns".to_string(), e);
        assert_eq!(
            forbidden_note(12, Some(&first), 0, false).unwrap(),
            "note: 12 network namespaces could not be entered (setns: Operation not permitted; run as root)"
        );
        let line = forbidden_note(1, Some(&first), 3, false).unwrap();
        assert!(
            line.starts_with("note: 1 network namespace could not be entered"),
            "{line}"
        );
        assert!(
            line.ends_with("of 3 more processes could not be read"),
            "{line}"
        );
        assert!(
            forbidden_note(0, None, 2, false)
                .unwrap()
                .contains("2 processes could not be read (not ours; run as root")
        );
        assert!(
            forbidden_note(0, None, 1, true)
                .unwrap()
                .ends_with("1 process could not be read (refused even to root: another user namespace, or a security module)")
        );
        assert_eq!(forbidden_note(0, None, 0, false), None);
    }

    #[test]
    fn a_namespace_whose_paths_are_gone_or_elsewhere_has_vanished() {
        let own = NsFile::open(Path::new(THREAD_NET_NS)).unwrap().inode();
        let gone = PathBuf::from("/proc/self/nonexistent/ns/net");
        let here = PathBuf::from(THREAD_NET_NS);
        assert!(matches!(
            open_first(std::slice::from_ref(&gone), own),
            Err(Enter::Vanished)
        ));
        assert!(
            matches!(
                open_first(std::slice::from_ref(&here), own + 1),
                Err(Enter::Vanished)
            ),
            "a pid reused by a process in another namespace"
        );
        let f = open_first(&[gone, here], own).unwrap();
        assert_eq!(f.inode(), own, "the next path serves");
    }

    #[test]
    fn own_namespace_is_run_in_place_without_setns() {
        let mut w = Worker::new().unwrap();
        let own = w.original.inode();
        let c = Candidate {
            netns: Netns {
                inode: own,
                name: None,
                host: false,
                pid: None,
                command: None,
                container: None,
            },
            // No path at all: nothing is opened for our own namespace.
            source: Source::Paths(Vec::new()),
        };
        assert_eq!(w.within(&c, || 7).unwrap(), 7);
    }
}
