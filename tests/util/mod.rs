//! Shared harness for the integration tests: run the real `nettool` binary,
//! capture what it says, read its JSON (`nettool.sockstat/1`) into typed
//! rows, and explain failures with readable diffs.
//!
//! Each test binary uses only part of this module.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fmt;
use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Path of the binary under test.
pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_nettool"))
}

/// A `nettool` invocation being built.
pub struct Nettool {
    args: Vec<String>,
    envs: Vec<(String, String)>,
    prefix: Vec<String>,
    exe: Option<std::path::PathBuf>,
}

/// `nettool ARGS...`, with `PROC_ROOT` cleared so the caller's environment
/// never leaks into a test.
pub fn nettool<S: AsRef<str>>(args: &[S]) -> Nettool {
    Nettool {
        args: args.iter().map(|a| a.as_ref().to_string()).collect(),
        envs: Vec::new(),
        prefix: Vec::new(),
        exe: None,
    }
}

impl Nettool {
    pub fn env(mut self, k: &str, v: impl AsRef<OsStr>) -> Nettool {
        let v = v.as_ref().to_str().expect("UTF-8 environment value");
        self.envs.push((k.to_string(), v.to_string()));
        self
    }

    /// Read /proc from a fixture directory (`PROC_ROOT`).
    pub fn proc_root(self, root: &Path) -> Nettool {
        self.env("PROC_ROOT", root.as_os_str())
    }

    /// Run under a wrapper, e.g. `setpriv --reuid=65534 ... --`.
    pub fn wrapped<S: AsRef<str>>(mut self, prefix: &[S]) -> Nettool {
        self.prefix = prefix.iter().map(|a| a.as_ref().to_string()).collect();
        self
    }

    /// Run this copy of the binary instead of the one cargo built.
    pub fn exe(mut self, path: &Path) -> Nettool {
        self.exe = Some(path.to_path_buf());
        self
    }

    /// The `std::process::Command`, for tests that manage the child
    /// themselves (pipes, ptys).
    pub fn command(&self) -> Command {
        let exe = self.exe.as_deref().unwrap_or(bin());
        let mut cmd = match self.prefix.split_first() {
            None => Command::new(exe),
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(exe);
                c
            }
        };
        cmd.args(&self.args).env_remove("PROC_ROOT");
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn describe(&self) -> String {
        let mut s = String::new();
        for (k, v) in &self.envs {
            s.push_str(&format!("{k}={v} "));
        }
        for p in &self.prefix {
            s.push_str(p);
            s.push(' ');
        }
        s.push_str("nettool");
        for a in &self.args {
            s.push(' ');
            s.push_str(a);
        }
        s
    }

    /// Run to completion and capture everything.
    pub fn run(self) -> Output {
        let started = Instant::now();
        let out = self
            .command()
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.describe()));
        Output {
            cmdline: self.describe(),
            status: out.status,
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
            elapsed: started.elapsed(),
        }
    }
}

