//! The wall clock as local time (`localtime_r`: TZ, else /etc/localtime),
//! for times shown to people.

use std::time::{SystemTime, UNIX_EPOCH};

/// A moment as a local calendar date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i32,
    /// 1-12.
    pub month: u8,
    /// 1-31.
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    /// 0-60 (a leap second).
    pub second: u8,
    pub millis: u16,
    /// East of UTC.
    pub utc_offset_s: i32,
}

/// `t` in the local time zone; `None` before 1970 or past what `time_t`
/// holds.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "tm fields are small and in range by localtime_r's contract"
)]
pub fn local_time(t: SystemTime) -> Option<LocalTime> {
    let d = t.duration_since(UNIX_EPOCH).ok()?;
    let secs = libc::time_t::try_from(d.as_secs()).ok()?;
    // SAFETY: a zeroed tm is a valid value; localtime_r writes only `tm`
    // and reads only `secs`, both alive across the call.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&raw const secs, &raw mut tm).is_null() {
            return None;
        }
        tm
    };
    Some(LocalTime {
        year: tm.tm_year + 1900,
        month: (tm.tm_mon + 1) as u8,
        day: tm.tm_mday as u8,
        hour: tm.tm_hour as u8,
        minute: tm.tm_min as u8,
        second: tm.tm_sec as u8,
        millis: d.subsec_millis() as u16,
        utc_offset_s: i32::try_from(tm.tm_gmtoff).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn fields_agree_with_the_offset_and_the_epoch() {
        // 2027-01-15 12:34:56.789 UTC.
        let t = UNIX_EPOCH + Duration::from_millis(1_800_016_496_789);
        let l = local_time(t).unwrap();
        assert_eq!(l.millis, 789);
        // Back to UTC through the offset: seconds of the day agree.
        let local_s = i64::from(l.hour) * 3600 + i64::from(l.minute) * 60 + i64::from(l.second);
        let utc_s = (local_s - i64::from(l.utc_offset_s)).rem_euclid(86_400);
        assert_eq!(utc_s, 1_800_016_496 % 86_400);
        assert!((1..=12).contains(&l.month) && (1..=31).contains(&l.day));
        assert!(local_time(UNIX_EPOCH - Duration::from_secs(1)).is_none());
    }
}
