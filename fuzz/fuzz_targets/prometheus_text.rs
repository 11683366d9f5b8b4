//! The Prometheus text nettool writes, with label values and help text
//! from anywhere (process names, namespace and interface names, a
//! textfile's name are set by whoever runs a process or names a file):
//! whatever they hold, each sample stays one line that reads back as the
//! same name, labels and value, so no value can forge another sample, a
//! comment or a family.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nettool::output::prometheus::{Exposition, Kind};

// Input: 8 value bytes, then NUL-separated texts: help, a label name, two
// label values, the textfile label's value.
fuzz_target!(|data: &[u8]| {
    let Some((raw, rest)) = data.split_first_chunk::<8>() else {
        return;
    };
    let value = f64::from_le_bytes(*raw);
    let text = String::from_utf8_lossy(rest);
    let mut parts = text.split('\0');
    let help = parts.next().unwrap_or_default();
    let label = parts.next().unwrap_or_default();
    let v1 = parts.next().unwrap_or_default();
    let v2 = parts.next().unwrap_or_default();
    let file = parts.next().unwrap_or_default();

    let mut e = Exposition::new();
    let mut f = e
        .family("nettool_fuzz", help, Kind::Gauge)
        .expect("a fixed, valid name");
    let mut want: Vec<Vec<(String, String)>> = Vec::new();
    if f.sample(&[("comm", v1), (label, v2)], value).is_ok() {
        want.push(vec![("comm".into(), v1.into()), (label.into(), v2.into())]);
    }
    f.sample(&[], value).expect("no labels is always valid");
    want.push(Vec::new());
    e.label_every_sample("textfile", file)
        .expect("a valid label name");
    for w in &mut want {
        w.insert(0, ("textfile".into(), file.into()));
    }
    let out = e.finish();
    // The format ends lines at LF alone: a CR is part of the text.
    let lines: Vec<&str> = out.split_terminator('\n').collect();
    assert_eq!(lines.len(), 2 + want.len(), "one line each: {out:?}");
    assert!(lines[0].starts_with("# HELP nettool_fuzz "), "{out:?}");
    assert_eq!(lines[1], "# TYPE nettool_fuzz gauge");
    assert_eq!(unescape(&lines[0]["# HELP nettool_fuzz ".len()..], false), help);
    for (line, labels) in lines[2..].iter().zip(&want) {
        let (name, got, v) = sample(line).unwrap_or_else(|| panic!("not a sample: {line:?}"));
        assert_eq!(name, "nettool_fuzz");
        assert_eq!(&got, labels, "{line:?}");
        assert!(
            v == value.to_string() || v.parse::<f64>().is_ok_and(|p| p == value)
                || (value.is_nan() && v == "NaN")
                || (value == f64::INFINITY && v == "+Inf")
                || (value == f64::NEG_INFINITY && v == "-Inf"),
            "{v} for {value}"
        );
    }
});

/// `\\` and `\n` (and `\"` in a label value) back to what they stand for.
fn unescape(s: &str, quote: bool) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('\\') => out.push('\\'),
                Some('"') if quote => out.push('"'),
                other => panic!("a stray escape \\{other:?} in {s:?}"),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `name{l="v",...} value` as the exposition format reads it.
fn sample(line: &str) -> Option<(String, Vec<(String, String)>, String)> {
    let brace = line.find('{')?;
    let name = &line[..brace];
    let mut rest = &line[brace + 1..];
    let mut labels = Vec::new();
    loop {
        let eq = rest.find("=\"")?;
        let label = rest[..eq].to_string();
        rest = &rest[eq + 2..];
        // The value ends at the first quote no backslash escapes.
        let mut end = None;
        let mut escaped = false;
        for (i, c) in rest.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let end = end?;
        labels.push((label, unescape(&rest[..end], true)));
        rest = &rest[end + 1..];
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else {
            let value = rest.strip_prefix("} ")?;
            return Some((name.to_string(), labels, value.to_string()));
        }
    }
}
