//! `nettool sockstat --watch` with `-N NAME` and `--all-netns`, against
//! namespaces of the lab (tests/lab, shared/LAB.md).
//!
//! nettool runs in the root namespace here, as in `tests/sockstat_netns.rs`:
//! a watch only dumps the kernel's tables and listens to the `sock_diag`
//! destroy groups, it sends nothing (the unprivileged test runs it inside a
//! lab namespace, its own to watch). Every connection a test makes is on
//! loopback inside a lab namespace, each namespace with the same addresses
//! and ports, so only the namespace tells their events apart. Assertions
//! are about the test's own namespaces: others on the machine (and the
//! other tests') may show up in an `--all-netns` watch.

mod lab;
mod util;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use serde_json::Value;

use lab::thread_in;
use util::{Bg, nettool, wait_until};

/// The JSON lines a running nettool has written so far.
fn lines_so_far(bg: &Bg) -> Vec<Value> {
    let text = std::fs::read_to_string(format!("/proc/{}/fd/1", bg.pid())).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn port_of(v: &Value) -> u64 {
    v["port"].as_u64().unwrap_or(0)
}

/// The `ip netns` name an event's `netns` record gives.
fn ns_name(e: &Value) -> Option<&str> {
    e["netns"]["name"].as_str()
}

/// Start `nettool sockstat --watch --json -t -a --interval 0.05 ARGS` in
/// the root namespace.
fn watch(args: &[&str]) -> Bg {
    let mut all = vec![
        "sockstat",
        "--watch",
        "--json",
        "-t",
        "-a",
        "--interval",
        "0.05",
    ];
    all.extend_from_slice(args);
    nettool(&all).spawn()
}

/// Bind a listener on 127.0.0.1:`port` in `ns` until `w` reports it `new`
/// in that namespace (one bound before the watch's first dump, or before
/// `--all-netns` found the namespace, is not new to it). Waits up to
/// `patience` for each.
fn sentinel(w: &Bg, ns: &str, port: u16, patience: Duration) -> TcpListener {
    for _ in 0..10 {
        let listener = thread_in(ns, move || TcpListener::bind(("127.0.0.1", port)).unwrap())
            .join()
            .unwrap();
        let seen = wait_until(patience, || {
            lines_so_far(w).iter().any(|e| {
                e["kind"] == "new"
                    && e["to"] == "LISTEN"
                    && port_of(&e["local"]) == u64::from(port)
                    && ns_name(e) == Some(ns)
            })
        });
        if seen {
            return listener;
        }
    }
    panic!("the watcher never reported the sentinel listener in {ns}");
}

/// One connection on 127.0.0.1:5000 in `ns`, the server closing first,
/// each step held for several intervals; returns the client's port.
fn close_server_first(ns: &str) -> u16 {
    thread_in(ns, || {
        let listener = TcpListener::bind("127.0.0.1:5000").unwrap();
        let mut client = TcpStream::connect("127.0.0.1:5000").unwrap();
        let (mut server, _) = listener.accept().unwrap();
        drop(listener);
        client.write_all(b"hello").unwrap();
        let mut hello = [0u8; 5];
        server.read_exact(&mut hello).unwrap();
        server.write_all(b"0123456789").unwrap();
        thread::sleep(Duration::from_millis(300));
        // The server closes: FIN_WAIT2 on its side, CLOSE_WAIT on the client's.
        drop(server);
        thread::sleep(Duration::from_millis(300));
        let mut got = Vec::new();
        client.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"0123456789");
        let port = client.local_addr().unwrap().port();
        drop(client);
        port
    })
    .join()
    .unwrap()
}

/// The events of the connection (local, remote) in namespace `ns`, in order.
fn about<'a>(events: &'a [Value], ns: &str, local: u16, remote: u16) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| {
            ns_name(e) == Some(ns)
                && port_of(&e["local"]) == u64::from(local)
                && port_of(&e["remote"]) == u64::from(remote)
        })
        .collect()
}

