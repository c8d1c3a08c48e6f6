//! The plan format: a [`Plan`] as bytes (an `.rtm` file), written by `rtonnx compile` and
//! read by [`read`] on the device. `docs/plan-format.md` describes the layout; in short:
//!
//! - a 64-byte header: magic, format version, target, library version, sizes, a CRC-32 of
//!   the header and tables (its own field excluded) and a CRC-32 of the weight section;
//! - the tables, as little-endian 32-bit words: graph inputs, outputs, initializers, then
//!   one record per step (node info, kernel parameters, operands);
//! - the weights, little-endian f32, starting at a multiple of 16 bytes (every tensor starts
//!   at a multiple of 16 bytes too), so that a plan in flash is used where it lies.
//!
//! A plan is untrusted input: every count, length, offset and kernel parameter is checked
//! before use ([`super::validate`]), and a plan for another target, format version or library
//! version is refused with a message that says so. Loads that copy the plan (from a file or
//! a RAM buffer) also check both checksums; a plan used in place (in flash) is not read
//! whole at load, so its checksums are checked only by [`verify`]: its structure is still
//! checked in full, and damaged weights can give wrong numbers but never an unsafe access.

use alloc::string::String;
use alloc::vec::Vec;

use super::family::{self, Family};
use super::step::{Dims, Kernel, Loc, SignedDims, Step};
use super::{validate, NodeInfo, Plan, Target, TensorInfo, WeightStore};
use crate::error::{err, Error, ErrorCode, Result};
use crate::fallible::{push, string_of};
use crate::ops::activation::Activation;
use crate::ops::binary::{BinaryOp, Broadcast};
use crate::ops::conv::Conv2d;
use crate::ops::matmul::{BatchedMatMul, Gemm, GemmBias};
use crate::ops::pool::Pool2d;
use crate::ops::reduce::{Reduce, ReduceOp};
use crate::ops::unary::UnaryOp;
use crate::ops::MAX_RANK;

/// The first 8 bytes of every plan.
pub const MAGIC: [u8; 8] = *b"RTONNXPL";
/// The format version this library writes and reads.
pub const VERSION: u16 = 2;
/// Bytes of the header.
pub const HEADER_LEN: usize = 64;
/// Alignment of the weight section and of each tensor in it, in bytes.
pub const WEIGHT_ALIGN: usize = 16;
/// Offset of the header-and-tables checksum in the header.
const CRC_AT: usize = 20;
/// Offset of the weight-section checksum in the header.
const WEIGHTS_CRC_AT: usize = 56;

/// This library's version as the header stores it: `major << 16 | minor << 8 | patch`.
pub fn library_version() -> u32 {
    let part = |s: &str| s.parse::<u32>().unwrap_or(0) & 0xff;
    part(env!("CARGO_PKG_VERSION_MAJOR")) << 16
        | part(env!("CARGO_PKG_VERSION_MINOR")) << 8
        | part(env!("CARGO_PKG_VERSION_PATCH"))
}

/// True when `bytes` start like a plan (anything else is read as ONNX).
pub fn is_plan(bytes: &[u8]) -> bool {
    bytes.get(..MAGIC.len()) == Some(&MAGIC[..])
}

fn malformed(what: &'static str) -> Error {
    err(ErrorCode::Malformed, what)
}

/// CRC-32 (IEEE 802.3, as zlib's `crc32`) of `parts` in order, with a 16-entry table: a
/// quarter of a kilobyte less flash than the byte table for twice the instructions per byte.
pub fn crc32(parts: &[&[u8]]) -> u32 {
    // Indices below 16 in a const context: checked when the table is built.
    #[allow(clippy::indexing_slicing)]
    const T: [u32; 16] = {
        let mut t = [0u32; 16];
        let mut i = 0;
        while i < 16 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 4 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    let mut c = !0u32;
    for part in parts {
        for &b in part.iter() {
            c ^= u32::from(b);
            // `c & 15` is below 16: the lookups compile without a bounds check.
            c = T.get((c & 15) as usize).copied().unwrap_or(0) ^ (c >> 4);
            c = T.get((c & 15) as usize).copied().unwrap_or(0) ^ (c >> 4);
        }
    }
    !c
}

// ---------------------------------------------------------------------------------------
// Writing

struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn bytes(&mut self, b: &[u8]) -> Result<()> {
        self.buf.try_reserve(b.len())?;
        self.buf.extend_from_slice(b);
        Ok(())
    }
    fn word(&mut self, v: u32) -> Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    fn usize(&mut self, v: usize) -> Result<()> {
        let v =
            u32::try_from(v).map_err(|_| err(ErrorCode::LimitExceeded, "plan value above 2^32"))?;
        self.word(v)
    }
    fn f32(&mut self, v: f32) -> Result<()> {
        self.word(v.to_bits())
    }
    fn bool(&mut self, v: bool) -> Result<()> {
        self.word(u32::from(v))
    }
    fn i64(&mut self, v: i64) -> Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    fn u64(&mut self, v: u64) -> Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    fn str(&mut self, s: &str) -> Result<()> {
        self.usize(s.len())?;
        self.bytes(s.as_bytes())?;
        self.pad(4)
    }
    fn pad(&mut self, align: usize) -> Result<()> {
        while self.buf.len() % align != 0 {
            self.bytes(&[0])?;
        }
        Ok(())
    }
    fn usizes(&mut self, v: &[usize]) -> Result<()> {
        self.usize(v.len())?;
        v.iter().try_for_each(|&d| self.usize(d))
    }
    fn array(&mut self, rank: usize, v: &[usize; MAX_RANK]) -> Result<()> {
        v.iter().take(rank).try_for_each(|&d| self.usize(d))
    }
}

