//! The real `nettool tftp get` against a scripted, hostile TFTP server.
//!
//! Each test starts a server thread: a listener on 127.0.0.1:0 takes the
//! request and the script answers from fresh sockets (transfer IDs), as a
//! real server does, then misbehaves on purpose. Every datagram the client
//! sends to any server socket is logged; the sockets stay open until the
//! client has exited, so a late packet never turns into an ICMP error. The
//! binary runs in a temporary directory of its own, and each test checks
//! the exit status, the one-line message on stderr, what the server
//! received, and what is left on disk.
//!
//! Packets are built and read here by hand, independently of the crate's
//! codec.

mod util;

use std::fs;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use util::Output;

// ---------------------------------------------------------------------------
// Packets

fn data(block: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 3];
    v.extend_from_slice(&block.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn oack(options: &[(&str, &str)]) -> Vec<u8> {
    let mut v = vec![0, 6];
    for (k, val) in options {
        v.extend_from_slice(k.as_bytes());
        v.push(0);
        v.extend_from_slice(val.as_bytes());
        v.push(0);
    }
    v
}

fn error(code: u16, message: &str) -> Vec<u8> {
    let mut v = vec![0, 5];
    v.extend_from_slice(&code.to_be_bytes());
    v.extend_from_slice(message.as_bytes());
    v.push(0);
    v
}

fn opcode(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

/// The block of an ACK or DATA, the code of an ERROR.
fn number(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[2], b[3]])
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Request {
    filename: String,
    mode: String,
    options: Vec<(String, String)>,
}

fn parse_request(b: &[u8]) -> Option<Request> {
    // RRQ, or WRQ for the upload tests.
    if b.len() < 4 || !matches!(opcode(b), 1 | 2) || b.last() != Some(&0) {
        return None;
    }
    let parts: Vec<String> = b[2..b.len() - 1]
        .split(|&c| c == 0)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    let options = parts[2..]
        .chunks(2)
        .map(|c| (c[0].to_lowercase(), c.get(1).cloned().unwrap_or_default()))
        .collect();
    Some(Request {
        filename: parts[0].clone(),
        mode: parts.get(1).cloned().unwrap_or_default(),
        options,
    })
}

/// Bytes that show where they came from.
fn file_of(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn block_of(file: &[u8], blksize: usize, k: u64) -> &[u8] {
    let start = ((k - 1) as usize * blksize).min(file.len());
    &file[start..(start + blksize).min(file.len())]
}

fn blocks_in(file: &[u8], blksize: usize) -> u64 {
    (file.len() / blksize) as u64 + 1
}

// ---------------------------------------------------------------------------
// The scripted server

/// A datagram a server socket received.
#[derive(Debug, Clone)]
struct Rx {
    /// The server socket's port.
    at: u16,
    bytes: Vec<u8>,
}

type Log = Arc<Mutex<Vec<Rx>>>;

fn record(log: &Log, at: u16, bytes: &[u8]) {
    log.lock().unwrap().push(Rx {
        at,
        bytes: bytes.to_vec(),
    });
}

/// What the script works with: the listener and fresh sockets.
struct Script {
    listener: UdpSocket,
    log: Log,
    socks: Vec<UdpSocket>,
}

/// One transfer ID of the server, talking to the client.
struct Conn {
    sock: UdpSocket,
    client: SocketAddr,
    log: Log,
    port: u16,
}

/// How the client answered.
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    Ack,
    Error(u16),
    Nothing,
}

impl Script {
    /// The next request on the listener.
    fn request(&mut self, wait: Duration) -> Option<(SocketAddr, Request)> {
        let port = self.listener.local_addr().unwrap().port();
        let end = Instant::now() + wait;
        let mut buf = [0u8; 2048];
        while Instant::now() < end {
            if let Ok((n, from)) = self.listener.recv_from(&mut buf) {
                record(&self.log, port, &buf[..n]);
                if let Some(r) = parse_request(&buf[..n]) {
                    return Some((from, r));
                }
            }
        }
        None
    }

    /// A fresh socket on the listener's address: a new transfer ID.
    fn open(&mut self, client: SocketAddr) -> Conn {
        let ip = self.listener.local_addr().unwrap().ip();
        let sock = UdpSocket::bind((ip, 0)).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(10)))
            .unwrap();
        self.socks.push(sock.try_clone().unwrap());
        let port = sock.local_addr().unwrap().port();
        Conn {
            sock,
            client,
            log: self.log.clone(),
            port,
        }
    }
}

impl Conn {
    fn send(&self, bytes: &[u8]) {
        self.sock.send_to(bytes, self.client).unwrap();
    }

    fn recv(&self, wait: Duration) -> Option<Vec<u8>> {
        let end = Instant::now() + wait;
        let mut buf = [0u8; 2048];
        while Instant::now() < end {
            if let Ok((n, _)) = self.sock.recv_from(&mut buf) {
                record(&self.log, self.port, &buf[..n]);
                return Some(buf[..n].to_vec());
            }
        }
        None
    }

    /// Wait for ACK `block` (other ACKs are skipped) or an ERROR.
    fn reply(&self, block: u16, wait: Duration) -> Reply {
        let end = Instant::now() + wait;
        while let Some(b) = self.recv(end.saturating_duration_since(Instant::now())) {
            match opcode(&b) {
                4 if number(&b) == block => return Reply::Ack,
                5 => return Reply::Error(number(&b)),
                _ => {}
            }
        }
        Reply::Nothing
    }

    /// Send `packet` until ACK `block` comes (a careful lock-step sender).
    fn until_acked(&self, packet: &[u8], block: u16) -> Reply {
        for _ in 0..10 {
            self.send(packet);
            match self.reply(block, Duration::from_millis(300)) {
                Reply::Nothing => {}
                r => return r,
            }
        }
        Reply::Nothing
    }

    /// Serve blocks `first..=last` of `file`, lock-step.
    fn serve(&self, file: &[u8], blksize: usize, first: u64, last: u64) -> bool {
        (first..=last).all(|k| {
            self.until_acked(&data(k as u16, block_of(file, blksize, k)), k as u16) == Reply::Ack
        })
    }
}

struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
    log: Log,
}

fn serve_on(ip: &str, script: impl FnOnce(&mut Script) + Send + 'static) -> Server {
    let listener = UdpSocket::bind((ip, 0)).unwrap();
    listener
        .set_read_timeout(Some(Duration::from_millis(10)))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let log: Log = Arc::default();
    let (stop2, log2) = (stop.clone(), log.clone());
    let thread = std::thread::spawn(move || {
        let mut s = Script {
            listener,
            log: log2,
            socks: Vec::new(),
        };
        script(&mut s);
        // Keep every socket open and listening until the client is gone.
        let mut all = s.socks;
        all.push(s.listener);
        let mut buf = [0u8; 2048];
        while !stop2.load(Ordering::SeqCst) {
            for sock in &all {
                if let Ok((n, _)) = sock.recv_from(&mut buf) {
                    record(&s.log, sock.local_addr().unwrap().port(), &buf[..n]);
                }
            }
        }
        // What is still queued came before the client exited.
        for sock in &all {
            sock.set_nonblocking(true).unwrap();
            while let Ok((n, _)) = sock.recv_from(&mut buf) {
                record(&s.log, sock.local_addr().unwrap().port(), &buf[..n]);
            }
        }
    });
    Server {
        addr,
        stop,
        thread,
        log,
    }
}

fn serve(script: impl FnOnce(&mut Script) + Send + 'static) -> Server {
    serve_on("127.0.0.1", script)
}

