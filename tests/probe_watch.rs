//! `nettool probe` until stopped (`-c 0` / `-t`, `-w`, Ctrl-C), its state
//! changes (down, up again, a new address with `-r`) and `--quiet-ok`,
//! against real kernels in the network lab (tests/lab).
//!
//! Each test builds its own pair of namespaces (A 198.51.100.1, B
//! 198.51.100.2), runs nettool only inside A and shapes B with
//! `nettool probe serve` (killed and restarted to make an outage) and nft.
//! Nothing is sent outside the pair (shared/LAB.md). Names are traffic
//! too: the one name used, `peer.lab.invalid`, lives in a hosts file
//! bind-mounted over /etc/hosts in a private mount namespace, where
//! /etc/nsswitch.conf says `hosts: files` as well, so it never reaches
//! DNS (and A has no route to any resolver anyway).
//!
//! Timing assertions are bounds around what the test itself measured
//! (the outage it made, the deadline it gave), never exact values.

mod lab;
mod probe_common;
mod util;

use std::io::{Seek, SeekFrom, Write as _};
use std::path::Path;
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use lab::Host;
use probe_common::{listeners, num, number_after, of_type, probe, records, t4};
use util::{Bg, Output};

/// The port every peer listens on (each test has its own namespaces).
const PORT: u16 = 7000;

/// How far a measured down time may stray from the outage the test made:
/// an attempt every 0.1 s on each side, plus the test's own view of when
/// the peer went and came back (a process start and a /proc poll), on a
/// busy machine.
const SLACK: f64 = 0.5;

/// `nettool probe serve LISTEN` in `b`, listening when this returns (the
/// `n`th listener on [`PORT`] there).
#[track_caller]
fn serve(b: &Host, listen: &str, n: usize) -> Bg {
    let server = b.nettool_cmd(&["probe", "serve", listen]).spawn();
    assert!(
        util::wait_until(Duration::from_secs(5), || listeners(&b.ns, PORT) >= n),
        "`probe serve {listen}` is not listening after 5 s\n{}",
        server.stop()
    );
    server
}

/// The attempt lines of a text run: (seq, target, open).
fn attempt_lines(text: &str) -> Vec<(u64, String, bool)> {
    text.lines()
        .filter_map(|l| {
            let (n, rest) = l.split_once(": ")?;
            let n: u64 = n.parse().ok()?;
            let (target, what) = rest.split_once(' ')?;
            Some((n, target.to_string(), what.starts_with("open ")))
        })
        .collect()
}

/// `HH:MM:SS.mmm`.
fn is_clock(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 12
        && b.iter().enumerate().all(|(i, c)| match i {
            2 | 5 => *c == b':',
            8 => *c == b'.',
            _ => c.is_ascii_digit(),
        })
}

// ---------------------------------------------------------------------------
// Down and up again

/// The peer killed and restarted during `-c 0 -i 0.1 -w 5`: exactly one
/// down event and one up event, as text and as JSON, with and without
/// `--quiet-ok` (four runs at once, against the same outage). The down
/// event counts the open attempts before it, the up event the failures
/// between, and its down time is the outage the test made, within
/// [`SLACK`]; the summary counts one down period of that length.
#[test]
fn a_peer_killed_and_restarted_is_one_down_and_one_up() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let t = t4(PORT);
    let port = PORT.to_string();
    let mut server = Some(serve(&pair.b, &port, 1));
    let extras: [&[&str]; 4] = [&[], &["--json"], &["--quiet-ok"], &["--json", "--quiet-ok"]];
    let (outs, outage) = thread::scope(|sc| {
        let runs: Vec<_> = extras
            .iter()
            .map(|extra| {
                let mut args = vec!["-c", "0", "-i", "0.1", "-w", "5"];
                args.extend_from_slice(extra);
                args.push(&t);
                let a = &pair.a;
                sc.spawn(move || probe(a, &args))
            })
            .collect();
        thread::sleep(Duration::from_millis(1500));
        let gone = Instant::now();
        drop(server.take().expect("serving").stop());
        thread::sleep(Duration::from_millis(1500));
        server = Some(serve(&pair.b, &port, 1));
        let outage = gone.elapsed().as_secs_f64();
        let outs: Vec<Output> = runs
            .into_iter()
            .map(|r| r.join().expect("probe thread"))
            .collect();
        (outs, outage)
    });
    let [text, json, quiet, quiet_json] = <[Output; 4]>::try_from(outs).expect("four runs");
    for out in [&text, &json, &quiet, &quiet_json] {
        assert_eq!(out.code(), Some(1), "some attempts failed: exit 1\n{out}");
        assert!(out.stderr.trim().is_empty(), "nothing on stderr\n{out}");
        // Process start and exit included, on a machine that may be busy:
        // the deadline itself is checked on the summary's own clock below.
        assert!(
            (5.0..8.0).contains(&out.elapsed.as_secs_f64()),
            "-w 5 ends the run\n{out}"
        );
    }

    check_outage_text(&text, &t, outage);
    check_outage_json(&json, &t, outage);
    check_outage_quiet(&quiet, &quiet_json, &t);
    drop(server);
}