fn steps(events: &[&Value]) -> Vec<(String, String, String)> {
    events
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or("-").to_string();
            (s("kind"), s("from"), s("to"))
        })
        .collect()
}

/// The inodes of the sockets a process holds (`socket:[INODE]`).
fn sockets_held(pid: u32) -> HashSet<u64> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .filter_map(|l| {
                    let l = l.to_str()?.strip_prefix("socket:[")?.strip_suffix(']')?;
                    l.parse().ok()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The inodes of the netlink sockets of namespace `ns` (its
/// /proc/net/netlink, whose last column is the inode).
fn netlink_sockets_in(ns: &str) -> HashSet<u64> {
    let out = lab::run_in(ns, "cat", &["/proc/net/netlink"]);
    out.ok();
    out.stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().last()?.parse().ok())
        .collect()
}

/// `--all-netns`: the same close sequence in two namespaces at once, on the
/// same addresses and ports, is reported per namespace, each event naming
/// its own, in the machine's order on both sides; `ss -E` inside each
/// namespace saw the same client sockets destroyed. A namespace made after
/// the watch started is picked up, and one that goes away is dropped (the
/// watcher closes its two sockets there).
#[test]
#[allow(
    clippy::too_many_lines,
    reason = "two namespaces' close sequences, then one namespace's arrival and departure"
)]
fn all_netns_names_each_events_namespace_and_follows_namespaces_coming_and_going() {
    let Some(lab) = lab::require() else { return };
    let mut net = lab.net();
    let names = net.add_namespaces(2);
    let oracles: Vec<Bg> = names
        .iter()
        .map(|ns| lab::spawn_in(ns, "stdbuf", &["-oL", "ss", "-E", "-tnH"]))
        .collect();
    let w = watch(&["--all-netns"]);
    let _sentinels: Vec<TcpListener> = names
        .iter()
        .map(|ns| sentinel(&w, ns, 7101, Duration::from_millis(700)))
        .collect();
    let runs: Vec<_> = names
        .iter()
        .map(|ns| {
            let ns = ns.clone();
            thread::spawn(move || close_server_first(&ns))
        })
        .collect();
    let ports: Vec<u16> = runs.into_iter().map(|h| h.join().unwrap()).collect();
    let finished = |events: &[Value]| {
        names.iter().zip(&ports).all(|(ns, &p)| {
            about(events, ns, p, 5000)
                .iter()
                .any(|e| e["kind"] == "gone")
                && about(events, ns, 5000, p)
                    .iter()
                    .any(|e| e["to"] == "TIME_WAIT")
        })
    };
    let done = wait_until(Duration::from_secs(5), || finished(&lines_so_far(&w)));
    let events = lines_so_far(&w);
    assert!(done, "not finished: {events:#?}");
    for (ns, &port) in names.iter().zip(&ports) {
        // Client: exactly these, LAST_ACK seen or not (on loopback the
        // server's ACK comes within microseconds).
        let client = about(&events, ns, port, 5000);
        let mut got = steps(&client);
        got.retain(|s| s.2 != "LAST_ACK");
        if let Some(g) = got.last_mut() {
            if g.1 == "LAST_ACK" {
                g.1 = "CLOSE_WAIT".into();
            }
        }
        let want = [
            ("new", "-", "ESTABLISHED"),
            ("state", "ESTABLISHED", "CLOSE_WAIT"),
            ("gone", "CLOSE_WAIT", "-"),
        ]
        .map(|(k, f, t)| (k.to_string(), f.to_string(), t.to_string()));
        assert_eq!(got, want, "{ns}: {client:#?}");
        let gone = client.last().unwrap();
        // 10 bytes; the sequence number the FIN takes may count too.
        let received = gone["bytes_received"].as_u64().unwrap();
        assert!((10..=11).contains(&received), "{gone}");
        // Server: its states in the machine's order, ending in TIME_WAIT.
        let server = about(&events, ns, 5000, port);
        let order = ["ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT"];
        let ranks: Vec<usize> = server
            .iter()
            .map(|e| order.iter().position(|o| e["to"] == *o).unwrap_or(99))
            .collect();
        assert!(ranks.windows(2).all(|r| r[0] < r[1]), "{ns}: {server:#?}");
        assert_eq!(ranks.first(), Some(&0), "{ns}: {server:#?}");
        assert!(
            server.iter().any(|e| e["to"] == "FIN_WAIT2"),
            "{ns}: {server:#?}"
        );
        // Each namespace's record is the listing's: its inode, no pid for
        // a namespace no process is in.
        let inode = std::fs::metadata(format!("/run/netns/{ns}"))
            .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
            .unwrap();
        assert!(
            client
                .iter()
                .chain(&server)
                .all(|e| e["netns"]["inode"] == inode && e["netns"]["host"] == false),
            "{ns}: {client:#?}"
        );
    }
    // ss -E inside each namespace: the same client sockets destroyed.
    for ((ns, &port), oracle) in names.iter().zip(&ports).zip(oracles) {
        let ss = oracle.stop();
        let ss_ports: HashSet<u16> = ss
            .stdout
            .lines()
            .filter_map(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                let local: std::net::SocketAddr = cols.get(3)?.parse().ok()?;
                let peer: std::net::SocketAddr = cols.get(4)?.parse().ok()?;
                (peer.port() == 5000).then_some(local.port())
            })
            .collect();
        let ours: HashSet<u16> = events
            .iter()
            .filter(|e| e["kind"] == "gone" && ns_name(e) == Some(ns.as_str()))
            .filter(|e| port_of(&e["remote"]) == 5000)
            .filter_map(|e| u16::try_from(port_of(&e["local"])).ok())
            .collect();
        assert_eq!(ss_ports, HashSet::from([port]), "{ns}: {ss:?}");
        assert_eq!(ours, ss_ports, "{ns}");
    }

    // A namespace made now is found at the next discovery (every 2 s).
    let mut later = lab.net();
    let c = later.add_namespaces(1).remove(0);
    let listener = sentinel(&w, &c, 7102, Duration::from_secs(4));
    let in_c: HashSet<u64> = sockets_held(w.pid())
        .intersection(&netlink_sockets_in(&c))
        .copied()
        .collect();
    assert_eq!(in_c.len(), 2, "its dump and destroy sockets in {c}");
    // It goes: the listener's end is reported, and the watcher lets go of
    // the namespace (its sockets there would keep it alive).
    drop(listener);
    drop(later);
    let dropped = wait_until(Duration::from_secs(5), || {
        sockets_held(w.pid()).is_disjoint(&in_c)
    });
    let out = w.stop();
    let events: Vec<Value> = out
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(dropped, "still holds its sockets in {c}{out:?}");
    let c_events: Vec<&Value> = events
        .iter()
        .filter(|e| ns_name(e) == Some(c.as_str()))
        .collect();
    let gone = c_events
        .iter()
        .filter(|e| e["kind"] == "gone" && port_of(&e["local"]) == 7102)
        .count();
    assert_eq!(gone, 1, "{c_events:#?}");
}