impl Server {
    fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Stop, and everything the client sent.
    fn finish(self) -> Vec<Rx> {
        self.stop.store(true, Ordering::SeqCst);
        if let Err(e) = self.thread.join() {
            std::panic::resume_unwind(e);
        }
        Arc::try_unwrap(self.log).unwrap().into_inner().unwrap()
    }
}

/// The texts of the ERRORs the client sent (to any server socket).
fn error_texts(rx: &[Rx]) -> Vec<String> {
    rx.iter()
        .filter(|r| r.bytes.len() >= 4 && opcode(&r.bytes) == 5)
        .map(|r| {
            let text = &r.bytes[4..];
            let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
            String::from_utf8_lossy(&text[..end]).into_owned()
        })
        .collect()
}

/// ERROR codes the client sent (to any server socket).
fn errors(rx: &[Rx]) -> Vec<u16> {
    rx.iter()
        .filter(|r| r.bytes.len() >= 4 && opcode(&r.bytes) == 5)
        .map(|r| number(&r.bytes))
        .collect()
}

// ---------------------------------------------------------------------------
// Running the binary

/// `nettool ARGS` in `cwd`, bounded in time: it must exit by itself, and
/// never by a panic.
#[track_caller]
fn nettool(cwd: &Path, args: &[&str]) -> Output {
    let run = util::nettool(args)
        .current_dir(cwd)
        .timeout(Duration::from_secs(20))
        .run();
    assert!(!run.timed_out, "nettool still running after 20 s{run:?}");
    assert!(!run.stderr.contains("panicked"), "nettool panicked{run:?}");
    assert!(
        run.code().is_some(),
        "exited, not killed by a signal{run:?}"
    );
    run
}

/// `tftp get 127.0.0.1:PORT REMOTE [LOCAL] --timeout 0.2 --retries 3 EXTRA`.
fn get(cwd: &Path, port: u16, remote: &str, local: Option<&str>, extra: &[&str]) -> Output {
    let host = format!("127.0.0.1:{port}");
    let mut args = vec!["tftp", "get", host.as_str(), remote];
    args.extend(local);
    args.extend(["--timeout", "0.2", "--retries", "3"]);
    args.extend(extra);
    nettool(cwd, &args)
}

/// Names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

// ---------------------------------------------------------------------------
// Tests

#[test]
fn impostor_data_mid_transfer_gets_error_5_and_never_reaches_the_file() {
    let file = file_of(5 * 512 + 440);
    let f = file.clone();
    let impostor_port = Arc::new(Mutex::new(0u16));
    let ip = impostor_port.clone();
    let srv = serve(move |s| {
        let (client, _) = s.request(Duration::from_secs(3)).unwrap();
        let conn = s.open(client);
        assert!(conn.serve(&f, 512, 1, 2));
        // Block 3, from another port of the server's host, first.
        let impostor = s.open(client);
        *ip.lock().unwrap() = impostor.port;
        impostor.send(&data(3, &[0xEE; 512]));
        assert_eq!(impostor.reply(0, Duration::from_secs(2)), Reply::Error(5));
        assert!(conn.serve(&f, 512, 3, blocks_in(&f, 512)));
    });
    let dir = tempfile::tempdir().unwrap();
    let run = get(dir.path(), srv.port(), "fw.bin", Some("out.bin"), &[]);
    let rx = srv.finish();
    run.ok();
    assert_eq!(run.stderr, "");
    assert!(
        fs::read(dir.path().join("out.bin")).unwrap() == file,
        "file differs"
    );
    assert_eq!(listing(dir.path()), ["out.bin"]);
    let port = *impostor_port.lock().unwrap();
    let to_impostor: Vec<&Rx> = rx.iter().filter(|r| r.at == port).collect();
    assert_eq!(to_impostor.len(), 1, "{to_impostor:?}");
    assert_eq!(opcode(&to_impostor[0].bytes), 5);
    assert_eq!(
        number(&to_impostor[0].bytes),
        5,
        "ERROR 5, unknown transfer ID"
    );
    assert!(errors(&rx).iter().all(|&c| c == 5), "{rx:?}");
}

/// The impostor's port is gone when our ERROR 5 reaches it (its socket is
/// connected elsewhere, so the kernel answers ICMP port unreachable, as for
/// a closed port, but deterministically). That ICMP error is about the
/// stranger, not the server: the transfer must go on.
#[test]
fn icmp_error_caused_by_a_vanished_impostor_does_not_abort_the_transfer() {
    let file = file_of(5 * 512 + 440);
    let f = file.clone();
    let srv = serve(move |s| {
        let (client, _) = s.request(Duration::from_secs(3)).unwrap();
        let conn = s.open(client);
        assert!(conn.serve(&f, 512, 1, 2));
        let impostor = UdpSocket::bind("127.0.0.1:0").unwrap();
        impostor.connect(s.listener.local_addr().unwrap()).unwrap();
        impostor.send_to(&data(3, &[0xEE; 512]), client).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        conn.serve(&f, 512, 3, blocks_in(&f, 512));
    });
    let dir = tempfile::tempdir().unwrap();
    let run = get(dir.path(), srv.port(), "fw.bin", Some("out.bin"), &[]);
    srv.finish();
    run.ok();
    assert!(
        fs::read(dir.path().join("out.bin")).unwrap() == file,
        "file differs"
    );
}

/// After the final ACK the file is complete and committed; a malformed
/// datagram in the dally must not turn that into a failure (the session
/// already treats an ERROR there so). Exit 1 with LOCAL in place would
/// tell scripts the download failed while leaving the file.
#[test]
fn garbage_in_the_dally_does_not_fail_a_complete_download() {
    let file = file_of(1000);
    let f = file.clone();
    let srv = serve(move |s| {
        let (client, _) = s.request(Duration::from_secs(3)).unwrap();
        let c = s.open(client);
        assert!(c.serve(&f, 512, 1, blocks_in(&f, 512)));
        c.send(b"\x00\x09garbage");
    });
    let dir = tempfile::tempdir().unwrap();
    let run = get(
        dir.path(),
        srv.port(),
        "fw.bin",
        Some("out.bin"),
        &["--dally", "1"],
    );
    srv.finish();
    let present = dir.path().join("out.bin").exists();
    assert!(
        (run.code() == Some(0)) == present,
        "exit {:?} but out.bin {}: {}",
        run.code(),
        if present { "is there" } else { "is missing" },
        run.stderr
    );
    run.ok();
    assert!(fs::read(dir.path().join("out.bin")).unwrap() == file);
}

#[test]
fn reordered_and_duplicated_blocks_leave_the_file_identical() {
    let file = file_of(5 * 512 + 40);
    let f = file.clone();
    let srv = serve(move |s| {
        let (client, _) = s.request(Duration::from_secs(3)).unwrap();
        let c = s.open(client);
        let d = |k: u64| data(k as u16, block_of(&f, 512, k));
        c.send(&d(1));
        c.send(&d(1));
        assert_eq!(c.reply(1, Duration::from_secs(1)), Reply::Ack);
        // 3 before 2, then 2 twice.
        c.send(&d(3));
        c.send(&d(2));
        c.send(&d(2));
        assert_eq!(c.reply(2, Duration::from_secs(1)), Reply::Ack);
        // 4 before 3, 3, then 4 twice and an old 1.
        c.send(&d(4));
        c.send(&d(3));
        assert_eq!(c.reply(3, Duration::from_secs(1)), Reply::Ack);
        c.send(&d(4));
        c.send(&d(4));
        c.send(&d(1));
        assert_eq!(c.reply(4, Duration::from_secs(1)), Reply::Ack);
        assert!(c.serve(&f, 512, 5, 6));
        c.send(&d(6));
    });
    let dir = tempfile::tempdir().unwrap();
    let run = get(dir.path(), srv.port(), "fw.bin", Some("out.bin"), &[]);
    let rx = srv.finish();
    run.ok();
    assert!(
        fs::read(dir.path().join("out.bin")).unwrap() == file,
        "file differs"
    );
    assert_eq!(listing(dir.path()), ["out.bin"]);
    assert_eq!(errors(&rx), [] as [u16; 0]);
}

