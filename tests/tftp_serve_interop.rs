//! `nettool tftp serve` with the TFTP clients people use, on loopback:
//! tftp-hpa's `tftp`, `atftp`, `curl tftp://`, busybox `tftp` and nettool's
//! own client. Each gets and puts files around block boundaries (0, 1, 511,
//! 512, 513 bytes, 2 x blksize, blksize +- 1) with the options it can ask
//! for, a netascii text where its client has a netascii mode, and one
//! 40 MiB file at blksize 512 crosses the block-number wrap. Every transfer
//! is compared byte for byte (the local file after a get, the served file
//! after a put), and the server's own JSON record of it must say `ok` with
//! the options that client really asked for.
//!
//! What each client sends (seen on the wire here; the tests hold them to
//! it through the server's records):
//! - tftp-hpa 5.2 `tftp`: no options at all (so blksize 512 only, no
//!   tsize); defaults to netascii (`-m binary` for octet); translates
//!   netascii both ways; exits 0 even after an ERROR.
//! - atftp 0.8: no options unless `--option "blksize N"` / `--option
//!   "windowsize N"`; no tsize by default; netascii only through its
//!   interactive `mode netascii` command (fed on stdin here).
//! - curl 7.88: always `tsize`, `blksize 512` (even unasked;
//!   `--tftp-blksize N`) and `timeout 6`; `;mode=netascii` in the URL
//!   sends netascii but writes (get) and sends (put) the wire bytes
//!   untranslated; it refuses an OACK's `tsize 0` (exit 71, `getpeername()
//!   failed`), so it gets the empty file with `--tftp-no-options`.
//! - busybox 1.35 `tftp`: `tsize` always, `blksize` with `-b`; octet only.
//! - nettool: `tsize` on get only, blksize and windowsize when asked.
//!
//! The same clients also run once over `::1`.
//!
//! A missing client skips outside CI and fails under CI
//! (`util::skip_or_fail`). The clients run in parallel where they can: the
//! cases of one client on threads of their own, each with its own names.

mod tftpd;
mod util;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use tftpd::{Serve, assert_same_bytes, pattern, workdir};
use util::{Output, run_command, shell_words, skip_or_fail, which};

/// A client run longer than this is killed (and the test fails).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Get,
    Put,
}

impl Op {
    /// The server's `direction` for it.
    fn direction(self) -> &'static str {
        match self {
            Op::Get => "read",
            Op::Put => "write",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Octet,
    Netascii,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Octet => "octet",
            Mode::Netascii => "netascii",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    /// tftp-hpa's `tftp`.
    Hpa,
    Atftp,
    Curl,
    /// busybox `tftp`.
    Busybox,
    Nettool,
}

/// The options one set of runs asks for (`None`: not asked).
#[derive(Debug, Clone, Copy)]
struct Ask {
    blksize: Option<u64>,
    windowsize: Option<u64>,
    /// No options at all, not even those the client always sends.
    none: bool,
}

const PLAIN: Ask = Ask {
    blksize: None,
    windowsize: None,
    none: false,
};

/// curl's `--tftp-no-options`: curl refuses an OACK's `tsize 0` (it
/// exits 71 on an empty file), so it gets an empty file without options.
const NO_OPTIONS: Ask = Ask {
    blksize: None,
    windowsize: None,
    none: true,
};

impl Ask {
    fn blksize(n: u64) -> Ask {
        Ask {
            blksize: Some(n),
            ..PLAIN
        }
    }

    fn windowed(blksize: u64, windowsize: u64) -> Ask {
        Ask {
            blksize: Some(blksize),
            windowsize: Some(windowsize),
            none: false,
        }
    }

    /// A few letters for file names.
    fn tag(self) -> String {
        match (self.blksize, self.windowsize) {
            _ if self.none => "noopt".into(),
            (None, None) => "plain".into(),
            (Some(b), None) => format!("b{b}"),
            (b, Some(w)) => format!("b{}w{w}", b.unwrap_or(512)),
        }
    }
}

impl Client {
    fn name(self) -> &'static str {
        match self {
            Client::Hpa => "tftp-hpa",
            Client::Atftp => "atftp",
            Client::Curl => "curl",
            Client::Busybox => "busybox",
            Client::Nettool => "nettool",
        }
    }

