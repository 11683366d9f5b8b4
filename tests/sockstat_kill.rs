//! `nettool sockstat -K` against real kernel sockets in the network lab.
//!
//! `-K` closes real connections, so it only ever runs inside a pair of
//! namespaces the test made (A 198.51.100.1, B 198.51.100.2, and
//! `2001:db8::1`/`::2` where a test needs IPv6): nettool runs in A, never
//! in the root namespace. The sockets are the test's own, opened in A or B
//! from threads that joined those namespaces (`lab::thread_in`), so the
//! test holds both ends and can see what each end sees afterwards. `ss
//! -tanH` in A before and after is the oracle for "nothing else was
//! touched".

mod lab;
mod util;

use std::collections::BTreeSet;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use lab::Host;
use util::{Output, TRANSITION, skip_or_fail, wait_until, which};

/// How long a test waits on a read that should fail at once.
const READ_LIMIT: Duration = Duration::from_secs(5);

/// The exact line `-K` without a filter prints.
const NO_FILTER: &str = "nettool: -K closes only what a filter names: give --state, --sport, \
     --dport, --src or --dst (the same command without -K lists what it would close)";

/// `nettool sockstat ARGS...` inside `host`.
#[track_caller]
fn sockstat(host: &Host, args: &[&str]) -> Output {
    let mut all = vec!["sockstat"];
    all.extend_from_slice(args);
    host.nettool(&all)
}

/// `(state, local, peer)` of every line of `ss -HanCMD` in `host`, e.g.
/// `ss("-tanH")`: the oracle for which sockets exist.
fn ss(host: &Host, flags: &str) -> BTreeSet<(String, String, String)> {
    let out = host.run("ss", &[flags]);
    out.ok();
    out.stdout
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // State Recv-Q Send-Q Local Peer [Process]
            (f.len() >= 5).then(|| (f[0].to_string(), f[3].to_string(), f[4].to_string()))
        })
        .collect()
}

/// `ss`'s spelling of an address: `198.51.100.1:5000`, `[2001:db8::1]:5000`.
fn ss_addr(a: SocketAddr) -> String {
    a.to_string()
}

/// The plain table's rows (header checked) as (Local, Foreign, State).
#[track_caller]
fn table_rows(out: &Output) -> Vec<(String, String, String)> {
    let t = out.table();
    t.rows
        .iter()
        .map(|r| {
            (
                t.cell(r, "Local Address").to_string(),
                t.cell(r, "Foreign Address").to_string(),
                t.cell(r, "State").to_string(),
            )
        })
        .collect()
}

/// In A: a listener of its own and two connections to a server in B.
/// B's end of `doomed` has shut down writing, so A's `doomed` waits in
/// `CLOSE_WAIT` (A never closes it); `kept` stays ESTABLISHED, to the same
/// server port.
struct CloseWait {
    pair: lab::Pair,
    /// B's server port: the `--dport` of both of A's connections.
    port: u16,
    a_listener: TcpListener,
    doomed: TcpStream,
    kept: TcpStream,
    b_doomed: TcpStream,
    b_kept: TcpStream,
}

fn close_wait(lab: lab::Lab) -> CloseWait {
    let pair = lab.pair();
    let server = lab::thread_in(&pair.b.ns, || TcpListener::bind((lab::v4(2), 0)).unwrap())
        .join()
        .unwrap();
    let port = server.local_addr().unwrap().port();
    let (a_listener, doomed, kept) = lab::thread_in(&pair.a.ns, move || {
        let l = TcpListener::bind((lab::v4(1), 0)).unwrap();
        let doomed = TcpStream::connect((lab::v4(2), port)).unwrap();
        let kept = TcpStream::connect((lab::v4(2), port)).unwrap();
        (l, doomed, kept)
    })
    .join()
    .unwrap();
    let (x, _) = server.accept().unwrap();
    let (y, _) = server.accept().unwrap();
    let (b_doomed, b_kept) = if x.peer_addr().unwrap() == doomed.local_addr().unwrap() {
        (x, y)
    } else {
        (y, x)
    };
    assert_eq!(b_kept.peer_addr().unwrap(), kept.local_addr().unwrap());
    b_doomed.shutdown(std::net::Shutdown::Write).unwrap();
    let cw = (
        "CLOSE-WAIT".to_string(),
        ss_addr(doomed.local_addr().unwrap()),
        ss_addr(doomed.peer_addr().unwrap()),
    );
    let a = pair.a.clone();
    assert!(
        wait_until(TRANSITION, || ss(&a, "-tanH").contains(&cw)),
        "A's end never reached CLOSE_WAIT: {:?}",
        ss(&a, "-tanH")
    );
    CloseWait {
        pair,
        port,
        a_listener,
        doomed,
        kept,
        b_doomed,
        b_kept,
    }
}

