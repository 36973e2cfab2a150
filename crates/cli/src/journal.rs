//! The bulk journal: one JSON line per finished input line, appended as each finishes, so that a
//! rerun knows which requests already ended ok.
//!
//! Format (JSON Lines): a header `{"journal":"wechatpay-card bulk","version":2,"input":PATH}`,
//! then one record per finished line:
//! `{"line":N,"card_id":…,"code":…,"digest":HEX,"outcome":"ok"|"failed"|"unverified",…}`, with
//! `request_id` and `attempts` when WeChat Pay answered, `resolved` (`"read back"`) when the
//! outcome ok was established by reading the card back after an answer that could not say, and
//! `error` (`status`, `code`, `message`, `request_id`) when the line did not end ok, or the
//! error a read-back resolved. `digest` identifies the request the
//! line asked for (see [`RequestDigest`]): a rerun skips a line only when a record with its
//! digest ended ok, so a journal may be reused for an edited input (or another file). `input`
//! names the input of the run that created the journal, for information only. Version 1
//! journals (records without a digest) are read, but none of their lines is skipped.
//!
//! Untrusted on reading: a record longer than [`MAX_RECORD_BYTES`] or that does not parse stops
//! the run (exit 2), except the last one, which a crash may have cut short: it is removed. The
//! memory a rerun needs is 20 bytes per distinct request that ended ok, at most
//! [`MAX_DONE`] of them.
//!
//! Durability: each record is one `write` of a whole line, done by the task that finished the
//! line before it lets go of its slot, on a file opened for appending, with no buffer in the
//! process, so a crash or a `kill -9` of the process loses at most the lines in flight, never a
//! finished one. Such a write only copies the line into the kernel's page cache (microseconds),
//! so it is done in place: handing each line to another thread cost more CPU than the write
//! (two thread wake-ups per line, about 4% of a bulk run's CPU in a profile). The flush to the
//! disk (`fdatasync`), which can take long, never runs on the async runtime's threads: a
//! dedicated thread does it at most a second after a record is written, and at the end.

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::exit::Failure;

const KIND: &str = "wechatpay-card bulk";
const VERSION: u32 = 2;
const SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// The longest journal line read back (the records written are far shorter: their strings are
/// clipped, see [`Journal::record`]).
pub(crate) const MAX_RECORD_BYTES: usize = 64 * 1024;
/// At most this many distinct ok requests are read back from a journal (20 bytes each: 200 MB).
pub(crate) const MAX_DONE: usize = 10_000_000;
/// Longest `card_id`, `code`, `request_id` or error code kept in a record, in bytes.
const MAX_FIELD_BYTES: usize = 256;
/// Longest error message kept in a record, in bytes.
const MAX_MESSAGE_BYTES: usize = 8 * 1024;

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
    #[serde(serialize_with = "clip_field")]
    pub(crate) code: String,
    #[serde(serialize_with = "clip_message")]
    pub(crate) message: String,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "clip_optional_field"
    )]
    pub(crate) request_id: Option<String>,
}

/// One finished line. Its strings are clipped when written, so that a record stays far below
/// [`MAX_RECORD_BYTES`] whatever the input line held.
#[derive(Debug, Serialize)]
pub(crate) struct Record<'a> {
    pub(crate) line: u64,
    #[serde(serialize_with = "clip_field")]
    pub(crate) card_id: &'a str,
    #[serde(serialize_with = "clip_field")]
    pub(crate) code: &'a str,
    /// The request's digest, when the line parsed far enough to have one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) digest: Option<RequestDigest>,
    pub(crate) outcome: Outcome,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "clip_optional_field"
    )]
    pub(crate) request_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) attempts: Option<u32>,
    /// How an ok outcome was established when the answer itself could not say: `read back`
    /// (the card was read with a GET and holds what was sent). Absent for a verified answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) resolved: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<ErrorRecord>,
}

/// `s`, cut at a character boundary to at most `max` bytes (an ellipsis marks the cut).
fn clip(s: &str, max: usize) -> Cow<'_, str> {
    if s.len() <= max {
        return Cow::Borrowed(s);
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…", &s[..end]))
}

fn clip_field<S: serde::Serializer, T: AsRef<str>>(s: &T, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(&clip(s.as_ref(), MAX_FIELD_BYTES))
}

fn clip_message<S: serde::Serializer, T: AsRef<str>>(s: &T, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(&clip(s.as_ref(), MAX_MESSAGE_BYTES))
}

fn clip_optional_field<S: serde::Serializer, T: AsRef<str>>(
    s: &Option<T>,
    ser: S,
) -> Result<S::Ok, S::Error> {
    match s {
        Some(s) => clip_field(s, ser),
        None => ser.serialize_none(),
    }
}

/// What identifies a request, so that a rerun skips exactly the requests that already ended ok:
/// SHA-256, truncated to 16 bytes, of a canonical form of the operation's name, its path and
/// query parameters, and its body as parsed (object keys sorted, every string and container
/// length-prefixed). Reformatting a line (whitespace, key order) keeps its digest; changing
/// any value, the operation or a parameter changes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct RequestDigest([u8; 16]);

