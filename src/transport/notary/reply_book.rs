//! What a notary remembers about v2 requests: those handed to the application and not answered
//! yet (in progress), the replies it keeps to answer resends (the reply cache), and the requests
//! whose reply it no longer keeps (tombstones), so that a resend never reaches the application a
//! second time.
//!
//! Everything is keyed by the request itself — (SHA-256 of the request body, request id) — not by
//! the routing id it came from: a resend is answered only to whoever presents the very same
//! request, so another peer (one that learnt a routing id, say) can neither poison the cache nor
//! read an entry (and the reply inside is sealed to the original requester anyway). A client that
//! reconnects (with a new routing id) and resends gets its reply.
//!
//! Bounds, in bytes and entries (see [`LIMITS`]): per peer (the connection that sent the
//! request) and in total, with the heaviest peer evicted first under global pressure, so one
//! client cannot push another's replies out. Retention covers a default client's resend horizon.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Who sent a request: the notary's socket index and the peer's routing id on it.
pub(crate) type Peer = (usize, Vec<u8>);
/// A v2 request: SHA-256 of its body and its request id.
pub(crate) type Key = ([u8; 32], u64);

/// The bounds of a notary's reply book.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Requests one peer may have in progress (handed to the application, not answered).
    pub in_progress_per_peer: usize,
    /// Requests in progress over all peers.
    pub in_progress_total: usize,
    /// Cached replies one peer may hold (entries, bytes); its oldest go first beyond.
    pub cache_entries_per_peer: usize,
    pub cache_bytes_per_peer: usize,
    /// Cached reply bytes over all peers; the heaviest peer's oldest go first beyond.
    pub cache_bytes_total: usize,
    /// How long a reply is kept. A default client (25.4 s per attempt, 1 resend) resends within
    /// 51 s of its first send, and at once after a reconnect.
    pub retention: Duration,
    /// A cached reply is sent again at most once per this interval…
    pub resend_interval: Duration,
    /// …and at most this many times in all (the first send not counted).
    pub resends_per_reply: u32,
    /// Requests remembered after their reply was dropped (evicted or expired): a resend of one
    /// is answered "no longer held" instead of reaching the application again.
    pub tombstones: usize,
}

/// The notary's bounds (docs/wire-format.md and the README's Reliability table state them).
pub(crate) const LIMITS: Limits = Limits {
    in_progress_per_peer: 256,
    in_progress_total: 65_536,
    cache_entries_per_peer: 256,
    cache_bytes_per_peer: 4 << 20,
    cache_bytes_total: 64 << 20,
    retention: Duration::from_secs(120),
    resend_interval: Duration::from_secs(1),
    resends_per_reply: 3,
    tombstones: 65_536,
};

/// The bytes of a reply's frames.
fn frames_len(frames: &[Vec<u8>]) -> usize {
    frames.iter().map(Vec::len).sum()
}

/// Bytes an entry costs besides its reply (keys, bookkeeping), so that empty replies count.
const ENTRY_OVERHEAD: usize = 128;

/// What to do with a v2 request that arrived.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Seen {
    /// New: open it and hand it to the application.
    New,
    /// Answered before: send these frames again (the reply frame, then the frames after it:
    /// the push streams a subscription registered).
    Resend(Vec<Vec<u8>>),
    /// Answered before, but sent again too recently or too often: ignore it.
    Suppressed,
    /// Being handled by the application: ignore it (the reply goes to the latest resender if
    /// the original connection is gone).
    InProgress,
    /// Answered before, but the reply is no longer kept: tell the client so.
    Dropped,
}

struct Pending {
    owner: Peer,
    /// The latest peer that resent it (with its request number), if another connection did.
    waiter: Option<Peer>,
}

struct Cached {
    owner: Peer,
    /// The reply frame and the frames after it.
    reply: Vec<Vec<u8>>,
    stored: Instant,
    last_sent: Instant,
    resends: u32,
}

#[derive(Default)]
struct Usage {
    bytes: usize,
    /// This peer's cached keys, oldest first (may hold keys already gone: checked on use).
    keys: VecDeque<Key>,
}

/// Counters the notary reports.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BookStats {
    pub evicted: u64,
    pub suppressed: u64,
    pub dropped_answered: u64,
}

