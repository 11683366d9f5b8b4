//! What the `probe` lab tests share: running `nettool probe` inside a lab
//! host, reading its `--json` lines, and a witness for listeners that is
//! not nettool (/proc/net/tcp).
//!
//! Each test binary uses only part of this module.
#![allow(dead_code)]

use serde_json::Value;

use crate::lab::{self, Host};
use crate::util::Output;

/// The `schema` every `probe --json` line carries.
pub const SCHEMA: &str = "nettool.probe/1";

/// `198.51.100.2:PORT`: B over IPv4.
pub fn t4(port: u16) -> String {
    format!("{}:{port}", lab::v4(2))
}

/// `[2001:db8::2]:PORT`: B over IPv6.
pub fn t6(port: u16) -> String {
    format!("[{}]:{port}", lab::v6(2))
}

/// `nettool probe ARGS...` inside `a`.
#[track_caller]
pub fn probe(a: &Host, args: &[&str]) -> Output {
    let mut all = vec!["probe"];
    all.extend_from_slice(args);
    a.nettool(&all)
}

/// `--json` output as its records, one per line; each must carry
/// [`SCHEMA`].
#[track_caller]
pub fn records(out: &Output) -> Vec<Value> {
    out.stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("a --json line is not JSON ({e}): {l}\n{out}"));
            assert_eq!(
                v["schema"], SCHEMA,
                "every --json line names its schema\n{out}"
            );
            v
        })
        .collect()
}

/// The records of one `type`.
pub fn of_type<'a>(recs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    recs.iter().filter(|r| r["type"] == kind).collect()
}

/// A JSON number, or a failure that shows the record.
#[track_caller]
pub fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("JSON {key:?} is not a number: {v}"))
}

/// TCP sockets listening on `port` in `ns`, from /proc/net/tcp{,6} (an
/// independent witness, not nettool).
pub fn listeners(ns: &str, port: u16) -> usize {
    let out = lab::run_in(ns, "cat", &["/proc/net/tcp", "/proc/net/tcp6"]);
    out.ok();
    out.stdout
        .lines()
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 3
                && f[3] == "0A"
                && f[1]
                    .rsplit_once(':')
                    .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
                    == Some(port)
        })
        .count()
}

/// The number right after `word` in `line` ("after 41 open": `after`).
#[track_caller]
pub fn number_after<T: std::str::FromStr>(line: &str, word: &str) -> T {
    let at = line
        .find(word)
        .unwrap_or_else(|| panic!("{word:?} not in {line:?}"));
    line[at + word.len()..]
        .split_whitespace()
        .next()
        .and_then(|w| w.trim_start_matches('(').parse().ok())
        .unwrap_or_else(|| panic!("no number after {word:?} in {line:?}"))
}