impl RequestDigest {
    /// The digest of `operation` (e.g. `update`) with `params` (name, value) and `body`.
    pub(crate) fn new(operation: &str, params: &[(&str, &str)], body: &serde_json::Value) -> Self {
        let mut hash = Sha256::new();
        put_str(&mut hash, "wechatpay-card bulk request 1");
        put_str(&mut hash, operation);
        put_len(&mut hash, params.len());
        for (name, value) in params {
            put_str(&mut hash, name);
            put_str(&mut hash, value);
        }
        put_value(&mut hash, body);
        let full = hash.finalize();
        let mut digest = [0u8; 16];
        digest.copy_from_slice(&full[..16]);
        Self(digest)
    }

    fn from_hex(hex: &str) -> Option<Self> {
        let bytes = hex.as_bytes();
        if bytes.len() != 32 {
            return None;
        }
        let mut digest = [0u8; 16];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let text = std::str::from_utf8(pair).ok()?;
            digest[i] = u8::from_str_radix(text, 16).ok()?;
        }
        Some(Self(digest))
    }
}

impl std::fmt::Display for RequestDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl Serialize for RequestDigest {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.collect_str(self)
    }
}

fn put_len(hash: &mut Sha256, len: usize) {
    hash.update((len as u64).to_le_bytes());
}

fn put_str(hash: &mut Sha256, s: &str) {
    put_len(hash, s.len());
    hash.update(s.as_bytes());
}

/// The canonical form of a JSON value (the parser bounds its depth at 128).
fn put_value(hash: &mut Sha256, value: &serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Null => hash.update(b"n"),
        Value::Bool(b) => hash.update(if *b { b"t" } else { b"f" }),
        Value::Number(n) => {
            hash.update(b"#");
            put_str(hash, &n.to_string());
        }
        Value::String(s) => {
            hash.update(b"s");
            put_str(hash, s);
        }
        Value::Array(items) => {
            hash.update(b"a");
            put_len(hash, items.len());
            items.iter().for_each(|item| put_value(hash, item));
        }
        Value::Object(map) => {
            hash.update(b"o");
            put_len(hash, map.len());
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            for (key, value) in entries {
                put_str(hash, key);
                put_value(hash, value);
            }
        }
    }
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
    #[allow(dead_code)]
    line: u64,
    outcome: Outcome,
    #[serde(default)]
    digest: Option<String>,
}

/// The requests earlier runs finished ok, each with how many times: 20 bytes per distinct
/// request, sorted. A line is skipped when [`DoneRequests::take`] finds its request, and each
/// ok record lets one line skip: an input that repeats a request (say, a card set to A, then B,
/// then A again) sends the repetition unless it too ended ok.
#[derive(Debug, Default)]
pub(crate) struct DoneRequests {
    entries: Vec<(RequestDigest, u32)>,
    /// Whether `entries` is sorted and merged (nothing pushed since the last compaction).
    compacted: bool,
}

impl DoneRequests {
    /// Whether `digest` ended ok in an earlier run and was not taken yet; takes it.
    pub(crate) fn take(&mut self, digest: &RequestDigest) -> bool {
        match self.entries.binary_search_by(|(d, _)| d.cmp(digest)) {
            Ok(i) if self.entries[i].1 > 0 => {
                self.entries[i].1 -= 1;
                true
            }
            _ => false,
        }
    }

    /// How many ok records are still to be taken.
    #[cfg(test)]
    fn remaining(&self) -> u64 {
        self.entries.iter().map(|(_, n)| u64::from(*n)).sum()
    }

    /// Adds one ok record; `false` when `max` distinct requests are already held.
    fn push(&mut self, digest: RequestDigest, max: usize) -> bool {
        if self.entries.len() >= max {
            if !self.compacted {
                self.compact();
            }
            if let Ok(i) = self.entries.binary_search_by(|(d, _)| d.cmp(&digest)) {
                self.entries[i].1 = self.entries[i].1.saturating_add(1);
                return true;
            }
            if self.entries.len() >= max {
                return false;
            }
        }
        if self.entries.len() == self.entries.capacity() {
            // Grow by doubling, but never past the bound.
            let more = self.entries.len().max(1024).min(max - self.entries.len());
            self.entries.reserve_exact(more);
        }
        self.entries.push((digest, 1));
        self.compacted = false;
        true
    }

    /// Sorts and merges equal digests, summing their counts.
    fn compact(&mut self) {
        self.entries.sort_unstable_by_key(|entry| entry.0);
        let mut kept = 0usize;
        for i in 0..self.entries.len() {
            if kept > 0 && self.entries[kept - 1].0 == self.entries[i].0 {
                self.entries[kept - 1].1 =
                    self.entries[kept - 1].1.saturating_add(self.entries[i].1);
            } else {
                self.entries[kept] = self.entries[i];
                kept += 1;
            }
        }
        self.entries.truncate(kept);
        self.entries.shrink_to_fit();
        self.compacted = true;
    }
}

