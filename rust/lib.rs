//! rtonnx: load ONNX models and run small CNNs on microcontrollers.
//!
//! The crate is `#![no_std]` with `alloc`. Loading reads the ONNX protobuf in place
//! ([`decode`]), compiles the graph into an execution plan with static shapes, folded
//! constants, fused operators and one memory arena ([`compile`], [`plan`]), and
//! [`runtime::Model::run`] executes it without allocating. The C API lives in [`capi`].
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable,
        clippy::indexing_slicing
    )
)]

extern crate alloc;

pub mod capi;
#[cfg(feature = "onnx")]
pub mod compile;
#[cfg(feature = "onnx")]
pub mod decode;
mod digits;
pub mod error;
mod fallible;
pub mod load;
#[cfg(feature = "cli")]
pub mod mnist;
#[cfg(feature = "npy")]
pub mod npy;
pub mod ops;
pub mod plan;
pub mod platform;
pub mod runtime;

pub use error::{Error, ErrorCode, Result};
pub use plan::{InitializerInfo, NodeInfo, Plan, Records, Target, TensorInfo};
pub use runtime::Model;