pub(crate) struct ReplyBook {
    limits: Limits,
    in_progress: HashMap<Key, Pending>,
    in_progress_of: HashMap<Peer, usize>,
    cache: HashMap<Key, Cached>,
    usage: HashMap<Peer, Usage>,
    /// Cached keys in the order they were stored (expiry order).
    order: VecDeque<(Instant, Key)>,
    bytes: usize,
    tombstones: HashMap<Key, Instant>,
    tomb_order: VecDeque<(Instant, Key)>,
    pub(crate) stats: BookStats,
}

impl ReplyBook {
    pub(crate) fn new(limits: Limits) -> ReplyBook {
        ReplyBook {
            limits,
            in_progress: HashMap::new(),
            in_progress_of: HashMap::new(),
            cache: HashMap::new(),
            usage: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            tombstones: HashMap::new(),
            tomb_order: VecDeque::new(),
            stats: BookStats::default(),
        }
    }

    /// Classifies a v2 request from `from`.
    pub(crate) fn seen(&mut self, key: &Key, from: &Peer, now: Instant) -> Seen {
        self.expire(now);
        if let Some(c) = self.cache.get_mut(key) {
            let due = now.duration_since(c.last_sent) >= self.limits.resend_interval;
            if due && c.resends < self.limits.resends_per_reply {
                c.resends += 1;
                c.last_sent = now;
                return Seen::Resend(c.reply.clone());
            }
            self.stats.suppressed += 1;
            return Seen::Suppressed;
        }
        if let Some(p) = self.in_progress.get_mut(key) {
            if p.owner != *from {
                p.waiter = Some(from.clone());
            }
            return Seen::InProgress;
        }
        if self.tombstones.contains_key(key) {
            self.stats.dropped_answered += 1;
            return Seen::Dropped;
        }
        Seen::New
    }

    /// Whether `from` may have one more request in progress.
    pub(crate) fn has_room(&self, from: &Peer) -> bool {
        self.in_progress.len() < self.limits.in_progress_total
            && self.in_progress_of.get(from).copied().unwrap_or(0)
                < self.limits.in_progress_per_peer
    }

    /// Records a request handed to the application.
    pub(crate) fn begin(&mut self, key: Key, from: Peer) {
        if self.in_progress.contains_key(&key) {
            return;
        }
        *self.in_progress_of.entry(from.clone()).or_insert(0) += 1;
        self.in_progress.insert(
            key,
            Pending {
                owner: from,
                waiter: None,
            },
        );
    }

    /// The request is answered or given up: forget it as in progress. Returns the latest other
    /// peer that resent it, if any.
    pub(crate) fn finish(&mut self, key: &Key) -> Option<Peer> {
        let p = self.in_progress.remove(key)?;
        if let Some(n) = self.in_progress_of.get_mut(&p.owner) {
            *n -= 1;
            if *n == 0 {
                self.in_progress_of.remove(&p.owner);
            }
        }
        p.waiter
    }

    /// Keeps the reply frames of an answered request (the reply frame, then the frames after
    /// it) for resends.
    pub(crate) fn store(&mut self, key: Key, owner: Peer, reply: Vec<Vec<u8>>, now: Instant) {
        self.expire(now);
        let size = frames_len(&reply) + ENTRY_OVERHEAD;
        if size > self.limits.cache_bytes_per_peer {
            // Too large to keep: a resend is told the reply is no longer held.
            self.bury(key, now);
            return;
        }
        if let Some(old) = self.cache.remove(&key) {
            self.unaccount(&old.owner, frames_len(&old.reply) + ENTRY_OVERHEAD);
        }
        self.cache.insert(
            key,
            Cached {
                owner: owner.clone(),
                reply,
                stored: now,
                last_sent: now,
                resends: 0,
            },
        );
        self.order.push_back((now, key));
        self.bytes += size;
        let u = self.usage.entry(owner.clone()).or_default();
        u.bytes += size;
        u.keys.push_back(key);
        // This peer's quota, then the global budget.
        loop {
            let over = self.usage.get(&owner).is_some_and(|u| {
                u.bytes > self.limits.cache_bytes_per_peer
                    || self.live_keys(u) > self.limits.cache_entries_per_peer
            });
            if !over || !self.evict_oldest_of(&owner, now) {
                break;
            }
        }
        while self.bytes > self.limits.cache_bytes_total {
            let Some(heaviest) = self
                .usage
                .iter()
                .max_by_key(|(_, u)| u.bytes)
                .map(|(p, _)| p.clone())
            else {
                break;
            };
            if !self.evict_oldest_of(&heaviest, now) {
                break;
            }
        }
    }

