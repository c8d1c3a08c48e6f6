//! Error reporting of the C API: the caller's `onnx_error_t` and `onnx_strerror`.

use core::ffi::{c_char, c_int};

use super::{onnx_error_t, OK};
use crate::error::{Error, ErrorCode};

/// The caller's error struct of an `_ex` function, if any.
///
/// # Safety
/// A non-NULL `out` must point to a writable `onnx_error_t` that nothing else uses during
/// the call.
pub(super) unsafe fn error_slot<'e>(out: *mut onnx_error_t) -> Option<&'e mut onnx_error_t> {
    // SAFETY: caller contract above.
    unsafe { out.as_mut() }
}

/// Writes `e` into the caller's error struct (if any) and returns its code.
pub(super) fn report(out: Option<&mut onnx_error_t>, e: &Error) -> c_int {
    if let Some(o) = out {
        o.code = e.code().as_i32();
        let mut w = CBuf {
            buf: &mut o.message,
            len: 0,
            full: false,
        };
        let _ = e.write_to(&mut w);
        let end = w.len;
        if let Some(slot) = o.message.get_mut(end) {
            *slot = 0;
        }
    }
    e.code().as_i32()
}

/// Marks the caller's error struct (if any) as "no error": code 0, empty message.
pub(super) fn clear(out: Option<&mut onnx_error_t>) {
    if let Some(o) = out {
        o.code = OK;
        if let Some(first) = o.message.first_mut() {
            *first = 0;
        }
    }
}

/// Truncating writer into a C char array: keeps one byte for the NUL and cuts only between
/// characters, so the message stays valid UTF-8.
struct CBuf<'b> {
    buf: &'b mut [c_char],
    len: usize,
    full: bool,
}

impl core::fmt::Write for CBuf<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = self.buf.len().saturating_sub(1);
        for ch in s.chars() {
            let mut utf8 = [0u8; 4];
            let bytes = ch.encode_utf8(&mut utf8).as_bytes();
            if self.full || self.len + bytes.len() > room {
                self.full = true;
                break;
            }
            for &b in bytes {
                if let Some(slot) = self.buf.get_mut(self.len) {
                    *slot = b as c_char;
                    self.len += 1;
                }
            }
        }
        Ok(())
    }
}

/// A static, NUL-terminated description of a code (0 is "ok"; unknown codes say so).
#[no_mangle]
pub extern "C" fn onnx_strerror(code: c_int) -> *const c_char {
    let text = match ErrorCode::from_i32(code) {
        None if code == 0 => "ok\0",
        None => "unknown error code\0",
        Some(c) => c.description_nul(),
    };
    text.as_ptr().cast::<c_char>()
}
