//! `nettool probe` scans in rounds until stopped (`-t`, `-c N`, `-w`,
//! `-i`, `--quiet-ok` over several ports): state changes per (host, port)
//! and the down periods in the summary, against real kernels in the
//! network lab (tests/lab).
//!
//! Each test builds its own pair of namespaces (A 198.51.100.1, B
//! 198.51.100.2), runs nettool only inside A and shapes B with
//! `nettool probe serve` (one killed and restarted to make an outage).
//! Nothing is sent outside the pair (shared/LAB.md).
//!
//! Timing assertions are bounds around what the test itself measured
//! (the outage it made, the deadline it gave), never exact values.

mod lab;
mod probe_common;
mod util;

use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use lab::Host;
use probe_common::{listeners, num, number_after, of_type, probe, records, t4};
use util::{Bg, Output};

/// The ports of B: one served throughout, one killed and restarted, one
/// never served.
const STEADY: u16 = 7001;
const FLAKY: u16 = 7002;
const CLOSED: u16 = 7003;

/// How far a measured down time may stray from the outage the test made:
/// a round every 0.2 s (a change is stamped with its round's start), plus
/// the test's own view of when the peer went and came back (a process
/// start and a /proc poll), on a busy machine.
const SLACK: f64 = 0.7;

/// `nettool probe serve PORT` in `b`, listening when this returns.
#[track_caller]
fn serve(b: &Host, port: u16) -> Bg {
    let server = b
        .nettool_cmd(&["probe", "serve", &port.to_string()])
        .spawn();
    assert!(
        util::wait_until(Duration::from_secs(5), || listeners(&b.ns, port) >= 1),
        "`probe serve {port}` is not listening after 5 s\n{}",
        server.stop()
    );
    server
}

/// A round's line: (round, target, open).
fn round_lines(text: &str) -> Vec<(u64, String, bool)> {
    text.lines()
        .filter_map(|l| {
            let (n, rest) = l.split_once(": ")?;
            let n: u64 = n.parse().ok()?;
            let (target, what) = rest.split_once(' ')?;
            Some((n, target.to_string(), what.starts_with("open ")))
        })
        .collect()
}

/// Lines that are state changes (of any target).
fn change_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.contains(" down at ") || l.contains(" up again at ") || l.contains(" up at "))
        .collect()
}

/// Three ports of B watched in rounds (`-t -i 0.2 -w 5`) while the
/// FLAKY port's listener is killed and restarted: exactly one down and one
/// up event, both for FLAKY, as text and as JSON, with and without
/// `--quiet-ok` (four runs at once, against the same outage); the up
/// event's down time is the outage the test made, within [`SLACK`]; the
/// steady ports make no event; the summary counts every round and one
/// down period for FLAKY.
#[test]
fn a_port_killed_and_restarted_is_one_down_and_one_up_among_steady_ports() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let _steady = serve(&pair.b, STEADY);
    let mut flaky = Some(serve(&pair.b, FLAKY));
    assert_eq!(listeners(&pair.b.ns, CLOSED), 0, "nothing on {CLOSED}");
    let ports = format!("{}:{STEADY}-{CLOSED}", lab::v4(2));
    let extras: [&[&str]; 4] = [&[], &["--json"], &["--quiet-ok"], &["--json", "--quiet-ok"]];
    let (outs, outage) = thread::scope(|sc| {
        let runs: Vec<_> = extras
            .iter()
            .map(|extra| {
                let mut args = vec!["-t", "-i", "0.2", "-w", "5"];
                args.extend_from_slice(extra);
                args.push(&ports);
                let a = &pair.a;
                sc.spawn(move || probe(a, &args))
            })
            .collect();
        thread::sleep(Duration::from_millis(1500));
        let gone = Instant::now();
        drop(flaky.take().expect("serving").stop());
        thread::sleep(Duration::from_millis(1500));
        flaky = Some(serve(&pair.b, FLAKY));
        let outage = gone.elapsed().as_secs_f64();
        let outs: Vec<Output> = runs
            .into_iter()
            .map(|r| r.join().expect("probe thread"))
            .collect();
        (outs, outage)
    });
    let [text, json, quiet, quiet_json] = <[Output; 4]>::try_from(outs).expect("four runs");
    for out in [&text, &json, &quiet, &quiet_json] {
        assert_eq!(out.code(), Some(1), "some probes failed: exit 1\n{out}");
        assert!(out.stderr.trim().is_empty(), "nothing on stderr\n{out}");
        assert!(
            (5.0..6.5).contains(&out.elapsed.as_secs_f64()),
            "-w 5 ends the run\n{out}"
        );
    }
    check_text(&text, outage);
    check_json(&json, outage);
    check_quiet(&quiet, &quiet_json);
    drop(flaky);
}

