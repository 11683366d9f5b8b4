//! `nettool sockstat` against real kernel sockets on loopback.
//!
//! Every test makes its own sockets on 127.0.0.1 / `::1` and picks out its own
//! rows by port, 4-tuple or inode: the machine is never assumed quiet (a
//! benchmark may hold 80k loopback connections while these run). Queries
//! narrow by `--state` (which netlink hands to the kernel) and `-l` where
//! they can, so a busy machine costs little.

mod util;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::Stdio;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use util::{
    Ep, Output, Row, TRANSITION, assert_same_set, fd_num, inode_of, nettool, own_comm, show_rows,
    skip_or_fail, ss_row, wait_until, which,
};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn sockstat(args: &[&str]) -> Output {
    let mut all = vec!["sockstat"];
    all.extend_from_slice(args);
    nettool(&all).run()
}

/// Run a `--json` query and return its rows. Exit 0 with rows, or 1 with
/// none: nothing else is acceptable.
#[track_caller]
fn rows(args: &[&str]) -> Vec<Row> {
    let out = sockstat(args);
    let rows = out.rows();
    let want = i32::from(rows.is_empty());
    out.expect_code(want);
    // The one message allowed: a /proc line skipped. Any process (this one
    // included: see unix_name_with_newline_cannot_forge_a_row) may own a
    // UNIX socket whose name breaks its /proc/net/unix line.
    assert!(
        out.stderr_lines()
            .iter()
            .all(|l| l.ends_with("; line skipped")),
        "unexpected stderr{out:?}"
    );
    rows
}

/// Poll a `--json` query until `done` holds for its rows, then run it once
/// more and return those rows. The polls leave out `-p`, whose scan of
/// every process's descriptors is the slow part on a busy machine; the last
/// run has the flags as given.
#[track_caller]
fn settle(args: &[&str], what: &str, done: impl Fn(&[Row]) -> bool) -> Vec<Row> {
    let quick: Vec<String> = args
        .iter()
        .map(|a| match a.strip_prefix('-') {
            Some(flags) if !flags.starts_with('-') => format!("-{}", flags.replace('p', "")),
            _ => a.to_string(),
        })
        .filter(|a| a != "-")
        .collect();
    let quick: Vec<&str> = quick.iter().map(String::as_str).collect();
    let mut last = Vec::new();
    let ok = wait_until(TRANSITION, || {
        last = rows(&quick);
        done(&last)
    });
    assert!(
        ok,
        "{what}: not within {TRANSITION:?}; last rows:\n{}",
        show_rows(&last)
    );
    let rows = rows(args);
    assert!(
        done(&rows),
        "{what}: gone again; rows:\n{}",
        show_rows(&rows)
    );
    rows
}

/// The rows of one connection seen from one end.
fn tuple(rows: &[Row], local: SocketAddr, remote: SocketAddr) -> Vec<Row> {
    rows.iter()
        .filter(|r| r.local == Ep::Inet(local) && r.remote == Ep::Inet(remote))
        .cloned()
        .collect()
}

fn with_local(rows: &[Row], local: SocketAddr) -> Vec<Row> {
    rows.iter()
        .filter(|r| r.local == Ep::Inet(local))
        .cloned()
        .collect()
}

fn by_inode(rows: &[Row], inode: u64) -> Vec<Row> {
    rows.iter().filter(|r| r.inode == inode).cloned().collect()
}

#[track_caller]
fn only(rows: Vec<Row>, what: &str, all: &[Row]) -> Row {
    assert_eq!(
        rows.len(),
        1,
        "expected exactly one row for {what}, got:\n{}among:\n{}",
        show_rows(&rows),
        show_rows(all.iter().take(50))
    );
    rows.into_iter().next().unwrap()
}

/// Assert that this process, and only this process, holds the socket at
/// descriptor `fd`. Other pids are ignored: a child that a parallel test
/// thread is spawning holds copies of our descriptors until it execs.
#[track_caller]
fn assert_held_by_us(row: &Row, fd: u32) {
    let me = std::process::id();
    let ours: Vec<(u32, u32, String)> = row
        .own_holders()
        .into_iter()
        .map(|p| (p.pid, p.fd, p.command.clone()))
        .collect();
    assert_eq!(
        ours,
        [(me, fd, own_comm())],
        "owner of {row} should be this process (pid {me}) at fd {fd}"
    );
}

/// The PID/Program cell lists this process (maybe among transient others).
#[track_caller]
fn assert_cell_lists_us(cell: &str) {
    let want = format!("{}/{}", std::process::id(), own_comm());
    assert!(
        cell.split(',').any(|o| o == want),
        "PID/Program cell {cell:?} should list {want:?}"
    );
}

fn port_str(sa: SocketAddr) -> String {
    sa.port().to_string()
}

fn sock_v4(reuse: bool) -> Socket {
    let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
    s.set_reuse_address(reuse).unwrap();
    s
}

/// A TCP listener on 127.0.0.1 with an explicit backlog.
fn listener_v4(backlog: i32) -> TcpListener {
    let s = sock_v4(true);
    s.bind(&SocketAddr::new(LOCALHOST, 0).into()).unwrap();
    s.listen(backlog).unwrap();
    s.into()
}

/// Connect to `l` and accept: (client, server side).
fn connected_pair(l: &TcpListener) -> (TcpStream, TcpStream) {
    let client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (server, _) = l.accept().unwrap();
    (client, server)
}

/// Leave a `TIME_WAIT` on `l`'s port: connect, then the server side closes
/// first, then the client. Returns (server addr, client addr) of the
/// `TIME_WAIT`, which has the server's address as local.
fn make_time_wait(l: &TcpListener) -> (SocketAddr, SocketAddr) {
    let (mut client, server) = connected_pair(l);
    let (srv, cli) = (server.local_addr().unwrap(), client.local_addr().unwrap());
    drop(server);
    // EOF on the client: the server's FIN has arrived.
    let mut buf = [0u8; 8];
    assert_eq!(client.read(&mut buf).unwrap(), 0);
    drop(client);
    let seen = wait_until(TRANSITION, || {
        let r = rows(&[
            "-tn",
            "--json",
            "--state",
            "time-wait",
            "--sport",
            &port_str(srv),
        ]);
        tuple(&r, srv, cli).len() == 1
    });
    assert!(
        seen,
        "no TIME_WAIT for {srv} <- {cli} within {TRANSITION:?}"
    );
    (srv, cli)
}

