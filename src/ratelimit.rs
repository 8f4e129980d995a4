//! Per-project beacon rate and daily quota, and a per-client guard, counted in fixed windows.
//!
//! Two different things are counted, at two different times:
//! - raw requests, before anything is read: the project's per-minute rate and a per-client
//!   per-minute guard ([`CLIENT_REQUESTS_PER_MINUTE`]), so junk from one address can neither
//!   flood the worker nor take the whole project's minute;
//! - stored chunks and their inflated bytes, once the session object answered `stored:true`:
//!   the daily quota (`chunks_per_day`, `bytes_per_day`). A request is refused before it is
//!   forwarded only when that budget is already spent, so a malformed, refused or dropped
//!   beacon never spends what a project pays for.
//!
//! The edge keeps one `Limiter` per isolate, so limits hold per isolate: a project spread over
//! many isolates can exceed them by that factor. That bounds abuse cheaply (no extra storage
//! round trip per beacon); a hard global quota would need a counter object per project.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::error::{ApiError, ErrorCode};
use crate::project::RateLimit;
use crate::time::DAY_MS;

/// Most requests one client (one address) may send to one project per minute, whatever the
/// project allows in all (a project's own lower `beacons_per_minute` wins). An SDK flushes
/// every few seconds, so this leaves room for many visitors behind one address.
pub const CLIENT_REQUESTS_PER_MINUTE: u32 = 600;

/// A client as the limiter knows it: its address hashed with a per-isolate random salt. The
/// address itself is never kept, logged or stored; the salt dies with the isolate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientId(u64);

impl ClientId {
    /// From `CF-Connecting-IP` (absent locally or behind a misconfigured proxy: then every such
    /// request shares one client, which is the safe side).
    pub fn from_address(salt: &[u8; 16], address: Option<&str>) -> ClientId {
        let mut h = Sha256::new();
        h.update(salt);
        h.update(address.unwrap_or("").trim().as_bytes());
        let d = h.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&d[..8]);
        ClientId(u64::from_le_bytes(first))
    }
}

#[derive(Default)]
pub struct Limiter {
    minute: HashMap<String, (u64, u32)>,
    clients: HashMap<(String, ClientId), (u64, u32)>,
    day: HashMap<String, Day>,
}

#[derive(Clone, Copy)]
struct Day {
    day: u64,
    chunks: u32,
    bytes: u64,
}

/// Most projects (or project × client pairs) one isolate tracks before it forgets the idle ones.
const CAPACITY: usize = 4096;

impl Limiter {
    /// Admit one raw request of `client` to `project` at `now_ms`, counting it in the minute
    /// windows, or refuse it with 429 and the seconds until its window ends (a refused request
    /// is not counted). The daily quota is only checked here: it is spent by [`Self::stored`].
    pub fn admit(
        &mut self,
        project: &str,
        client: ClientId,
        limit: &RateLimit,
        now_ms: u64,
    ) -> Result<(), ApiError> {
        let minute = now_ms / 60_000;
        let day = now_ms / DAY_MS;
        if self.minute.len() > CAPACITY {
            self.minute.retain(|_, (w, _)| *w == minute);
        }
        if self.clients.len() > CAPACITY {
            self.clients.retain(|_, (w, _)| *w == minute);
        }
        if self.day.len() > CAPACITY {
            self.day.retain(|_, d| d.day == day);
        }
        let minute_left = || (60_000 - now_ms % 60_000).div_ceil(1000) as u32;
        let per_client = match limit.beacons_per_minute {
            0 => CLIENT_REQUESTS_PER_MINUTE,
            n => n.min(CLIENT_REQUESTS_PER_MINUTE),
        };
        let c = window(&mut self.clients, (project.to_string(), client), minute);
        if c.1 >= per_client {
            return Err(ApiError::rate_limited(
                ErrorCode::RateLimited,
                minute_left(),
            ));
        }
        let m = window(&mut self.minute, project.to_string(), minute);
        if limit.beacons_per_minute > 0 && m.1 >= limit.beacons_per_minute {
            return Err(ApiError::rate_limited(
                ErrorCode::RateLimited,
                minute_left(),
            ));
        }
        let d = self.today(project, day);
        let chunks_spent = limit.chunks_per_day > 0 && d.chunks >= limit.chunks_per_day;
        let bytes_spent = limit.bytes_per_day > 0 && d.bytes >= limit.bytes_per_day;
        if chunks_spent || bytes_spent {
            let secs = (DAY_MS - now_ms % DAY_MS).div_ceil(1000) as u32;
            return Err(ApiError::rate_limited(ErrorCode::QuotaExceeded, secs));
        }
        window(&mut self.minute, project.to_string(), minute).1 += 1;
        window(&mut self.clients, (project.to_string(), client), minute).1 += 1;
        Ok(())
    }

    /// A chunk the session object stored (it answered `stored:true`): it spends one chunk and
    /// its inflated bytes of the project's daily quota.
    pub fn stored(&mut self, project: &str, inflated_bytes: u64, now_ms: u64) {
        let d = self.today(project, now_ms / DAY_MS);
        d.chunks = d.chunks.saturating_add(1);
        d.bytes = d.bytes.saturating_add(inflated_bytes);
    }

    fn today(&mut self, project: &str, day: u64) -> &mut Day {
        let e = self.day.entry(project.to_string()).or_insert(Day {
            day,
            chunks: 0,
            bytes: 0,
        });
        if e.day != day {
            *e = Day {
                day,
                chunks: 0,
                bytes: 0,
            };
        }
        e
    }
}

