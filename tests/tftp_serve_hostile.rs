//! The real `nettool tftp serve` against scripted, hostile clients.
//!
//! Each test starts the server binary on 127.0.0.1:0 with `--json` over a
//! directory of its own (readable by `nobody`, whom the server becomes as
//! root) and plays clients by hand from std UDP sockets: malformed
//! requests, names that leave the directory, links, special files,
//! uploads that are too big, clients that stop answering, answer from the
//! future, twice, or from the wrong port, floods, a file that shrinks and
//! a disk that fills while it is served. Each checks the ERROR the client
//! gets (from a new port, as RFC 1350 says), the JSON record of the
//! transfer, that the directory is left as it was (no stray temporary
//! file), and that the server still serves a plain download afterwards.
//!
//! Valid packets come from the crate's codec; the broken ones are built
//! here by hand.

mod util;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use nettool::wire::tftp::{ErrorCode, Packet, ack};
use serde_json::Value;

/// How long a test waits for an answer that must come.
const PATIENCE: Duration = Duration::from_secs(5);
/// How long a test listens for an answer that must not come.
const QUIET: Duration = Duration::from_millis(300);

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

// ---------------------------------------------------------------------------
// The server

/// What the server printed: one JSON value per stdout line, and stderr.
#[derive(Default)]
struct Log {
    lines: Mutex<Vec<Value>>,
    more: Condvar,
    stderr: Mutex<String>,
}

/// `nettool tftp serve DIR --json --listen 127.0.0.1:0 ...`, killed on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
    log: Arc<Log>,
    args: String,
}

