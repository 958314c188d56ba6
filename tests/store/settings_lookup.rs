//! A user's setting is looked up without allocating (`store::settings`):
//! whether a recipient blocked the sender is asked once per direct
//! recipient of a burst, on the send path, where each allocation is a
//! share of a busy server's time in `malloc`. Its own binary, because it
//! counts the allocations of this test's thread with an allocator of its
//! own.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use wachat::store::settings::Settings;

/// The system's allocator, counting the allocations of each thread.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is passed on to the system's allocator unchanged;
// the count is a thread-local `Cell` that allocates nothing itself.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn looking_a_setting_up_allocates_nothing() {
    let mut settings = Settings::default();
    settings.set("block", "bob", Some("Bob"));
    settings.set("pref", "#lab", Some("#Lab:mentions:pinned"));
    let before = allocations();
    let found = (settings.get("block", "bob"), settings.get("block", "eve"), settings.get("nope", "bob"));
    let listed = settings.of("pref").count();
    let allocated = allocations() - before;
    assert_eq!((found, listed), ((Some("Bob"), None, None), 1));
    assert_eq!(allocated, 0, "three lookups and a listing allocated {allocated} times");
}
