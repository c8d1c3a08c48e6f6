//! Error codes and messages.
//!
//! Every failure in the library is an [`Error`]: a stable numeric [`ErrorCode`] (what the C API
//! returns), a static explanation, and the name of the node or tensor involved when there is one.
//! No allocation is needed to build or format an error, so out-of-memory can be reported too.

use core::fmt;

/// Declares the error codes from one table: per code its documentation, its stable number,
/// its C name and its description. The enum, [`ErrorCode::ALL`], the descriptions (which
/// `onnx_strerror` returns and messages start with) and the `ONNX_ERR_*` block of
/// `c_api/rtonnx.h` (written by tests/c_header.rs from [`ErrorCode::c_defines`]) all come from it.
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $value:literal, $c_name:ident, $text:literal;)*) => {
        /// Stable error codes. The C API returns them as negative `int`s (`ONNX_ERR_*`); the
        /// numbers never change.
        #[repr(i32)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum ErrorCode {
            $($(#[doc = $doc])* $variant = $value,)*
        }

        impl ErrorCode {
            /// Every code, in numeric order (for tables and tests).
            pub const ALL: [ErrorCode; [$($value),*].len()] = [$(ErrorCode::$variant),*];

            /// The description, NUL-terminated (for the C API).
            pub const fn description_nul(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => concat!($text, "\0"),)*
                }
            }

            /// The code's C name, `ONNX_ERR_...`.
            pub const fn c_name(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => stringify!($c_name),)*
                }
            }

            /// The documentation of the code, one line per line of its doc comment.
            pub const fn doc(self) -> &'static [&'static str] {
                match self {
                    $(ErrorCode::$variant => &[$($doc),*],)*
                }
            }
        }
    };
}

error_codes! {
    /// A required pointer argument was NULL.
    NullPointer = -1, ONNX_ERR_NULL_POINTER, "NULL pointer argument";
    /// An input or output buffer length does not match the model.
    BufferLength = -2, ONNX_ERR_BUFFER_LENGTH, "buffer length does not match the model";
    /// The model file does not exist or cannot be opened.
    FileNotFound = -3, ONNX_ERR_FILE_NOT_FOUND, "model file not found";
    /// Reading the model file failed or returned fewer bytes than its size.
    FileRead = -4, ONNX_ERR_FILE_READ, "model file could not be read completely";
    /// The model file or buffer is empty.
    EmptyModel = -5, ONNX_ERR_EMPTY_MODEL, "model file or buffer is empty";
    /// An allocation failed.
    OutOfMemory = -6, ONNX_ERR_OUT_OF_MEMORY, "out of memory";
    /// The bytes are not a well-formed ONNX protobuf ModelProto or compiled plan (truncated,
    /// bad varint, bad wire type, bad plan table).
    Malformed = -7, ONNX_ERR_MALFORMED, "malformed model (not a valid ONNX protobuf or compiled plan)";
    /// The model's IR version is missing or not supported.
    UnsupportedIrVersion = -8, ONNX_ERR_UNSUPPORTED_IR_VERSION, "unsupported ONNX IR version";
    /// The default-domain opset is missing or outside the range this engine accepts
    /// (docs/engine.md).
    UnsupportedOpset = -9, ONNX_ERR_UNSUPPORTED_OPSET, "unsupported opset version";
    /// A node uses an operator domain other than the default ONNX domain.
    UnsupportedDomain = -10, ONNX_ERR_UNSUPPORTED_DOMAIN, "unsupported operator domain";
    /// A node uses an operator this engine does not implement.
    UnsupportedOperator = -11, ONNX_ERR_UNSUPPORTED_OPERATOR, "unsupported operator";
    /// A tensor has an element type this engine does not support.
    UnsupportedDataType = -12, ONNX_ERR_UNSUPPORTED_DATA_TYPE, "unsupported tensor data type";
    /// An attribute has a value this engine does not support (e.g. a Pad mode other than
    /// constant).
    UnsupportedAttribute = -13, ONNX_ERR_UNSUPPORTED_ATTRIBUTE, "unsupported attribute value";
    /// The graph contains a cycle.
    GraphCycle = -14, ONNX_ERR_GRAPH_CYCLE, "graph contains a cycle";
    /// A node reads a tensor that no node, input or initializer produces.
    DanglingInput = -15, ONNX_ERR_DANGLING_INPUT, "node reads a tensor that nothing produces";
    /// Two nodes (or a node and an initializer/input) write the same tensor.
    DuplicateOutput = -16, ONNX_ERR_DUPLICATE_OUTPUT, "tensor is produced more than once";
    /// Tensor shapes are incompatible for an operator.
    ShapeMismatch = -17, ONNX_ERR_SHAPE_MISMATCH, "incompatible tensor shapes";
    /// A dimension is negative, unknown where it must be known, or overflows when multiplied.
    InvalidDimension = -18, ONNX_ERR_INVALID_DIMENSION, "invalid or overflowing dimension";
    /// A tensor's data does not hold as many elements as its dims claim.
    DataSize = -19, ONNX_ERR_DATA_SIZE, "tensor data size does not match its dims";
    /// The graph has no nodes, no inputs or no outputs.
    EmptyGraph = -20, ONNX_ERR_EMPTY_GRAPH, "graph has no nodes, inputs or outputs";
    /// A required attribute is missing or has the wrong type or an invalid value.
    InvalidAttribute = -21, ONNX_ERR_INVALID_ATTRIBUTE, "missing or invalid attribute";
    /// An argument is invalid (e.g. an index out of range).
    InvalidArgument = -22, ONNX_ERR_INVALID_ARGUMENT, "invalid argument";
    /// A built-in limit was exceeded (tensor rank, number of inputs, model size).
    LimitExceeded = -23, ONNX_ERR_LIMIT_EXCEEDED, "built-in limit exceeded";
    /// The operation is not available in this build (e.g. no file system).
    NotSupported = -24, ONNX_ERR_NOT_SUPPORTED, "not supported in this build";
    /// The calling thread's stack has less room than the call needs (checked on RT-Thread,
    /// where the message says how many bytes it needs and has).
    StackTooSmall = -25, ONNX_ERR_STACK_TOO_SMALL, "the calling thread's stack is too small";
}

