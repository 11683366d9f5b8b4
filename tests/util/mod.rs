//! The harness every integration test uses to run the real `nettool`
//! binary (ripgrep's `tests/util.rs` is the model): [`nettool`] builds a
//! run (arguments, environment, working directory, stdin, a wrapper such
//! as `setpriv`, a lab namespace, a time limit), [`Nettool::run`] captures
//! what it did as an [`Output`] whose `Debug`/`Display` show the whole run
//! for failure messages, and [`assert_text_eq`] explains text mismatches
//! with a line diff. It also reads the sockstat JSON (`nettool.sockstat/1`)
//! into typed rows, and says how a test that cannot run ends:
//! [`skip_or_fail`] prints one `SKIP <test>: <why>` line that `cargo test`
//! shows, and fails the test instead under CI ([`in_ci`]); both come from
//! the library, which its unit tests share.
//!
//! Each test binary uses only part of this module.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::fmt::{self, Write as _};
use std::io::{Read, Seek, Write};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

#[allow(unused_imports)] // each test binary uses only part of the harness
pub use nettool::{in_ci, skip_or_fail};

// ---------------------------------------------------------------------------
// Running the binary

/// Path of the binary under test.
pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_nettool"))
}

/// How long a run may take unless the test says otherwise
/// ([`Nettool::timeout`]); past it the run is killed and its [`Output`]
/// says `timed_out`.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// A `nettool` invocation being built; [`Nettool::run`] runs it.
#[derive(Clone, Debug)]
pub struct Nettool {
    args: Vec<OsString>,
    envs: Vec<(String, OsString)>,
    prefix: Vec<OsString>,
    netns: Option<String>,
    exe: Option<PathBuf>,
    cwd: Option<PathBuf>,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
    binary_stdout: bool,
}

/// `nettool ARGS...`, with `PROC_ROOT` cleared so the caller's environment
/// never leaks into a test.
pub fn nettool<S: AsRef<OsStr>>(args: &[S]) -> Nettool {
    Nettool {
        args: args.iter().map(|a| a.as_ref().to_os_string()).collect(),
        envs: Vec::new(),
        prefix: Vec::new(),
        netns: None,
        exe: None,
        cwd: None,
        stdin: None,
        timeout: RUN_TIMEOUT,
        binary_stdout: false,
    }
}

impl Nettool {
    pub fn env(mut self, k: &str, v: impl AsRef<OsStr>) -> Nettool {
        self.envs.push((k.to_string(), v.as_ref().to_os_string()));
        self
    }

    /// Read /proc from a fixture directory (`PROC_ROOT`).
    pub fn proc_root(self, root: &Path) -> Nettool {
        self.env("PROC_ROOT", root.as_os_str())
    }

    /// Run under a wrapper, e.g. `setpriv --reuid=65534 ... --`.
    pub fn wrapped<S: AsRef<OsStr>>(mut self, prefix: &[S]) -> Nettool {
        self.prefix = prefix.iter().map(|a| a.as_ref().to_os_string()).collect();
        self
    }

    /// Run inside the lab namespace `ns` (`ip netns exec NS ...`, outside
    /// any wrapper). The lab's safety rule (shared/LAB.md) is checked here:
    /// only a namespace this test process made (`nt-<pid>-<n>`) is entered.
    #[track_caller]
    pub fn in_netns(mut self, ns: &str) -> Nettool {
        let ours = format!("nt-{}-", std::process::id());
        assert!(
            ns.strip_prefix(&ours)
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
            "lab safety: namespace {ns:?} was not made by this test process ({ours}<n>)"
        );
        self.netns = Some(ns.to_string());
        self
    }

    /// Run this copy of the binary instead of the one cargo built.
    pub fn exe(mut self, path: &Path) -> Nettool {
        self.exe = Some(path.to_path_buf());
        self
    }

    /// Run in `dir` (default: the test's own working directory).
    pub fn current_dir(mut self, dir: &Path) -> Nettool {
        self.cwd = Some(dir.to_path_buf());
        self
    }

    /// Feed `bytes` on stdin (default: empty stdin).
    pub fn stdin(mut self, bytes: &[u8]) -> Nettool {
        self.stdin = Some(bytes.to_vec());
        self
    }

