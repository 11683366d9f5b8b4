//! `nettool sockstat -N` and `--all-netns` against real network namespaces:
//! named ones (`ip netns add`, through tests/lab) and ones held only by a
//! process started with `unshare -n`, as a container's are. Each holds TCP
//! listeners and loopback connections on ports of its own, and `ss` run
//! inside each namespace is the oracle.
//!
//! nettool runs in the root namespace here: `-N` and `--all-netns` only
//! read the kernel's tables (`sock_diag` dumps and /proc), they send nothing.
//! Assertions are only about the test's own namespaces: others on the
//! machine may come and go while a test runs (notes about them on stderr
//! are allowed).

mod lab;
mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use util::{Output, Row, assert_same_set, nettool, skip_or_fail, ss_row, which};

/// A row as both tools can say it: protocol without the `6`, local,
/// remote, state.
type Key = (String, SocketAddr, SocketAddr, String);

/// A network namespace held only by a process (`unshare -n sh -c ...;
/// exec sleep`): killed and reaped on drop, which ends the namespace once
/// the test's sockets in it are closed too.
struct Holder {
    child: Child,
}

impl Holder {
    fn start() -> Holder {
        let mut child = Command::new(which("unshare").expect("unshare (util-linux)"))
            .args([
                "-n",
                "sh",
                "-c",
                "ip link set lo up && echo ready && exec sleep 600",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start unshare -n");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let holder = Holder { child };
        assert_eq!(line.trim(), "ready", "the unshare -n holder did not start");
        holder
    }

    /// `unshare` execs `sh`, which execs `sleep`: the child's pid is the
    /// holder's all along.
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn ns_path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/ns/net", self.pid()))
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One test namespace: how it is reached, and its sockets (kept open).
struct TestNs {
    /// The `ip netns` name, for named ones.
    name: Option<String>,
    holder: Option<Holder>,
    inode: u64,
    base_port: u16,
    _sockets: Sockets,
}

impl TestNs {
    /// `ss -tanH` inside this namespace, as [`Key`]s.
    fn ss(&self) -> BTreeSet<Key> {
        let out = match (&self.name, &self.holder) {
            (Some(n), _) => lab::run_in(n, "ss", &["-tanH"]),
            (None, Some(h)) => {
                let pid = h.pid().to_string();
                let mut c = Command::new(which("nsenter").expect("nsenter (util-linux)"));
                c.args(["-t", &pid, "-n", "ss", "-tanH"]);
                util::run_command(
                    c,
                    format!("nsenter -t {pid} -n ss -tanH"),
                    None,
                    lab::DEFAULT_TIMEOUT,
                )
            }
            (None, None) => unreachable!(),
        };
        out.ok();
        // With one protocol asked for, ss leaves out its Netid column.
        out.stdout
            .lines()
            .map(|l| ss_row(&format!("tcp {l}")).unwrap_or_else(|| panic!("ss row {l:?}")))
            .collect()
    }

    /// What `--all-netns` should call it in the table.
    fn label(&self) -> String {
        match (&self.name, &self.holder) {
            (Some(n), _) => n.clone(),
            (None, Some(h)) => format!("{}/sleep", h.pid()),
            (None, None) => unreachable!(),
        }
    }
}

/// The sockets made in one namespace: two listeners on 127.0.0.1 (ports
/// `base` and `base + 1`), three connections accepted by the first, and one
/// left in the second's accept queue: 10 rows.
struct Sockets {
    _listeners: Vec<TcpListener>,
    _streams: Vec<TcpStream>,
}

const ROWS_PER_NS: usize = 10;

fn make_sockets(base: u16) -> Sockets {
    let a = TcpListener::bind(("127.0.0.1", base)).expect("bind base port");
    let b = TcpListener::bind(("127.0.0.1", base + 1)).expect("bind base+1");
    let mut streams = Vec::new();
    for _ in 0..3 {
        streams.push(TcpStream::connect(a.local_addr().unwrap()).unwrap());
        streams.push(a.accept().unwrap().0);
    }
    streams.push(TcpStream::connect(b.local_addr().unwrap()).unwrap());
    Sockets {
        _listeners: vec![a, b],
        _streams: streams,
    }
}

/// Run `f` on a thread inside the namespace of `file` (what `lab::thread_in`
/// does for named namespaces, for a holder's `/proc/PID/ns/net` too).
fn in_ns<T: Send + 'static>(file: &Path, f: impl FnOnce() -> T + Send + 'static) -> T {
    let ns = fs::File::open(file).unwrap_or_else(|e| panic!("open {}: {e}", file.display()));
    std::thread::spawn(move || {
        // SAFETY: setns(2) on a namespace file we hold open; with
        // CLONE_NEWNET it moves this new thread only.
        let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
        f()
    })
    .join()
    .unwrap()
}

fn inode_of_path(p: &Path) -> u64 {
    fs::metadata(p)
        .unwrap_or_else(|e| panic!("stat {}: {e}", p.display()))
        .ino()
}

/// Ports for test namespace `i`, apart from every other test's here.
fn base_port(test: u16, i: u16) -> u16 {
    20_000 + test * 1000 + i * 10
}

/// `named` namespaces from the lab and `held` ones from `unshare -n`, each
/// with its sockets.
fn namespaces(net: &mut lab::Net, test: u16, named: usize, held: usize) -> Vec<TestNs> {
    let mut out = Vec::new();
    for (i, name) in net.add_namespaces(named).into_iter().enumerate() {
        let base = base_port(test, u16::try_from(i).unwrap());
        let sockets = lab::thread_in(&name, move || make_sockets(base))
            .join()
            .unwrap();
        let inode = inode_of_path(&Path::new("/run/netns").join(&name));
        out.push(TestNs {
            name: Some(name),
            holder: None,
            inode,
            base_port: base,
            _sockets: sockets,
        });
    }
    for i in named..named + held {
        let base = base_port(test, u16::try_from(i).unwrap());
        let holder = Holder::start();
        let sockets = in_ns(&holder.ns_path(), move || make_sockets(base));
        let inode = inode_of_path(&holder.ns_path());
        out.push(TestNs {
            name: None,
            holder: Some(holder),
            inode,
            base_port: base,
            _sockets: sockets,
        });
    }
    out
}

/// nettool's JSON rows with their `netns` objects, checked against the
/// row schema (the `netns` key aside).
#[track_caller]
fn rows_with_netns(out: &Output) -> Vec<(Row, Value)> {
    let doc = out.json();
    assert_eq!(doc["schema"], "nettool.sockstat/1", "{out:?}");
    doc["sockets"]
        .as_array()
        .unwrap_or_else(|| panic!("no sockets{out:?}"))
        .iter()
        .map(|v| {
            let mut obj = v.as_object().unwrap().clone();
            let ns = obj
                .remove("netns")
                .unwrap_or_else(|| panic!("a row without netns: {v}{out:?}"));
            let mut keys: Vec<&String> = ns.as_object().unwrap().keys().collect();
            keys.sort();
            assert_eq!(
                keys,
                ["command", "container", "host", "inode", "name", "pid"],
                "{ns}"
            );
            let row = Row::from_json(&Value::Object(obj))
                .unwrap_or_else(|e| panic!("bad row {v}: {e}{out:?}"));
            (row, ns)
        })
        .collect()
}

fn key(r: &Row) -> Key {
    (
        r.proto.trim_end_matches('6').to_string(),
        r.local.inet().unwrap(),
        r.remote.inet().unwrap(),
        r.state.clone(),
    )
}

/// Every stderr line is a note (other namespaces on the machine may vanish
/// mid-scan, some processes' namespaces may be unreadable even to root).
#[track_caller]
fn only_notes(out: &Output) {
    for l in out.stderr_lines() {
        assert!(
            l.starts_with("nettool: note: "),
            "unexpected stderr line {l:?}{out:?}"
        );
    }
}

/// Rows of one namespace (by inode), as keys.
fn keys_of(rows: &[(Row, Value)], inode: u64) -> BTreeSet<Key> {
    rows.iter()
        .filter(|(_, ns)| ns["inode"] == inode)
        .map(|(r, _)| key(r))
        .collect()
}

#[test]
fn all_netns_rows_equal_ss_inside_each_of_20_namespaces() {
    let Some(lab) = lab::require_with(&["ss", "unshare", "nsenter"]) else {
        return;
    };
    let mut net = lab.net();
    let spaces = namespaces(&mut net, 1, 10, 10);
    // nettool runs inside a namespace of the test's own (LAB.md): what
    // it lists is the same from there.
    let obs = net.add_namespaces(1).remove(0);

    let out = nettool(&["sockstat", "--all-netns", "-tan", "--json"])
        .in_netns(&obs)
        .run();
    out.ok();
    only_notes(&out);
    let rows = rows_with_netns(&out);
    for ns in &spaces {
        let mine = keys_of(&rows, ns.inode);
        assert_eq!(mine.len(), ROWS_PER_NS, "namespace {}{out:?}", ns.label());
        assert!(
            mine.iter()
                .any(|(_, l, _, st)| l.port() == ns.base_port && st == "LISTEN"),
            "{}: no listener on {}",
            ns.label(),
            ns.base_port
        );
        assert_same_set(
            &format!("sockets of {}", ns.label()),
            "ss inside it",
            &ns.ss(),
            "nettool --all-netns",
            &mine,
        );
        let (_, obj) = rows.iter().find(|(_, o)| o["inode"] == ns.inode).unwrap();
        assert_eq!(obj["host"], false);
        match &ns.holder {
            None => assert_eq!(obj["name"], ns.name.as_deref().unwrap(), "{obj}"),
            Some(h) => {
                assert!(obj["name"].is_null(), "{obj}");
                assert_eq!(
                    obj["pid"],
                    h.pid(),
                    "the holder is the lowest pid in it: {obj}"
                );
                assert_eq!(obj["command"], "sleep", "{obj}");
                assert!(obj["container"].is_null(), "{obj}");
            }
        }
    }
    // Each namespace's rows come together, in one span.
    let order: Vec<u64> = rows
        .iter()
        .map(|(_, o)| o["inode"].as_u64().unwrap())
        .collect();
    let mut spans = order.clone();
    spans.dedup();
    let distinct: BTreeSet<u64> = order.iter().copied().collect();
    assert_eq!(
        spans.len(),
        distinct.len(),
        "rows of one namespace are contiguous"
    );
    // In scan order: named namespaces before those known only by a
    // process (README: host, names, then the rest by lowest pid).
    let first_row = |inode: u64| order.iter().position(|&i| i == inode).unwrap();
    let last_named = spaces
        .iter()
        .filter(|n| n.holder.is_none())
        .map(|n| first_row(n.inode))
        .max()
        .unwrap();
    let first_held = spaces
        .iter()
        .filter(|n| n.holder.is_some())
        .map(|n| first_row(n.inode))
        .min()
        .unwrap();
    assert!(last_named < first_held, "names first, then pids{out:?}");

    // The table: the Netns column first, each namespace's label on its rows.
    let out = nettool(&["sockstat", "--all-netns", "-tan"])
        .in_netns(&obs)
        .run();
    out.ok();
    let t = out.table();
    assert_eq!(t.header[0], "Netns", "{out:?}");
    for ns in &spaces {
        let label = ns.label();
        let r = t.rows_where("Netns", &label);
        assert_eq!(r.len(), ROWS_PER_NS, "table rows of {label}{out:?}");
    }
}

/// Where cgroup v2 is mounted (`/sys/fs/cgroup`, or `.../unified` on a
/// hybrid host).
fn cgroup2_mount() -> Option<PathBuf> {
    let info = fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        if post.split_whitespace().next() != Some("cgroup2") {
            return None;
        }
        pre.split_whitespace().nth(4).map(PathBuf::from)
    })
}