/// The text run of [`a_peer_killed_and_restarted_is_one_down_and_one_up`]:
/// the lines around the outage of `outage` seconds.
#[track_caller]
fn check_outage_text(text: &Output, t: &str, outage: f64) {
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert!(
        lines[0].starts_with(&format!("PROBE {t}: until stopped, at most 5.0 s, timeout")),
        "the header says until stopped\n{text}"
    );
    let downs: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with(&format!("{t} down at ")))
        .collect();
    let ups: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with(&format!("{t} up again at ")))
        .collect();
    assert_eq!((downs.len(), ups.len()), (1, 1), "one down, one up\n{text}");
    let (down, up) = (downs[0], ups[0]);
    assert!(down < up, "{text}");
    // Each event comes right after the attempt that made it.
    let mut before = attempt_lines(&lines[..down].join("\n"));
    let mut between = attempt_lines(&lines[down..up].join("\n"));
    assert!(
        before.pop().is_some_and(|a| !a.2) && between.pop().is_some_and(|a| a.2),
        "a failure just before the down event, an open attempt just before the up event\n{text}"
    );
    assert!(
        !before.is_empty() && before.iter().all(|a| a.2),
        "all open before the down event: {before:?}\n{text}"
    );
    assert!(
        between.iter().all(|a| !a.2),
        "all failed between: {between:?}\n{text}"
    );
    assert!(
        !attempt_lines(&lines[up..].join("\n")).is_empty(),
        "attempts after the up event\n{text}"
    );
    let down_line = lines[down];
    assert!(
        is_clock(&down_line[format!("{t} down at ").len()..][..12]),
        "a local time with milliseconds: {down_line:?}"
    );
    // The failure that made it is the one just before.
    assert!(
        down_line.contains(" (refused (RST)) after ")
            || down_line.contains(" (reset after accept) after "),
        "{down_line:?}"
    );
    assert_eq!(
        number_after::<usize>(down_line, ") after "),
        before.len(),
        "{text}"
    );
    let up_line = lines[up];
    let down_for: f64 = number_after(up_line, " after ");
    assert!(
        (down_for - outage).abs() <= SLACK,
        "down for {down_for} s; the peer was gone {outage:.3} s\n{text}"
    );
    assert_eq!(
        number_after::<usize>(up_line, " s down "),
        between.len() + 1,
        "the failures counted\n{text}"
    );
    let summary = lines
        .iter()
        .find(|l| l.starts_with("down 1 time, longest "))
        .unwrap_or_else(|| panic!("the summary counts one down period\n{text}"));
    assert!(
        summary.ends_with("; stopped at the deadline (-w)"),
        "{summary:?}"
    );
}