    /// The client's program, or `None` after `skip_or_fail`.
    fn program(self) -> Option<PathBuf> {
        let (prog, package) = match self {
            Client::Nettool => return Some(util::bin().to_path_buf()),
            Client::Hpa => ("tftp", "tftp-hpa"),
            Client::Atftp => ("atftp", "atftp"),
            Client::Curl => ("curl", "curl"),
            Client::Busybox => ("busybox", "busybox"),
        };
        let found = which(prog);
        if found.is_none() {
            skip_or_fail(format!(
                "TFTP client `{prog}` is not installed (apt-get install {package}; scripts/test.sh does)"
            ));
        }
        found
    }

    /// Whether it translates netascii (else it moves the wire bytes as
    /// they are: curl).
    fn translates_netascii(self) -> bool {
        self != Client::Curl
    }

    /// Whether it sends tsize (the size of what it uploads, 0 on get).
    fn sends_tsize(self, op: Op, ask: Ask) -> bool {
        match self {
            Client::Curl | Client::Busybox => !ask.none,
            Client::Nettool => op == Op::Get,
            Client::Hpa | Client::Atftp => false,
        }
    }

    /// The blksize it asks for: curl asks 512 even unasked.
    fn blksize_asked(self, ask: Ask) -> Option<u64> {
        match (self, ask.blksize) {
            _ if ask.none => None,
            (Client::Curl, None) => Some(512),
            (_, b) => b,
        }
    }

    /// The `timeout` option it sends.
    fn timeout_asked(self, ask: Ask) -> Option<u64> {
        (self == Client::Curl && !ask.none).then_some(6)
    }

    /// One transfer's command line (run in `wd`) and its stdin.
    fn command(
        self,
        prog: &Path,
        server: SocketAddr,
        t: &Transfer,
        wd: &Path,
    ) -> (Command, String, Option<Vec<u8>>) {
        let ip = server.ip().to_string();
        let port = server.port().to_string();
        let (remote, local) = (t.remote.as_str(), t.local.as_str());
        let blk = t.ask.blksize.map(|b| b.to_string());
        let mut stdin = None;
        let mut args: Vec<String> = Vec::new();
        let mut push = |a: &[&str]| args.extend(a.iter().map(|s| (*s).to_string()));
        match self {
            Client::Hpa => {
                // It never sends options.
                assert!(t.ask.blksize.is_none() && t.ask.windowsize.is_none());
                let m = if t.mode == Mode::Octet {
                    "binary"
                } else {
                    "netascii"
                };
                push(&["-v", "-m", m, &ip, &port, "-c"]);
                match t.op {
                    Op::Get => push(&["get", remote, local]),
                    Op::Put => push(&["put", local, remote]),
                }
            }
            Client::Atftp => {
                if let Some(b) = &blk {
                    push(&["--option", &format!("blksize {b}")]);
                }
                if let Some(w) = t.ask.windowsize {
                    push(&["--option", &format!("windowsize {w}")]);
                }
                match t.mode {
                    Mode::Octet => {
                        let flag = if t.op == Op::Get { "-g" } else { "-p" };
                        push(&[flag, "-r", remote, "-l", local, &ip, &port]);
                    }
                    Mode::Netascii => {
                        // Batch mode has no mode flag: the interactive
                        // commands, on stdin.
                        let cmd = match t.op {
                            Op::Get => format!("get {remote} {local}"),
                            Op::Put => format!("put {local} {remote}"),
                        };
                        stdin = Some(format!("mode netascii\n{cmd}\nquit\n").into_bytes());
                        push(&[&ip, &port]);
                    }
                }
            }
            Client::Curl => {
                let mut url = format!("tftp://{server}/{remote}");
                if t.mode == Mode::Netascii {
                    url.push_str(";mode=netascii");
                }
                // -q first: no ~/.curlrc; no proxy from the environment
                // either (the request goes to loopback, as it says).
                push(&["-q", "-sS", "--noproxy", "*"]);
                if t.ask.none {
                    push(&["--tftp-no-options"]);
                }
                if let Some(b) = &blk {
                    push(&["--tftp-blksize", b]);
                }
                match t.op {
                    Op::Get => push(&["-o", local, &url]),
                    Op::Put => push(&["-T", local, &url]),
                }
            }
            Client::Busybox => {
                assert_eq!(t.mode, Mode::Octet, "busybox tftp has no netascii");
                push(&["tftp"]);
                if let Some(b) = &blk {
                    push(&["-b", b]);
                }
                let flag = if t.op == Op::Get { "-g" } else { "-p" };
                push(&[flag, "-r", remote, "-l", local, &ip, &port]);
            }
            Client::Nettool => {
                let verb = if t.op == Op::Get { "get" } else { "put" };
                push(&["tftp", verb, "--json", "-m", t.mode.name()]);
                if let Some(b) = &blk {
                    push(&["--blksize", b]);
                }
                if let Some(w) = t.ask.windowsize {
                    push(&["--windowsize", &w.to_string()]);
                }
                let hp = server.to_string();
                match t.op {
                    Op::Get => push(&[&hp, remote, local]),
                    Op::Put => push(&[&hp, local, remote]),
                }
            }
        }
        let mut cmd = Command::new(prog);
        cmd.args(&args).current_dir(wd).env_remove("PROC_ROOT");
        let mut words = vec![prog.display().to_string()];
        words.extend(args);
        (cmd, shell_words(&words), stdin)
    }
}

