//! One module per subcommand: validated settings from the clap structs,
//! the library call, and rendering. The validators all of them share are
//! here: one usage-error constructor, one duration check.

use std::ops::RangeInclusive;
use std::time::Duration;

pub mod arp;
pub mod generate;
pub mod probe;
pub mod sockstat;
pub mod tftp;

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
}