/// Where each weight tensor of the plan being written goes in the weight section.
struct WeightMap {
    /// (source location, offset in the section).
    placed: Vec<(Loc, usize)>,
    len: usize,
}

impl WeightMap {
    /// The plan-file location of `loc`: weights move to the section, the rest is unchanged.
    fn map(&mut self, loc: Loc) -> Result<Loc> {
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

fn put_loc(w: &mut Writer, loc: Loc) -> Result<()> {
    let (tag, a, b) = match loc {
        Loc::Arena { off, len } => (1, off, len),
        Loc::Weight { off, len } => (2, off, len),
        Loc::Input { index, len } => (3, index, len),
        _ => return Err(malformed("plan has unresolved operands")),
    };
    w.word(tag)?;
    w.usize(a)?;
    w.usize(b)
}

/// Writes the header fields that do not depend on the rest (the caller fills sizes and CRC).
fn put_header(w: &mut Writer, plan: &Plan) -> Result<()> {
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
    w.usize(plan.inputs.len())?; // 40
    w.usize(plan.outputs.len())?; // 44
    w.usize(plan.initializers.len())?; // 48
    w.usize(plan.steps.len())?; // 52
    w.word(0)?; // 56: CRC-32 of the weight section
    w.word(0) // 60: reserved
}

fn set_word(buf: &mut [u8], at: usize, v: u32) -> Result<()> {
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
    for t in &plan.inputs {
        w.str(&t.name)?;
        w.usizes(&t.shape)?;
    }
    for (t, &loc) in plan.outputs.iter().zip(&plan.output_locs) {
        w.str(&t.name)?;
        w.usizes(&t.shape)?;
        put_loc(&mut w, map.map(loc)?)?;
    }
    for (name, shape, loc) in &plan.initializers {
        w.str(name)?;
        w.usizes(shape)?;
        put_loc(&mut w, map.map(*loc)?)?;
    }
    for (step, info) in plan.steps.iter().zip(&plan.nodes) {
        w.word(kind_of(&step.kernel))?;
        w.str(&info.op)?;
        w.str(&info.name)?;
        w.usizes(&info.output_shape)?;
        w.usize(info.params)?;
        w.u64(info.macs)?;
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

/// The little-endian word at byte `at`.
fn word_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(b))
}

/// The two checksums of a plan whose header sizes are in place: (header and tables, weights).
fn checksums(bytes: &[u8]) -> Result<(u32, u32)> {
    let weights_off = word_at(bytes, 32)
        .map(|w| w as usize)
        .filter(|&off| off >= HEADER_LEN && off <= bytes.len())
        .ok_or_else(|| malformed("plan: weight section"))?;
    let (tables, weights) = bytes.split_at(weights_off);
    let head = tables.get(..CRC_AT).unwrap_or(&[]);
    let rest = tables.get(CRC_AT + 4..).unwrap_or(&[]);
    Ok((crc32(&[head, rest]), crc32(&[weights])))
}

/// Writes the checksums of a plan (after its header sizes): `write` does this last, and tools
/// that edit a plan (tests, fuzzers) call it to make an edited plan pass the checksum test.
pub fn seal(bytes: &mut [u8]) -> Result<()> {
    let (_, weights) = checksums(bytes)?;
    set_word(bytes, WEIGHTS_CRC_AT, weights)?;
    let (tables, _) = checksums(bytes)?;
    set_word(bytes, CRC_AT, tables)
}

/// Checks a plan's header and both checksums (what a copying load checks; a plan used in
/// place is checked by this only when the caller asks, as it reads every byte).
pub fn verify(bytes: &[u8]) -> Result<()> {
    header(bytes, true).map(|_| ())
}

// ---------------------------------------------------------------------------------------
// Kernels: one kind number each, then their parameters.

const K_CONV: u32 = 1;
const K_CONV_POOL: u32 = 2;
const K_CONV_X86: u32 = 3;
const K_CONV_BLOCKS: u32 = 4;
const K_MAX_POOL: u32 = 5;
const K_AVG_POOL: u32 = 6;
const K_GLOBAL_AVG_POOL: u32 = 7;
const K_GLOBAL_MAX_POOL: u32 = 8;
const K_ACTIVATION: u32 = 9;
const K_UNARY: u32 = 10;
const K_REDUCE: u32 = 11;
const K_SOFTMAX: u32 = 12;
const K_DENSE: u32 = 13;
const K_GEMM: u32 = 14;
const K_MATMUL: u32 = 15;
const K_BINARY: u32 = 16;
const K_BATCH_NORM: u32 = 17;
const K_TRANSPOSE: u32 = 18;
const K_CONCAT: u32 = 19;
const K_PAD: u32 = 20;
const K_GATHER: u32 = 21;
const K_SLICE: u32 = 22;
const K_COPY: u32 = 23;

/// The operator family of a step kind (`None`: a copy, in every build, or an unknown kind).
pub(crate) const fn family_of_kind(kind: u32) -> Option<Family> {
    Some(match kind {
        K_CONV | K_CONV_POOL | K_CONV_X86 | K_CONV_BLOCKS => Family::Conv,
        K_MAX_POOL | K_AVG_POOL | K_GLOBAL_AVG_POOL | K_GLOBAL_MAX_POOL => Family::Pool,
        K_ACTIVATION => Family::Activation,
        K_UNARY | K_BINARY => Family::Math,
        K_REDUCE => Family::Reduce,
        K_SOFTMAX => Family::Softmax,
        K_DENSE | K_GEMM | K_MATMUL => Family::Dense,
        K_BATCH_NORM => Family::Normalization,
        K_TRANSPOSE | K_CONCAT | K_PAD | K_GATHER | K_SLICE => Family::Layout,
        _ => return None,
    })
}

/// The step kind of a kernel in the format.
pub(crate) fn kind_of(k: &Kernel) -> u32 {
    match k {
        Kernel::Conv { .. } => K_CONV,
        Kernel::ConvPool { .. } => K_CONV_POOL,
        #[cfg(target_arch = "x86_64")]
        Kernel::ConvX86(_) => K_CONV_X86,
        Kernel::ConvBlocks { .. } => K_CONV_BLOCKS,
        Kernel::MaxPool(_) => K_MAX_POOL,
        Kernel::AvgPool(_) => K_AVG_POOL,
        Kernel::GlobalAvgPool { .. } => K_GLOBAL_AVG_POOL,
        Kernel::GlobalMaxPool { .. } => K_GLOBAL_MAX_POOL,
        Kernel::Activation(_) => K_ACTIVATION,
        Kernel::Unary(_) => K_UNARY,
        Kernel::Reduce { .. } => K_REDUCE,
        Kernel::Softmax { .. } => K_SOFTMAX,
        Kernel::Dense { .. } => K_DENSE,
        Kernel::Gemm { .. } => K_GEMM,
        Kernel::MatMul(_) => K_MATMUL,
        Kernel::Binary { .. } => K_BINARY,
        Kernel::BatchNorm { .. } => K_BATCH_NORM,
        Kernel::Transpose { .. } => K_TRANSPOSE,
        Kernel::Concat { .. } => K_CONCAT,
        Kernel::Pad { .. } => K_PAD,
        Kernel::Gather { .. } => K_GATHER,
        Kernel::Slice { .. } => K_SLICE,
        Kernel::Copy => K_COPY,
    }
}

/// The fields of a struct of `usize`s, written and read in one order.
macro_rules! usize_fields {
    ($put:ident, $get:ident, $ty:ident { $($f:ident),* $(,)? } $($rest:tt)*) => {
        fn $put(w: &mut Writer, p: &$ty) -> Result<()> {
            $( w.usize(p.$f)?; )*
            Ok(())
        }
        fn $get(r: &mut Reader<'_>) -> Result<$ty> {
            Ok($ty { $( $f: r.usize()?, )* $($rest)* })
        }
    };
}

usize_fields!(
    put_conv,
    get_conv,
    Conv2d {
        batch,
        in_channels,
        in_h,
        in_w,
        out_channels,
        out_h,
        out_w,
        kernel_h,
        kernel_w,
        stride_h,
        stride_w,
        dilation_h,
        dilation_w,
        pad_top,
        pad_left,
        group,
    }
);

usize_fields!(put_pool_dims, get_pool_dims, Pool2d {
    batch, channels, in_h, in_w, out_h, out_w, kernel_h, kernel_w, stride_h, stride_w,
    dilation_h, dilation_w, pad_top, pad_left, pad_bottom, pad_right,
} count_include_pad: false);

fn put_pool(w: &mut Writer, p: &Pool2d) -> Result<()> {
    put_pool_dims(w, p)?;
    w.bool(p.count_include_pad)
}

fn get_pool(r: &mut Reader<'_>) -> Result<Pool2d> {
    let p = get_pool_dims(r)?;
    Ok(Pool2d {
        count_include_pad: r.bool()?,
        ..p
    })
}

fn put_act(w: &mut Writer, a: Activation) -> Result<()> {
    let (tag, x, y) = match a {
        Activation::None => (0, 0.0, 0.0),
        Activation::Relu => (1, 0.0, 0.0),
        Activation::LeakyRelu { alpha } => (2, alpha, 0.0),
        Activation::Sigmoid => (3, 0.0, 0.0),
        Activation::Tanh => (4, 0.0, 0.0),
        Activation::Clip { min, max } => (5, min, max),
    };
    w.word(tag)?;
    w.f32(x)?;
    w.f32(y)
}

fn get_act(r: &mut Reader<'_>) -> Result<Activation> {
    let (tag, x, y) = (r.word()?, r.f32()?, r.f32()?);
    Ok(match tag {
        0 => Activation::None,
        1 => Activation::Relu,
        2 => Activation::LeakyRelu { alpha: x },
        3 => Activation::Sigmoid,
        4 => Activation::Tanh,
        5 => Activation::Clip { min: x, max: y },
        _ => return Err(malformed("plan: unknown activation")),
    })
}

fn put_unary(w: &mut Writer, op: UnaryOp) -> Result<()> {
    let (tag, x, y) = match op {
        UnaryOp::Abs => (0, 0.0, 0.0),
        UnaryOp::Neg => (1, 0.0, 0.0),
        UnaryOp::Exp => (2, 0.0, 0.0),
        UnaryOp::Log => (3, 0.0, 0.0),
        UnaryOp::Sqrt => (4, 0.0, 0.0),
        UnaryOp::Reciprocal => (5, 0.0, 0.0),
        UnaryOp::Floor => (6, 0.0, 0.0),
        UnaryOp::Ceil => (7, 0.0, 0.0),
        UnaryOp::Elu { alpha } => (8, alpha, 0.0),
        UnaryOp::Selu { alpha, gamma } => (9, alpha, gamma),
        UnaryOp::HardSigmoid { alpha, beta } => (10, alpha, beta),
        UnaryOp::HardSwish => (11, 0.0, 0.0),
        UnaryOp::Softplus => (12, 0.0, 0.0),
        UnaryOp::Softsign => (13, 0.0, 0.0),
        UnaryOp::Erf => (14, 0.0, 0.0),
    };
    w.word(tag)?;
    w.f32(x)?;
    w.f32(y)
}

fn get_unary(r: &mut Reader<'_>) -> Result<UnaryOp> {
    let (tag, x, y) = (r.word()?, r.f32()?, r.f32()?);
    Ok(match tag {
        0 => UnaryOp::Abs,
        1 => UnaryOp::Neg,
        2 => UnaryOp::Exp,
        3 => UnaryOp::Log,
        4 => UnaryOp::Sqrt,
        5 => UnaryOp::Reciprocal,
        6 => UnaryOp::Floor,
        7 => UnaryOp::Ceil,
        8 => UnaryOp::Elu { alpha: x },
        9 => UnaryOp::Selu { alpha: x, gamma: y },
        10 => UnaryOp::HardSigmoid { alpha: x, beta: y },
        11 => UnaryOp::HardSwish,
        12 => UnaryOp::Softplus,
        13 => UnaryOp::Softsign,
        14 => UnaryOp::Erf,
        _ => return Err(malformed("plan: unknown unary operator")),
    })
}

const REDUCE_OPS: [ReduceOp; 10] = [
    ReduceOp::Sum,
    ReduceOp::Mean,
    ReduceOp::Max,
    ReduceOp::Min,
    ReduceOp::Prod,
    ReduceOp::SumSquare,
    ReduceOp::L1,
    ReduceOp::L2,
    ReduceOp::LogSum,
    ReduceOp::LogSumExp,
];

const BINARY_OPS: [BinaryOp; 7] = [
    BinaryOp::Add,
    BinaryOp::Sub,
    BinaryOp::Mul,
    BinaryOp::Div,
    BinaryOp::Pow,
    BinaryOp::Max,
    BinaryOp::Min,
];

const GEMM_BIAS: [GemmBias; 5] = [
    GemmBias::None,
    GemmBias::Scalar,
    GemmBias::Row,
    GemmBias::Column,
    GemmBias::Full,
];

/// The index of `x` in `table` (every value of these enums is listed).
fn index_in<T: PartialEq>(table: &[T], x: &T) -> Result<u32> {
    let i = table
        .iter()
        .position(|t| t == x)
        .ok_or_else(|| malformed("plan: enum value"))?;
    Ok(i as u32)
}

fn from_table<T: Copy>(table: &[T], r: &mut Reader<'_>, what: &'static str) -> Result<T> {
    let i = r.usize()?;
    table.get(i).copied().ok_or_else(|| malformed(what))
}

fn put_dims(w: &mut Writer, d: &Dims) -> Result<()> {
    w.usizes(d.as_slice())
}

fn put_signed(w: &mut Writer, d: &SignedDims) -> Result<()> {
    w.usize(d.as_slice().len())?;
    d.as_slice().iter().try_for_each(|&v| w.i64(v))
}

fn put_kernel(w: &mut Writer, k: &Kernel) -> Result<()> {
    match k {
        Kernel::Conv { p, act } | Kernel::ConvBlocks { p, act } => {
            put_conv(w, p)?;
            put_act(w, *act)
        }
        Kernel::ConvPool { p, act, pool, max } => {
            put_conv(w, p)?;
            put_act(w, *act)?;
            put_pool(w, pool)?;
            w.bool(*max)
        }
        #[cfg(target_arch = "x86_64")]
        Kernel::ConvX86(k) => {
            put_conv(w, k.conv())?;
            put_act(w, k.act())?;
            match k.pool() {
                Some((pool, max)) => {
                    w.bool(true)?;
                    put_pool(w, &pool)?;
                    w.bool(max)
                }
                None => w.bool(false),
            }
        }
        Kernel::MaxPool(p) | Kernel::AvgPool(p) => put_pool(w, p),
        Kernel::GlobalAvgPool { planes, plane_len }
        | Kernel::GlobalMaxPool { planes, plane_len } => {
            w.usize(*planes)?;
            w.usize(*plane_len)
        }
        Kernel::Activation(a) => put_act(w, *a),
        Kernel::Unary(op) => put_unary(w, *op),
        Kernel::Reduce { op, p } => {
            w.word(index_in(&REDUCE_OPS, op)?)?;
            w.usize(p.rank)?;
            w.array(p.rank, &p.shape)?;
            p.reduced.iter().take(p.rank).try_for_each(|&b| w.bool(b))
        }
        Kernel::Softmax {
            outer,
            axis_len,
            inner,
            log,
        } => {
            w.usize(*outer)?;
            w.usize(*axis_len)?;
            w.usize(*inner)?;
            w.bool(*log)
        }
        Kernel::Dense { m, k, n, act } => {
            w.usize(*m)?;
            w.usize(*k)?;
            w.usize(*n)?;
            put_act(w, *act)
        }
        Kernel::Gemm { p, act } => {
            w.usize(p.m)?;
            w.usize(p.k)?;
            w.usize(p.n)?;
            w.bool(p.trans_a)?;
            w.bool(p.trans_b)?;
            w.f32(p.alpha)?;
            w.f32(p.beta)?;
            w.word(index_in(&GEMM_BIAS, &p.bias)?)?;
            put_act(w, *act)
        }
        Kernel::MatMul(p) => {
            w.usize(p.m)?;
            w.usize(p.k)?;
            w.usize(p.n)?;
            w.usize(p.rank)?;
            w.array(p.rank, &p.batch_shape)?;
            w.array(p.rank, &p.a_batch_strides)?;
            w.array(p.rank, &p.b_batch_strides)
        }
        Kernel::Binary { op, bc } => {
            w.word(index_in(&BINARY_OPS, op)?)?;
            w.usize(bc.rank)?;
            w.array(bc.rank, &bc.out_shape)?;
            w.array(bc.rank, &bc.a_strides)?;
            w.array(bc.rank, &bc.b_strides)?;
            w.usize(bc.full_rank)?;
            w.array(bc.full_rank, &bc.full_shape)
        }
        Kernel::BatchNorm {
            batch,
            channels,
            plane,
        } => {
            w.usize(*batch)?;
            w.usize(*channels)?;
            w.usize(*plane)
        }
        Kernel::Transpose { shape, perm } => {
            put_dims(w, shape)?;
            put_dims(w, perm)
        }
        Kernel::Concat { outer, inners } => {
            w.usize(*outer)?;
            w.usizes(inners)
        }
        Kernel::Pad {
            shape,
            begin,
            end,
            value,
        } => {
            put_dims(w, shape)?;
            put_signed(w, begin)?;
            put_signed(w, end)?;
            w.f32(*value)
        }
        Kernel::Gather {
            outer,
            axis_len,
            inner,
            indices,
        } => {
            w.usize(*outer)?;
            w.usize(*axis_len)?;
            w.usize(*inner)?;
            w.usize(indices.len())?;
            indices.iter().try_for_each(|&i| w.i64(i))
        }
        Kernel::Slice {
            shape,
            starts,
            steps,
            out,
        } => {
            put_dims(w, shape)?;
            put_dims(w, starts)?;
            put_signed(w, steps)?;
            put_dims(w, out)
        }
        Kernel::Copy => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------
// Reading

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| malformed("plan truncated"))?;
        let s = self
            .b
            .get(self.pos..end)
            .ok_or_else(|| malformed("plan truncated"))?;
        self.pos = end;
        Ok(s)
    }
    fn word(&mut self) -> Result<u32> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(a))
    }
    fn usize(&mut self) -> Result<usize> {
        usize::try_from(self.word()?).map_err(|_| malformed("plan value too large"))
    }
    fn f32(&mut self) -> Result<f32> {
        Ok(f32::from_bits(self.word()?))
    }
    fn bool(&mut self) -> Result<bool> {
        match self.word()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(malformed("plan: flag not 0 or 1")),
        }
    }
    fn u64(&mut self) -> Result<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    fn i64(&mut self) -> Result<i64> {
        Ok(self.u64()? as i64)
    }
    /// A count of items that take at least `words` words each: bounded by what is left, so
    /// a hostile count cannot make the reader reserve more than the plan's size.
    fn count(&mut self, words: usize) -> Result<usize> {
        let n = self.usize()?;
        let left = self.b.len().saturating_sub(self.pos) / 4;
        if n.saturating_mul(words.max(1)) > left {
            return Err(malformed("plan: count larger than the plan"));
        }
        Ok(n)
    }
    fn str(&mut self) -> Result<&'a str> {
        let n = self.usize()?;
        let s = self.take(n)?;
        self.take((4 - n % 4) % 4)?;
        core::str::from_utf8(s).map_err(|_| malformed("plan: name is not UTF-8"))
    }
    fn string(&mut self) -> Result<String> {
        string_of(self.str()?)
    }
    fn shape(&mut self) -> Result<Vec<usize>> {
        let n = self.count(1)?;
        if n > MAX_RANK {
            return Err(err(ErrorCode::LimitExceeded, "plan: rank above 8"));
        }
        let mut v = Vec::new();
        v.try_reserve_exact(n)?;
        for _ in 0..n {
            v.push(self.usize()?);
        }
        Ok(v)
    }
    fn array(&mut self, rank: usize) -> Result<[usize; MAX_RANK]> {
        let mut a = [0usize; MAX_RANK];
        for d in a.get_mut(..rank).ok_or_else(rank_error)? {
            *d = self.usize()?;
        }
        Ok(a)
    }
    fn rank(&mut self) -> Result<usize> {
        let r = self.usize()?;
        if r > MAX_RANK {
            return Err(rank_error());
        }
        Ok(r)
    }
    fn dims(&mut self) -> Result<Dims> {
        let r = self.rank()?;
        let a = self.array(r)?;
        Dims::new(a.get(..r).unwrap_or(&[]))
    }
    fn signed(&mut self) -> Result<SignedDims> {
        let r = self.rank()?;
        let mut a = [0i64; MAX_RANK];
        for v in a.get_mut(..r).unwrap_or(&mut []) {
            *v = self.i64()?;
        }
        SignedDims::new(a.get(..r).unwrap_or(&[]))
    }
    fn loc(&mut self) -> Result<Loc> {
        let (tag, a, b) = (self.word()?, self.usize()?, self.usize()?);
        match tag {
            1 => Ok(Loc::Arena { off: a, len: b }),
            2 => Ok(Loc::Weight { off: a, len: b }),
            3 => Ok(Loc::Input { index: a, len: b }),
            _ => Err(malformed("plan: unknown operand kind")),
        }
    }
}

