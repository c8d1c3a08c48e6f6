//! Copies the two keras2onnx seed models of the `structured` target from the shared data
//! directory (`$RTONNX_SHARED`, else `../../shared` from this crate) into OUT_DIR, where the
//! target embeds them; a missing file becomes an empty seed that the target skips, so the
//! fuzz crate builds without the shared data too.
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=RTONNX_SHARED");
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let shared = std::env::var_os("RTONNX_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../../shared"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    for name in ["mnist-sm.onnx", "mnist-lg.onnx"] {
        let src = shared.join("models/keras2onnx").join(name);
        println!("cargo:rerun-if-changed={}", src.display());
        let bytes = std::fs::read(&src).unwrap_or_default();
        if bytes.is_empty() {
            println!("cargo:warning=seed {} not found", src.display());
        }
        std::fs::write(out.join(format!("keras2onnx-{name}")), bytes).expect("OUT_DIR is writable");
    }
}
