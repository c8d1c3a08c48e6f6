//! Protobuf wire format primitives over a borrowed byte slice.
//!
//! Every read is bounds-checked and returns [`ErrorCode::Malformed`] on truncated or invalid
//! input; nothing here allocates.

use crate::error::{err, Error, ErrorCode, Result};

/// The wire types protobuf uses (groups, 3 and 4, are obsolete and rejected).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireType {
    /// Variable-length integer.
    Varint,
    /// Eight little-endian bytes.
    Fixed64,
    /// Length-delimited bytes (strings, messages, packed repeated fields).
    Len,
    /// Four little-endian bytes.
    Fixed32,
    /// Start of a (deprecated) group: only skipped, as part of an unknown field.
    StartGroup,
    /// End of a group.
    EndGroup,
}

/// Deepest nesting of groups skipped inside one field.
pub const MAX_GROUP_DEPTH: usize = 64;

const fn malformed(detail: &'static str) -> Error {
    err(ErrorCode::Malformed, detail)
}

/// A cursor over one protobuf message's bytes.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`.
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    /// True when every byte has been consumed.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Reads a base-128 varint (at most 10 bytes).
    #[inline]
    pub fn varint(&mut self) -> Result<u64> {
        // Field keys, lengths and most values fit one byte: that case stays inline.
        if let Some(&byte) = self.buf.get(self.pos) {
            if byte & 0x80 == 0 {
                self.pos += 1;
                return Ok(u64::from(byte));
            }
        }
        self.varint_long()
    }

    /// [`Reader::varint`] past its one-byte case.
    #[inline(never)]
    fn varint_long(&mut self) -> Result<u64> {
        let mut value: u64 = 0;
        for i in 0..10 {
            let byte = *self
                .buf
                .get(self.pos)
                .ok_or_else(|| malformed("truncated varint"))?;
            self.pos += 1;
            let bits = u64::from(byte & 0x7f);
            if i == 9 && byte > 1 {
                return Err(malformed("varint overflows 64 bits"));
            }
            value |= bits << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(malformed("varint longer than 10 bytes"))
    }

    /// Reads a field key: the field number and its wire type.
    #[inline]
    pub fn key(&mut self) -> Result<(u32, WireType)> {
        let key = self.varint()?;
        let field = key >> 3;
        if field == 0 || field > 0x1fff_ffff {
            return Err(malformed("invalid field number"));
        }
        let wire = match key & 7 {
            0 => WireType::Varint,
            1 => WireType::Fixed64,
            2 => WireType::Len,
            5 => WireType::Fixed32,
            3 => WireType::StartGroup,
            4 => WireType::EndGroup,
            _ => return Err(malformed("unsupported wire type")),
        };
        Ok((field as u32, wire))
    }

    /// Reads `n` raw bytes.
    #[inline]
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| malformed("length overflow"))?;
        let bytes = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| malformed("truncated field"))?;
        self.pos = end;
        Ok(bytes)
    }

    /// Reads a length-delimited field's bytes.
    #[inline]
    pub fn bytes(&mut self) -> Result<&'a [u8]> {
        let len = self.varint()?;
        let len = usize::try_from(len).map_err(|_| malformed("length overflow"))?;
        self.take(len)
    }

    /// Reads four little-endian bytes.
    pub fn fixed32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        let mut a = [0u8; 4];
        a.copy_from_slice(b);
        Ok(u32::from_le_bytes(a))
    }

    /// Reads eight little-endian bytes.
    pub fn fixed64(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// Skips a field's value of the given wire type (a group needs [`Reader::skip_field`]).
    pub fn skip(&mut self, wire: WireType) -> Result<()> {
        match wire {
            WireType::Varint => self.varint().map(|_| ()),
            WireType::Fixed64 => self.take(8).map(|_| ()),
            WireType::Len => self.bytes().map(|_| ()),
            WireType::Fixed32 => self.take(4).map(|_| ()),
            WireType::StartGroup | WireType::EndGroup => Err(malformed("unexpected group")),
        }
    }

    /// Skips an unknown field, including a group (up to [`MAX_GROUP_DEPTH`] nested groups,
    /// each closed by the end tag of its own field number).
    pub fn skip_field(&mut self, field: u32, wire: WireType) -> Result<()> {
        if wire != WireType::StartGroup {
            return self.skip(wire);
        }
        let mut open = [0u32; MAX_GROUP_DEPTH];
        let mut depth = 1;
        open[0] = field;
        while depth > 0 {
            let (f, w) = self.key()?;
            match w {
                WireType::StartGroup => {
                    let slot = open
                        .get_mut(depth)
                        .ok_or_else(|| malformed("groups nested too deeply"))?;
                    *slot = f;
                    depth += 1;
                }
                WireType::EndGroup => {
                    if open.get(depth - 1) != Some(&f) {
                        return Err(malformed("unmatched end group"));
                    }
                    depth -= 1;
                }
                other => self.skip(other)?,
            }
        }
        Ok(())
    }
}