#[test]
fn tcp_listener_shows_accept_queue_and_backlog_and_owner() {
    let l = listener_v4(17);
    let addr = l.local_addr().unwrap();
    let _pending = TcpStream::connect(addr).unwrap();
    let port = port_str(addr);

    let last = settle(
        &["-tlnp", "--json", "--sport", &port],
        "accept queue of 1",
        |r| with_local(r, addr).iter().any(|r| r.recv_q == Some(1)),
    );
    let row = only(with_local(&last, addr), "the listener", &last);
    assert_eq!(
        (row.proto.as_str(), row.family.as_str(), row.state.as_str()),
        ("tcp", "inet", "LISTEN")
    );
    assert_eq!(
        (row.recv_q, row.send_q),
        (Some(1), Some(17)),
        "Recv-Q = accept queue, Send-Q = backlog: {row}"
    );
    assert_eq!(row.remote, Ep::Inet("0.0.0.0:0".parse().unwrap()));
    assert_eq!(row.inode, inode_of(&l));
    assert_eq!(
        row.uid,
        Some(u64::from(std::fs::metadata("/proc/self").unwrap().uid()))
    );
    assert_held_by_us(&row, fd_num(&l));

    let out = sockstat(&["-tlnp", "--sport", &port]);
    out.expect_clean_success();
    let t = out.table();
    let local = addr.to_string();
    let r = t.rows_where("Local Address", &local);
    assert_eq!(r.len(), 1, "{out:?}");
    assert_eq!(t.cell(r[0], "Proto"), "tcp");
    assert_eq!(t.cell(r[0], "Recv-Q"), "1");
    assert_eq!(t.cell(r[0], "Send-Q"), "17");
    assert_eq!(t.cell(r[0], "Foreign Address"), "0.0.0.0:*");
    assert_eq!(t.cell(r[0], "State"), "LISTEN");
    assert_cell_lists_us(t.cell(r[0], "PID/Program"));
}

#[test]
fn tcp_established_pair_shows_unread_bytes_and_both_owners() {
    let l = listener_v4(8);
    let srv = l.local_addr().unwrap();
    let (mut client, server) = connected_pair(&l);
    let cli = client.local_addr().unwrap();
    client.write_all(b"hello").unwrap();

    let sport = port_str(srv);
    let last = settle(
        &[
            "-tnp",
            "--json",
            "--state",
            "established",
            "--sport",
            &sport,
        ],
        "5 unread bytes",
        |r| tuple(r, srv, cli).iter().any(|r| r.recv_q == Some(5)),
    );
    let s = only(tuple(&last, srv, cli), "the accepted socket", &last);
    assert_eq!(
        (s.proto.as_str(), s.state.as_str(), s.recv_q),
        ("tcp", "ESTABLISHED", Some(5))
    );
    assert_eq!(s.inode, inode_of(&server));
    assert_held_by_us(&s, fd_num(&server));

    let all = rows(&[
        "-tnp",
        "--json",
        "--state",
        "established",
        "--dport",
        &port_str(srv),
    ]);
    let c = only(tuple(&all, cli, srv), "the client socket", &all);
    assert_eq!((c.state.as_str(), c.recv_q), ("ESTABLISHED", Some(0)));
    assert_eq!(c.inode, inode_of(&client));
    assert_held_by_us(&c, fd_num(&client));

    // Without -a or --state, established sockets show and listeners do not.
    let plain = rows(&["-tn", "--json", "--sport", &port_str(srv)]);
    assert_eq!(tuple(&plain, srv, cli).len(), 1, "{}", show_rows(&plain));
    assert!(
        with_local(&plain, srv).iter().all(|r| r.state != "LISTEN"),
        "a listener shown without -l:\n{}",
        show_rows(&plain)
    );
}

#[test]
fn udp_bound_is_unconn_with_l_and_connected_is_established_without() {
    let bound = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b_addr = bound.local_addr().unwrap();
    let conn = UdpSocket::bind("127.0.0.1:0").unwrap();
    conn.connect(b_addr).unwrap();
    let c_addr = conn.local_addr().unwrap();

    let l = rows(&["-ulnp", "--json", "--sport", &port_str(b_addr)]);
    let r = only(with_local(&l, b_addr), "the bound UDP socket", &l);
    assert_eq!((r.proto.as_str(), r.state.as_str()), ("udp", "UNCONN"));
    assert_eq!(r.remote, Ep::Inet("0.0.0.0:0".parse().unwrap()));
    assert_eq!(r.inode, inode_of(&bound));
    assert_held_by_us(&r, fd_num(&bound));

    let e = rows(&["-unp", "--json", "--sport", &port_str(c_addr)]);
    let r = only(tuple(&e, c_addr, b_addr), "the connected UDP socket", &e);
    assert_eq!((r.proto.as_str(), r.state.as_str()), ("udp", "ESTABLISHED"));
    assert_eq!(r.inode, inode_of(&conn));
    assert_held_by_us(&r, fd_num(&conn));

    // Each is hidden from the other listing (-l means unconnected for UDP).
    let l = rows(&["-uln", "--json", "--sport", &port_str(c_addr)]);
    assert!(
        with_local(&l, c_addr).is_empty(),
        "connected UDP socket listed by -l:\n{}",
        show_rows(&l)
    );
    let e = rows(&["-un", "--json", "--sport", &port_str(b_addr)]);
    assert!(
        with_local(&e, b_addr).is_empty(),
        "unconnected UDP socket listed without -l:\n{}",
        show_rows(&e)
    );
}

/// A unique abstract name for this process and call.
fn abstract_name(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("nettool-test {tag} {}-{nanos}", std::process::id())
}