/// The text run: every round's three lines, sorted; the two changes of
/// FLAKY, each right after its round's FLAKY line; the summary.
#[track_caller]
fn check_text(text: &Output, outage: f64) {
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert!(
        lines[0].starts_with(
            "SCAN 3 probes a round, until stopped, at most 5.0 s, a round every 0.20 s, at most 256 in flight"
        ),
        "the header\n{text}"
    );
    let flaky = t4(FLAKY);
    let changes = change_lines(&text.stdout);
    assert_eq!(changes.len(), 2, "two changes in all\n{text}");
    let down_line = changes[0];
    let up_line = changes[1];
    assert!(
        down_line.starts_with(&format!("{flaky} down at ")),
        "{text}"
    );
    assert!(
        up_line.starts_with(&format!("{flaky} up again at ")),
        "{text}"
    );
    assert!(
        down_line.contains(" (refused (RST)) after ")
            || down_line.contains(" (reset after accept) after "),
        "{down_line:?}"
    );
    let rounds = round_lines(&text.stdout);
    let last = rounds.last().expect("rounds").0;
    // 0.2 s apart for 5 s: 25 rounds at most, and a busy machine still
    // makes many.
    assert!((10..=25).contains(&last), "{last} rounds\n{text}");
    assert_eq!(rounds.len() as u64, 3 * last, "three lines a round\n{text}");
    for (i, chunk) in rounds.chunks(3).enumerate() {
        let n = i as u64 + 1;
        let targets: Vec<&str> = chunk.iter().map(|r| r.1.as_str()).collect();
        assert_eq!(targets, [t4(STEADY), flaky.clone(), t4(CLOSED)], "{text}");
        assert!(chunk.iter().all(|r| r.0 == n), "round {n}\n{text}");
        assert!(chunk[0].2 && !chunk[2].2, "steady ports\n{text}");
    }
    let flaky_rounds: Vec<bool> = rounds
        .iter()
        .filter(|r| r.1 == flaky)
        .map(|r| r.2)
        .collect();
    let first_down = flaky_rounds.iter().position(|o| !o).expect("a failure");
    let back = first_down
        + flaky_rounds[first_down..]
            .iter()
            .position(|o| *o)
            .expect("open again");
    assert!(
        flaky_rounds[..first_down].iter().all(|o| *o) && flaky_rounds[back..].iter().all(|o| *o),
        "open before the outage and after: {flaky_rounds:?}"
    );
    assert_eq!(number_after::<usize>(down_line, ") after "), first_down);
    assert_eq!(
        number_after::<usize>(up_line, " s down "),
        back - first_down
    );
    // Each change comes right after the line of the probe that made it.
    let at = |l: &str| lines.iter().position(|x| *x == l).expect("line");
    assert_eq!(
        lines[at(down_line) - 1].split_once(": ").map(|x| x.0),
        Some((first_down + 1).to_string().as_str()),
        "{text}"
    );
    assert!(lines[at(down_line) - 1].contains(&flaky), "{text}");
    assert!(lines[at(up_line) - 1].starts_with(&format!("{}: {flaky} open ", back + 1)));
    let down_for: f64 = number_after(up_line, " after ");
    assert!(
        (down_for - outage).abs() <= SLACK,
        "down for {down_for} s; the listener was gone {outage:.3} s\n{text}"
    );
    let summary = lines
        .iter()
        .position(|l| l.starts_with("--- scan: "))
        .expect("the summary");
    assert!(
        lines[summary].starts_with(&format!(
            "--- scan: {last} rounds, {} probes of 1 host, ",
            3 * last
        )),
        "{text}"
    );
    let period = lines
        .iter()
        .find(|l| l.starts_with(&format!("{flaky} down 1 time, longest ")))
        .unwrap_or_else(|| panic!("FLAKY's down period\n{text}"));
    let longest: f64 = number_after(period, "longest ");
    assert!(
        (longest - down_for).abs() < 0.051,
        "{period:?} vs {up_line:?}"
    );
    assert!(!period.ends_with("(down at the end)"), "{period:?}");
    assert_eq!(
        lines.last().copied(),
        Some("went down: 1; never open: 1; stopped at the deadline (-w)"),
        "{text}"
    );
}