/// One line of a file read with a bound: `None` at the end.
struct BoundedLine {
    /// Ended with a newline (a last line without one may be cut short).
    complete: bool,
    /// Longer than the bound: `buf` is empty, the line was skipped without being held.
    too_long: bool,
    /// Bytes consumed, newline included.
    len: u64,
}

/// One step of reading a line with a bound, shared by the journal's reader and `bulk`'s async
/// one: takes from `available` up to the first newline into `buf` while the line stays within
/// `max` bytes (past it, `buf` is cleared and `too_long` set: the rest of the line is skipped,
/// never held). Returns the bytes to consume (the newline included) and whether the line ended.
pub(crate) fn take_line_chunk(
    available: &[u8],
    buf: &mut Vec<u8>,
    max: usize,
    too_long: &mut bool,
) -> (usize, bool) {
    let (chunk, found) = match available.iter().position(|&b| b == b'\n') {
        Some(i) => (&available[..i], Some(i + 1)),
        None => (available, None),
    };
    if !*too_long && buf.len() + chunk.len() <= max {
        buf.extend_from_slice(chunk);
    } else {
        *too_long = true;
        buf.clear();
    }
    (found.unwrap_or(available.len()), found.is_some())
}

/// Reads one line (without its newline) into `buf`, holding at most `max` bytes of it.
fn read_bounded<R: BufRead>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<BoundedLine>> {
    buf.clear();
    let (mut len, mut too_long) = (0u64, false);
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok((len > 0).then_some(BoundedLine {
                complete: false,
                too_long,
                len,
            }));
        }
        let (consumed, found) = take_line_chunk(available, buf, max, &mut too_long);
        reader.consume(consumed);
        len += consumed as u64;
        if found {
            return Ok(Some(BoundedLine {
                complete: true,
                too_long,
                len,
            }));
        }
    }
}

/// What reading an existing journal found.
pub(crate) struct Contents {
    done: DoneRequests,
    /// Where a last record cut short starts (to be removed), if there is one.
    torn_at: Option<u64>,
    /// Whether the file ends without a newline after a whole record.
    unterminated: bool,
}

/// Reads a journal: its header, then its ok records. A damaged record (other than a last
/// record cut short) is an error naming its line, as is more than `max_done` distinct ok
/// requests.
pub(crate) fn read_journal<R: BufRead>(
    reader: &mut R,
    path: &Path,
    max_done: usize,
) -> Result<Contents, Failure> {
    let cannot = |e: std::io::Error| {
        Failure::usage(format!("cannot read the journal {}: {e}", path.display()))
    };
    let damaged = |line: u64, why: &str| {
        Failure::usage(format!(
            "the journal {} is damaged at line {line}: {why}; fix or remove that line, or give another --journal",
            path.display()
        ))
    };
    let not_a_journal = || {
        Failure::usage(format!(
            "{} is not a wechatpay-card bulk journal (version 1 or 2)",
            path.display()
        ))
    };
    let mut buf = Vec::new();
    let first = read_bounded(reader, &mut buf, MAX_RECORD_BYTES).map_err(cannot)?;
    let mut offset = match first {
        Some(l) if l.complete && !l.too_long => l.len,
        _ => return Err(not_a_journal()),
    };
    let header: Header = serde_json::from_slice(&buf).map_err(|_| not_a_journal())?;
    if header.journal != KIND || !(1..=VERSION).contains(&header.version) {
        return Err(not_a_journal());
    }
    let legacy = header.version == 1;
    let mut contents = Contents {
        done: DoneRequests::default(),
        torn_at: None,
        unterminated: false,
    };
    let (mut number, mut without_digest, mut skipped) = (1u64, 0u64, 0u64);
    while let Some(line) = read_bounded(reader, &mut buf, MAX_RECORD_BYTES).map_err(cannot)? {
        number += 1;
        let start = offset;
        offset += line.len;
        let parsed = if line.too_long {
            Err(format!("a line longer than {MAX_RECORD_BYTES} bytes"))
        } else if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        } else {
            serde_json::from_slice::<Finished>(&buf).map_err(|e| format!("not a record ({e})"))
        };
        let finished = match parsed {
            Ok(finished) => finished,
            Err(_) if !line.complete => {
                // The last record, cut short by a crash: removed, its line is sent again.
                contents.torn_at = Some(start);
                break;
            }
            // Version 1 left records cut short in the middle (it ended them with a newline).
            Err(_) if legacy => {
                skipped += 1;
                continue;
            }
            Err(why) => return Err(damaged(number, &why)),
        };
        contents.unterminated = !line.complete;
        if finished.outcome != Outcome::Ok {
            continue;
        }
        let digest = match finished.digest.as_deref().map(RequestDigest::from_hex) {
            Some(Some(digest)) => digest,
            Some(None) => return Err(damaged(number, "its digest is not 32 hex digits")),
            None if legacy => {
                without_digest += 1;
                continue;
            }
            None => return Err(damaged(number, "an ok record without its digest")),
        };
        if !contents.done.push(digest, max_done) {
            return Err(Failure::usage(format!(
                "the journal {} holds more than {max_done} distinct ok requests: give another --journal",
                path.display()
            )));
        }
    }
    contents.done.compact();
    if skipped > 0 {
        tracing::warn!(skipped, "skipped version 1 journal lines that do not parse");
    }
    if without_digest > 0 {
        tracing::warn!(
            without_digest,
            "the journal was written by an earlier version: its ok lines are sent again (harmless)"
        );
    }
    Ok(contents)
}

