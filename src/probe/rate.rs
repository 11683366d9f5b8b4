//! `--rate PER_S`: a token bucket that says when the next probe may start.
//!
//! Pure (the clock comes in as `now`), so pacing is tested without
//! sockets or sleeps. Tokens accrue at `rate` per second up to a burst of
//! 10 ms worth, and at least two tokens: enough that a scan loop waking
//! once per millisecond, or a little late, keeps up with the rate; never a
//! surge after a pause.

use std::time::{Duration, Instant};

/// How much a pause may save up, as time at the rate.
const BURST: Duration = Duration::from_millis(10);

#[derive(Debug, Clone)]
pub struct TokenBucket {
    /// Tokens per second, > 0.
    rate: f64,
    /// The most tokens held, >= 2.
    burst: f64,
    tokens: f64,
    /// When `tokens` was last brought up to date.
    at: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`: the first `burst` probes may start at once.
    ///
    /// # Panics
    /// When `rate` is not a positive finite number (the front end checks).
    pub fn new(rate: f64, now: Instant) -> TokenBucket {
        assert!(rate.is_finite() && rate > 0.0, "rate {rate}");
        let burst = (rate * BURST.as_secs_f64()).max(2.0);
        TokenBucket {
            rate,
            burst,
            tokens: burst,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        // A clock read before `at` adds nothing (saturating).
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        self.at = self.at.max(now);
    }

    /// Take a token if one is there.
    pub fn take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// How long from `now` until a token is there (zero: one is).
    pub fn wait(&mut self, now: Instant) -> Duration {
        self.refill(now);
        if self.tokens >= 1.0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64((1.0 - self.tokens) / self.rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Starts in `span` when a probe starts as soon as a token is there.
    fn starts(rate: f64, span: Duration, step: Duration) -> u64 {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(rate, t0);
        let mut now = t0;
        let mut n = 0;
        while now < t0 + span {
            while b.take(now) {
                n += 1;
            }
            now += step;
        }
        n
    }

    #[test]
    fn the_rate_holds_over_time_whatever_the_wake_up_step() {
        for (rate, step) in [
            (100.0, Duration::from_micros(100)),
            (100.0, Duration::from_millis(7)),
            (10_000.0, Duration::from_millis(1)),
            (0.5, Duration::from_millis(50)),
        ] {
            let n = starts(rate, Duration::from_secs(10), step);
            let want = rate * 10.0;
            // The burst of 10 ms (at least 2) may come on top.
            let burst = (rate / 100.0).max(2.0);
            #[allow(clippy::cast_precision_loss, reason = "small counts")]
            let got = n as f64;
            assert!(
                got >= want - 1.0 && got <= want + burst + 1.0,
                "rate {rate} step {step:?}: {n} starts in 10 s"
            );
        }
    }

    #[test]
    fn the_burst_is_ten_milliseconds_worth_and_at_least_two() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(1000.0, t0);
        let at_once = std::iter::from_fn(|| b.take(t0).then_some(())).count();
        assert_eq!(at_once, 10);
        assert_eq!(b.wait(t0), Duration::from_millis(1));
        // A long pause saves up no more than the burst.
        let later = t0 + Duration::from_secs(60);
        assert_eq!(
            std::iter::from_fn(|| b.take(later).then_some(())).count(),
            10
        );
        let mut slow = TokenBucket::new(2.0, t0);
        assert!(slow.take(t0) && slow.take(t0));
        assert!(!slow.take(t0));
        assert_eq!(slow.wait(t0), Duration::from_millis(500));
        assert!(!slow.take(t0 + Duration::from_millis(499)));
        assert!(slow.take(t0 + Duration::from_millis(501)));
    }

    #[test]
    fn a_clock_that_goes_back_adds_nothing() {
        let before = Instant::now();
        let t0 = before + Duration::from_secs(1);
        let mut b = TokenBucket::new(1.0, t0);
        assert!(b.take(t0) && b.take(t0));
        assert!(!b.take(before));
        assert!(b.wait(t0) > Duration::ZERO);
    }
}