/// The JSON run: the same story as records.
#[track_caller]
fn check_json(json: &Output, outage: f64) {
    let recs = records(json);
    let changes = of_type(&recs, "change");
    assert_eq!(changes.len(), 2, "{json}");
    let (down, up) = (changes[0], changes[1]);
    for c in [down, up] {
        assert_eq!(c["target"], t4(FLAKY), "{json}");
        assert_eq!(c["host"], lab::v4(2).to_string(), "{json}");
        assert_eq!(c["port"], FLAKY, "{json}");
    }
    assert_eq!(
        (down["kind"].as_str(), up["kind"].as_str()),
        (Some("down"), Some("up")),
        "{json}"
    );
    let attempts = of_type(&recs, "attempt");
    let seq = |v: &Value| v["seq"].as_u64().expect("seq");
    let open = |v: &&Value| v["outcome"]["result"] == "open";
    let flaky: Vec<&Value> = attempts
        .iter()
        .copied()
        .filter(|a| a["port"] == FLAKY)
        .collect();
    let first_failed = flaky.iter().find(|a| !open(a)).expect("a failure");
    assert_eq!(seq(down), seq(first_failed), "{json}");
    assert_eq!(down["after_open"].as_u64(), Some(seq(down) - 1), "{json}");
    let back = flaky
        .iter()
        .find(|a| seq(a) > seq(down) && open(a))
        .expect("open again");
    assert_eq!(seq(up), seq(back), "{json}");
    assert_eq!(up["after_failed"].as_u64(), Some(seq(up) - seq(down)));
    assert_eq!(up["again"], true);
    let down_for = num(up, "down_for_s");
    assert!(
        (down_for - outage).abs() <= SLACK,
        "down_for_s {down_for}; gone {outage:.3} s\n{json}"
    );
    let summary = recs.last().expect("records");
    assert_eq!(summary["type"], "scan_summary", "{json}");
    let rounds = summary["rounds"].as_u64().expect("rounds");
    assert_eq!(attempts.len() as u64, 3 * rounds, "{json}");
    assert_eq!(attempts.last().map(|a| seq(a)), Some(rounds), "{json}");
    assert_eq!(summary["probes"].as_u64(), Some(3 * rounds));
    assert_eq!(
        summary["states"]["closed"].as_u64(),
        Some(rounds + seq(up) - seq(down)),
        "CLOSED every round, FLAKY while down\n{json}"
    );
    assert_eq!(
        (
            summary["until_stopped"].as_bool(),
            summary["stopped_by"].as_str(),
            summary["never_open"].as_u64(),
            summary["interrupted"].as_bool()
        ),
        (Some(true), Some("deadline"), Some(1), Some(false))
    );
    let periods = summary["down"].as_array().expect("down");
    assert_eq!(periods.len(), 1, "{json}");
    let p = &periods[0];
    assert_eq!(p["target"], t4(FLAKY));
    assert_eq!(
        (p["down_periods"].as_u64(), p["down_at_end"].as_bool()),
        (Some(1), Some(false))
    );
    assert!((num(p, "downtime_s") - down_for).abs() < 1e-6, "{json}");
    assert!((num(p, "longest_down_s") - down_for).abs() < 1e-6, "{json}");
}

/// The `--quiet-ok` runs: the header, the two changes and the summary, no
/// round's line.
#[track_caller]
fn check_quiet(quiet: &Output, quiet_json: &Output) {
    assert!(
        round_lines(&quiet.stdout).is_empty(),
        "no round's line\n{quiet}"
    );
    let lines: Vec<&str> = quiet.stdout.lines().collect();
    let flaky = t4(FLAKY);
    assert!(lines[0].starts_with("SCAN "), "{quiet}");
    assert!(
        lines[1].starts_with(&format!("{flaky} down at ")),
        "{quiet}"
    );
    assert!(
        lines[2].starts_with(&format!("{flaky} up again at ")),
        "{quiet}"
    );
    assert!(
        lines[3].starts_with("--- scan: "),
        "then the summary\n{quiet}"
    );
    let kinds: Vec<String> = records(quiet_json)
        .iter()
        .map(|r| r["type"].as_str().unwrap_or("?").to_string())
        .collect();
    assert_eq!(kinds, ["change", "change", "scan_summary"], "{quiet_json}");
}