#[test]
fn unix_listener_path_with_space_and_abstract_name_are_intact() {
    let dir = tempfile::Builder::new()
        .prefix("nettool sock ")
        .tempdir()
        .unwrap();
    let path = dir.path().join("ctl sock");
    let path_s = path.to_str().unwrap().to_string();
    let l = UnixListener::bind(&path).unwrap();
    // One client waiting in the accept queue.
    let _pending = UnixStream::connect(&path).unwrap();
    let name = abstract_name("listener");
    let abs = UnixListener::bind_addr(
        &std::os::unix::net::SocketAddr::from_abstract_name(&name).unwrap(),
    )
    .unwrap();

    let all = rows(&["-xlnp", "--json"]);
    let r = only(by_inode(&all, inode_of(&l)), "the path listener", &all);
    assert_eq!(r.local, Ep::Path(path_s.clone()));
    assert_eq!(
        (
            r.proto.as_str(),
            r.family.as_str(),
            r.state.as_str(),
            r.unix_type.as_deref()
        ),
        ("unix", "unix", "LISTEN", Some("stream"))
    );
    assert_eq!(
        r.recv_q,
        Some(1),
        "one connection waits in the accept queue: {r}"
    );
    assert_held_by_us(&r, fd_num(&l));
    let a = only(
        by_inode(&all, inode_of(&abs)),
        "the abstract listener",
        &all,
    );
    assert_eq!(a.local, Ep::Abstract(name.clone()));
    assert_eq!(a.state, "LISTEN");
    assert_held_by_us(&a, fd_num(&abs));

    let out = sockstat(&["-xln"]);
    out.expect_clean_success();
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains(&path_s))
        .unwrap_or_else(|| panic!("path {path_s:?} not whole in the table{out:?}"));
    assert!(
        line.starts_with("unix/stream") && line.contains("LISTEN"),
        "{line}"
    );
    let t = out.table();
    assert_eq!(t.rows_where("Local Address", &path_s).len(), 1, "{out:?}");
    let at = format!("@{name}");
    let r = t.rows_where("Local Address", &at);
    assert_eq!(
        r.len(),
        1,
        "abstract name {at:?} not whole in the table{out:?}"
    );
    assert_eq!(t.cell(r[0], "State"), "LISTEN");
}

#[test]
fn unix_name_with_newline_cannot_forge_a_row() {
    // Any user may bind such a name; in root's listing it must stay one
    // socket on one line, with no escape sequence reaching the terminal.
    let dir = tempfile::Builder::new()
        .prefix("nettool-forge")
        .tempdir()
        .unwrap();
    let name = "evil\ntcp        0      0 0.0.0.0:1  0.0.0.0:*  LISTEN\u{1b}[31m";
    let path = dir.path().join(name);
    let l = UnixListener::bind(&path).unwrap();
    let path_s = path.to_str().unwrap().to_string();

    let all = rows(&["-xln", "--json"]);
    let r = only(by_inode(&all, inode_of(&l)), "the listener", &all);
    assert_eq!(r.local, Ep::Path(path_s), "JSON keeps the name exactly");

    let out = sockstat(&["-xln"]);
    out.expect_code(0);
    let dir_s = dir.path().to_str().unwrap();
    let ours: Vec<&str> = out.stdout.lines().filter(|l| l.contains(dir_s)).collect();
    assert_eq!(ours.len(), 1, "{out:?}");
    assert!(
        ours[0].contains("0.0.0.0:1") && ours[0].trim_end().ends_with("LISTEN"),
        "the whole name belongs on the socket's own line: {:?}{out:?}",
        ours[0]
    );
    assert!(
        !out.stdout
            .lines()
            .any(|l| l.starts_with("tcp        0      0 0.0.0.0:1")),
        "a forged row{out:?}"
    );
    assert!(
        !out.stdout.contains('\u{1b}'),
        "an escape sequence got through{out:?}"
    );
}

#[test]
fn ipv4_mapped_accepted_socket_is_tcp6_with_plain_ipv4_addresses() {
    let s = Socket::new(Domain::IPV6, Type::STREAM, Some(Protocol::TCP)).unwrap();
    s.set_only_v6(false).unwrap();
    s.bind(&SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0).into())
        .unwrap();
    s.listen(8).unwrap();
    let l: TcpListener = s.into();
    let port = l.local_addr().unwrap().port();
    let client = TcpStream::connect((LOCALHOST, port)).unwrap();
    let (server, _) = l.accept().unwrap();
    let cli = client.local_addr().unwrap();
    let srv = SocketAddr::new(LOCALHOST, port);

    let all = rows(&[
        "-tn",
        "--json",
        "--state",
        "established",
        "--sport",
        &port.to_string(),
    ]);
    let r = only(
        by_inode(&all, inode_of(&server)),
        "the accepted socket",
        &all,
    );
    assert_eq!(
        (r.proto.as_str(), r.family.as_str()),
        ("tcp6", "inet6"),
        "{r}"
    );
    assert_eq!(r.local, Ep::Inet(srv), "{r}");
    assert_eq!(r.remote, Ep::Inet(cli), "{r}");

    let ls = rows(&["-tln", "--json", "--sport", &port.to_string()]);
    let lr = only(by_inode(&ls, inode_of(&l)), "the dual-stack listener", &ls);
    assert_eq!((lr.proto.as_str(), lr.state.as_str()), ("tcp6", "LISTEN"));
    assert_eq!(
        lr.local,
        Ep::Inet(SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port))
    );

    let out = sockstat(&[
        "-tn",
        "--state",
        "established",
        "--sport",
        &port.to_string(),
    ]);
    out.expect_clean_success();
    let t = out.table();
    let matching: Vec<_> = t
        .rows
        .iter()
        .filter(|row| {
            t.cell(row, "Local Address") == srv.to_string()
                && t.cell(row, "Foreign Address") == cli.to_string()
        })
        .collect();
    assert_eq!(matching.len(), 1, "no plain IPv4 row {srv} <- {cli}{out:?}");
    assert_eq!(t.cell(matching[0], "Proto"), "tcp6");
    assert!(
        !out.stdout.contains("::ffff:"),
        "a mapped address leaked{out:?}"
    );
}

