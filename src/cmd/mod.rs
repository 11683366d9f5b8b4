//! One module per subcommand: validated settings from the clap structs,
//! the library call, and rendering. The validators all of them share are
//! here: one usage-error constructor, one duration check.

use std::ops::RangeInclusive;
use std::time::Duration;

pub mod arp;
pub mod arp_watch;
pub mod generate;
pub mod metrics;
pub mod probe;
pub mod sockstat;
pub mod tftp;
pub mod tftp_serve;

/// A usage error (exit status 2) with `msg` as its one line.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    crate::UsageError(msg.into()).into()
}

/// `v` seconds given to `flag`, within `range`, or 0 as well when `zero`
/// (a wait below the range's start rounds to nothing). The error names the
/// flag, the value and the range.
pub fn seconds(
    flag: &str,
    v: f64,
    range: RangeInclusive<f64>,
    zero: bool,
) -> anyhow::Result<Duration> {
    if v.is_finite() && (range.contains(&v) || (zero && v == 0.0)) {
        return Ok(Duration::from_secs_f64(v));
    }
    // 1e300 as 1e300, not as its 301 digits.
    let shown = if v.abs() >= 1e9 {
        format!("{v:e}")
    } else {
        v.to_string()
    };
    Err(usage(format!(
        "{flag} {shown}: give {}{} to {} seconds (fractions allowed)",
        if zero { "0, or " } else { "" },
        range.start(),
        range.end()
    )))
}

/// A clap usage error, as clap renders it (a headline, indented details
/// and tips, a usage line, a pointer to `--help`), made one line: the
/// headline, the details, and which help to read (from clap's usage
/// line, else `help`).
pub fn clap_one_line(rendered: &str, help: &str) -> String {
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut out = lines
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .to_string();
    let mut help = help.to_string();
    for l in lines {
        if let Some(u) = l.strip_prefix("Usage: ") {
            let words: Vec<&str> = u
                .split_whitespace()
                .take_while(|w| !w.starts_with(['-', '<', '[']))
                .collect();
            help = format!("{} --help", words.join(" "));
        } else if l.starts_with("For more information") {
        } else {
            let detail = l
                .trim_start_matches("tip: ")
                .trim_start_matches('[')
                .trim_end_matches(']');
            out.push_str(if out.ends_with(':') { " " } else { "; " });
            out.push_str(detail);
        }
    }
    format!("{out} (see '{help}')")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(r: anyhow::Result<Duration>) -> String {
        let e = r.unwrap_err();
        assert!(
            e.downcast_ref::<crate::UsageError>().is_some(),
            "a usage error"
        );
        e.to_string()
    }

    #[test]
    fn seconds_in_range_and_errors_that_name_the_range() {
        assert_eq!(
            seconds("-i", 0.2, 0.001..=86_400.0, false).unwrap(),
            Duration::from_millis(200)
        );
        assert_eq!(
            seconds("-w", 0.0, 0.001..=86_400.0, true).unwrap(),
            Duration::ZERO
        );
        assert_eq!(
            message(seconds("-i", 0.0, 0.001..=86_400.0, false)),
            "-i 0: give 0.001 to 86400 seconds (fractions allowed)"
        );
        assert_eq!(
            message(seconds("-W", 1e300, 0.001..=86_400.0, true)),
            "-W 1e300: give 0, or 0.001 to 86400 seconds (fractions allowed)"
        );
        assert_eq!(
            message(seconds("--timeout", f64::NAN, 0.001..=255.0, false)),
            "--timeout NaN: give 0.001 to 255 seconds (fractions allowed)"
        );
    }

    #[test]
    fn clap_errors_become_one_line_naming_the_help_to_read() {
        for (rendered, want) in [
            (
                "error: unexpected argument '--diagnos' found\n\n  tip: a similar argument exists: '--diagnose'\n\nUsage: nettool sockstat --diagnose\n\nFor more information, try '--help'.\n",
                "unexpected argument '--diagnos' found; a similar argument exists: '--diagnose' (see 'nettool sockstat --help')",
            ),
            (
                "error: invalid value 'x' for '--source <SOURCE>'\n  [possible values: auto, netlink, proc]\n\nFor more information, try '--help'.\n",
                "invalid value 'x' for '--source <SOURCE>'; possible values: auto, netlink, proc (see 'nettool --help')",
            ),
            (
                "error: the following required arguments were not provided:\n  <TARGET>...\n\nUsage: nettool probe <TARGET>...\n\nFor more information, try '--help'.\n",
                "the following required arguments were not provided: <TARGET>... (see 'nettool probe --help')",
            ),
            (
                "error: the argument '--summary' cannot be used with '--diagnose'\n\nUsage: nettool sockstat --summary\n\nFor more information, try '--help'.\n",
                "the argument '--summary' cannot be used with '--diagnose' (see 'nettool sockstat --help')",
            ),
            ("", " (see 'nettool --help')"),
        ] {
            assert_eq!(clap_one_line(rendered, "nettool --help"), want);
        }
    }
}