#[test]
fn oversized_data_is_error_4_and_leaves_no_file() {
    let srv = serve(|s| {
        let (client, _) = s.request(Duration::from_secs(3)).unwrap();
        let c = s.open(client);
        c.send(&data(1, &[0x41; 600]));
        c.recv(Duration::from_secs(2));
    });
    let dir = tempfile::tempdir().unwrap();
    let run = get(dir.path(), srv.port(), "fw.bin", Some("out.bin"), &[]);
    let rx = srv.finish();
    run.expect_error_line(1, &["protocol violation", "600 bytes", "blksize 512"]);
    assert_eq!(errors(&rx), [4]);
    assert_eq!(listing(dir.path()), [] as [&str; 0], "no file, no .part");
}

#[test]
fn garbage_opcode_mid_transfer_is_a_protocol_error_and_leaves_no_file() {
    let file = file_of(4000);
    let srv = serve(move |s| {
        let (client, _) = s.request(Duration::from_secs(3)).unwrap();
        let c = s.open(client);
        assert!(c.serve(&file, 512, 1, 2));
        c.send(b"\x00\x09\x00\x03garbage");
        c.recv(Duration::from_secs(2));
    });
    let dir = tempfile::tempdir().unwrap();
    let run = get(dir.path(), srv.port(), "fw.bin", Some("out.bin"), &[]);
    let rx = srv.finish();
    run.expect_error_line(1, &["protocol violation", "unknown opcode"]);
    assert_eq!(errors(&rx), [4]);
    assert_eq!(listing(dir.path()), [] as [&str; 0]);
}

