//! Reading a whole model file through the POSIX file API of a device C library: RT-Thread's
//! DFS (`open`/`read`/`close` from `dfs_posix.c`) or newlib on bare metal.
//!
//! The file size comes from `fstat`, called in the package's C glue (`port/rtonnx_port.c`,
//! `rtonnx_port_file_size`) because `struct stat` differs between C libraries and
//! configurations; the C compiler knows the real layout, Rust would have to guess it.
//!
//! # Why these hand-written declarations match the C headers on every configuration
//! - `int open(const char *, int, ...)`: DFS v1 and v2 define `open` as a real variadic
//!   function with exactly this prototype, as POSIX does; it is declared variadic here too, so
//!   the call follows the variadic calling convention on every target. `O_RDONLY` is 0 in
//!   every C library RT-Thread builds with (newlib, musl, picolibc, the host's).
//! - `ssize_t read(int, void *, size_t)`: `size_t` and `ssize_t` are pointer-sized on every
//!   target RT-Thread supports (ILP32 ARM/RISC-V, LP64 AArch64/RISC-V64/x86-64), hence
//!   `usize`/`isize`; `port/rtonnx_port.c` checks both widths with `_Static_assert` when the
//!   package is compiled, so a configuration where this does not hold fails to build.
//! - `int close(int)`: plain `int`, which is 32-bit on every such target (also asserted).

use alloc::vec::Vec;

use cty::{c_char, c_int, c_void};

use crate::error::{err, ErrorCode, Result};
use crate::platform::line::Line;

/// Prints one error line: what failed, and optionally a named number (errno, byte count).
type Report<'a> = dyn Fn(&str, Option<(&str, isize)>) + 'a;

/// `O_RDONLY` (0 in newlib, musl, picolibc and glibc; asserted in the C glue).
const O_RDONLY: c_int = 0;

extern "C" {
    fn open(path: *const c_char, flags: c_int, ...) -> c_int;
    fn read(fd: c_int, buf: *mut c_void, len: usize) -> isize;
    fn close(fd: c_int) -> c_int;
    /// In `port/rtonnx_port.c`: `int rtonnx_port_file_size(int fd, size_t *size)`, 0 on
    /// success, -1 when `fstat` fails or the size does not fit in `size_t`.
    fn rtonnx_port_file_size(fd: c_int, size: *mut usize) -> c_int;
}

/// Reads the whole file at `path`.
///
/// Errors, each reported with one line through `print`:
/// a missing or unopenable file is `FileNotFound`; `fstat` failing, a read error or a read
/// that ends before the size `fstat` gave is `FileRead`; a zero-length file is `EmptyModel`;
/// no memory for the path or the contents is `OutOfMemory`; a path with a NUL byte is
/// `InvalidArgument`. `errno` reads the C library's error number for the message.
pub(crate) fn read_file(path: &str, errno: fn() -> isize, print: fn(&[u8])) -> Result<Vec<u8>> {
    let report = |what: &str, value: Option<(&str, isize)>| {
        let mut line = Line::new();
        line.str("rtonnx: ").str(what).str(" '").str(path).str("'");
        if let Some((name, v)) = value {
            line.str(" (").str(name).str(" ").int(v).str(")");
        }
        line.str("\n");
        print(line.as_bytes());
    };

    if path.as_bytes().contains(&0) {
        report("model path contains a NUL byte:", None);
        return Err(err(ErrorCode::InvalidArgument, "path contains a NUL byte"));
    }
    let mut cpath: Vec<u8> = Vec::new();
    if cpath.try_reserve_exact(path.len() + 1).is_err() {
        report("out of memory for the path of", None);
        return Err(err(ErrorCode::OutOfMemory, "no memory for the file path"));
    }
    cpath.extend_from_slice(path.as_bytes());
    cpath.push(0);

    // SAFETY: `cpath` is a NUL-terminated byte string that outlives the call; `open` only
    // reads it. The variadic mode argument is not needed without O_CREAT.
    let fd = unsafe { open(cpath.as_ptr().cast::<c_char>(), O_RDONLY) };
    if fd < 0 {
        report("cannot open model file", Some(("errno", errno())));
        return Err(err(ErrorCode::FileNotFound, "cannot open the model file"));
    }
    let result = read_open_file(fd, &report);
    // SAFETY: `fd` was returned by a successful `open` and is closed exactly once.
    unsafe {
        close(fd);
    }
    result
}

fn read_open_file(fd: c_int, report: &Report<'_>) -> Result<Vec<u8>> {
    let mut size: usize = 0;
    // SAFETY: `fd` is open and `size` is a valid, writable `size_t`.
    if unsafe { rtonnx_port_file_size(fd, &mut size) } != 0 {
        report("cannot get the size of model file", None);
        return Err(err(ErrorCode::FileRead, "fstat failed"));
    }
    if size == 0 {
        report("model file is empty:", None);
        return Err(err(ErrorCode::EmptyModel, "the model file is empty"));
    }
    let mut data: Vec<u8> = Vec::new();
    if data.try_reserve_exact(size).is_err() {
        report(
            "out of memory for model file",
            Some(("bytes", size as isize)),
        );
        return Err(err(
            ErrorCode::OutOfMemory,
            "no memory for the model file contents",
        ));
    }
    let mut filled = 0usize;
    while filled < size {
        let want = size - filled;
        // SAFETY: the vector has capacity for `size` bytes and `filled < size`, so the
        // destination range `filled..size` lies inside its allocation; `read` writes at most
        // `want` bytes there.
        let n = unsafe { read(fd, data.as_mut_ptr().add(filled).cast::<c_void>(), want) };
        if n < 0 {
            report("read error on model file", Some(("result", n)));
            return Err(err(ErrorCode::FileRead, "read failed"));
        }
        if n == 0 {
            report(
                "short read (file shorter than its size) on",
                Some(("bytes read", filled as isize)),
            );
            return Err(err(ErrorCode::FileRead, "file ended before its size"));
        }
        filled += (n as usize).min(want);
    }
    // SAFETY: `read` initialised bytes `0..filled` and `filled == size <= capacity`.
    unsafe {
        data.set_len(filled);
    }
    Ok(data)
}
