//! The CLI's bulk input lines: the first byte picks the operation (`--op`), the rest is one
//! line, parsed as `bulk` does (JSON object, parameters, body through the request builders,
//! digest, journal lookup). The CLI is a binary: its modules are included here by path.
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
    let Some((&op, line)) = data.split_first() else {
        return;
    };
    let op = match op % 5 {
        0 => bulk::Op::Update,
        1 => bulk::Op::Invalidate,
        2 => bulk::Op::Confirm,
        3 => bulk::Op::ImportByOpenid,
        _ => bulk::Op::ImportByPhone,
    };
    let mut done = journal::DoneRequests::default();
    let _ = bulk::parse_line(op, line, &mut done);
});
