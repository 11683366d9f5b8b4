//! Wall-clock times as events show them: `12:00:03.214` in lines, RFC 3339
//! with the local offset in JSON (probe's state changes, sockstat's watch).

use std::time::SystemTime;

use crate::sys::{LocalTime, local_time};

/// `12:00:03.214`, local time.
pub fn clock(t: SystemTime) -> String {
    match local_time(t) {
        Some(LocalTime {
            hour,
            minute,
            second,
            millis,
            ..
        }) => format!("{hour:02}:{minute:02}:{second:02}.{millis:03}"),
        None => "??:??:??.???".to_string(),
    }
}

/// `2026-12-03T12:00:03.214+01:00`, local time with its offset (RFC 3339).
pub fn iso(t: SystemTime) -> Option<String> {
    let l = local_time(t)?;
    let off = l.utc_offset_s;
    let sign = if off < 0 { '-' } else { '+' };
    let off = off.unsigned_abs();
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}{sign}{:02}:{:02}",
        l.year,
        l.month,
        l.day,
        l.hour,
        l.minute,
        l.second,
        l.millis,
        off / 3600,
        off / 60 % 60
    ))
}
