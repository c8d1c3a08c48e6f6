//! The reader of little-endian words, strings and shapes every table uses. Its results are
//! [`crate::error::Fault`]s: the frames of a plan load hold many of them.

use super::*;

// ---------------------------------------------------------------------------------------
// Reading

pub(crate) struct Reader<'a> {
    pub(crate) b: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn take(&mut self, n: usize) -> FaultResult<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| malformed_f("plan truncated"))?;
        let s = self
            .b
            .get(self.pos..end)
            .ok_or_else(|| malformed_f("plan truncated"))?;
        self.pos = end;
        Ok(s)
    }
    pub(crate) fn word(&mut self) -> FaultResult<u32> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(a))
    }
    pub(crate) fn usize(&mut self) -> FaultResult<usize> {
        usize::try_from(self.word()?).map_err(|_| malformed_f("plan value too large"))
    }
    pub(crate) fn f32(&mut self) -> FaultResult<f32> {
        Ok(f32::from_bits(self.word()?))
    }
    pub(crate) fn bool(&mut self) -> FaultResult<bool> {
        match self.word()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(malformed_f("plan: flag not 0 or 1")),
        }
    }
    pub(crate) fn u64(&mut self) -> FaultResult<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    pub(crate) fn i64(&mut self) -> FaultResult<i64> {
        Ok(self.u64()? as i64)
    }
    /// A count of items that take at least `words` words each: bounded by what is left, so
    /// a hostile count cannot make the reader reserve more than the plan's size.
    pub(crate) fn count(&mut self, words: usize) -> FaultResult<usize> {
        let n = self.usize()?;
        let left = self.b.len().saturating_sub(self.pos) / 4;
        if n.saturating_mul(words.max(1)) > left {
            return Err(malformed_f("plan: count larger than the plan"));
        }
        Ok(n)
    }
    pub(crate) fn str(&mut self) -> FaultResult<&'a str> {
        let n = self.usize()?;
        let s = self.take(n)?;
        self.take((4 - n % 4) % 4)?;
        core::str::from_utf8(s).map_err(|_| malformed_f("plan: name is not UTF-8"))
    }
    /// Skips a string (its bytes are not looked at).
    pub(crate) fn skip_str(&mut self) -> FaultResult<()> {
        let n = self.usize()?;
        self.take(n.checked_next_multiple_of(4).unwrap_or(usize::MAX))
            .map(|_| ())
    }
    /// A shape's element count (saturating), without keeping the shape.
    pub(crate) fn shape_len(&mut self) -> FaultResult<usize> {
        let n = self.rank()?;
        let mut len = 1usize;
        for _ in 0..n {
            len = len.saturating_mul(self.usize()?);
        }
        Ok(len)
    }
    /// A shape: its rank (at most 8), then its dims.
    pub(crate) fn shape_dims(&mut self) -> FaultResult<Dims> {
        let n = self.rank()?;
        let a = self.array(n)?;
        Dims::new(a.get(..n).unwrap_or(&[])).map_err(|_| rank_fault())
    }
    pub(crate) fn array(&mut self, rank: usize) -> FaultResult<[usize; MAX_RANK]> {
        let mut a = [0usize; MAX_RANK];
        for d in a.get_mut(..rank).ok_or_else(rank_fault)? {
            *d = self.usize()?;
        }
        Ok(a)
    }
    pub(crate) fn rank(&mut self) -> FaultResult<usize> {
        let r = self.usize()?;
        if r > MAX_RANK {
            return Err(rank_fault());
        }
        Ok(r)
    }
    pub(crate) fn dims(&mut self) -> FaultResult<Dims> {
        let r = self.rank()?;
        let a = self.array(r)?;
        Dims::new(a.get(..r).unwrap_or(&[])).map_err(|_| rank_fault())
    }
    pub(crate) fn signed(&mut self) -> FaultResult<SignedDims> {
        let r = self.rank()?;
        let mut a = [0i64; MAX_RANK];
        for v in a.get_mut(..r).unwrap_or(&mut []) {
            *v = self.i64()?;
        }
        SignedDims::new(a.get(..r).unwrap_or(&[])).map_err(|_| rank_fault())
    }
    pub(crate) fn loc(&mut self) -> FaultResult<Loc> {
        let (tag, a, b) = (self.word()?, self.usize()?, self.usize()?);
        match tag {
            1 => Ok(Loc::Arena { off: a, len: b }),
            2 => Ok(Loc::Weight { off: a, len: b }),
            3 => Ok(Loc::Input { index: a, len: b }),
            // A model compiled on the device: never valid in a plan file (`validate`).
            4 => Ok(Loc::Owned { chunk: a, len: b }),
            5 => Ok(Loc::Static { seg: a, len: b }),
            _ => Err(malformed_f("plan: unknown operand kind")),
        }
    }
}