#[test]
fn close_wait_is_killed_its_peer_reads_a_reset_and_nothing_else_is_touched() {
    let Some(lab) = lab::require_with(&["ss"]) else {
        return;
    };
    let mut cw = close_wait(lab);
    let a = &cw.pair.a;
    let before = ss(a, "-tanH");
    let doomed = (
        cw.doomed.local_addr().unwrap(),
        cw.doomed.peer_addr().unwrap(),
    );
    let port = cw.port.to_string();

    let out = sockstat(a, &["-Kn", "--state", "close-wait", "--dport", &port]);
    out.expect_code(0).expect_plain_text();
    assert!(out.stderr.is_empty(), "nothing on stderr{out:?}");
    assert_eq!(
        table_rows(&out),
        [(
            doomed.0.to_string(),
            doomed.1.to_string(),
            "CLOSE_WAIT".to_string()
        )],
        "the one socket closed{out:?}"
    );

    // Exactly that socket is gone from A; the listener and the other
    // connection to the same port are still there.
    let mut want = before.clone();
    want.retain(|(state, local, _)| !(state == "CLOSE-WAIT" && *local == ss_addr(doomed.0)));
    assert_eq!(want.len(), before.len() - 1, "{before:?}");
    assert_eq!(ss(a, "-tanH"), want);
    let listener = ss_addr(cw.a_listener.local_addr().unwrap());
    assert!(
        want.iter().any(|(s, l, _)| s == "LISTEN" && *l == listener),
        "{want:?}"
    );

    // B's end was sent a RST: its read fails with ECONNRESET.
    cw.b_doomed.set_read_timeout(Some(READ_LIMIT)).unwrap();
    let err = cw.b_doomed.read(&mut [0u8; 16]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err:?}");
    // A's own descriptor now reports the abort.
    let err = cw.doomed.write(b"late").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionAborted, "{err:?}");

    // The other connection to the same port still carries data.
    cw.kept.write_all(b"ping").unwrap();
    cw.b_kept.set_read_timeout(Some(READ_LIMIT)).unwrap();
    let mut buf = [0u8; 4];
    cw.b_kept.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");

    // Run again: nothing matches any more.
    let out = sockstat(a, &["-Kn", "--state", "close-wait", "--dport", &port]);
    out.expect_code(1);
    assert_eq!(out.stdout, "", "{out:?}");
}

#[test]
fn nothing_matched_exits_1_and_closes_nothing() {
    let Some(lab) = lab::require_with(&["ss"]) else {
        return;
    };
    let cw = close_wait(lab);
    let a = &cw.pair.a;
    let before = ss(a, "-tanH");
    let other = (cw.port + 1).to_string();
    let port = cw.port.to_string();
    for args in [
        // A port nobody uses, a state nobody is in, an address nobody has.
        &["-K", "--state", "close-wait", "--dport", &other][..],
        &["-K", "--state", "syn-sent", "--dport", &port],
        &["-K", "--dst", "203.0.113.9"],
    ] {
        let out = sockstat(a, args);
        out.expect_code(1);
        assert_eq!(out.stdout, "", "{out:?}");
        assert_eq!(
            out.stderr_lines(),
            ["nettool: no socket matched: nothing closed"],
            "{out:?}"
        );
    }
    let out = sockstat(a, &["-K", "--json", "--dport", &other]);
    out.expect_code(1);
    assert!(out.stderr.is_empty(), "{out:?}");
    let doc = out.json();
    assert_eq!(doc["schema"], "nettool.sockstat.kill/1", "{out:?}");
    for list in ["closed", "vanished", "failed"] {
        assert_eq!(doc[list], serde_json::json!([]), "{out:?}");
    }
    assert_eq!(ss(a, "-tanH"), before, "nothing was closed");
}