    /// Kill the run after `limit` (default [`RUN_TIMEOUT`]).
    pub fn timeout(mut self, limit: Duration) -> Nettool {
        self.timeout = limit;
        self
    }

    /// stdout carries file bytes (`tftp get ... -`): do not require UTF-8
    /// there; read [`Output::stdout_bytes`].
    pub fn binary_stdout(mut self) -> Nettool {
        self.binary_stdout = true;
        self
    }

    /// Every word of the command line: namespace, wrapper, binary, args.
    fn words(&self) -> Vec<OsString> {
        let mut words = Vec::new();
        if let Some(ns) = &self.netns {
            words.push(which("ip").map_or_else(|| "ip".into(), PathBuf::into_os_string));
            words.extend(["netns".into(), "exec".into(), ns.into()]);
        }
        words.extend(self.prefix.iter().cloned());
        words.push(
            self.exe
                .as_deref()
                .unwrap_or(bin())
                .as_os_str()
                .to_os_string(),
        );
        words.extend(self.args.iter().cloned());
        words
    }

    /// The `std::process::Command`, for tests that manage the child
    /// themselves (signals, pipes, ptys).
    pub fn command(&self) -> Command {
        let words = self.words();
        let mut cmd = Command::new(&words[0]);
        cmd.args(&words[1..]).env_remove("PROC_ROOT");
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        cmd
    }