impl Nettool {
    /// [`Nettool::run`], retried while exec fails with "Text file busy": a
    /// freshly copied binary stays busy while a child that a parallel test
    /// thread is forking still holds the copy's write descriptor.
    pub fn run_retrying_text_busy(self) -> Output {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let out = Nettool {
                args: self.args.clone(),
                envs: self.envs.clone(),
                prefix: self.prefix.clone(),
                exe: self.exe.clone(),
            }
            .run();
            if !(out.code() == Some(126) && out.stderr.contains("Text file busy"))
                || Instant::now() > deadline
            {
                return out;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// What one run produced.
pub struct Output {
    pub cmdline: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

/// At most `max` bytes of `s` (on a char boundary), marked when cut, with
/// control characters but line feeds escaped so that a failure report
/// cannot garble the terminal it is read on.
fn clip(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = String::with_capacity(end);
    for c in s[..end].chars() {
        if c.is_control() && c != '\n' {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    if end < s.len() {
        out.push_str(&format!("\n... ({} more bytes)", s.len() - end));
    }
    out
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "\n$ {}\nexit: {:?} (after {:?})\n--- stdout ---\n{}\n--- stderr ---\n{}\n--------------",
            self.cmdline,
            self.status.code(),
            self.elapsed,
            clip(&self.stdout, 6000),
            clip(&self.stderr, 3000),
        )
    }
}

impl Output {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Panic (showing the whole run) unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Output {
        assert_eq!(self.code(), Some(code), "unexpected exit status{self:?}");
        self
    }

    /// Exit 0 and nothing on stderr.
    #[track_caller]
    pub fn expect_clean_success(&self) -> &Output {
        self.expect_code(0);
        assert!(self.stderr.is_empty(), "unexpected stderr{self:?}");
        self
    }

    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }

    /// The `sockets` of a `nettool.sockstat/1` document, checked field by
    /// field against the schema.
    #[track_caller]
    pub fn rows(&self) -> Vec<Row> {
        let doc: Value = serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}){self:?}"));
        assert_eq!(
            doc.get("schema").and_then(Value::as_str),
            Some("nettool.sockstat/1"),
            "wrong or missing schema{self:?}"
        );
        let sockets = doc
            .get("sockets")
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("no sockets array{self:?}"));
        // README: one socket object per line, so `grep` and line tools work.
        let lines: Vec<&str> = self.stdout.lines().collect();
        assert_eq!(
            lines.len(),
            sockets.len() + 2,
            "want the opening line, one line per socket and the closing line{self:?}"
        );
        for (line, v) in lines[1..lines.len() - 1].iter().zip(sockets) {
            let obj: Value = serde_json::from_str(line.trim_end_matches(','))
                .unwrap_or_else(|e| panic!("line {line:?} is not one socket object ({e}){self:?}"));
            assert_eq!(&obj, v, "line and array disagree{self:?}");
        }
        sockets
            .iter()
            .map(|v| {
                Row::from_json(v).unwrap_or_else(|e| panic!("bad socket object {v}: {e}{self:?}"))
            })
            .collect()
    }

    /// Plain-text output hygiene (README: "plain space-aligned text with no
    /// colour or trailing blanks, one socket a line"): no control character
    /// but the line feeds, and no line ending in a blank.
    #[track_caller]
    pub fn expect_plain_text(&self) -> &Output {
        for (i, line) in self.stdout.lines().enumerate() {
            if let Some(c) = line.chars().find(|c| c.is_control()) {
                panic!(
                    "line {} holds control character {c:?}: {line:?}{self:?}",
                    i + 1
                );
            }
            assert!(
                !line.ends_with(' '),
                "line {} ends in a blank: {line:?}{self:?}",
                i + 1
            );
        }
        self
    }

    /// The summary document of `-s --json`.
    #[track_caller]
    pub fn summary_json(&self) -> Value {
        let doc: Value = serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}){self:?}"));
        assert_eq!(
            doc.get("schema").and_then(Value::as_str),
            Some("nettool.sockstat.summary/1"),
            "wrong or missing schema{self:?}"
        );
        doc
    }

    /// The plain (piped) table: the header and then every row, each split
    /// into cells. Columns are at least two spaces apart, so a cell may hold
    /// single spaces (UNIX paths).
    #[track_caller]
    pub fn table(&self) -> Table {
        let mut lines = self.stdout.lines();
        let header = lines
            .next()
            .unwrap_or_else(|| panic!("no table header{self:?}"));
        Table {
            header: split_cells(header),
            rows: lines.map(split_cells).collect(),
        }
    }
}