#[test]
fn without_a_filter_it_refuses_in_one_line_and_closes_nothing() {
    let Some(lab) = lab::require_with(&["ss"]) else {
        return;
    };
    let cw = close_wait(lab);
    let a = &cw.pair.a;
    let before = ss(a, "-tanH");
    for args in [
        &["-K"][..],
        &["-K", "-ta"],
        &["--kill", "-tl"],
        &["-K", "-4n"],
    ] {
        let out = sockstat(a, args);
        out.expect_usage_error("-K closes only what a filter names");
        assert_eq!(out.stderr.trim_end(), NO_FILTER, "{out:?}");
    }
    for (args, line) in [
        (
            &["-K", "-x", "--state", "established"][..],
            "nettool: -K cannot close UNIX sockets (the kernel has no SOCK_DESTROY for them): drop -x",
        ),
        (
            &["-K", "-s", "--state", "established"],
            "nettool: -K closes sockets and -s only counts them: give one or the other",
        ),
    ] {
        let out = sockstat(a, args);
        out.expect_usage_error("-K");
        assert_eq!(out.stderr.trim_end(), line, "{out:?}");
    }
    assert_eq!(ss(a, "-tanH"), before, "nothing was closed");
}

/// Every directory above `path` lets others through, and the file is
/// executable by others.
fn reachable_by_others(path: &Path) -> bool {
    let mode = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.permissions().mode());
    mode(path) & 0o001 != 0 && path.ancestors().skip(1).all(|d| mode(d) & 0o001 != 0)
}

