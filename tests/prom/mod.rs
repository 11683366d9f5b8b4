//! What the `--prometheus` lab tests share: promtool as the judge of the
//! text, and the samples read back as (name, labels, value).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, Stdio};

/// One sample line: `name{labels} value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Every sample of an exposition (comments skipped), in order. Label
/// values are unescaped; a line that is no sample fails the test.
#[track_caller]
pub fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| parse(l).unwrap_or_else(|| panic!("not a sample line: {l:?}\n{text}")))
        .collect()
}

fn parse(line: &str) -> Option<Sample> {
    let (series, value) = line.rsplit_once(' ')?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    let Some((name, rest)) = series.split_once('{') else {
        return Some(Sample {
            name: series.to_string(),
            labels: BTreeMap::new(),
            value,
        });
    };
    let rest = rest.strip_suffix('}')?;
    let mut labels = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    while chars.peek().is_some() {
        let label: String = chars.by_ref().take_while(|&c| c != '=').collect();
        if chars.next()? != '"' {
            return None;
        }
        let mut v = String::new();
        loop {
            match chars.next()? {
                '"' => break,
                '\\' => match chars.next()? {
                    'n' => v.push('\n'),
                    c => v.push(c),
                },
                c => v.push(c),
            }
        }
        labels.insert(label, v);
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    Some(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

/// The samples of family `name` whose labels include every pair of `with`.
pub fn find<'a>(all: &'a [Sample], name: &str, with: &[(&str, &str)]) -> Vec<&'a Sample> {
    all.iter()
        .filter(|s| {
            s.name == name
                && with
                    .iter()
                    .all(|(l, v)| s.labels.get(*l).map(String::as_str) == Some(*v))
        })
        .collect()
}

/// The one sample of `name` with labels `with`: its value.
#[track_caller]
pub fn value(all: &[Sample], name: &str, with: &[(&str, &str)]) -> f64 {
    match find(all, name, with).as_slice() {
        [one] => one.value,
        other => panic!(
            "{name} {with:?}: {} samples, want 1: {other:?}",
            other.len()
        ),
    }
}

/// `promtool check metrics` reads `text` and says nothing: no error, no
/// lint warning.
#[track_caller]
pub fn promtool_accepts(text: &str) {
    let promtool = crate::util::which("promtool").expect("promtool (lab::require_with checks it)");
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.is_empty(),
        "promtool check metrics: {said}\n--- text:\n{text}"
    );
}

/// The files in `dir`, by name, sorted: a textfile write leaves nothing
/// beside its file.
pub fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}
