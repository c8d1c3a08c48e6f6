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

use alloc::vec::Vec;

use super::info::InfoBytes;
use super::parts::{self, Part};
use super::step::{Dims, Kernel, Loc, SignedDims, Step};
use super::{validate, Plan, Target, WeightStore};
use crate::error::{err, fault, Error, ErrorCode, Fault, FaultResult, Result};
use crate::fallible::push;
use crate::ops::activation::Activation;
use crate::ops::binary::{BinaryOp, Broadcast};
use crate::ops::conv::Conv2d;
use crate::ops::matmul::{BatchedMatMul, Gemm, GemmBias};
use crate::ops::pool::Pool2d;
use crate::ops::reduce::{Reduce, ReduceOp};
use crate::ops::unary::UnaryOp;
use crate::ops::MAX_RANK;

mod kinds;
pub(crate) mod read;
pub(crate) mod write;

use kinds::*;
pub(crate) use kinds::{kind_of, part_of_kind};
use read::*;
pub use write::write;
use write::*;

/// The first 8 bytes of every plan.
pub const MAGIC: [u8; 8] = *b"RTONNXPL";
/// The format version this library writes and reads.
pub const VERSION: u16 = 4;
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

/// [`malformed`] as a [`Fault`].
const fn malformed_f(what: &'static str) -> Fault {
    fault(ErrorCode::Malformed, what)
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
    header(bytes, true, false).map(|_| ())
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

/// Reads and checks the header; with `checksums`, both checksums too; with `any_target`, a
/// plan for another target passes.
fn header(bytes: &[u8], checksums_too: bool, any_target: bool) -> Result<Header> {
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
                "plan format newer than this library reads (version 4): update the library or recompile the plan"
            } else {
                "plan format older than this library reads (version 4): recompile the plan"
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
    if target != Target::native() && !any_target {
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
    let h = header(bytes, in_place.is_none(), false)?;
    let in_place = in_place.filter(|s| s.as_ptr() == bytes.as_ptr() && s.len() == bytes.len());
    let weights = match in_place
        .and_then(|s| s.get(h.weights_off..h.total))
        .and_then(super::f32_view)
    {
        Some(s) => WeightStore::Static(s),
        None => copy_weights(bytes, &h)?,
    };
    let keep = in_place.map_or(Keep::Copy, Keep::InPlace);
    read_tables(bytes, h, weights, keep)
}

/// Reads and checks a plan held in a buffer of its own (e.g. read from a file), checksums
/// included. The buffer is kept and its weights used where they lie when they are aligned
/// for f32, so the weights are not in RAM twice; otherwise they are copied and it is freed.
pub fn read_vec(bytes: Vec<u8>) -> Result<Plan> {
    let h = header(&bytes, true, false)?;
    let range = h.weights_off..h.total;
    let aligned = bytes.get(range.clone()).and_then(super::f32_view).is_some();
    if !aligned {
        let weights = copy_weights(&bytes, &h)?;
        return read_tables(&bytes, h, weights, Keep::Copy);
    }
    // The tables are read from the buffer before it moves into the weight store (moving a
    // Vec does not move its heap block, so the aligned view stays valid).
    let (mut plan, packed) = parse_tables(
        &bytes,
        h,
        WeightStore::Owned(Vec::new()),
        Keep::InWeightBuffer,
    )?;
    plan.weights = WeightStore::in_buffer(bytes, range)?;
    validate::check(&plan)?;
    specialise(&mut plan, &packed)?;
    Ok(plan)
}

/// Reads and checks a plan compiled for any target, checksums included, weights copied: for
/// host tools (`rtonnx info`, `run`, `eval`, `bench` on the plan a board runs). Every step
/// has a portable kernel, which computes what the target's fast kernels compute up to
/// rounding (fused multiply-adds round once), so a plan for another target runs here with
/// the portable kernels; one for this target gets this CPU's (as [`read`] gives it). The
/// plan keeps its target, which [`Plan::target`] names.
pub fn read_for_host(bytes: &[u8]) -> Result<Plan> {
    let h = header(bytes, true, true)?;
    let native = h.target == Target::native();
    let weights = copy_weights(bytes, &h)?;
    let (mut plan, packed) = parse_tables(bytes, h, weights, Keep::Copy)?;
    validate::check(&plan)?;
    if native {
        specialise(&mut plan, &packed)?;
        Ok(plan)
    } else {
        // x86-64 convolutions were read as their portable form: nothing to pack here.
        Ok(plan)
    }
}

/// Reads the tables of a plan whose header `h` is checked, over `weights`, and checks it.
/// (The plan is specialised in place, not moved through another call: a plan takes ~140
/// bytes of a frame.)
fn read_tables(bytes: &[u8], h: Header, weights: WeightStore, keep: Keep) -> Result<Plan> {
    let (mut plan, packed) = parse_tables(bytes, h, weights, keep)?;
    validate::check(&plan)?;
    specialise(&mut plan, &packed)?;
    Ok(plan)
}

/// How a plan being read keeps its information tables.
#[derive(Clone, Copy)]
enum Keep {
    /// Where they lie: the plan is this buffer, which lives for the whole program.
    InPlace(&'static [u8]),
    /// In a copy of their own.
    Copy,
    /// In the plan's buffer, which the weight store keeps.
    InWeightBuffer,
}

/// Reads the tables of a plan whose header `h` is checked, over `weights`, unchecked; with
/// the indices of the steps to pack for the x86-64 kernel.
fn parse_tables(
    bytes: &[u8],
    h: Header,
    weights: WeightStore,
    keep: Keep,
) -> Result<(Plan, Vec<usize>)> {
    let tables = bytes
        .get(..h.weights_off)
        .ok_or_else(|| malformed("plan: tables"))?;
    let after_header = tables
        .get(HEADER_LEN..)
        .ok_or_else(|| malformed("plan: tables"))?;
    let n_steps = h.counts[3];
    // A step takes at least 5 words: bounds the count by the plan's size.
    if n_steps.saturating_mul(5) > tables.len() / 4 {
        return Err(malformed("plan: count larger than the plan"));
    }
    let (index, info_len) = super::info::Index::scan(after_header, h.counts)?;
    let info_range = HEADER_LEN..HEADER_LEN + info_len;
    let info = match keep {
        Keep::InPlace(s) => InfoBytes::Static(s.get(info_range.clone()).unwrap_or(&[])),
        Keep::Copy => InfoBytes::Owned(crate::fallible::copy_of(
            after_header.get(..info_len).unwrap_or(&[]),
        )?),
        Keep::InWeightBuffer => InfoBytes::InWeightBuffer(info_range.clone()),
    };
    let mut r = Reader {
        b: tables,
        pos: info_range.end,
    };
    let mut steps = Vec::new();
    steps.try_reserve_exact(n_steps)?;
    let mut packed = Vec::new();
    for _ in 0..n_steps {
        let kind = r.word()?;
        if kind == K_CONV_X86 {
            push(&mut packed, steps.len())?;
        }
        read_step(&mut r, kind, &mut steps)?;
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
        info,
        index,
    };
    Ok((plan, packed))
}

/// Reads a step of `kind` (its kernel and operands) into a new entry of `steps` (reserved:
/// the push does not allocate). The kernel is read into the entry in place, not moved there
/// (a kernel takes ~190 bytes). (Out of line: its values are not in the caller's frame.)
#[inline(never)]
fn read_step(r: &mut Reader<'_>, kind: u32, steps: &mut Vec<Step>) -> Result<()> {
    steps.push(Step {
        kernel: Kernel::Copy,
        inputs: Vec::new(),
        output: Loc::Buf(0),
    });
    let step = steps.last_mut().ok_or_else(|| malformed("plan: steps"))?;
    get_kernel(r, kind, &mut step.kernel)?;
    let n = r.count(3)?;
    step.inputs.try_reserve_exact(n)?;
    for _ in 0..n {
        step.inputs.push(r.loc()?);
    }
    step.output = r.loc()?;
    Ok(())
}

/// Packs the steps the compiler chose the x86-64 AVX2 kernel for (`packed`: their indices).
#[cfg(target_arch = "x86_64")]
fn specialise(plan: &mut Plan, packed: &[usize]) -> Result<()> {
    use crate::ops::conv_x86::PackedConv;
    for &i in packed {
        let Some(step) = plan.steps.get(i) else {
            continue;
        };
        let (p, act, pool) = match step.kernel {
            Kernel::Conv { p, act } => (p, act, None),
            Kernel::ConvPool {
                p, act, pool, max, ..
            } => (p, act, Some((pool, max))),
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
    Ok(())
}

/// Plans for other targets are refused by the header check, so there is nothing to pack.
#[cfg(not(target_arch = "x86_64"))]
fn specialise(_plan: &mut Plan, packed: &[usize]) -> Result<()> {
    if packed.is_empty() {
        Ok(())
    } else {
        Err(malformed("plan: x86-64 step in a plan for another target"))
    }
}
