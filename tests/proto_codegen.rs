//! `rust/decode/onnx_pb.rs` is prost's code for `proto/onnx.proto`, committed so that
//! building needs no protoc. This test regenerates it (prost-build with the protoc binary
//! vendored in a dev-dependency) and asserts the committed file is identical;
//! `RTONNX_UPDATE_GENERATED=1` rewrites it.

use std::path::PathBuf;

#[test]
fn committed_prost_code_matches_the_schema() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = std::env::temp_dir().join(format!("rtonnx-prost-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let protoc = protoc_bin_vendored::protoc_bin_path().unwrap();
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc);
    config.out_dir(&out);
    config
        .compile_protos(&[root.join("proto/onnx.proto")], &[root.join("proto")])
        .unwrap();
    let fresh = std::fs::read(out.join("onnx.rs")).unwrap();
    std::fs::remove_dir_all(&out).unwrap();
    let path = root.join("rust/decode/onnx_pb.rs");
    if std::env::var_os("RTONNX_UPDATE_GENERATED").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "rust/decode/onnx_pb.rs is stale: run RTONNX_UPDATE_GENERATED=1 cargo test --features reference --test proto_codegen"
    );
}
