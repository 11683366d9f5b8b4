//! Handshake samples for the summary, bounded however long the run:
//! min, max, mean and mdev are kept exactly from running sums; the
//! samples themselves (for p95) are kept whole up to [`CAP`], then thinned
//! to every 2nd, 4th, ... so they stay evenly spread over the run.

use super::Summary;

/// Samples kept for the percentile: 8 bytes each.
pub const CAP: usize = 65_536;

#[derive(Debug, Clone)]
pub struct Samples {
    kept: Vec<f64>,
    /// Keep one sample in `stride`.
    stride: u64,
    count: u64,
    min: f64,
    max: f64,
    /// Of the values in milliseconds, as the summary has them.
    sum_ms: f64,
    sum_sq_ms: f64,
    cap: usize,
}

impl Default for Samples {
    fn default() -> Self {
        Samples::with_cap(CAP)
    }
}

impl Samples {
    fn with_cap(cap: usize) -> Samples {
        Samples {
            kept: Vec::new(),
            stride: 1,
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sum_ms: 0.0,
            sum_sq_ms: 0.0,
            cap: cap.max(2),
        }
    }

    /// One sample, in microseconds.
    pub fn push(&mut self, us: f64) {
        if self.count % self.stride == 0 {
            if self.kept.len() == self.cap {
                // Every other one stays: still evenly spread.
                let mut i = 0;
                self.kept.retain(|_| {
                    i += 1;
                    i % 2 == 1
                });
                self.stride *= 2;
            }
            if self.count % self.stride == 0 {
                self.kept.push(us);
            }
        }
        self.count += 1;
        self.min = self.min.min(us);
        self.max = self.max.max(us);
        let ms = us / 1e3;
        self.sum_ms += ms;
        self.sum_sq_ms += ms * ms;
    }

    /// The summary: exactly [`Summary::of`] the samples while all are
    /// kept; past [`CAP`], p95 is that of the evenly thinned ones.
    pub fn summary(&self) -> Option<Summary> {
        let mut s = Summary::of(&self.kept)?;
        if self.stride > 1 {
            #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
            let n = self.count as f64;
            let avg = self.sum_ms / n;
            s.min_ms = self.min / 1e3;
            s.max_ms = self.max / 1e3;
            s.avg_ms = avg;
            s.mdev_ms = (self.sum_sq_ms / n - avg * avg).max(0.0).sqrt();
        }
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_the_cap_it_is_the_plain_summary() {
        let v: Vec<f64> = (1..=1000).map(|x| f64::from(x) * 1000.0).collect();
        let mut s = Samples::default();
        for &x in &v {
            s.push(x);
        }
        assert_eq!(s.summary(), Summary::of(&v));
        assert_eq!(Samples::default().summary(), None);
    }

    #[test]
    fn past_the_cap_memory_stays_bounded_and_the_figures_stay_right() {
        let mut s = Samples::with_cap(100);
        // 1..=10000 ms, in order: p95 9500, mean 5000.5.
        for x in 1..=10_000 {
            s.push(f64::from(x) * 1000.0);
        }
        assert!(s.kept.len() <= 100, "{}", s.kept.len());
        let sum = s.summary().unwrap();
        assert_eq!((sum.min_ms, sum.max_ms), (1.0, 10_000.0));
        assert!((sum.avg_ms - 5000.5).abs() < 1e-6, "{sum:?}");
        // mdev of 1..=n is sqrt((n^2 - 1) / 12).
        let mdev = ((1e8f64 - 1.0) / 12.0).sqrt();
        assert!((sum.mdev_ms - mdev).abs() < 1e-3, "{sum:?}");
        assert!((sum.p95_ms - 9500.0).abs() < 200.0, "{sum:?}");
    }
}