#[test]
fn endless_stream_beyond_the_announced_tsize_is_cut_off() {
    let sent = Arc::new(Mutex::new(0u64));
    let sent2 = sent.clone();
    let srv = serve(move |s| {
        let (client, req) = s.request(Duration::from_secs(3)).unwrap();
        assert!(
            req.options.contains(&("tsize".into(), "0".into())),
            "{req:?}"
        );
        let c = s.open(client);
        assert_eq!(c.until_acked(&oack(&[("tsize", "1000")]), 0), Reply::Ack);
        // Full blocks, forever (well, 200).
        for k in 1..=200u64 {
            *sent2.lock().unwrap() = k;
            match c.until_acked(&data(k as u16, &[0x5A; 512]), k as u16) {
                Reply::Ack => {}
                _ => break,
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let run = get(dir.path(), srv.port(), "big.bin", Some("out.bin"), &[]);
    let rx = srv.finish();
    run.expect_error_line(1, &["more than 1000 bytes", "tsize"]);
    assert!(run.elapsed < Duration::from_secs(3), "{:?}", run.elapsed);
    assert_eq!(
        *sent.lock().unwrap(),
        2,
        "stopped at the block past the limit"
    );
    assert_eq!(errors(&rx), [3]);
    assert_eq!(listing(dir.path()), [] as [&str; 0]);
}

/// Two blocks, then ERROR 2.
fn error_after_two_blocks(file: Vec<u8>) -> Server {
    serve(move |s| {
        let (client, _) = s.request(Duration::from_secs(3)).unwrap();
        let c = s.open(client);
        assert!(c.serve(&file, 512, 1, 2));
        c.send(&error(2, "Access violation: quota exceeded"));
    })
}

#[test]
fn server_error_mid_transfer_fails_and_leaves_no_file() {
    let srv = error_after_two_blocks(file_of(3000));
    let dir = tempfile::tempdir().unwrap();
    let run = get(dir.path(), srv.port(), "fw.bin", Some("out.bin"), &[]);
    let rx = srv.finish();
    run.expect_error_line(1, &["server error 2", "access violation", "quota exceeded"]);
    assert_eq!(errors(&rx), [] as [u16; 0], "an ERROR is not answered");
    assert_eq!(listing(dir.path()), [] as [&str; 0]);
}

#[test]
fn keep_partial_keeps_what_arrived_as_local_part() {
    let file = file_of(3000);
    let srv = error_after_two_blocks(file.clone());
    let dir = tempfile::tempdir().unwrap();
    let run = get(
        dir.path(),
        srv.port(),
        "fw.bin",
        Some("out.bin"),
        &["--keep-partial"],
    );
    srv.finish();
    assert_eq!(run.code(), Some(1), "{run:?}");
    assert!(run.stderr.contains("out.bin.part"), "{}", run.stderr);
    assert!(run.stderr.contains("server error 2"), "{}", run.stderr);
    assert_eq!(listing(dir.path()), ["out.bin.part"]);
    assert!(fs::read(dir.path().join("out.bin.part")).unwrap() == file[..1024]);
}

#[test]
fn missing_remote_file_does_not_truncate_the_local_one() {
    let srv = serve(|s| {
        let (client, _) = s.request(Duration::from_secs(3)).unwrap();
        s.open(client).send(&error(1, "File not found"));
    });
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("out.bin"), b"precious old content").unwrap();
    let run = get(
        dir.path(),
        srv.port(),
        "nope.bin",
        Some("out.bin"),
        &["--force"],
    );
    srv.finish();
    run.expect_error_line(1, &["server error 1", "file not found"]);
    assert_eq!(
        fs::read(dir.path().join("out.bin")).unwrap(),
        b"precious old content"
    );
    assert_eq!(listing(dir.path()), ["out.bin"]);
}

#[test]
fn existing_local_file_without_force_is_refused_before_any_packet() {
    let srv = serve(|_| {});
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("out.bin"), b"keep me").unwrap();
    let run = get(dir.path(), srv.port(), "fw.bin", Some("out.bin"), &[]);
    std::thread::sleep(Duration::from_millis(50));
    let rx = srv.finish();
    run.expect_error_line(2, &["out.bin exists", "--force"]);
    assert!(rx.is_empty(), "the server heard {rx:?}");
    assert_eq!(fs::read(dir.path().join("out.bin")).unwrap(), b"keep me");
    assert_eq!(listing(dir.path()), ["out.bin"]);
}

#[test]
fn path_traversing_remote_name_is_saved_in_the_cwd() {
    let requested = Arc::new(Mutex::new(String::new()));
    let r2 = requested.clone();
    let srv = serve(move |s| {
        let (client, req) = s.request(Duration::from_secs(3)).unwrap();
        *r2.lock().unwrap() = req.filename;
        assert!(s.open(client).serve(b"root:x:0:0\n", 512, 1, 1));
    });
    let top = tempfile::tempdir().unwrap();
    let cwd = top.path().join("a/b");
    fs::create_dir_all(&cwd).unwrap();
    let run = get(&cwd, srv.port(), "../../etc/passwd", None, &[]);
    srv.finish();
    run.ok();
    assert_eq!(*requested.lock().unwrap(), "../../etc/passwd");
    assert_eq!(fs::read(cwd.join("passwd")).unwrap(), b"root:x:0:0\n");
    assert_eq!(listing(&cwd), ["passwd"]);
    assert_eq!(
        listing(top.path()),
        ["a"],
        "nothing written outside the cwd"
    );
    assert_eq!(listing(&top.path().join("a")), ["b"]);
}

#[test]
fn remote_names_without_a_file_name_are_usage_errors() {
    for remote in ["..", "dir/", "a/..", "."] {
        let srv = serve(|_| {});
        let dir = tempfile::tempdir().unwrap();
        let run = get(dir.path(), srv.port(), remote, None, &[]);
        std::thread::sleep(Duration::from_millis(20));
        let rx = srv.finish();
        run.expect_error_line(2, &["no usable local file name"]);
        assert!(rx.is_empty(), "{remote}: the server heard {rx:?}");
        assert_eq!(listing(dir.path()), [] as [&str; 0], "{remote}");
    }
}

#[test]
fn server_silent_after_block_3_times_out_in_bounded_time() {
    let srv = serve(|s| {
        let (client, _) = s.request(Duration::from_secs(3)).unwrap();
        assert!(s.open(client).serve(&file_of(5000), 512, 1, 3));
        // Then nothing; the sockets stay open (no ICMP error).
    });
    let dir = tempfile::tempdir().unwrap();
    let run = get(dir.path(), srv.port(), "fw.bin", Some("out.bin"), &[]);
    let rx = srv.finish();
    run.expect_error_line(1, &["no answer", "after 4 tries"]);
    // 0.2 + 0.4 + 0.8 + 0.8 s of waiting.
    assert!(
        run.elapsed >= Duration::from_millis(1800) && run.elapsed < Duration::from_secs(5),
        "{:?}",
        run.elapsed
    );
    let ack3 = rx
        .iter()
        .filter(|r| opcode(&r.bytes) == 4 && number(&r.bytes) == 3)
        .count();
    assert_eq!(ack3, 4, "ACK 3 once, then once per retry");
    assert_eq!(listing(dir.path()), [] as [&str; 0]);
}

#[test]
fn oack_with_an_unrequested_option_is_refused_with_error_8() {
    let srv = serve(|s| {
        let (client, _) = s.request(Duration::from_secs(3)).unwrap();
        let c = s.open(client);
        c.send(&oack(&[("tsize", "100"), ("evil", "1")]));
        c.recv(Duration::from_secs(2));
    });
    let dir = tempfile::tempdir().unwrap();
    let run = get(dir.path(), srv.port(), "fw.bin", Some("out.bin"), &[]);
    let rx = srv.finish();
    run.expect_error_line(1, &["option", "'evil'", "never asked"]);
    assert_eq!(errors(&rx), [8]);
    assert_eq!(listing(dir.path()), [] as [&str; 0]);
}

#[test]
fn error_8_to_options_retries_without_options_and_succeeds() {
    let file = file_of(1300);
    let f = file.clone();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let r2 = requests.clone();
    let srv = serve(move |s| {
        let (client, req) = s.request(Duration::from_secs(3)).unwrap();
        assert!(!req.options.is_empty(), "{req:?}");
        r2.lock().unwrap().push(req);
        s.open(client).send(&error(8, "options not supported"));
        // The client asks again, plainly (skip a resent first request).
        loop {
            let (client, req) = s.request(Duration::from_secs(3)).unwrap();
            let plain = req.options.is_empty();
            r2.lock().unwrap().push(req);
            if plain {
                assert!(s.open(client).serve(&f, 512, 1, blocks_in(&f, 512)));
                break;
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let run = get(
        dir.path(),
        srv.port(),
        "fw.bin",
        Some("out.bin"),
        &["--verbose"],
    );
    srv.finish();
    run.ok();
    assert!(
        run.stderr.contains("retried without"),
        "verbose mode says so:\n{}",
        run.stderr
    );
    assert!(fs::read(dir.path().join("out.bin")).unwrap() == file);
    let reqs = requests.lock().unwrap();
    let last = reqs.last().unwrap();
    assert_eq!(
        (last.filename.as_str(), last.mode.as_str()),
        ("fw.bin", "octet")
    );
    assert!(last.options.is_empty());
}

#[test]
fn nothing_listening_is_reported_quickly() {
    let port = {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let run = get(dir.path(), port, "fw.bin", Some("out.bin"), &[]);
    run.expect_error_line(1, &["nothing is listening", &format!("127.0.0.1:{port}")]);
    assert!(run.elapsed < Duration::from_secs(1), "{:?}", run.elapsed);
    assert_eq!(listing(dir.path()), [] as [&str; 0]);
}

#[test]
fn ipv6_loopback_transfer_with_an_impostor() {
    if UdpSocket::bind("[::1]:0").is_err() {
        util::skip_or_fail("cannot bind UDP on ::1 here (IPv6 disabled on lo?)");
        return;
    }
    let file = file_of(2000);
    let f = file.clone();
    let srv = serve_on("::1", move |s| {
        let (client, _) = s.request(Duration::from_secs(3)).unwrap();
        let c = s.open(client);
        assert_eq!(c.until_acked(&oack(&[("tsize", "2000")]), 0), Reply::Ack);
        let impostor = s.open(client);
        impostor.send(&data(1, &[0xEE; 512]));
        assert_eq!(impostor.reply(0, Duration::from_secs(2)), Reply::Error(5));
        assert!(c.serve(&f, 512, 1, blocks_in(&f, 512)));
    });
    let dir = tempfile::tempdir().unwrap();
    let host = format!("[::1]:{}", srv.port());
    let run = nettool(
        dir.path(),
        &[
            "tftp",
            "get",
            &host,
            "fw.bin",
            "out.bin",
            "--timeout",
            "0.2",
            "--retries",
            "3",
        ],
    );
    srv.finish();
    run.ok();
    assert!(fs::read(dir.path().join("out.bin")).unwrap() == file);
}

/// Serve `file` in windows of 16 blocks of 512 after an OACK, each window
/// a little after the ACK that asked for it (slow enough for the client to
/// nap through it: `WindowNap` in src/tftp/pace.rs). `extra(k, c, other)`
/// may send more after block `k`, from the transfer's socket `c` or from
/// `other`, a socket the client does not know. `false` once the client
/// answers anything but the ACK that closes a window.
fn serve_windows(s: &mut Script, file: &[u8], mut extra: impl FnMut(u64, &Conn, &Conn)) -> bool {
    let (client, req) = s.request(Duration::from_secs(3)).unwrap();
    assert!(
        req.options.contains(&("windowsize".into(), "16".into())),
        "{req:?}"
    );
    let c = s.open(client);
    let other = s.open(client);
    if c.until_acked(&oack(&[("blksize", "512"), ("windowsize", "16")]), 0) != Reply::Ack {
        return false;
    }
    let last = blocks_in(file, 512);
    let mut next = 1;
    while next <= last {
        std::thread::sleep(Duration::from_micros(300));
        let end = (next + 15).min(last);
        for k in next..=end {
            c.send(&data(k as u16, block_of(file, 512, k)));
            extra(k, &c, &other);
        }
        if c.reply(end as u16, Duration::from_secs(1)) != Reply::Ack {
            return false;
        }
        next = end + 1;
    }
    true
}

/// What a nap finds queued is taken in together (`recvmmsg`), and each
/// datagram in it is handled as if it came alone: an impostor's DATA gets
/// ERROR 5 and never reaches the file, a duplicate is not written twice.
#[test]
fn napped_windows_handle_an_impostor_and_duplicates_one_by_one() {
    let file = file_of(40 * 16 * 512 + 100);
    let f = file.clone();
    let srv = serve(move |s| {
        let served = serve_windows(s, &f, |k, c, other| {
            if k % 16 == 7 {
                // An impostor's block, and a duplicate of one just sent.
                other.send(&data(k as u16 + 1, &[0xEE; 512]));
                c.send(&data(k as u16 - 2, block_of(&f, 512, k - 2)));
            }
        });
        assert!(served, "the client stopped acknowledging windows");
    });
    let dir = tempfile::tempdir().unwrap();
    let run = get(
        dir.path(),
        srv.port(),
        "fw.bin",
        Some("out.bin"),
        &["--blksize", "512", "--windowsize", "16", "--json"],
    );
    let rx = srv.finish();
    run.ok();
    assert!(
        fs::read(dir.path().join("out.bin")).unwrap() == file,
        "file differs"
    );
    let j: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(j["strangers"], 40, "{j}");
    assert_eq!(j["duplicates"], 40, "{j}");
    assert_eq!(errors(&rx), [5; 40], "ERROR 5 to each impostor block");
    if util::online_cpus() >= 2 {
        assert!(
            j["window_nap"]["naps"].as_u64().unwrap() > 0,
            "no window was napped through: {j}"
        );
    }
}

/// A DATA larger than blksize in a batch is seen whole: the error names
/// its real size.
#[test]
fn oversized_data_inside_a_napped_window_is_error_4_with_its_size() {
    let file = file_of(40 * 16 * 512 + 100);
    let srv = serve(move |s| {
        serve_windows(s, &file, |k, c, _| {
            if k == 30 * 16 + 5 {
                c.send(&data(k as u16 + 1, &[0x41; 3000]));
            }
        });
    });
    let dir = tempfile::tempdir().unwrap();
    let run = get(
        dir.path(),
        srv.port(),
        "fw.bin",
        Some("out.bin"),
        &["--blksize", "512", "--windowsize", "16"],
    );
    let rx = srv.finish();
    run.expect_error_line(1, &["protocol violation", "3000 bytes", "blksize 512"]);
    assert_eq!(errors(&rx), [4]);
    assert_eq!(listing(dir.path()), [] as [&str; 0], "no file, no .part");
}

// ---------------------------------------------------------------------------
// Hardening: signals, local failures, names

/// `nettool ARGS` in `cwd`, started now; the caller ends it.
fn spawn(cwd: &Path, args: &[&str]) -> (std::process::Child, tempfile::TempDir) {
    let out = tempfile::tempdir().unwrap();
    let child = util::nettool(args)
        .current_dir(cwd)
        .command()
        .stdin(Stdio::null())
        .stdout(fs::File::create(out.path().join("stdout")).unwrap())
        .stderr(fs::File::create(out.path().join("stderr")).unwrap())
        .spawn()
        .unwrap();
    (child, out)
}

/// Serves three blocks of `file` lock-step, flags that ACK 3 came, then
/// stays silent (a slow server).
fn three_blocks_then_silence(file: Vec<u8>, acked: Arc<AtomicBool>) -> Server {
    serve(move |s| {
        let (client, _) = s.request(Duration::from_secs(3)).unwrap();
        let c = s.open(client);
        assert!(c.serve(&file, 512, 1, 3));
        acked.store(true, Ordering::SeqCst);
        // Silence: the client waits for block 4 until it is signalled.
        c.recv(Duration::from_secs(2));
    })
}

/// Get from a server that stalls after block 3, send `signal` then, and
/// return the exit status, stderr and what the server received.
fn signalled_get(signal: &str, extra: &[&str], dir: &Path) -> (Option<i32>, String, Vec<Rx>) {
    let acked = Arc::new(AtomicBool::new(false));
    let srv = three_blocks_then_silence(file_of(5000), acked.clone());
    let host = format!("127.0.0.1:{}", srv.port());
    let mut args = vec!["tftp", "get", host.as_str(), "fw.bin", "out.bin"];
    args.extend(["--timeout", "5", "--retries", "2"]);
    args.extend(extra);
    let (mut child, out) = spawn(dir, &args);
    let start = Instant::now();
    while !acked.load(Ordering::SeqCst) {
        assert!(start.elapsed() < Duration::from_secs(10), "no ACK 3");
        std::thread::sleep(Duration::from_millis(5));
    }
    // The client has ACK 3 out and waits for block 4.
    std::thread::sleep(Duration::from_millis(100));
    util::signal(&child, signal);
    let status = util::wait_bounded(&mut child, Duration::from_secs(10), signal);
    let signalled = start.elapsed();
    let rx = srv.finish();
    let stderr = fs::read_to_string(out.path().join("stderr")).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        signalled < Duration::from_secs(3),
        "stopped at once, not after a timeout: {signalled:?}"
    );
    (status.code(), stderr, rx)
}

#[test]
fn sigint_mid_download_removes_the_temp_file_and_tells_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr, rx) = signalled_get("-INT", &[], dir.path());
    assert_eq!(code, Some(130), "exit 130 after SIGINT; stderr:\n{stderr}");
    assert!(stderr.contains("SIGINT"), "{stderr}");
    assert_eq!(errors(&rx), [0], "an ERROR went to the server");
    assert_eq!(listing(dir.path()), [] as [&str; 0], "no temp file left");
}

#[test]
fn sigterm_mid_download_with_keep_partial_keeps_every_acknowledged_block() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr, rx) = signalled_get("-TERM", &["--keep-partial"], dir.path());
    assert_eq!(code, Some(143), "exit 143 after SIGTERM; stderr:\n{stderr}");
    assert!(stderr.contains("SIGTERM"), "{stderr}");
    assert!(stderr.contains("out.bin.part"), "{stderr}");
    assert_eq!(errors(&rx), [0], "an ERROR went to the server");
    assert_eq!(listing(dir.path()), ["out.bin.part"]);
    let part = fs::read(dir.path().join("out.bin.part")).unwrap();
    assert!(
        part == file_of(5000)[..3 * 512],
        "the three acknowledged blocks, {} bytes kept",
        part.len()
    );
}

#[test]
fn keep_partial_after_a_tsize_mismatch_keeps_the_last_acknowledged_block() {
    let file = file_of(2000);
    let f = file.clone();
    let srv = serve(move |s| {
        let (client, _) = s.request(Duration::from_secs(3)).unwrap();
        let c = s.open(client);
        assert_eq!(c.until_acked(&oack(&[("tsize", "3000")]), 0), Reply::Ack);
        assert!(c.serve(&f, 512, 1, blocks_in(&f, 512)));
    });
    let dir = tempfile::tempdir().unwrap();
    let run = get(
        dir.path(),
        srv.port(),
        "fw.bin",
        Some("out.bin"),
        &["--keep-partial"],
    );
    srv.finish();
    assert_eq!(run.code(), Some(1), "{run:?}");
    assert!(run.stderr.contains("tsize 3000"), "{}", run.stderr);
    assert_eq!(listing(dir.path()), ["out.bin.part"]);
    let part = fs::read(dir.path().join("out.bin.part")).unwrap();
    assert!(
        part == file,
        "all 2000 acknowledged bytes, {} kept",
        part.len()
    );
}

/// A WRQ server that changes LOCAL (`change`) between the request and its
/// OACK, then ACKs every DATA. Returns the bytes it took in.
fn upload_with_change(change: impl FnOnce() + Send + 'static) -> (Server, Arc<Mutex<Vec<u8>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let got2 = got.clone();
    let srv = serve(move |s| {
        let (client, req) = s.request(Duration::from_secs(3)).unwrap();
        let tsize = req
            .options
            .iter()
            .find(|(k, _)| k == "tsize")
            .map(|(_, v)| v.clone())
            .expect("tsize asked");
        change();
        let c = s.open(client);
        c.send(&oack(&[("tsize", &tsize)]));
        let mut next = 1u16;
        while let Some(b) = c.recv(Duration::from_secs(2)) {
            match opcode(&b) {
                3 if number(&b) == next => {
                    got2.lock().unwrap().extend_from_slice(&b[4..]);
                    c.send(&[0, 4, (next >> 8) as u8, next as u8]);
                    next += 1;
                    if b.len() < 4 + 512 {
                        break;
                    }
                }
                5 => break,
                _ => {}
            }
        }
    });
    (srv, got)
}

fn put_tsize(dir: &Path, port: u16) -> Output {
    let host = format!("127.0.0.1:{port}");
    nettool(
        dir,
        &[
            "tftp",
            "put",
            host.as_str(),
            "local.bin",
            "up.bin",
            "--tsize",
            "--timeout",
            "0.2",
            "--retries",
            "3",
        ],
    )
}

#[test]
fn put_tsize_of_a_file_that_grows_underneath_fails_and_tells_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local.bin");
    fs::write(&local, file_of(10_340)).unwrap();
    let l = local.clone();
    let (srv, got) = upload_with_change(move || {
        let mut f = fs::OpenOptions::new().append(true).open(&l).unwrap();
        std::io::Write::write_all(&mut f, &[0x77; 140_000]).unwrap();
    });
    let run = put_tsize(dir.path(), srv.port());
    let rx = srv.finish();
    run.expect_error_line(1, &["local.bin", "grew", "10340"]);
    assert_eq!(errors(&rx), [0], "an ERROR went to the server");
    assert_eq!(
        error_texts(&rx),
        ["local file changed size"],
        "a fixed reason, no local path"
    );
    let got = got.lock().unwrap();
    assert!(
        got.len() < 10_340,
        "never a whole file: {} bytes",
        got.len()
    );
}

#[test]
fn put_tsize_of_a_file_that_shrinks_underneath_fails_and_tells_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local.bin");
    fs::write(&local, file_of(10_340)).unwrap();
    let l = local.clone();
    let (srv, got) = upload_with_change(move || {
        fs::OpenOptions::new()
            .write(true)
            .open(&l)
            .unwrap()
            .set_len(5000)
            .unwrap();
    });
    let run = put_tsize(dir.path(), srv.port());
    let rx = srv.finish();
    run.expect_error_line(1, &["local.bin", "shrank", "10340"]);
    assert_eq!(errors(&rx), [0], "an ERROR went to the server");
    assert_eq!(
        error_texts(&rx),
        ["local file changed size"],
        "a fixed reason, no local path"
    );
    assert!(got.lock().unwrap().len() < 5000, "never a whole file");
}