/// Cgroups the test made (deepest last), removed on drop after whatever is
/// left in them is moved back to the root cgroup.
struct Cgroups {
    root: PathBuf,
    dirs: Vec<PathBuf>,
}

impl Cgroups {
    fn add(&mut self, rel: &str) -> PathBuf {
        let p = self.root.join(rel);
        fs::create_dir(&p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
        self.dirs.push(p.clone());
        p
    }
}

impl Drop for Cgroups {
    fn drop(&mut self) {
        for d in self.dirs.iter().rev() {
            if let Ok(procs) = fs::read_to_string(d.join("cgroup.procs")) {
                for pid in procs.lines() {
                    let _ = fs::write(self.root.join("cgroup.procs"), pid);
                }
            }
            for _ in 0..100 {
                if fs::remove_dir(d).is_ok() || !d.exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

#[test]
fn container_and_pod_are_named_from_the_holders_cgroup() {
    let Some(lab) = lab::require_with(&["unshare"]) else {
        return;
    };
    let mut net = lab.net();
    // nettool runs inside a namespace of the test's own (LAB.md): what
    // it lists is the same from there.
    let obs = net.add_namespaces(1).remove(0);
    let Some(root) = cgroup2_mount() else {
        skip_or_fail("no cgroup v2 hierarchy is mounted");
        return;
    };
    let slice = format!("nt-{}.slice", std::process::id());
    if let Err(e) = fs::create_dir(root.join(&slice)) {
        skip_or_fail(format!(
            "cgroup v2 at {} is not writable: {e}",
            root.display()
        ));
        return;
    }
    let mut cg = Cgroups {
        root: root.clone(),
        dirs: vec![root.join(&slice)],
    };
    let docker_id = format!("{:064x}", 0x00d0_c4e7_u64);
    let cri_id = format!("{:064x}", 0xc71_u64);
    let uid = "1f2e3d4c-5b6a-7980-a1b2-c3d4e5f6a7b8";
    let docker = cg.add(&format!("{slice}/docker-{docker_id}.scope"));
    cg.add(&format!(
        "{slice}/kubepods-besteffort-pod{}.slice",
        uid.replace('-', "_")
    ));
    let pod = cg.add(&format!(
        "{slice}/kubepods-besteffort-pod{}.slice/cri-containerd-{cri_id}.scope",
        uid.replace('-', "_")
    ));
    // Declared after the cgroups: dropped (killed) first.
    let holders = [Holder::start(), Holder::start()];
    let ports = [base_port(2, 0), base_port(2, 1)];
    let mut sockets = Vec::new();
    for ((h, dir), port) in holders.iter().zip([&docker, &pod]).zip(ports) {
        fs::write(dir.join("cgroup.procs"), h.pid().to_string()).unwrap();
        sockets.push(in_ns(&h.ns_path(), move || {
            TcpListener::bind(("127.0.0.1", port)).unwrap()
        }));
    }

    let out = nettool(&["sockstat", "--all-netns", "-tln", "--json"])
        .in_netns(&obs)
        .run();
    out.ok();
    only_notes(&out);
    let rows = rows_with_netns(&out);
    let find = |h: &Holder| {
        let inode = inode_of_path(&h.ns_path());
        rows.iter().find(|(_, o)| o["inode"] == inode).map_or_else(
            || panic!("no row of holder {}{out:?}", h.pid()),
            |(r, o)| (r.clone(), o.clone()),
        )
    };
    let (r, o) = find(&holders[0]);
    assert_eq!(r.local.inet().unwrap().port(), ports[0]);
    assert_eq!(o["pid"], holders[0].pid());
    assert_eq!(
        o["container"],
        serde_json::json!({"runtime": "docker", "id": docker_id, "pod": null}),
        "{o}"
    );
    let (r, o) = find(&holders[1]);
    assert_eq!(r.local.inet().unwrap().port(), ports[1]);
    assert_eq!(
        o["container"],
        serde_json::json!({"runtime": "containerd", "id": cri_id, "pod": uid}),
        "{o}"
    );

    let out = nettool(&["sockstat", "--all-netns", "-tln"])
        .in_netns(&obs)
        .run();
    out.ok();
    let t = out.table();
    let want = [
        format!("{}/sleep docker:{}", holders[0].pid(), &docker_id[..12]),
        format!(
            "{}/sleep containerd:{} pod:{uid}",
            holders[1].pid(),
            &cri_id[..12]
        ),
    ];
    for (label, port) in want.iter().zip(ports) {
        let r = t.rows_where("Netns", label);
        assert_eq!(r.len(), 1, "{label}{out:?}");
        assert_eq!(t.cell(r[0], "Local Address"), format!("127.0.0.1:{port}"));
    }
    drop(sockets);
}

#[test]
fn netns_by_name_path_and_pid_lists_that_namespace_only() {
    let Some(lab) = lab::require_with(&["ss", "unshare", "nsenter"]) else {
        return;
    };
    let mut net = lab.net();
    let spaces = namespaces(&mut net, 3, 1, 1);
    // nettool runs inside a namespace of the test's own (LAB.md): what
    // it lists is the same from there.
    let obs = net.add_namespaces(1).remove(0);
    let (named, held) = (&spaces[0], &spaces[1]);
    let name = named.name.clone().unwrap();
    let pid = held.holder.as_ref().unwrap().pid().to_string();
    let path_of_pid = format!("/proc/{pid}/ns/net");
    let run_path = format!("/run/netns/{name}");
    for (arg, ns) in [
        (name.as_str(), named),
        (run_path.as_str(), named),
        (pid.as_str(), held),
        (path_of_pid.as_str(), held),
    ] {
        let out = nettool(&["sockstat", "-N", arg, "-tan", "--json"])
            .in_netns(&obs)
            .run();
        out.expect_clean_success();
        let rows = rows_with_netns(&out);
        assert!(
            rows.iter().all(|(_, o)| o["inode"] == ns.inode),
            "-N {arg}: rows of another namespace{out:?}"
        );
        let got: BTreeSet<Key> = rows.iter().map(|(r, _)| key(r)).collect();
        assert_eq!(got.len(), ROWS_PER_NS, "-N {arg}{out:?}");
        assert_same_set(&format!("-N {arg}"), "ss inside", &ns.ss(), "nettool", &got);
        let o = &rows[0].1;
        if std::ptr::eq(ns, named) {
            assert_eq!(o["name"], name.as_str(), "{o}");
        } else {
            assert_eq!(o["pid"].to_string(), pid, "{o}");
            assert_eq!(o["command"], "sleep", "{o}");
        }
    }
    // The port filter and -l work inside too.
    let out = nettool(&[
        "sockstat",
        "-N",
        &name,
        "-tln",
        "--sport",
        &named.base_port.to_string(),
    ])
    .in_netns(&obs)
    .run();
    out.ok();
    let t = out.table();
    assert_eq!(t.header[0], "Netns");
    assert_eq!(t.rows.len(), 1, "{out:?}");
    assert_eq!(t.cell(&t.rows[0], "Netns"), name);
}

#[test]
fn netns_errors_are_one_line_exit_2() {
    let Some(lab) = lab::require() else {
        return;
    };
    let mut net = lab.net();
    // nettool runs inside a namespace of the test's own (LAB.md): what
    // it lists is the same from there.
    let obs = net.add_namespaces(1).remove(0);
    let file = tempfile::NamedTempFile::new().unwrap();
    // A FIFO must be refused, not waited on for a writer.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let pid_max = fs::read_to_string("/proc/sys/kernel/pid_max").unwrap();
    let missing = format!("nt-{}-missing", std::process::id());
    for (arg, mentions) in [
        (missing.as_str(), "/run/netns"),
        (pid_max.trim(), "does not exist"),
        (
            file.path().to_str().unwrap(),
            "is a regular file, not a network namespace file",
        ),
        (
            "/proc/self/ns/mnt",
            "is a mount namespace, not a network namespace file",
        ),
        ("/nonexistent/ns", "is no such file"),
        (
            fifo.to_str().unwrap(),
            "is a FIFO, not a network namespace file",
        ),
        ("/dev/null", "is a device, not a network namespace file"),
    ] {
        nettool(&["sockstat", "-N", arg, "-tan"])
            .in_netns(&obs)
            .timeout(std::time::Duration::from_secs(10))
            .run()
            .expect_usage_error(mentions);
    }
    // PROC_ROOT fixtures cannot be entered.
    nettool(&["sockstat", "--all-netns"])
        .in_netns(&obs)
        .proc_root(file.path().parent().unwrap())
        .run()
        .expect_usage_error("unset PROC_ROOT");
}

#[test]
fn all_netns_summary_per_namespace_and_total() {
    let Some(lab) = lab::require_with(&["unshare"]) else {
        return;
    };
    let mut net = lab.net();
    let spaces = namespaces(&mut net, 4, 2, 1);
    // nettool runs inside a namespace of the test's own (LAB.md): what
    // it lists is the same from there.
    let obs = net.add_namespaces(1).remove(0);
    let out = nettool(&["sockstat", "--all-netns", "-s", "--json"])
        .in_netns(&obs)
        .run();
    out.ok();
    only_notes(&out);
    let doc = out.summary_json();
    let per: Vec<&Value> = doc["namespaces"].as_array().unwrap().iter().collect();
    for ns in &spaces {
        let s = per
            .iter()
            .find(|s| s["netns"]["inode"] == ns.inode)
            .unwrap_or_else(|| panic!("{} missing{out:?}", ns.label()));
        assert_eq!(
            s["protocols"],
            serde_json::json!({"tcp": ROWS_PER_NS}),
            "{s}"
        );
        assert_eq!(s["tcp_states"]["LISTEN"], 2, "{s}");
        assert_eq!(s["tcp_states"]["ESTABLISHED"], 8, "{s}");
        assert_eq!(
            s["kernel"]["TCP"]["inuse"], ROWS_PER_NS,
            "its own /proc/net/sockstat: {s}"
        );
    }
    // The top level is the total of the namespaces.
    let mut sum: BTreeMap<String, u64> = BTreeMap::new();
    for s in &per {
        for (p, n) in s["protocols"].as_object().unwrap() {
            *sum.entry(p.clone()).or_default() += n.as_u64().unwrap();
        }
    }
    let top: BTreeMap<String, u64> = doc["protocols"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    assert_eq!(top, sum, "{out:?}");

    let out = nettool(&["sockstat", "--all-netns", "-s"])
        .in_netns(&obs)
        .run();
    out.ok();
    assert!(out.stdout.contains("\nPer network namespace\n"), "{out:?}");
    for ns in &spaces {
        let line = out
            .stdout
            .lines()
            .find(|l| l.split("  ").next() == Some(ns.label().as_str()))
            .unwrap_or_else(|| panic!("no line for {}{out:?}", ns.label()));
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            cells[1],
            ROWS_PER_NS.to_string(),
            "its Sockets cell: {line}"
        );
    }
    // The protocol counters: every namespace's added up (each namespace's
    // own are in the JSON), with their meanings.
    let heading = out
        .stdout
        .lines()
        .find(|l| l.starts_with("Protocol counters of the "))
        .unwrap_or_else(|| panic!("no counters of all namespaces{out:?}"));
    assert!(
        heading.contains(" namespaces together since boot"),
        "{heading}"
    );
    assert!(out.stdout.contains("\n    ActiveOpens "), "{out:?}");
}

/// Every directory above `path` has o+x and the file has o+x.
fn reachable_by_others(path: &Path) -> bool {
    let mode = |p: &Path| fs::metadata(p).map_or(0, |m| m.mode());
    mode(path) & 0o001 != 0 && path.ancestors().skip(1).all(|d| mode(d) & 0o001 != 0)
}

#[test]
fn as_nobody_all_netns_lists_its_own_and_says_what_it_could_not_enter() {
    let Some(lab) = lab::require() else {
        return;
    };
    let Some(setpriv) = which("setpriv") else {
        skip_or_fail("setpriv (util-linux) is not installed");
        return;
    };
    // nobody must be able to reach the binary.
    let copy = tempfile::tempdir().unwrap();
    let exe = if reachable_by_others(util::bin()) {
        util::bin().to_path_buf()
    } else {
        fs::set_permissions(copy.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let exe = copy.path().join("nettool");
        fs::copy(util::bin(), &exe).unwrap();
        fs::set_permissions(&exe, fs::Permissions::from_mode(0o755)).unwrap();
        exe
    };
    let mut net = lab.net();
    let spaces = namespaces(&mut net, 5, 2, 0);
    // nettool runs inside a namespace of the test's own (LAB.md): what
    // it lists is the same from there.
    let obs = net.add_namespaces(1).remove(0);
    let own = lab::thread_in(&obs, || TcpListener::bind("127.0.0.1:0").unwrap())
        .join()
        .unwrap();
    let own_addr = own.local_addr().unwrap();
    let own_inode = inode_of_path(&Path::new("/run/netns").join(&obs));

    let setpriv = setpriv.to_str().unwrap();
    let out = nettool(&["sockstat", "--all-netns", "-tln", "--json"])
        .in_netns(&obs)
        .exe(&exe)
        .wrapped(&[
            setpriv,
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
        ])
        .run_retrying_text_busy();
    out.ok();
    let lines = out.stderr_nonblank_lines();
    assert_eq!(lines.len(), 1, "one note{out:?}");
    let n: usize = lines[0]
        .strip_prefix("nettool: note: ")
        .and_then(|l| l.split_once(" network namespaces could not be entered ("))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("not the one note{out:?}"));
    assert!(n >= spaces.len(), "at least the test's namespaces{out:?}");
    assert!(lines[0].contains("; run as root)"), "{out:?}");
    let rows = rows_with_netns(&out);
    assert!(
        rows.iter().all(|(_, o)| o["inode"] == own_inode),
        "only its own namespace{out:?}"
    );
    assert!(
        rows.iter().any(|(r, _)| r.local.inet() == Some(own_addr)),
        "the listener {own_addr} of its own namespace{out:?}"
    );

    // -N: another namespace is refused in one line; its own needs no
    // privilege.
    let as_nobody = |args: &[&str]| {
        nettool(args)
            .in_netns(&obs)
            .exe(&exe)
            .wrapped(&[
                setpriv,
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--",
            ])
            .run_retrying_text_busy()
    };
    let name = spaces[0].name.as_deref().unwrap();
    as_nobody(&["sockstat", "-N", name, "-tln"])
        .expect_usage_error("needs CAP_SYS_ADMIN: run as root");
    let out = as_nobody(&["sockstat", "-N", "/proc/self/ns/net", "-tln", "--json"]);
    out.expect_clean_success();
    let rows = rows_with_netns(&out);
    assert!(rows.iter().all(|(_, o)| o["inode"] == own_inode), "{out:?}");
    assert!(
        rows.iter().any(|(r, _)| r.local.inet() == Some(own_addr)),
        "{out:?}"
    );
    drop(own);
}
