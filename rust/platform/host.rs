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

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("rtonnx-host-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    #[test]
    fn each_failure_has_its_code() {
        let missing = temp("missing.onnx");
        let e = read_file(missing.to_str().unwrap()).unwrap_err();
        assert_eq!(e.code(), ErrorCode::FileNotFound);
        assert!(missing.to_str().unwrap().starts_with(e.name()));

        let empty = temp("empty.onnx");
        std::fs::write(&empty, b"").unwrap();
        let e = read_file(empty.to_str().unwrap()).unwrap_err();
        assert_eq!(e.code(), ErrorCode::EmptyModel);

        // A directory opens on Linux but cannot be read.
        let dir = temp("dir.onnx");
        std::fs::create_dir_all(&dir).unwrap();
        let e = read_file(dir.to_str().unwrap()).unwrap_err();
        assert!(matches!(
            e.code(),
            ErrorCode::FileRead | ErrorCode::FileNotFound
        ));

        let ok = temp("bytes.onnx");
        std::fs::write(&ok, [1u8, 2, 3]).unwrap();
        assert_eq!(read_file(ok.to_str().unwrap()).unwrap(), vec![1, 2, 3]);
        let _ = std::fs::remove_dir_all(ok.parent().unwrap());
    }
}