/// Checks the wire type of a known field.
pub fn expect(wire: WireType, want: WireType) -> Result<()> {
    if wire == want {
        Ok(())
    } else {
        Err(malformed("field has the wrong wire type"))
    }
}

/// Interprets bytes as UTF-8 (protobuf `string`).
pub fn utf8(bytes: &[u8]) -> Result<&str> {
    core::str::from_utf8(bytes).map_err(|_| malformed("string is not UTF-8"))
}

/// A little-endian `f32` from a 4-byte slice (from `chunks_exact(4)`); any other length,
/// which callers never pass, reads as 0.0 instead of panicking.
pub(crate) fn f32_le(bytes: &[u8]) -> f32 {
    bytes.try_into().map(f32::from_le_bytes).unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        let mut r = Reader::new(&[0x96, 0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert_eq!(r.varint().unwrap(), 150);
        assert_eq!(r.varint().unwrap(), 0);
        assert_eq!(r.varint().unwrap(), 0xffff_ffff);
        assert!(r.is_empty());
        assert_eq!(
            Reader::new(&[0x80]).varint().unwrap_err().code(),
            ErrorCode::Malformed
        );
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(Reader::new(&max).varint().unwrap(), u64::MAX);
        let over = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert!(Reader::new(&over).varint().is_err());
        assert!(Reader::new(&[0xff; 11]).varint().is_err());
    }

    #[test]
    fn keys_and_lengths() {
        let mut r = Reader::new(&[0x0a, 0x03, b'a', b'b', b'c', 0x15, 1, 2, 3, 4]);
        assert_eq!(r.key().unwrap(), (1, WireType::Len));
        assert_eq!(r.bytes().unwrap(), b"abc");
        assert_eq!(r.key().unwrap(), (2, WireType::Fixed32));
        assert_eq!(r.fixed32().unwrap(), 0x0403_0201);
        assert!(Reader::new(&[0x0a, 0x05, 1]).skip(WireType::Len).is_err());
        // Groups are skipped as a whole, nested ones included; unmatched ends are errors.
        let mut g = Reader::new(&[0x0b, 0x10, 0x05, 0x13, 0x14, 0x0c, 0x18, 0x01]);
        let (f, w) = g.key().unwrap();
        assert_eq!((f, w), (1, WireType::StartGroup));
        g.skip_field(f, w).unwrap();
        assert_eq!(g.key().unwrap(), (3, WireType::Varint));
        let mut open = Reader::new(&[0x0b, 0x10, 0x05]);
        let (f, w) = open.key().unwrap();
        assert!(open.skip_field(f, w).is_err());
        let mut wrong = Reader::new(&[0x0b, 0x14]);
        let (f, w) = wrong.key().unwrap();
        assert!(wrong.skip_field(f, w).is_err());
        assert!(Reader::new(&[0x0c]).skip(WireType::EndGroup).is_err());
        assert!(Reader::new(&[0x00]).key().is_err()); // field 0
        let mut huge = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
        assert!(huge.bytes().is_err());
    }
}
