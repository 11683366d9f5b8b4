//! nettool in a fleet's monitoring: `--textfile` feeding the real
//! `node_exporter` (Debian's prometheus-node-exporter), what a scrape then
//! shows, and that the textfile is never seen half-written.
//!
//! `node_exporter` runs inside lab namespace A, on A's loopback, with only
//! the textfile collector; curl scrapes it there. nettool runs in B
//! (sockstat) and in A (a probe of B); nothing leaves the lab pair.

#![allow(
    clippy::float_cmp,
    reason = "exact values read back from the text: counts, 0 and 1"
)]

mod lab;
mod prom;
mod util;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use prom::{Sample, samples, value};
use util::{nettool, skip_or_fail, which};

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs_f64()
}

/// A port nobody in `ns` listens on yet.
fn free_port(ns: &str) -> u16 {
    lab::thread_in(ns, || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port")
    })
    .join()
    .expect("port thread")
}

/// Starts `node_exporter` in `host` with only the textfile collector
/// reading `dir`, scrapes it once with curl, stops it: the samples.
fn scrape(host: &lab::Host, dir: &Path) -> Vec<Sample> {
    let port = free_port(&host.ns);
    let listen = format!("--web.listen-address=127.0.0.1:{port}");
    let textdir = format!("--collector.textfile.directory={}", dir.display());
    let exporter = lab::spawn_in(
        &host.ns,
        "prometheus-node-exporter",
        &[
            "--collector.disable-defaults",
            "--collector.textfile",
            &textdir,
            &listen,
        ],
    );
    let url = format!("http://127.0.0.1:{port}/metrics");
    let deadline = Instant::now() + Duration::from_secs(10);
    let scrape = loop {
        let out = host.run("curl", &["-sf", "--max-time", "2", &url]);
        if out.code() == Some(0) {
            break out;
        }
        assert!(
            Instant::now() < deadline,
            "node_exporter did not answer{out}\n{}",
            exporter.stop()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(exporter);
    samples(&scrape.stdout)
}

/// The real textfile collector: `node_exporter` with every other
/// collector off, on A's loopback, reading `dir`; a scrape through curl
/// after the nettool runs finds their metrics with the right values and
/// no textfile error.
#[test]
fn node_exporter_serves_the_textfiles_with_the_right_values() {
    let Some(lab) = lab::require_with(&["prometheus-node-exporter", "curl"]) else {
        return;
    };
    let pair = lab.pair();
    let dir = tempfile::tempdir().expect("textfile dir");
    // B: listeners the test owns, on ports no one else in B uses.
    let ports = [7401u16, 7402, 7403];
    let b_ip = pair.b.ip;
    let listeners = lab::thread_in(&pair.b.ns, move || {
        ports.map(|p| std::net::TcpListener::bind((b_ip, p)).expect("listen in B"))
    })
    .join()
    .expect("listener thread");
    let sock = dir.path().join("sockstat.prom");
    let out = pair
        .b
        .nettool(&["sockstat", "-s", "--textfile", &sock.to_string_lossy()]);
    out.expect_code(0);
    assert!(
        out.stdout.is_empty(),
        "--textfile alone prints nothing{out}"
    );
    let listing = dir.path().join("listeners.prom");
    pair.b
        .nettool(&["sockstat", "-tl", "--textfile", &listing.to_string_lossy()])
        .expect_code(0);
    // A probes a closed port of B: RST, so probe_success 0.
    let probe = |file: &str, target: &str| {
        let path = dir.path().join(file);
        let out = pair.a.nettool(&[
            "probe",
            "-W",
            "1",
            "--textfile",
            &path.to_string_lossy(),
            target,
        ]);
        out.expect_code(1);
    };
    probe("probe-b.prom", &format!("{b_ip}:7409"));
    // Two probe jobs scanning the same ports into two files: the same
    // families, told apart by the file's name on every sample.
    probe("scan-1.prom", &format!("{b_ip}:7409,7410"));
    probe("scan-2.prom", &format!("{b_ip}:7409,7410"));
    drop(listeners);

    let m = scrape(&pair.a, dir.path());
    assert_eq!(value(&m, "node_textfile_scrape_error", &[]), 0.0);
    for (file, command) in [
        ("sockstat.prom", "sockstat"),
        ("listeners.prom", "sockstat"),
        ("probe-b.prom", "probe"),
        ("scan-1.prom", "probe"),
        ("scan-2.prom", "probe"),
    ] {
        assert_eq!(
            value(
                &m,
                "nettool_run_success",
                &[("command", command), ("textfile", file)]
            ),
            1.0
        );
        let stamp = value(
            &m,
            "nettool_last_run_timestamp_seconds",
            &[("command", command), ("textfile", file)],
        );
        let now = unix_now();
        assert!(
            (now - 120.0..=now).contains(&stamp),
            "{command}'s run time {stamp} is recent ({now})"
        );
    }
    assert_eq!(
        value(
            &m,
            "nettool_sockstat_tcp_state_sockets",
            &[("state", "LISTEN")]
        ),
        3.0,
        "B's LISTEN sockets: the test's three"
    );
    // The listing's file: each listener's backlog is what std's listen()
    // asked for (128), its accept queue empty.
    for p in ports {
        let l = [("address", b_ip.to_string()), ("port", p.to_string())];
        let l: Vec<(&str, &str)> = l.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(
            value(&m, "nettool_sockstat_accept_queue_backlog", &l),
            128.0
        );
        assert_eq!(value(&m, "nettool_sockstat_accept_queue_length", &l), 0.0);
    }
    let b = b_ip.to_string();
    for file in ["probe-b.prom", "scan-1.prom", "scan-2.prom"] {
        let target = [("textfile", file), ("host", &b), ("port", "7409")];
        let refused = [target.as_slice(), &[("result", "refused_rst")]].concat();
        assert_eq!(value(&m, "probe_success", &refused), 0.0, "{file}");
        assert!(value(&m, "probe_duration_seconds", &target) > 0.0);
    }
    for file in ["scan-1.prom", "scan-2.prom"] {
        let labels = [("textfile", file), ("result", "refused_rst")];
        assert_eq!(value(&m, "nettool_probe_scan_ports", &labels), 2.0);
    }
}

/// `--textfile` replaces the file whole: 1,000 runs rewrite one textfile
/// while inotifywait watches the directory and a reader reads the file
/// as fast as it can. The file itself is never opened for writing (only
/// renamed onto: one `MOVED_TO` per run), the temporary files are names
/// the collector skips, and every read is a whole exposition.
#[test]
fn a_thousand_rewrites_are_never_seen_half_written() {
    let Some(inotifywait) = which("inotifywait") else {
        skip_or_fail("inotifywait is not installed (apt install inotify-tools)");
        return;
    };
    let dir = tempfile::tempdir().expect("textfile dir");
    let file = dir.path().join("atomic.prom");
    let watch = Inotify::start(&inotifywait, dir.path());

    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let done = Arc::clone(&done);
        let file = file.clone();
        std::thread::spawn(move || reader(&file, &done))
    };
    let runs = 1000;
    let path = file.to_string_lossy().into_owned();
    for i in 0..runs {
        let out = nettool(&["sockstat", "-tl", "--textfile", &path]).run();
        assert_eq!(out.code(), Some(0), "run {i}{out}");
    }
    done.store(true, Ordering::Relaxed);
    let (reads, distinct) = reader.join().expect("reader");
    let lines = watch.stop();
    let on_file: Vec<&String> = lines
        .iter()
        .filter(|l| l.ends_with(" atomic.prom"))
        .collect();
    let moved = on_file
        .iter()
        .filter(|l| l.as_str() == "MOVED_TO atomic.prom")
        .count();
    assert_eq!(
        moved,
        runs,
        "one rename onto the file per run: {:?}",
        &on_file[..on_file.len().min(20)]
    );
    let writes: Vec<&&String> = on_file
        .iter()
        .filter(|l| l.contains("MODIFY") || l.contains("CLOSE_WRITE") || l.contains("CREATE"))
        .collect();
    assert!(
        writes.is_empty(),
        "the file itself is never written in place: {writes:?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("Q_OVERFLOW")),
        "no inotify event lost"
    );
    // The directory's own events (the fsync after the rename opens it)
    // have no name.
    for l in lines.iter().filter(|l| !l.contains("ISDIR")) {
        let name = l.rsplit_once(' ').map_or("", |(_, n)| n);
        assert!(
            name == "atomic.prom"
                || name == ".ready"
                || (name.starts_with(".atomic.prom.")
                    && Path::new(name).extension().is_some_and(|e| e == "tmp")),
            "only the file and hidden *.tmp files: {l}"
        );
    }
    assert!(
        reads >= runs && distinct >= 2,
        "the reader read while the runs wrote: {reads} reads, {distinct} distinct contents"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        2,
        "only atomic.prom and .ready left"
    );
}

/// `inotifywait -m` on a directory, its event lines (`EVENTS NAME`)
/// collected by a thread.
struct Inotify {
    child: std::process::Child,
    rx: std::sync::mpsc::Receiver<String>,
    collector: std::thread::JoinHandle<()>,
}

impl Inotify {
    /// Watching `dir` once this returns: inotifywait says nothing when its
    /// watch is set up, so a file written and seen says it is (`.ready`,
    /// left in `dir`).
    #[track_caller]
    fn start(inotifywait: &Path, dir: &Path) -> Inotify {
        let mut child = Command::new(inotifywait)
            .args(["-m", "-q", "--format", "%e %f", &dir.to_string_lossy()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start inotifywait");
        let events = BufReader::new(child.stdout.take().expect("inotifywait stdout"));
        let (tx, rx) = std::sync::mpsc::channel();
        let collector = std::thread::spawn(move || {
            for line in events.lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let ready = dir.join(".ready");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            std::fs::write(&ready, "").expect("ready file");
            if rx
                .recv_timeout(Duration::from_millis(100))
                .is_ok_and(|l| l.contains(".ready"))
            {
                break;
            }
            assert!(Instant::now() < deadline, "inotifywait never saw a file");
        }
        while rx.recv_timeout(Duration::from_millis(200)).is_ok() {}
        Inotify {
            child,
            rx,
            collector,
        }
    }

    /// Every event line since [`start`](Self::start), after a moment for
    /// the last ones to arrive.
    fn stop(mut self) -> Vec<String> {
        std::thread::sleep(Duration::from_millis(300));
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = self.collector.join();
        self.rx.try_iter().collect()
    }
}

/// Reads `file` in a loop until `done`: each read that finds it must be a
/// whole exposition (ends in a newline, its last sample the run's
/// timestamp, every family's TYPE before its samples). Returns the reads
/// and how many different contents it saw.
fn reader(file: &Path, done: &AtomicBool) -> (usize, usize) {
    let mut reads = 0;
    let mut distinct = 0;
    let mut last = String::new();
    while !done.load(Ordering::Relaxed) {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        reads += 1;
        assert!(text.ends_with('\n'), "a whole file: {text:?}");
        let tail = text.lines().last().unwrap_or_default();
        assert!(
            tail.starts_with("nettool_last_run_timestamp_seconds{"),
            "the run's timestamp last: {text}"
        );
        let mut typed = std::collections::BTreeSet::new();
        for l in text.lines() {
            if let Some(rest) = l.strip_prefix("# TYPE ") {
                typed.insert(rest.split(' ').next().unwrap_or_default().to_string());
            } else if !l.starts_with('#') {
                let name = l.split(['{', ' ']).next().unwrap_or_default();
                assert!(typed.contains(name), "{name} has a TYPE first: {text}");
            }
        }
        if text != last {
            distinct += 1;
            last = text;
        }
    }
    (reads, distinct)
}

/// The alert rules README shows are contrib/prometheus/nettool-alerts.yml
/// word for word (the file the package installs), and promtool accepts
/// them; promtool's rule unit tests (contrib/prometheus/
/// nettool-alerts.test.yml) then make each alert fire on the series
/// nettool writes, and stay quiet on healthy ones.
#[test]
fn the_alert_rules_in_readme_pass_promtool() {
    let Some(promtool) = which("promtool") else {
        skip_or_fail("promtool is not installed (apt install prometheus)");
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rules = root.join("contrib/prometheus/nettool-alerts.yml");
    let file = std::fs::read_to_string(&rules).expect("the rules file");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README");
    let block = readme
        .split("```yaml\n")
        .skip(1)
        .filter_map(|b| b.split_once("```").map(|(y, _)| y))
        .find(|y| y.starts_with("groups:"))
        .expect("a ```yaml block of rules (groups:) in README");
    assert_eq!(block, file, "README's rules = {}", rules.display());
    let check = util::run_command(
        {
            let mut c = Command::new(&promtool);
            c.args(["check", "rules", &rules.to_string_lossy()]);
            c
        },
        "promtool check rules".into(),
        None,
        util::RUN_TIMEOUT,
    );
    check.ok();
    assert!(check.stdout.contains("SUCCESS"), "{check}");
    let tests = root.join("contrib/prometheus/nettool-alerts.test.yml");
    let unit = util::run_command(
        {
            let mut c = Command::new(&promtool);
            c.args(["test", "rules", &tests.to_string_lossy()]);
            c.current_dir(root.join("contrib/prometheus"));
            c
        },
        "promtool test rules".into(),
        None,
        util::RUN_TIMEOUT,
    );
    unit.ok();
    assert!(unit.stdout.contains("SUCCESS"), "{unit}");
}
