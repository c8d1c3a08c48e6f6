//! Stand-in for another Rust component in the same firmware (see Cargo.toml).
#![no_std]

extern crate alloc;

use core::alloc::{GlobalAlloc, Layout};

extern "C" {
    fn malloc(size: usize) -> *mut u8;
    fn free(ptr: *mut u8);
}

struct Heap;

// SAFETY: blocks come from malloc (8-byte aligned on ARM EABI) and go back to free.
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() > 8 {
            return core::ptr::null_mut();
        }
        malloc(layout.size())
    }
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        free(ptr)
    }
}

#[global_allocator]
static HEAP: Heap = Heap;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}

/// Sums 0..n through a heap-allocated vector (so the allocator is linked in).
#[no_mangle]
pub extern "C" fn rust_neighbour_sum(n: u32) -> u32 {
    let v: alloc::vec::Vec<u32> = (0..n).collect();
    v.iter().sum()
}