fn rank_error() -> Error {
    err(ErrorCode::LimitExceeded, "plan: rank above 8")
}

fn get_kernel(r: &mut Reader<'_>, kind: u32) -> Result<Kernel> {
    Ok(match kind {
        K_CONV if family::CONV => Kernel::Conv {
            p: get_conv(r)?,
            act: get_act(r)?,
        },
        K_CONV_BLOCKS if family::CONV => Kernel::ConvBlocks {
            p: get_conv(r)?,
            act: get_act(r)?,
        },
        K_CONV_POOL if family::CONV => Kernel::ConvPool {
            p: get_conv(r)?,
            act: get_act(r)?,
            pool: get_pool(r)?,
            max: r.bool()?,
        },
        // Read as its portable form; `specialise` packs it for this CPU.
        K_CONV_X86 if family::CONV => {
            let (p, act) = (get_conv(r)?, get_act(r)?);
            if r.bool()? {
                Kernel::ConvPool {
                    p,
                    act,
                    pool: get_pool(r)?,
                    max: r.bool()?,
                }
            } else {
                Kernel::Conv { p, act }
            }
        }
        K_MAX_POOL if family::POOL => Kernel::MaxPool(get_pool(r)?),
        K_AVG_POOL if family::POOL => Kernel::AvgPool(get_pool(r)?),
        K_GLOBAL_AVG_POOL if family::POOL => Kernel::GlobalAvgPool {
            planes: r.usize()?,
            plane_len: r.usize()?,
        },
        K_GLOBAL_MAX_POOL if family::POOL => Kernel::GlobalMaxPool {
            planes: r.usize()?,
            plane_len: r.usize()?,
        },
        K_ACTIVATION if family::ACTIVATION => Kernel::Activation(get_act(r)?),
        K_UNARY if family::MATH => Kernel::Unary(get_unary(r)?),
        K_REDUCE if family::REDUCE => {
            let op = from_table(&REDUCE_OPS, r, "plan: unknown reduction")?;
            let rank = r.rank()?;
            let shape = r.array(rank)?;
            let mut reduced = [false; MAX_RANK];
            for b in reduced.get_mut(..rank).unwrap_or(&mut []) {
                *b = r.bool()?;
            }
            let p = Reduce::new(
                shape.get(..rank).unwrap_or(&[]),
                reduced.get(..rank).unwrap_or(&[]),
            )
            .ok_or_else(|| malformed("plan: reduction geometry"))?;
            Kernel::Reduce { op, p }
        }
        K_SOFTMAX if family::SOFTMAX => Kernel::Softmax {
            outer: r.usize()?,
            axis_len: r.usize()?,
            inner: r.usize()?,
            log: r.bool()?,
        },
        K_DENSE if family::DENSE => Kernel::Dense {
            m: r.usize()?,
            k: r.usize()?,
            n: r.usize()?,
            act: get_act(r)?,
        },
        K_GEMM if family::DENSE => Kernel::Gemm {
            p: Gemm {
                m: r.usize()?,
                k: r.usize()?,
                n: r.usize()?,
                trans_a: r.bool()?,
                trans_b: r.bool()?,
                alpha: r.f32()?,
                beta: r.f32()?,
                bias: from_table(&GEMM_BIAS, r, "plan: unknown Gemm bias")?,
            },
            act: get_act(r)?,
        },
        K_MATMUL if family::DENSE => {
            let (m, k, n, rank) = (r.usize()?, r.usize()?, r.usize()?, r.rank()?);
            Kernel::MatMul(BatchedMatMul {
                m,
                k,
                n,
                rank,
                batch_shape: r.array(rank)?,
                a_batch_strides: r.array(rank)?,
                b_batch_strides: r.array(rank)?,
            })
        }
        K_BINARY if family::MATH => {
            let op = from_table(&BINARY_OPS, r, "plan: unknown binary operator")?;
            let rank = r.rank()?;
            let (out_shape, a_strides, b_strides) =
                (r.array(rank)?, r.array(rank)?, r.array(rank)?);
            let full_rank = r.rank()?;
            let bc = Broadcast {
                rank,
                out_shape,
                a_strides,
                b_strides,
                full_rank,
                full_shape: r.array(full_rank)?,
            };
            Kernel::Binary { op, bc }
        }
        K_BATCH_NORM if family::NORMALIZATION => Kernel::BatchNorm {
            batch: r.usize()?,
            channels: r.usize()?,
            plane: r.usize()?,
        },
        K_TRANSPOSE if family::LAYOUT => Kernel::Transpose {
            shape: r.dims()?,
            perm: r.dims()?,
        },
        K_CONCAT if family::LAYOUT => {
            let outer = r.usize()?;
            let n = r.count(1)?;
            let mut inners = Vec::new();
            inners.try_reserve_exact(n)?;
            for _ in 0..n {
                inners.push(r.usize()?);
            }
            Kernel::Concat { outer, inners }
        }
        K_PAD if family::LAYOUT => Kernel::Pad {
            shape: r.dims()?,
            begin: r.signed()?,
            end: r.signed()?,
            value: r.f32()?,
        },
        K_GATHER if family::LAYOUT => {
            let (outer, axis_len, inner) = (r.usize()?, r.usize()?, r.usize()?);
            let n = r.count(2)?;
            let mut indices = Vec::new();
            indices.try_reserve_exact(n)?;
            for _ in 0..n {
                indices.push(r.i64()?);
            }
            Kernel::Gather {
                outer,
                axis_len,
                inner,
                indices,
            }
        }
        K_SLICE if family::LAYOUT => Kernel::Slice {
            shape: r.dims()?,
            starts: r.dims()?,
            steps: r.signed()?,
            out: r.dims()?,
        },
        K_COPY => Kernel::Copy,
        // A kind of a family this build leaves out, or none at all.
        _ => {
            return Err(
                family_of_kind(kind).map_or(malformed("plan: unknown step kind"), |f| f.missing())
            )
        }
    })
}