impl Server {
    #[track_caller]
    fn start(dir: &Path, extra: &[&str]) -> Server {
        let mut args: Vec<&str> = vec!["tftp", "serve"];
        args.push(dir.to_str().expect("UTF-8 temp path"));
        args.extend(["--json", "--listen", "127.0.0.1:0"]);
        args.extend(extra);
        let run = util::nettool(&args);
        let mut child = run
            .command()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{}`: {e}", run.describe()));
        let log = Arc::new(Log::default());
        let out = child.stdout.take().expect("piped stdout");
        let l = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let v = serde_json::from_str(&line).unwrap_or(Value::String(line));
                l.lines.lock().unwrap().push(v);
                l.more.notify_all();
            }
        });
        let mut err = child.stderr.take().expect("piped stderr");
        let l = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                l.stderr
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut srv = Server {
            child,
            addr: SocketAddr::new(LOCALHOST, 0),
            log,
            args: run.describe(),
        };
        let listening = srv.wait_for("the `listening` line", Duration::from_secs(10), |v| {
            v["event"] == "listening"
        });
        srv.addr = listening["address"]
            .as_str()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {listening}"));
        assert_eq!(srv.addr.ip(), LOCALHOST, "{listening}");
        srv
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn lines(&self) -> Vec<Value> {
        self.log.lines.lock().unwrap().clone()
    }

    /// Everything the server said, for failure messages.
    fn story(&self) -> String {
        let mut s = format!("\n--- `{}` printed:\n", self.args);
        for l in self.lines() {
            s.push_str(&l.to_string());
            s.push('\n');
        }
        s.push_str("--- stderr:\n");
        s.push_str(&self.log.stderr.lock().unwrap());
        s
    }

    /// The first line that `want` takes, waiting up to `limit` for it.
    #[track_caller]
    fn wait_for(&mut self, what: &str, limit: Duration, want: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + limit;
        let mut lines = self.log.lines.lock().unwrap();
        loop {
            if let Some(v) = lines.iter().find(|v| want(v)) {
                return v.clone();
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            lines = self
                .log
                .more
                .wait_timeout(lines, (deadline - now).min(Duration::from_millis(100)))
                .unwrap()
                .0;
            if let Ok(Some(status)) = self.child.try_wait() {
                drop(lines);
                std::thread::sleep(Duration::from_millis(50));
                panic!("the server exited ({status}) before {what}{}", self.story());
            }
        }
        drop(lines);
        panic!("no {what} within {limit:?}{}", self.story());
    }

    /// The record of the transfer (or refusal) of `client`.
    #[track_caller]
    fn record(&mut self, client: SocketAddr) -> Value {
        let c = client.to_string();
        self.wait_for(&format!("record for {c}"), PATIENCE, |v| {
            v["event"] == "transfer" && v["client"] == c.as_str()
        })
    }

    /// Records of `client`, as printed so far.
    fn records_of(&self, client: SocketAddr) -> Vec<Value> {
        let c = client.to_string();
        self.lines()
            .into_iter()
            .filter(|v| v["event"] == "transfer" && v["client"] == c.as_str())
            .collect()
    }

    /// A plain download of `name` from a fresh socket: the server still
    /// serves, and says so.
    #[track_caller]
    fn assert_serves(&mut self, name: &str, content: &[u8]) {
        let mut c = Client::new(self);
        let got = fetch(&mut c, name, Some(1468))
            .unwrap_or_else(|e| panic!("a plain get of {name} failed: {e}{}", self.story()));
        assert!(
            got.data == content,
            "{name} arrived different{}",
            self.story()
        );
        let rec = self.record(c.addr());
        assert_eq!(rec["outcome"], "ok", "{rec}{}", self.story());
        assert_eq!(rec["bytes"], content.len(), "{rec}");
    }

    /// The server's resident memory, from /proc.
    fn rss_kib(&self) -> u64 {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no VmRSS in\n{status}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// The served directory

/// A temporary directory the server (as `nobody`) may read, and with
/// `writable` write, holding `a.bin`; it sits alone in a directory of its
/// own, so a name that climbed out of it would show there.
struct Tree {
    root: tempfile::TempDir,
    served: PathBuf,
    a: Vec<u8>,
}

/// Bytes that differ from block to block and file to file.
fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[3]
        })
        .collect()
}

/// `a.bin`: more than a few blocks, not a whole number of them.
const A_LEN: usize = 5000;

impl Tree {
    fn new(writable: bool) -> Tree {
        let root = tempfile::tempdir().unwrap();
        fs::set_permissions(root.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let served = root.path().join("served");
        fs::create_dir(&served).unwrap();
        let mode = if writable { 0o777 } else { 0o755 };
        fs::set_permissions(&served, fs::Permissions::from_mode(mode)).unwrap();
        let t = Tree {
            root,
            served,
            a: content(A_LEN, 1),
        };
        t.file("a.bin", &t.a);
        t
    }

    fn path(&self) -> &Path {
        &self.served
    }

    /// The directory the served one sits in, alone.
    fn parent(&self) -> &Path {
        self.root.path()
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path().join(name);
        fs::write(&p, bytes).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        p
    }
}

/// What a directory holds, recursively: file contents, link targets,
/// kinds.
#[derive(Debug, PartialEq, Eq)]
enum Entry {
    File(Vec<u8>),
    Dir(BTreeMap<String, Entry>),
    Link(PathBuf),
    Fifo,
    Other,
}

fn listing(dir: &Path) -> BTreeMap<String, Entry> {
    let mut out = BTreeMap::new();
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        let t = fs::symlink_metadata(&p).unwrap().file_type();
        let entry = if t.is_symlink() {
            Entry::Link(fs::read_link(&p).unwrap())
        } else if t.is_dir() {
            Entry::Dir(listing(&p))
        } else if t.is_file() {
            Entry::File(fs::read(&p).unwrap())
        } else if t.is_fifo() {
            Entry::Fifo
        } else {
            Entry::Other
        };
        out.insert(e.file_name().to_string_lossy().into_owned(), entry);
    }
    out
}

fn names(l: &BTreeMap<String, Entry>) -> Vec<String> {
    let mut v = Vec::new();
    for (k, e) in l {
        v.push(k.clone());
        if let Entry::Dir(sub) = e {
            v.extend(names(sub).into_iter().map(|n| format!("{k}/{n}")));
        }
    }
    v
}

/// `dir` holds what `before` listed: no new file, no leftover temporary
/// file, nothing changed. The server prints a transfer's record just
/// before it drops the transfer (and its temporary file), so a moment
/// is allowed for that.
#[track_caller]
fn assert_unchanged(dir: &Path, before: &BTreeMap<String, Entry>) {
    let deadline = Instant::now() + Duration::from_secs(1);
    let mut after = listing(dir);
    while after != *before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
        after = listing(dir);
    }
    let temps: Vec<_> = names(&after)
        .into_iter()
        .filter(|n| {
            n.rsplit('/')
                .next()
                .unwrap_or(n)
                .starts_with(".nettool-tftp-")
        })
        .collect();
    assert!(temps.is_empty(), "temporary files left: {temps:?}");
    assert!(
        after == *before,
        "{} changed: had {:?}, now {:?}",
        dir.display(),
        names(before),
        names(&after)
    );
}

// ---------------------------------------------------------------------------
// Clients

/// A packet received, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pkt {
    Data(u16, Vec<u8>),
    Ack(u16),
    Error(u16, String),
    Oack(Vec<(String, String)>),
    Other(Vec<u8>),
}

fn pkt(bytes: &[u8]) -> Pkt {
    match Packet::parse(bytes) {
        Ok(Packet::Data { block, data }) => Pkt::Data(block, data.to_vec()),
        Ok(Packet::Ack { block }) => Pkt::Ack(block),
        Ok(Packet::Error { code, message }) => Pkt::Error(code.to_u16(), message.to_string()),
        Ok(Packet::Oack { options }) => Pkt::Oack(
            options
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), (*v).to_string()))
                .collect(),
        ),
        _ => Pkt::Other(bytes.to_vec()),
    }
}

fn rrq(name: &str, options: &[(&str, &str)]) -> Vec<u8> {
    Packet::Rrq {
        filename: name,
        mode: "octet",
        options: options.to_vec(),
    }
    .to_vec()
}

fn wrq(name: &str, options: &[(&str, &str)]) -> Vec<u8> {
    Packet::Wrq {
        filename: name,
        mode: "octet",
        options: options.to_vec(),
    }
    .to_vec()
}

fn data(block: u16, payload: &[u8]) -> Vec<u8> {
    Packet::Data {
        block,
        data: payload,
    }
    .to_vec()
}

fn error(code: u16, text: &str) -> Vec<u8> {
    Packet::Error {
        code: ErrorCode::from_u16(code),
        message: text,
    }
    .to_vec()
}

/// One client socket; the server's transfer ID is taken from the first
/// packet that comes back.
struct Client {
    sock: UdpSocket,
    server: SocketAddr,
    tid: Option<SocketAddr>,
    buf: Vec<u8>,
}

impl Client {
    fn new(srv: &Server) -> Client {
        Client::at(LOCALHOST, srv.addr)
    }

    fn at(ip: IpAddr, server: SocketAddr) -> Client {
        let sock = UdpSocket::bind(SocketAddr::new(ip, 0)).unwrap();
        Client {
            sock,
            server,
            tid: None,
            buf: vec![0; 70_000],
        }
    }

    fn addr(&self) -> SocketAddr {
        self.sock.local_addr().unwrap()
    }

    fn to_server(&self, bytes: &[u8]) {
        self.sock.send_to(bytes, self.server).unwrap();
    }

    /// To the transfer's port.
    fn send(&self, bytes: &[u8]) {
        let tid = self.tid.expect("no transfer ID yet");
        self.sock.send_to(bytes, tid).unwrap();
    }

    /// The next packet within `limit`, and where from; the first one
    /// fixes the transfer ID.
    fn recv(&mut self, limit: Duration) -> Option<(SocketAddr, Pkt)> {
        self.sock
            .set_read_timeout(Some(limit.max(Duration::from_millis(1))))
            .unwrap();
        match self.sock.recv_from(&mut self.buf) {
            Ok((n, from)) => {
                self.tid.get_or_insert(from);
                Some((from, pkt(&self.buf[..n])))
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                None
            }
            Err(e) => panic!("recv on {}: {e}", self.addr()),
        }
    }

    /// Every packet until `quiet` passes without one.
    fn drain(&mut self, quiet: Duration) -> Vec<(SocketAddr, Pkt)> {
        let mut v = Vec::new();
        while let Some(got) = self.recv(quiet) {
            v.push(got);
        }
        v
    }

    /// The ERROR that must come now, checked to come from a new port of
    /// the server's address.
    #[track_caller]
    fn error(&mut self, srv: &Server) -> (u16, String) {
        match self.recv(PATIENCE) {
            Some((from, Pkt::Error(code, text))) => {
                assert_eq!(from.ip(), srv.addr.ip());
                assert_ne!(
                    from.port(),
                    srv.addr.port(),
                    "the ERROR came from the server's port"
                );
                (code, text)
            }
            other => panic!("expected an ERROR, got {other:?}{}", srv.story()),
        }
    }
}

/// A download's result.
struct Fetched {
    data: Vec<u8>,
    /// DATA packets received, by block.
    copies: HashMap<u16, u32>,
}

/// A polite lock-step download (blksize asked when given), retrying like
/// a real client.
fn fetch(c: &mut Client, name: &str, blksize: Option<u16>) -> Result<Fetched, String> {
    let b = blksize.map(|b| b.to_string());
    let opts: Vec<(&str, &str)> = b.iter().map(|b| ("blksize", b.as_str())).collect();
    let request = rrq(name, &opts);
    c.to_server(&request);
    let mut last: Option<Vec<u8>> = None;
    let mut size = 512;
    let mut next: u16 = 1;
    let mut out = Fetched {
        data: Vec::new(),
        copies: HashMap::new(),
    };
    let mut tries = 0;
    loop {
        let Some((from, p)) = c.recv(Duration::from_secs(1)) else {
            tries += 1;
            if tries > 5 {
                return Err(format!(
                    "{name}: no answer after {tries} tries at block {next}"
                ));
            }
            match &last {
                None => c.to_server(&request),
                Some(a) => c.send(a),
            }
            continue;
        };
        if Some(from) != c.tid {
            continue;
        }
        tries = 0;
        match p {
            Pkt::Oack(opts) if next == 1 && last.is_none() => {
                if let Some((_, v)) = opts.iter().find(|(k, _)| k == "blksize") {
                    size = v.parse().map_err(|_| format!("blksize {v}"))?;
                }
                last = Some(ack(0).to_vec());
                c.send(&ack(0));
            }
            Pkt::Data(block, d) => {
                *out.copies.entry(block).or_default() += 1;
                if block == next {
                    out.data.extend_from_slice(&d);
                    last = Some(ack(block).to_vec());
                    c.send(&ack(block));
                    next = next.wrapping_add(1);
                    if d.len() < size {
                        return Ok(out);
                    }
                } else if block == next.wrapping_sub(1) {
                    c.send(&ack(block));
                }
            }
            Pkt::Error(code, text) => return Err(format!("ERROR {code} '{text}'")),
            other => return Err(format!("unexpected {other:?}")),
        }
    }
}

/// The request `bytes`, from a fresh socket, is refused with ERROR
/// `code`, and the server's record says so.
#[track_caller]
fn expect_refusal(srv: &mut Server, what: &str, bytes: &[u8], code: u16) -> String {
    let mut c = Client::new(srv);
    c.to_server(bytes);
    let (got, text) = c.error(srv);
    assert_eq!(got, code, "{what}: ERROR {got} '{text}'{}", srv.story());
    let rec = srv.record(c.addr());
    assert_eq!(rec["outcome"], "refused", "{what}: {rec}");
    assert_eq!(rec["error_code"], code, "{what}: {rec}");
    assert!(
        rec["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{what}: {rec}"
    );
    assert_eq!(rec["bytes"], 0, "{what}: {rec}");
    let extra = c.drain(Duration::from_millis(50));
    assert!(extra.is_empty(), "{what}: more after the ERROR: {extra:?}");
    text
}

// ---------------------------------------------------------------------------
// Malformed requests

#[test]
fn malformed_requests_get_error_4_or_8_from_a_new_port_and_change_nothing() {
    let tree = Tree::new(false);
    let before = listing(tree.path());
    let mut srv = Server::start(tree.path(), &[]);
    let mut long = b"\x00\x01".to_vec();
    long.extend(vec![b'n'; 520]);
    long.extend(b"\0octet\0");
    let mut long_options = rrq("a.bin", &[]);
    for i in 0..60 {
        long_options.extend(format!("x-pad{i}\0{i}\0").bytes());
    }
    assert!(long_options.len() > 512);
    let cases: [(&str, Vec<u8>, u16); 10] = [
        ("no NUL", b"\x00\x01a.bin".to_vec(), 4),
        ("mode without NUL", b"\x00\x01a.bin\0octet".to_vec(), 4),
        ("unknown mode", b"\x00\x01a.bin\0binary\0".to_vec(), 4),
        (
            "option without value",
            b"\x00\x01a.bin\0octet\0blksize\0".to_vec(),
            4,
        ),
        ("a name over 512 bytes", long, 4),
        ("options over 512 bytes", long_options, 4),
        (
            "duplicated options",
            rrq("a.bin", &[("blksize", "1024"), ("BLKSIZE", "1024")]),
            8,
        ),
        ("blksize 0", rrq("a.bin", &[("blksize", "0")]), 8),
        ("blksize 70000", rrq("a.bin", &[("blksize", "70000")]), 8),
        ("an ACK to the server port", ack(1).to_vec(), 4),
    ];
    for (what, bytes, code) in &cases {
        expect_refusal(&mut srv, what, bytes, *code);
    }
    expect_refusal(&mut srv, "DATA to the server port", &data(1, b"hello"), 4);
    expect_refusal(&mut srv, "a bare opcode", &[0, 1], 4);
    expect_refusal(&mut srv, "an unknown opcode", &[0, 9, 1, 2], 4);
    for (k, v) in [("windowsize", "0"), ("timeout", "0"), ("tsize", "-1")] {
        expect_refusal(&mut srv, &format!("{k} {v}"), &rrq("a.bin", &[(k, v)]), 8);
    }

    // An ERROR is never answered (two servers would answer each other for
    // ever), nor logged as a transfer.
    let mut c = Client::new(&srv);
    c.to_server(&error(0, "hello"));
    let heard = c.drain(QUIET);
    assert!(heard.is_empty(), "an ERROR was answered: {heard:?}");
    assert!(srv.records_of(c.addr()).is_empty(), "{}", srv.story());

    srv.assert_serves("a.bin", &tree.a);
    assert_unchanged(tree.path(), &before);
}

// ---------------------------------------------------------------------------
// Names, links and special files

#[test]
fn a_write_request_to_a_read_only_server_is_an_access_violation() {
    let tree = Tree::new(true);
    let before = listing(tree.path());
    let mut srv = Server::start(tree.path(), &[]);
    expect_refusal(&mut srv, "WRQ, read-only", &wrq("new.bin", &[]), 2);
    expect_refusal(
        &mut srv,
        "WRQ over a file, read-only",
        &wrq("a.bin", &[]),
        2,
    );
    srv.assert_serves("a.bin", &tree.a);
    assert_unchanged(tree.path(), &before);
}

#[test]
fn names_that_leave_the_directory_are_access_violations() {
    let tree = Tree::new(true);
    fs::create_dir(tree.path().join("a")).unwrap();
    fs::set_permissions(tree.path().join("a"), fs::Permissions::from_mode(0o777)).unwrap();
    let before = listing(tree.path());
    let mut srv = Server::start(tree.path(), &["--write"]);
    for name in [
        "../x",
        "/etc/x",
        "a/../../x",
        "a/../a.bin",
        "/etc/passwd",
        "../../etc/passwd",
    ] {
        expect_refusal(&mut srv, &format!("WRQ {name}"), &wrq(name, &[]), 2);
        expect_refusal(&mut srv, &format!("RRQ {name}"), &rrq(name, &[]), 2);
    }
    srv.assert_serves("a.bin", &tree.a);
    assert_unchanged(tree.path(), &before);
    assert!(!Path::new("/etc/x").exists());
    assert_eq!(
        fs::read_dir(tree.parent()).unwrap().count(),
        1,
        "a file appeared beside the served directory"
    );
}

/// A directory outside the served one, with a file the server must never
/// read or write through a link.
struct Outside {
    dir: tempfile::TempDir,
}

impl Outside {
    fn new() -> Outside {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let p = dir.path().join("secret");
        fs::write(&p, b"outside the served directory\n").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o666)).unwrap();
        Outside { dir }
    }

    /// `out` -> the outside file, `outdir` -> the outside directory,
    /// `in` -> `a.bin` (inside).
    fn links_in(&self, tree: &Tree) {
        use std::os::unix::fs::symlink as sym;
        sym(self.dir.path().join("secret"), tree.path().join("out")).unwrap();
        sym(self.dir.path(), tree.path().join("outdir")).unwrap();
        sym("a.bin", tree.path().join("in")).unwrap();
        // Relative and climbing: the same escape, spelled differently
        // (both temporary directories sit in the same one).
        let rel = Path::new("../..")
            .join(self.dir.path().file_name().unwrap())
            .join("secret");
        assert_eq!(tree.parent().parent(), self.dir.path().parent());
        sym(rel, tree.path().join("up")).unwrap();
        assert!(tree.path().join("up").exists(), "the link leads nowhere");
    }
}

#[test]
fn links_out_of_the_directory_are_refused_both_ways_and_the_target_is_untouched() {
    let tree = Tree::new(true);
    let outside = Outside::new();
    outside.links_in(&tree);
    let before = listing(tree.path());
    let before_out = listing(outside.dir.path());
    let mut srv = Server::start(tree.path(), &["--write", "--overwrite"]);
    for name in ["out", "up", "outdir/secret"] {
        expect_refusal(&mut srv, &format!("RRQ {name}"), &rrq(name, &[]), 2);
    }
    // With --overwrite a WRQ to a link's name would replace the link
    // target's contents were the link followed.
    for name in ["out", "up", "in", "outdir/secret", "outdir/new"] {
        expect_refusal(
            &mut srv,
            &format!("WRQ {name}"),
            &wrq(name, &[("tsize", "3")]),
            2,
        );
    }
    // A link inside the directory is not followed by default either.
    expect_refusal(&mut srv, "RRQ in", &rrq("in", &[]), 2);
    srv.assert_serves("a.bin", &tree.a);
    assert_unchanged(tree.path(), &before);
    assert_unchanged(outside.dir.path(), &before_out);
}

#[test]
fn a_write_to_a_link_out_without_overwrite_is_refused_and_the_target_untouched() {
    let tree = Tree::new(true);
    let outside = Outside::new();
    outside.links_in(&tree);
    let before = listing(tree.path());
    let before_out = listing(outside.dir.path());
    let mut srv = Server::start(tree.path(), &["--write"]);
    // A link's own name is taken, wherever it leads: the link is never
    // followed to find out, and the answer is the one for any name that
    // exists (ERROR 6), as for the link inside.
    for name in ["out", "up", "in"] {
        let text = expect_refusal(&mut srv, &format!("WRQ {name}"), &wrq(name, &[]), 6);
        assert!(text.contains("symbolic link"), "WRQ {name}: '{text}'");
    }
    // Through a link to a directory: out of the directory, ERROR 2.
    for name in ["outdir/secret", "outdir/new"] {
        expect_refusal(&mut srv, &format!("WRQ {name}"), &wrq(name, &[]), 2);
    }
    srv.assert_serves("a.bin", &tree.a);
    assert_unchanged(tree.path(), &before);
    assert_unchanged(outside.dir.path(), &before_out);
}

#[test]
fn follow_symlinks_serves_links_inside_and_still_refuses_links_out() {
    let tree = Tree::new(true);
    let outside = Outside::new();
    outside.links_in(&tree);
    let before = listing(tree.path());
    let before_out = listing(outside.dir.path());
    let mut srv = Server::start(tree.path(), &["--write", "--follow-symlinks"]);
    srv.assert_serves("in", &tree.a);
    for name in ["out", "up", "outdir/secret"] {
        expect_refusal(&mut srv, &format!("RRQ {name}"), &rrq(name, &[]), 2);
    }
    expect_refusal(&mut srv, "WRQ outdir/new", &wrq("outdir/new", &[]), 2);
    srv.assert_serves("a.bin", &tree.a);
    assert_unchanged(tree.path(), &before);
    assert_unchanged(outside.dir.path(), &before_out);
}

#[test]
fn fifos_sockets_and_directories_are_not_transferred() {
    let tree = Tree::new(true);
    let fifo = tree.path().join("fifo");
    let Some(mkfifo) = util::which("mkfifo") else {
        util::skip_or_fail("cannot make a FIFO: mkfifo not installed");
        return;
    };
    let made = Command::new(mkfifo)
        .arg("-m")
        .arg("0666")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let sock = tree.path().join("sock");
    let _listening = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    fs::set_permissions(&sock, fs::Permissions::from_mode(0o666)).unwrap();
    fs::create_dir(tree.path().join("sub")).unwrap();
    fs::set_permissions(tree.path().join("sub"), fs::Permissions::from_mode(0o777)).unwrap();
    let before = listing(tree.path());
    let mut srv = Server::start(tree.path(), &["--write", "--overwrite"]);
    for name in ["fifo", "sock", "sub", "sub/", ".", "sub/."] {
        expect_refusal(&mut srv, &format!("RRQ {name}"), &rrq(name, &[]), 2);
        expect_refusal(&mut srv, &format!("WRQ {name}"), &wrq(name, &[]), 2);
    }
    srv.assert_serves("a.bin", &tree.a);
    assert_unchanged(tree.path(), &before);
}

#[test]
fn an_existing_file_is_not_replaced_without_overwrite() {
    let tree = Tree::new(true);
    let before = listing(tree.path());
    let mut srv = Server::start(tree.path(), &["--write"]);
    expect_refusal(&mut srv, "WRQ a.bin", &wrq("a.bin", &[]), 6);
    expect_refusal(
        &mut srv,
        "WRQ a.bin, tsize",
        &wrq("a.bin", &[("tsize", "10")]),
        6,
    );
    expect_refusal(&mut srv, "RRQ missing", &rrq("missing.bin", &[]), 1);
    srv.assert_serves("a.bin", &tree.a);
    assert_unchanged(tree.path(), &before);
}

// ---------------------------------------------------------------------------
// Uploads over --max-size

#[test]
fn a_tsize_over_max_size_is_refused_up_front_with_error_3() {
    let tree = Tree::new(true);
    let before = listing(tree.path());
    let mut srv = Server::start(tree.path(), &["--write", "--max-size", "10000"]);
    expect_refusal(
        &mut srv,
        "tsize 10001",
        &wrq("big.bin", &[("tsize", "10001")]),
        3,
    );
    expect_refusal(
        &mut srv,
        "tsize 2^64-1",
        &wrq("big.bin", &[("tsize", "18446744073709551615")]),
        3,
    );
    srv.assert_serves("a.bin", &tree.a);
    assert_unchanged(tree.path(), &before);
}

/// Upload `total` bytes lock-step as `name` without announcing the size,
/// until the server stops it: the ERROR it sent, and the last block it
/// acknowledged.
fn upload_until_error(
    srv: &Server,
    c: &mut Client,
    name: &str,
    total: usize,
) -> ((u16, String), u16) {
    c.to_server(&wrq(name, &[]));
    let body = content(total, 7);
    let mut acked = match c.recv(PATIENCE) {
        Some((_, Pkt::Ack(0))) => 0u16,
        other => panic!("expected ACK 0, got {other:?}{}", srv.story()),
    };
    let blocks = total / 512 + 1;
    for n in 1..=blocks {
        let block = u16::try_from(n).unwrap();
        let chunk = &body[(n - 1) * 512..(n * 512).min(total)];
        c.send(&data(block, chunk));
        match c.recv(PATIENCE) {
            Some((_, Pkt::Ack(b))) if b == block => acked = b,
            Some((_, Pkt::Error(code, text))) => return ((code, text), acked),
            other => panic!("block {block}: got {other:?}{}", srv.story()),
        }
    }
    panic!("all {total} bytes were taken{}", srv.story());
}

#[test]
fn an_upload_past_max_size_without_tsize_is_stopped_with_error_3_and_leaves_nothing() {
    let tree = Tree::new(true);
    let before = listing(tree.path());
    let mut srv = Server::start(tree.path(), &["--write", "--max-size", "10000"]);
    let mut c = Client::new(&srv);
    let ((code, text), acked) = upload_until_error(&srv, &mut c, "big.bin", 50_000);
    assert_eq!(code, 3, "'{text}'");
    assert!(
        u64::from(acked) * 512 <= 10_000,
        "ACKed block {acked}, past --max-size"
    );
    let rec = srv.record(c.addr());
    assert_eq!(rec["outcome"], "failed", "{rec}");
    assert_eq!(rec["error_code"], 3, "{rec}");
    assert_eq!(rec["direction"], "write", "{rec}");
    srv.assert_serves("a.bin", &tree.a);
    assert_unchanged(tree.path(), &before);
}

/// How an upload ended for the client.
#[derive(Debug, PartialEq, Eq)]
enum Sent {
    /// The final block was acknowledged.
    Done,
    /// An ERROR instead, after this many blocks were acknowledged.
    Error(u16, String, u16),
}

/// Start a lock-step upload of `name` (options `opts`): the ACK 0 or
/// OACK must come.
#[track_caller]
fn start_upload(srv: &Server, c: &mut Client, name: &str, opts: &[(&str, &str)]) {
    c.to_server(&wrq(name, opts));
    match c.recv(PATIENCE) {
        Some((_, Pkt::Ack(0) | Pkt::Oack(_))) => {}
        other => panic!("WRQ {name}: {other:?}{}", srv.story()),
    }
}

/// Send `body` in 512-byte blocks, each after the ACK of the one before.
fn send_body(srv: &Server, c: &mut Client, body: &[u8]) -> Sent {
    let mut acked = 0;
    for (i, chunk) in body
        .chunks(512)
        .chain(
            // A whole number of blocks ends with an empty one.
            (body.len() % 512 == 0).then_some(&[][..]),
        )
        .enumerate()
    {
        let block = u16::try_from(i + 1).unwrap();
        c.send(&data(block, chunk));
        match c.recv(PATIENCE) {
            Some((_, Pkt::Ack(b))) if b == block => acked = b,
            Some((_, Pkt::Error(code, text))) => return Sent::Error(code, text, acked),
            other => panic!("block {block}: {other:?}{}", srv.story()),
        }
    }
    Sent::Done
}

#[test]
fn an_upload_arrives_whole_and_only_under_its_name() {
    let tree = Tree::new(true);
    let mut want = listing(tree.path());
    let mut srv = Server::start(tree.path(), &["--write", "--max-size", "10000"]);
    let body = content(10_000, 12);
    let mut c = Client::new(&srv);
    start_upload(&srv, &mut c, "up.bin", &[("tsize", "10000")]);
    assert_eq!(send_body(&srv, &mut c, &body), Sent::Done);
    let rec = srv.record(c.addr());
    assert_eq!(rec["outcome"], "ok", "{rec}");
    assert_eq!(rec["bytes"], 10_000, "{rec}");
    want.insert("up.bin".into(), Entry::File(body));
    assert_unchanged(tree.path(), &want);
}

#[test]
fn an_upload_longer_than_its_tsize_is_stopped_with_error_3_and_leaves_nothing() {
    let tree = Tree::new(true);
    let before = listing(tree.path());
    let mut srv = Server::start(tree.path(), &["--write"]);
    let mut c = Client::new(&srv);
    start_upload(&srv, &mut c, "up.bin", &[("tsize", "2000")]);
    match send_body(&srv, &mut c, &content(5000, 13)) {
        Sent::Error(3, _, acked) => assert!(u64::from(acked) * 512 <= 2000, "ACKed {acked}"),
        other => panic!("{other:?}{}", srv.story()),
    }
    let rec = srv.record(c.addr());
    assert_eq!(rec["outcome"], "failed", "{rec}");
    assert_eq!(rec["error_code"], 3, "{rec}");
    srv.assert_serves("a.bin", &tree.a);
    assert_unchanged(tree.path(), &before);
}

/// The final ACK tells a client its file is in place; an upload the
/// server throws away must end with an ERROR instead.
#[test]
fn an_upload_shorter_than_its_tsize_gets_an_error_not_the_final_ack() {
    let tree = Tree::new(true);
    let before = listing(tree.path());
    let mut srv = Server::start(tree.path(), &["--write"]);
    let mut c = Client::new(&srv);
    start_upload(&srv, &mut c, "up.bin", &[("tsize", "9000")]);
    let sent = send_body(&srv, &mut c, &content(5000, 14));
    let rec = srv.record(c.addr());
    assert_eq!(rec["outcome"], "failed", "{rec}");
    assert_unchanged(tree.path(), &before);
    match sent {
        Sent::Error(4, _, 9) => {}
        other => panic!("the client was told {other:?} for an upload the server dropped ({rec})"),
    }
    srv.assert_serves("a.bin", &tree.a);
}

#[test]
fn two_uploads_racing_for_one_new_name_leave_the_first_whole_and_no_temporary_file() {
    let tree = Tree::new(true);
    let mut want = listing(tree.path());
    let mut srv = Server::start(tree.path(), &["--write"]);
    let (first, second) = (content(3000, 15), content(3000, 16));
    let mut a = Client::new(&srv);
    let mut b = Client::new(&srv);
    start_upload(&srv, &mut a, "same.bin", &[]);
    start_upload(&srv, &mut b, "same.bin", &[]);
    assert_eq!(send_body(&srv, &mut a, &first), Sent::Done);
    let late = send_body(&srv, &mut b, &second);
    assert!(
        matches!(late, Sent::Error(_, _, 5)),
        "the second upload: {late:?} (the name was taken meanwhile){}",
        srv.story()
    );
    let (ra, rb) = (srv.record(a.addr()), srv.record(b.addr()));
    assert_eq!(ra["outcome"], "ok", "{ra}{}", srv.story());
    assert_eq!(rb["outcome"], "failed", "{rb}{}", srv.story());
    want.insert("same.bin".into(), Entry::File(first));
    assert_unchanged(tree.path(), &want);
    srv.assert_serves("same.bin", &content(3000, 15));
}

#[test]
fn data_from_the_future_is_not_taken_and_the_upload_still_completes() {
    let tree = Tree::new(true);
    let mut srv = Server::start(tree.path(), &["--write", "--timeout", "3"]);
    let body = content(1300, 17);
    let mut c = Client::new(&srv);
    start_upload(&srv, &mut c, "up.bin", &[]);
    c.send(&data(3, &body[1024..]));
    c.send(&data(2, &body[512..1024]));
    for (_, p) in c.drain(QUIET) {
        assert!(matches!(p, Pkt::Ack(0)), "for blocks not due: {p:?}");
    }
    assert_eq!(send_body(&srv, &mut c, &body), Sent::Done);
    assert_eq!(srv.record(c.addr())["outcome"], "ok");
    assert_eq!(fs::read(tree.path().join("up.bin")).unwrap(), body);
}

#[test]
fn a_repeated_request_from_one_port_is_one_transfer() {
    let tree = Tree::new(false);
    let before = listing(tree.path());
    let mut srv = Server::start(tree.path(), &["--timeout", "3"]);
    let mut c = Client::new(&srv);
    for _ in 0..5 {
        c.to_server(&rrq("a.bin", &[]));
    }
    let heard = c.drain(QUIET);
    let from: Vec<_> = heard.iter().map(|(f, _)| *f).collect();
    assert_eq!(
        heard.len(),
        1,
        "answers to one request sent five times: {heard:?}"
    );
    assert!(matches!(heard[0].1, Pkt::Data(1, _)), "{heard:?}");
    c.tid = Some(from[0]);
    // The client goes on as if it had asked once.
    let mut got = match &heard[0].1 {
        Pkt::Data(_, d) => d.clone(),
        _ => unreachable!(),
    };
    c.send(&ack(1));
    let mut next = 2u16;
    while got.len() < A_LEN {
        match c.recv(PATIENCE) {
            Some((_, Pkt::Data(b, d))) if b == next => {
                got.extend_from_slice(&d);
                c.send(&ack(b));
                next += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(got == tree.a);
    assert_eq!(srv.record(c.addr())["outcome"], "ok");
    assert_eq!(srv.records_of(c.addr()).len(), 1, "{}", srv.story());
    assert_unchanged(tree.path(), &before);
}

// ---------------------------------------------------------------------------
// Clients that misbehave during a transfer

#[test]
fn a_client_that_never_acks_gets_retries_plus_one_sends_then_the_transfer_fails() {
    let tree = Tree::new(false);
    let before = listing(tree.path());
    let mut srv = Server::start(tree.path(), &["--timeout", "0.05", "--retries", "2"]);
    let mut c = Client::new(&srv);
    c.to_server(&rrq("a.bin", &[]));
    let start = Instant::now();
    let mut at = Vec::new();
    let mut other = Vec::new();
    while let Some((_, p)) = c.recv(Duration::from_millis(800)) {
        match p {
            Pkt::Data(1, d) if d.len() == 512 => at.push(start.elapsed()),
            p => other.push(p),
        }
    }
    assert!(other.is_empty(), "besides DATA 1: {other:?}");
    assert_eq!(
        at.len(),
        3,
        "DATA 1 sent {} times (at {at:?}), want retries + 1 = 3",
        at.len()
    );
    // Retransmissions wait for the timeout (0.05 s, then backing off),
    // never faster.
    for w in at.windows(2) {
        assert!(
            w[1].saturating_sub(w[0]) >= Duration::from_millis(45),
            "resent too soon: {at:?}"
        );
    }
    let rec = srv.record(c.addr());
    assert_eq!(rec["outcome"], "failed", "{rec}");
    assert_eq!(rec["retransmits"], 2, "{rec}");
    assert!(
        rec["error"].as_str().is_some_and(|e| e.contains("silent")),
        "{rec}"
    );
    srv.assert_serves("a.bin", &tree.a);
    assert_unchanged(tree.path(), &before);
}

#[test]
fn a_client_that_never_sends_data_gets_ack_0_retries_plus_one_times_and_nothing_is_left() {
    let tree = Tree::new(true);
    let before = listing(tree.path());
    let mut srv = Server::start(
        tree.path(),
        &["--write", "--timeout", "0.05", "--retries", "2"],
    );
    let mut c = Client::new(&srv);
    c.to_server(&wrq("new.bin", &[]));
    let heard = c.drain(Duration::from_millis(800));
    let acks = heard.iter().filter(|(_, p)| *p == Pkt::Ack(0)).count();
    assert_eq!(acks, heard.len(), "{heard:?}");
    assert_eq!(acks, 3, "ACK 0 sent {acks} times, want retries + 1 = 3");
    let rec = srv.record(c.addr());
    assert_eq!(rec["outcome"], "failed", "{rec}");
    srv.assert_serves("a.bin", &tree.a);
    assert_unchanged(tree.path(), &before);
}

#[test]
fn a_client_that_never_acks_the_oack_gets_it_retries_plus_one_times() {
    let tree = Tree::new(false);
    let mut srv = Server::start(tree.path(), &["--timeout", "0.05", "--retries", "2"]);
    let mut c = Client::new(&srv);
    c.to_server(&rrq("a.bin", &[("blksize", "1024"), ("tsize", "0")]));
    let heard = c.drain(Duration::from_millis(800));
    let oack = Pkt::Oack(vec![
        ("blksize".into(), "1024".into()),
        ("tsize".into(), A_LEN.to_string()),
    ]);
    assert!(heard.iter().all(|(_, p)| *p == oack), "{heard:?}");
    assert_eq!(
        heard.len(),
        3,
        "OACK sent {} times, want retries + 1 = 3",
        heard.len()
    );
    assert_eq!(srv.record(c.addr())["outcome"], "failed");
    srv.assert_serves("a.bin", &tree.a);
}

#[test]
fn packets_of_the_wrong_kind_end_a_transfer_with_error_4() {
    let tree = Tree::new(true);
    let before = listing(tree.path());
    let mut srv = Server::start(tree.path(), &["--write", "--timeout", "3"]);
    // To a download: DATA, a request, garbage where an ACK is due.
    for (what, bytes) in [
        ("DATA", data(1, b"x")),
        ("RRQ", rrq("a.bin", &[])),
        ("garbage", vec![0, 4, 0]),
    ] {
        let mut c = Client::new(&srv);
        c.to_server(&rrq("a.bin", &[]));
        assert!(matches!(c.recv(PATIENCE), Some((_, Pkt::Data(1, _)))));
        c.send(&bytes);
        match c.recv(PATIENCE) {
            Some((_, Pkt::Error(4, _))) => {}
            other => panic!("{what} to a download: {other:?}"),
        }
        let rec = srv.record(c.addr());
        assert_eq!(rec["outcome"], "failed", "{what}: {rec}");
        assert!(c.drain(Duration::from_millis(100)).is_empty());
    }
    // To an upload: an ACK, and DATA larger than the block size.
    for (what, bytes) in [
        ("ACK", ack(1).to_vec()),
        ("DATA of 513 bytes", data(1, &[7; 513])),
    ] {
        let mut c = Client::new(&srv);
        start_upload(&srv, &mut c, "up.bin", &[]);
        c.send(&bytes);
        match c.recv(PATIENCE) {
            Some((_, Pkt::Error(4, _))) => {}
            other => panic!("{what} to an upload: {other:?}"),
        }
        let rec = srv.record(c.addr());
        assert_eq!(rec["outcome"], "failed", "{what}: {rec}");
    }
    srv.assert_serves("a.bin", &tree.a);
    assert_unchanged(tree.path(), &before);
}

#[test]
fn a_stranger_cannot_write_into_an_upload() {
    let tree = Tree::new(true);
    let mut want = listing(tree.path());
    let mut srv = Server::start(tree.path(), &["--write", "--timeout", "3"]);
    let body = content(2000, 18);
    let mut c = Client::new(&srv);
    start_upload(&srv, &mut c, "up.bin", &[]);
    let port = c.tid.unwrap();
    let mut stranger = Client::new(&srv);
    stranger.sock.send_to(&data(1, &[0xee; 512]), port).unwrap();
    match stranger.recv(PATIENCE) {
        Some((from, Pkt::Error(5, _))) => assert_eq!(from, port),
        other => panic!("{other:?}"),
    }
    assert!(
        c.drain(Duration::from_millis(50)).is_empty(),
        "the client heard of it"
    );
    assert_eq!(send_body(&srv, &mut c, &body), Sent::Done);
    assert_eq!(srv.record(c.addr())["outcome"], "ok");
    want.insert("up.bin".into(), Entry::File(body));
    assert_unchanged(tree.path(), &want);
}

/// The DATA that comes until `quiet` passes, checked to lie within the
/// window after block `acked`.
fn take(c: &mut Client, got: &mut BTreeMap<u16, Vec<u8>>, acked: u16, quiet: Duration) {
    for (_, p) in c.drain(quiet) {
        match p {
            Pkt::Data(b, d) => {
                assert!(
                    b > acked && b <= acked + 4,
                    "DATA {b} with block {acked} acknowledged and a window of 4"
                );
                got.insert(b, d);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn acks_from_the_future_do_not_move_the_window_and_the_file_still_arrives_whole() {
    let tree = Tree::new(false);
    let file = content(21 * 512 + 100, 3);
    tree.file("w.bin", &file);
    let before = listing(tree.path());
    let mut srv = Server::start(tree.path(), &["--timeout", "2"]);
    let mut c = Client::new(&srv);
    c.to_server(&rrq("w.bin", &[("blksize", "512"), ("windowsize", "4")]));
    match c.recv(PATIENCE) {
        Some((_, Pkt::Oack(o))) => assert!(o.contains(&("windowsize".into(), "4".into())), "{o:?}"),
        other => panic!("expected an OACK, got {other:?}"),
    }
    c.send(&ack(0));
    let mut got: BTreeMap<u16, Vec<u8>> = BTreeMap::new();
    take(&mut c, &mut got, 0, Duration::from_millis(200));
    // ACKs for blocks never sent: ignored, nothing beyond the window.
    for future in [9, 30, 200, 65535] {
        c.send(&ack(future));
    }
    take(&mut c, &mut got, 0, QUIET);
    assert_eq!(got.keys().copied().collect::<Vec<_>>(), [1, 2, 3, 4]);
    // Now behave: ACK each window's last block.
    let mut acked = 4;
    while got.len() < 22 {
        c.send(&ack(acked));
        take(&mut c, &mut got, acked, Duration::from_millis(200));
        let top = *got.keys().last().unwrap();
        assert!(top > acked, "no progress after ACK {acked}{}", srv.story());
        acked = top;
    }
    c.send(&ack(acked));
    let whole: Vec<u8> = got.into_values().flatten().collect();
    assert!(whole == file, "the file arrived different");
    let rec = srv.record(c.addr());
    assert_eq!(rec["outcome"], "ok", "{rec}");
    assert_eq!(rec["options"]["windowsize"], 4, "{rec}");
    srv.assert_serves("a.bin", &tree.a);
    assert_unchanged(tree.path(), &before);
}

#[test]
fn duplicate_acks_never_cause_a_resend() {
    let tree = Tree::new(false);
    let file = content(40 * 512 + 7, 4);
    tree.file("d.bin", &file);
    let before = listing(tree.path());
    // A timeout long enough that only a duplicate ACK could cause a resend.
    let mut srv = Server::start(tree.path(), &["--timeout", "3"]);
    let mut c = Client::new(&srv);
    c.to_server(&rrq("d.bin", &[("blksize", "512")]));
    assert!(matches!(c.recv(PATIENCE), Some((_, Pkt::Oack(_)))));
    for _ in 0..3 {
        c.send(&ack(0));
    }
    let mut copies: BTreeMap<u16, u32> = BTreeMap::new();
    let mut whole = Vec::new();
    let mut next = 1u16;
    loop {
        match c.recv(PATIENCE) {
            Some((_, Pkt::Data(b, d))) => {
                *copies.entry(b).or_default() += 1;
                if b == next {
                    whole.extend_from_slice(&d);
                    for _ in 0..3 {
                        c.send(&ack(b));
                    }
                    next += 1;
                    if d.len() < 512 {
                        break;
                    }
                }
            }
            other => panic!("at block {next}: {other:?}{}", srv.story()),
        }
    }
    let late = c.drain(QUIET);
    assert!(late.is_empty(), "after the last block: {late:?}");
    let resent: Vec<_> = copies.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        resent.is_empty(),
        "blocks sent more than once (block, copies): {resent:?}"
    );
    assert_eq!(copies.len(), 41);
    assert!(whole == file, "the file arrived different");
    let rec = srv.record(c.addr());
    assert_eq!(rec["outcome"], "ok", "{rec}");
    assert_eq!(rec["retransmits"], 0, "{rec}");
    srv.assert_serves("a.bin", &tree.a);
    assert_unchanged(tree.path(), &before);
}

#[test]
fn a_stranger_on_a_transfers_port_gets_error_5_and_the_transfer_goes_on() {
    let tree = Tree::new(false);
    let before = listing(tree.path());
    let mut srv = Server::start(tree.path(), &["--timeout", "3"]);
    let mut c = Client::new(&srv);
    c.to_server(&rrq("a.bin", &[]));
    let mut whole = match c.recv(PATIENCE) {
        Some((_, Pkt::Data(1, d))) => d,
        other => panic!("expected DATA 1, got {other:?}"),
    };
    let port = c.tid.unwrap();
    for (what, bytes) in [
        ("ACK 1", ack(1).to_vec()),
        ("DATA 2", data(2, b"xx")),
        ("garbage", vec![0xff; 3]),
        ("ERROR", error(0, "stop")),
    ] {
        let mut stranger = Client::new(&srv);
        stranger.sock.send_to(&bytes, port).unwrap();
        match stranger.recv(PATIENCE) {
            Some((from, Pkt::Error(5, _))) => assert_eq!(from, port),
            other => panic!("stranger's {what}: {other:?}"),
        }
        assert!(srv.records_of(stranger.addr()).is_empty());
    }
    // Nothing reached the client meanwhile, and it goes on.
    assert!(c.drain(Duration::from_millis(50)).is_empty());
    c.send(&ack(1));
    let mut next = 2u16;
    loop {
        match c.recv(PATIENCE) {
            Some((_, Pkt::Data(b, d))) if b == next => {
                whole.extend_from_slice(&d);
                c.send(&ack(b));
                next += 1;
                if d.len() < 512 {
                    break;
                }
            }
            other => panic!("at block {next}: {other:?}"),
        }
    }
    assert!(whole == tree.a, "the file arrived different");
    let rec = srv.record(c.addr());
    assert_eq!(rec["outcome"], "ok", "{rec}");
    srv.assert_serves("a.bin", &tree.a);
    assert_unchanged(tree.path(), &before);
}

// ---------------------------------------------------------------------------
// Floods, changing files, full disks, many clients

/// `request` from each of `valid` and as many pieces of garbage from
/// `junk` in turn, interleaved, within a second: how long that took, and
/// how many answers each of `junk` is owed (an ERROR gets none).
fn flood(valid: &[Client], request: &[u8], junk: &[Client]) -> (Duration, Vec<usize>) {
    let kinds: [Vec<u8>; 6] = [
        b"\x00\x01a.bin".to_vec(),
        ack(7).to_vec(),
        data(3, b"abc"),
        vec![0xde, 0xad, 0xbe, 0xef],
        rrq("../../etc/shadow", &[]),
        error(0, "x"),
    ];
    let mut owed = vec![0usize; junk.len()];
    let start = Instant::now();
    for i in 0..valid.len() * 2 {
        if i % 2 == 0 {
            valid[i / 2].to_server(request);
        } else {
            let j = (i / 2) % junk.len();
            let kind = &kinds[(i / 2) % kinds.len()];
            junk[j].to_server(kind);
            if pkt(kind) != Pkt::Error(0, "x".into()) {
                owed[j] += 1;
            }
        }
        // Spread over most of a second, as a real flood from one host.
        if i % 20 == 19 {
            let due = start + Duration::from_millis(16 * (i as u64 + 1) / 20);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
    }
    (start.elapsed(), owed)
}

/// The codes of the ERRORs `c` has received; anything else fails.
fn error_codes(c: &mut Client) -> Vec<u16> {
    c.drain(Duration::from_millis(200))
        .into_iter()
        .map(|(_, p)| match p {
            Pkt::Error(code, _) => code,
            other => panic!("garbage answered with {other:?}"),
        })
        .collect()
}

#[test]
fn a_flood_of_a_thousand_requests_is_answered_in_bounded_memory() {
    const VALID: usize = 500;
    const PER_CLIENT: usize = 16;
    let tree = Tree::new(false);
    // Larger than the server's read buffer, which each transfer fills.
    tree.file("big.bin", &content(1 << 20, 9));
    let before = listing(tree.path());
    let mut srv = Server::start(tree.path(), &["--max-per-client", "16"]);
    let rss_before = srv.rss_kib();
    let mut valid: Vec<Client> = (0..VALID).map(|_| Client::new(&srv)).collect();
    let mut junk: Vec<Client> = (0..10).map(|_| Client::new(&srv)).collect();
    let (sent_in, junk_answers) = flood(&valid, &rrq("big.bin", &[]), &junk);
    assert!(
        sent_in < Duration::from_millis(1500),
        "the flood took {sent_in:?}"
    );

    let mut served = Vec::new();
    let mut busy = 0;
    let mut unanswered = 0;
    for c in &mut valid {
        match c.recv(Duration::from_secs(2)) {
            Some((_, Pkt::Data(1, _))) => served.push(c.addr()),
            Some((_, Pkt::Error(0, text))) if text.contains("too many transfers") => busy += 1,
            Some(other) => panic!("{other:?}"),
            None => unanswered += 1,
        }
    }
    for (c, want) in junk.iter_mut().zip(&junk_answers) {
        let codes = error_codes(c);
        assert_eq!(codes.len(), *want, "answers to garbage: {codes:?}");
        assert!(codes.iter().all(|&c| c == 4 || c == 2), "{codes:?}");
    }
    let rss_after = srv.rss_kib();
    eprintln!(
        "flood: sent in {sent_in:?}; {} served, {busy} busy, {unanswered} unanswered; VmRSS {rss_before} KiB -> {rss_after} KiB",
        served.len()
    );
    assert_eq!(unanswered, 0, "requests never answered");
    assert_eq!(
        served.len(),
        PER_CLIENT,
        "transfers started (--max-per-client 16)"
    );
    assert_eq!(busy, VALID - PER_CLIENT);
    assert!(
        rss_after < 64 << 10,
        "VmRSS {rss_after} KiB after the flood"
    );
    // Refusals are logged at a bounded rate, not one line each.
    let refused = srv
        .lines()
        .iter()
        .filter(|v| v["outcome"] == "refused")
        .count();
    assert!(refused < 100, "{refused} refusals logged");
    assert!(
        srv.lines().iter().any(|v| v["outcome"] == "refused"
            && v["error_code"] == 0
            && v["error"]
                .as_str()
                .is_some_and(|e| e.contains("--max-per-client"))),
        "no record of a too-many-transfers refusal{}",
        srv.story()
    );

    // Another address is served at once, while this one is at its limit.
    let mut other = Client::at(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), srv.addr);
    let got = fetch(&mut other, "a.bin", None).unwrap_or_else(|e| panic!("{e}{}", srv.story()));
    assert!(got.data == tree.a);
    // The flood's transfers are cancelled; this address is served again.
    for c in valid.iter().filter(|c| served.contains(&c.addr())) {
        c.send(&error(0, "cancelled"));
    }
    for a in &served {
        let rec = srv.record(*a);
        assert_eq!(rec["outcome"], "failed", "{rec}");
    }
    srv.assert_serves("a.bin", &tree.a);
    assert_unchanged(tree.path(), &before);
}

#[test]
fn transfers_beyond_max_transfers_are_refused_as_busy_and_others_served_after() {
    let tree = Tree::new(false);
    let mut srv = Server::start(tree.path(), &["--max-transfers", "4", "--timeout", "3"]);
    // From several addresses, so the per-client limit is not what bites.
    let mut clients: Vec<Client> = (0..6u8)
        .map(|i| Client::at(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + i)), srv.addr))
        .collect();
    let mut started = Vec::new();
    for c in &mut clients {
        c.to_server(&rrq("a.bin", &[]));
        match c.recv(PATIENCE) {
            Some((_, Pkt::Data(1, _))) => started.push(c.addr()),
            Some((_, Pkt::Error(0, text))) => assert!(text.contains("busy"), "'{text}'"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(started.len(), 4, "transfers started with --max-transfers 4");
    for c in clients.iter().filter(|c| started.contains(&c.addr())) {
        c.send(&error(0, "cancelled"));
    }
    for a in &started {
        assert_eq!(srv.record(*a)["outcome"], "failed");
    }
    srv.assert_serves("a.bin", &tree.a);
}

/// The largest resident size of `srv` over `span`, sampled.
fn peak_rss_kib(srv: &Server, span: Duration) -> u64 {
    let end = Instant::now() + span;
    let mut peak = srv.rss_kib();
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
        peak = peak.max(srv.rss_kib());
    }
    peak
}

/// Valid requests can cost more than garbage: each asks the largest
/// blocks and window for a big file and ACKs the OACK, as a fast client
/// would, so the server reads a whole window for each. From one address,
/// under the default limits, that must still fit the memory bound.
#[test]
fn a_flood_of_windowed_requests_for_a_big_file_stays_in_bounded_memory() {
    const VALID: usize = 500;
    const PER_CLIENT: usize = 64;
    let tree = Tree::new(false);
    tree.file("big.bin", &content(5 << 20, 11));
    let before = listing(tree.path());
    let mut srv = Server::start(tree.path(), &[]);
    let rss_before = srv.rss_kib();
    let mut valid: Vec<Client> = (0..VALID).map(|_| Client::new(&srv)).collect();
    let junk: Vec<Client> = (0..10).map(|_| Client::new(&srv)).collect();
    let request = rrq("big.bin", &[("blksize", "65464"), ("windowsize", "64")]);
    let (sent_in, _) = flood(&valid, &request, &junk);
    let mut served = Vec::new();
    let mut busy = 0;
    for c in &mut valid {
        match c.recv(Duration::from_secs(2)) {
            Some((_, Pkt::Oack(_))) => {
                c.send(&ack(0));
                served.push(c.addr());
            }
            Some((_, Pkt::Error(0, text))) if text.contains("too many transfers") => busy += 1,
            other => panic!("{other:?}"),
        }
    }
    let peak = peak_rss_kib(&srv, Duration::from_secs(2));
    eprintln!(
        "windowed flood: sent in {sent_in:?}; {} served, {busy} busy; VmRSS {rss_before} KiB -> peak {peak} KiB",
        served.len()
    );
    assert_eq!(
        served.len(),
        PER_CLIENT,
        "transfers started (--max-per-client 64)"
    );
    assert!(
        peak < 64 << 10,
        "VmRSS peaked at {peak} KiB with {PER_CLIENT} transfers of 64 blocks of 65464 bytes in flight"
    );
    for c in valid.iter().filter(|c| served.contains(&c.addr())) {
        c.send(&error(0, "cancelled"));
    }
    srv.assert_serves("a.bin", &tree.a);
    assert_unchanged(tree.path(), &before);
}

#[test]
fn a_file_that_shrinks_while_it_is_sent_ends_the_transfer_with_an_error() {
    let tree = Tree::new(false);
    let len = 1 << 20;
    let file = content(len, 5);
    let path = tree.file("shrinks.bin", &file);
    let mut srv = Server::start(tree.path(), &["--timeout", "3"]);
    let mut c = Client::new(&srv);
    c.to_server(&rrq("shrinks.bin", &[]));
    let mut next = 1u16;
    let mut got = Vec::new();
    let text = loop {
        match c.recv(PATIENCE) {
            Some((_, Pkt::Data(b, d))) if b == next => {
                got.extend_from_slice(&d);
                assert!(
                    d.len() == 512,
                    "block {b} of {} bytes: the whole file came",
                    d.len()
                );
                if b == 4 {
                    fs::OpenOptions::new()
                        .write(true)
                        .open(&path)
                        .unwrap()
                        .set_len(1000)
                        .unwrap();
                }
                c.send(&ack(b));
                next += 1;
            }
            Some((_, Pkt::Error(code, text))) => break format!("ERROR {code} '{text}'"),
            other => panic!("at block {next}: {other:?}{}", srv.story()),
        }
    };
    assert!(got.len() < len, "{text} after all of it");
    assert!(
        got == file[..got.len()],
        "the part sent is not the file's start"
    );
    let rec = srv.record(c.addr());
    assert_eq!(rec["outcome"], "failed", "{rec} ({text})");
    assert!(
        rec["error"].as_str().is_some_and(|e| e.contains("shrank")),
        "{rec}"
    );
    let before = listing(tree.path());
    srv.assert_serves("a.bin", &tree.a);
    assert_unchanged(tree.path(), &before);
}

/// A small tmpfs mounted on a fresh directory, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0777"),
                "tmpfs",
            ])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            util::skip_or_fail("cannot mount a tmpfs (needs root)");
            return None;
        }
        Some(SmallDisk { dir })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let quiet = |args: &[&str]| {
            Command::new("umount")
                .args(args)
                .arg(self.dir.path())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        // Lazily if something still holds it, so it never outlives us.
        if !quiet(&[]) {
            quiet(&["-l"]);
        }
    }
}

#[test]
fn a_full_disk_during_an_upload_sends_error_3_and_leaves_nothing() {
    let Some(disk) = SmallDisk::mount("256k") else {
        return;
    };
    let dir = disk.dir.path();
    let a = content(A_LEN, 1);
    fs::write(dir.join("a.bin"), &a).unwrap();
    fs::set_permissions(dir.join("a.bin"), fs::Permissions::from_mode(0o644)).unwrap();
    let before = listing(dir);
    let mut srv = Server::start(dir, &["--write"]);
    let mut c = Client::new(&srv);
    let ((code, text), acked) = upload_until_error(&srv, &mut c, "big.bin", 1 << 20);
    assert_eq!(code, 3, "'{text}'");
    assert!(
        u64::from(acked) * 512 <= 256 << 10,
        "ACKed block {acked}: more than the disk holds"
    );
    let rec = srv.record(c.addr());
    assert_eq!(rec["outcome"], "failed", "{rec}");
    assert_eq!(rec["error_code"], 3, "{rec}");
    srv.assert_serves("a.bin", &a);
    assert_unchanged(dir, &before);
    drop(srv);
}

#[test]
fn two_hundred_concurrent_downloads_all_arrive_whole() {
    const CLIENTS: usize = 200;
    const FILES: usize = 8;
    let tree = Tree::new(false);
    let files: Vec<Vec<u8>> = (0..FILES)
        .map(|i| content(256 << 10, 100 + i as u64))
        .collect();
    for (i, f) in files.iter().enumerate() {
        tree.file(&format!("f{i}.bin"), f);
    }
    let before = listing(tree.path());
    let mut srv = Server::start(tree.path(), &["--max-per-client", "256"]);
    let files = Arc::new(files);
    let server = srv.addr;
    let start = Instant::now();
    let threads: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let files = Arc::clone(&files);
            std::thread::spawn(move || {
                let mut c = Client::at(LOCALHOST, server);
                let blksize = if i % 2 == 0 { 512 } else { 1468 };
                let name = format!("f{}.bin", i % FILES);
                let got = fetch(&mut c, &name, Some(blksize));
                let verdict = match got {
                    Ok(g) if g.data == files[i % FILES] => Ok(g.copies.values().sum::<u32>()),
                    Ok(g) => Err(format!("{name}: {} bytes, different", g.data.len())),
                    Err(e) => Err(e),
                };
                (c.addr(), verdict)
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let took = start.elapsed();
    let failed: Vec<_> = results.iter().filter(|(_, r)| r.is_err()).collect();
    assert!(
        failed.is_empty(),
        "{} of {CLIENTS} failed: {failed:?}{}",
        failed.len(),
        srv.story()
    );
    let packets: u32 = results.iter().map(|(_, r)| *r.as_ref().unwrap()).sum();
    eprintln!("{CLIENTS} concurrent downloads of 256 KiB in {took:?}, {packets} DATA packets");
    for (addr, _) in &results {
        let rec = srv.record(*addr);
        assert_eq!(rec["outcome"], "ok", "{rec}");
        assert_eq!(rec["bytes"], 256 << 10, "{rec}");
    }
    srv.assert_serves("a.bin", &tree.a);
    assert_unchanged(tree.path(), &before);
}