/// Its JSON run: the same story as records.
#[track_caller]
fn check_outage_json(json: &Output, t: &str, outage: f64) {
    let recs = records(json);
    let changes = of_type(&recs, "change");
    assert_eq!(changes.len(), 2, "{json}");
    let (down, up) = (changes[0], changes[1]);
    assert_eq!(
        (down["kind"].as_str(), up["kind"].as_str()),
        (Some("down"), Some("up")),
        "{json}"
    );
    let attempts = of_type(&recs, "attempt");
    let seq = |v: &Value| v["seq"].as_u64().expect("seq");
    let open = |v: &&Value| v["outcome"]["result"] == "open";
    let first_failed = attempts.iter().find(|a| !open(a)).expect("a failure");
    assert_eq!(
        seq(down),
        seq(first_failed),
        "the first failure is the down event\n{json}"
    );
    assert_eq!(down["after_open"].as_u64(), Some(seq(down) - 1), "{json}");
    assert_eq!(down["target"], t);
    let first_open_after = attempts
        .iter()
        .find(|a| seq(a) > seq(down) && open(a))
        .expect("open again");
    assert_eq!(seq(up), seq(first_open_after), "{json}");
    assert_eq!(
        up["after_failed"].as_u64(),
        Some(seq(up) - seq(down)),
        "{json}"
    );
    assert_eq!(up["again"], true);
    let down_for = num(up, "down_for_s");
    assert!(
        (down_for - outage).abs() <= SLACK,
        "down_for_s {down_for}; gone {outage:.3} s\n{json}"
    );
    for c in &changes {
        let time = c["time"].as_str().expect("time");
        assert!(
            time.len() >= 29 && is_clock(&time[11..23]),
            "local time, ms, offset: {time}"
        );
    }
    let summaries = of_type(&recs, "summary");
    let summary = summaries.last().expect("summary");
    assert_eq!(
        recs.last().map(|r| &r["type"]),
        Some(&Value::from("summary"))
    );
    assert_eq!(
        (
            summary["until_stopped"].as_bool(),
            summary["stopped_by"].as_str()
        ),
        (Some(true), Some("deadline"))
    );
    assert_eq!(
        (
            summary["down_periods"].as_u64(),
            summary["down_at_end"].as_bool()
        ),
        (Some(1), Some(false)),
        "{json}"
    );
    assert!(
        (num(summary, "downtime_s") - down_for).abs() < 1e-6,
        "{json}"
    );
    assert!(
        (num(summary, "longest_down_s") - down_for).abs() < 1e-6,
        "{json}"
    );
    assert_eq!(
        summary["failed"].as_u64(),
        up["after_failed"].as_u64(),
        "{json}"
    );
}

/// Its `--quiet-ok` runs: the header, the two changes and the summary, no
/// attempt.
#[track_caller]
fn check_outage_quiet(quiet: &Output, quiet_json: &Output, t: &str) {
    assert!(
        attempt_lines(&quiet.stdout).is_empty(),
        "no attempt line\n{quiet}"
    );
    let lines: Vec<&str> = quiet.stdout.lines().collect();
    assert!(lines[0].starts_with("PROBE "), "{quiet}");
    assert!(lines[1].starts_with(&format!("{t} down at ")), "{quiet}");
    assert!(
        lines[2].starts_with(&format!("{t} up again at ")),
        "{quiet}"
    );
    assert!(lines[3].starts_with("--- "), "then the summary\n{quiet}");
    let kinds: Vec<String> = records(quiet_json)
        .iter()
        .map(|r| r["type"].as_str().unwrap_or("?").to_string())
        .collect();
    assert_eq!(kinds, ["change", "change", "summary"], "{quiet_json}");
}

// ---------------------------------------------------------------------------
// How a run ends: the deadline, the count, Ctrl-C

