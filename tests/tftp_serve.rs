//! `nettool tftp serve` as a process: the privilege drop, the setup errors,
//! and how it stops (SIGINT: running transfers finish within the grace,
//! then a summary; past the grace they get ERROR 0). Real clients are in
//! `tftp_serve_interop.rs`, hostile ones in `tftp_serve_hostile.rs`.
//!
//! Lab rule (shared/LAB.md): the server listens on 127.0.0.1 or `::1` only,
//! and every client talks to those literals.

mod util;

use std::io::{BufRead as _, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nettool::wire::tftp::{self, Packet};
use serde_json::Value;

/// A server process; killed when dropped.
struct Served {
    child: Child,
    lines: mpsc::Receiver<String>,
    addrs: Vec<SocketAddr>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// Start `tftp serve DIR --json` on each of `listen`, and wait for
    /// its `listening` records.
    fn start(dir: &Path, listen: &[&str], more: &[&str]) -> Served {
        let mut cmd = Command::new(util::bin());
        cmd.args(["tftp", "serve"]).arg(dir).arg("--json");
        for l in listen {
            cmd.args(["--listen", l]);
        }
        cmd.args(more)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("start nettool tftp serve");
        let out = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut s = Served {
            child,
            lines,
            addrs: Vec::new(),
        };
        while s.addrs.len() < listen.len() {
            let v = s
                .record(Duration::from_secs(10))
                .expect("a listening record");
            if v["event"] == "listening" {
                let a = v["address"].as_str().expect("address").parse().unwrap();
                s.addrs.push(a);
            }
        }
        s
    }

    /// The next JSON record, waiting up to `within`.
    fn record(&self, within: Duration) -> Option<Value> {
        let line = self.lines.recv_timeout(within).ok()?;
        Some(serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}")))
    }

    /// Records until one whose event is `event`.
    fn until(&self, event: &str, within: Duration) -> Value {
        let end = Instant::now() + within;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let v = self
                .record(left)
                .unwrap_or_else(|| panic!("no '{event}' record within {within:?}"));
            if v["event"] == event {
                return v;
            }
        }
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill {sig}");
    }

    /// Wait for the exit; its code.
    fn exit_code(&mut self, within: Duration) -> Option<i32> {
        let end = Instant::now() + within;
        while Instant::now() < end {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the server did not exit within {within:?}");
    }
}

fn root_or_skip() -> bool {
    if nettool::sys::user::is_root() {
        return true;
    }
    nettool::skip_or_fail("tftp serve tests need root (the privilege drop, binding as others)");
    false
}

/// A served directory others can read, holding `name` with `bytes`.
fn served_dir(name: &str, bytes: &[u8]) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt as _;
    let d = tempfile::tempdir().unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let f = d.path().join(name);
    std::fs::write(&f, bytes).unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    d
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| u8::try_from(i * 7 % 251).unwrap())
        .collect()
}

/// A scripted client: the read request, then blocks acknowledged only when told.
struct Slow {
    sock: UdpSocket,
    tid: Option<SocketAddr>,
}

impl Slow {
    fn request(server: SocketAddr, name: &str) -> Slow {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let rrq = Packet::Rrq {
            filename: name,
            mode: "octet",
            options: vec![],
        };
        sock.send_to(&rrq.to_vec(), server).unwrap();
        Slow { sock, tid: None }
    }

    /// The next packet from the server's transfer port.
    fn next(&mut self) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; 70_000];
        let (n, from) = self.sock.recv_from(&mut buf).ok()?;
        self.tid.get_or_insert(from);
        buf.truncate(n);
        Some(buf)
    }

    fn ack(&self, block: u16) {
        self.sock
            .send_to(&tftp::ack(block), self.tid.expect("a transfer ID"))
            .unwrap();
    }
}

fn uid_of(pid: u32) -> Vec<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace()
        .skip(1)
        .map(|n| n.parse().unwrap())
        .collect()
}

