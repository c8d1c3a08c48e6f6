//! Bare-metal glue (feature `baremetal`, `no_std`) for firmware without RT-Thread, such as the
//! project's QEMU Cortex-M4F test firmware (`firmware/mps2-an386`).
//!
//! The firmware links a C library (newlib) and provides three C functions:
//! - `void rtonnx_console_write(const char *text, size_t len)`: prints text (not
//!   NUL-terminated);
//! - `void rtonnx_panic_hook(const char *file, size_t file_len, uint32_t line)`: called once by
//!   the panic handler after it printed the location; it must not return (reset, halt, or exit
//!   the simulator);
//! - with feature `fs`, `int rtonnx_port_errno(void)` (the C library's `errno`) and
//!   `rtonnx_port_file_size` from `port/rtonnx_port.c`, plus the C library's
//!   `open`/`read`/`close`.
//!
//! The heap is the C library's `malloc`/`realloc`/`free`. The C standard guarantees alignment
//! to `max_align_t`, which is 8 bytes on 32-bit ARM EABI and RISC-V and 16 on 64-bit targets;
//! 8 is used as the bound. Larger alignments over-allocate and keep the original pointer in
//! the word in front of the aligned block.

#[cfg(feature = "rtthread")]
compile_error!("features `baremetal` and `rtthread` exclude each other: pick one platform");

use core::alloc::{GlobalAlloc, Layout};
use core::mem::size_of;

use cty::{c_char, c_void};

use crate::platform::line::Line;

extern "C" {
    fn malloc(size: usize) -> *mut c_void;
    fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void;
    fn free(ptr: *mut c_void);
    fn rtonnx_console_write(text: *const c_char, len: usize);
    fn rtonnx_panic_hook(file: *const c_char, file_len: usize, line: u32) -> !;
    #[cfg(feature = "fs")]
    fn rtonnx_port_errno() -> cty::c_int;
}

/// Alignment that `malloc` guarantees on the targets this feature is built for.
const MALLOC_ALIGN: usize = 8;

/// The global allocator: the C library's heap.
pub struct CHeap;

impl CHeap {
    /// Allocates `layout` with an alignment above [`MALLOC_ALIGN`]: `size + align + one word`
    /// bytes, the block placed at the first aligned address at least one word in, the original
    /// pointer stored in the word before it.
    unsafe fn alloc_over_aligned(layout: Layout) -> *mut u8 {
        let word = size_of::<usize>();
        let Some(total) = layout
            .size()
            .checked_add(layout.align())
            .and_then(|t| t.checked_add(word))
        else {
            return core::ptr::null_mut();
        };
        let raw = malloc(total).cast::<u8>();
        if raw.is_null() {
            return raw;
        }
        let addr = raw as usize;
        let aligned = (addr + word + layout.align() - 1) & !(layout.align() - 1);
        let block = raw.add(aligned - addr);
        // The word before `block` lies inside the allocation (aligned - addr >= word) and is
        // word-aligned (both `aligned` and `align` are multiples of the word size).
        block.cast::<usize>().sub(1).write(addr);
        block
    }

    unsafe fn free_over_aligned(ptr: *mut u8) {
        let raw = ptr.cast::<usize>().sub(1).read();
        free(raw as *mut c_void);
    }
}

// SAFETY: malloc/realloc/free are used as the C standard defines them; blocks with an
// alignment above what malloc guarantees are over-allocated and aligned by hand, and every
// block is released the way it was obtained (dealloc receives the same layout).
unsafe impl GlobalAlloc for CHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGN {
            malloc(layout.size()).cast::<u8>()
        } else {
            Self::alloc_over_aligned(layout)
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.align() <= MALLOC_ALIGN {
            free(ptr.cast::<c_void>());
        } else {
            Self::free_over_aligned(ptr);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGN {
            return realloc(ptr.cast::<c_void>(), new_size).cast::<u8>();
        }
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return core::ptr::null_mut();
        };
        let new_ptr = Self::alloc_over_aligned(new_layout);
        if !new_ptr.is_null() {
            core::ptr::copy_nonoverlapping(ptr, new_ptr, layout.size().min(new_size));
            Self::free_over_aligned(ptr);
        }
        new_ptr
    }
}

#[cfg(not(test))]
#[global_allocator]
static HEAP: CHeap = CHeap;

/// Writes text through the firmware's `rtonnx_console_write`.
pub fn console_write(text: &str) {
    write_bytes(text.as_bytes());
}

fn write_bytes(text: &[u8]) {
    // SAFETY: pointer and length describe `text`, which the hook only reads during the call.
    unsafe { rtonnx_console_write(text.as_ptr().cast::<c_char>(), text.len()) }
}

/// Reads a whole file through the C library's POSIX API (on the test firmware, newlib's
/// `open`/`read` go to the host through semihosting).
#[cfg(feature = "fs")]
pub fn read_file(path: &str) -> crate::error::Result<alloc::vec::Vec<u8>> {
    fn errno() -> isize {
        // SAFETY: the hook only reads the C library's errno.
        unsafe { rtonnx_port_errno() as isize }
    }
    crate::platform::posix::read_file(path, errno, write_bytes)
}

/// Without the `fs` feature there is no file system to read from.
#[cfg(not(feature = "fs"))]
pub fn read_file(path: &str) -> crate::error::Result<alloc::vec::Vec<u8>> {
    let mut line = Line::new();
    line.str("rtonnx: cannot load '")
        .str(path)
        .str("': built without file system support\n");
    write_bytes(line.as_bytes());
    Err(crate::error::err(
        crate::error::ErrorCode::NotSupported,
        "built without file system support",
    ))
}

/// Prints the panic location (file and line, without `core::fmt`) and hands over to the
/// firmware's `rtonnx_panic_hook`, which does not return.
#[cfg(not(test))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let (file, line_no) = info
        .location()
        .map_or(("unknown location", 0), |l| (l.file(), l.line()));
    let mut line = Line::new();
    line.str("rtonnx: panic at ")
        .str(file)
        .str(":")
        .uint(line_no as usize)
        .str("\n");
    write_bytes(line.as_bytes());
    // SAFETY: pointer and length describe `file`, a static string; the hook never returns.
    unsafe { rtonnx_panic_hook(file.as_ptr().cast::<c_char>(), file.len(), line_no) }
}