    /// The command line as a shell would take it, for messages.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        for (k, v) in &self.envs {
            s.push_str(&shell_words(&[format!("{k}={}", v.to_string_lossy())]));
            s.push(' ');
        }
        let mut words: Vec<String> = self
            .words()
            .iter()
            .map(|w| w.to_string_lossy().into_owned())
            .collect();
        let exe_at = words.len() - self.args.len() - 1;
        if self.exe.is_none() {
            words[exe_at] = "nettool".into();
        }
        if self.netns.is_some() {
            words[0] = "ip".into();
        }
        s.push_str(&shell_words(&words));
        s
    }

    /// Run to completion (or [`Nettool::timeout`]) and capture everything.
    /// stdout (unless [`Nettool::binary_stdout`]) and stderr must be UTF-8.
    #[track_caller]
    pub fn run(self) -> Output {
        let out = run_command(
            self.command(),
            self.describe(),
            self.stdin.as_deref(),
            self.timeout,
        );
        if !self.binary_stdout {
            assert!(
                std::str::from_utf8(&out.stdout_bytes).is_ok(),
                "stdout is not UTF-8{out:?}"
            );
        }
        assert!(out.stderr_utf8, "stderr is not UTF-8{out:?}");
        out
    }

    /// [`Nettool::run`], retried while exec fails with "Text file busy": a
    /// freshly copied binary stays busy while a child that a parallel test
    /// thread is forking still holds the copy's write descriptor.
    #[track_caller]
    pub fn run_retrying_text_busy(self) -> Output {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let out = self.clone().run();
            if !(out.code() == Some(126) && out.stderr.contains("Text file busy"))
                || Instant::now() > deadline
            {
                return out;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Start it in the background (stdin empty, output to files); the
    /// [`Bg`] kills it on drop.
    #[track_caller]
    pub fn spawn(self) -> Bg {
        Bg::start(self.command(), self.describe())
    }
}

/// The full path of `program` found on `PATH` (plus the sbin directories,
/// which a non-root `PATH` may lack).
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Words joined as a shell would read them back (quoted where needed).
pub fn shell_words<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| {
            let w = w.as_ref();
            if !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./:=+,@%".contains(&b))
            {
                w.to_string()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `command` to completion with `stdin` (or none), killing it after
/// `timeout`. Output goes to anonymous files, so a chatty child never blocks
/// on a full pipe. Any program: the lab runs `ip`, `nft`, `arping` with it.
#[track_caller]
pub fn run_command(
    mut command: Command,
    cmdline: String,
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Output {
    let mut stdout = tempfile::tempfile().expect("temp file for stdout");
    let mut stderr = tempfile::tempfile().expect("temp file for stderr");
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(stdout.try_clone().expect("dup stdout file"))
        .stderr(stderr.try_clone().expect("dup stderr file"));
    let start = Instant::now();
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `{cmdline}`: {e}"));
    // From a thread: a child that reads slowly (or not at all) must not
    // stop the clock below.
    let feeder = stdin.map(|bytes| {
        let mut pipe = child.stdin.take().expect("piped stdin");
        let bytes = bytes.to_vec();
        // A child that exits without reading is not our error: its status says.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        })
    });
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            break status;
        }
        if start.elapsed() > timeout {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("wait for killed child");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let elapsed = start.elapsed();
    if let Some(f) = feeder {
        let _ = f.join();
    }
    let out = Output::read_back(
        cmdline,
        status,
        [&mut stdout, &mut stderr],
        elapsed,
        timed_out,
    );
    if tracing() {
        eprintln!("trace:{out}");
    }
    out
}

/// `NETTOOL_LAB_TRACE=1`: print every command the harness runs, with its
/// output (and, in the lab, what the readiness wait is waiting for).
pub fn tracing() -> bool {
    std::env::var_os("NETTOOL_LAB_TRACE").is_some()
}

/// A process running in the background with its output going to files;
/// killed (and reaped) on drop.
pub struct Bg {
    child: Option<Child>,
    cmdline: String,
    stdout: std::fs::File,
    stderr: std::fs::File,
    start: Instant,
}

impl Bg {
    /// Starts `command` (stdin empty, output to files).
    #[track_caller]
    pub fn start(mut command: Command, cmdline: String) -> Bg {
        let stdout = tempfile::tempfile().expect("temp file for stdout");
        let stderr = tempfile::tempfile().expect("temp file for stderr");
        command
            .stdin(Stdio::null())
            .stdout(stdout.try_clone().expect("dup stdout file"))
            .stderr(stderr.try_clone().expect("dup stderr file"));
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{cmdline}`: {e}"));
        Bg {
            child: Some(child),
            cmdline,
            stdout,
            stderr,
            start: Instant::now(),
        }
    }

    /// Its pid (`ip netns exec` execs the command in place, so inside a
    /// namespace this is still the command's).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running child").id()
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        let child = self.child.as_mut().expect("running child");
        matches!(child.try_wait(), Ok(None))
    }

    /// Kills it (if still running) and returns what it did; `timed_out`
    /// says it had to be killed.
    pub fn stop(mut self) -> Output {
        let mut child = self.child.take().expect("running child");
        let timed_out = matches!(child.try_wait(), Ok(None));
        let _ = child.kill();
        let status = child.wait().expect("wait for background child");
        Output::read_back(
            std::mem::take(&mut self.cmdline),
            status,
            [&mut self.stdout, &mut self.stderr],
            self.start.elapsed(),
            timed_out,
        )
    }
}

impl Drop for Bg {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What one run produced.
pub struct Output {
    /// The command line, for messages.
    pub cmdline: String,
    pub status: ExitStatus,
    /// stdout, with any invalid UTF-8 replaced ([`Nettool::run`] checks it
    /// is valid unless [`Nettool::binary_stdout`]).
    pub stdout: String,
    /// stdout exactly as written.
    pub stdout_bytes: Vec<u8>,
    pub stderr: String,
    stderr_utf8: bool,
    /// From spawn to exit.
    pub elapsed: Duration,
    /// Killed by the harness after its time limit.
    pub timed_out: bool,
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
        let _ = write!(out, "\n... ({} more bytes)", s.len() - end);
    }
    out
}

/// The whole run: command line, exit, time, stdout and stderr.
impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "$ {}", self.cmdline)?;
        match self.status.code() {
            Some(c) => write!(f, "exit {c}")?,
            None => write!(f, "killed by a signal ({})", self.status)?,
        }
        if self.timed_out {
            write!(f, " (timed out)")?;
        }
        writeln!(f, " after {:.3} s", self.elapsed.as_secs_f64())?;
        writeln!(
            f,
            "--- stdout ({} bytes) ---\n{}",
            self.stdout_bytes.len(),
            clip(self.stdout.trim_end(), 6000)
        )?;
        write!(
            f,
            "--- stderr ---\n{}\n--------------",
            clip(self.stderr.trim_end(), 3000)
        )
    }
}

/// As `Display`, on a line of its own: `assert!(..., "what{out:?}")`.
impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\n{self}")
    }
}

impl Output {
    /// What a finished child did, its stdout and stderr read back from the
    /// files it wrote them to.
    fn read_back(
        cmdline: String,
        status: ExitStatus,
        files: [&mut std::fs::File; 2],
        elapsed: Duration,
        timed_out: bool,
    ) -> Output {
        let [stdout_bytes, stderr_bytes] = files.map(|file| {
            let mut bytes = Vec::new();
            file.rewind().expect("rewind output file");
            file.read_to_end(&mut bytes).expect("read output file");
            bytes
        });
        Output {
            cmdline,
            status,
            stdout: String::from_utf8_lossy(&stdout_bytes).into_owned(),
            stdout_bytes,
            stderr: String::from_utf8_lossy(&stderr_bytes).into_owned(),
            stderr_utf8: std::str::from_utf8(&stderr_bytes).is_ok(),
            elapsed,
            timed_out,
        }
    }

    /// The exit code; `None` if a signal ended it.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Panic (showing the whole run) unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Output {
        assert_eq!(self.code(), Some(code), "unexpected exit status{self:?}");
        self
    }

    /// Exit 0.
    #[track_caller]
    pub fn ok(&self) -> &Output {
        self.expect_code(0)
    }

    /// Exit 0 and nothing on stderr.
    #[track_caller]
    pub fn expect_clean_success(&self) -> &Output {
        self.expect_code(0);
        assert!(self.stderr.is_empty(), "unexpected stderr{self:?}");
        self
    }

    /// Exit `code` and one line on stderr that names the cause: it holds
    /// every one of `needles`, in any case.
    #[track_caller]
    pub fn expect_error_line(&self, code: i32, needles: &[&str]) -> &Output {
        self.expect_code(code);
        assert_eq!(self.stderr.lines().count(), 1, "one line on stderr{self:?}");
        let line = self.stderr.to_lowercase();
        for n in needles {
            assert!(
                line.contains(&n.to_lowercase()),
                "stderr lacks {n:?}{self:?}"
            );
        }
        self
    }

    /// A usage error: exit 2, exactly one line on stderr that mentions
    /// `mentions`, nothing on stdout.
    #[track_caller]
    pub fn expect_usage_error(&self, mentions: &str) -> &Output {
        assert_eq!(self.code(), Some(2), "usage error: exit 2{self:?}");
        let lines = self.stderr_nonblank_lines();
        assert_eq!(lines.len(), 1, "exactly one line on stderr{self:?}");
        assert!(
            lines[0].contains(mentions),
            "the line should mention {mentions:?}{self:?}"
        );
        assert!(self.stdout.is_empty(), "nothing on stdout{self:?}");
        self
    }

    /// Every line of stderr.
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }

    /// The lines of stderr that are not blank.
    pub fn stderr_nonblank_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect()
    }

    /// stdout parsed as one JSON value.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout_bytes)
            .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}){self:?}"))
    }

    /// The `sockets` of a `nettool.sockstat/1` document, checked field by
    /// field against the schema.
    #[track_caller]
    pub fn rows(&self) -> Vec<Row> {
        let doc = self.document("nettool.sockstat/1");
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
        self.document("nettool.sockstat.summary/1")
    }

    /// stdout as one JSON document whose `schema` is `schema`.
    #[track_caller]
    fn document(&self, schema: &str) -> Value {
        let doc: Value = serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}){self:?}"));
        assert_eq!(
            doc.get("schema").and_then(Value::as_str),
            Some(schema),
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
    let obj = v.as_object().ok_or("endpoint is not an object")?;
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    if keys != ["abstract", "address", "path", "port"] {
        return Err(format!("endpoint keys {keys:?}"));
    }
    let text = |k: &str| obj[k].as_str().map(str::to_string);
    match (
        text("address"),
        obj["port"].as_u64(),
        text("path"),
        text("abstract"),
    ) {
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
        let _ = writeln!(msg, "  only in {left_name}: {x:?}");
    }
    for x in right.difference(left) {
        let _ = writeln!(msg, "  only in {right_name}: {x:?}");
    }
    for x in left.intersection(right) {
        let _ = writeln!(msg, "  in both: {x:?}");
    }
    panic!("{msg}");
}

/// A line diff of `expected` against `actual` (`-` expected only, `+`
/// actual only), from their longest common subsequence of lines.
#[allow(
    clippy::many_single_char_names,
    reason = "the textbook names of the LCS table"
)]
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
            let _ = writeln!(out, "  {}", a[i]);
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            let _ = writeln!(out, "+ {}", b[j]);
            j += 1;
        } else {
            let _ = writeln!(out, "- {}", a[i]);
            i += 1;
        }
    }
    out
}

/// Assert two texts are equal, showing a line diff when not.
#[track_caller]
pub fn assert_text_eq(what: &str, expected: &str, actual: &str) {
    assert!(
        expected == actual,
        "{what} differs (- expected, + actual):\n{}",
        diff_lines(expected, actual)
    );
}

/// Runs `check` on every case of a table in turn, each on its own thread
/// named `<test>::<case>` (`name` gives a case's few words), so that the
/// panic of a failing case names it; after
/// all have run, fails naming every case that failed. Cases run one after
/// another, as separate tests would on this 2-core machine at most two at a
/// time: a lab case that times a network event is not slowed by the others.
#[track_caller]
pub fn run_cases<C: Sync>(cases: &[C], name: fn(&C) -> &str, check: impl Fn(&C) + Sync) {
    let test = std::thread::current()
        .name()
        .unwrap_or("<unnamed test>")
        .to_string();
    let check = &check;
    let mut failed = Vec::new();
    std::thread::scope(|scope| {
        for case in cases {
            let outcome = std::thread::Builder::new()
                .name(format!("{test}::{}", name(case)))
                .spawn_scoped(scope, move || check(case))
                .expect("spawn a thread for a case")
                .join();
            if outcome.is_err() {
                failed.push(name(case));
            }
        }
    });
    assert!(
        failed.is_empty(),
        "{} of {} cases failed (each one's panic is above): {}",
        failed.len(),
        cases.len(),
        failed.join(", ")
    );
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

/// One row of `ss -tuanH` as (netid, local, peer, state) in nettool's
/// terms. The mapping:
/// - netid `tcp`/`udp` stays; nettool's `tcp6`/`udp6` are folded to it,
///   since ss names the protocol only.
/// - states: `ESTAB` -> ESTABLISHED, `TIME-WAIT` -> `TIME_WAIT`,
///   `FIN-WAIT-1` -> `FIN_WAIT1`, `FIN-WAIT-2` -> `FIN_WAIT2`, `CLOSE-WAIT` ->
///   `CLOSE_WAIT`, `SYN-SENT` -> `SYN_SENT`, `SYN-RECV` -> `SYN_RECV`, `LAST-ACK`
///   -> `LAST_ACK`; `LISTEN`, `CLOSING` and (for UDP) `UNCONN` are the same;
///   a TCP `UNCONN` is nettool's CLOSE.
/// - addresses: `[v6]` loses its brackets; `[::ffff:127.0.0.1]` is the
///   IPv4 127.0.0.1, as nettool shows it; an address `*` is the IPv6 any
///   address of a dual-stack socket (nettool: `::`); `%iface` is dropped;
///   a port `*` is 0.
pub fn ss_row(line: &str) -> Option<(String, SocketAddr, SocketAddr, String)> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let [netid, state, _rq, _sq, local, peer, ..] = f.as_slice() else {
        return None;
    };
    let addr = |s: &str| -> Option<SocketAddr> {
        let (host, port) = s.rsplit_once(':')?;
        let port = if port == "*" { 0 } else { port.parse().ok()? };
        let host = host.split('%').next()?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let ip: IpAddr = if host == "*" {
            IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
        } else {
            host.parse().ok()?
        };
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 @ IpAddr::V4(_) => v4,
        };
        Some(SocketAddr::new(ip, port))
    };
    let state = match (*netid, *state) {
        ("tcp", "UNCONN") => "CLOSE".to_string(),
        (_, "ESTAB") => "ESTABLISHED".to_string(),
        (_, s) => s.replace("WAIT-", "WAIT").replace('-', "_"),
    };
    Some((netid.to_string(), addr(local)?, addr(peer)?, state))
}

/// Panic unless `out` exited with `code`, saying what was checked (`guards`).
#[track_caller]
pub fn assert_exit(out: &Output, code: i32, guards: &str) {
    assert_eq!(
        out.code(),
        Some(code),
        "{guards}: expected exit {code}\n{out}"
    );
}

/// `VmHWM` (peak resident memory) of `pid` in KiB, if it is still there.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
