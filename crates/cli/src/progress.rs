//! Progress of a bulk run on stderr: a redrawn line on a terminal, a plain line every few
//! seconds otherwise (a log file, CI).

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Counters of a run, updated by the tasks that finish lines.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) succeeded: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) skipped: AtomicU64,
}

impl Counters {
    pub(crate) fn succeeded(&self) -> u64 {
        self.succeeded.load(Ordering::Relaxed)
    }

    pub(crate) fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    pub(crate) fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }
}

/// The task that draws the progress; stops (and clears a terminal line) on [`Progress::finish`].
pub(crate) struct Progress {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
    terminal: bool,
}

impl Progress {
    /// Starts drawing. `total` is the number of input lines once known (counted meanwhile).
    pub(crate) fn start(
        counters: Arc<Counters>,
        total: Arc<OnceLock<u64>>,
        terminal: bool,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let started = Instant::now();
        let period = if terminal {
            Duration::from_millis(250)
        } else {
            Duration::from_secs(10)
        };
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(period);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                if stopped.load(Ordering::Relaxed) {
                    break;
                }
                let line = render(&counters, total.get().copied(), started.elapsed());
                let mut stderr = std::io::stderr().lock();
                // Progress is best effort: a closed stderr must not stop the run.
                let _ = if terminal {
                    write!(stderr, "\r\x1b[2K{line}")
                } else {
                    writeln!(stderr, "{line}")
                };
                let _ = stderr.flush();
            }
        });
        Self {
            stop,
            task,
            terminal,
        }
    }

    /// Stops drawing.
    pub(crate) async fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.abort();
        let _ = self.task.await;
        if self.terminal {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}

/// `done/total (x%) · n/s · f failed · ETA`, drawn while the run goes on: the percentage is
/// rounded down and stops at 99.9% (100% only once the run has ended, which the final
/// summary says), whatever the counts (blank lines, a file grown since it was counted).
pub(crate) fn render(counters: &Counters, total: Option<u64>, elapsed: Duration) -> String {
    let (succeeded, failed, skipped) =
        (counters.succeeded(), counters.failed(), counters.skipped());
    let done_now = succeeded + failed;
    let done = done_now + skipped;
    let rate = done_now as f64 / elapsed.as_secs_f64().max(0.001);
    let mut line = match total {
        Some(total) if total > 0 => {
            let tenths = (u128::from(done) * 1000 / u128::from(total)).min(999);
            format!("{done}/{total} lines ({}.{}%)", tenths / 10, tenths % 10)
        }
        _ => format!("{done} lines"),
    };
    line.push_str(&format!(
        ", {rate:.0}/s, {failed} failed, {skipped} skipped"
    ));
    if let Some(total) = total
        && rate > 0.0
        && total > done
    {
        let eta = ((total - done) as f64 / rate) as u64;
        line.push_str(&format!(
            ", ETA {}:{:02}:{:02}",
            eta / 3600,
            eta / 60 % 60,
            eta % 60
        ));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_done_total_rate_failures_and_eta() {
        let c = Counters::default();
        c.succeeded.store(90, Ordering::Relaxed);
        c.failed.store(10, Ordering::Relaxed);
        c.skipped.store(100, Ordering::Relaxed);
        let line = render(&c, Some(1000), Duration::from_secs(10));
        assert_eq!(
            line,
            "200/1000 lines (20.0%), 10/s, 10 failed, 100 skipped, ETA 0:01:20"
        );
        assert_eq!(
            render(&c, None, Duration::from_secs(10)),
            "200 lines, 10/s, 10 failed, 100 skipped"
        );
    }

    #[test]
    fn never_shows_100_percent_while_running() {
        let c = Counters::default();
        c.succeeded.store(9999, Ordering::Relaxed);
        let line = render(&c, Some(10_000), Duration::from_secs(1));
        assert!(line.starts_with("9999/10000 lines (99.9%)"), "{line}");
        c.skipped.store(1, Ordering::Relaxed);
        let line = render(&c, Some(10_000), Duration::from_secs(1));
        assert!(line.starts_with("10000/10000 lines (99.9%)"), "{line}");
        c.skipped.store(u64::MAX / 2, Ordering::Relaxed);
        let line = render(&c, Some(3), Duration::from_secs(1));
        assert!(line.contains("(99.9%)"), "{line}");
        c.succeeded.store(1, Ordering::Relaxed);
        c.skipped.store(0, Ordering::Relaxed);
        let line = render(&c, Some(3), Duration::from_secs(1));
        assert!(line.starts_with("1/3 lines (33.3%)"), "{line}");
    }
}
