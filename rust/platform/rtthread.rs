//! RT-Thread glue (feature `rtthread`, `no_std`): the global allocator on RT-Thread's heap,
//! the panic handler, console output through `rt_kprintf`, and model files read through
//! DFS's POSIX API (feature `fs`).
//!
//! # Why the hand-written declarations below equal `rtthread.h` for every `rtconfig`
//! Bindgen would need the BSP's generated `rtconfig.h` at `cargo` time; the declarations are
//! instead written by hand from RT-Thread 5.x's `include/rttypes.h` and `include/rtthread.h`:
//! - `rt_size_t` is `size_t` when `RT_USING_LIBC` (always on in 5.x) and not `RT_USING_NANO`,
//!   otherwise `rt_ubase_t`, which is `rt_uint32_t` on 32-bit CPUs and `rt_uint64_t` when
//!   `ARCH_CPU_64BIT` (set by every 64-bit port). Both are the pointer-sized unsigned type on
//!   every target RT-Thread supports, i.e. Rust's `usize`. In 4.x it was `rt_ubase_t` =
//!   `unsigned long`, pointer-sized as well on ILP32 and LP64.
//! - `rt_base_t`/`rt_err_t` are the pointer-sized signed type by the same rule (`isize`);
//!   `rt_bool_t` is `int`; `rt_thread_t` is a pointer; `rt_uint8_t` is `unsigned char`.
//! - `rt_kprintf` is declared variadic, as in C; its return value (`int` in 5.x, `void` in
//!   4.x) is not declared and never read, which is ABI-compatible with both.
//! - Pointer arguments and results are `void *`/`char *` in C and raw pointers here.
//!
//! The package's C glue, `port/rtonnx_port.c`, is compiled by the SConscript against the
//! BSP's real headers and checks these widths with `_Static_assert`, so a configuration where
//! one of the statements above were false would stop the build instead of miscompiling.

use core::alloc::{GlobalAlloc, Layout};

use cty::{c_char, c_int, c_uchar, c_void};

use crate::platform::line::{Line, LINE_CAP};

/// `rt_thread_t` (a pointer to `struct rt_thread`, only passed back to the kernel).
type RtThread = *mut c_void;

extern "C" {
    fn rt_malloc(size: usize) -> *mut c_void;
    fn rt_realloc(ptr: *mut c_void, size: usize) -> *mut c_void;
    fn rt_free(ptr: *mut c_void);
    fn rt_malloc_align(size: usize, align: usize) -> *mut c_void;
    fn rt_free_align(ptr: *mut c_void);
    fn rt_kprintf(fmt: *const c_char, ...);
    fn rt_thread_self() -> RtThread;
    fn rt_thread_delete(thread: RtThread) -> isize;
    fn rt_thread_detach(thread: RtThread) -> isize;
    fn rt_thread_suspend(thread: RtThread) -> isize;
    fn rt_object_is_systemobject(object: *mut c_void) -> c_int;
    fn rt_interrupt_get_nest() -> c_uchar;
    fn rt_schedule();
    #[cfg(feature = "fs")]
    fn rt_get_errno() -> isize;
    /// In `port/rtonnx_port.c`: the calling thread's free stack, 0 on success, -1 if unknown.
    fn rtonnx_port_stack_free(free: *mut usize) -> c_int;
}

/// Bytes of stack the calling thread has left, when known (not in an interrupt, not before
/// the scheduler starts).
pub(crate) fn stack_free() -> Option<usize> {
    let mut free = 0usize;
    // SAFETY: the port writes one usize through the pointer, which is valid for the call.
    (unsafe { rtonnx_port_stack_free(&mut free) } == 0).then_some(free)
}

/// Alignment every RT-Thread heap (small-mem, slab, memheap) guarantees: `RT_ALIGN_SIZE` is
/// a Kconfig integer, 8 by default, and never below 4 on any port.
const RT_MIN_ALIGN: usize = 4;

/// The global allocator: RT-Thread's system heap.
///
/// Requests with an alignment above [`RT_MIN_ALIGN`] go through `rt_malloc_align`, which
/// over-allocates and keeps the original pointer in front of the aligned block, and are freed
/// with `rt_free_align`; `dealloc` gets the same layout back, so it always picks the matching
/// free function.
pub struct RtHeap;

// SAFETY: rt_malloc/rt_free are thread-safe (the kernel heap takes its own lock), blocks come
// back with at least the alignment asked for (see above), and each block is freed with the
// function matching the one that allocated it.
unsafe impl GlobalAlloc for RtHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= RT_MIN_ALIGN {
            rt_malloc(layout.size()).cast::<u8>()
        } else {
            rt_malloc_align(layout.size(), layout.align()).cast::<u8>()
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.align() <= RT_MIN_ALIGN {
            rt_free(ptr.cast::<c_void>());
        } else {
            rt_free_align(ptr.cast::<c_void>());
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= RT_MIN_ALIGN {
            // rt_realloc keeps the old block when it fails, as GlobalAlloc requires.
            return rt_realloc(ptr.cast::<c_void>(), new_size).cast::<u8>();
        }
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return core::ptr::null_mut();
        };
        let new_ptr = self.alloc(new_layout);
        if !new_ptr.is_null() {
            core::ptr::copy_nonoverlapping(ptr, new_ptr, layout.size().min(new_size));
            self.dealloc(ptr, layout);
        }
        new_ptr
    }
}

