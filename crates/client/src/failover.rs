//! Which host an attempt goes to: the primary, or the backup while the primary keeps failing.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// When requests move to the backup host and when they come back.
///
/// After `threshold` consecutive failures of the primary host (connection errors, timeouts,
/// 5xx answers; not 429, which is a rate limit, not an outage), attempts go to the backup host.
/// While there, one attempt every `probe_interval` goes to the primary instead; when it
/// succeeds, everything moves back. This is WeChat Pay's guidance for its backup domain
/// (api2.mch.weixin.qq.com, an access point in another region).
///
/// ```
/// use std::time::Duration;
/// use wechatpay_card_client::FailoverPolicy;
///
/// let policy = FailoverPolicy::default().threshold(3).probe_interval(Duration::from_secs(60));
/// # let _ = policy;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailoverPolicy {
    pub(crate) threshold: u32,
    pub(crate) probe_interval: Duration,
}

impl Default for FailoverPolicy {
    /// Move after 2 consecutive failures; probe the primary every 30 s.
    fn default() -> Self {
        Self {
            threshold: 2,
            probe_interval: Duration::from_secs(30),
        }
    }
}

impl FailoverPolicy {
    /// Consecutive primary failures that move requests to the backup (at least 1).
    #[must_use]
    pub fn threshold(mut self, failures: u32) -> Self {
        self.threshold = failures.max(1);
        self
    }

    /// How often, while on the backup, one attempt tries the primary again.
    #[must_use]
    pub fn probe_interval(mut self, interval: Duration) -> Self {
        self.probe_interval = interval;
        self
    }
}

/// One of the two hosts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Host {
    Primary,
    Backup,
}

/// How an attempt ended, as far as the host's health goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HostOutcome {
    /// The host answered (any status but 5xx).
    Healthy,
    /// Connection error, timeout or 5xx.
    Failed,
}

#[derive(Debug)]
enum State {
    Primary { consecutive_failures: u32 },
    Backup { next_probe: Instant },
}

/// The shared failover state of one client.
#[derive(Debug)]
pub(crate) struct HostSelector {
    policy: FailoverPolicy,
    has_backup: bool,
    state: Mutex<State>,
}

impl HostSelector {
    pub(crate) fn new(policy: FailoverPolicy, has_backup: bool) -> Self {
        Self {
            policy,
            has_backup,
            state: Mutex::new(State::Primary {
                consecutive_failures: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a couple of integers, always consistent: a panic elsewhere cannot
        // leave it half-written, so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The host for the next attempt.
    pub(crate) fn pick(&self, now: Instant) -> Host {
        if !self.has_backup {
            return Host::Primary;
        }
        let mut state = self.lock();
        match &mut *state {
            State::Primary { .. } => Host::Primary,
            State::Backup { next_probe } => {
                if now >= *next_probe {
                    // This attempt is the probe; the others stay on the backup meanwhile.
                    *next_probe = now + self.policy.probe_interval;
                    Host::Primary
                } else {
                    Host::Backup
                }
            }
        }
    }

    /// Records how an attempt on `host` ended. Returns the host requests now go to, when it
    /// changed (for the log).
    pub(crate) fn report(&self, host: Host, outcome: HostOutcome, now: Instant) -> Option<Host> {
        if !self.has_backup || host == Host::Backup {
            return None;
        }
        let mut state = self.lock();
        match (&mut *state, outcome) {
            (
                State::Primary {
                    consecutive_failures,
                },
                HostOutcome::Failed,
            ) => {
                *consecutive_failures += 1;
                if *consecutive_failures >= self.policy.threshold {
                    *state = State::Backup {
                        next_probe: now + self.policy.probe_interval,
                    };
                    return Some(Host::Backup);
                }
                None
            }
            (
                State::Primary {
                    consecutive_failures,
                },
                HostOutcome::Healthy,
            ) => {
                *consecutive_failures = 0;
                None
            }
            (State::Backup { .. }, HostOutcome::Healthy) => {
                *state = State::Primary {
                    consecutive_failures: 0,
                };
                Some(Host::Primary)
            }
            (State::Backup { .. }, HostOutcome::Failed) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selector() -> (HostSelector, Instant) {
        let policy = FailoverPolicy::default()
            .threshold(2)
            .probe_interval(Duration::from_secs(30));
        (HostSelector::new(policy, true), Instant::now())
    }

    #[test]
    fn moves_to_the_backup_after_consecutive_failures_only() {
        let (s, t) = selector();
        assert_eq!(s.pick(t), Host::Primary);
        assert_eq!(s.report(Host::Primary, HostOutcome::Failed, t), None);
        assert_eq!(
            s.report(Host::Primary, HostOutcome::Healthy, t),
            None,
            "a success resets the count"
        );
        assert_eq!(s.report(Host::Primary, HostOutcome::Failed, t), None);
        assert_eq!(
            s.report(Host::Primary, HostOutcome::Failed, t),
            Some(Host::Backup)
        );
        assert_eq!(s.pick(t), Host::Backup);
        assert_eq!(s.pick(t + Duration::from_secs(29)), Host::Backup);
    }

    #[test]
    fn probes_the_primary_periodically_and_moves_back_when_it_answers() {
        let (s, t) = selector();
        s.report(Host::Primary, HostOutcome::Failed, t);
        s.report(Host::Primary, HostOutcome::Failed, t);
        let probe_time = t + Duration::from_secs(30);
        assert_eq!(s.pick(probe_time), Host::Primary, "the probe");
        assert_eq!(s.pick(probe_time), Host::Backup, "one probe at a time");
        assert_eq!(
            s.report(Host::Primary, HostOutcome::Failed, probe_time),
            None
        );
        assert_eq!(s.pick(probe_time + Duration::from_secs(29)), Host::Backup);
        let second_probe = probe_time + Duration::from_secs(30);
        assert_eq!(s.pick(second_probe), Host::Primary);
        assert_eq!(
            s.report(Host::Primary, HostOutcome::Healthy, second_probe),
            Some(Host::Primary)
        );
        assert_eq!(s.pick(second_probe), Host::Primary);
    }

    #[test]
    fn backup_outcomes_and_a_missing_backup_change_nothing() {
        let (s, t) = selector();
        assert_eq!(s.report(Host::Backup, HostOutcome::Failed, t), None);
        let alone = HostSelector::new(FailoverPolicy::default().threshold(1), false);
        assert_eq!(alone.report(Host::Primary, HostOutcome::Failed, t), None);
        assert_eq!(alone.pick(t), Host::Primary);
    }
}