#[test]
fn root_is_dropped_to_nobody_before_serving_over_ipv4_and_ipv6() {
    if !root_or_skip() {
        return;
    }
    let data = pattern(70_000);
    let dir = served_dir("fw.bin", &data);
    let mut s = Served::start(dir.path(), &["127.0.0.1:0", "[::1]:0"], &[]);
    let nobody = {
        let out = Command::new("id").args(["-u", "nobody"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<u32>()
            .unwrap()
    };
    assert_eq!(
        uid_of(s.child.id()),
        vec![nobody; 4],
        "real, effective, saved, fs uid"
    );
    let work = tempfile::tempdir().unwrap();
    for (i, addr) in s.addrs.clone().iter().enumerate() {
        let local = work.path().join(format!("got{i}"));
        util::nettool(&[
            "tftp".as_ref(),
            "get".as_ref(),
            addr.to_string().as_ref(),
            "fw.bin".as_ref(),
            local.as_os_str(),
        ])
        .run()
        .ok();
        assert_eq!(std::fs::read(&local).unwrap(), data, "via {addr}");
        let rec = s.until("transfer", Duration::from_secs(5));
        assert_eq!(rec["outcome"], "ok");
        assert_eq!(rec["bytes"], 70_000);
        assert_eq!(rec["direction"], "read");
        assert_eq!(
            rec["options"]["tsize"], 70_000,
            "the client asks tsize by default"
        );
    }
    s.signal("-INT");
    let summary = s.until("summary", Duration::from_secs(5));
    assert_eq!(summary["ok"], 2);
    assert_eq!(summary["bytes_sent"], 140_000);
    assert_eq!(s.exit_code(Duration::from_secs(5)), Some(0));
}

#[test]
fn a_directory_the_user_cannot_read_is_one_line_and_exit_2() {
    use std::os::unix::fs::PermissionsExt as _;
    if !root_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let d = dir.path().to_str().unwrap();
    let out = util::nettool(&["tftp", "serve", d, "--listen", "127.0.0.1:0"]).run();
    out.expect_error_line(2, &["nobody", "readable", "chmod"]);
    // Writable is checked too, with --write.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = util::nettool(&["tftp", "serve", d, "--listen", "127.0.0.1:0", "--write"]).run();
    out.expect_error_line(2, &["nobody", "writable"]);
    // A missing directory, a taken port.
    let out = util::nettool(&[
        "tftp",
        "serve",
        "/nonexistent-nettool-dir",
        "--listen",
        "127.0.0.1:0",
    ])
    .run();
    out.expect_error_line(2, &["/nonexistent-nettool-dir"]);
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().to_string();
    let out = util::nettool(&["tftp", "serve", d, "--listen", &port]).run();
    out.expect_error_line(2, &["another TFTP server"]);
}

#[test]
fn sigint_lets_a_running_transfer_finish_and_takes_no_new_one() {
    if !root_or_skip() {
        return;
    }
    let data = pattern(3 * 512 + 10);
    let dir = served_dir("f.bin", &data);
    let mut s = Served::start(dir.path(), &["127.0.0.1:0"], &["--grace", "5"]);
    let server = s.addrs[0];
    let mut c = Slow::request(server, "f.bin");
    let first = c.next().expect("DATA 1");
    assert!(matches!(
        Packet::parse(&first),
        Ok(Packet::Data { block: 1, .. })
    ));
    s.signal("-INT");
    let stopping = s.until("stopping", Duration::from_secs(5));
    assert_eq!(stopping["active"], 1);
    // A new request now goes unanswered: the port is closed.
    let mut late = Slow::request(server, "f.bin");
    late.sock
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    assert!(late.next().is_none(), "no answer after SIGINT");
    // The running one goes on to the end.
    let mut got = first[4..].to_vec();
    for block in 1..=4u16 {
        c.ack(block);
        if block == 4 {
            break;
        }
        let p = c.next().expect("the next block");
        match Packet::parse(&p) {
            Ok(Packet::Data { block: b, data }) => {
                assert_eq!(b, block + 1);
                got.extend_from_slice(data);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(got, data);
    let rec = s.until("transfer", Duration::from_secs(5));
    assert_eq!(rec["outcome"], "ok");
    let summary = s.until("summary", Duration::from_secs(5));
    assert_eq!(
        (summary["ok"].as_u64(), summary["cut_short"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(s.exit_code(Duration::from_secs(5)), Some(0));
}

#[test]
fn past_the_grace_a_stalled_transfer_gets_error_0_and_is_counted() {
    if !root_or_skip() {
        return;
    }
    let dir = served_dir("f.bin", &pattern(5000));
    let mut s = Served::start(
        dir.path(),
        &["127.0.0.1:0"],
        &["--grace", "0.3", "--timeout", "5"],
    );
    let mut c = Slow::request(s.addrs[0], "f.bin");
    c.next().expect("DATA 1");
    let t = Instant::now();
    s.signal("-TERM");
    let p = c.next().expect("an ERROR when the grace ends");
    assert!(
        matches!(Packet::parse(&p), Ok(Packet::Error { code, message })
            if code.to_u16() == 0 && message.contains("shutting down")),
        "{:?}",
        Packet::parse(&p)
    );
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "within the grace and a bit"
    );
    let rec = s.until("transfer", Duration::from_secs(5));
    assert_eq!(rec["outcome"], "failed");
    let summary = s.until("summary", Duration::from_secs(5));
    assert_eq!(summary["cut_short"], 1);
    assert_eq!(s.exit_code(Duration::from_secs(5)), Some(0));
}