/// `-w` ends a run on time: until stopped against an open port, against a
/// silent one (the attempt in flight gets only the time left and, cut
/// short, is not counted), and with a count that comes later (or
/// sooner) than the deadline.
#[test]
fn the_deadline_ends_a_run_on_time() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let _server = serve(&pair.b, &PORT.to_string(), 1);
    lab::nft(
        &pair.b.ns,
        &format!(
            "table inet lab {{\n chain input {{\n  type filter hook input priority 0;\n  tcp dport {} drop\n }}\n}}\n",
            PORT + 1
        ),
    );
    let (open, silent) = (t4(PORT), t4(PORT + 1));
    // (args, exit, stopped_by, attempts, how long at most)
    #[allow(clippy::type_complexity, reason = "a table of cases, read across")]
    let cases: [(&[&str], i32, &str, std::ops::RangeInclusive<u64>, f64); 4] = [
        (
            &["-c", "0", "-i", "0.1", "-w", "1", &open],
            0,
            "deadline",
            // 10 or 11 by the pacing; fewer when a busy machine makes
            // attempts start late, never more.
            5..=11,
            1.0,
        ),
        (
            &["-c", "0", "-W", "3", "-w", "1", &silent],
            1,
            "deadline",
            0..=0,
            1.0,
        ),
        (
            &["-c", "100", "-i", "0.1", "-w", "0.5", &open],
            0,
            "deadline",
            2..=6,
            0.5,
        ),
        (
            &["-c", "3", "-i", "0.1", "-w", "5", &open],
            0,
            "count",
            3..=3,
            0.2,
        ),
    ];
    util::run_cases(
        &cases,
        |c| c.0.join(" ").leak(),
        |(args, exit, stopped_by, attempts, secs)| {
            let mut all = vec!["--json"];
            all.extend_from_slice(args);
            let out = probe(&pair.a, &all);
            assert_eq!(out.code(), Some(*exit), "{out}");
            // The run's own clock (no process start or exit in it): it
            // ends at the deadline, or at the count before it.
            let recs = records(&out);
            let s = recs.last().expect("summary");
            assert_eq!(s["type"], "summary", "{out}");
            let took = s["elapsed_s"].as_f64().expect("elapsed_s");
            assert!(
                took >= *secs - 0.05 && took < secs + 0.4,
                "ends after {secs} s, not {took:.3} s\n{out}"
            );
            assert!(out.elapsed.as_secs_f64() < secs + 3.0, "{out}");
            assert_eq!(s["stopped_by"], *stopped_by, "{out}");
            assert_eq!(s["until_stopped"], args[1] == "0", "{out}");
            let n = s["attempts"].as_u64().expect("attempts");
            assert!(attempts.contains(&n), "{n} attempts\n{out}");
            assert_eq!(of_type(&recs, "attempt").len() as u64, n, "{out}");
        },
    );
    // The text says it too, and a silent run cut by the deadline counts
    // no attempt (none had its -W).
    let out = probe(&pair.a, &["-t", "-W", "3", "-w", "0.5", &silent]);
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(
        out.stdout.contains("\n0 attempts, 0 open, 0 failed"),
        "{out}"
    );
    assert!(out.stdout.contains("stopped at the deadline (-w)"), "{out}");
}

/// Ctrl-C (SIGINT) ends a `-c 0` run with the summary, and the exit code
/// says whether every attempt was open: 0 against a listener, 1 against
/// a closed port; as text and as JSON.
#[test]
fn ctrl_c_ends_a_run_until_stopped_with_the_summary() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let _server = serve(&pair.b, &PORT.to_string(), 1);
    let cases = [
        (PORT, false, 0),
        (PORT, true, 0),
        (PORT + 1, false, 1),
        (PORT + 1, true, 1),
    ];
    util::run_cases(
        &cases,
        |(port, json, _)| format!("{port} json={json}").leak(),
        |&(port, json, exit)| {
            let t = t4(port);
            let mut args = vec!["probe", "-c", "0", "-i", "0.1", &t];
            if json {
                args.insert(1, "--json");
            }
            let stdout = tempfile::NamedTempFile::new().expect("temp file");
            let mut child = pair
                .a
                .nettool_cmd(&args)
                .command()
                .stdin(Stdio::null())
                .stdout(stdout.reopen().expect("reopen"))
                .stderr(Stdio::piped())
                .spawn()
                .expect("start nettool");
            // The first attempt's line: SIGINT is caught by then.
            let read = || std::fs::read_to_string(stdout.path()).unwrap_or_default();
            assert!(
                util::wait_until(Duration::from_secs(5), || {
                    let s = read();
                    s.lines().count() >= if json { 3 } else { 4 }
                }),
                "no attempts after 5 s: {}",
                read()
            );
            util::signal(&child, "-INT");
            let status = util::wait_bounded(&mut child, Duration::from_secs(2), "SIGINT");
            let out = read();
            let err = util::read_all(child.stderr.take().expect("stderr"));
            assert_eq!(
                status.code(),
                Some(exit),
                "exit {exit} after Ctrl-C\n{out}\n{err}"
            );
            assert!(err.trim().is_empty(), "{err}");
            if json {
                let last: Value = serde_json::from_str(out.lines().last().unwrap_or_default())
                    .unwrap_or_else(|e| panic!("{e}: {out}"));
                assert_eq!(last["type"], "summary", "{out}");
                assert_eq!(last["stopped_by"], "interrupt", "{out}");
                assert!(last["attempts"].as_u64() >= Some(2), "{out}");
            } else {
                assert!(
                    out.contains(&format!("--- {t} probe statistics ---")),
                    "{out}"
                );
                assert!(
                    out.lines()
                        .last()
                        .unwrap_or_default()
                        .ends_with("stopped by Ctrl-C"),
                    "{out}"
                );
            }
        },
    );
}