/// An open journal, shared by the tasks that finish lines. Records are appended in place (see
/// the module's documentation); a dedicated thread flushes them to the disk.
pub(crate) struct Journal {
    shared: std::sync::Arc<Shared>,
    /// The flushing thread and how to stop it; taken by [`Journal::close`] or on drop.
    syncer: std::sync::Mutex<Option<Syncer>>,
    path: PathBuf,
}

/// What the tasks and the flushing thread share.
struct Shared {
    /// Where records go. Appends are serialized by this lock, so that a `write` cut short and
    /// finished by a second one cannot interleave with another record.
    sink: std::sync::Mutex<Box<dyn Sink>>,
    /// A record was written since the last flush.
    dirty: AtomicBool,
    /// [`Journal::close`] was called: later records fail.
    closed: AtomicBool,
    /// The first write or flush error: every later record, and the close, fail with it.
    broken: std::sync::Mutex<Option<String>>,
}

/// The flushing thread.
struct Syncer {
    /// Asks for a last flush and an answer (the first error, if any), then the thread ends.
    /// Dropping it ends the thread too, after a last flush.
    stop: mpsc::Sender<tokio::sync::oneshot::Sender<Result<(), String>>>,
    thread: std::thread::JoinHandle<()>,
}

impl Journal {
    /// Opens (or creates) a journal, locks it against a concurrent run, and reads which
    /// requests are already done. Blocking: run it off the async runtime.
    pub(crate) fn open(path: &Path, input: &Path) -> Result<(Self, DoneRequests), Failure> {
        Self::open_with_limit(path, input, MAX_DONE)
    }

    fn open_with_limit(
        path: &Path,
        input: &Path,
        max_done: usize,
    ) -> Result<(Self, DoneRequests), Failure> {
        let input = std::fs::canonicalize(input).map_err(|e| {
            Failure::usage(format!("cannot read the input {}: {e}", input.display()))
        })?;
        let cannot = |e: std::io::Error| {
            Failure::usage(format!("cannot open the journal {}: {e}", path.display()))
        };
        if std::fs::canonicalize(path).is_ok_and(|journal| journal == input) {
            // Records appended to the input would be read as lines, without end.
            return Err(Failure::usage(format!(
                "the journal {} is the input: give another --journal",
                path.display()
            )));
        }
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
        let mut done = DoneRequests::default();
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
            file.seek(SeekFrom::Start(0)).map_err(cannot)?;
            let contents = read_journal(&mut BufReader::new(&file), path, max_done)?;
            done = contents.done;
            if let Some(torn) = contents.torn_at {
                tracing::warn!(
                    "removed the journal's last record, cut short (its line is sent again)"
                );
                file.set_len(torn).map_err(cannot)?;
            } else if contents.unterminated {
                // A whole record whose newline was lost: the next one must not run into it.
                file.write_all(b"\n").map_err(cannot)?;
            }
        }
        file.sync_data().map_err(cannot)?;
        Ok((Self::start(file, path).map_err(cannot)?, done))
    }

    /// Starts the flushing thread over `sink`.
    fn start(sink: impl Sink, path: &Path) -> std::io::Result<Self> {
        let shared = std::sync::Arc::new(Shared {
            sink: std::sync::Mutex::new(Box::new(sink)),
            dirty: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            broken: std::sync::Mutex::new(None),
        });
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(SYNC_THREAD.into())
            .spawn({
                let shared = shared.clone();
                move || sync_loop(&shared, &stopped)
            })?;
        Ok(Self {
            shared,
            syncer: std::sync::Mutex::new(Some(Syncer { stop, thread })),
            path: path.to_path_buf(),
        })
    }

    /// Appends a record: one write of one whole line, done before this returns.
    pub(crate) fn record(&self, record: &Record<'_>) -> Result<(), Failure> {
        let mut line = serde_json::to_vec(record).map_err(|e| self.failure(&e.to_string()))?;
        if line.len() > MAX_RECORD_BYTES {
            return Err(self.failure("a record longer than the journal's line limit"));
        }
        line.push(b'\n');
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(self.failure("the journal is closed"));
        }
        if let Some(error) = self.shared.broken() {
            return Err(self.failure(&error));
        }
        let written = lock(&self.shared.sink).append(&line);
        self.shared.dirty.store(true, Ordering::Release);
        written.map_err(|e| {
            let error = e.to_string();
            self.shared.break_with(&error);
            self.failure(&error)
        })
    }

    /// Flushes everything written to the disk and stops the flushing thread; later records
    /// fail. The first write or flush error of the run, if any, is the answer.
    pub(crate) async fn close(&self) -> Result<(), Failure> {
        self.shared.closed.store(true, Ordering::Release);
        let syncer = lock(&self.syncer).take();
        let Some(syncer) = syncer else {
            return Err(self.failure("the journal is closed"));
        };
        let (answer, answered) = tokio::sync::oneshot::channel();
        let asked = syncer.stop.send(answer).is_ok();
        let result = match answered.await {
            Ok(result) if asked => result.map_err(|e| self.failure(&e)),
            _ => Err(self.failure("the journal's flushing thread stopped")),
        };
        // The thread has answered: it ends at once.
        let _ = syncer.thread.join();
        result
    }

    fn failure(&self, error: &str) -> Failure {
        Failure {
            code: crate::exit::OTHER,
            message: format!("cannot write the journal {}: {error}", self.path.display()),
        }
    }
}