/// The fixed part of a header, checked.
struct Header {
    target: Target,
    total: usize,
    arena_len: usize,
    weights_off: usize,
    weights_len: usize,
    counts: [usize; 4],
}

/// Reads and checks the header; with `checksums`, both checksums too.
fn header(bytes: &[u8], checksums_too: bool) -> Result<Header> {
    if !is_plan(bytes) {
        return Err(malformed("not a compiled plan"));
    }
    let mut r = Reader { b: bytes, pos: 8 };
    let version_and_len = r
        .word()
        .map_err(|_| malformed("plan truncated in its header"))?;
    let version = (version_and_len & 0xffff) as u16;
    if version != VERSION {
        return Err(err(
            ErrorCode::NotSupported,
            if version > VERSION {
                "plan format newer than this library reads (version 2): update the library or recompile the plan"
            } else {
                "plan format older than this library reads (version 2): recompile the plan"
            },
        ));
    }
    if bytes.len() < HEADER_LEN {
        return Err(malformed("plan truncated in its header"));
    }
    if (version_and_len >> 16) as usize != HEADER_LEN {
        return Err(malformed("plan header length"));
    }
    let target_word = r.word()?;
    let lib = r.word()?;
    let crc = r.word()?;
    let total = r.usize()?;
    if total > bytes.len() {
        return Err(malformed("plan truncated"));
    }
    if total < bytes.len() {
        return Err(malformed("bytes after the end of the plan"));
    }
    if checksums_too {
        let weights_crc = word_at(bytes, WEIGHTS_CRC_AT);
        let (tables, weights) = checksums(bytes)?;
        if crc != tables {
            return Err(malformed(
                "plan checksum mismatch in its header or tables (the file is damaged)",
            ));
        }
        if weights_crc != Some(weights) {
            return Err(malformed(
                "plan checksum mismatch in its weights (the file is damaged)",
            ));
        }
    }
    if lib != library_version() {
        return Err(err(
            ErrorCode::NotSupported,
            "plan compiled by another version of the library: recompile it with this version's rtonnx",
        ));
    }
    let target = Target::from_code((target_word & 0xff) as u8)
        .filter(|_| target_word >> 8 == 0)
        .ok_or_else(|| malformed("plan: unknown target"))?;
    if target != Target::native() {
        return Err(err(
            ErrorCode::NotSupported,
            match Target::native() {
                Target::Portable => "plan compiled for another target: recompile it with rtonnx compile --target portable",
                Target::ArmVfma => "plan compiled for another target: recompile it with rtonnx compile --target cortex-m-vfma",
                Target::X86_64 => "plan compiled for another target: recompile it with rtonnx compile --target x86_64",
            },
        ));
    }
    let arena_len = r.usize()?;
    let weights_off = r.usize()?;
    let weights_len = r.usize()?;
    let counts = [r.usize()?, r.usize()?, r.usize()?, r.usize()?];
    let weights_end = weights_len
        .checked_mul(4)
        .and_then(|b| b.checked_add(weights_off));
    if weights_off < HEADER_LEN || weights_off % WEIGHT_ALIGN != 0 || weights_end != Some(total) {
        return Err(malformed("plan: weight section"));
    }
    if arena_len > super::MAX_TENSOR_ELEMENTS.saturating_mul(4) {
        return Err(err(ErrorCode::LimitExceeded, "plan: arena too large"));
    }
    Ok(Header {
        target,
        total,
        arena_len,
        weights_off,
        weights_len,
        counts,
    })
}