fn split_cells(line: &str) -> Vec<String> {
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

/// A plain table as cells.
#[derive(Debug, Clone)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    #[track_caller]
    pub fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name:?} in {:?}", self.header))
    }

    /// The cell of `row` in column `name`.
    pub fn cell<'a>(&self, row: &'a [String], name: &str) -> &'a str {
        &row[self.col(name)]
    }

    /// Rows whose `column` cell equals `value`.
    pub fn rows_where(&self, column: &str, value: &str) -> Vec<&Vec<String>> {
        let c = self.col(column);
        self.rows
            .iter()
            .filter(|r| r.get(c).map(String::as_str) == Some(value))
            .collect()
    }
}

/// One socket endpoint as the JSON gives it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ep {
    Inet(SocketAddr),
    Path(String),
    Abstract(String),
    Unnamed,
}

impl fmt::Display for Ep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ep::Inet(sa) => write!(f, "{sa}"),
            Ep::Path(p) => f.write_str(p),
            Ep::Abstract(a) => write!(f, "@{a}"),
            Ep::Unnamed => f.write_str("*"),
        }
    }
}

impl Ep {
    pub fn inet(&self) -> Option<SocketAddr> {
        match self {
            Ep::Inet(sa) => Some(*sa),
            _ => None,
        }
    }
}

/// A process holding a socket: `{pid, fd, command}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Proc {
    pub pid: u32,
    pub fd: u32,
    pub command: String,
}

/// One object of `sockets` in `nettool.sockstat/1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub proto: String,
    pub family: String,
    pub state: String,
    /// `None` where the source cannot know (README: `null`).
    pub recv_q: Option<u64>,
    pub send_q: Option<u64>,
    pub local: Ep,
    pub remote: Ep,
    /// `None` where the source cannot know (UNIX sockets from /proc).
    pub uid: Option<u64>,
    pub inode: u64,
    pub timer: Option<String>,
    pub unix_type: Option<String>,
    pub peer_inode: Option<u64>,
    /// `None` without `-p`.
    pub processes: Option<Vec<Proc>>,
}

/// The keys every socket object carries, no more, no less.
const ROW_KEYS: [&str; 13] = [
    "proto",
    "family",
    "state",
    "recv_q",
    "send_q",
    "local",
    "remote",
    "uid",
    "inode",
    "timer",
    "unix_type",
    "peer_inode",
    "processes",
];

fn endpoint(v: &Value) -> Result<Ep, String> {
    let o = v.as_object().ok_or("endpoint is not an object")?;
    let mut keys: Vec<&str> = o.keys().map(String::as_str).collect();
    keys.sort_unstable();
    if keys != ["abstract", "address", "path", "port"] {
        return Err(format!("endpoint keys {keys:?}"));
    }
    let s = |k: &str| o[k].as_str().map(str::to_string);
    match (s("address"), o["port"].as_u64(), s("path"), s("abstract")) {
        (Some(a), Some(p), None, None) => {
            let ip: IpAddr = a.parse().map_err(|e| format!("address {a:?}: {e}"))?;
            let port = u16::try_from(p).map_err(|_| format!("port {p}"))?;
            Ok(Ep::Inet(SocketAddr::new(ip, port)))
        }
        (None, None, Some(p), None) => Ok(Ep::Path(p)),
        (None, None, None, Some(a)) => Ok(Ep::Abstract(a)),
        (None, None, None, None) => Ok(Ep::Unnamed),
        _ => Err(format!("inconsistent endpoint {v}")),
    }
}