/// One transfer: `content` is the file's bytes as the server holds them
/// (a get) or the client sends them (a put).
struct Transfer {
    op: Op,
    mode: Mode,
    ask: Ask,
    /// The name on the server, unique in the test.
    remote: String,
    /// The name in the client's working directory.
    local: String,
    content: Vec<u8>,
}

/// netascii on the wire: LF -> CR LF, CR -> CR NUL.
fn netascii_encode(local: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for &b in local {
        match b {
            b'\n' => out.extend_from_slice(b"\r\n"),
            b'\r' => out.extend_from_slice(b"\r\0"),
            b => out.push(b),
        }
    }
    out
}

/// A text with LF, bare CR and CR LF lines, laid out so that wire pairs
/// straddle block boundaries at 512: a CR LF at 511/512 and a CR NUL at
/// 1023/1024; it ends in a bare CR.
fn netascii_text() -> Vec<u8> {
    let mut t = vec![b'a'; 511];
    t.push(b'\n');
    t.extend(std::iter::repeat_n(b'b', 510));
    t.push(b'\r');
    t.extend_from_slice(b"unix line\nmac line\rdos line\r\n\n\r\n\r\rtail");
    for i in 0..40 {
        t.extend_from_slice(format!("line {i} with LF\n").as_bytes());
        t.extend_from_slice(format!("line {i} with CR LF\r\n").as_bytes());
    }
    t.push(b'\r');
    let wire = netascii_encode(&t);
    assert_eq!(&wire[511..513], b"\r\n");
    assert_eq!(&wire[1023..1025], b"\r\0");
    t
}

/// The sizes around block boundaries for a blksize.
fn sizes(blksize: u64) -> Vec<usize> {
    let b = usize::try_from(blksize).unwrap();
    let mut v = vec![0, 1, 511, 512, 513, 2 * b];
    if b != 512 {
        v.extend([b - 1, b, b + 1]);
    }
    v
}

