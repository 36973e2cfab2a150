//! The nonces of the requests accepted within the timestamp window: a request whose nonce was
//! already seen is a replay.
//!
//! Memory is bounded: an entry is kept only while its request's timestamp is within the window
//! (after that the timestamp check refuses the request anyway), and never more than a capacity
//! of entries at once. Past the capacity a new request is refused (429) rather than an old
//! nonce forgotten: the sandbox never accepts a replay.
//!
//! An entry is a 64-bit keyed hash of the nonce (SipHash with a random key per sandbox), not the
//! nonce itself: about 36 bytes an entry (a set slot and a heap slot) whatever the nonce's
//! length. Two different nonces share a hash with a probability of about `entries / 2^64` per
//! request: never, in practice.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::hash::{BuildHasher as _, RandomState};
use std::sync::Mutex;

/// How many nonces are kept at most, by default: 1,048,576 (under 40 MB when full). At the
/// sandbox's top speed (about 4,300 requests per second) a 300 s window holds 1.3 million
/// requests; a test or a bulk run of the command stays far below.
pub const NONCE_CAPACITY: usize = 1 << 20;

/// Why a nonce was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NonceRefusal {
    /// Seen within the window: a replayed request.
    Replayed,
    /// The memory is full of nonces still within the window.
    Full,
}

/// The nonces seen, each until its request's timestamp leaves the window.
pub(crate) struct NonceMemory {
    hasher: RandomState,
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    seen: HashSet<u64>,
    /// (expiry, hash), the earliest expiry first.
    expiries: BinaryHeap<Reverse<(u64, u64)>>,
}

impl NonceMemory {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            hasher: RandomState::new(),
            capacity,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Records `nonce`, seen now (Unix seconds) in a request signed at `timestamp` and accepted
    /// within `window_secs` of now; refuses it if it was already seen or the memory is full.
    pub(crate) fn admit(
        &self,
        nonce: &str,
        timestamp: u64,
        window_secs: u64,
        now: u64,
    ) -> Result<(), NonceRefusal> {
        let hash = self.hasher.hash_one(nonce);
        // Past this second the timestamp check refuses the request: no need to remember it.
        let expiry = timestamp.saturating_add(window_secs);
        // A poisoned lock only means another request panicked mid-update of two plain sets:
        // they are still consistent enough to refuse replays.
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Inner { seen, expiries } = &mut *inner;
        while let Some(Reverse((first, old))) = expiries.peek().copied()
            && first < now
        {
            expiries.pop();
            seen.remove(&old);
        }
        if seen.contains(&hash) {
            return Err(NonceRefusal::Replayed);
        }
        if seen.len() >= self.capacity {
            return Err(NonceRefusal::Full);
        }
        seen.insert(hash);
        expiries.push(Reverse((expiry, hash)));
        Ok(())
    }

    /// How many nonces are remembered at most.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many nonces are remembered now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .seen
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: u64 = 300;

    #[test]
    fn a_nonce_is_refused_while_its_timestamp_is_within_the_window() {
        let memory = NonceMemory::new(10);
        assert_eq!(memory.admit("n1", 1000, WINDOW, 1000), Ok(()));
        assert_eq!(
            memory.admit("n1", 1000, WINDOW, 1001),
            Err(NonceRefusal::Replayed)
        );
        // Another timestamp does not make it new.
        assert_eq!(
            memory.admit("n1", 1200, WINDOW, 1250),
            Err(NonceRefusal::Replayed)
        );
        // The last second of the window still remembers it.
        assert_eq!(
            memory.admit("n1", 1000, WINDOW, 1300),
            Err(NonceRefusal::Replayed)
        );
        assert_eq!(memory.admit("n2", 1000, WINDOW, 1300), Ok(()));
        // Past the window it is forgotten (the timestamp check refuses such a request).
        assert_eq!(memory.admit("n3", 1301, WINDOW, 1301), Ok(()));
        assert_eq!(memory.len(), 1, "n1 and n2 pruned");
    }

    #[test]
    fn the_capacity_bounds_the_memory_and_frees_up_as_the_window_passes() {
        let memory = NonceMemory::new(3);
        for nonce in ["a", "b", "c"] {
            assert_eq!(memory.admit(nonce, 1000, WINDOW, 1000), Ok(()));
        }
        assert_eq!(
            memory.admit("d", 1000, WINDOW, 1000),
            Err(NonceRefusal::Full)
        );
        // Full is not forgetful: a replay is still a replay.
        assert_eq!(
            memory.admit("a", 1000, WINDOW, 1000),
            Err(NonceRefusal::Replayed)
        );
        assert_eq!(memory.len(), 3);
        // Once their window has passed, room again.
        assert_eq!(memory.admit("d", 1301, WINDOW, 1301), Ok(()));
        assert_eq!(memory.len(), 1);
    }

    #[test]
    fn timestamps_out_of_order_are_pruned_by_expiry() {
        let memory = NonceMemory::new(10);
        assert_eq!(memory.admit("late", 1200, WINDOW, 1000), Ok(()));
        assert_eq!(memory.admit("early", 800, WINDOW, 1000), Ok(()));
        // At 1101 "early" (expiry 1100) is gone, "late" (expiry 1500) is kept.
        assert_eq!(memory.admit("x", 1100, WINDOW, 1101), Ok(()));
        assert_eq!(memory.admit("early", 1100, WINDOW, 1101), Ok(()));
        assert_eq!(
            memory.admit("late", 1100, WINDOW, 1101),
            Err(NonceRefusal::Replayed)
        );
    }
}