/// `-N NAME` watches that namespace only: of the same connection made in
/// two namespaces, only its own is reported, named; `-p` names the owning
/// process (this test), found by the host-wide /proc scan.
#[test]
fn netns_by_name_watches_that_namespace_only() {
    let Some(lab) = lab::require() else { return };
    let mut net = lab.net();
    let names = net.add_namespaces(2);
    let (ours, other) = (&names[0], &names[1]);
    let watcher = watch(&["-N", ours, "-p"]);
    let _sentinel = sentinel(&watcher, ours, 7201, Duration::from_millis(700));
    let held: Vec<(TcpListener, TcpStream, TcpStream)> = [ours, other]
        .iter()
        .map(|ns| {
            thread_in(ns, || {
                let listener = TcpListener::bind("127.0.0.1:6100").unwrap();
                let client = TcpStream::connect("127.0.0.1:6100").unwrap();
                let server = listener.accept().unwrap().0;
                (listener, client, server)
            })
            .join()
            .unwrap()
        })
        .collect();
    let a_port = held[0].1.local_addr().unwrap().port();
    let me = format!("({})", std::process::id());
    let seen = wait_until(Duration::from_secs(5), || {
        lines_so_far(&watcher).iter().any(|e| {
            e["kind"] == "new"
                && port_of(&e["local"]) == u64::from(a_port)
                && e["owner"]
                    .as_str()
                    .is_some_and(|o| o.split(',').any(|o| o.ends_with(&me)))
        })
    });
    // A few more dumps, in which B's sockets would show if they could.
    thread::sleep(Duration::from_millis(300));
    let out = watcher.stop();
    let events: Vec<Value> = out
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        seen,
        "A's client was not reported with its owner {me}{out:?}"
    );
    assert!(!events.is_empty());
    for e in &events {
        assert_eq!(ns_name(e), Some(ours.as_str()), "{e}");
    }
    // A's listener, both ends of its connection: three sockets on 6100.
    let on_6100 = events
        .iter()
        .filter(|e| port_of(&e["local"]) == 6100 || port_of(&e["remote"]) == 6100)
        .count();
    assert_eq!(on_6100, 3, "{events:#?}");
    drop(held);
}

