//! Writing a plan: the header, the tables, the weights.

use super::*;

// ---------------------------------------------------------------------------------------
// Writing

pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn bytes(&mut self, b: &[u8]) -> Result<()> {
        self.buf.try_reserve(b.len())?;
        self.buf.extend_from_slice(b);
        Ok(())
    }
    pub(crate) fn word(&mut self, v: u32) -> Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    pub(crate) fn usize(&mut self, v: usize) -> Result<()> {
        let v =
            u32::try_from(v).map_err(|_| err(ErrorCode::LimitExceeded, "plan value above 2^32"))?;
        self.word(v)
    }
    pub(crate) fn f32(&mut self, v: f32) -> Result<()> {
        self.word(v.to_bits())
    }
    pub(crate) fn bool(&mut self, v: bool) -> Result<()> {
        self.word(u32::from(v))
    }
    pub(crate) fn i64(&mut self, v: i64) -> Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    pub(crate) fn u64(&mut self, v: u64) -> Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    pub(crate) fn str(&mut self, s: &str) -> Result<()> {
        self.usize(s.len())?;
        self.bytes(s.as_bytes())?;
        self.pad(4)
    }
    pub(crate) fn pad(&mut self, align: usize) -> Result<()> {
        let n = self.buf.len().next_multiple_of(align.max(1)) - self.buf.len();
        self.buf.try_reserve(n)?;
        self.buf.resize(self.buf.len() + n, 0);
        Ok(())
    }
    pub(crate) fn usizes(&mut self, v: &[usize]) -> Result<()> {
        self.usize(v.len())?;
        v.iter().try_for_each(|&d| self.usize(d))
    }
    pub(crate) fn array(&mut self, rank: usize, v: &[usize; MAX_RANK]) -> Result<()> {
        v.iter().take(rank).try_for_each(|&d| self.usize(d))
    }
}

/// Where each weight tensor of the plan being written goes in the weight section.
pub(super) struct WeightMap {
    /// (source location, offset in the section).
    placed: Vec<(Loc, usize)>,
    len: usize,
}

impl WeightMap {
    /// The plan-file location of `loc`: weights move to the section, the rest is unchanged.
    pub(crate) fn map(&mut self, loc: Loc) -> Result<Loc> {
        let len = match loc {
            Loc::Weight { len, .. } | Loc::Owned { len, .. } | Loc::Static { len, .. } => len,
            Loc::Arena { .. } | Loc::Input { .. } => return Ok(loc),
            Loc::Buf(_) | Loc::Const(_) => return Err(malformed("plan has unresolved operands")),
        };
        if let Some(&(_, off)) = self.placed.iter().find(|p| p.0 == loc) {
            return Ok(Loc::Weight { off, len });
        }
        let off = self.len;
        let align = WEIGHT_ALIGN / 4;
        self.len = len
            .checked_add(off)
            .and_then(|e| e.checked_next_multiple_of(align))
            .ok_or_else(|| err(ErrorCode::LimitExceeded, "weights too large"))?;
        push(&mut self.placed, (loc, off))?;
        Ok(Loc::Weight { off, len })
    }
}

pub(crate) fn put_loc(w: &mut Writer, loc: Loc) -> Result<()> {
    let (tag, a, b) = match loc {
        Loc::Arena { off, len } => (1, off, len),
        Loc::Weight { off, len } => (2, off, len),
        Loc::Input { index, len } => (3, index, len),
        Loc::Owned { chunk, len } => (4, chunk, len),
        Loc::Static { seg, len } => (5, seg, len),
        Loc::Buf(_) | Loc::Const(_) => return Err(malformed("plan has unresolved operands")),
    };
    w.word(tag)?;
    w.usize(a)?;
    w.usize(b)
}

/// Writes the header fields that do not depend on the rest (the caller fills sizes and CRC).
pub(super) fn put_header(w: &mut Writer, plan: &Plan) -> Result<()> {
    w.bytes(&MAGIC)?; // 0
    w.bytes(&VERSION.to_le_bytes())?; // 8
    w.bytes(&(HEADER_LEN as u16).to_le_bytes())?; // 10
    w.bytes(&[plan.target.code(), 0, 0, 0])?; // 12
    w.word(library_version())?; // 16
    w.word(0)?; // 20: CRC-32 of the header and tables
    w.word(0)?; // 24: total length
    w.usize(plan.arena_len)?; // 28
    w.word(0)?; // 32: weight section offset
    w.word(0)?; // 36: weight section length (elements)
    w.usize(plan.input_count())?; // 40
    w.usize(plan.output_count())?; // 44
    w.usize(plan.initializers().len())?; // 48
    w.usize(plan.steps.len())?; // 52
    w.word(0)?; // 56: CRC-32 of the weight section
    w.word(0) // 60: reserved
}

pub(super) fn set_word(buf: &mut [u8], at: usize, v: u32) -> Result<()> {
    buf.get_mut(at..at + 4)
        .ok_or_else(|| malformed("plan header"))?
        .copy_from_slice(&v.to_le_bytes());
    Ok(())
}

/// Serialises `plan` (its weights included) into the plan format.
pub fn write(plan: &Plan) -> Result<Vec<u8>> {
    let mut w = Writer { buf: Vec::new() };
    put_header(&mut w, plan)?;
    let mut map = WeightMap {
        placed: Vec::new(),
        len: 0,
    };
    if plan.node_count() != plan.steps.len() {
        return Err(err(
            ErrorCode::InvalidArgument,
            "plan: one node record per step",
        ));
    }
    super::super::info::write_tables(&mut w, &plan.tables(), &mut |loc| map.map(loc))?;
    for step in &plan.steps {
        w.word(kind_of(&step.kernel))?;
        put_kernel(&mut w, &step.kernel)?;
        w.usize(step.inputs.len())?;
        for &loc in &step.inputs {
            put_loc(&mut w, map.map(loc)?)?;
        }
        put_loc(&mut w, map.map(step.output)?)?;
    }
    w.pad(WEIGHT_ALIGN)?;
    let weights_off = w.buf.len();
    let total = map
        .len
        .checked_mul(4)
        .and_then(|b| b.checked_add(weights_off))
        .ok_or_else(|| err(ErrorCode::LimitExceeded, "plan too large"))?;
    w.buf.try_reserve_exact(total - weights_off)?;
    w.buf.resize(total, 0);
    let view = plan.weights(&[]);
    for &(loc, off) in &map.placed {
        let data = view
            .get(loc)
            .ok_or_else(|| err(ErrorCode::InvalidArgument, "weight location"))?;
        let at = weights_off + off * 4;
        let dst = w
            .buf
            .get_mut(at..at + data.len() * 4)
            .ok_or_else(|| err(ErrorCode::InvalidArgument, "weight location"))?;
        for (d, v) in dst.chunks_exact_mut(4).zip(data) {
            d.copy_from_slice(&v.to_le_bytes());
        }
    }
    let too_big = || err(ErrorCode::LimitExceeded, "plan larger than 4 GiB");
    set_word(&mut w.buf, 24, u32::try_from(total).map_err(|_| too_big())?)?;
    set_word(
        &mut w.buf,
        32,
        u32::try_from(weights_off).map_err(|_| too_big())?,
    )?;
    set_word(
        &mut w.buf,
        36,
        u32::try_from(map.len).map_err(|_| too_big())?,
    )?;
    seal(&mut w.buf)?;
    Ok(w.buf)
}
