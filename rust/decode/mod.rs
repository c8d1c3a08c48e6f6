//! ONNX protobuf decoding.
//!
//! [`model::decode_model`] is the reader used on the device: it walks the wire format in place,
//! borrowing names and tensor bytes from the model buffer. The prost-generated decoder in
//! `reference` (feature `reference`) is the reference it is tested against.

pub mod model;
mod parse;
pub mod wire;

pub use model::{decode_model, ModelDesc};
#[cfg(feature = "reference")]
pub mod reference;