/// The weight section of a checked header, copied.
fn copy_weights(bytes: &[u8], h: &Header) -> Result<WeightStore> {
    let section = bytes
        .get(h.weights_off..h.total)
        .ok_or_else(|| malformed("plan: weight section"))?;
    let mut v = Vec::new();
    v.try_reserve_exact(h.weights_len)?;
    v.extend(section.chunks_exact(4).map(|c| {
        let mut a = [0u8; 4];
        a.copy_from_slice(c);
        f32::from_le_bytes(a)
    }));
    Ok(WeightStore::Owned(v))
}

/// Reads and checks a plan. With `in_place` (the same bytes, living for the whole program,
/// e.g. in flash), the weights are used where they lie and the checksums are not computed
/// (see the module's notes); otherwise both checksums are checked and the weights copied.
pub fn read(bytes: &[u8], in_place: Option<&'static [u8]>) -> Result<Plan> {
    let h = header(bytes, in_place.is_none())?;
    let weights = match in_place
        .filter(|s| s.as_ptr() == bytes.as_ptr())
        .and_then(|s| s.get(h.weights_off..h.total))
        .and_then(super::f32_view)
    {
        Some(s) => WeightStore::Static(s),
        None => copy_weights(bytes, &h)?,
    };
    read_tables(bytes, h, weights)
}

