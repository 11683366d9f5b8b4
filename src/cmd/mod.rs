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

/// [`seconds`] for a value still in text: text that is no number gets the
/// same message.
pub fn seconds_text(
    flag: &str,
    text: &str,
    range: RangeInclusive<f64>,
    zero: bool,
) -> anyhow::Result<Duration> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => seconds(flag, v, range, zero),
        _ => Err(usage(format!(
            "{flag} {text}: give {}{} to {} seconds (fractions allowed)",
            if zero { "0, or " } else { "" },
            range.start(),
            range.end()
        ))),
    }
}

/// An IPv6 literal with a zone, `fe80::1%eth0` or `fe80::1%2`: the address
/// and the scope id (a name is looked up with `if_nametoindex`, in this
/// network namespace). `None` when `host` has no `%`. Read here, not by the
/// resolver, which would take a bad one for a name to ask DNS about.
pub fn parse_zoned_v6(host: &str) -> anyhow::Result<Option<(std::net::Ipv6Addr, u32)>> {
    let Some((address, zone)) = host.split_once('%') else {
        return Ok(None);
    };
    let ip = address.parse::<std::net::Ipv6Addr>().map_err(|_| {
        crate::UsageError(format!(
            "'{host}': only an IPv6 address takes a %ZONE (an interface), e.g. fe80::1%eth0"
        ))
    })?;
    let scope = match zone.parse::<u32>() {
        Ok(n) => n,
        Err(_) => crate::sys::interface_index(zone).ok_or_else(|| {
            crate::UsageError(format!(
                "'{host}': no interface named '{zone}' here (see `ip link`)"
            ))
        })?,
    };
    Ok(Some((ip, scope)))
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
        assert_eq!(
            seconds_text("-i", "0.5", 0.001..=86_400.0, false).unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(
            message(seconds_text("-i", "fast", 0.001..=86_400.0, false)),
            "-i fast: give 0.001 to 86400 seconds (fractions allowed)"
        );
        assert_eq!(
            message(seconds_text("-i", "inf", 0.001..=86_400.0, false)),
            "-i inf: give 0.001 to 86400 seconds (fractions allowed)"
        );
    }
}
