//! A fixed-size line buffer with tiny integer formatting, for messages printed by the device
//! glue (panic locations, file errors) without `core::fmt`.
//!
//! `core::fmt` costs kilobytes of code on a Cortex-M4F; these few functions cost a few hundred
//! bytes. Text that does not fit is cut at a character boundary.

/// Capacity of a [`Line`] in bytes (below RT-Thread's smallest usual `RT_CONSOLEBUF_SIZE`, 128).
pub(crate) const LINE_CAP: usize = 120;

/// A line of text being assembled on the stack.
pub(crate) struct Line {
    buf: [u8; LINE_CAP],
    len: usize,
}

impl Line {
    /// An empty line.
    pub(crate) const fn new() -> Line {
        Line {
            buf: [0; LINE_CAP],
            len: 0,
        }
    }

    /// Appends text, cutting it at a character boundary when the line is full.
    #[inline(never)]
    pub(crate) fn str(&mut self, s: &str) -> &mut Line {
        let room = LINE_CAP - self.len;
        let mut n = s.len().min(room);
        while n > 0 && !s.is_char_boundary(n) {
            n -= 1;
        }
        if let (Some(dst), Some(src)) = (
            self.buf.get_mut(self.len..self.len + n),
            s.as_bytes().get(..n),
        ) {
            dst.copy_from_slice(src);
            self.len += n;
        }
        self
    }

    /// Appends an unsigned integer in decimal. Works in the native word size, so a 32-bit
    /// MCU uses its divide instruction and no 64-bit division routine is linked.
    #[inline(never)]
    pub(crate) fn uint(&mut self, v: usize) -> &mut Line {
        let mut digits = [0u8; 20];
        let text = crate::digits::decimal(v, &mut digits).as_bytes();
        let room = LINE_CAP - self.len;
        // A number is never cut in the middle: it fits whole or is left out.
        if text.len() <= room {
            if let Some(dst) = self.buf.get_mut(self.len..self.len + text.len()) {
                dst.copy_from_slice(text);
                self.len += text.len();
            }
        }
        self
    }

    /// Appends a signed integer in decimal.
    #[cfg_attr(not(feature = "fs"), allow(dead_code))]
    pub(crate) fn int(&mut self, v: isize) -> &mut Line {
        if v < 0 {
            self.str("-");
        }
        self.uint(v.unsigned_abs())
    }

    /// The text so far (valid UTF-8: only whole characters and ASCII digits are appended).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::string::ToString;

    fn text(l: &Line) -> &str {
        core::str::from_utf8(l.as_bytes()).unwrap()
    }

    #[test]
    fn formats_integers_like_core_fmt() {
        for v in [
            0usize,
            1,
            9,
            10,
            99,
            100,
            12345,
            u32::MAX as usize,
            usize::MAX,
        ] {
            assert_eq!(text(Line::new().uint(v)), v.to_string());
        }
        for v in [0isize, -1, 7, -42, isize::MIN, isize::MAX] {
            assert_eq!(text(Line::new().int(v)), v.to_string());
        }
    }

    #[test]
    fn joins_and_cuts_at_char_boundaries() {
        let mut l = Line::new();
        l.str("panic at ").str("a.rs").str(":").uint(17);
        assert_eq!(text(&l), "panic at a.rs:17");
        let mut long = Line::new();
        long.str(&"é".repeat(100));
        assert_eq!(text(&long).len(), LINE_CAP);
        let mut odd = Line::new();
        odd.str("x").str(&"é".repeat(100));
        assert_eq!(text(&odd).len(), LINE_CAP - 1);
        assert!(text(&odd).ends_with('é'));
        // A full line drops a number whole rather than printing some of its digits.
        let mut full = Line::new();
        full.str(&"a".repeat(LINE_CAP - 2)).uint(12345);
        assert_eq!(text(&full), "a".repeat(LINE_CAP - 2));
        full.uint(42);
        assert!(text(&full).ends_with("42"));
    }
}