    fn live_keys(&self, u: &Usage) -> usize {
        // `keys` may hold stale keys (expired entries); they are few and removed on eviction.
        u.keys.len()
    }

    /// Evicts `peer`'s oldest cached reply (tombstoned). False when it has none.
    fn evict_oldest_of(&mut self, peer: &Peer, now: Instant) -> bool {
        loop {
            let Some(k) = self.usage.get_mut(peer).and_then(|u| u.keys.pop_front()) else {
                self.usage.remove(peer);
                return false;
            };
            if self.cache.get(&k).is_some_and(|c| c.owner == *peer) {
                let c = self
                    .cache
                    .remove(&k)
                    .map(|c| frames_len(&c.reply) + ENTRY_OVERHEAD);
                self.bytes -= c.unwrap_or(0);
                if let Some(u) = self.usage.get_mut(peer) {
                    u.bytes -= c.unwrap_or(0);
                    if u.keys.is_empty() {
                        self.usage.remove(peer);
                    }
                }
                self.stats.evicted += 1;
                self.bury(k, now);
                return true;
            }
        }
    }

    fn unaccount(&mut self, peer: &Peer, size: usize) {
        self.bytes -= size;
        if let Some(u) = self.usage.get_mut(peer) {
            u.bytes -= size;
            if u.bytes == 0 {
                self.usage.remove(peer);
            }
        }
    }

    fn bury(&mut self, key: Key, now: Instant) {
        if self.tombstones.insert(key, now).is_none() {
            self.tomb_order.push_back((now, key));
        }
        while self.tombstones.len() > self.limits.tombstones {
            match self.tomb_order.pop_front() {
                Some((_, k)) => {
                    self.tombstones.remove(&k);
                }
                None => break,
            }
        }
    }

    /// Drops replies kept longer than the retention (tombstoned), and old tombstones.
    fn expire(&mut self, now: Instant) {
        let keep = self.limits.retention;
        while let Some(&(t, k)) = self.order.front() {
            if now.duration_since(t) < keep {
                break;
            }
            self.order.pop_front();
            if self.cache.get(&k).is_some_and(|c| c.stored == t) {
                if let Some(c) = self.cache.remove(&k) {
                    let size = frames_len(&c.reply) + ENTRY_OVERHEAD;
                    self.bytes -= size;
                    if let Some(u) = self.usage.get_mut(&c.owner) {
                        u.bytes -= size;
                        u.keys.retain(|x| *x != k);
                        if u.keys.is_empty() {
                            self.usage.remove(&c.owner);
                        }
                    }
                }
                self.bury(k, now);
            }
        }
        while let Some(&(t, k)) = self.tomb_order.front() {
            if now.duration_since(t) < keep {
                break;
            }
            self.tomb_order.pop_front();
            if self.tombstones.get(&k) == Some(&t) {
                self.tombstones.remove(&k);
            }
        }
        // Keep the deques from holding many stale keys (entries replaced or evicted early).
        if self.order.len() > 2 * self.cache.len() + 64 {
            let cache = &self.cache;
            self.order
                .retain(|(t, k)| cache.get(k).is_some_and(|c| c.stored == *t));
        }
    }

