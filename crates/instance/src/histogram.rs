//! Fixed-bucket histograms updated lock-free: statement latency per class and replication lag.
//!
//! A histogram is a row of atomic counters, one per bucket, plus a sum and a maximum; recording
//! is three relaxed atomic operations and never blocks a session. Buckets follow Prometheus:
//! bucket `i` counts observations `v` with `bounds[i-1] < v <= bounds[i]`, and one more bucket
//! counts everything above the last bound (`+Inf`). Values are microseconds.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Statement latency bucket bounds: 50 µs .. 10 s.
pub const LATENCY_BOUNDS_US: &[u64] = &[
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000,
];

/// Replication lag bucket bounds: 1 ms apart from 1 to 10 ms, around the 5 ms p99 target (the
/// p99 is interpolated inside its bucket: with one 5–10 ms bucket it read about 9 ms wherever in
/// that range the lags fell), coarser up to 10 s.
pub const LAG_BOUNDS_US: &[u64] = &[
    50, 100, 250, 500, 1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 8_000, 9_000, 10_000,
    15_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 5_000_000, 10_000_000,
];

/// A histogram over fixed, ascending bounds (microseconds).
pub struct Histogram {
    bounds_us: &'static [u64],
    /// Non-cumulative counts; `bounds_us.len() + 1` entries, the last one is `+Inf`.
    buckets: Box<[AtomicU64]>,
    sum_us: AtomicU64,
    max_us: AtomicU64,
}

/// A point-in-time copy of a histogram, for status variables and exposition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistogramSnapshot {
    pub bounds_us: &'static [u64],
    /// Non-cumulative counts; `bounds_us.len() + 1` entries, the last one is `+Inf`.
    pub counts: Vec<u64>,
    pub sum_us: u64,
    pub max_us: u64,
}

impl Histogram {
    /// An empty histogram; `bounds_us` must be strictly ascending.
    pub fn new(bounds_us: &'static [u64]) -> Self {
        debug_assert!(bounds_us.windows(2).all(|w| w[0] < w[1]));
        Histogram {
            bounds_us,
            buckets: (0..=bounds_us.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_us: AtomicU64::new(0),
            max_us: AtomicU64::new(0),
        }
    }

    /// Records one observation of `micros` microseconds.
    pub fn record_us(&self, micros: u64) {
        // The first bound >= micros; past the last bound this is the +Inf bucket.
        let i = self.bounds_us.partition_point(|&b| b < micros);
        self.buckets[i].fetch_add(1, Relaxed);
        self.sum_us.fetch_add(micros, Relaxed);
        self.max_us.fetch_max(micros, Relaxed);
    }

    /// Records one observation of a duration.
    pub fn record(&self, d: Duration) {
        self.record_us(u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    }

    /// A copy of the counters (each read atomically; the copy as a whole is not a snapshot of
    /// one instant, which is fine for monitoring).
    pub fn snapshot(&self) -> HistogramSnapshot {
        HistogramSnapshot {
            bounds_us: self.bounds_us,
            counts: self.buckets.iter().map(|b| b.load(Relaxed)).collect(),
            sum_us: self.sum_us.load(Relaxed),
            max_us: self.max_us.load(Relaxed),
        }
    }
}

impl HistogramSnapshot {
    /// Observations recorded.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The `q` quantile (0..=1) in microseconds, interpolated linearly inside its bucket as
    /// Prometheus' `histogram_quantile` does, and never above the largest value observed.
    /// 0 when nothing was recorded.
    pub fn quantile_us(&self, q: f64) -> u64 {
        let total = self.count();
        if total == 0 {
            return 0;
        }
        let rank = q.clamp(0.0, 1.0) * total as f64;
        let mut below = 0u64;
        for (i, &n) in self.counts.iter().enumerate() {
            if n == 0 || ((below + n) as f64) < rank {
                below += n;
                continue;
            }
            let lower = if i == 0 { 0 } else { self.bounds_us[i - 1] };
            let upper = self.bounds_us.get(i).copied().unwrap_or(self.max_us);
            let within = ((rank - below as f64) / n as f64).clamp(0.0, 1.0);
            let v = lower as f64 + (upper.saturating_sub(lower)) as f64 * within;
            return (v.round() as u64).min(self.max_us);
        }
        self.max_us
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_boundaries_are_inclusive_upper_bounds() {
        let h = Histogram::new(LATENCY_BOUNDS_US);
        h.record_us(0);
        h.record_us(50);
        h.record_us(51);
        h.record_us(100);
        h.record_us(10_000_000);
        h.record_us(10_000_001);
        let s = h.snapshot();
        assert_eq!(s.counts.len(), LATENCY_BOUNDS_US.len() + 1);
        assert_eq!(s.counts[0], 2, "0 and 50 are <= 50");
        assert_eq!(s.counts[1], 2, "51 and 100 are in (50, 100]");
        assert_eq!(s.counts[LATENCY_BOUNDS_US.len() - 1], 1, "10 s is <= 10 s");
        assert_eq!(s.counts[LATENCY_BOUNDS_US.len()], 1, "above 10 s is +Inf");
        assert_eq!(s.count(), 6);
        assert_eq!(s.sum_us, 50 + 51 + 100 + 10_000_000 + 10_000_001);
        assert_eq!(s.max_us, 10_000_001);
    }

    #[test]
    fn durations_are_recorded_in_microseconds() {
        let h = Histogram::new(LATENCY_BOUNDS_US);
        h.record(Duration::from_millis(3));
        let s = h.snapshot();
        assert_eq!(s.counts[6], 1, "3 ms is in (2.5 ms, 5 ms]");
        assert_eq!(s.sum_us, 3_000);
    }

    #[test]
    fn empty_quantile_is_zero() {
        assert_eq!(
            Histogram::new(LAG_BOUNDS_US).snapshot().quantile_us(0.99),
            0
        );
    }

    #[test]
    fn p99_ignores_one_outlier_in_a_hundred() {
        let h = Histogram::new(LATENCY_BOUNDS_US);
        for _ in 0..99 {
            h.record_us(80);
        }
        h.record_us(5_000_000);
        let p99 = h.snapshot().quantile_us(0.99);
        assert!((50..=100).contains(&p99), "p99 {p99}");
    }

    #[test]
    fn p99_sees_two_outliers_in_a_hundred() {
        let h = Histogram::new(LATENCY_BOUNDS_US);
        for _ in 0..98 {
            h.record_us(80);
        }
        h.record_us(4_000_000);
        h.record_us(4_000_000);
        let p99 = h.snapshot().quantile_us(0.99);
        assert!(
            (2_500_000..=4_000_000).contains(&p99),
            "p99 {p99} must lie in the outliers' bucket, capped by the maximum"
        );
    }

    #[test]
    fn quantile_never_exceeds_the_maximum_observed() {
        let h = Histogram::new(LAG_BOUNDS_US);
        for _ in 0..10 {
            h.record_us(1_200);
        }
        assert_eq!(h.snapshot().quantile_us(0.99), 1_200);
        assert_eq!(h.snapshot().quantile_us(1.0), 1_200);
    }

    #[test]
    fn quantile_in_the_infinite_bucket_lies_between_the_last_bound_and_the_maximum() {
        let h = Histogram::new(LAG_BOUNDS_US);
        h.record_us(60_000_000);
        let p99 = h.snapshot().quantile_us(0.99);
        assert!((10_000_000..=60_000_000).contains(&p99), "p99 {p99}");
        assert_eq!(h.snapshot().quantile_us(1.0), 60_000_000);
    }
}