// ---------------------------------------------------------------------------
// -r: the name resolved again before each attempt

/// Writes `byte` at `offset` of `path` in place: one byte, so a reader
/// sees the old file or the new, never a mix (and the bind mount, which
/// holds the inode, sees the change).
fn poke(path: &Path, offset: u64, byte: u8) {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open the hosts file");
    f.seek(SeekFrom::Start(offset)).expect("seek");
    f.write_all(&[byte]).expect("write");
}

/// `-r` follows /etc/hosts: nettool runs in A under `unshare -m` with a
/// hosts file of the test's bind-mounted over /etc/hosts, which the test
/// then edits. The name first points at 198.51.100.2; changed to .3 (a
/// second address of B, with a listener of its own) nettool reports the
/// address change once and every later attempt goes to .3, which the two
/// listeners' own logs confirm; with the IPv4 line commented out (the
/// name keeps an IPv6 address, of the wrong family for -4) attempts fail
/// with their own label, a down event, and come back up when it returns.
///
/// No DNS: /etc/nsswitch.conf here must list `files` first for hosts
/// (checked), and the private mount namespace binds one that lists only
/// `files`; the name always has an address in the hosts file; A has no
/// route to any resolver.
#[test]
fn re_resolve_follows_the_hosts_file_and_reports_the_change() {
    let Some(lab) = lab::require_with(&["unshare", "mount"]) else {
        return;
    };
    assert_hosts_file_first();
    let pair = lab.pair();
    lab::ip(
        &pair.b.ns,
        &["addr", "add", "198.51.100.3/24", "dev", &pair.b.iface],
    );
    let s2 = serve(&pair.b, &format!("198.51.100.2:{PORT}"), 1);
    let s3 = serve(&pair.b, &format!("198.51.100.3:{PORT}"), 2);
    let dir = tempfile::tempdir().expect("temp dir");
    let hosts = dir.path().join("hosts");
    let nsswitch = dir.path().join("nsswitch.conf");
    let name = "peer.lab.invalid";
    std::fs::write(&hosts, format!("198.51.100.2 {name}\n2001:db8::2 {name}\n")).expect("hosts");
    std::fs::write(&nsswitch, "hosts: files\n").expect("nsswitch.conf");
    let target = format!("{name}:{PORT}");
    let (h, n) = (
        hosts.to_str().expect("utf-8 path"),
        nsswitch.to_str().expect("utf-8 path"),
    );
    let wrapper = [
        "unshare",
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        "mount --bind \"$1\" /etc/hosts && mount --bind \"$2\" /etc/nsswitch.conf && shift 2 && exec \"$@\"",
        "sh",
        h,
        n,
    ];
    let run = |json: bool| {
        let mut args = vec![
            "probe", "-4", "-r", "-c", "0", "-i", "0.1", "-w", "4", &target,
        ];
        if json {
            args.insert(1, "--json");
        }
        pair.a.nettool_cmd(&args).wrapped(&wrapper).run()
    };
    let (text, json) = thread::scope(|sc| {
        let text = sc.spawn(|| run(false));
        let json = sc.spawn(|| run(true));
        thread::sleep(Duration::from_secs(1));
        // "198.51.100.2" -> "198.51.100.3"
        poke(&hosts, 11, b'3');
        thread::sleep(Duration::from_secs(1));
        // "#98.51.100.3": only the IPv6 line names it now.
        poke(&hosts, 0, b'#');
        thread::sleep(Duration::from_millis(800));
        poke(&hosts, 0, b'1');
        (
            text.join().expect("text run"),
            json.join().expect("json run"),
        )
    });
    for out in [&text, &json] {
        assert_eq!(out.code(), Some(1), "some attempts failed\n{out}");
        assert!(out.stderr.trim().is_empty(), "{out}");
    }
    let (t2, t3) = t2_t3();
    check_resolve_text(&text, name);
    check_resolve_json(&json, name);
    // The listeners' own logs: every open attempt to .2 and to .3 of both
    // runs reached that address.
    thread::sleep(Duration::from_millis(300));
    let (log2, log3) = (s2.stop(), s3.stop());
    let accepted = |log: &Output| {
        log.stdout
            .lines()
            .filter(|l| l.contains(": accepted"))
            .count()
    };
    assert_eq!(
        accepted(&log2),
        opens_to(&[&text, &json], &t2),
        "connections .2 saw\n{log2}"
    );
    assert_eq!(
        accepted(&log3),
        opens_to(&[&text, &json], &t3),
        "connections .3 saw\n{log3}"
    );
    assert!(accepted(&log3) > 0, "{log3}");
}

