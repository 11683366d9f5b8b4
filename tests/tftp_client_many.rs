//! `nettool tftp get|put` of several files in one run (`--dir`), and the
//! client's local end (`--bind`, `--port-range`), against tftpd-hpa on
//! loopback (tests/tftpd).
//!
//! What the server sees of the client is watched through [`Relay`], a
//! small UDP relay in front of tftpd-hpa (which logs only to syslog): it
//! records the source address of every datagram the client sends, and
//! forwards each request from a socket of its own, so the client sees one
//! consistent transfer ID per transfer. A run refused before any packet
//! leaves the relay's record empty.

mod tftpd;
mod util;

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;
use tftpd::{Server, assert_same_bytes, listing, pattern, workdir};
use util::{Output, nettool};

// ---------------------------------------------------------------------------
// The relay

/// One client transfer through the relay: the client's address, the
/// relay's socket toward the server for it, the server's transfer ID once
/// it answered.
struct Leg {
    client: SocketAddr,
    up: UdpSocket,
    tid: Option<SocketAddr>,
}

/// A UDP relay on 127.0.0.1 in front of `server`; stopped on drop.
struct Relay {
    addr: SocketAddr,
    /// The source of every datagram a client sent, in order.
    seen: Arc<Mutex<Vec<SocketAddr>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Relay {
    fn start(server: SocketAddr) -> Relay {
        let front = UdpSocket::bind("127.0.0.1:0").expect("bind the relay");
        front.set_nonblocking(true).unwrap();
        let addr = front.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen2, stop2) = (seen.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut legs: Vec<Leg> = Vec::new();
            let mut buf = vec![0u8; 65536];
            while !stop2.load(Ordering::Relaxed) {
                let mut idle = true;
                // A request: a leg of its own toward the server.
                while let Ok((n, client)) = front.recv_from(&mut buf) {
                    idle = false;
                    seen2.lock().unwrap().push(client);
                    let up = UdpSocket::bind("127.0.0.1:0").unwrap();
                    up.set_nonblocking(true).unwrap();
                    let _ = up.send_to(&buf[..n], server);
                    legs.push(Leg {
                        client,
                        up,
                        tid: None,
                    });
                }
                for leg in &mut legs {
                    while let Ok((n, from)) = leg.up.recv_from(&mut buf) {
                        idle = false;
                        let from_server = leg.tid == Some(from)
                            || (leg.tid.is_none()
                                && from.ip() == server.ip()
                                && from != leg.client);
                        if from_server {
                            leg.tid = Some(from);
                            let _ = leg.up.send_to(&buf[..n], leg.client);
                        } else {
                            seen2.lock().unwrap().push(from);
                            let _ = leg.up.send_to(&buf[..n], leg.tid.unwrap_or(server));
                        }
                    }
                }
                if idle {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        });
        Relay {
            addr,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    fn host_port(&self) -> String {
        self.addr.to_string()
    }

    fn seen(&self) -> Vec<SocketAddr> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------
// Helpers

/// The JSON lines of a `--dir --json` run.
#[track_caller]
fn json_lines(run: &Output) -> Vec<Value> {
    run.stdout
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}{run:?}"))
        })
        .collect()
}

/// `n` UDP ports in a row that were free a moment ago on 127.0.0.1, held
/// by the sockets returned (drop them to free the ports).
fn free_ports_in_a_row(n: u16) -> (u16, Vec<UdpSocket>) {
    for _ in 0..100 {
        let first = UdpSocket::bind("127.0.0.1:0").unwrap();
        let lo = first.local_addr().unwrap().port();
        if lo > u16::MAX - n {
            continue;
        }
        let rest: Vec<UdpSocket> = (1..n)
            .map_while(|i| UdpSocket::bind(("127.0.0.1", lo + i)).ok())
            .collect();
        if rest.len() == usize::from(n - 1) {
            let mut held = vec![first];
            held.extend(rest);
            return (lo, held);
        }
    }
    panic!("no {n} free UDP ports in a row on 127.0.0.1");
}

fn files(srv: &Server, specs: &[(&str, usize)]) -> Vec<Vec<u8>> {
    specs
        .iter()
        .enumerate()
        .map(|(i, (name, len))| {
            let data = pattern(*len, 1000 + i as u64);
            srv.add_file(name, &data);
            data
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Several files

#[test]
fn get_three_files_into_a_directory() {
    let Some(srv) = Server::hpa() else { return };
    let want = files(
        &srv,
        &[("a.bin", 0), ("b.bin", 1025), ("c.bin", 3 * 512 + 17)],
    );
    std::fs::create_dir(srv.root().join("sub")).unwrap();
    let nested = pattern(700, 7);
    srv.add_file("sub/d.bin", &nested);
    let wd = workdir();
    let out = wd.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let run = nettool(&[
        "tftp",
        "get",
        "--json",
        &srv.host_port(),
        "a.bin",
        "b.bin",
        "c.bin",
        "sub/d.bin",
        "--dir",
        "out",
    ])
    .current_dir(wd.path())
    .run();
    run.expect_code(0);
    assert_eq!(
        listing(&out),
        ["a.bin", "b.bin", "c.bin", "d.bin"],
        "{run:?}"
    );
    for (name, data) in ["a.bin", "b.bin", "c.bin"].iter().zip(&want) {
        assert_same_bytes(name, &std::fs::read(out.join(name)).unwrap(), data);
    }
    assert_same_bytes(
        "sub/d.bin",
        &std::fs::read(out.join("d.bin")).unwrap(),
        &nested,
    );
    assert_eq!(listing(wd.path()), ["out"], "nothing beside DIR");
    // One record per file (the single transfer's schema), then the total.
    let lines = json_lines(&run);
    assert_eq!(lines.len(), 5, "{run:?}");
    for (l, (remote, len)) in lines.iter().zip([
        ("a.bin", 0),
        ("b.bin", 1025),
        ("c.bin", 3 * 512 + 17),
        ("sub/d.bin", 700),
    ]) {
        assert_eq!(l["schema"], "nettool.tftp/1");
        assert_eq!(l["type"], "transfer");
        assert_eq!(l["operation"], "get");
        assert_eq!(l["remote"], remote);
        assert_eq!(l["bytes"], len);
        assert_eq!(l["negotiated"]["tsize"], len);
        let local = Path::new(l["local"].as_str().unwrap());
        assert_eq!(local.parent().unwrap(), Path::new("out"), "{l}");
    }
    let sum = &lines[4];
    assert_eq!(sum["type"], "summary");
    assert_eq!(sum["server"], srv.host_port());
    assert_eq!(
        (
            &sum["files"],
            &sum["transferred"],
            &sum["failed"],
            &sum["not_started"]
        ),
        (&4.into(), &4.into(), &0.into(), &0.into())
    );
    assert_eq!(sum["bytes"], 1025 + 3 * 512 + 17 + 700);
    assert!(sum["interrupted_by"].is_null());
    // Text: a line per file and the total, with --verbose off a terminal.
    let run = nettool(&[
        "tftp",
        "get",
        "-f",
        &srv.host_port(),
        "a.bin",
        "b.bin",
        "--dir",
        "out",
    ])
    .current_dir(wd.path())
    .run();
    run.expect_clean_success();
}

#[test]
fn a_missing_file_fails_alone_and_the_others_arrive() {
    let Some(srv) = Server::hpa() else { return };
    let want = files(&srv, &[("one.bin", 2000), ("three.bin", 513)]);
    let wd = workdir();
    // Text (with -v for the lines off a terminal, the packets filtered).
    let run = nettool(&[
        "tftp",
        "get",
        "-v",
        &srv.host_port(),
        "one.bin",
        "two.bin",
        "three.bin",
        "--dir",
        ".",
    ])
    .current_dir(wd.path())
    .run();
    run.expect_code(1);
    assert_eq!(listing(wd.path()), ["one.bin", "three.bin"], "{run:?}");
    assert_same_bytes(
        "one",
        &std::fs::read(wd.path().join("one.bin")).unwrap(),
        &want[0],
    );
    assert_same_bytes(
        "three",
        &std::fs::read(wd.path().join("three.bin")).unwrap(),
        &want[1],
    );
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| !l.starts_with("-> ") && !l.starts_with("<- "))
        .collect();
    assert_eq!(lines.len(), 5, "{run:?}");
    assert!(
        lines[0].starts_with("get one.bin: 2000 bytes in "),
        "{run:?}"
    );
    assert_eq!(
        lines[1],
        format!(
            "nettool: get two.bin from {}: server error 1 (file not found): 'File not found'",
            srv.host_port()
        ),
        "{run:?}"
    );
    assert!(
        lines[2].starts_with("get three.bin: 513 bytes in "),
        "{run:?}"
    );
    assert!(
        lines[3].starts_with("get 2 of 3 files: 2513 bytes in "),
        "{run:?}"
    );
    assert_eq!(lines[4], "nettool: 1 of 3 transfers failed", "{run:?}");

    // JSON: the failure has its record too.
    let wd = workdir();
    let run = nettool(&[
        "tftp",
        "get",
        "--json",
        &srv.host_port(),
        "two.bin",
        "one.bin",
        "--dir",
        ".",
    ])
    .current_dir(wd.path())
    .run();
    run.expect_code(1);
    assert_eq!(listing(wd.path()), ["one.bin"], "{run:?}");
    let lines = json_lines(&run);
    assert_eq!(lines.len(), 3, "{run:?}");
    assert_eq!(lines[0]["type"], "failure");
    assert_eq!(lines[0]["remote"], "two.bin");
    assert!(
        lines[0]["error"]
            .as_str()
            .unwrap()
            .contains("server error 1 (file not found)"),
        "{run:?}"
    );
    assert!(lines[0]["bytes"].is_null(), "no counters for a failure");
    assert_eq!(lines[1]["type"], "transfer");
    assert_eq!(lines[2]["failed"], 1);
    assert_eq!(lines[2]["transferred"], 1);
    assert_eq!(
        run.stderr_lines().last().copied(),
        Some("nettool: 1 of 2 transfers failed")
    );
}

#[test]
fn put_several_files_into_the_root_and_into_a_directory() {
    let Some(srv) = Server::hpa() else { return };
    let wd = workdir();
    let names = ["p1.bin", "p2.bin", "p3.txt"];
    let data: Vec<Vec<u8>> = [0usize, 512, 4000]
        .iter()
        .enumerate()
        .map(|(i, &n)| pattern(n, 50 + i as u64))
        .collect();
    std::fs::create_dir(wd.path().join("src")).unwrap();
    for (n, d) in names.iter().zip(&data) {
        std::fs::write(wd.path().join("src").join(n), d).unwrap();
    }
    let locals: Vec<String> = names.iter().map(|n| format!("src/{n}")).collect();
    let up = srv.root().join("up");
    std::fs::create_dir(&up).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&up, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    for dir in [".", "up"] {
        let mut a = vec!["tftp", "put", "--json", "--tsize"];
        let addr = srv.host_port();
        a.push(&addr);
        a.extend(locals.iter().map(String::as_str));
        a.extend(["--dir", dir]);
        let run = nettool(&a).current_dir(wd.path()).run();
        run.expect_code(0);
        let lines = json_lines(&run);
        assert_eq!(lines.len(), 4, "{run:?}");
        for ((l, n), d) in lines.iter().zip(names).zip(&data) {
            let remote = if dir == "." {
                n.to_string()
            } else {
                format!("up/{n}")
            };
            assert_eq!(l["type"], "transfer");
            assert_eq!(l["remote"], remote.as_str());
            assert_eq!(l["negotiated"]["tsize"], d.len());
            srv.expect_file(&remote, d, &format!("put --dir {dir}"));
        }
        assert_eq!(lines[3]["type"], "summary");
        assert_eq!(lines[3]["operation"], "put");
        assert_eq!(lines[3]["transferred"], 3);
    }
}

#[test]
fn names_that_climb_out_are_refused_before_any_packet() {
    let Some(srv) = Server::hpa() else { return };
    files(&srv, &[("ok.bin", 100)]);
    let relay = Relay::start(srv.addr());
    let wd = workdir();
    for bad in ["../ok.bin", "a/../../ok.bin", "/etc/../passwd", "dir/", "."] {
        let run = nettool(&[
            "tftp",
            "get",
            &relay.host_port(),
            "ok.bin",
            bad,
            "--dir",
            ".",
        ])
        .current_dir(wd.path())
        .run();
        run.expect_usage_error(&format!("'{bad}'"));
    }
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(relay.seen(), [], "a request went out");
    assert!(listing(wd.path()).is_empty(), "{:?}", listing(wd.path()));
    // The same relay does pass a good run on: it was listening.
    let run = nettool(&["tftp", "get", &relay.host_port(), "ok.bin", "--dir", "."])
        .current_dir(wd.path())
        .run();
    run.expect_code(0);
    assert!(!relay.seen().is_empty());
}

#[test]
fn sigint_stops_the_run_after_cleaning_up_the_current_transfer() {
    let Some(srv) = Server::hpa() else { return };
    files(&srv, &[("big1.bin", 16 << 20), ("big2.bin", 1000)]);
    let wd = workdir();
    let child = nettool(&[
        "tftp",
        "get",
        &srv.host_port(),
        "big1.bin",
        "big2.bin",
        "--dir",
        ".",
        "--busy-poll",
        "0",
    ])
    .current_dir(wd.path())
    .command()
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("run nettool");
    let start = Instant::now();
    loop {
        let written: u64 = std::fs::read_dir(wd.path())
            .unwrap()
            .filter_map(|e| e.ok()?.metadata().ok())
            .map(|m| m.len())
            .sum();
        if written > 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no data after 10 s"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", pid.as_str()])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        listing(wd.path()).is_empty(),
        "left {:?}",
        listing(wd.path())
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.last().copied(),
        Some("nettool: interrupted by SIGINT: 0 of 2 transfers done, 1 not started"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------
// --port-range and --bind

#[test]
fn port_range_every_packet_comes_from_a_port_in_the_range() {
    let Some(srv) = Server::hpa() else { return };
    let want = files(&srv, &[("r1.bin", 3000), ("r2.bin", 600)]);
    let relay = Relay::start(srv.addr());
    let (lo, held) = free_ports_in_a_row(8);
    drop(held);
    let hi = lo + 7;
    let range = format!("{lo}:{hi}");
    let wd = workdir();
    let run = nettool(&[
        "tftp",
        "get",
        &relay.host_port(),
        "r1.bin",
        "r2.bin",
        "--dir",
        ".",
        "--port-range",
        &range,
    ])
    .current_dir(wd.path())
    .run();
    run.expect_code(0);
    for (n, d) in ["r1.bin", "r2.bin"].iter().zip(&want) {
        assert_same_bytes(n, &std::fs::read(wd.path().join(n)).unwrap(), d);
    }
    let seen = relay.seen();
    assert!(seen.len() >= 2 * 2, "requests and ACKs: {seen:?}");
    for a in &seen {
        assert!(
            (lo..=hi).contains(&a.port()),
            "{a} outside {range}: {seen:?}"
        );
    }
    // Distinct ports, not runs: the relay reads new requests before the
    // legs' queues, so the first transfer's last ACK (queued on its leg)
    // can be recorded after the second transfer's request. With no dally
    // the client sends that request right after the ACK.
    let mut ports: Vec<u16> = seen.iter().map(SocketAddr::port).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(
        ports.len(),
        2,
        "one port per transfer, a new one each: {seen:?}"
    );
    assert_ne!(seen[0].port(), seen[seen.len() - 1].port(), "{seen:?}");

    // put, a range of one port.
    let one = format!("{lo}:{lo}");
    let run = nettool(&[
        "tftp",
        "put",
        &relay.host_port(),
        "r2.bin",
        "r2-up.bin",
        "--port-range",
        &one,
    ])
    .current_dir(wd.path())
    .run();
    run.expect_code(0);
    srv.expect_file("r2-up.bin", &want[1], "put --port-range LO:LO");
    let after = relay.seen();
    assert!(after.len() > seen.len());
    for a in &after[seen.len()..] {
        assert_eq!(a.port(), lo, "{after:?}");
    }
}

#[test]
fn a_port_range_fully_taken_is_one_line_and_no_packet() {
    let Some(srv) = Server::hpa() else { return };
    files(&srv, &[("t.bin", 10)]);
    let relay = Relay::start(srv.addr());
    let (lo, held) = free_ports_in_a_row(3);
    let range = format!("{lo}:{}", lo + 2);
    let wd = workdir();
    for dir in [false, true] {
        let mut a = vec!["tftp", "get"];
        let addr = relay.host_port();
        a.extend([addr.as_str(), "t.bin", "--port-range", &range]);
        if dir {
            a.extend(["--dir", "."]);
        }
        let run = nettool(&a).current_dir(wd.path()).run();
        run.expect_usage_error(&format!(
            "no port of --port-range {range} is free on 0.0.0.0 (3 in use)"
        ));
    }
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(relay.seen(), [], "a request went out");
    assert!(listing(wd.path()).is_empty(), "{:?}", listing(wd.path()));
    drop(held);
}

#[test]
fn bind_127_0_0_2_is_the_source_the_server_sees() {
    let Some(srv) = Server::hpa() else { return };
    let want = files(&srv, &[("b1.bin", 5000)]);
    let relay = Relay::start(srv.addr());
    let wd = workdir();
    let run = nettool(&[
        "tftp",
        "get",
        &relay.host_port(),
        "b1.bin",
        "--bind",
        "127.0.0.2",
    ])
    .current_dir(wd.path())
    .run();
    run.expect_code(0);
    assert_same_bytes(
        "b1",
        &std::fs::read(wd.path().join("b1.bin")).unwrap(),
        &want[0],
    );
    let seen = relay.seen();
    assert!(!seen.is_empty());
    for a in &seen {
        assert_eq!(a.ip().to_string(), "127.0.0.2", "{seen:?}");
    }
    // Straight to tftpd-hpa too: its answers reach 127.0.0.2; put as well,
    // with a port range.
    let (lo, held) = free_ports_in_a_row(4);
    drop(held);
    let range = format!("{lo}:{}", lo + 3);
    let run = nettool(&[
        "tftp",
        "put",
        &srv.host_port(),
        "b1.bin",
        "b1-up.bin",
        "--bind",
        "127.0.0.2",
        "--port-range",
        &range,
    ])
    .current_dir(wd.path())
    .run();
    run.expect_code(0);
    srv.expect_file("b1-up.bin", &want[0], "put --bind 127.0.0.2");
    // The other family: one line, exit 2, nothing sent.
    let run = nettool(&[
        "tftp",
        "get",
        &relay.host_port(),
        "b1.bin",
        "x.bin",
        "--bind",
        "::1",
    ])
    .current_dir(wd.path())
    .run();
    run.expect_usage_error("--bind ::1 is an IPv6 address and the server 127.0.0.1 an IPv4 one");
    // An address of no interface here.
    let run = nettool(&[
        "tftp",
        "get",
        &relay.host_port(),
        "b1.bin",
        "y.bin",
        "--bind",
        "203.0.113.9",
    ])
    .current_dir(wd.path())
    .run();
    run.expect_usage_error("cannot bind 203.0.113.9: ");
    assert_eq!(
        relay.seen().len(),
        seen.len(),
        "nothing sent by the refused runs"
    );
    assert_eq!(listing(wd.path()), ["b1.bin"]);
}

#[test]
fn bind_and_port_range_over_ipv6() {
    if !tftpd::have_ipv6_loopback() {
        util::skip_or_fail("cannot bind UDP on ::1 here (IPv6 disabled on lo?)");
        return;
    }
    let Some(srv) = tftpd::Spec::new(tftpd::Kind::Hpa).ipv6().start() else {
        return;
    };
    let data = pattern(2000, 66);
    srv.add_file("six.bin", &data);
    let held = UdpSocket::bind("[::1]:0").unwrap();
    let port = held.local_addr().unwrap().port();
    drop(held);
    let range = format!("{port}:{port}");
    let wd = workdir();
    let run = nettool(&[
        "tftp",
        "get",
        &srv.host_port(),
        "six.bin",
        "--dir",
        ".",
        "--bind",
        "::1",
        "--port-range",
        &range,
    ])
    .current_dir(wd.path())
    .run();
    run.expect_code(0);
    assert_same_bytes(
        "IPv6 --bind",
        &std::fs::read(wd.path().join("six.bin")).unwrap(),
        &data,
    );
    let run = nettool(&[
        "tftp",
        "get",
        &srv.host_port(),
        "six.bin",
        "x.bin",
        "--bind",
        "127.0.0.1",
    ])
    .current_dir(wd.path())
    .run();
    run.expect_usage_error("--bind 127.0.0.1 is an IPv4 address and the server ::1 an IPv6 one");
    assert_eq!(listing(wd.path()), ["six.bin"]);
}