#[test]
fn tcp_close_sequence_fin_wait2_close_wait_then_time_wait() {
    let listener = listener_v4(8);
    let (client, server) = connected_pair(&listener);
    let srv = server.local_addr().unwrap();
    let cli = client.local_addr().unwrap();
    let (c_inode, c_fd) = (inode_of(&client), fd_num(&client));

    // The server closes first; the client keeps its socket open.
    drop(server);
    let last = settle(
        &[
            "-tnp",
            "--json",
            "--state",
            "fin-wait-2,close-wait",
            "--src",
            "127.0.0.1",
        ],
        "FIN_WAIT2 + CLOSE_WAIT",
        |r| tuple(r, srv, cli).len() == 1 && tuple(r, cli, srv).len() == 1,
    );
    let s = only(tuple(&last, srv, cli), "server side", &last);
    assert_eq!(s.state, "FIN_WAIT2", "{s}");
    assert_eq!(s.inode, 0, "the closed side has no socket inode: {s}");
    assert_eq!(s.owners(), [], "the closed side has no owner: {s}");
    let c = only(tuple(&last, cli, srv), "client side", &last);
    assert_eq!(c.state, "CLOSE_WAIT", "{c}");
    assert_eq!(
        c.recv_q,
        Some(1),
        "the FIN counts in Recv-Q until read: {c}"
    );
    assert_eq!(c.inode, c_inode);
    assert_held_by_us(&c, c_fd);

    let out = sockstat(&["-tnp", "--state", "close-wait", "--sport", &port_str(cli)]);
    let t = out.table();
    let r = t.rows_where("Local Address", &cli.to_string());
    assert_eq!(r.len(), 1, "{out:?}");
    assert_eq!(t.cell(r[0], "State"), "CLOSE_WAIT");
    assert_eq!(t.cell(r[0], "Recv-Q"), "1");
    assert_cell_lists_us(t.cell(r[0], "PID/Program"));

    // Now the client closes: the side that closed first holds TIME_WAIT.
    drop(client);
    let sport = port_str(srv);
    let last = settle(
        &["-tnp", "--json", "--state", "time-wait", "--sport", &sport],
        "TIME_WAIT on the server side",
        |r| tuple(r, srv, cli).len() == 1,
    );
    let tw = only(tuple(&last, srv, cli), "the TIME_WAIT", &last);
    assert_eq!(tw.state, "TIME_WAIT");
    assert_eq!(tw.inode, 0, "{tw}");
    assert_eq!(tw.processes, Some(vec![]), "TIME_WAIT has no owner: {tw}");
    assert_eq!(tw.timer.as_deref(), Some("timewait"), "{tw}");

    // The client end is gone, and it never was the one in TIME_WAIT.
    let gone = wait_until(TRANSITION, || {
        // Every state a closed socket can linger in (not ESTABLISHED: the
        // busy machine's 80k connections are all there).
        let states = "close-wait,last-ack,closing,time-wait,fin-wait-1,fin-wait-2";
        let r = rows(&[
            "-tn",
            "--json",
            "--state",
            states,
            "--dport",
            &port_str(srv),
        ]);
        tuple(&r, cli, srv).is_empty()
    });
    assert!(
        gone,
        "the client side of {cli} -> {srv} lingers after close"
    );

    let out = sockstat(&["-tnp", "--state", "time-wait", "--sport", &port_str(srv)]);
    let t = out.table();
    let r: Vec<_> = t
        .rows
        .iter()
        .filter(|row| t.cell(row, "Foreign Address") == cli.to_string())
        .collect();
    assert_eq!(r.len(), 1, "{out:?}");
    assert_eq!(t.cell(r[0], "State"), "TIME_WAIT");
    assert_eq!(t.cell(r[0], "PID/Program"), "-");
}

#[test]
fn full_accept_queue_leaves_client_in_syn_sent_and_summary_says_so() {
    // Backlog 1: the queue takes two connections (it is full when it holds
    // more than the backlog); the kernel then drops new SYNs.
    let l = listener_v4(1);
    let srv = l.local_addr().unwrap();
    let _c1 = TcpStream::connect(srv).unwrap();
    let _c2 = TcpStream::connect(srv).unwrap();
    let full = wait_until(TRANSITION, || {
        let r = rows(&["-tln", "--json", "--sport", &port_str(srv)]);
        with_local(&r, srv).iter().any(|r| r.recv_q == Some(2))
    });
    assert!(full, "accept queue of {srv} never reached 2");

    let c3 = sock_v4(false);
    c3.set_nonblocking(true).unwrap();
    match c3.connect(&SockAddr::from(srv)) {
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        other => panic!("non-blocking connect to a full queue: {other:?}"),
    }
    let cli = c3.local_addr().unwrap().as_socket().unwrap();
    let dport = port_str(srv);
    let last = settle(
        &["-tnp", "--json", "--state", "syn-sent", "--dport", &dport],
        "SYN_SENT",
        |r| !tuple(r, cli, srv).is_empty(),
    );
    let r = only(tuple(&last, cli, srv), "the waiting client", &last);
    assert_eq!(r.state, "SYN_SENT");
    assert_eq!(
        r.timer.as_deref(),
        Some("on"),
        "the SYN is being retransmitted: {r}"
    );
    assert_held_by_us(&r, fd_num(&c3));

    let out = sockstat(&["-s"]);
    out.expect_clean_success();
    let full_line = format!("listener {srv} has a full accept queue (2 of 1)");
    assert!(out.stdout.contains(&full_line), "want {full_line:?}{out:?}");
    assert!(out.stdout.contains(" in SYN_SENT: "), "{out:?}");
}

