//! Shared helpers for the integration tests.
#![allow(dead_code)]

pub mod onnx_writer;

use std::path::PathBuf;

/// The shared data directory: `$RTONNX_SHARED`, else `<repo>/../shared`.
pub fn shared_dir() -> PathBuf {
    std::env::var_os("RTONNX_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}
