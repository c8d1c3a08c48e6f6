//! The compiler's last phase: the memory plan and the weight store, giving a [`Plan`].

use alloc::vec::Vec;

use super::{Compiled, ConstData, F32Buf};
use crate::error::{err, ErrorCode, Result};
use crate::fallible::{exact, push, try_collect};
use crate::plan::info::{self, InfoBytes};
use crate::plan::step::Loc;
use crate::plan::{arena, Plan, Target, WeightStore};

/// Resolves the compiler's output into a plan: lays out the arena and moves every constant a
/// step or an output reads, once, into the weight store. `keep` says which borrowed weights
/// may be used in place (those of a buffer that outlives the plan).
pub(crate) fn finish<'a>(
    mut c: Compiled<'a>,
    target: Target,
    keep: impl Fn(&'a [f32]) -> Option<&'static [f32]>,
) -> Result<Plan> {
    // The compiler grows its step and info tables by doubling: move them into tables of
    // exactly their length (what the model keeps), before the weights are packed.
    let mut steps = exact(core::mem::take(&mut c.steps))?;
    let nodes = exact(core::mem::take(&mut c.infos))?;
    let mut lens: Vec<usize> = Vec::new();
    lens.try_reserve_exact(c.buffers.len())?;
    lens.extend(c.buffers.iter().map(|b| b.len));
    drop(core::mem::take(&mut c.buffers));
    let input_bufs: Vec<usize> = try_collect(c.inputs.iter().map(|i| i.2))?;
    let output_bufs: Vec<usize> = try_collect(c.outputs.iter().filter_map(|o| match o.2 {
        Loc::Buf(b) => Some(b),
        _ => None,
    }))?;
    let p = arena::plan(&lens, &steps, &input_bufs, &output_bufs, true)?;

    // Pack every constant a step or an output reads, once, into the weight store.
    let mut weight_at: Vec<Option<Loc>> = Vec::new();
    weight_at.try_reserve_exact(c.consts.len())?;
    weight_at.resize(c.consts.len(), None);
    // Reserve the tables exactly: no growth, no slack. Owned constants (initializers read
    // from the file, folded weights) are moved into chunks of their own, never copied:
    // a load never holds two copies of the weights.
    let mut counted: Vec<bool> = Vec::new();
    counted.try_reserve_exact(c.consts.len())?;
    counted.resize(c.consts.len(), false);
    let (mut copied_len, mut segment_count, mut chunk_count) = (0usize, 0usize, 0usize);
    let const_locs = steps
        .iter()
        .flat_map(|s| s.inputs.iter().chain(core::iter::once(&s.output)))
        .chain(c.outputs.iter().map(|o| &o.2));
    for loc in const_locs {
        if let Loc::Const(k) = *loc {
            if let (Some(seen), Some(ConstData::F32(d))) = (counted.get_mut(k), c.consts.get(k)) {
                if !*seen {
                    *seen = true;
                    match d {
                        F32Buf::Borrowed(s) if keep(s).is_some() => segment_count += 1,
                        F32Buf::Borrowed(_) => copied_len = copied_len.saturating_add(d.len()),
                        F32Buf::Owned(_) => chunk_count += 1,
                    }
                }
            }
        }
    }
    drop(counted);
    let mut weights: Vec<f32> = Vec::new();
    weights.try_reserve_exact(copied_len)?;
    let mut segments: Vec<&'static [f32]> = Vec::new();
    segments.try_reserve_exact(segment_count)?;
    let mut chunks: Vec<Vec<f32>> = Vec::new();
    chunks.try_reserve_exact(chunk_count)?;
    let consts = &mut c.consts;
    let mut place = |id: usize,
                     weights: &mut Vec<f32>,
                     segments: &mut Vec<&'static [f32]>,
                     chunks: &mut Vec<Vec<f32>>|
     -> Result<Loc> {
        let slot = weight_at
            .get_mut(id)
            .ok_or_else(|| err(ErrorCode::InvalidArgument, "constant id"))?;
        if let Some(loc) = *slot {
            return Ok(loc);
        }
        let data = match consts.get_mut(id) {
            Some(ConstData::F32(d)) => d,
            _ => {
                return Err(err(
                    ErrorCode::UnsupportedDataType,
                    "run-time operand is not float32",
                ))
            }
        };
        let loc = match data {
            F32Buf::Owned(v) => {
                let v = core::mem::take(v);
                let len = v.len();
                push(chunks, v)?;
                Loc::Owned {
                    chunk: chunks.len() - 1,
                    len,
                }
            }
            F32Buf::Borrowed(s) => match keep(s) {
                Some(s) => {
                    push(segments, s)?;
                    Loc::Static {
                        seg: segments.len() - 1,
                        len: s.len(),
                    }
                }
                None => {
                    let off = weights.len();
                    weights.try_reserve(s.len())?;
                    weights.extend_from_slice(s);
                    Loc::Weight { off, len: s.len() }
                }
            },
        };
        *slot = Some(loc);
        Ok(loc)
    };
    let resolve_buf = |b: usize| -> Result<Loc> {
        if let Some(index) = input_bufs.iter().position(|&i| i == b) {
            let len = *lens
                .get(b)
                .ok_or_else(|| err(ErrorCode::InvalidArgument, "buffer id"))?;
            return Ok(Loc::Input { index, len });
        }
        let off = *p
            .offsets
            .get(b)
            .ok_or_else(|| err(ErrorCode::InvalidArgument, "buffer id"))?;
        let len = *lens
            .get(b)
            .ok_or_else(|| err(ErrorCode::InvalidArgument, "buffer id"))?;
        Ok(Loc::Arena { off, len })
    };
    for step in steps.iter_mut() {
        for loc in step
            .inputs
            .iter_mut()
            .chain(core::iter::once(&mut step.output))
        {
            *loc = match *loc {
                Loc::Buf(b) => resolve_buf(b)?,
                Loc::Const(k) => place(k, &mut weights, &mut segments, &mut chunks)?,
                other => other,
            };
        }
    }
    // The compiler's names and shapes are encoded into the model's tables (one block).
    let mut outputs = Vec::new();
    outputs.try_reserve_exact(c.outputs.len())?;
    for (name, shape, loc) in core::mem::take(&mut c.outputs) {
        let loc = match loc {
            Loc::Buf(b) => resolve_buf(b)?,
            Loc::Const(k) => place(k, &mut weights, &mut segments, &mut chunks)?,
            other => other,
        };
        outputs.push((name, shape, loc));
    }
    let placed = |k: usize| weight_at.get(k).copied().flatten();
    let initializers = try_collect(
        c.initializers
            .into_iter()
            .filter_map(|(name, shape, k)| Some((name, shape, placed(k)?))),
    )?;
    let inputs = try_collect(c.inputs.into_iter().map(|(name, shape, _)| (name, shape)))?;
    let (info, index) = info::encode(info::Described {
        inputs,
        outputs,
        initializers,
        nodes,
    })?;
    Ok(Plan {
        target,
        steps,
        weights: WeightStore::Owned(weights),
        segments,
        chunks,
        arena_len: p.arena_len,
        info: InfoBytes::Owned(info),
        index,
    })
}
