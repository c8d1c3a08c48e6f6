//! Platform glue: file loading and console output on the host (std) and on RT-Thread.

// Device glue (helper "firmware"): RT-Thread and bare-metal platforms, only in no_std builds.
#[cfg(all(feature = "baremetal", not(feature = "std")))]
pub mod baremetal;
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
