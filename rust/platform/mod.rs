//! Platform glue: file loading and console output on the host (std) and on RT-Thread.

// Device glue (helper "firmware"): RT-Thread and bare-metal platforms, only in no_std builds.
#[cfg(all(feature = "baremetal", not(feature = "std")))]
pub mod baremetal;
#[cfg(feature = "std")]
mod host;
#[cfg(any(feature = "rtthread", feature = "baremetal", test))]
pub(crate) mod line;
#[cfg(all(
    feature = "fs",
    any(feature = "rtthread", feature = "baremetal"),
    not(feature = "std")
))]
mod posix;
#[cfg(all(feature = "rtthread", not(feature = "std")))]
pub mod rtthread;

use alloc::vec::Vec;

use crate::error::Result;

/// Reads a whole file: std on the host, DFS on RT-Thread, newlib on bare metal (feature
/// `fs`); elsewhere [`crate::ErrorCode::NotSupported`].
pub fn read_file(path: &str) -> Result<Vec<u8>> {
    #[cfg(feature = "std")]
    {
        host::read_file(path)
    }
    #[cfg(all(not(feature = "std"), feature = "rtthread"))]
    {
        rtthread::read_file(path)
    }
    #[cfg(all(not(feature = "std"), not(feature = "rtthread"), feature = "baremetal"))]
    {
        baremetal::read_file(path)
    }
    #[cfg(not(any(feature = "std", feature = "rtthread", feature = "baremetal")))]
    {
        let _ = path;
        Err(crate::error::err(
            crate::ErrorCode::NotSupported,
            "no file system in this build",
        ))
    }
}

/// Bytes of stack the calling thread has left: known on RT-Thread (the port reads the
/// thread's stack bounds), `None` elsewhere.
pub fn stack_free() -> Option<usize> {
    #[cfg(all(not(feature = "std"), feature = "rtthread"))]
    {
        rtthread::stack_free()
    }
    #[cfg(not(all(not(feature = "std"), feature = "rtthread")))]
    {
        None
    }
}

/// Writes text to the console: stdout on the host, `rt_kprintf` on RT-Thread, the firmware's
/// hook on bare metal; nothing elsewhere.
pub fn console_write(text: &str) {
    #[cfg(feature = "std")]
    host::console_write(text);
    #[cfg(all(not(feature = "std"), feature = "rtthread"))]
    rtthread::console_write(text);
    #[cfg(all(not(feature = "std"), not(feature = "rtthread"), feature = "baremetal"))]
    baremetal::console_write(text);
    #[cfg(not(any(feature = "std", feature = "rtthread", feature = "baremetal")))]
    let _ = text;
}

/// Prints the console line of a model load that failed after its file was read: the file
/// errors print their own (`read_file`), and running out of memory while the model is
/// compiled or its plan read prints this one, on the device builds (the host's callers
/// print their errors themselves).
pub fn report_load_error(path: &str, e: &crate::error::Error) {
    #[cfg(all(any(feature = "rtthread", feature = "baremetal"), not(feature = "std")))]
    if e.code() == crate::error::ErrorCode::OutOfMemory {
        let mut line = line::Line::new();
        line.str("rtonnx: out of memory loading '")
            .str(path)
            .str("'");
        if !e.detail().is_empty() {
            line.str(": ").str(e.detail());
        }
        console_write(core::str::from_utf8(line.as_bytes()).unwrap_or("rtonnx: out of memory"));
        // Apart, so that a path too long for the line does not cost the line its end.
        console_write("\n");
    }
    #[cfg(not(all(any(feature = "rtthread", feature = "baremetal"), not(feature = "std"))))]
    let _ = (path, e);
}
