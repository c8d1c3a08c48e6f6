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
