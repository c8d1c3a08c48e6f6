//! Host (std) platform: files through `std::fs`, console through stdout.

use alloc::vec::Vec;
use std::io::{Read, Write};

use crate::error::{err, ErrorCode, Result};

/// Reads a whole model file with distinct errors for a missing file, a failed or short read,
/// an empty file and an allocation failure.
pub fn read_file(path: &str) -> Result<Vec<u8>> {
    let mut f =
        std::fs::File::open(path).map_err(|_| err(ErrorCode::FileNotFound, "").with_name(path))?;
    let size = f
        .metadata()
        .map_err(|_| err(ErrorCode::FileRead, "cannot stat").with_name(path))?
        .len();
    if size == 0 {
        return Err(err(ErrorCode::EmptyModel, "").with_name(path));
    }
    let size =
        usize::try_from(size).map_err(|_| err(ErrorCode::OutOfMemory, "").with_name(path))?;
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(size)
        .map_err(|_| err(ErrorCode::OutOfMemory, "").with_name(path))?;
    Read::by_ref(&mut f)
        .take(size as u64)
        .read_to_end(&mut bytes)
        .map_err(|_| err(ErrorCode::FileRead, "").with_name(path))?;
    if bytes.len() != size {
        return Err(err(ErrorCode::FileRead, "short read").with_name(path));
    }
    Ok(bytes)
}

/// Writes text to stdout.
pub fn console_write(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
