//! The CLI's bulk journal: a whole journal file (header, records, torn last record) read as
//! `bulk --journal` reads an existing one before resuming. The CLI is a binary: its modules are
//! included here by path.
#![no_main]
#![allow(dead_code, unused_imports, unreachable_pub, clippy::all)]

#[path = "../../crates/cli/src/bulk.rs"]
mod bulk;
#[path = "../../crates/cli/src/connection.rs"]
mod connection;
#[path = "../../crates/cli/src/exit.rs"]
mod exit;
#[path = "../../crates/cli/src/journal.rs"]
mod journal;
#[path = "../../crates/cli/src/plumbing.rs"]
mod plumbing;
#[path = "../../crates/cli/src/progress.rs"]
mod progress;
#[path = "../../crates/cli/src/read_back.rs"]
mod read_back;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut reader = std::io::Cursor::new(data);
    // A small bound on distinct ok requests, so that the bound's own path is reached.
    let _ = journal::read_journal(&mut reader, std::path::Path::new("fuzz.journal"), 64);
});
