//! Error codes and messages.
//!
//! Every failure in the library is an [`Error`]: a stable numeric [`ErrorCode`] (what the C API
//! returns), a static explanation, and the name of the node or tensor involved when there is one.
//! No allocation is needed to build or format an error, so out-of-memory can be reported too.

use core::fmt;

/// Stable error codes. The C API returns them as negative `int`s; the numbers never change.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// A required pointer argument was NULL.
    NullPointer = -1,
    /// An input or output buffer length does not match the model.
    BufferLength = -2,
    /// The model file does not exist or cannot be opened.
    FileNotFound = -3,
    /// Reading the model file failed or returned fewer bytes than its size.
    FileRead = -4,
    /// The model file or buffer is empty.
    EmptyModel = -5,
    /// An allocation failed.
    OutOfMemory = -6,
    /// The bytes are not a well-formed protobuf ModelProto (truncated, bad varint, bad wire type).
    Malformed = -7,
    /// The model's IR version is missing or not supported.
    UnsupportedIrVersion = -8,
    /// The default-domain opset is missing or outside 7..=21.
    UnsupportedOpset = -9,
    /// A node uses an operator domain other than the default ONNX domain.
    UnsupportedDomain = -10,
    /// A node uses an operator this engine does not implement.
    UnsupportedOperator = -11,
    /// A tensor has an element type this engine does not support.
    UnsupportedDataType = -12,
    /// An attribute has a value this engine does not support (e.g. a Pad mode other than constant).
    UnsupportedAttribute = -13,
    /// The graph contains a cycle.
    GraphCycle = -14,
    /// A node reads a tensor that no node, input or initializer produces.
    DanglingInput = -15,
    /// Two nodes (or a node and an initializer/input) write the same tensor.
    DuplicateOutput = -16,
    /// Tensor shapes are incompatible for an operator.
    ShapeMismatch = -17,
    /// A dimension is negative, unknown where it must be known, or overflows when multiplied.
    InvalidDimension = -18,
    /// A tensor's data does not hold as many elements as its dims claim.
    DataSize = -19,
    /// The graph has no nodes, no inputs or no outputs.
    EmptyGraph = -20,
    /// A required attribute is missing or has the wrong type or an invalid value.
    InvalidAttribute = -21,
    /// An argument is invalid (e.g. an index out of range).
    InvalidArgument = -22,
    /// A built-in limit was exceeded (tensor rank, number of inputs, model size).
    LimitExceeded = -23,
    /// The operation is not available in this build (e.g. no file system).
    NotSupported = -24,
}

impl ErrorCode {
    /// Every code, in numeric order (for tables and tests).
    pub const ALL: [ErrorCode; 24] = [
        ErrorCode::NullPointer,
        ErrorCode::BufferLength,
        ErrorCode::FileNotFound,
        ErrorCode::FileRead,
        ErrorCode::EmptyModel,
        ErrorCode::OutOfMemory,
        ErrorCode::Malformed,
        ErrorCode::UnsupportedIrVersion,
        ErrorCode::UnsupportedOpset,
        ErrorCode::UnsupportedDomain,
        ErrorCode::UnsupportedOperator,
        ErrorCode::UnsupportedDataType,
        ErrorCode::UnsupportedAttribute,
        ErrorCode::GraphCycle,
        ErrorCode::DanglingInput,
        ErrorCode::DuplicateOutput,
        ErrorCode::ShapeMismatch,
        ErrorCode::InvalidDimension,
        ErrorCode::DataSize,
        ErrorCode::EmptyGraph,
        ErrorCode::InvalidAttribute,
        ErrorCode::InvalidArgument,
        ErrorCode::LimitExceeded,
        ErrorCode::NotSupported,
    ];

    /// The numeric value returned through the C API.
    pub const fn as_i32(self) -> i32 {
        self as i32
    }