/// Reads and checks a plan held in a buffer of its own (e.g. read from a file), checksums
/// included. The buffer is kept and its weights used where they lie when they are aligned
/// for f32, so the weights are not in RAM twice; otherwise they are copied and it is freed.
pub fn read_vec(bytes: Vec<u8>) -> Result<Plan> {
    let h = header(&bytes, true)?;
    let range = h.weights_off..h.total;
    let aligned = bytes.get(range.clone()).and_then(super::f32_view).is_some();
    if !aligned {
        let weights = copy_weights(&bytes, &h)?;
        return read_tables(&bytes, h, weights);
    }
    // The tables are read from the buffer before it moves into the weight store (moving a
    // Vec does not move its heap block, so the aligned view stays valid).
    let (mut plan, packed) = parse_tables(&bytes, h, WeightStore::Owned(Vec::new()))?;
    plan.weights = WeightStore::in_buffer(bytes, range)?;
    validate::check(&plan)?;
    specialise(plan, &packed)
}

/// Reads the tables of a plan whose header `h` is checked, over `weights`, and checks it.
fn read_tables(bytes: &[u8], h: Header, weights: WeightStore) -> Result<Plan> {
    let (plan, packed) = parse_tables(bytes, h, weights)?;
    validate::check(&plan)?;
    specialise(plan, &packed)
}