// ---------------------------------------------------------------------------
// Bad input

/// Flags of a run until stopped that cannot work: exit 2 and one line, in
/// A all the same.
#[test]
fn until_stopped_bad_input_exits_2_with_one_line() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let t = t4(PORT);
    for (args, said) in [
        (
            vec!["-c", "0", "-w", "0", &t],
            "-w 0: give 0.001 to 31536000 seconds (fractions allowed)",
        ),
        (
            vec!["-r", "-c", "0", &t],
            "-r resolves a name again before each attempt, and '198.51.100.2:7000' is an address: drop -r",
        ),
        (
            vec!["-c", "1", "--quiet-ok", &t],
            "--quiet-ok with -c 1: one attempt makes no state change to show; drop --quiet-ok",
        ),
        (
            vec!["-t", "--quiet-ok", "-v", &t],
            "--quiet-ok hides each attempt's lines, which is where -v reports: drop one of them",
        ),
    ] {
        let out = probe(&pair.a, &args);
        out.expect_usage_error(said);
        assert_eq!(out.stderr.trim(), format!("nettool: {said}"), "{out}");
    }
}

/// /etc/nsswitch.conf looks in /etc/hosts before DNS, as Debian's does:
/// so even outside the test's private mount namespace the name it uses
/// would be answered by the hosts file.
#[track_caller]
fn assert_hosts_file_first() {
    let nss = std::fs::read_to_string("/etc/nsswitch.conf").unwrap_or_default();
    let hosts_line = nss
        .lines()
        .find(|l| l.trim_start().starts_with("hosts:"))
        .unwrap_or("hosts: files dns");
    assert_eq!(
        hosts_line.split_whitespace().nth(1),
        Some("files"),
        "/etc/nsswitch.conf must look in /etc/hosts first: {hosts_line:?}"
    );
}

/// Open attempts to `t` in these runs (text or JSON).
fn opens_to(outs: &[&Output], t: &str) -> usize {
    outs.iter()
        .map(|o| {
            if o.stdout.starts_with('{') {
                of_type(&records(o), "attempt")
                    .iter()
                    .filter(|a| a["target"] == t && a["outcome"]["result"] == "open")
                    .count()
            } else {
                attempt_lines(&o.stdout)
                    .iter()
                    .filter(|a| a.1 == t && a.2)
                    .count()
            }
        })
        .sum()
}