#[cfg(not(test))]
#[global_allocator]
static HEAP: RtHeap = RtHeap;

/// Writes text to the RT-Thread console.
///
/// The text is copied in NUL-terminated pieces of at most 64 bytes and each is printed with
/// `rt_kprintf("%s", piece)`: `%.*s` is not used because the "tiny" `rt_vsnprintf` of 5.x
/// scans the argument for a NUL even when a precision is given (our strings have none) and
/// treats a precision of 0 as "no limit"; short pieces also stay below the smallest
/// `RT_CONSOLEBUF_SIZE` (128 on the STM32 BSPs), which would otherwise cut long lines. NUL bytes
/// inside the text are skipped.
pub fn console_write(text: &str) {
    write_bytes(text.as_bytes());
}

/// [`console_write`] for bytes that are known to be text (the glue's own messages).
fn write_bytes(text: &[u8]) {
    const PIECE: usize = 64;
    let mut piece = [0u8; PIECE + 1];
    let mut len = 0usize;
    for &b in text {
        if b == 0 {
            continue;
        }
        if let Some(slot) = piece.get_mut(len) {
            *slot = b;
            len += 1;
        }
        if len == PIECE {
            print_piece(&mut piece, len);
            len = 0;
        }
    }
    if len > 0 {
        print_piece(&mut piece, len);
    }
}

fn print_piece(piece: &mut [u8], len: usize) {
    if let Some(end) = piece.get_mut(len) {
        *end = 0;
        // SAFETY: the format is a NUL-terminated literal and `piece` is NUL-terminated at
        // `len`, inside the buffer; rt_kprintf only reads both.
        unsafe {
            rt_kprintf(c"%s".as_ptr(), piece.as_ptr().cast::<c_char>());
        }
    }
}

/// Reads a whole model file through DFS (`open`/`fstat`/`read`/`close`).
///
/// A missing file is `FileNotFound`, a short read `FileRead`, an empty file `EmptyModel` and a
/// failed allocation `OutOfMemory`; each prints one line on the console first.
#[cfg(feature = "fs")]
pub fn read_file(path: &str) -> crate::error::Result<alloc::vec::Vec<u8>> {
    fn errno() -> isize {
        // SAFETY: rt_get_errno has no preconditions (it falls back to a global outside threads).
        unsafe { rt_get_errno() }
    }
    crate::platform::posix::read_file(path, errno, write_bytes)
}

/// Without the `fs` feature there is no file system to read from.
#[cfg(not(feature = "fs"))]
pub fn read_file(path: &str) -> crate::error::Result<alloc::vec::Vec<u8>> {
    let mut line = Line::new();
    line.str("rtonnx: cannot load '")
        .str(path)
        .str("': built without file system support (enable the package's file option)\n");
    write_bytes(line.as_bytes());
    Err(crate::error::err(
        crate::error::ErrorCode::NotSupported,
        "built without file system support",
    ))
}

/// Prints where the panic happened (file and line, without `core::fmt`) and ends the thread
/// that panicked: a Rust panic cannot return, so the thread is deleted (dynamic threads) or
/// detached (static threads) and the scheduler switches away for good. The other threads,
/// including the shell when the panic was not in it, keep running.
#[cfg(not(test))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let mut line = Line::new();
    line.str("rtonnx: panic at ");
    match info.location() {
        Some(loc) => {
            // Keep the end of long paths: it names the file.
            let file = loc.file();
            let keep = LINE_CAP - 40;
            let mut start = file.len().saturating_sub(keep);
            while start < file.len() && !file.is_char_boundary(start) {
                start += 1;
            }
            line.str(file.get(start..).unwrap_or(file))
                .str(":")
                .uint(loc.line() as usize);
        }
        None => {
            line.str("unknown location");
        }
    }
    // SAFETY: both calls only read kernel state and have no preconditions.
    let in_isr = unsafe { rt_interrupt_get_nest() } != 0;
    // SAFETY: as above.
    let thread = unsafe { rt_thread_self() };
    if in_isr || thread.is_null() {
        line.str(", not in a thread: halted\n");
        write_bytes(line.as_bytes());
        loop {
            core::hint::spin_loop();
        }
    }
    line.str(", thread ended\n");
    write_bytes(line.as_bytes());
    // SAFETY: `thread` is the current, live thread. A thread created by rt_thread_init is a
    // "system object" and must be detached, one from rt_thread_create deleted; either call
    // puts it on the defunct list (the idle thread releases it) and rt_schedule switches away.
    unsafe {
        if rt_object_is_systemobject(thread) != 0 {
            rt_thread_detach(thread);
        } else {
            rt_thread_delete(thread);
        }
        rt_schedule();
    }
    // Only reached if the scheduler was locked: keep the thread off the CPU.
    loop {
        // SAFETY: suspending the current thread and rescheduling is always allowed in a thread.
        unsafe {
            rt_thread_suspend(thread);
            rt_schedule();
        }
    }
}