#[test]
fn local_names_of_up_to_255_bytes_work() {
    for len in [242, 243, 250, 255] {
        let file = file_of(700);
        let f = file.clone();
        let srv = serve(move |s| {
            let (client, _) = s.request(Duration::from_secs(3)).unwrap();
            assert!(s.open(client).serve(&f, 512, 1, 2));
        });
        let dir = tempfile::tempdir().unwrap();
        let name = "n".repeat(len);
        let run = get(dir.path(), srv.port(), "fw.bin", Some(&name), &[]);
        srv.finish();
        run.ok();
        assert_eq!(listing(dir.path()), std::slice::from_ref(&name), "{len}");
        assert!(fs::read(dir.path().join(&name)).unwrap() == file, "{len}");
    }
}

#[test]
fn a_local_name_past_255_bytes_is_refused_before_any_packet() {
    let srv = serve(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let name = "x".repeat(256);
    // The default local name, from the remote path, too.
    for (remote, local) in [("fw.bin", Some(name.as_str())), (name.as_str(), None)] {
        let run = get(dir.path(), srv.port(), remote, local, &[]);
        run.expect_error_line(2, &["256 bytes", "at most 255"]);
    }
    std::thread::sleep(Duration::from_millis(20));
    let rx = srv.finish();
    assert!(rx.is_empty(), "the server heard {rx:?}");
    assert_eq!(listing(dir.path()), [] as [&str; 0]);
}

#[test]
fn keep_partial_with_a_255_byte_name_still_keeps_the_data() {
    let srv = error_after_two_blocks(file_of(3000));
    let dir = tempfile::tempdir().unwrap();
    let name = "k".repeat(255);
    let run = get(
        dir.path(),
        srv.port(),
        "fw.bin",
        Some(&name),
        &["--keep-partial"],
    );
    srv.finish();
    assert_eq!(run.code(), Some(1), "{run:?}");
    let kept = listing(dir.path());
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(run.stderr.contains(&kept[0]), "{}", run.stderr);
    assert!(fs::read(dir.path().join(&kept[0])).unwrap() == file_of(3000)[..1024]);
}

#[test]
fn dangling_symlink_as_local_is_refused_before_any_packet() {
    let srv = serve(|_| {});
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("nowhere/at/all", dir.path().join("out.bin")).unwrap();
    let run = get(dir.path(), srv.port(), "fw.bin", Some("out.bin"), &[]);
    std::thread::sleep(Duration::from_millis(20));
    let rx = srv.finish();
    run.expect_error_line(2, &["out.bin", "symbolic link", "--force"]);
    assert!(rx.is_empty(), "the server heard {rx:?}");
    assert_eq!(listing(dir.path()), ["out.bin"]);
}

/// A 64 KiB tmpfs mounted on a fresh directory, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount() -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
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
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn disk_full_mid_download_sends_error_3_and_leaves_no_file() {
    let Some(disk) = SmallDisk::mount() else {
        return;
    };
    let file = file_of(300 << 10);
    let srv = serve(move |s| {
        let (client, _) = s.request(Duration::from_secs(3)).unwrap();
        let c = s.open(client);
        // Stops at the client's ERROR.
        c.serve(&file, 512, 1, blocks_in(&file, 512));
    });
    let run = get(disk.dir.path(), srv.port(), "fw.bin", Some("out.bin"), &[]);
    let rx = srv.finish();
    run.expect_error_line(1, &["no space left on device"]);
    assert_eq!(errors(&rx), [3], "ERROR 3 (disk full) went to the server");
    assert_eq!(listing(disk.dir.path()), [] as [&str; 0]);
}

#[test]
fn put_with_an_empty_or_oversized_remote_name_is_refused_up_front() {
    let long = "r".repeat(70_000);
    for remote in ["", long.as_str()] {
        let srv = serve(|_| {});
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("local.bin"), b"x").unwrap();
        let host = format!("127.0.0.1:{}", srv.port());
        let run = nettool(dir.path(), &["tftp", "put", &host, "local.bin", remote]);
        std::thread::sleep(Duration::from_millis(20));
        let rx = srv.finish();
        run.expect_error_line(2, &["remote"]);
        assert!(rx.is_empty(), "{}: the server heard {rx:?}", remote.len());
        // And for get.
        let srv = serve(|_| {});
        let run = get(dir.path(), srv.port(), remote, Some("-"), &[]);
        std::thread::sleep(Duration::from_millis(20));
        let rx = srv.finish();
        run.expect_error_line(2, &["remote"]);
        assert!(rx.is_empty(), "{}: the server heard {rx:?}", remote.len());
    }
}