/// `-c 3 -i 0` makes three rounds back to back and stops after the last;
/// with `--open` it shows only the open ports and exits 0, every round
/// having found one; without, the closed port makes it exit 1. A port
/// never up makes no change event.
#[test]
fn a_count_of_rounds_and_the_exit_status() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let _steady = serve(&pair.b, STEADY);
    let ports = format!("{}:{STEADY},{CLOSED}", lab::v4(2));
    let open = probe(&pair.a, &["-c", "3", "-i", "0", "--open", &ports]);
    assert_eq!(
        open.code(),
        Some(0),
        "every round found an open port\n{open}"
    );
    let rounds = round_lines(&open.stdout);
    assert_eq!(
        rounds,
        (1..=3).map(|n| (n, t4(STEADY), true)).collect::<Vec<_>>(),
        "{open}"
    );
    assert!(change_lines(&open.stdout).is_empty(), "{open}");
    assert!(
        open.stdout
            .ends_with("went down: 0; never open: 1; stopped after the last round\n"),
        "{open}"
    );
    assert!(
        open.elapsed < Duration::from_secs(3),
        "back to back\n{open}"
    );
    let all = probe(&pair.a, &["-c", "3", "-i", "0", "--json", &ports]);
    assert_eq!(all.code(), Some(1), "a closed port: exit 1\n{all}");
    let recs = records(&all);
    assert_eq!(of_type(&recs, "attempt").len(), 6, "{all}");
    assert!(of_type(&recs, "change").is_empty(), "{all}");
    let s = recs.last().expect("summary");
    assert_eq!(
        (
            s["rounds"].as_u64(),
            s["open"].as_u64(),
            s["stopped_by"].as_str()
        ),
        (Some(3), Some(3), Some("count"))
    );
}

/// Ctrl-C (SIGINT) ends rounds until stopped with the summary: only whole
/// rounds are counted (a round cut short is not), and the exit code says
/// whether every probe was open: 0 over the steady port alone, 1 with the
/// closed port too; as text and as JSON.
#[test]
fn ctrl_c_ends_rounds_with_the_summary() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let _steady = serve(&pair.b, STEADY);
    let (one, two) = (
        format!("{}:{STEADY}", lab::v4(2)),
        format!("{}:{STEADY},{CLOSED}", lab::v4(2)),
    );
    let cases = [(&one, false, 0), (&two, true, 1)];
    util::run_cases(
        &cases,
        |(t, json, _)| format!("{t} json={json}").leak(),
        |&(t, json, exit)| {
            let mut args = vec!["probe", "-t", "-i", "0.1", "--parallel", "4", t];
            if json {
                args.insert(1, "--json");
            }
            let stdout = tempfile::NamedTempFile::new().expect("temp file");
            let mut child = pair
                .a
                .nettool_cmd(&args)
                .command()
                .stdin(std::process::Stdio::null())
                .stdout(stdout.reopen().expect("reopen"))
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("start nettool");
            let read = || std::fs::read_to_string(stdout.path()).unwrap_or_default();
            // Round 3's lines: SIGINT is caught by then.
            assert!(
                util::wait_until(Duration::from_secs(5), || read().contains("\"seq\":3")
                    || read().lines().any(|l| l.starts_with("3: "))),
                "no third round after 5 s: {}",
                read()
            );
            util::signal(&child, "-INT");
            let status = util::wait_bounded(&mut child, Duration::from_secs(2), "SIGINT");
            let out = read();
            let err = util::read_all(child.stderr.take().expect("stderr"));
            assert_eq!(status.code(), Some(exit), "exit {exit}\n{out}\n{err}");
            assert!(err.trim().is_empty(), "{err}");
            let per_round = if json { 2 } else { 1 };
            if json {
                let recs: Vec<Value> = out
                    .lines()
                    .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {out}")))
                    .collect();
                let last = recs.last().expect("records");
                assert_eq!(last["type"], "scan_summary", "{out}");
                assert_eq!(last["stopped_by"], "interrupt", "{out}");
                assert_eq!(last["interrupted"], true, "{out}");
                let rounds = last["rounds"].as_u64().expect("rounds");
                assert!(rounds >= 3, "{out}");
                assert_eq!(last["probes"].as_u64(), Some(per_round * rounds), "{out}");
                assert_eq!(
                    of_type(&recs, "attempt").len() as u64,
                    per_round * rounds,
                    "whole rounds only\n{out}"
                );
            } else {
                let rounds = round_lines(&out);
                let last = rounds.last().expect("rounds").0;
                assert_eq!(rounds.len() as u64, per_round * last, "{out}");
                assert!(
                    out.contains(&format!(
                        "--- scan: {last} rounds, {last} probes of 1 host, "
                    )),
                    "{out}"
                );
                assert!(
                    out.ends_with("went down: 0; never open: 0; stopped by Ctrl-C\n"),
                    "{out}"
                );
            }
        },
    );
}