#[test]
fn listener_over_time_wait_port_needs_so_reuseaddr() {
    // std's TcpListener::bind sets SO_REUSEADDR, as servers do; the
    // TIME_WAIT it leaves inherits the flag. A new socket can share the
    // port only if it sets the flag too.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let (srv, cli) = {
        let (mut client, server) = connected_pair(&l);
        let pair = (server.local_addr().unwrap(), client.local_addr().unwrap());
        drop(l);
        drop(server);
        let mut buf = [0u8; 1];
        assert_eq!(client.read(&mut buf).unwrap(), 0);
        pair
    };
    let seen = wait_until(TRANSITION, || {
        let r = rows(&[
            "-tn",
            "--json",
            "--state",
            "time-wait",
            "--sport",
            &port_str(srv),
        ]);
        tuple(&r, srv, cli).len() == 1
    });
    assert!(seen, "no TIME_WAIT for {srv} <- {cli}");

    let plain = sock_v4(false);
    assert!(!plain.reuse_address().unwrap());
    let err = plain
        .bind(&SockAddr::from(srv))
        .expect_err("bind over a TIME_WAIT without SO_REUSEADDR must fail");
    // The TIME_WAIT is what holds the port, at the moment of the failure.
    let at_failure = rows(&[
        "-tan",
        "--json",
        "--state",
        "all",
        "--sport",
        &port_str(srv),
    ]);
    assert_eq!(err.raw_os_error(), Some(libc::EADDRINUSE), "{err}");
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    let holders = with_local(&at_failure, srv);
    assert_eq!(
        holders.iter().map(|r| r.state.as_str()).collect::<Vec<_>>(),
        ["TIME_WAIT"],
        "only the TIME_WAIT should hold {srv}:\n{}",
        show_rows(&holders)
    );
    assert_eq!(holders[0].remote, Ep::Inet(cli));

    let reuse = sock_v4(true);
    reuse
        .bind(&SockAddr::from(srv))
        .expect("SO_REUSEADDR binds over TIME_WAIT");
    reuse.listen(8).unwrap();
    let after = rows(&[
        "-tan",
        "--json",
        "--state",
        "listen,time-wait",
        "--sport",
        &port_str(srv),
    ]);
    let mine = with_local(&after, srv);
    let states: BTreeSet<&str> = mine.iter().map(|r| r.state.as_str()).collect();
    assert_eq!(
        states,
        BTreeSet::from(["LISTEN", "TIME_WAIT"]),
        "{}",
        show_rows(&after)
    );
    let lr = only(
        by_inode(&after, inode_of(&reuse)),
        "the new listener",
        &after,
    );
    assert_eq!(lr.state, "LISTEN");
}

/// The test's own sockets of every kind, kept open while alive.
struct Zoo {
    dir: tempfile::TempDir,
    unix_path: String,
    inodes: BTreeSet<u64>,
    time_waits: Vec<(SocketAddr, SocketAddr)>,
    /// (proto, local, remote, state) expected for every inet socket.
    expected: BTreeSet<(String, SocketAddr, SocketAddr, String)>,
    local_ports: BTreeSet<u16>,
    _keep: Vec<Box<dyn std::any::Any>>,
}

#[allow(
    clippy::too_many_lines,
    reason = "every socket kind of the zoo, made in one place"
)]
fn zoo() -> Zoo {
    let any4: SocketAddr = "0.0.0.0:0".parse().unwrap();
    let mut expected = BTreeSet::new();
    let mut inodes = BTreeSet::new();
    let mut keep: Vec<Box<dyn std::any::Any>> = Vec::new();
    let mut local_ports = BTreeSet::new();

    let l = listener_v4(8);
    let srv = l.local_addr().unwrap();
    local_ports.insert(srv.port());
    let (client, server) = connected_pair(&l);
    let cli = client.local_addr().unwrap();
    local_ports.insert(cli.port());
    let tw = make_time_wait(&l);
    expected.insert(("tcp".into(), srv, any4, "LISTEN".into()));
    expected.insert(("tcp".into(), srv, cli, "ESTABLISHED".into()));
    expected.insert(("tcp".into(), cli, srv, "ESTABLISHED".into()));
    expected.insert(("tcp".into(), tw.0, tw.1, "TIME_WAIT".into()));
    inodes.extend([inode_of(&l), inode_of(&client), inode_of(&server)]);
    keep.extend([
        Box::new(l) as Box<dyn std::any::Any>,
        Box::new(client),
        Box::new(server),
    ]);

    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let u = udp.local_addr().unwrap();
    local_ports.insert(u.port());
    expected.insert(("udp".into(), u, any4, "UNCONN".into()));
    let udp_c = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp_c.connect(u).unwrap();
    let uc = udp_c.local_addr().unwrap();
    local_ports.insert(uc.port());
    expected.insert(("udp".into(), uc, u, "ESTABLISHED".into()));
    inodes.extend([inode_of(&udp), inode_of(&udp_c)]);
    keep.extend([Box::new(udp) as Box<dyn std::any::Any>, Box::new(udp_c)]);

    {
        // Dual-stack: a [::] listener that takes an IPv4 connection.
        let s = Socket::new(Domain::IPV6, Type::STREAM, Some(Protocol::TCP)).unwrap();
        s.set_only_v6(false).unwrap();
        s.bind(&SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0).into())
            .unwrap();
        s.listen(8).unwrap();
        let l6: TcpListener = s.into();
        let p6 = l6.local_addr().unwrap().port();
        local_ports.insert(p6);
        let c6 = TcpStream::connect((LOCALHOST, p6)).unwrap();
        let (s6, _) = l6.accept().unwrap();
        let c6a = c6.local_addr().unwrap();
        local_ports.insert(c6a.port());
        let any6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0);
        let s6a = SocketAddr::new(LOCALHOST, p6);
        expected.insert((
            "tcp6".into(),
            SocketAddr::new(any6.ip(), p6),
            any6,
            "LISTEN".into(),
        ));
        expected.insert(("tcp6".into(), s6a, c6a, "ESTABLISHED".into()));
        expected.insert(("tcp".into(), c6a, s6a, "ESTABLISHED".into()));
        inodes.extend([inode_of(&l6), inode_of(&c6), inode_of(&s6)]);
        keep.extend([
            Box::new(l6) as Box<dyn std::any::Any>,
            Box::new(c6),
            Box::new(s6),
        ]);

        // Plain IPv6 on ::1.
        let l1 = TcpListener::bind("[::1]:0").unwrap();
        let a1 = l1.local_addr().unwrap();
        local_ports.insert(a1.port());
        let (c1, s1) = connected_pair(&l1);
        let c1a = c1.local_addr().unwrap();
        local_ports.insert(c1a.port());
        expected.insert(("tcp6".into(), a1, any6, "LISTEN".into()));
        expected.insert(("tcp6".into(), a1, c1a, "ESTABLISHED".into()));
        expected.insert(("tcp6".into(), c1a, a1, "ESTABLISHED".into()));
        inodes.extend([inode_of(&l1), inode_of(&c1), inode_of(&s1)]);
        keep.extend([
            Box::new(l1) as Box<dyn std::any::Any>,
            Box::new(c1),
            Box::new(s1),
        ]);
    }

    let dir = tempfile::Builder::new()
        .prefix("nettool zoo ")
        .tempdir()
        .unwrap();
    let path = dir.path().join("zoo sock");
    let ul = UnixListener::bind(&path).unwrap();
    let uc = UnixStream::connect(&path).unwrap();
    let (us, _) = ul.accept().unwrap();
    let ua = UnixListener::bind_addr(
        &std::os::unix::net::SocketAddr::from_abstract_name(abstract_name("zoo")).unwrap(),
    )
    .unwrap();
    // Runs of spaces and a trailing one: the /proc parser must keep them.
    let odd = UnixListener::bind(dir.path().join("two  spaces, trailing ")).unwrap();
    inodes.extend([
        inode_of(&ul),
        inode_of(&uc),
        inode_of(&us),
        inode_of(&ua),
        inode_of(&odd),
    ]);
    keep.extend([
        Box::new(ul) as Box<dyn std::any::Any>,
        Box::new(uc),
        Box::new(us),
        Box::new(ua),
        Box::new(odd),
    ]);

    Zoo {
        dir,
        unix_path: path.to_str().unwrap().to_string(),
        inodes,
        time_waits: vec![tw],
        expected,
        local_ports,
        _keep: keep,
    }
}

