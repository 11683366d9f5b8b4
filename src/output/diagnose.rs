//! `sockstat --diagnose` rendered: one line per finding, most severe
//! first; the JSON is the report itself (`nettool.sockstat.diagnosis/1`).

use std::io::{self, Write};

use crate::sockstat::diagnose::Finding;
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
    for f in &d.findings {
        writeln!(out, "{}", line(f))?;
    }
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
}
