//! The bulk journal: one JSON line per finished input line, appended as each finishes, so that a
//! rerun knows which lines are already done.
//!
//! Format (JSON Lines): a header `{"journal":"wechatpay-card bulk","version":1,"input":PATH}`,
//! then one record per finished line:
//! `{"line":N,"card_id":…,"code":…,"outcome":"ok"|"failed"|"unverified",…}`, with
//! `request_id` and `attempts` when WeChat Pay answered, and `error` (`status`, `code`,
//! `message`, `request_id`) when the line did not end ok.
//!
//! Durability: each record is one `write` of a whole line on a file opened for appending, with no
//! buffer in the process, so a crash or a `kill -9` of the process loses at most the lines in
//! flight, never a finished one; the data is also flushed to the disk (`fdatasync`) at most a
//! second after it is written, and at the end. A record cut short by a power loss is skipped
//! when the journal is read again.

use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::exit::Failure;

const KIND: &str = "wechatpay-card bulk";
const VERSION: u32 = 1;
const SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// How a line ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Outcome {
    /// Updated and verified.
    Ok,
    /// Not updated: invalid, or WeChat Pay answered an error, or the network failed.
    Failed,
    /// Answered, but the answer failed verification: the update may have been applied.
    Unverified,
}

/// Why a line did not end ok.
#[derive(Debug, Serialize)]
pub(crate) struct ErrorRecord {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<u16>,
    pub(crate) code: String,
    pub(crate) message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) request_id: Option<String>,
}

/// One finished line.
#[derive(Debug, Serialize)]
pub(crate) struct Record<'a> {
    pub(crate) line: u64,
    pub(crate) card_id: &'a str,
    pub(crate) code: &'a str,
    pub(crate) outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) request_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) attempts: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<ErrorRecord>,
}

#[derive(Serialize, Deserialize)]
struct Header {
    journal: String,
    version: u32,
    input: PathBuf,
}

/// What a rerun reads back of a record.
#[derive(Deserialize)]
struct Finished {
    line: u64,
    outcome: Outcome,
}

/// The lines an earlier run finished ok: one bit per line, so memory stays small whatever the
/// input's size (1,000,000 lines: 125 KiB).
#[derive(Debug, Default)]
pub(crate) struct DoneLines {
    bits: Vec<u64>,
}

impl DoneLines {
    fn insert(&mut self, line: u64) {
        let (word, bit) = ((line / 64) as usize, line % 64);
        if self.bits.len() <= word {
            self.bits.resize(word + 1, 0);
        }
        self.bits[word] |= 1 << bit;
    }

    /// Whether `line` ended ok in an earlier run.
    pub(crate) fn contains(&self, line: u64) -> bool {
        self.bits
            .get((line / 64) as usize)
            .is_some_and(|w| w & (1 << (line % 64)) != 0)
    }
}

/// An open journal, shared by the tasks that finish lines.
pub(crate) struct Journal {
    state: Mutex<State>,
    path: PathBuf,
}

struct State {
    file: File,
    last_sync: Instant,
    dirty: bool,
}

impl Journal {
    /// Opens (or creates) the journal of `input`, locks it against a concurrent run, and reads
    /// which lines are already done.
    pub(crate) fn open(path: &Path, input: &Path) -> Result<(Self, DoneLines), Failure> {
        let input = std::fs::canonicalize(input).map_err(|e| {
            Failure::usage(format!("cannot read the input {}: {e}", input.display()))
        })?;
        let cannot = |e: std::io::Error| {
            Failure::usage(format!("cannot open the journal {}: {e}", path.display()))
        };
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(cannot)?;
        file.try_lock().map_err(|_| {
            Failure::usage(format!(
                "the journal {} is in use by another run",
                path.display()
            ))
        })?;
        let mut done = DoneLines::default();
        let len = file.metadata().map_err(cannot)?.len();
        if len == 0 {
            let header = Header {
                journal: KIND.into(),
                version: VERSION,
                input,
            };
            let mut line =
                serde_json::to_vec(&header).map_err(|e| Failure::usage(e.to_string()))?;
            line.push(b'\n');
            file.write_all(&line).map_err(cannot)?;
        } else {
            let mut unreadable = 0u64;
            let mut lines = BufReader::new(&file).split(b'\n');
            let first = lines
                .next()
                .transpose()
                .map_err(cannot)?
                .unwrap_or_default();
            let header: Header = serde_json::from_slice(&first).map_err(|_| {
                Failure::usage(format!(
                    "{} is not a wechatpay-card bulk journal",
                    path.display()
                ))
            })?;
            if header.journal != KIND || header.version != VERSION {
                return Err(Failure::usage(format!(
                    "{} is not a wechatpay-card bulk journal (version 1)",
                    path.display()
                )));
            }
            if header.input != input {
                return Err(Failure::usage(format!(
                    "the journal {} belongs to the input {}, not {}: give that input, or another --journal",
                    path.display(),
                    header.input.display(),
                    input.display()
                )));
            }
            for line in lines {
                let line = line.map_err(cannot)?;
                match serde_json::from_slice::<Finished>(&line) {
                    Ok(Finished {
                        line,
                        outcome: Outcome::Ok,
                    }) => done.insert(line),
                    Ok(_) => {}
                    Err(_) if line.is_empty() => {}
                    Err(_) => unreadable += 1,
                }
            }
            if unreadable > 0 {
                tracing::warn!(
                    unreadable,
                    "skipped journal lines that do not parse (a record cut short)"
                );
            }
            // A record cut short must not run into the next one.
            let mut last = [0u8; 1];
            file.seek(SeekFrom::End(-1))
                .and_then(|_| file.read_exact(&mut last))
                .map_err(cannot)?;
            if last[0] != b'\n' {
                file.write_all(b"\n").map_err(cannot)?;
            }
        }
        file.sync_data().map_err(cannot)?;
        let state = State {
            file,
            last_sync: Instant::now(),
            dirty: false,
        };
        Ok((
            Self {
                state: Mutex::new(state),
                path: path.to_path_buf(),
            },
            done,
        ))
    }

