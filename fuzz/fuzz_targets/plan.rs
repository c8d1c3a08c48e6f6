//! Arbitrary bytes as a compiled plan (`.rtm`, `rust/plan/format.rs`). The first input byte
//! says how to fix the rest up before it is loaded, so that mutated plans get past the
//! header and the checksums into the tables and their validation (random bytes almost never
//! match a CRC-32):
//!
//! | bit | fix-up (when the plan is at least a header long) |
//! | --- | --- |
//! | `0x01` | write the magic `RTONNXPL` |
//! | `0x02` | write this library's format version, header length, target and library version |
//! | `0x04` | write the total length, and the weight-section length that makes it end there |
//! | `0x08` | do **not** recompute the two CRC-32s (`format::seal`): damaged checksums |
//! | `0x10` | place the plan at an odd address (in-place loads must then copy the weights) |
//!
//! The plan is then loaded as the device loads it: `onnx_model_load_from_memory_ex`
//! (`Model::from_bytes`) and `onnx_model_load_static_ex` (`Model::from_static`, used in
//! place, checksums not computed) through `common::check`, as `load_run` does, and
//! `Model::from_vec` (what `onnx_model_load` does with a file's bytes). A plan that loads is
//! run with input values from the last 64 input bytes. Checks: no panic; no hang
//! (`-timeout`); the heap bound of `load_run`; no run allocates; nothing leaks; the copied,
//! in-place and from-file models compute bit-identical outputs; when `onnx_plan_verify`
//! accepts the checksums, the three loads give the same code (out-of-memory aside); a plan
//! the copying load accepts passes `onnx_plan_verify`. A plan whose copying load fails
//! (e.g. a damaged checksum) is still loaded in place and run: that path never reads the
//! checksums, so it must survive damaged tables and weights on its own.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtonnx::capi;
use rtonnx::plan::format;
use rtonnx::{Model, Target};

mod common;

const FIX_MAGIC: u8 = 0x01;
const FIX_VERSIONS: u8 = 0x02;
const FIX_LENGTHS: u8 = 0x04;
const KEEP_CRC: u8 = 0x08;
const ODD_ADDRESS: u8 = 0x10;

fn set(p: &mut [u8], at: usize, b: &[u8]) {
    p[at..at + b.len()].copy_from_slice(b);
}

fn word(p: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(p[at..at + 4].try_into().unwrap())
}

/// Applies the fix-ups `ctrl` asks for to `p`.
fn fix_up(ctrl: u8, p: &mut [u8]) {
    if p.len() < format::HEADER_LEN {
        return;
    }
    if ctrl & FIX_MAGIC != 0 {
        set(p, 0, &format::MAGIC);
    }
    if ctrl & FIX_VERSIONS != 0 {
        set(p, 8, &format::VERSION.to_le_bytes());
        set(p, 10, &(format::HEADER_LEN as u16).to_le_bytes());
        set(p, 12, &[Target::native().code(), 0, 0, 0]);
        set(p, 16, &format::library_version().to_le_bytes());
    }
    if ctrl & FIX_LENGTHS != 0 {
        let len = p.len();
        set(p, 24, &(len as u32).to_le_bytes());
        let off = word(p, 32) as usize;
        if off <= len && (len - off) % 4 == 0 {
            set(p, 36, &(((len - off) / 4) as u32).to_le_bytes());
        }
    }
    if ctrl & KEEP_CRC == 0 {
        // Refused (weight offset outside the plan) leaves the bytes as they are.
        let _ = format::seal(p);
    }
}

/// `bytes` copied to a 16-byte aligned address, or one byte past it.
struct Placed {
    words: Vec<u128>,
    at: usize,
    len: usize,
}

impl Placed {
    fn new(bytes: &[u8], odd: bool) -> Placed {
        let at = usize::from(odd);
        let mut words = vec![0u128; (bytes.len() + at).div_ceil(16).max(1)];
        // SAFETY: the u128 buffer covers at least `at + bytes.len()` bytes.
        let view = unsafe {
            std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), words.len() * 16)
        };
        view[at..at + bytes.len()].copy_from_slice(bytes);
        Placed {
            words,
            at,
            len: bytes.len(),
        }
    }
    fn bytes(&self) -> &[u8] {
        // SAFETY: within the buffer (see `new`); u8 has no alignment or validity requirement.
        let all = unsafe {
            std::slice::from_raw_parts(self.words.as_ptr().cast::<u8>(), self.words.len() * 16)
        };
        &all[self.at..self.at + self.len]
    }
}

fn verify(bytes: &[u8]) -> i32 {
    // SAFETY: `bytes` is `bytes.len()` readable bytes; no error slot.
    unsafe { capi::onnx_plan_verify(bytes.as_ptr(), bytes.len(), std::ptr::null_mut()) }
}

/// Loads `bytes` with `Model::from_vec` (the bytes of a file), checks the heap bound, runs
/// what loads; returns the code and the outputs.
fn load_vec_and_run(bytes: &[u8], tail: &[u8]) -> (i32, Option<Vec<u32>>) {
    common::leak_checked(
        "a plan load from a buffer of its own, run and free",
        |r: &(i32, Option<Vec<u32>>)| common::output_bytes(&r.1),
        || {
            let v = bytes.to_vec();
            common::arm();
            let r = Model::from_vec(v);
            let (peak, _) = common::disarm();
            let arena = r.as_ref().map_or(0, Model::arena_bytes);
            let bound = common::load_bound(bytes.len(), arena);
            assert!(
                peak <= bound,
                "from_vec of {} bytes peaked at {peak} (arena {arena}), bound {bound}",
                bytes.len()
            );
            match r {
                Err(e) => (e.code().as_i32(), None),
                Ok(mut m) => {
                    let out = if common::runnable(m.arena_bytes(), m.total_macs()) {
                        common::run_model(&mut m, tail)
                    } else {
                        None
                    };
                    (0, out)
                }
            }
        },
    )
}

fuzz_target!(|data: &[u8]| {
    let Some((&ctrl, rest)) = data.split_first() else {
        return;
    };
    let mut plan = rest.to_vec();
    fix_up(ctrl, &mut plan);
    let placed = Placed::new(&plan, ctrl & ODD_ADDRESS != 0);
    let bytes = placed.bytes();
    let tail = &data[data.len().saturating_sub(64)..];
    let oom = rtonnx::ErrorCode::OutOfMemory.as_i32();

    let verified = verify(bytes) == 0;
    let c = common::check(bytes, tail);
    if c.copied == 0 {
        assert!(
            verified,
            "a copying load accepted a plan onnx_plan_verify refuses"
        );
    }
    let (vec_rc, vec_out) = load_vec_and_run(bytes, tail);
    if c.copied != oom && vec_rc != oom {
        assert_eq!(vec_rc, c.copied, "from_vec and from_bytes disagree");
    }
    if c.copied == 0 && vec_rc == 0 {
        assert_eq!(vec_out, c.outputs, "from_vec and from_bytes models differ");
    }
    if c.copied != 0 {
        // `check` tries the in-place load only after the copying load succeeded.
        let (static_rc, _) = common::load_static_and_run(bytes, tail);
        if verified && c.copied != oom && static_rc != oom {
            assert_eq!(
                static_rc, c.copied,
                "checksums pass, the copying and in-place loads disagree"
            );
        }
    }
});