/// Reads the tables of a plan whose header `h` is checked, over `weights`, unchecked; with
/// the indices of the steps to pack for the x86-64 kernel.
fn parse_tables(bytes: &[u8], h: Header, weights: WeightStore) -> Result<(Plan, Vec<usize>)> {
    let tables = bytes
        .get(..h.weights_off)
        .ok_or_else(|| malformed("plan: tables"))?;
    let mut r = Reader {
        b: tables,
        pos: HEADER_LEN,
    };
    let [n_in, n_out, n_init, n_steps] = h.counts;
    // Each item takes at least this many words: bounds the counts by the plan's size.
    for (n, words) in [(n_in, 2), (n_out, 5), (n_init, 5), (n_steps, 10)] {
        if n.saturating_mul(words) > tables.len() / 4 {
            return Err(malformed("plan: count larger than the plan"));
        }
    }
    let mut inputs = Vec::new();
    inputs.try_reserve_exact(n_in)?;
    for _ in 0..n_in {
        let name = r.string()?;
        inputs.push(TensorInfo {
            name,
            shape: r.shape()?,
        });
    }
    let mut outputs = Vec::new();
    outputs.try_reserve_exact(n_out)?;
    let mut output_locs = Vec::new();
    output_locs.try_reserve_exact(n_out)?;
    for _ in 0..n_out {
        let name = r.string()?;
        outputs.push(TensorInfo {
            name,
            shape: r.shape()?,
        });
        output_locs.push(r.loc()?);
    }
    let mut initializers = Vec::new();
    initializers.try_reserve_exact(n_init)?;
    for _ in 0..n_init {
        let name = r.string()?;
        let shape = r.shape()?;
        initializers.push((name, shape, r.loc()?));
    }
    let mut steps = Vec::new();
    steps.try_reserve_exact(n_steps)?;
    let mut nodes = Vec::new();
    nodes.try_reserve_exact(n_steps)?;
    let mut packed = Vec::new();
    // The model's MAC total must be a number (Model::total_macs adds the steps' counts).
    let mut total_macs = 0u64;
    for _ in 0..n_steps {
        let kind = r.word()?;
        let op = r.string()?;
        let name = r.string()?;
        let output_shape = r.shape()?;
        let params = r.usize()?;
        let macs = r.u64()?;
        total_macs = total_macs
            .checked_add(macs)
            .ok_or_else(|| malformed("plan: the steps' MAC counts add up past 2^64"))?;
        let kernel = get_kernel(&mut r, kind)?;
        let n = r.count(3)?;
        let mut ins = Vec::new();
        ins.try_reserve_exact(n)?;
        for _ in 0..n {
            ins.push(r.loc()?);
        }
        let output = r.loc()?;
        if kind == K_CONV_X86 {
            push(&mut packed, steps.len())?;
        }
        steps.push(Step {
            kernel,
            inputs: ins,
            output,
        });
        nodes.push(NodeInfo {
            op,
            name,
            output_shape,
            params,
            macs,
        });
    }
    if r.pos != tables.len()
        && tables
            .get(r.pos..)
            .is_some_and(|t| t.iter().any(|&b| b != 0))
    {
        return Err(malformed("plan: bytes after the last step"));
    }
    let plan = Plan {
        target: h.target,
        steps,
        weights,
        segments: Vec::new(),
        chunks: Vec::new(),
        arena_len: h.arena_len,
        inputs,
        outputs,
        output_locs,
        nodes,
        initializers,
    };
    Ok((plan, packed))
}