impl Row {
    pub fn from_json(v: &Value) -> Result<Row, String> {
        let o = v.as_object().ok_or("not an object")?;
        let mut keys: Vec<&str> = o.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut want = ROW_KEYS.to_vec();
        want.sort_unstable();
        if keys != want {
            return Err(format!("keys {keys:?}, schema has {want:?}"));
        }
        let str_of = |k: &str| {
            o[k].as_str()
                .map(str::to_string)
                .ok_or(format!("{k} is not a string"))
        };
        let u64_of = |k: &str| o[k].as_u64().ok_or(format!("{k} is not a number"));
        let opt_u64 = |k: &str| -> Result<Option<u64>, String> {
            match &o[k] {
                Value::Null => Ok(None),
                n => n.as_u64().map(Some).ok_or(format!("{k} is {n}")),
            }
        };
        let opt_str = |k: &str| -> Result<Option<String>, String> {
            match &o[k] {
                Value::Null => Ok(None),
                Value::String(s) => Ok(Some(s.clone())),
                other => Err(format!("{k} is {other}")),
            }
        };
        let timer = match &o["timer"] {
            Value::Null => None,
            Value::Object(t) => {
                let mut keys: Vec<&str> = t.keys().map(String::as_str).collect();
                keys.sort_unstable();
                if keys != ["expires_ms", "kind", "retransmits"]
                    || !t["expires_ms"].is_u64()
                    || !t["retransmits"].is_u64()
                {
                    return Err(format!("timer {}", o["timer"]));
                }
                let kind = t["kind"].as_str().ok_or("timer kind is not a string")?;
                if !["on", "keepalive", "timewait", "probe"].contains(&kind) {
                    return Err(format!("timer kind {kind:?}"));
                }
                Some(kind.to_string())
            }
            other => return Err(format!("timer is {other}")),
        };
        let processes = match &o["processes"] {
            Value::Null => None,
            Value::Array(a) => Some(
                a.iter()
                    .map(|p| {
                        Some(Proc {
                            pid: u32::try_from(p.get("pid")?.as_u64()?).ok()?,
                            fd: u32::try_from(p.get("fd")?.as_u64()?).ok()?,
                            command: p.get("command")?.as_str()?.to_string(),
                        })
                    })
                    .collect::<Option<Vec<_>>>()
                    .ok_or("bad process entry")?,
            ),
            other => return Err(format!("processes is {other}")),
        };
        Ok(Row {
            proto: str_of("proto")?,
            family: str_of("family")?,
            state: str_of("state")?,
            recv_q: opt_u64("recv_q")?,
            send_q: opt_u64("send_q")?,
            local: endpoint(&o["local"])?,
            remote: endpoint(&o["remote"])?,
            uid: opt_u64("uid")?,
            inode: u64_of("inode")?,
            timer,
            unix_type: opt_str("unix_type")?,
            peer_inode: match &o["peer_inode"] {
                Value::Null => None,
                n => Some(n.as_u64().ok_or("peer_inode is not a number")?),
            },
            processes,
        })
    }

    /// `(pid, fd)` of every holder; empty without `-p`.
    pub fn owners(&self) -> Vec<(u32, u32)> {
        self.processes
            .iter()
            .flatten()
            .map(|p| (p.pid, p.fd))
            .collect()
    }

    /// The holders that are this test process. Other holders can appear for
    /// a moment: a child forked by a parallel test thread holds copies of
    /// our descriptors until it execs.
    pub fn own_holders(&self) -> Vec<&Proc> {
        let me = std::process::id();
        self.processes
            .iter()
            .flatten()
            .filter(|p| p.pid == me)
            .collect()
    }
}

impl fmt::Display for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} -> {} q={:?}/{:?} uid={:?} inode={}",
            self.proto,
            self.state,
            self.local,
            self.remote,
            self.recv_q,
            self.send_q,
            self.uid,
            self.inode
        )?;
        if let Some(p) = &self.processes {
            write!(f, " procs={p:?}")?;
        }
        Ok(())
    }
}

/// Rows as a numbered list, for failure messages.
pub fn show_rows<'a>(rows: impl IntoIterator<Item = &'a Row>) -> String {
    let mut s = String::new();
    for r in rows {
        s.push_str("  ");
        s.push_str(&r.to_string());
        s.push('\n');
    }
    if s.is_empty() {
        s.push_str("  (no rows)\n");
    }
    s
}

/// The inode of an open socket: `stat` through `/proc/self/fd/N` (the link
/// `socket:[N]` resolves to the socket's inode).
pub fn inode_of(fd: &impl AsRawFd) -> u64 {
    let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
    std::fs::metadata(&path)
        .unwrap_or_else(|e| panic!("stat {path}: {e}"))
        .ino()
}