impl Drop for Journal {
    /// Stops the flushing thread (which flushes what was written) and waits for it, so that the
    /// lock is released when the journal is dropped.
    fn drop(&mut self) {
        if let Some(Syncer { stop, thread }) = lock(&self.syncer).take() {
            drop(stop);
            let _ = thread.join();
        }
    }
}

/// Locks `mutex`; a panic while it was held (there is none: nothing in it can panic) does not
/// stop the journal.
fn lock<T: ?Sized>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Where records go: the journal's file (a probe in tests).
trait Sink: Send + 'static {
    /// One whole line (one `write` on a file opened for appending).
    fn append(&mut self, line: &[u8]) -> std::io::Result<()>;
    /// A handle on the same file for the flushing thread, so that a flush never holds up an
    /// append.
    fn flusher(&self) -> std::io::Result<Box<dyn Flush>>;
}

/// `fdatasync` of a [`Sink`]'s file.
trait Flush: Send + 'static {
    fn flush_to_disk(&mut self) -> std::io::Result<()>;
}

impl Sink for File {
    fn append(&mut self, line: &[u8]) -> std::io::Result<()> {
        self.write_all(line)
    }

    fn flusher(&self) -> std::io::Result<Box<dyn Flush>> {
        Ok(Box::new(self.try_clone()?))
    }
}

impl Flush for File {
    fn flush_to_disk(&mut self) -> std::io::Result<()> {
        self.sync_data()
    }
}

/// The flushing thread's name.
const SYNC_THREAD: &str = "bulk-journal-sync";

impl Shared {
    fn broken(&self) -> Option<String> {
        lock(&self.broken).clone()
    }

    fn break_with(&self, error: &str) {
        lock(&self.broken).get_or_insert_with(|| error.to_string());
    }

    /// Flushes to the disk when a record was written since the last flush.
    fn sync(&self, flush: &mut Option<Box<dyn Flush>>) {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return;
        }
        let Some(flush) = flush else { return };
        if let Err(e) = flush.flush_to_disk() {
            self.break_with(&e.to_string());
        }
    }
}