    /// (requests in progress, cached replies, cached bytes, tombstones).
    pub(crate) fn sizes(&self) -> (usize, usize, usize, usize) {
        (
            self.in_progress.len(),
            self.cache.len(),
            self.bytes,
            self.tombstones.len(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(n: u8) -> Peer {
        (0, vec![n])
    }

    fn key(n: u64) -> Key {
        ([n as u8; 32], n)
    }

    fn small() -> Limits {
        Limits {
            in_progress_per_peer: 2,
            in_progress_total: 3,
            cache_entries_per_peer: 4,
            cache_bytes_per_peer: 4 * (100 + ENTRY_OVERHEAD),
            cache_bytes_total: 8 * (100 + ENTRY_OVERHEAD),
            retention: Duration::from_secs(10),
            resend_interval: Duration::from_secs(1),
            resends_per_reply: 2,
            tombstones: 100,
        }
    }

    #[test]
    fn resends_are_rate_limited_and_capped() {
        let mut b = ReplyBook::new(small());
        let t = Instant::now();
        assert_eq!(b.seen(&key(1), &peer(1), t), Seen::New);
        b.begin(key(1), peer(1));
        assert_eq!(b.seen(&key(1), &peer(1), t), Seen::InProgress);
        assert_eq!(b.finish(&key(1)), None);
        b.store(key(1), peer(1), vec![vec![7; 100]], t);
        // Within the interval: ignored; then at most `resends_per_reply` resends.
        assert_eq!(b.seen(&key(1), &peer(1), t), Seen::Suppressed);
        let s1 = t + Duration::from_millis(1000);
        assert_eq!(
            b.seen(&key(1), &peer(2), s1),
            Seen::Resend(vec![vec![7; 100]])
        );
        assert_eq!(b.seen(&key(1), &peer(1), s1), Seen::Suppressed);
        let s2 = s1 + Duration::from_millis(1000);
        assert_eq!(
            b.seen(&key(1), &peer(1), s2),
            Seen::Resend(vec![vec![7; 100]])
        );
        let s3 = s2 + Duration::from_millis(1000);
        assert_eq!(b.seen(&key(1), &peer(1), s3), Seen::Suppressed);
        // The same id with another body is another request.
        assert_eq!(b.seen(&([9; 32], 1), &peer(1), s3), Seen::New);
    }

    #[test]
    fn in_progress_is_capped_per_peer_and_in_total_and_released() {
        let mut b = ReplyBook::new(small());
        b.begin(key(1), peer(1));
        b.begin(key(2), peer(1));
        assert!(!b.has_room(&peer(1)));
        assert!(b.has_room(&peer(2)));
        b.begin(key(3), peer(2));
        assert!(!b.has_room(&peer(3)), "total cap");
        // A resend from another connection is remembered as the waiter.
        assert_eq!(b.seen(&key(3), &peer(9), Instant::now()), Seen::InProgress);
        assert_eq!(b.finish(&key(3)), Some(peer(9)));
        assert_eq!(b.finish(&key(1)), None);
        assert!(b.has_room(&peer(1)));
        assert_eq!(b.sizes().0, 1);
    }

    #[test]
    fn quotas_evict_the_peers_own_oldest_then_the_heaviest_and_remember_them() {
        let mut b = ReplyBook::new(small());
        let t = Instant::now();
        // Peer 1 stores 5 replies: its quota is 4, its oldest goes.
        for n in 1..=5 {
            b.store(key(n), peer(1), vec![vec![0; 100]], t);
        }
        assert_eq!(b.sizes().1, 4);
        assert_eq!(b.seen(&key(1), &peer(1), t), Seen::Dropped);
        // Peer 2 holds 2 replies; peer 3 adds 3: over the global budget (8), the heaviest (peer
        // 1, 4 entries) loses its oldest, never peer 2.
        b.store(key(10), peer(2), vec![vec![0; 100]], t);
        b.store(key(11), peer(2), vec![vec![0; 100]], t);
        for n in 20..23 {
            b.store(key(n), peer(3), vec![vec![0; 100]], t);
        }
        assert!(b.sizes().2 <= small().cache_bytes_total);
        let later = t + Duration::from_secs(1);
        assert!(matches!(b.seen(&key(10), &peer(2), later), Seen::Resend(_)));
        assert!(matches!(b.seen(&key(11), &peer(2), later), Seen::Resend(_)));
        assert_eq!(b.seen(&key(2), &peer(1), later), Seen::Dropped);
        assert!(b.stats.evicted >= 2);
        // Too large for any peer: not kept, but remembered.
        b.store(key(30), peer(4), vec![vec![0; 10_000]], t);
        assert_eq!(b.seen(&key(30), &peer(4), later), Seen::Dropped);
    }

    #[test]
    fn replies_expire_after_the_retention_and_tombstones_after_another() {
        let mut b = ReplyBook::new(small());
        let t = Instant::now();
        b.store(key(1), peer(1), vec![vec![1; 10]], t);
        let within = t + Duration::from_secs(9);
        assert!(matches!(b.seen(&key(1), &peer(1), within), Seen::Resend(_)));
        let after = t + Duration::from_secs(10);
        assert_eq!(b.seen(&key(1), &peer(1), after), Seen::Dropped);
        assert_eq!(b.sizes(), (0, 0, 0, 1));
        let much_later = after + Duration::from_secs(10);
        assert_eq!(b.seen(&key(1), &peer(1), much_later), Seen::New);
        assert_eq!(b.sizes(), (0, 0, 0, 0));
    }
}