#[test]
fn a_remote_directory_name_can_go_to_stdout() {
    let srv = serve(|s| {
        let (client, req) = s.request(Duration::from_secs(3)).unwrap();
        assert_eq!(req.filename, "images/");
        assert!(s.open(client).serve(b"a listing\n", 512, 1, 1));
    });
    let dir = tempfile::tempdir().unwrap();
    let run = get(dir.path(), srv.port(), "images/", Some("-"), &[]);
    srv.finish();
    run.ok();
    assert_eq!(run.stdout, "a listing\n");
    assert_eq!(listing(dir.path()), [] as [&str; 0]);
}

#[test]
fn a_directory_without_write_permission_is_a_setup_error_naming_it() {
    use std::os::unix::fs::PermissionsExt;
    let srv = serve(|_| {});
    let top = tempfile::tempdir().unwrap();
    let ro = top.path().join("readonly");
    fs::create_dir(&ro).unwrap();
    fs::set_permissions(top.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o555)).unwrap();
    let host = format!("127.0.0.1:{}", srv.port());
    let target = ro.join("out.bin");
    let target = target.to_str().unwrap();
    // Root writes anywhere: run as nobody.
    if util::which("setpriv").is_none() {
        util::skip_or_fail("cannot run setpriv: not installed (util-linux)");
        return;
    }
    let out = util::nettool(&["tftp", "get", &host, "fw.bin", target])
        .wrapped(&[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
        ])
        .run();
    std::thread::sleep(Duration::from_millis(20));
    let rx = srv.finish();
    let stderr = &out.stderr;
    if stderr.contains("setpriv:") {
        util::skip_or_fail(format!("setpriv failed: {stderr}"));
        return;
    }
    assert_eq!(out.code(), Some(2), "{stderr}");
    assert!(stderr.contains(ro.to_str().unwrap()), "{stderr}");
    assert!(
        stderr.to_lowercase().contains("permission denied"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(rx.is_empty(), "the server heard {rx:?}");
}

#[test]
fn sigint_mid_upload_exits_130_and_tells_the_server() {
    let acked = Arc::new(AtomicBool::new(false));
    let a2 = acked.clone();
    let srv = serve(move |s| {
        let (client, _) = s.request(Duration::from_secs(3)).unwrap();
        let c = s.open(client);
        c.send(&[0, 4, 0, 0]);
        let mut next = 1u16;
        while next <= 3 {
            let b = c.recv(Duration::from_secs(3)).expect("DATA");
            if opcode(&b) == 3 && number(&b) == next {
                c.send(&[0, 4, 0, next as u8]);
                next += 1;
            }
        }
        a2.store(true, Ordering::SeqCst);
        // Silence: the client waits for ACK 4 until it is signalled.
    });
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("local.bin"), file_of(5000)).unwrap();
    let host = format!("127.0.0.1:{}", srv.port());
    let args = [
        "tftp",
        "put",
        &host,
        "local.bin",
        "up.bin",
        "--timeout",
        "5",
        "--retries",
        "2",
    ];
    let (mut child, out) = spawn(dir.path(), &args);
    let start = Instant::now();
    while !acked.load(Ordering::SeqCst) {
        assert!(start.elapsed() < Duration::from_secs(10), "no DATA 3");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(100));
    util::signal(&child, "-INT");
    let status = util::wait_bounded(&mut child, Duration::from_secs(10), "SIGINT");
    let rx = srv.finish();
    let stderr = fs::read_to_string(out.path().join("stderr")).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted by SIGINT"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(errors(&rx), [0], "an ERROR went to the server");
    assert_eq!(listing(dir.path()), ["local.bin"]);
}