/// A nettool binary uid 65534 can run: cargo's, or a copy in a 0755
/// directory (kept alive by the returned guard).
fn exe_for_nobody() -> (PathBuf, Option<tempfile::TempDir>) {
    if reachable_by_others(util::bin()) {
        return (util::bin().to_path_buf(), None);
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = dir.path().join("nettool");
    std::fs::copy(util::bin(), &exe).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    (exe, Some(dir))
}

#[test]
fn without_cap_net_admin_it_names_the_capability_and_closes_nothing() {
    let Some(lab) = lab::require_with(&["ss", "setpriv"]) else {
        return;
    };
    if std::fs::metadata("/proc/self").unwrap().uid() != 0 {
        return skip_or_fail("needs root to drop to uid 65534 and to drop CAP_NET_ADMIN");
    }
    let setpriv = which("setpriv").unwrap();
    let setpriv = setpriv.to_str().unwrap();
    let (exe, _guard) = exe_for_nobody();
    let cw = close_wait(lab);
    let a = &cw.pair.a;
    let before = ss(a, "-tanH");
    let port = cw.port.to_string();
    let args = ["sockstat", "-K", "--state", "close-wait", "--dport", &port];
    for wrapper in [
        // nobody, with no capability at all.
        &[
            setpriv,
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--",
        ][..],
        // root, with every capability but CAP_NET_ADMIN.
        &[
            setpriv,
            "--inh-caps=-all",
            "--bounding-set=-net_admin",
            "--",
        ],
    ] {
        let out = a
            .nettool_cmd(&args)
            .exe(&exe)
            .wrapped(wrapper)
            .run_retrying_text_busy();
        out.expect_usage_error("CAP_NET_ADMIN");
        assert_eq!(
            out.stderr.trim_end(),
            "nettool: closing sockets needs CAP_NET_ADMIN: run as root, or with that capability",
            "{out:?}"
        );
        assert_eq!(ss(a, "-tanH"), before, "nothing was closed{out:?}");
    }
    // The same command with the capability closes it: the refusal was
    // about privilege, not about the filter.
    let out = sockstat(a, &args[1..]);
    out.expect_code(0);
    assert_eq!(table_rows(&out).len(), 1, "{out:?}");
}

#[test]
fn a_bound_udp_socket_is_killed_and_its_owner_reads_econnaborted() {
    let Some(lab) = lab::require_with(&["ss"]) else {
        return;
    };
    let pair = lab.pair();
    let a = &pair.a;
    let (doomed, kept) = lab::thread_in(&a.ns, || {
        (
            UdpSocket::bind((lab::v4(1), 0)).unwrap(),
            UdpSocket::bind((lab::v4(1), 0)).unwrap(),
        )
    })
    .join()
    .unwrap();
    let (d, k) = (doomed.local_addr().unwrap(), kept.local_addr().unwrap());
    let port = d.port().to_string();
    let before = ss(a, "-uanH");

    // Unconnected UDP sockets are listed (so closed) only with -l or -a.
    let out = sockstat(a, &["-Ku", "--sport", &port]);
    out.expect_code(1);
    assert_eq!(ss(a, "-uanH"), before);

    let out = sockstat(a, &["-Kua", "--sport", &port, "--json"]);
    out.expect_code(0);
    assert!(out.stderr.is_empty(), "{out:?}");
    let doc = out.json();
    assert_eq!(doc["schema"], "nettool.sockstat.kill/1", "{out:?}");
    let closed = doc["closed"].as_array().unwrap();
    assert_eq!(closed.len(), 1, "{out:?}");
    let row = util::Row::from_json(&closed[0]).unwrap();
    assert_eq!(
        (row.proto.as_str(), row.state.as_str()),
        ("udp", "UNCONN"),
        "{row}"
    );
    assert_eq!(row.local, util::Ep::Inet(d), "{row}");
    assert_eq!(row.inode, util::inode_of(&doomed), "{row}");
    assert_eq!(doc["vanished"], serde_json::json!([]));
    assert_eq!(doc["failed"], serde_json::json!([]));
    // README: one socket object per line (and one per list's end).
    assert_eq!(out.stdout.lines().count(), 5, "{out:?}");

    // The owner learns on its next receive: ECONNABORTED, at once.
    doomed.set_read_timeout(Some(READ_LIMIT)).unwrap();
    let err = doomed.recv(&mut [0u8; 16]).unwrap_err();
    assert_eq!(
        err.raw_os_error(),
        Some(nettool::sys::errno::ECONNABORTED),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::ConnectionAborted);

    let after = ss(a, "-uanH");
    assert!(after.iter().all(|(_, l, _)| *l != ss_addr(d)), "{after:?}");
    assert!(after.iter().any(|(_, l, _)| *l == ss_addr(k)), "{after:?}");
    assert_eq!(after.len(), before.len() - 1, "{before:?} -> {after:?}");
}

#[test]
fn connections_to_one_peer_are_killed_by_dst_in_both_families() {
    let Some(lab) = lab::require_with(&["ss"]) else {
        return;
    };
    let pair = lab.pair_v6();
    let (s4, s6) = lab::thread_in(&pair.b.ns, || {
        (
            TcpListener::bind((lab::v4(2), 0)).unwrap(),
            TcpListener::bind((lab::v6(2), 0)).unwrap(),
        )
    })
    .join()
    .unwrap();
    let (p4, p6) = (s4.local_addr().unwrap(), s6.local_addr().unwrap());
    let conns = lab::thread_in(&pair.a.ns, move || {
        [p6, p6, p4].map(|to| TcpStream::connect(to).unwrap())
    })
    .join()
    .unwrap();
    let peers: Vec<TcpStream> = [&s6, &s6, &s4]
        .into_iter()
        .map(|l| l.accept().unwrap().0)
        .collect();
    let a = &pair.a;
    let before = ss(a, "-tanH");

    let out = sockstat(a, &["-Knp", "--dst", "2001:db8::2"]);
    out.expect_code(0);
    // -p: the owner of a closed socket (this process still holds it).
    let me = format!("{}/{}", std::process::id(), util::own_comm());
    let t = out.table();
    for r in &t.rows {
        let cell = t.cell(r, "PID/Program");
        assert!(
            cell.split(',').any(|o| o == me),
            "{cell:?} lacks {me}{out:?}"
        );
    }
    let mut got: Vec<String> = table_rows(&out).into_iter().map(|r| r.0).collect();
    got.sort();
    let mut want: Vec<String> = conns[..2]
        .iter()
        .map(|c| c.local_addr().unwrap().to_string())
        .collect();
    want.sort();
    assert_eq!(got, want, "the two IPv6 connections{out:?}");

    let after = ss(a, "-tanH");
    assert_eq!(after.len(), before.len() - 2, "{before:?} -> {after:?}");
    let v4_conn = ss_addr(conns[2].local_addr().unwrap());
    assert!(
        after.iter().any(|(s, l, _)| s == "ESTAB" && *l == v4_conn),
        "{after:?}"
    );
    for mut peer in peers.into_iter().take(2) {
        peer.set_read_timeout(Some(READ_LIMIT)).unwrap();
        let err = peer.read(&mut [0u8; 8]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err:?}");
    }
}

/// A listener on `port` of 198.51.100.1 (0: any), with `SO_REUSEADDR`.
fn listener_on(port: u16) -> TcpListener {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.set_reuse_address(true).unwrap();
    s.bind(&SocketAddr::from((lab::v4(1), port)).into())
        .unwrap();
    s.listen(8).unwrap();
    s.into()
}

/// A listener on `port` just freed by closing another: tried again for
/// up to a second, as the port stays taken while a child forked by a
/// concurrent test (which holds a copy of every descriptor until it
/// execs) still has the old socket open.
fn listener_again(port: u16) -> TcpListener {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.set_reuse_address(true).unwrap();
    let addr = SocketAddr::from((lab::v4(1), port)).into();
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    loop {
        match s.bind(&addr) {
            Ok(()) => break,
            Err(e) if e.kind() == ErrorKind::AddrInUse && std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("bind {port} again: {e}"),
        }
    }
    s.listen(8).unwrap();
    s.into()
}

#[test]
fn a_socket_gone_after_the_dump_is_a_note_and_its_successor_survives() {
    use nettool::sockstat::kill::{Target, close_all};
    use nettool::sockstat::netlink::{Destroyer, dump_inet_ids};
    use nettool::sockstat::{StateSet, TcpState};

    let Some(lab) = lab::require_with(&["ss"]) else {
        return;
    };
    let pair = lab.pair();
    // All in A, on one thread: the library talks to the namespace of the
    // thread that calls it.
    let (outcome, notes, kept, successor) = lab::thread_in(&pair.a.ns, || {
        let gone = listener_on(0);
        let replaced = listener_on(0);
        let kept = listener_on(0);
        let ports = [&gone, &replaced, &kept].map(|l| l.local_addr().unwrap().port());
        let mut targets = Vec::new();
        dump_inet_ids(
            nettool::sockstat::Proto::Tcp,
            false,
            StateSet::of(&[TcpState::Listen]),
            |socket, id| {
                if socket.local.port().is_some_and(|p| ports.contains(&p)) {
                    targets.push(Target { socket, id });
                }
            },
        )
        .unwrap();
        assert_eq!(targets.len(), 3, "{targets:?}");
        // After the dump: one closes; one closes and a new listener takes
        // its address (same 4-tuple, another cookie).
        drop(gone);
        drop(replaced);
        let successor = listener_again(ports[1]);
        let mut d = Destroyer::open().unwrap();
        let mut notes = Vec::new();
        let outcome = close_all(
            targets,
            &mut |t| d.destroy(t.socket.proto, t.socket.v6, &t.id),
            &mut |n| notes.push(n),
        )
        .unwrap();
        (outcome, notes, kept, successor)
    })
    .join()
    .unwrap();

    let port = |l: &TcpListener| l.local_addr().unwrap().port();
    let ports = |v: &[nettool::sockstat::Socket]| -> Vec<u16> {
        v.iter().map(|s| s.local.port().unwrap()).collect()
    };
    assert_eq!(ports(&outcome.closed), [port(&kept)], "{outcome:?}");
    assert_eq!(outcome.vanished.len(), 2, "{outcome:?}");
    assert!(outcome.failed.is_empty(), "{outcome:?}");
    assert_eq!(notes.len(), 2, "{notes:?}");
    for n in &notes {
        assert!(
            n.starts_with("note: tcp 198.51.100.1:")
                && n.ends_with(" LISTEN was gone before it could be closed"),
            "{n}"
        );
    }
    // The successor was not closed in its predecessor's place.
    let listening = ss(&pair.a, "-tlnH");
    let addr = ss_addr(successor.local_addr().unwrap());
    assert!(
        listening.iter().any(|(_, l, _)| *l == addr),
        "{addr} should still listen: {listening:?}"
    );
    assert!(
        listening
            .iter()
            .all(|(_, l, _)| *l != ss_addr(kept.local_addr().unwrap())),
        "{listening:?}"
    );
}

#[test]
fn listeners_need_l_and_time_wait_entries_just_go() {
    let Some(lab) = lab::require_with(&["ss"]) else {
        return;
    };
    let pair = lab.pair();
    let a = &pair.a;
    // In A: a listener, and a connection to it that A's server end closed
    // first, so that end waits in TIME_WAIT once the client closes too.
    let (listener, tw_local) = lab::thread_in(&a.ns, || {
        let l = listener_on(0);
        let mut client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (server, _) = l.accept().unwrap();
        let local = server.local_addr().unwrap();
        drop(server);
        assert_eq!(client.read(&mut [0u8; 4]).unwrap(), 0, "the server's FIN");
        drop(client);
        (l, local)
    })
    .join()
    .unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let tw = |host: &Host| {
        ss(host, "-tanH")
            .into_iter()
            .filter(|(s, l, _)| s == "TIME-WAIT" && *l == ss_addr(tw_local))
            .count()
    };
    assert!(wait_until(TRANSITION, || tw(a) == 1), "no TIME_WAIT");

    // Without -l the listener is not what the listing shows, so it stays.
    let out = sockstat(a, &["-Kn", "--state", "time-wait", "--sport", &port]);
    out.expect_code(0);
    let rows = table_rows(&out);
    assert_eq!(rows.len(), 1, "{out:?}");
    assert_eq!(rows[0].2, "TIME_WAIT", "{out:?}");
    assert_eq!(tw(a), 0, "the TIME_WAIT entry is gone");
    let listening = ss(a, "-tlnH");
    let laddr = ss_addr(listener.local_addr().unwrap());
    assert!(
        listening.iter().any(|(_, l, _)| *l == laddr),
        "{listening:?}"
    );

    // -l names the listener.
    let out = sockstat(a, &["-Kntl", "--sport", &port]);
    out.expect_code(0);
    assert_eq!(
        table_rows(&out),
        [(laddr.clone(), "0.0.0.0:*".to_string(), "LISTEN".to_string())],
        "{out:?}"
    );
    assert!(ss(a, "-tlnH").iter().all(|(_, l, _)| *l != laddr));
    // Its owner learns at once: accept on a socket no longer listening
    // fails with EINVAL (not EAGAIN: it is not waiting for connections).
    listener.set_nonblocking(true).unwrap();
    let err = listener.accept().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err:?}");
}