impl Zoo {
    /// The inet rows that can be the zoo's, from one query per address
    /// family kind: everything on 127.0.0.1 (IPv4-mapped included), and the
    /// IPv6 tables. Narrowing by --src keeps the output small when the
    /// machine holds 80k sockets elsewhere.
    #[allow(
        clippy::unused_self,
        reason = "the rows this zoo's sockets are among: asked of the zoo"
    )]
    fn inet_rows(&self, extra: &[&str]) -> Vec<Row> {
        let mut v = rows(&[&["-tuan", "--json", "--src", "127.0.0.1"], extra].concat());
        v.extend(rows(&[&["-tuan", "-6", "--json"], extra].concat()));
        v
    }

    /// Is this row one of ours: by inode, or a `TIME_WAIT` by its 4-tuple.
    fn owns(&self, r: &Row) -> bool {
        if r.inode != 0 {
            return self.inodes.contains(&r.inode);
        }
        match (r.local.inet(), r.remote.inet()) {
            (Some(l), Some(rm)) => self.time_waits.contains(&(l, rm)),
            _ => false,
        }
    }
}

type InetKey = (String, SocketAddr, SocketAddr, String, u64);
type UnixKey = (String, Ep, String, u64);

fn inet_keys(z: &Zoo, rows: &[Row]) -> BTreeSet<InetKey> {
    rows.iter()
        .filter(|r| r.family != "unix" && z.owns(r))
        .map(|r| {
            (
                r.proto.clone(),
                r.local.inet().unwrap(),
                r.remote.inet().unwrap(),
                r.state.clone(),
                r.inode,
            )
        })
        .collect()
}

/// UNIX rows: the peer and the queues come only from netlink, so they are
/// left out.
fn unix_keys(z: &Zoo, rows: &[Row]) -> BTreeSet<UnixKey> {
    rows.iter()
        .filter(|r| r.family == "unix" && z.owns(r))
        .map(|r| (r.proto.clone(), r.local.clone(), r.state.clone(), r.inode))
        .collect()
}

#[test]
fn netlink_and_proc_sources_give_the_same_rows() {
    let z = zoo();
    let nl = z.inet_rows(&["--source", "netlink"]);
    let pr = z.inet_rows(&["--source", "proc"]);
    let (nk, pk) = (inet_keys(&z, &nl), inet_keys(&z, &pr));
    assert_same_set("inet rows", "netlink", &nk, "proc", &pk);
    let want: BTreeSet<(String, SocketAddr, SocketAddr, String)> = nk
        .iter()
        .map(|(p, l, r, s, _)| (p.clone(), *l, *r, s.clone()))
        .collect();
    assert_same_set("inet rows", "expected", &z.expected, "netlink", &want);

    let nl = rows(&["-xan", "--json", "--source", "netlink"]);
    let pr = rows(&["-xan", "--json", "--source", "proc"]);
    let (nu, pu) = (unix_keys(&z, &nl), unix_keys(&z, &pr));
    assert_same_set("unix rows", "netlink", &nu, "proc", &pu);
    assert_eq!(
        nu.len(),
        5,
        "listener, client, accepted end, abstract and odd listeners:\n{nu:#?}"
    );
    let odd = Ep::Path(format!("{}/two  spaces, trailing ", z.dir.path().display()));
    assert!(
        nu.iter().any(|k| k.1 == odd),
        "{odd:?} not intact:\n{nu:#?}"
    );
    assert!(
        nu.iter()
            .any(|k| matches!(&k.1, Ep::Abstract(n) if n.starts_with("nettool-test zoo"))),
        "{nu:#?}"
    );
    let path = Ep::Path(z.unix_path.clone());
    assert_eq!(
        nu.iter()
            .filter(|k| k.1 == path)
            .map(|k| k.2.as_str())
            .collect::<BTreeSet<_>>(),
        BTreeSet::from(["ESTABLISHED", "LISTEN"]),
        "the listener and its accepted end carry the path:\n{nu:#?}"
    );
}