fn window<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, (u64, u32)>,
    key: K,
    w: u64,
) -> &mut (u64, u32) {
    let e = map.entry(key).or_insert((w, 0));
    if e.0 != w {
        *e = (w, 0);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    const SALT: [u8; 16] = [7; 16];

    fn client(ip: &str) -> ClientId {
        ClientId::from_address(&SALT, Some(ip))
    }

    fn lim(per_minute: u32, chunks: u32, bytes: u64) -> RateLimit {
        RateLimit {
            beacons_per_minute: per_minute,
            chunks_per_day: chunks,
            bytes_per_day: bytes,
        }
    }

    #[test]
    fn per_minute_window_with_retry_after() {
        let mut l = Limiter::default();
        let lim = lim(3, 0, 0);
        let t0 = 1_795_392_000_000 + 15_000;
        // Three clients share the project's minute.
        for ip in ["192.0.2.1", "192.0.2.2", "192.0.2.3"] {
            l.admit("p", client(ip), &lim, t0).unwrap();
        }
        let e = l.admit("p", client("192.0.2.4"), &lim, t0 + 1).unwrap_err();
        assert_eq!(
            (e.status, e.code, e.retry_after),
            (429, "rate_limited", Some(45))
        );
        // Another project is not affected; the next minute starts over.
        l.admit("q", client("192.0.2.1"), &lim, t0).unwrap();
        l.admit("p", client("192.0.2.1"), &lim, t0 + 45_000)
            .unwrap();
    }

    /// Issue 22, item 7: requests that store nothing (malformed, refused, dropped) never spend
    /// the daily quota; only chunks the object stored do.
    #[test]
    fn the_daily_quota_counts_stored_chunks_only() {
        let mut l = Limiter::default();
        let lim = lim(0, 3, 0);
        let t0 = 1_795_392_000_000;
        let c = client("198.51.100.7");
        // Three malformed bodies: admitted (then refused by the envelope), never stored.
        for i in 0..3 {
            l.admit("p", c, &lim, t0 + i).unwrap();
        }
        // The valid beacons that follow are still admitted, up to three stored ones.
        for i in 0..3 {
            l.admit("p", c, &lim, t0 + 10 + i).unwrap();
            l.stored("p", 100, t0 + 10 + i);
        }
        let e = l.admit("p", c, &lim, t0 + 240_000).unwrap_err();
        assert_eq!((e.code, e.retry_after), ("quota_exceeded", Some(86_160)));
        // Spent for every client of the project, not for another project; a new day resets.
        assert_eq!(
            l.admit("p", client("203.0.113.9"), &lim, t0 + 240_000)
                .unwrap_err()
                .code,
            "quota_exceeded"
        );
        l.admit("q", c, &lim, t0 + 240_000).unwrap();
        l.admit("p", c, &lim, t0 + DAY_MS).unwrap();
    }

    #[test]
    fn the_daily_quota_counts_inflated_bytes() {
        let mut l = Limiter::default();
        let lim = lim(0, 0, 1000);
        let t0 = 1_795_392_000_000;
        let c = client("198.51.100.7");
        l.admit("p", c, &lim, t0).unwrap();
        l.stored("p", 600, t0);
        // Budget remains (600 < 1000): admitted; that chunk then overspends it.
        l.admit("p", c, &lim, t0 + 1).unwrap();
        l.stored("p", 600, t0 + 1);
        let e = l.admit("p", c, &lim, t0 + 2).unwrap_err();
        assert_eq!((e.status, e.code), (429, "quota_exceeded"));
        l.admit("p", c, &lim, t0 + DAY_MS).unwrap();
    }

    /// One client cannot take a project's whole minute: past its own guard it is refused while
    /// another address still gets through.
    #[test]
    fn one_client_cannot_spend_the_project_minute() {
        let mut l = Limiter::default();
        let lim = lim(6000, 0, 0);
        let t0 = 1_795_392_000_000;
        let hostile = client("203.0.113.66");
        for _ in 0..CLIENT_REQUESTS_PER_MINUTE {
            l.admit("p", hostile, &lim, t0).unwrap();
        }
        let e = l.admit("p", hostile, &lim, t0 + 1).unwrap_err();
        assert_eq!((e.code, e.retry_after), ("rate_limited", Some(60)));
        l.admit("p", client("198.51.100.7"), &lim, t0 + 1).unwrap();
        // Its refused requests were not counted against the project.
        assert_eq!(
            l.minute["p"].1,
            CLIENT_REQUESTS_PER_MINUTE + 1,
            "refusals are not counted"
        );
        l.admit("p", hostile, &lim, t0 + 60_000).unwrap();
    }

    #[test]
    fn clients_are_salted_hashes() {
        let a = ClientId::from_address(&SALT, Some("192.0.2.1"));
        assert_eq!(a, ClientId::from_address(&SALT, Some("192.0.2.1")));
        assert_ne!(a, ClientId::from_address(&SALT, Some("192.0.2.2")));
        assert_ne!(a, ClientId::from_address(&[8; 16], Some("192.0.2.1")));
        assert_eq!(
            ClientId::from_address(&SALT, None),
            ClientId::from_address(&SALT, Some(""))
        );
    }

    #[test]
    fn zero_means_unlimited() {
        let mut l = Limiter::default();
        let lim = lim(0, 0, 0);
        for i in 0..10_000 {
            // Many clients: the per-client guard holds even when the project sets no rate.
            l.admit(
                "p",
                client(&format!("10.0.{}.{}", i / 256, i % 256)),
                &lim,
                i,
            )
            .unwrap();
            l.stored("p", 1 << 20, i);
        }
    }
}