/// The flushing thread: every second, a flush when something was written; a last one at the
/// end.
fn sync_loop(
    shared: &Shared,
    stop: &mpsc::Receiver<tokio::sync::oneshot::Sender<Result<(), String>>>,
) {
    let mut flush = match lock(&shared.sink).flusher() {
        Ok(flush) => Some(flush),
        Err(e) => {
            shared.break_with(&format!("cannot flush it: {e}"));
            None
        }
    };
    loop {
        match stop.recv_timeout(SYNC_INTERVAL) {
            Err(mpsc::RecvTimeoutError::Timeout) => shared.sync(&mut flush),
            Ok(answer) => {
                shared.sync(&mut flush);
                let _ = answer.send(shared.broken().map_or(Ok(()), Err));
                return;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                shared.sync(&mut flush);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn digest(level: &str) -> RequestDigest {
        RequestDigest::new(
            "update",
            &[("card_id", "c"), ("user_card_code", "x")],
            &json!({"brand_id": "1004", "level": level}),
        )
    }

    fn record(line: u64, digest: Option<RequestDigest>, outcome: Outcome) -> Record<'static> {
        Record {
            line,
            card_id: "c",
            code: "x",
            digest,
            outcome,
            request_id: None,
            attempts: None,
            resolved: None,
            error: None,
        }
    }

    fn journal_with(dir: &Path, lines: &[&str]) -> (PathBuf, PathBuf) {
        let input = dir.join("in.jsonl");
        std::fs::write(&input, "{}\n").unwrap();
        let path = dir.join("journal.jsonl");
        let mut text =
            String::from(r#"{"journal":"wechatpay-card bulk","version":2,"input":"/x"}"#);
        for line in lines {
            text.push('\n');
            text.push_str(line);
        }
        std::fs::write(&path, text).unwrap();
        (path, input)
    }

    #[test]
    fn the_digest_ignores_formatting_and_sees_every_value() {
        let body: serde_json::Value =
            serde_json::from_str(r#"{ "level" : "A", "brand_id":"1004" }"#).unwrap();
        let same = RequestDigest::new(
            "update",
            &[("card_id", "c"), ("user_card_code", "x")],
            &body,
        );
        assert_eq!(same, digest("A"), "whitespace and key order do not matter");
        assert_ne!(digest("A"), digest("B"));
        let params = [("card_id", "c"), ("user_card_code", "x")];
        let body = json!({"brand_id": "1004", "level": "A"});
        assert_ne!(
            RequestDigest::new("update", &params, &body),
            RequestDigest::new("other", &params, &body)
        );
        assert_ne!(
            RequestDigest::new("update", &params, &body),
            RequestDigest::new(
                "update",
                &[("card_id", "c"), ("user_card_code", "y")],
                &body
            )
        );
        // Framing: moving bytes from one string to the next changes the digest.
        assert_ne!(
            RequestDigest::new(
                "update",
                &[("card_id", "cx"), ("user_card_code", "")],
                &body
            ),
            RequestDigest::new(
                "update",
                &[("card_id", "c"), ("user_card_code", "x")],
                &body
            )
        );
        assert_ne!(
            RequestDigest::new("update", &params, &json!({"n": 1})),
            RequestDigest::new("update", &params, &json!({"n": "1"}))
        );
        let hex = digest("A").to_string();
        assert_eq!(hex.len(), 32);
        assert_eq!(RequestDigest::from_hex(&hex), Some(digest("A")));
        assert_eq!(RequestDigest::from_hex("zz"), None);
        assert_eq!(RequestDigest::from_hex(&"é".repeat(16)), None);
    }

    #[test]
    fn done_requests_let_each_ok_record_skip_one_line() {
        let mut done = DoneRequests::default();
        for d in [digest("A"), digest("B"), digest("A")] {
            assert!(done.push(d, 10));
        }
        done.compact();
        assert_eq!(done.entries.len(), 2);
        assert!(done.take(&digest("A")) && done.take(&digest("A")));
        assert!(
            !done.take(&digest("A")),
            "two ok records skip two lines, not three"
        );
        assert!(done.take(&digest("B")) && !done.take(&digest("C")));
        assert_eq!(done.remaining(), 0);
        let mut full = DoneRequests::default();
        assert!(full.push(digest("A"), 1));
        assert!(full.push(digest("A"), 1), "equal digests merge");
        assert!(!full.push(digest("B"), 1), "the bound holds");
        let mut many = DoneRequests::default();
        for i in 0..2500 {
            assert!(many.push(digest(&i.to_string()), 2500));
            assert!(
                many.entries.capacity() <= 2500,
                "no allocation past the bound"
            );
        }
        assert!(!many.push(digest("one more"), 2500));
        assert!(many.push(digest("7"), 2500));
        many.compact();
        assert!(many.take(&digest("7")) && many.take(&digest("7")));
    }

    #[tokio::test]
    async fn a_rerun_reads_back_ok_requests_and_removes_a_torn_last_record() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.jsonl");
        std::fs::write(&input, "{}\n").unwrap();
        let path = dir.path().join("journal.jsonl");
        {
            let (journal, mut done) = Journal::open(&path, &input).unwrap();
            assert!(!done.take(&digest("1")));
            for (line, outcome) in [
                (1, Outcome::Ok),
                (2, Outcome::Failed),
                (3, Outcome::Unverified),
                (4, Outcome::Ok),
            ] {
                let d = digest(&line.to_string());
                journal.record(&record(line, Some(d), outcome)).unwrap();
                // Written at once, before any sync or close.
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(
                    text.ends_with(&format!(
                        "\"outcome\":{}}}\n",
                        serde_json::to_string(&outcome).unwrap()
                    )),
                    "{text}"
                );
            }
            journal.close().await.unwrap();
            assert!(journal.record(&record(9, None, Outcome::Failed)).is_err());
        }
        // A record cut short, as a power loss could leave it.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(br#"{"line":5,"card_id":"c","co"#).unwrap();
        drop(file);

        let (journal, mut done) = Journal::open(&path, &input).unwrap();
        assert!(done.take(&digest("1")) && done.take(&digest("4")));
        assert!(!done.take(&digest("2")) && !done.take(&digest("3")) && !done.take(&digest("5")));
        journal
            .record(&record(5, Some(digest("5")), Outcome::Ok))
            .unwrap();
        drop(journal);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.lines()
                .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
            "the torn record is gone: {text}"
        );
        let (_, mut done) = Journal::open(&path, &input).unwrap();
        assert!(
            done.take(&digest("5")),
            "the torn record did not swallow the next one"
        );
    }

    #[test]
    fn a_whole_last_record_without_its_newline_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let ok = format!(
            r#"{{"line":1,"card_id":"c","code":"x","digest":"{}","outcome":"ok"}}"#,
            digest("A")
        );
        let (path, input) = journal_with(dir.path(), &[&ok]);
        let (journal, mut done) = Journal::open(&path, &input).unwrap();
        drop(journal);
        assert!(done.take(&digest("A")));
        assert!(std::fs::read_to_string(&path).unwrap().ends_with("}\n"));
    }

    #[test]
    fn a_damaged_journal_is_a_clear_error_in_bounded_memory() {
        let dir = tempfile::tempdir().unwrap();
        let ok = |level: &str| {
            format!(
                r#"{{"line":1,"card_id":"c","code":"x","digest":"{}","outcome":"ok"}}"#,
                digest(level)
            )
        };
        // Absurd line numbers are only numbers: nothing is sized by them.
        let huge = [
            r#"{"line":18446744073709551615,"card_id":"c","code":"x","outcome":"failed"}"#
                .to_string(),
            format!(
                r#"{{"line":40000000000,"card_id":"c","code":"x","digest":"{}","outcome":"ok"}}"#,
                digest("A")
            ),
            String::new(),
        ];
        let (path, input) = journal_with(
            dir.path(),
            &huge.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let (_, mut done) = Journal::open(&path, &input).unwrap();
        assert!(done.take(&digest("A")));

        let cases: [(&[&str], &str); 5] = [
            (
                &["not json", &ok("A"), ""],
                "damaged at line 2: not a record",
            ),
            (
                &[r#"{"line":1,"card_id":"c","code":"x","outcome":"ok"}"#, ""],
                "damaged at line 2: an ok record without its digest",
            ),
            (
                &[
                    r#"{"line":1,"card_id":"c","code":"x","digest":"00","outcome":"ok"}"#,
                    "",
                ],
                "damaged at line 2: its digest is not 32 hex digits",
            ),
            (
                &[
                    r#"{"line":-1,"card_id":"c","code":"x","outcome":"ok"}"#,
                    &ok("B"),
                    "",
                ],
                "damaged at line 2",
            ),
            (
                &[&ok("A"), &"x".repeat(5 * MAX_RECORD_BYTES), ""],
                "damaged at line 3: a line longer than 65536 bytes",
            ),
        ];
        for (lines, expected) in cases {
            let (path, input) = journal_with(dir.path(), lines);
            let error = Journal::open(&path, &input).err().unwrap();
            assert_eq!(error.code, crate::exit::USAGE);
            assert!(
                error.message.contains(expected),
                "{expected}: {}",
                error.message
            );
        }
        // A last line that never ends is held no further than the bound, then removed as torn.
        let endless = "y".repeat(3 * MAX_RECORD_BYTES);
        let (path, input) = journal_with(dir.path(), &[&ok("A"), &endless]);
        let (_, mut done) = Journal::open(&path, &input).unwrap();
        assert!(done.take(&digest("A")));
        assert!(!std::fs::read_to_string(&path).unwrap().contains("yyy"));

        // More distinct ok requests than the bound: an error, not an allocation.
        let many: Vec<String> = ["A", "B", "C", "D"].iter().map(|l| ok(l)).collect();
        let mut lines: Vec<&str> = many.iter().map(String::as_str).collect();
        lines.push("");
        let (path, input) = journal_with(dir.path(), &lines);
        let error = Journal::open_with_limit(&path, &input, 3).err().unwrap();
        assert!(
            error.message.contains("more than 3 distinct ok requests"),
            "{}",
            error.message
        );
        assert!(Journal::open_with_limit(&path, &input, 4).is_ok());
    }

    #[tokio::test]
    async fn records_are_clipped_far_below_the_read_limit() {
        let dir = tempfile::tempdir().unwrap();
        let (path, input) = journal_with(dir.path(), &[""]);
        let (journal, _) = Journal::open(&path, &input).unwrap();
        let long = "\u{1}é".repeat(1 << 20);
        let error = ErrorRecord {
            status: Some(400),
            code: long.clone(),
            message: long.clone(),
            request_id: Some(long.clone()),
        };
        let record = Record {
            line: 1,
            card_id: &long,
            code: &long,
            digest: None,
            outcome: Outcome::Failed,
            request_id: Some(&long),
            attempts: None,
            resolved: None,
            error: Some(error),
        };
        journal.record(&record).unwrap();
        drop(journal);
        let text = std::fs::read_to_string(&path).unwrap();
        let last = text.lines().last().unwrap();
        assert!(last.len() < MAX_RECORD_BYTES, "{}", last.len());
        let value: serde_json::Value = serde_json::from_str(last).unwrap();
        assert!(value["card_id"].as_str().unwrap().ends_with('…'));
        assert!(Journal::open(&path, &input).is_ok());
    }

    /// What the journal did, on which thread, when.
    #[derive(Clone, Default)]
    struct Probe(std::sync::Arc<std::sync::Mutex<Vec<Event>>>);

    /// What (`write`, `sync`), the thread's name, when.
    type Event = (&'static str, String, std::time::Instant);

    impl Probe {
        fn log(&self, what: &'static str) {
            let thread = std::thread::current().name().unwrap_or("").to_string();
            self.0
                .lock()
                .unwrap()
                .push((what, thread, std::time::Instant::now()));
        }

        fn events(&self) -> Vec<Event> {
            self.0.lock().unwrap().clone()
        }
    }

    impl Sink for Probe {
        fn append(&mut self, _: &[u8]) -> std::io::Result<()> {
            self.log("write");
            Ok(())
        }

        fn flusher(&self) -> std::io::Result<Box<dyn Flush>> {
            Ok(Box::new(self.clone()))
        }
    }

    impl Flush for Probe {
        fn flush_to_disk(&mut self) -> std::io::Result<()> {
            self.log("sync");
            Ok(())
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_record_is_written_at_once_and_synced_within_a_second_off_the_runtime() {
        let probe = Probe::default();
        let journal = Journal::start(probe.clone(), Path::new("probe")).unwrap();
        let runtime_thread = std::thread::current().name().unwrap_or("").to_string();
        for line in 1..=2 {
            journal
                .record(&record(line, None, Outcome::Failed))
                .unwrap();
            let events = probe.events();
            let written = events.last().unwrap();
            assert_eq!(written.0, "write", "written when record() returns");
            // No further record comes: the thread still syncs, within a second or so.
            tokio::time::sleep(Duration::from_millis(1600)).await;
            let events = probe.events();
            let synced = events.last().unwrap();
            assert_eq!(synced.0, "sync", "{line}");
            assert!(synced.2.duration_since(written.2) <= Duration::from_millis(1500));
        }
        // Nothing new written: no sync.
        let before = probe.events().len();
        tokio::time::sleep(Duration::from_millis(1300)).await;
        assert_eq!(probe.events().len(), before);
        journal.record(&record(3, None, Outcome::Failed)).unwrap();
        journal.close().await.unwrap();
        let events = probe.events();
        assert_eq!(events.last().unwrap().0, "sync", "the close syncs");
        assert_eq!(events.iter().filter(|e| e.0 == "write").count(), 3);
        for (what, thread, _) in &events {
            match *what {
                "sync" => assert_eq!(thread, SYNC_THREAD, "no fdatasync on the runtime"),
                _ => assert_eq!(thread, &runtime_thread, "written in place"),
            }
        }
        assert!(journal.record(&record(4, None, Outcome::Failed)).is_err());
    }

    /// A disk that fails every `fdatasync`.
    struct FailingSync;

    impl Sink for FailingSync {
        fn append(&mut self, _: &[u8]) -> std::io::Result<()> {
            Ok(())
        }

        fn flusher(&self) -> std::io::Result<Box<dyn Flush>> {
            Ok(Box::new(FailingSync))
        }
    }

    impl Flush for FailingSync {
        fn flush_to_disk(&mut self) -> std::io::Result<()> {
            Err(std::io::Error::other("disk on fire"))
        }
    }

    #[tokio::test]
    async fn a_failed_sync_fails_the_next_record_and_the_close() {
        let journal = Journal::start(FailingSync, Path::new("j")).unwrap();
        journal.record(&record(1, None, Outcome::Failed)).unwrap();
        tokio::time::sleep(Duration::from_millis(1300)).await;
        let error = journal
            .record(&record(2, None, Outcome::Failed))
            .err()
            .unwrap();
        assert!(error.message.contains("disk on fire"), "{}", error.message);
        assert_eq!(error.code, crate::exit::OTHER);
        assert!(journal.close().await.is_err());
    }

    /// A disk that refuses every write.
    struct FailingWrite;

    impl Sink for FailingWrite {
        fn append(&mut self, _: &[u8]) -> std::io::Result<()> {
            Err(std::io::Error::other("no space left"))
        }

        fn flusher(&self) -> std::io::Result<Box<dyn Flush>> {
            Ok(Box::new(FailingSync))
        }
    }

    #[tokio::test]
    async fn a_failed_write_fails_its_record_every_later_one_and_the_close() {
        let journal = Journal::start(FailingWrite, Path::new("j")).unwrap();
        for line in 1..=2 {
            let error = journal
                .record(&record(line, None, Outcome::Failed))
                .err()
                .unwrap();
            assert!(error.message.contains("no space left"), "{}", error.message);
        }
        let error = journal.close().await.err().unwrap();
        assert!(error.message.contains("no space left"), "{}", error.message);
    }

    #[test]
    fn a_journal_serves_one_run_at_a_time_and_any_input() {
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
        // An edited or renamed input may reuse the journal: only exact requests are skipped.
        assert!(Journal::open(&path, &b).is_ok());
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

    #[test]
    fn a_version_1_journal_is_read_but_skips_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.jsonl");
        std::fs::write(&input, "{}\n").unwrap();
        let path = dir.path().join("journal.jsonl");
        std::fs::write(
            &path,
            "{\"journal\":\"wechatpay-card bulk\",\"version\":1,\"input\":\"/x\"}\n\
             {\"line\":1,\"card_id\":\"c\",\"code\":\"x\",\"outcome\":\"ok\"}\n\
             {\"line\":2,\"card_id\":\"c\",\"co\n",
        )
        .unwrap();
        let (_, done) = Journal::open(&path, &input).unwrap();
        assert!(done.entries.is_empty());
    }
}
