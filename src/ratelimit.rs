//! Per-project beacon rate limit and daily quota, counted in fixed windows.
//!
//! The edge keeps one `Limiter` per isolate, so limits hold per isolate: a project spread over
//! many isolates can exceed them by that factor. That bounds abuse cheaply (no extra storage
//! round trip per beacon); a hard global quota would need a counter object per project.

use std::collections::HashMap;

use crate::error::{ApiError, ErrorCode};
use crate::project::RateLimit;
use crate::time::DAY_MS;

#[derive(Default)]
pub struct Limiter {
    minute: HashMap<String, (u64, u32)>,
    day: HashMap<String, (u64, u32)>,
}

/// Most projects one isolate tracks before it forgets the idle ones.
const CAPACITY: usize = 4096;

impl Limiter {
    /// Count one beacon of `project` at `now_ms`, or refuse it with 429 and the seconds
    /// until its window ends. A refused beacon is not counted.
    pub fn check(&mut self, project: &str, limit: &RateLimit, now_ms: u64) -> Result<(), ApiError> {
        let minute = now_ms / 60_000;
        let day = now_ms / DAY_MS;
        if self.minute.len() > CAPACITY {
            self.minute.retain(|_, (w, _)| *w == minute);
        }
        if self.day.len() > CAPACITY {
            self.day.retain(|_, (w, _)| *w == day);
        }
        let m = window(&mut self.minute, project, minute);
        if limit.beacons_per_minute > 0 && m.1 >= limit.beacons_per_minute {
            let secs = (60_000 - now_ms % 60_000).div_ceil(1000) as u32;
            return Err(ApiError::rate_limited(ErrorCode::RateLimited, secs));
        }
        let d = window(&mut self.day, project, day);
        if limit.chunks_per_day > 0 && d.1 >= limit.chunks_per_day {
            let secs = (DAY_MS - now_ms % DAY_MS).div_ceil(1000) as u32;
            return Err(ApiError::rate_limited(ErrorCode::QuotaExceeded, secs));
        }
        window(&mut self.minute, project, minute).1 += 1;
        window(&mut self.day, project, day).1 += 1;
        Ok(())
    }
}

fn window<'a>(map: &'a mut HashMap<String, (u64, u32)>, key: &str, w: u64) -> &'a mut (u64, u32) {
    let e = map.entry(key.to_string()).or_insert((w, 0));
    if e.0 != w {
        *e = (w, 0);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_minute_window_with_retry_after() {
        let mut l = Limiter::default();
        let lim = RateLimit {
            beacons_per_minute: 3,
            chunks_per_day: 0,
        };
        let t0 = 1_795_392_000_000 + 15_000;
        for _ in 0..3 {
            l.check("p", &lim, t0).unwrap();
        }
        let e = l.check("p", &lim, t0 + 1).unwrap_err();
        assert_eq!(
            (e.status, e.code, e.retry_after),
            (429, "rate_limited", Some(45))
        );
        // Another project is not affected; the next minute starts over.
        l.check("q", &lim, t0).unwrap();
        l.check("p", &lim, t0 + 45_000).unwrap();
    }

    #[test]
    fn daily_quota() {
        let mut l = Limiter::default();
        let lim = RateLimit {
            beacons_per_minute: 0,
            chunks_per_day: 2,
        };
        let t0 = 1_795_392_000_000;
        l.check("p", &lim, t0).unwrap();
        l.check("p", &lim, t0 + 120_000).unwrap();
        let e = l.check("p", &lim, t0 + 240_000).unwrap_err();
        assert_eq!((e.code, e.retry_after), ("quota_exceeded", Some(86_160)));
        l.check("p", &lim, t0 + DAY_MS).unwrap();
    }

    #[test]
    fn zero_means_unlimited() {
        let mut l = Limiter::default();
        let lim = RateLimit {
            beacons_per_minute: 0,
            chunks_per_day: 0,
        };
        for i in 0..10_000 {
            l.check("p", &lim, i).unwrap();
        }
    }
}