#[test]
fn sigint_while_stdout_is_blocked_still_exits_130_and_tells_the_server() {
    let sent = Arc::new(Mutex::new(0u64));
    let s2 = sent.clone();
    let file = file_of(1 << 20);
    let srv = serve(move |s| {
        let (client, _) = s.request(Duration::from_secs(3)).unwrap();
        let c = s.open(client);
        for k in 1..=blocks_in(&file, 512) {
            *s2.lock().unwrap() = k;
            if c.until_acked(&data(k as u16, block_of(&file, 512, k)), k as u16) != Reply::Ack {
                break;
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let host = format!("127.0.0.1:{}", srv.port());
    let err = dir.path().join("stderr");
    // stdout: a pipe nobody reads, so nettool's writes block once it is
    // full (64 KiB).
    let mut child = util::nettool(&["tftp", "get", &host, "fw.bin", "-", "--timeout", "5"])
        .current_dir(dir.path())
        .command()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    // Blocked: the server's last block stays unacknowledged.
    let mut last = (0, Instant::now());
    loop {
        let now = *sent.lock().unwrap();
        if now != last.0 {
            last = (now, Instant::now());
        } else if now > 0 && last.1.elapsed() > Duration::from_millis(500) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "never blocked");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        last.0 < 1000,
        "blocked well before the end: block {}",
        last.0
    );
    util::signal(&child, "-INT");
    let status = util::wait_bounded(&mut child, Duration::from_secs(3), "SIGINT");
    let rx = srv.finish();
    let stderr = fs::read_to_string(&err).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted by SIGINT"), "{stderr}");
    assert_eq!(errors(&rx), [0], "an ERROR went to the server");
    drop(child);
}

#[test]
fn sigint_while_reading_a_stalled_stdin_exits_130_and_tells_the_server() {
    let started = Arc::new(AtomicBool::new(false));
    let s2 = started.clone();
    let srv = serve(move |s| {
        let (client, _) = s.request(Duration::from_secs(3)).unwrap();
        let c = s.open(client);
        c.send(&[0, 4, 0, 0]);
        s2.store(true, Ordering::SeqCst);
        // nettool now reads stdin for block 1, and nothing comes.
    });
    let dir = tempfile::tempdir().unwrap();
    let host = format!("127.0.0.1:{}", srv.port());
    let err = dir.path().join("stderr");
    let mut child = util::nettool(&["tftp", "put", &host, "-", "up.bin", "--timeout", "5"])
        .current_dir(dir.path())
        .command()
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    // Held open, never written: the read blocks.
    let _stdin = child.stdin.take();
    let start = Instant::now();
    while !started.load(Ordering::SeqCst) {
        assert!(start.elapsed() < Duration::from_secs(10), "no WRQ");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(200));
    util::signal(&child, "-INT");
    let status = util::wait_bounded(&mut child, Duration::from_secs(3), "SIGINT");
    let rx = srv.finish();
    let stderr = fs::read_to_string(&err).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted by SIGINT"), "{stderr}");
    assert_eq!(errors(&rx), [0], "an ERROR went to the server");
}

#[test]
fn keep_partial_with_nothing_received_leaves_an_existing_part_file_alone() {
    let srv = serve(|s| {
        let (client, _) = s.request(Duration::from_secs(3)).unwrap();
        s.open(client).send(&error(1, "File not found"));
    });
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("out.bin.part"), b"resume me").unwrap();
    let run = get(
        dir.path(),
        srv.port(),
        "nope.bin",
        Some("out.bin"),
        &["--keep-partial"],
    );
    srv.finish();
    run.expect_error_line(1, &["server error 1", "file not found"]);
    assert_eq!(
        fs::read(dir.path().join("out.bin.part")).unwrap(),
        b"resume me"
    );
    assert_eq!(listing(dir.path()), ["out.bin.part"], "nothing kept");
}

#[test]
fn keep_partial_never_replaces_an_existing_part_file() {
    let file = file_of(3000);
    let srv = error_after_two_blocks(file.clone());
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("out.bin.part"), b"resume me").unwrap();
    let run = get(
        dir.path(),
        srv.port(),
        "fw.bin",
        Some("out.bin"),
        &["--keep-partial"],
    );
    srv.finish();
    assert_eq!(run.code(), Some(1), "{run:?}");
    assert!(run.stderr.contains("server error 2"), "{}", run.stderr);
    assert!(
        fs::read(dir.path().join("out.bin.part")).unwrap() == b"resume me",
        "out.bin.part replaced"
    );
    let kept: Vec<String> = listing(dir.path())
        .into_iter()
        .filter(|n| n != "out.bin.part")
        .collect();
    assert_eq!(kept.len(), 1, "the data kept under another name: {kept:?}");
    assert!(
        kept[0].starts_with(".out.bin.") && kept[0].ends_with(".part"),
        "{kept:?}"
    );
    assert!(run.stderr.contains(&kept[0]), "named: {}", run.stderr);
    assert!(run.stderr.contains("out.bin.part exists"), "{}", run.stderr);
    assert!(fs::read(dir.path().join(&kept[0])).unwrap() == file[..1024]);
}

/// A name that makes a plain request (`\0\x01 NAME \0 octet \0`) of
/// `len` bytes.
fn name_for_request_of(len: usize) -> String {
    "n".repeat(len - 2 - 1 - "octet".len() - 1)
}

#[test]
fn a_plain_request_of_512_bytes_is_sent_without_the_options_that_do_not_fit() {
    let name = name_for_request_of(512);
    let file = file_of(700);
    let f2 = file.clone();
    let got = Arc::new(Mutex::new(Vec::new()));
    let g2 = got.clone();
    let srv = serve(move |s| {
        let (client, r) = s.request(Duration::from_secs(3)).unwrap();
        *g2.lock().unwrap() = r.options.clone();
        let c = s.open(client);
        assert!(c.serve(&f2, 512, 1, 2));
    });
    let dir = tempfile::tempdir().unwrap();
    let run = get(dir.path(), srv.port(), &name, Some("out.bin"), &[]);
    let rx = srv.finish();
    run.ok();
    assert_eq!(rx[0].bytes.len(), 512, "the request");
    assert!(got.lock().unwrap().is_empty(), "no options");
    assert_eq!(fs::read(dir.path().join("out.bin")).unwrap(), file);
}

#[test]
fn a_plain_request_of_513_bytes_is_refused_before_any_packet() {
    let name = name_for_request_of(513);
    let srv = serve(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let run = get(dir.path(), srv.port(), &name, Some("out.bin"), &[]);
    std::thread::sleep(Duration::from_millis(20));
    let rx = srv.finish();
    run.expect_error_line(2, &["513", "512"]);
    assert!(rx.is_empty(), "the server heard {rx:?}");
    // And for put (a WRQ is as long).
    let srv = serve(|_| {});
    fs::write(dir.path().join("local.bin"), b"x").unwrap();
    let host = format!("127.0.0.1:{}", srv.port());
    let run = nettool(dir.path(), &["tftp", "put", &host, "local.bin", &name]);
    std::thread::sleep(Duration::from_millis(20));
    let rx = srv.finish();
    run.expect_error_line(2, &["513", "512"]);
    assert!(rx.is_empty(), "the server heard {rx:?}");
}

#[test]
fn local_checks_come_before_the_host_is_resolved() {
    // An empty host fails at resolving, without DNS: whichever error is
    // reported shows which check came first.
    let host = "";
    let dir = tempfile::tempdir().unwrap();
    let long = name_for_request_of(600);
    let run = nettool(dir.path(), &["tftp", "get", host, &long, "out.bin"]);
    run.expect_error_line(2, &["600", "512"]);
    let run = nettool(
        dir.path(),
        &["tftp", "get", host, "fw.bin", "no-such-dir/out.bin"],
    );
    run.expect_error_line(2, &["cannot create a file in no-such-dir"]);
    fs::write(dir.path().join("local.bin"), b"x").unwrap();
    let run = nettool(dir.path(), &["tftp", "put", host, "local.bin", &long]);
    run.expect_error_line(2, &["600", "512"]);
}

#[test]
fn sigint_while_waiting_on_a_silent_server_with_a_long_timeout_exits_at_once() {
    let heard = Arc::new(AtomicBool::new(false));
    let h2 = heard.clone();
    let srv = serve(move |s| {
        s.request(Duration::from_secs(5)).unwrap();
        h2.store(true, Ordering::SeqCst);
        // Silence: never an answer.
    });
    let dir = tempfile::tempdir().unwrap();
    let host = format!("127.0.0.1:{}", srv.port());
    let (mut child, out) = spawn(
        dir.path(),
        &["tftp", "get", &host, "fw.bin", "out.bin", "--timeout", "30"],
    );
    let start = Instant::now();
    while !heard.load(Ordering::SeqCst) {
        assert!(start.elapsed() < Duration::from_secs(10), "no request");
        std::thread::sleep(Duration::from_millis(2));
    }
    std::thread::sleep(Duration::from_millis(50));
    let signalled = Instant::now();
    util::signal(&child, "-INT");
    let status = util::wait_bounded(&mut child, Duration::from_secs(5), "SIGINT");
    let took = signalled.elapsed();
    srv.finish();
    let stderr = fs::read_to_string(out.path().join("stderr")).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted by SIGINT"), "{stderr}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert_eq!(listing(dir.path()), [] as [&str; 0]);
}

#[test]
fn sigint_ends_a_json_report_blocked_on_a_full_stdout_after_the_transfer() {
    use std::io::Write;
    use std::os::fd::AsRawFd;
    let file = file_of(1500);
    let f2 = file.clone();
    let srv = serve(move |s| {
        let (client, _) = s.request(Duration::from_secs(3)).unwrap();
        let c = s.open(client);
        assert!(c.serve(&f2, 512, 1, 3));
    });
    let dir = tempfile::tempdir().unwrap();
    let host = format!("127.0.0.1:{}", srv.port());
    // stdout: a pipe full already, so the JSON report blocks.
    let (reader, mut writer) = std::io::pipe().unwrap();
    let fd = writer.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own, with plain integer flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) };
    let chunk = [b'x'; 4096];
    while writer.write(&chunk).is_ok() {}
    unsafe { libc::fcntl(fd, libc::F_SETFL, flags) };
    let err = dir.path().join("stderr");
    let mut child = util::nettool(&["tftp", "get", &host, "fw.bin", "out.bin", "--json"])
        .current_dir(dir.path())
        .command()
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    // The transfer is done (the file is in place), the report blocked.
    let start = Instant::now();
    while fs::read(dir.path().join("out.bin")).ok().as_deref() != Some(&file[..]) {
        assert!(start.elapsed() < Duration::from_secs(10), "no file");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "blocked on stdout");
    util::signal(&child, "-INT");
    let status = util::wait_bounded(&mut child, Duration::from_secs(3), "SIGINT");
    srv.finish();
    drop(reader);
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGINT),
        "{status:?}"
    );
}

