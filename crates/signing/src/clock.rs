//! The current time and the replay window, in Unix seconds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Now, in Unix seconds. A clock set before 1970 reads as 0, which every peer rejects.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// Where a timestamp falls outside the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Skew {
    /// Older than `now - window`.
    Stale,
    /// Newer than `now + window`.
    Future,
}

/// Checks that `timestamp` is within `window` of `now` (both ends inclusive).
pub(crate) fn check_window(timestamp: u64, now: u64, window: Duration) -> Result<(), Skew> {
    let window = window.as_secs();
    if timestamp.abs_diff(now) <= window {
        Ok(())
    } else if timestamp < now {
        Err(Skew::Stale)
    } else {
        Err(Skew::Future)
    }
}

/// Parses a header's Unix seconds: 1 to 19 ASCII digits, nothing else.
pub(crate) fn parse_unix_seconds(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_inclusive() {
        let w = Duration::from_secs(300);
        assert_eq!(check_window(1000, 1300, w), Ok(()));
        assert_eq!(check_window(1600, 1300, w), Ok(()));
        assert_eq!(check_window(999, 1300, w), Err(Skew::Stale));
        assert_eq!(check_window(1601, 1300, w), Err(Skew::Future));
    }

    #[test]
    fn unix_seconds() {
        assert_eq!(parse_unix_seconds("1554208460"), Some(1_554_208_460));
        assert_eq!(parse_unix_seconds("+1"), None);
        assert_eq!(parse_unix_seconds(""), None);
        assert_eq!(parse_unix_seconds("99999999999999999999"), None);
    }
}