/// Run `client`'s transfer `t` against `srv` in the fresh directory `wd`
/// and check everything: exit 0, the bytes at the other end, the server's
/// record (outcome, mode, options, bytes).
#[track_caller]
fn run_transfer(client: Client, prog: &Path, srv: &Serve, t: &Transfer) {
    let wd = workdir();
    // What the client's side holds: netascii wire bytes for curl, which
    // does not translate.
    let raw = t.mode == Mode::Netascii && !client.translates_netascii();
    let client_bytes = if raw {
        netascii_encode(&t.content)
    } else {
        t.content.clone()
    };
    match t.op {
        Op::Get => {
            srv.add_file(&t.remote, &t.content);
        }
        Op::Put => std::fs::write(wd.path().join(&t.local), &client_bytes).unwrap(),
    }
    let (cmd, cmdline, stdin) = client.command(prog, srv.addr(), t, wd.path());
    let run = run_command(cmd, cmdline, stdin.as_deref(), CLIENT_TIMEOUT);
    let what = format!(
        "{} {:?} {} {} ({} bytes)",
        client.name(),
        t.op,
        t.mode.name(),
        t.ask.tag(),
        t.content.len()
    );
    assert_eq!(
        run.code(),
        Some(0),
        "{what} failed{run:?}\nserver stdout:\n{}\nserver stderr: {}",
        srv.stdout_lines().join("\n"),
        srv.stderr()
    );
    match t.op {
        Op::Get => {
            let got = std::fs::read(wd.path().join(&t.local))
                .unwrap_or_else(|e| panic!("{what}: no local file: {e}{run:?}"));
            assert_same_bytes(&what, &got, &client_bytes);
        }
        Op::Put => srv.expect_file(&t.remote, &t.content, &what),
    }
    check_record(client, srv, t, &client_bytes, &what, &run);
}

/// The server's record of `t`: `ok`, its mode, and the options this client
/// asks for as the server granted them.
#[track_caller]
fn check_record(
    client: Client,
    srv: &Serve,
    t: &Transfer,
    client_bytes: &[u8],
    what: &str,
    run: &Output,
) -> Value {
    let r = srv.transfer_record(&t.remote, t.op.direction());
    let ctx = || format!("{what}: server record {r}{run:?}");
    assert_eq!(r["outcome"], "ok", "{}", ctx());
    assert_eq!(r["error"], Value::Null, "{}", ctx());
    assert_eq!(r["mode"], t.mode.name(), "{}", ctx());
    let o = &r["options"];
    assert_eq!(
        o["blksize"].as_u64(),
        Some(client.blksize_asked(t.ask).unwrap_or(512)),
        "{}",
        ctx()
    );
    assert_eq!(
        o["windowsize"].as_u64(),
        Some(t.ask.windowsize.unwrap_or(1)),
        "{}",
        ctx()
    );
    assert_eq!(
        o["timeout"].as_u64(),
        client.timeout_asked(t.ask),
        "{}",
        ctx()
    );
    // On get the server's answer (the file's size; none in netascii,
    // whose size on the wire it does not know ahead), on put the client's
    // (what it sends: for curl's netascii, the wire bytes).
    let tsize = match t.op {
        _ if !client.sends_tsize(t.op, t.ask) => None,
        Op::Get if t.mode == Mode::Netascii => None,
        Op::Get => Some(t.content.len() as u64),
        Op::Put => Some(client_bytes.len() as u64),
    };
    assert_eq!(o["tsize"].as_u64(), tsize, "{}", ctx());
    if t.mode == Mode::Octet {
        assert_eq!(
            r["bytes"].as_u64(),
            Some(t.content.len() as u64),
            "{}",
            ctx()
        );
    } else {
        // File bytes or wire bytes: either, but one of them.
        let n = r["bytes"].as_u64();
        let wire = netascii_encode(&t.content).len() as u64;
        assert!(
            n == Some(t.content.len() as u64) || n == Some(wire),
            "{}",
            ctx()
        );
    }
    r
}

