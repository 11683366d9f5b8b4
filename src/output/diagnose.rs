//! `sockstat --diagnose` rendered: one line per finding, most severe
//! first; the JSON is the report itself (`nettool.sockstat.diagnosis/1`).

use std::io::{self, Write};

use crate::sockstat::diagnose::{Finding, Kind};
use crate::sockstat::report::Diagnosis;

/// `warning  CLOSE_WAIT leak: 812/nginx holds 3 sockets ... — the peers
/// closed ... Do: fix the program ...`. Process names and namespace
/// labels come from anyone on the host: control characters are escaped.
pub fn line(f: &Finding) -> String {
    let ns = f
        .netns
        .as_ref()
        .map_or_else(String::new, |n| format!("[{n}] "));
    let text = format!(
        "{:<8} {ns}{}: {} - {}. Do: {}.",
        f.severity.name(),
        f.kind.title(),
        f.summary,
        f.meaning,
        f.advice
    );
    super::escape_control(&text).into_owned()
}

/// The findings, or one line saying what was looked at and that nothing
/// was found.
pub fn write_text(out: &mut dyn Write, d: &Diagnosis) -> io::Result<()> {
    write_lines(out, &d.findings, "")?;
    if d.findings.is_empty() {
        let ns = match d.namespaces {
            0 => String::new(),
            1 => " in 1 namespace".to_string(),
            n => format!(" in {n} namespaces"),
        };
        writeln!(
            out,
            "nothing wrong found: {} TCP and UDP sockets{ns} and the kernel's counters over {:.1} s",
            d.sockets, d.interval_s
        )?;
    }
    Ok(())
}

/// At most this many lines of one kind; the JSON lists every finding.
pub const PER_KIND: usize = 20;

/// A line per finding, at most [`PER_KIND`] of one kind (many UDP sockets
/// or peers must not bury the rest), then how many more there were.
pub fn write_lines(out: &mut dyn Write, findings: &[Finding], indent: &str) -> io::Result<()> {
    let mut shown: std::collections::HashMap<Kind, usize> = std::collections::HashMap::new();
    for f in findings {
        let n = shown.entry(f.kind).or_default();
        *n += 1;
        if *n <= PER_KIND {
            writeln!(out, "{indent}{}", line(f))?;
        }
    }
    let mut more: Vec<(Kind, usize)> = shown
        .into_iter()
        .filter(|&(_, n)| n > PER_KIND)
        .map(|(k, n)| (k, n - PER_KIND))
        .collect();
    more.sort();
    for (k, n) in more {
        writeln!(
            out,
            "{indent}... and {n} more {} findings (--json lists every one)",
            k.title()
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockstat::diagnose::{Evidence, Kind, Severity};

    fn finding(netns: Option<&str>) -> Finding {
        Finding {
            kind: Kind::CloseWaitLeak,
            severity: Severity::Warning,
            summary: "812/ngi\x1bnx holds 2 sockets in CLOSE_WAIT".into(),
            netns: netns.map(Into::into),
            metric_netns: None,
            subjects: vec![],
            evidence: Evidence::default().count("sockets", 2u64),
            meaning: "the peers closed".into(),
            advice: "close() it".into(),
            host_wide: false,
        }
    }

    #[test]
    fn one_line_per_finding_with_its_namespace_and_escaped() {
        let l = line(&finding(Some("lab")));
        assert_eq!(
            l,
            "warning  [lab] CLOSE_WAIT leak: 812/ngi\\x1bnx holds 2 sockets in CLOSE_WAIT - the peers closed. Do: close() it."
        );
        assert!(!l.contains('\n'));
    }

    #[test]
    fn nothing_found_says_what_was_looked_at() {
        let d = Diagnosis {
            findings: vec![],
            interval_s: 1.0,
            sockets: 12,
            namespaces: 0,
        };
        let mut out = Vec::new();
        write_text(&mut out, &d).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "nothing wrong found: 12 TCP and UDP sockets and the kernel's counters over 1.0 s\n"
        );
    }

    #[test]
    fn at_most_twenty_lines_of_a_kind_then_how_many_more() {
        let findings: Vec<Finding> = (0..25).map(|_| finding(None)).collect();
        let mut out = Vec::new();
        write_lines(&mut out, &findings, "").unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 21);
        assert_eq!(
            lines[20],
            "... and 5 more CLOSE_WAIT leak findings (--json lists every one)"
        );
    }
}
