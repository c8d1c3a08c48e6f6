//! The reference decoder: prost's code generated from `proto/onnx.proto` (committed as
//! `onnx_pb.rs`, checked by `tests/proto_codegen.rs`). Host tools and tests use it to check
//! the in-place reader; it can also run on a device that has the memory for it.

/// Generated message types.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod onnx_pb {
    include!("onnx_pb.rs");
}

use crate::error::{err, Error, ErrorCode};

/// Decodes a `ModelProto` with prost (owned messages).
pub fn decode_model(bytes: &[u8]) -> Result<onnx_pb::ModelProto, Error> {
    if bytes.is_empty() {
        return Err(err(ErrorCode::EmptyModel, ""));
    }
    <onnx_pb::ModelProto as prost::Message>::decode(bytes)
        .map_err(|_| err(ErrorCode::Malformed, "prost could not decode the model"))
}