/// Octet gets and puts by `client` for each of `asks`, of the sizes
/// `sizes` gives for the blksize asked, under names of their own.
fn octet_cases(client: Client, asks: &[Ask], sizes: impl Fn(u64) -> Vec<usize>) -> Vec<Transfer> {
    let mut cases = Vec::new();
    for &ask in asks {
        let blk = client.blksize_asked(ask).unwrap_or(512);
        for size in sizes(blk) {
            for op in [Op::Get, Op::Put] {
                let name = format!("{}-{op:?}-{}-{size}.bin", client.name(), ask.tag());
                let ask = if client == Client::Curl && op == Op::Get && size == 0 {
                    NO_OPTIONS
                } else {
                    ask
                };
                cases.push(Transfer {
                    op,
                    mode: Mode::Octet,
                    ask,
                    local: format!("local-{name}"),
                    remote: name.to_lowercase(),
                    content: pattern(size, size as u64 ^ blk),
                });
            }
        }
    }
    cases
}

/// Every size around `ask`'s block boundaries, got and put by `client`,
/// plus the netascii text both ways when it has a netascii mode; the cases
/// run two at a time.
fn client_interop(client: Client, asks: &[Ask], netascii: bool) {
    let Some(prog) = client.program() else { return };
    let srv = Serve::start(&["--write"]);
    let mut cases = octet_cases(client, asks, sizes);
    if netascii {
        for op in [Op::Get, Op::Put] {
            let name = format!("{}-{op:?}-text.txt", client.name()).to_lowercase();
            cases.push(Transfer {
                op,
                mode: Mode::Netascii,
                ask: PLAIN,
                local: format!("local-{name}"),
                remote: name,
                content: netascii_text(),
            });
        }
    }
    let start = Instant::now();
    run_parallel(&cases, 2, |t| run_transfer(client, &prog, &srv, t));
    assert_eq!(
        srv.temp_files(),
        Vec::<String>::new(),
        "uploads left temporary files"
    );
    eprintln!(
        "{}: {} transfers in {:.2?}",
        client.name(),
        cases.len(),
        start.elapsed()
    );
}

/// Every client over IPv6 (`--listen [::1]:0`): a short and a two-block
/// file each way, all clients at once.
#[test]
fn every_client_over_ipv6_loopback() {
    if !tftpd::have_ipv6_loopback() {
        skip_or_fail("no IPv6 loopback (::1) here");
        return;
    }
    let srv = Serve::start_ipv6(&["--write"]);
    assert!(srv.addr().is_ipv6(), "{srv:?}");
    let mut cases = Vec::new();
    for client in [
        Client::Hpa,
        Client::Atftp,
        Client::Curl,
        Client::Busybox,
        Client::Nettool,
    ] {
        let Some(prog) = client.program() else { return };
        for t in octet_cases(client, &[PLAIN], |_| vec![1, 513]) {
            cases.push((client, prog.clone(), t));
        }
    }
    run_parallel(&cases, 2, |(client, prog, t)| {
        run_transfer(*client, prog, &srv, t);
        let r = srv.transfer_record(&t.remote, t.op.direction());
        assert!(
            r["client"]
                .as_str()
                .is_some_and(|c| c.starts_with("[::1]:")),
            "{} over IPv6: the record's client {r}",
            client.name()
        );
    });
}

/// `check` on every case, `threads` at a time; then fail naming each case
/// that failed (its panic is above).
fn run_parallel<C: Sync>(cases: &[C], threads: usize, check: impl Fn(&C) + Sync) {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failed = std::sync::Mutex::new(Vec::new());
    thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(c) = cases.get(i) else { return };
                    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(c))).is_err()
                    {
                        failed.lock().unwrap().push(i);
                    }
                }
            });
        }
    });
    let failed = failed.into_inner().unwrap();
    assert!(
        failed.is_empty(),
        "{} of {} cases failed (case numbers {failed:?}; each panic is above)",
        failed.len(),
        cases.len()
    );
}

/// tftp-hpa's client asks for no options: lock-step at 512, no tsize.
#[test]
fn tftp_hpa_client_get_put_sizes_and_netascii() {
    client_interop(Client::Hpa, &[PLAIN], true);
}