/// `PORT` at 198.51.100.2 and .3, as nettool writes them.
fn t2_t3() -> (String, String) {
    (
        format!("198.51.100.2:{PORT}"),
        format!("198.51.100.3:{PORT}"),
    )
}

/// The label of an attempt whose name had no IPv4 address.
fn unresolved_label(name: &str) -> String {
    format!("error: '{name}' has no address of the asked family")
}

/// The text run of [`re_resolve_follows_the_hosts_file_and_reports_the_change`]:
/// attempts to .2, the change, then only .3 or the name unresolved.
#[track_caller]
fn check_resolve_text(text: &Output, name: &str) {
    let target = format!("{name}:{PORT}");
    let (t2, t3) = t2_t3();
    let unresolved = unresolved_label(name);
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert!(
        lines[0].starts_with(&format!(
            "PROBE {target} ({t2}, resolved again before each attempt): until stopped"
        )),
        "{text}"
    );
    let changed: Vec<usize> = (0..lines.len())
        .filter(|&i| {
            lines[i].starts_with(&format!(
                "{name} address changed 198.51.100.2 -> 198.51.100.3 at "
            ))
        })
        .collect();
    assert_eq!(changed.len(), 1, "one address change\n{text}");
    let before = attempt_lines(&lines[..changed[0]].join("\n"));
    let after = attempt_lines(&lines[changed[0]..].join("\n"));
    assert!(
        !before.is_empty() && before.iter().all(|a| a.1 == t2 && a.2),
        "{text}"
    );
    assert!(
        after.iter().filter(|a| a.2).all(|a| a.1 == t3),
        "open after the change: to .3\n{text}"
    );
    let failed: Vec<&&str> = lines
        .iter()
        .filter(|l| attempt_lines(l).first().is_some_and(|a| !a.2))
        .collect();
    assert!(!failed.is_empty(), "{text}");
    for l in &failed {
        assert!(
            l.contains(&format!(" {target} {unresolved}")),
            "a failed resolution, with its label: {l:?}\n{text}"
        );
    }
    let downs: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with(&format!("{target} down at ")))
        .collect();
    let ups: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with(&format!("{target} up again at ")))
        .collect();
    assert_eq!((downs.len(), ups.len()), (1, 1), "{text}");
    assert!(downs[0].contains(&format!("({unresolved})")), "{text}");
    assert!(
        after.last().is_some_and(|a| a.2 && a.1 == t3),
        "open again, at .3, at the end\n{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| *l == format!("{name}: 1 address change, last 198.51.100.3")),
        "{text}"
    );
}

/// Its JSON run: the change record, and the attempts' targets around it.
#[track_caller]
fn check_resolve_json(json: &Output, name: &str) {
    let target = format!("{name}:{PORT}");
    let (t2, t3) = t2_t3();
    let recs = records(json);
    let moves: Vec<&Value> = of_type(&recs, "change")
        .into_iter()
        .filter(|c| c["kind"] == "address")
        .collect();
    assert_eq!(moves.len(), 1, "{json}");
    let m = moves[0];
    assert_eq!(
        (m["from"].as_str(), m["to"].as_str(), m["name"].as_str()),
        (Some("198.51.100.2"), Some("198.51.100.3"), Some(name)),
        "{json}"
    );
    let at = m["seq"].as_u64().expect("seq");
    for a in of_type(&recs, "attempt") {
        let seq = a["seq"].as_u64().expect("seq");
        let want = if a["outcome"]["result"] == "error" {
            assert!(
                a["outcome"]["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("no address of the asked family")),
                "{a}"
            );
            target.as_str()
        } else if seq < at {
            t2.as_str()
        } else {
            t3.as_str()
        };
        assert_eq!(a["target"], want, "attempt {seq}\n{json}");
    }
    let s = recs.last().expect("summary");
    assert_eq!(
        (
            s["name"].as_str(),
            s["address_changes"].as_u64(),
            s["target"].as_str()
        ),
        (Some(name), Some(1), Some(t3.as_str())),
        "{json}"
    );
    assert_eq!(s["down_periods"], 1, "{json}");
}