#[test]
fn same_sockets_as_ss_reports() {
    let Some(ss) = which("ss") else {
        skip_or_fail("ss (iproute2) is not installed");
        return;
    };
    let z = zoo();
    let tuples: BTreeSet<(SocketAddr, SocketAddr)> =
        z.expected.iter().map(|(_, l, r, _)| (*l, *r)).collect();
    let mine = |(_, l, r, _): &(String, SocketAddr, SocketAddr, String)| tuples.contains(&(*l, *r));

    let filter = z
        .local_ports
        .iter()
        .map(|p| format!("sport = :{p}"))
        .collect::<Vec<_>>()
        .join(" or ");
    let ss = std::process::Command::new(ss)
        .args(["-tuanH", &format!("( {filter} )")])
        .output()
        .unwrap();
    assert!(
        ss.status.success(),
        "ss failed: {}",
        String::from_utf8_lossy(&ss.stderr)
    );
    let ss_text = String::from_utf8(ss.stdout).unwrap();
    let from_ss: BTreeSet<_> = ss_text.lines().filter_map(ss_row).filter(mine).collect();

    let from_nettool: BTreeSet<_> = z
        .inet_rows(&[])
        .into_iter()
        .filter(|r| z.owns(r))
        .map(|r| {
            (
                r.proto.trim_end_matches('6').to_string(),
                r.local.inet().unwrap(),
                r.remote.inet().unwrap(),
                r.state,
            )
        })
        .filter(mine)
        .collect();
    let expected: BTreeSet<_> = z
        .expected
        .iter()
        .map(|(p, l, r, s)| (p.trim_end_matches('6').to_string(), *l, *r, s.clone()))
        .collect();
    assert_same_set("tcp/udp sockets", "ss", &from_ss, "nettool", &from_nettool);
    assert_same_set(
        "tcp/udp sockets",
        "expected",
        &expected,
        "nettool",
        &from_nettool,
    );
}

/// Every directory above `path` has o+x and the file has o+x.
fn reachable_by_others(path: &std::path::Path) -> bool {
    let mode = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.mode());
    mode(path) & 0o001 != 0 && path.ancestors().skip(1).all(|d| mode(d) & 0o001 != 0)
}

#[test]
fn processes_column_without_privilege_shows_dash_and_one_note() {
    let Some(setpriv) = which("setpriv") else {
        skip_or_fail("setpriv (util-linux) is not installed");
        return;
    };
    if std::fs::metadata("/proc/self").unwrap().uid() != 0 {
        skip_or_fail("needs root to own a socket nobody cannot inspect");
        return;
    }
    // nobody must be able to reach the binary: use cargo's when every
    // directory above it lets others through, else a copy in a 0755 dir.
    let _copy_dir;
    let exe = if reachable_by_others(util::bin()) {
        util::bin().to_path_buf()
    } else {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let exe = dir.path().join("nettool");
        std::fs::copy(util::bin(), &exe).unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        _copy_dir = dir;
        exe
    };

    let l = listener_v4(8);
    let addr = l.local_addr().unwrap();
    let setpriv = setpriv.to_str().unwrap().to_string();
    let run = |json: bool| {
        let mut args = vec!["sockstat", "-tlnp", "--sport"];
        let port = port_str(addr);
        args.push(&port);
        if json {
            args.push("--json");
        }
        nettool(&args)
            .exe(&exe)
            .wrapped(&[
                &setpriv,
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--",
            ])
            .run_retrying_text_busy()
    };

    let out = run(false);
    out.expect_code(0);
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 1, "exactly one note on stderr{out:?}");
    assert!(lines[0].contains("could not be inspected"), "{out:?}");
    let t = out.table();
    let r = t.rows_where("Local Address", &addr.to_string());
    assert_eq!(r.len(), 1, "listener {addr} not listed{out:?}");
    assert_eq!(t.cell(r[0], "PID/Program"), "-", "{out:?}");

    let out = run(true);
    out.expect_code(0);
    assert_eq!(out.stderr_lines().len(), 1, "{out:?}");
    let rows = out.rows();
    let r = only(with_local(&rows, addr), "the root-owned listener", &rows);
    assert_eq!(r.processes, Some(vec![]), "{r}");
}

#[test]
fn closed_stdout_pipe_exits_zero_without_panic() {
    // Enough rows for many lines even on a quiet machine.
    let _udp: Vec<UdpSocket> = (0..200)
        .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
        .collect();
    let started = Instant::now();
    let mut child = nettool(&["sockstat", "-an"])
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with("Proto"), "{first:?}");
    drop(stdout);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(status.code(), Some(0), "status {status}, stderr:\n{stderr}");
    assert!(started.elapsed() < Duration::from_secs(30));
}

/// What a test needs to run something as nobody (uid 65534): setpriv, and
/// a nettool binary nobody can reach. `None` (after saying why, or failing
/// under CI) when this cannot be done here.
struct AsNobody {
    setpriv: String,
    exe: std::path::PathBuf,
    _copy_dir: Option<tempfile::TempDir>,
}

impl AsNobody {
    fn new() -> Option<AsNobody> {
        let Some(setpriv) = which("setpriv") else {
            skip_or_fail("setpriv (util-linux) is not installed");
            return None;
        };
        if std::fs::metadata("/proc/self").unwrap().uid() != 0 {
            skip_or_fail("needs root to act as uid 65534");
            return None;
        }
        let (exe, copy_dir) = if reachable_by_others(util::bin()) {
            (util::bin().to_path_buf(), None)
        } else {
            let dir = tempfile::tempdir().unwrap();
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
            let exe = dir.path().join("nettool");
            std::fs::copy(util::bin(), &exe).unwrap();
            std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
            (exe, Some(dir))
        };
        Some(AsNobody {
            setpriv: setpriv.to_str().unwrap().to_string(),
            exe,
            _copy_dir: copy_dir,
        })
    }

    /// The setpriv prefix that drops to uid/gid 65534 with no groups.
    fn prefix(&self) -> [&str; 5] {
        [
            &self.setpriv,
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
        ]
    }
}