#[test]
fn with_netns_it_kills_in_the_namespace_named_not_its_own() {
    let Some(lab) = lab::require_with(&["ss"]) else {
        return;
    };
    let mut cw = close_wait(lab);
    let (a, b) = (&cw.pair.a, &cw.pair.b);
    let (a_before, b_before) = (ss(a, "-tanH"), ss(b, "-tanH"));
    let doomed = cw.doomed.local_addr().unwrap();
    let port = cw.port.to_string();

    // nettool runs in B and names A: the CLOSE_WAIT is A's, not B's.
    let out = sockstat(
        b,
        &[
            "-Kn",
            "-N",
            &a.ns,
            "--state",
            "close-wait",
            "--dport",
            &port,
        ],
    );
    out.expect_code(0);
    let t = out.table();
    assert_eq!(t.rows.len(), 1, "{out:?}");
    assert_eq!(t.cell(&t.rows[0], "Netns"), a.ns, "{out:?}");
    assert_eq!(t.cell(&t.rows[0], "Local Address"), doomed.to_string());
    let mut want = a_before.clone();
    want.retain(|(state, local, _)| !(state == "CLOSE-WAIT" && *local == ss_addr(doomed)));
    assert_eq!(ss(a, "-tanH"), want, "only A's CLOSE_WAIT went");
    // B's end was reset by A's kernel; B's own sockets were not touched.
    cw.b_doomed.set_read_timeout(Some(READ_LIMIT)).unwrap();
    let err = cw.b_doomed.read(&mut [0u8; 16]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err:?}");
    let mut b_after = ss(b, "-tanH");
    b_after.retain(|(_, local, _)| *local != ss_addr(cw.b_doomed.local_addr().unwrap()));
    let mut b_want = b_before.clone();
    b_want.retain(|(_, local, _)| *local != ss_addr(cw.b_doomed.local_addr().unwrap()));
    assert_eq!(b_after, b_want);

    let out = sockstat(b, &["-K", "--all-netns", "--dport", &port]);
    out.expect_code(2);
    assert_eq!(
        out.stderr_lines(),
        [
            "nettool: -K closes sockets in one network namespace at a time: give -N NAME|PATH|PID instead of --all-netns"
        ]
    );
}