/// The descriptor number, as the owner column reports it.
pub fn fd_num(fd: &impl AsRawFd) -> u32 {
    u32::try_from(fd.as_raw_fd()).expect("fd is non-negative")
}

/// This process's command name (`/proc/self/comm`), as `-p` shows it.
pub fn own_comm() -> String {
    std::fs::read_to_string("/proc/self/comm")
        .expect("read /proc/self/comm")
        .trim_end_matches('\n')
        .to_string()
}

/// Poll `cond` every 10 ms until it holds or `timeout` passes; true if it
/// held.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The usual bound for a kernel state transition on loopback.
pub const TRANSITION: Duration = Duration::from_secs(2);

/// Panic with "only in A / only in B" when two sets differ.
#[track_caller]
pub fn assert_same_set<T: Ord + fmt::Debug>(
    what: &str,
    left_name: &str,
    left: &BTreeSet<T>,
    right_name: &str,
    right: &BTreeSet<T>,
) {
    if left == right {
        return;
    }
    let mut msg = format!("{what}: {left_name} and {right_name} differ\n");
    for x in left.difference(right) {
        msg.push_str(&format!("  only in {left_name}: {x:?}\n"));
    }
    for x in right.difference(left) {
        msg.push_str(&format!("  only in {right_name}: {x:?}\n"));
    }
    for x in left.intersection(right) {
        msg.push_str(&format!("  in both: {x:?}\n"));
    }
    panic!("{msg}");
}

/// A line diff of `expected` against `actual` (`-` expected only, `+`
/// actual only), from their longest common subsequence of lines.
pub fn diff_lines(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let (n, m) = (a.len(), b.len());
    // lcs[i][j]: LCS length of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = String::new();
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push_str(&format!("  {}\n", a[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push_str(&format!("+ {}\n", b[j]));
            j += 1;
        } else {
            out.push_str(&format!("- {}\n", a[i]));
            i += 1;
        }
    }
    out
}

/// Assert two texts are equal, showing a line diff when not.
#[track_caller]
pub fn assert_text_eq(what: &str, expected: &str, actual: &str) {
    if expected != actual {
        panic!(
            "{what} differs (- expected, + actual):\n{}",
            diff_lines(expected, actual)
        );
    }
}

/// Under CI a test that cannot run fails; elsewhere it is skipped with one
/// loud line. Returns normally only outside CI.
#[track_caller]
pub fn skip_or_fail(test: &str, why: &str) {
    if in_ci() {
        panic!("{test}: cannot run under CI: {why}");
    }
    eprintln!("SKIPPED {test}: {why} (this would fail under CI=true)");
}

/// Read a child's whole output into a string (for tests that hold the
/// child themselves).
pub fn read_all(mut r: impl Read) -> String {
    let mut s = String::new();
    r.read_to_string(&mut s).expect("read child output");
    s
}

/// CPUs online (nettool neither polls nor naps with one).
pub fn online_cpus() -> u32 {
    let out = Command::new("getconf")
        .arg("_NPROCESSORS_ONLN")
        .output()
        .expect("getconf");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a CPU count")
}

/// Under CI (the `CI` variable set to anything non-empty) a test that
/// cannot run fails instead of skipping.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Send `signal` (as `kill` takes it: `-INT`, `-TERM`) to `child`.
pub fn signal(child: &std::process::Child, signal: &str) {
    let pid = child.id().to_string();
    let sent = Command::new("kill")
        .args([signal, pid.as_str()])
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill {signal} {pid} failed");
}

/// Wait for `child` to exit, for at most `limit`: past it, kill it, reap
/// it and panic, naming `what` it should have ended after.
pub fn wait_bounded(child: &mut std::process::Child, limit: Duration, what: &str) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().expect("wait for nettool") {
            return s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("nettool still running {limit:?} after {what}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
