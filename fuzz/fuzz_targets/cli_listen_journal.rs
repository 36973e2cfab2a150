//! The CLI's `listen --journal` file: the ids of printed notifications, one a line, read back
//! on start (`read_journal`, what `load_journal` does with the file). Over arbitrary bytes it
//! must keep no more ids than the set's capacity, none longer than a journal line, and never
//! more than `MAX_REMEMBERED_IDS`. The CLI is a binary: its modules are included here by path.
#![no_main]
#![allow(dead_code, unused_imports, unreachable_pub, clippy::all)]

#[path = "../../crates/cli/src/connection.rs"]
mod connection;
#[path = "../../crates/cli/src/exit.rs"]
mod exit;
#[path = "../../crates/cli/src/listen.rs"]
mod listen;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks a small capacity, so that forgetting the oldest ids is reached.
    let Some((&capacity, journal)) = data.split_first() else {
        return;
    };
    let capacity = usize::from(capacity % 16);
    let mut seen = listen::Seen::new(capacity);
    let skipped = listen::read_journal(std::io::Cursor::new(journal), &mut seen)
        .expect("reading from memory cannot fail");
    assert!(
        seen.len() <= capacity,
        "{} ids kept, capacity {capacity}",
        seen.len()
    );
    assert!(skipped <= journal.len());
    // The command's own set, over the same bytes: bounded by MAX_REMEMBERED_IDS.
    let mut all = listen::Seen::new(listen::MAX_REMEMBERED_IDS);
    let skipped_again = listen::read_journal(journal, &mut all).expect("reading from memory");
    assert_eq!(skipped, skipped_again);
    assert!(all.len() <= listen::MAX_REMEMBERED_IDS);
    assert!(all.len() <= journal.len());
});