/// Without privilege (`nobody`, no capabilities), `--all-netns` watches
/// the namespace it runs in (the destroy groups are open to anyone) and
/// says in one note on stderr how many others it could not enter; a
/// connection in one of those is not reported.
#[test]
fn as_nobody_all_netns_watches_its_own_and_notes_the_rest() {
    use std::os::unix::fs::PermissionsExt;
    let Some(lab) = lab::require() else { return };
    let Some(setpriv) = util::which("setpriv") else {
        util::skip_or_fail("setpriv (util-linux) is not installed");
        return;
    };
    // A copy of the binary that uid 65534 can reach.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = dir.path().join("nettool");
    std::fs::copy(util::bin(), &exe).unwrap();
    let mut net = lab.net();
    let names = net.add_namespaces(2);
    let (own, other) = (&names[0], &names[1]);
    let setpriv = setpriv.to_str().unwrap().to_string();
    let w = nettool(&[
        "sockstat",
        "--watch",
        "--json",
        "--all-netns",
        "-t",
        "-a",
        "--interval",
        "0.05",
    ])
    .in_netns(own)
    .exe(&exe)
    .wrapped(&[
        setpriv.as_str(),
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
        "--",
    ])
    .spawn();
    let _sentinel = sentinel(&w, own, 7301, Duration::from_millis(700));
    let short = |ns: &str| {
        thread_in(ns, || {
            let listener = TcpListener::bind("127.0.0.1:6300").unwrap();
            let client = TcpStream::connect("127.0.0.1:6300").unwrap();
            let port = client.local_addr().unwrap().port();
            drop(listener.accept().unwrap());
            drop(client);
            port
        })
        .join()
        .unwrap()
    };
    // The same connection in the other namespace first: never reported.
    short(other);
    let p_own = short(own);
    let gone = wait_until(Duration::from_secs(5), || {
        lines_so_far(&w).iter().any(|e| {
            e["kind"] == "gone"
                && port_of(&e["local"]) == u64::from(p_own)
                && ns_name(e) == Some(own.as_str())
        })
    });
    thread::sleep(Duration::from_millis(200));
    let out = w.stop();
    assert!(gone, "no gone in {own} for port {p_own}{out:?}");
    let events: Vec<Value> = out
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        events.iter().all(|e| ns_name(e) != Some(other.as_str())),
        "{events:#?}"
    );
    let notes: Vec<&str> = out
        .stderr_nonblank_lines()
        .into_iter()
        .filter(|l| l.contains("could not be entered"))
        .collect();
    assert!(
        !notes.is_empty()
            && notes[0].starts_with("nettool: note: ")
            && notes[0].contains("network namespace")
            && notes[0].contains("run as root"),
        "{out:?}"
    );
}