    /// Maps a numeric code back to its enum value.
    pub fn from_i32(code: i32) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_i32() == code)
    }

    /// A short, NUL-free description of the code.
    pub const fn description(self) -> &'static str {
        match self {
            ErrorCode::NullPointer => "NULL pointer argument",
            ErrorCode::BufferLength => "buffer length does not match the model",
            ErrorCode::FileNotFound => "model file not found",
            ErrorCode::FileRead => "model file could not be read completely",
            ErrorCode::EmptyModel => "model file or buffer is empty",
            ErrorCode::OutOfMemory => "out of memory",
            ErrorCode::Malformed => "malformed model (not a valid ONNX protobuf)",
            ErrorCode::UnsupportedIrVersion => "unsupported ONNX IR version",
            ErrorCode::UnsupportedOpset => "unsupported opset version",
            ErrorCode::UnsupportedDomain => "unsupported operator domain",
            ErrorCode::UnsupportedOperator => "unsupported operator",
            ErrorCode::UnsupportedDataType => "unsupported tensor data type",
            ErrorCode::UnsupportedAttribute => "unsupported attribute value",
            ErrorCode::GraphCycle => "graph contains a cycle",
            ErrorCode::DanglingInput => "node reads a tensor that nothing produces",
            ErrorCode::DuplicateOutput => "tensor is produced more than once",
            ErrorCode::ShapeMismatch => "incompatible tensor shapes",
            ErrorCode::InvalidDimension => "invalid or overflowing dimension",
            ErrorCode::DataSize => "tensor data size does not match its dims",
            ErrorCode::EmptyGraph => "graph has no nodes, inputs or outputs",
            ErrorCode::InvalidAttribute => "missing or invalid attribute",
            ErrorCode::InvalidArgument => "invalid argument",
            ErrorCode::LimitExceeded => "built-in limit exceeded",
            ErrorCode::NotSupported => "not supported in this build",
        }
    }
}

/// Longest node or tensor name kept in an error (longer names are cut).
pub const ERROR_NAME_CAP: usize = 47;

/// A failure: its code, what went wrong, and the node or tensor it concerns.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Error {
    code: ErrorCode,
    detail: &'static str,
    name_len: u8,
    name: [u8; ERROR_NAME_CAP],
}

impl Error {
    /// An error with a code and a static detail message.
    pub const fn new(code: ErrorCode, detail: &'static str) -> Error {
        Error {
            code,
            detail,
            name_len: 0,
            name: [0; ERROR_NAME_CAP],
        }
    }

    /// Attaches the name of the node, operator or tensor concerned (cut to [`ERROR_NAME_CAP`]
    /// bytes at a character boundary). An existing name is kept.
    pub fn with_name(mut self, name: &str) -> Error {
        if self.name_len != 0 {
            return self;
        }
        let mut n = name.len().min(ERROR_NAME_CAP);
        while n > 0 && !name.is_char_boundary(n) {
            n -= 1;
        }
        if let (Some(dst), Some(src)) = (self.name.get_mut(..n), name.as_bytes().get(..n)) {
            dst.copy_from_slice(src);
            self.name_len = n as u8;
        }
        self
    }

    /// The error code.
    pub const fn code(&self) -> ErrorCode {
        self.code
    }

    /// The static detail message.
    pub const fn detail(&self) -> &'static str {
        self.detail
    }

    /// The node or tensor name attached to the error, or "".
    pub fn name(&self) -> &str {
        let bytes = self.name.get(..self.name_len as usize).unwrap_or(&[]);
        core::str::from_utf8(bytes).unwrap_or("")
    }
}

impl Error {
    /// Writes the message that `Display` shows ("description: detail ('name')") with
    /// `write_str` alone, so the C API reports errors without linking `core::fmt`'s
    /// formatting machinery.
    pub fn write_to(&self, w: &mut dyn fmt::Write) -> fmt::Result {
        w.write_str(self.code.description())?;
        if !self.detail.is_empty() {
            w.write_str(": ")?;
            w.write_str(self.detail)?;
        }
        if self.name_len != 0 {
            w.write_str(" ('")?;
            w.write_str(self.name())?;
            w.write_str("')")?;
        }
        Ok(())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({:?}, {})", self.code, self)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

impl From<alloc::collections::TryReserveError> for Error {
    fn from(_: alloc::collections::TryReserveError) -> Error {
        Error::new(ErrorCode::OutOfMemory, "")
    }
}

/// Result type of the library.
pub type Result<T> = core::result::Result<T, Error>;

/// Shorthand for an error with a code and detail.
pub(crate) const fn err(code: ErrorCode, detail: &'static str) -> Error {
    Error::new(code, detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::string::ToString;

    #[test]
    fn codes_round_trip_and_are_unique() {
        for (i, c) in ErrorCode::ALL.iter().enumerate() {
            assert_eq!(ErrorCode::from_i32(c.as_i32()), Some(*c));
            assert_eq!(c.as_i32(), -(i as i32) - 1);
        }
        assert_eq!(ErrorCode::from_i32(0), None);
    }

    #[test]
    fn names_are_cut_at_char_boundaries() {
        let long = "é".repeat(40);
        let e = err(ErrorCode::ShapeMismatch, "x").with_name(&long);
        assert!(e.name().len() <= ERROR_NAME_CAP);
        assert!(e.name().chars().all(|c| c == 'é'));
        assert!(e
            .to_string()
            .starts_with("incompatible tensor shapes: x ('é"));
    }
}