    /// Appends a record: one write of one whole line.
    pub(crate) fn record(&self, record: &Record<'_>) -> Result<(), Failure> {
        let mut line = serde_json::to_vec(record).map_err(|e| self.failure(&e.to_string()))?;
        line.push(b'\n');
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state
            .file
            .write_all(&line)
            .map_err(|e| self.failure(&e.to_string()))?;
        state.dirty = true;
        if state.last_sync.elapsed() >= SYNC_INTERVAL {
            state
                .file
                .sync_data()
                .map_err(|e| self.failure(&e.to_string()))?;
            state.last_sync = Instant::now();
            state.dirty = false;
        }
        Ok(())
    }

    /// Flushes everything written to the disk.
    pub(crate) fn sync(&self) -> Result<(), Failure> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if state.dirty {
            state
                .file
                .sync_data()
                .map_err(|e| self.failure(&e.to_string()))?;
            state.dirty = false;
        }
        Ok(())
    }

    fn failure(&self, error: &str) -> Failure {
        Failure {
            code: crate::exit::OTHER,
            message: format!("cannot write the journal {}: {error}", self.path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_lines_is_a_bit_per_line() {
        let mut done = DoneLines::default();
        for line in [1, 2, 64, 65, 1_000_000, 2] {
            done.insert(line);
        }
        assert_eq!(done.bits.iter().map(|w| w.count_ones()).sum::<u32>(), 5);
        assert!(done.contains(1) && done.contains(64) && done.contains(1_000_000));
        assert!(!done.contains(3) && !done.contains(999_999) && !done.contains(5_000_000));
        assert!(done.bits.len() * 8 < 130 * 1024);
    }

    #[test]
    fn a_rerun_reads_back_ok_lines_and_survives_a_torn_record() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.jsonl");
        std::fs::write(&input, "{}\n").unwrap();
        let path = dir.path().join("journal.jsonl");
        {
            let (journal, done) = Journal::open(&path, &input).unwrap();
            assert!(!done.contains(1));
            for (line, outcome) in [
                (1, Outcome::Ok),
                (2, Outcome::Failed),
                (3, Outcome::Unverified),
                (4, Outcome::Ok),
            ] {
                let record = Record {
                    line,
                    card_id: "c",
                    code: "x",
                    outcome,
                    request_id: None,
                    attempts: None,
                    error: None,
                };
                journal.record(&record).unwrap();
            }
            journal.sync().unwrap();
        }
        // A record cut short, as a power loss could leave it.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(br#"{"line":5,"card_id":"c","co"#).unwrap();
        drop(file);

        let (journal, done) = Journal::open(&path, &input).unwrap();
        assert!(
            done.contains(1)
                && done.contains(4)
                && !done.contains(2)
                && !done.contains(3)
                && !done.contains(5)
        );
        let record = Record {
            line: 5,
            card_id: "c",
            code: "x",
            outcome: Outcome::Ok,
            request_id: None,
            attempts: None,
            error: None,
        };
        journal.record(&record).unwrap();
        drop(journal);
        let (_, done) = Journal::open(&path, &input).unwrap();
        assert!(
            done.contains(5),
            "the torn record did not swallow the next one"
        );
    }

    #[test]
    fn a_journal_belongs_to_one_input_and_one_run() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
        std::fs::write(&a, "").unwrap();
        std::fs::write(&b, "").unwrap();
        let path = dir.path().join("journal.jsonl");
        let (held, _) = Journal::open(&path, &a).unwrap();
        let busy = Journal::open(&path, &a).err().unwrap();
        assert!(
            busy.message.contains("in use by another run"),
            "{}",
            busy.message
        );
        drop(held);
        let other = Journal::open(&path, &b).err().unwrap();
        assert!(
            other.message.contains("belongs to the input"),
            "{}",
            other.message
        );
        std::fs::write(dir.path().join("not-a-journal"), "hello\n").unwrap();
        let garbage = Journal::open(&dir.path().join("not-a-journal"), &a)
            .err()
            .unwrap();
        assert!(
            garbage
                .message
                .contains("not a wechatpay-card bulk journal")
        );
    }
}