/// A child process, killed and reaped when the test ends, even on panic.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn unix_socket_of_another_user_shows_that_user_or_unknown() {
    let Some(nobody) = AsNobody::new() else {
        return;
    };
    // A python3 that nobody may run (not one under root's home).
    let python = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("python3"))
            .find(|p| p.is_file() && reachable_by_others(p))
    });
    let Some(python) = python else {
        return skip_or_fail("no python3 that uid 65534 may run");
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let path = dir.path().join("nobody.sock");
    let path_s = path.to_str().unwrap().to_string();
    // A listener bound by uid 65534, held until we kill the child.
    let script = "import socket,sys\n\
        s = socket.socket(socket.AF_UNIX)\n\
        s.bind(sys.argv[1])\n\
        s.listen(4)\n\
        print('ready', flush=True)\n\
        sys.stdin.read()\n";
    let mut cmd = std::process::Command::new(&nobody.setpriv);
    cmd.args(&nobody.prefix()[1..])
        .arg(python)
        .args(["-c", script, &path_s])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = KillOnDrop(cmd.spawn().unwrap());
    let mut ready = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "ready", "the nobody listener did not start");
    let ino = std::fs::metadata(&path).map(|m| m.uid()).unwrap();
    assert_eq!(ino, 65534, "the socket file belongs to nobody");

    // netlink (the default): the kernel says who bound it.
    let out = sockstat(&["-xle"]);
    out.expect_code(0);
    let t = out.table();
    let r = t.rows_where("Local Address", &path_s);
    assert_eq!(r.len(), 1, "{out:?}");
    assert_eq!(t.cell(r[0], "User"), "nobody", "{out:?}");
    let all = rows(&["-xl", "--json"]);
    let row = only(
        all.iter()
            .filter(|r| r.local == Ep::Path(path_s.clone()))
            .cloned()
            .collect(),
        "the nobody listener",
        &all,
    );
    assert_eq!(row.uid, Some(65534), "{row}");

    // /proc/net/unix has no uid column: unknown, never a wrong value.
    let out = sockstat(&["-xle", "--source", "proc"]);
    out.expect_code(0);
    let t = out.table();
    let r = t.rows_where("Local Address", &path_s);
    assert_eq!(r.len(), 1, "{out:?}");
    assert_eq!(t.cell(r[0], "User"), "-", "{out:?}");
    let all = rows(&["-xl", "--json", "--source", "proc"]);
    let row = only(
        all.iter()
            .filter(|r| r.local == Ep::Path(path_s.clone()))
            .cloned()
            .collect(),
        "the nobody listener",
        &all,
    );
    assert_eq!(row.uid, None, "{row}");
}

#[test]
fn unreadable_proc_table_as_non_root_exits_2_with_one_line() {
    let Some(nobody) = AsNobody::new() else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let net = root.path().join("net");
    std::fs::create_dir(&net).unwrap();
    for d in [root.path(), &net] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let tcp = net.join("tcp");
    std::fs::write(&tcp, "  sl  local_address rem_address   st\n").unwrap();
    std::fs::set_permissions(&tcp, std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = nettool(&["sockstat", "-tan"])
        .proc_root(root.path())
        .exe(&nobody.exe)
        .wrapped(&nobody.prefix())
        .run_retrying_text_busy();
    out.expect_code(2);
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 1, "{out:?}");
    assert!(
        lines[0].contains(&tcp.display().to_string()) && lines[0].contains("run as root"),
        "{out:?}"
    );
    assert!(out.stdout.is_empty(), "{out:?}");
}

#[test]
fn listener_send_q_is_its_backlog_or_unknown_in_either_source() {
    let l = listener_v4(17);
    let addr = l.local_addr().unwrap();
    let _pending = TcpStream::connect(addr).unwrap();
    let port = port_str(addr);
    settle(
        &["-tln", "--json", "--sport", &port],
        "accept queue of 1",
        |r| with_local(r, addr).iter().any(|r| r.recv_q == Some(1)),
    );
    // /proc/net/tcp prints write_seq - snd_una for a listener, not its
    // backlog: the proc source says it does not know rather than 0.
    for (source, send_q, cell) in [("netlink", Some(17), "17"), ("proc", None, "-")] {
        let all = rows(&["-tln", "--json", "--sport", &port, "--source", source]);
        let r = only(with_local(&all, addr), "the listener", &all);
        assert_eq!((r.recv_q, r.send_q), (Some(1), send_q), "{source}: {r}");
        let out = sockstat(&["-tln", "--sport", &port, "--source", source]);
        out.expect_clean_success();
        let t = out.table();
        let row = t.rows_where("Local Address", &addr.to_string());
        assert_eq!(row.len(), 1, "{out:?}");
        assert_eq!(t.cell(row[0], "Send-Q"), cell, "{source}{out:?}");
        assert_eq!(t.cell(row[0], "Recv-Q"), "1", "{source}{out:?}");
    }
    // UNIX queues are not in /proc/net/unix at all.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.sock");
    let _u = UnixListener::bind(&path).unwrap();
    let all = rows(&["-xl", "--json", "--source", "proc"]);
    let path_s = path.to_str().unwrap().to_string();
    let u: Vec<&Row> = all
        .iter()
        .filter(|r| r.local == Ep::Path(path_s.clone()))
        .collect();
    assert_eq!(u.len(), 1, "{}", show_rows(&all));
    assert_eq!(
        (u[0].recv_q, u[0].send_q, u[0].uid),
        (None, None, None),
        "{}",
        u[0]
    );
}

#[test]
fn full_accept_queue_under_proc_source_says_the_backlog_is_unknown() {
    let l = listener_v4(1);
    let srv = l.local_addr().unwrap();
    let _c1 = TcpStream::connect(srv).unwrap();
    let _c2 = TcpStream::connect(srv).unwrap();
    let full = wait_until(TRANSITION, || {
        let r = rows(&["-tln", "--json", "--sport", &port_str(srv)]);
        with_local(&r, srv).iter().any(|r| r.recv_q == Some(2))
    });
    assert!(full, "accept queue of {srv} never reached 2");
    let out = sockstat(&["-s", "--source", "proc"]);
    out.expect_clean_success();
    let line = format!("listener {srv} has 2 connections waiting for accept()");
    let said: Vec<&str> = out.stdout.lines().filter(|l| l.contains(&line)).collect();
    assert_eq!(said.len(), 1, "want {line:?}{out:?}");
    assert!(
        said[0].contains("backlog") && said[0].contains("--source netlink"),
        "{out:?}"
    );
    assert!(!out.stdout.contains("full accept queue"), "{out:?}");
}