/// Packs the steps the compiler chose the x86-64 AVX2 kernel for (`packed`: their indices).
#[cfg(target_arch = "x86_64")]
fn specialise(mut plan: Plan, packed: &[usize]) -> Result<Plan> {
    use crate::ops::conv_x86::PackedConv;
    for &i in packed {
        let Some(step) = plan.steps.get(i) else {
            continue;
        };
        let (p, act, pool) = match step.kernel {
            Kernel::Conv { p, act } => (p, act, None),
            Kernel::ConvPool { p, act, pool, max } => (p, act, Some((pool, max))),
            _ => continue,
        };
        let w = step
            .inputs
            .get(1)
            .and_then(|&l| plan.weights(&[]).get(l))
            .ok_or_else(|| malformed("plan: convolution weights"))?;
        if let Some(k) = PackedConv::new(&p, act, pool, w)? {
            if let Some(s) = plan.steps.get_mut(i) {
                s.kernel = Kernel::ConvX86(k);
            }
        }
    }
    Ok(plan)
}

/// Plans for other targets are refused by the header check, so there is nothing to pack.
#[cfg(not(target_arch = "x86_64"))]
fn specialise(plan: Plan, packed: &[usize]) -> Result<Plan> {
    if packed.is_empty() {
        Ok(plan)
    } else {
        Err(malformed("plan: x86-64 step in a plan for another target"))
    }
}