#[test]
fn atftp_client_get_put_sizes_blksize_windowsize_and_netascii() {
    client_interop(
        Client::Atftp,
        &[PLAIN, Ask::blksize(1468), Ask::windowed(1468, 8)],
        true,
    );
}

#[test]
fn curl_client_get_put_sizes_blksize_and_netascii() {
    client_interop(Client::Curl, &[PLAIN, Ask::blksize(1468)], true);
}

#[test]
fn busybox_client_get_put_sizes_and_blksize() {
    client_interop(Client::Busybox, &[PLAIN, Ask::blksize(1468)], false);
}

#[test]
fn nettool_client_get_put_sizes_blksize_windowsize_and_netascii() {
    client_interop(
        Client::Nettool,
        &[PLAIN, Ask::blksize(8192), Ask::windowed(1468, 8)],
        true,
    );
}

/// 40 MiB at blksize 512 is 81,920 blocks: the block number wraps past
/// 65535 in both of the server's directions. curl gets and puts it (curl
/// stalls at the wrap unless it goes to 0, shared/TFTP.md, and it shares
/// no code with the server), and so does nettool's client, all at once.
#[test]
fn block_number_rollover_40mib_at_blksize_512() {
    const SIZE: usize = 40 << 20;
    let curl = which("curl");
    if curl.is_none() {
        skip_or_fail("curl is not installed (apt-get install curl)");
        return;
    }
    let srv = Serve::start(&["--write"]);
    let data = pattern(SIZE, 0x40);
    srv.add_file("big.bin", &data);
    let start = Instant::now();
    let cases: Vec<(Client, Op, &str)> = vec![
        (Client::Nettool, Op::Get, "big.bin"),
        (Client::Nettool, Op::Put, "big-up.bin"),
        (Client::Curl, Op::Get, "big.bin"),
        (Client::Curl, Op::Put, "big-up-curl.bin"),
    ];
    run_parallel(&cases, cases.len(), |&(client, op, remote)| {
        let prog = client.program().expect("found above");
        let wd = workdir();
        let t = Transfer {
            op,
            mode: Mode::Octet,
            ask: PLAIN,
            remote: remote.to_string(),
            local: format!("{}-{op:?}.bin", client.name()),
            content: Vec::new(),
        };
        if op == Op::Put {
            std::fs::write(wd.path().join(&t.local), &data).unwrap();
        }
        let (cmd, cmdline, _) = client.command(&prog, srv.addr(), &t, wd.path());
        let run = run_command(cmd, cmdline, None, CLIENT_TIMEOUT);
        let what = format!("{} {op:?} 40 MiB", client.name());
        assert_eq!(run.code(), Some(0), "{what}{run:?}");
        match op {
            Op::Get => {
                let got = std::fs::read(wd.path().join(&t.local)).expect("the local file");
                assert_same_bytes(&what, &got, &data);
            }
            Op::Put => srv.expect_file(remote, &data, &what),
        }
        eprintln!("{what}: {:.2?}", run.elapsed);
    });
    // Both gets of big.bin and the puts: four records, all ok and whole
    // (a get's record may come a moment after its client is done).
    let ok_whole = |file: &str, dir: &str| {
        srv.records()
            .iter()
            .filter(|r| {
                r["event"] == "transfer"
                    && r["file"] == file
                    && r["direction"] == dir
                    && r["outcome"] == "ok"
                    && r["bytes"].as_u64() == Some(SIZE as u64)
                    && r["options"]["blksize"].as_u64() == Some(512)
            })
            .count()
    };
    let all = util::wait_until(Duration::from_secs(5), || {
        ok_whole("big.bin", "read") == 2
            && ok_whole("big-up.bin", "write") == 1
            && ok_whole("big-up-curl.bin", "write") == 1
    });
    assert!(
        all,
        "want 2 whole reads of big.bin and a write of each upload:\n{}",
        srv.stdout_lines().join("\n")
    );
    assert_eq!(srv.temp_files(), Vec::<String>::new());
    eprintln!("40 MiB x 4 at blksize 512: {:.2?}", start.elapsed());
}