impl ErrorCode {
    /// The numeric value returned through the C API.
    pub const fn as_i32(self) -> i32 {
        self as i32
    }

    /// Maps a numeric code back to its enum value.
    pub fn from_i32(code: i32) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_i32() == code)
    }

    /// A short, NUL-free description of the code.
    pub fn description(self) -> &'static str {
        let s = self.description_nul();
        s.get(..s.len().saturating_sub(1)).unwrap_or("")
    }

    /// The `#define`s of `c_api/rtonnx.h` for every code (and `ONNX_OK`), with their
    /// documentation, as cbindgen writes constants.
    #[cfg(feature = "std")]
    pub fn c_defines() -> std::string::String {
        let mut s = std::string::String::from("/*\n Success.\n */\n#define ONNX_OK 0\n");
        for c in ErrorCode::ALL {
            s.push_str("\n/*\n");
            for line in c.doc() {
                s.push_str(line);
                s.push('\n');
            }
            s.push_str(" */\n#define ");
            s.push_str(c.c_name());
            s.push(' ');
            s.push_str(&std::format!("{}", c.as_i32()));
            s.push('\n');
        }
        s
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
    /// Bytes a call needs and the bytes there are (a stack too small), or (0, 0).
    sizes: (u32, u32),
}

impl Error {
    /// An error with a code and a static detail message.
    pub const fn new(code: ErrorCode, detail: &'static str) -> Error {
        Error {
            code,
            detail,
            name_len: 0,
            name: [0; ERROR_NAME_CAP],
            sizes: (0, 0),
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

    /// Attaches the bytes a call needs and the bytes available (shown as "needs N B, has M B").
    pub const fn with_sizes(mut self, need: u32, have: u32) -> Error {
        self.sizes = (need, have);
        self
    }

    /// The bytes needed and available attached by [`Error::with_sizes`], if any.
    pub const fn sizes(&self) -> Option<(u32, u32)> {
        if self.sizes.0 == 0 {
            None
        } else {
            Some(self.sizes)
        }
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
        if let Some((need, have)) = self.sizes() {
            let mut buf = [0u8; 20];
            w.write_str(": needs ")?;
            w.write_str(crate::digits::decimal(need as usize, &mut buf))?;
            w.write_str(" B, has ")?;
            w.write_str(crate::digits::decimal(have as usize, &mut buf))?;
            w.write_str(" B")?;
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

/// A failure without a name or sizes: its code and static detail, 12 bytes on a 32-bit
/// target where an [`Error`] takes 68. The run path (steps and their operands) and the plan
/// reader return it, so that the frames on the device's stack that hold a result stay small;
/// `?` turns it into an [`Error`] where a function returns one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The error code.
    pub code: ErrorCode,
    /// The static detail message.
    pub detail: &'static str,
}

impl From<Fault> for Error {
    #[inline]
    fn from(f: Fault) -> Error {
        Error::new(f.code, f.detail)
    }
}

impl From<alloc::collections::TryReserveError> for Fault {
    fn from(_: alloc::collections::TryReserveError) -> Fault {
        fault(ErrorCode::OutOfMemory, "")
    }
}

/// Result type of the functions that fail with a [`Fault`].
pub type FaultResult<T> = core::result::Result<T, Fault>;

/// Shorthand for a [`Fault`] with a code and detail.
pub(crate) const fn fault(code: ErrorCode, detail: &'static str) -> Fault {
    Fault { code, detail }
}

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
    fn sizes_are_written_in_decimal() {
        let e = err(ErrorCode::StackTooSmall, "load").with_sizes(4096, 1000);
        assert_eq!(
            e.to_string(),
            "the calling thread's stack is too small: load: needs 4096 B, has 1000 B"
        );
        assert_eq!(e.sizes(), Some((4096, 1000)));
        assert_eq!(
            err(ErrorCode::StackTooSmall, "")
                .with_sizes(7, 0)
                .to_string(),
            "the calling thread's stack is too small: needs 7 B, has 0 B"
        );
        assert_eq!(err(ErrorCode::OutOfMemory, "").sizes(), None);
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