#[test]
fn sigint_during_the_busy_poll_before_a_long_wait_still_exits_at_once() {
    // The signal comes while nettool polls for block 2 (up to 10 ms),
    // before it blocks in a receive of up to 30 s: it must not wait out
    // that receive.
    let pid = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let signalled = Arc::new(Mutex::new(None::<Instant>));
    let (p2, s2) = (pid.clone(), signalled.clone());
    let file = file_of(5000);
    let srv = serve(move |s| {
        let (client, _) = s.request(Duration::from_secs(5)).unwrap();
        let c = s.open(client);
        c.send(&data(1, block_of(&file, 512, 1)));
        assert_eq!(c.reply(1, Duration::from_secs(5)), Reply::Ack);
        // Into the 10 ms poll for block 2.
        std::thread::sleep(Duration::from_millis(3));
        // Never kill(0, ...): that would be our whole process group.
        let pid = p2.load(Ordering::SeqCst);
        assert_ne!(pid, 0, "the client's pid is known before its request");
        // SAFETY: kill with a pid and a signal number.
        let rc = unsafe { libc::kill(pid as i32, libc::SIGINT) };
        assert_eq!(rc, 0);
        *s2.lock().unwrap() = Some(Instant::now());
        // Silence.
    });
    let dir = tempfile::tempdir().unwrap();
    let host = format!("127.0.0.1:{}", srv.port());
    let (mut child, out) = spawn(
        dir.path(),
        &[
            "tftp",
            "get",
            &host,
            "fw.bin",
            "out.bin",
            "--timeout",
            "30",
            "--busy-poll",
            "10000",
        ],
    );
    pid.store(child.id(), Ordering::SeqCst);
    let status = util::wait_bounded(&mut child, Duration::from_secs(40), "SIGINT");
    let took = signalled.lock().unwrap().expect("signalled").elapsed();
    srv.finish();
    let stderr = fs::read_to_string(out.path().join("stderr")).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted by SIGINT"), "{stderr}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_eq!(listing(dir.path()), [] as [&str; 0]);
}
