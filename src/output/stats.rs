//! The min/avg/max/mdev line every prober prints, computed once.

use serde::Serialize;

/// min/avg/max/mdev of samples in milliseconds; mdev as ping computes it,
/// `sqrt(E[x^2] - E[x]^2)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    pub min_ms: f64,
    pub avg_ms: f64,
    pub max_ms: f64,
    pub mdev_ms: f64,
}

impl Spread {
    /// `None` for no samples.
    pub fn of_ms(ms: &[f64]) -> Option<Spread> {
        if ms.is_empty() {
            return None;
        }
        #[allow(
            clippy::cast_precision_loss,
            reason = "sample counts are far below 2^52"
        )]
        let n = ms.len() as f64;
        let avg = ms.iter().sum::<f64>() / n;
        let sq = ms.iter().map(|x| x * x).sum::<f64>() / n;
        Some(Spread {
            min_ms: ms.iter().copied().fold(f64::INFINITY, f64::min),
            avg_ms: avg,
            max_ms: ms.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            mdev_ms: (sq - avg * avg).max(0.0).sqrt(),
        })
    }
}
