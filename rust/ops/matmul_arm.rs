//! Cortex-M kernel with the FPU's fused multiply-add (FPv4-SP and later; `cfg(rtonnx_vfma)`,
//! see `conv_arm.rs` for why this is assembly) for the dense layer of `matmul.rs`: a block of
//! 8 or 4 output columns, `acc[c] += x[p] * w[p][j + c]` over all rows `p`, the sums in
//! registers, each row's block of `w` one VLDM and each multiply-accumulate one VFMA (13
//! instructions per 8 MACs instead of ~30 compiled from Rust; the 4-column routine takes four
//! rows per iteration).

/// Arguments of the assembly routines (offsets in bytes).
#[repr(C)]
struct ColsArgs {
    /// +0: `x`, `k` values.
    x: *const f32,
    /// +4: `w[0][j]`; row `p`'s block starts `p * stride` bytes later.
    w: *const f32,
    /// +8: rows (at least 1).
    k: usize,
    /// +12: bytes from one row of `w` to the next (`n * 4`).
    stride: usize,
    /// +16: in: the initial sums (the bias), out: the sums.
    acc: [f32; 8],
}

core::arch::global_asm!(
    ".fpu fpv4-sp-d16",
    ".section .text.rtonnx_dense_cols8,\"ax\",%progbits",
    ".p2align 2",
    ".global rtonnx_dense_cols8",
    ".hidden rtonnx_dense_cols8",
    ".type rtonnx_dense_cols8,%function",
    ".thumb",
    ".thumb_func",
    "rtonnx_dense_cols8:",
    "vpush {{s16}}",
    "ldr r1, [r0, #0]",
    "ldr r2, [r0, #4]",
    "ldr r3, [r0, #8]",
    "ldr r12, [r0, #12]",
    "add r0, r0, #16",
    "vldmia r0, {{s0-s7}}",
    "1:",
    "vldmia r1!, {{s16}}",
    "vldmia r2, {{s8-s15}}",
    "add r2, r2, r12",
    "vfma.f32 s0, s8, s16",
    "vfma.f32 s1, s9, s16",
    "vfma.f32 s2, s10, s16",
    "vfma.f32 s3, s11, s16",
    "vfma.f32 s4, s12, s16",
    "vfma.f32 s5, s13, s16",
    "vfma.f32 s6, s14, s16",
    "vfma.f32 s7, s15, s16",
    "subs r3, r3, #1",
    "bne 1b",
    "vstmia r0, {{s0-s7}}",
    "vpop {{s16}}",
    "bx lr",
    ".size rtonnx_dense_cols8, . - rtonnx_dense_cols8",
    ".section .text.rtonnx_dense_cols4,\"ax\",%progbits",
    ".p2align 2",
    ".global rtonnx_dense_cols4",
    ".hidden rtonnx_dense_cols4",
    ".type rtonnx_dense_cols4,%function",
    ".thumb",
    ".thumb_func",
    "rtonnx_dense_cols4:",
    "vpush {{s16-s19}}",
    "ldr r1, [r0, #0]",
    "ldr r2, [r0, #4]",
    "ldr r3, [r0, #8]",
    "ldr r12, [r0, #12]",
    "add r0, r0, #16",
    "vldmia r0, {{s0-s3}}",
    "subs r3, r3, #4",
    "blt 2f",
    "1:",
    "vldmia r1!, {{s16-s19}}",
    "vldmia r2, {{s4-s7}}",
    "add r2, r2, r12",
    "vfma.f32 s0, s4, s16",
    "vfma.f32 s1, s5, s16",
    "vfma.f32 s2, s6, s16",
    "vfma.f32 s3, s7, s16",
    "vldmia r2, {{s8-s11}}",
    "add r2, r2, r12",
    "vfma.f32 s0, s8, s17",
    "vfma.f32 s1, s9, s17",
    "vfma.f32 s2, s10, s17",
    "vfma.f32 s3, s11, s17",
    "vldmia r2, {{s12-s15}}",
    "add r2, r2, r12",
    "vfma.f32 s0, s12, s18",
    "vfma.f32 s1, s13, s18",
    "vfma.f32 s2, s14, s18",
    "vfma.f32 s3, s15, s18",
    "vldmia r2, {{s4-s7}}",
    "add r2, r2, r12",
    "vfma.f32 s0, s4, s19",
    "vfma.f32 s1, s5, s19",
    "vfma.f32 s2, s6, s19",
    "vfma.f32 s3, s7, s19",
    "subs r3, r3, #4",
    "bge 1b",
    "2:",
    "adds r3, r3, #4",
    "beq 4f",
    "3:",
    "vldmia r1!, {{s16}}",
    "vldmia r2, {{s4-s7}}",
    "add r2, r2, r12",
    "vfma.f32 s0, s4, s16",
    "vfma.f32 s1, s5, s16",
    "vfma.f32 s2, s6, s16",
    "vfma.f32 s3, s7, s16",
    "subs r3, r3, #1",
    "bne 3b",
    "4:",
    "vstmia r0, {{s0-s3}}",
    "vpop {{s16-s19}}",
    "bx lr",
    ".size rtonnx_dense_cols4, . - rtonnx_dense_cols4",
);

extern "C" {
    fn rtonnx_dense_cols8(args: *mut ColsArgs);
    fn rtonnx_dense_cols4(args: *mut ColsArgs);
}

/// `acc[c] += sum over p < k of x[p] * w[p * n + j + c]` for `c < NB` (`NB` 4 or 8), in
/// order of `p`. Returns false, computing nothing, for another `NB`, `k == 0`, or when `x` has
/// fewer than `k` values or `w` fewer than `(k - 1) * n + j + NB`.
pub(crate) fn dense_cols<const NB: usize>(
    x: &[f32],
    w: &[f32],
    k: usize,
    n: usize,
    j: usize,
    acc: &mut [f32; NB],
) -> bool {
    let w_needed = (k.wrapping_sub(1))
        .checked_mul(n)
        .and_then(|v| v.checked_add(j))
        .and_then(|v| v.checked_add(NB));
    let stride = n.checked_mul(4);
    let (Some(w_needed), Some(stride)) = (w_needed, stride) else {
        return false;
    };
    if (NB != 4 && NB != 8) || k == 0 || x.len() < k || w.len() < w_needed || j + NB > n {
        return false;
    }
    let mut args = ColsArgs {
        x: x.as_ptr(),
        w: w.as_ptr().wrapping_add(j),
        k,
        stride,
        acc: [0.0; 8],
    };
    for (a, &v) in args.acc.iter_mut().zip(acc.iter()) {
        *a = v;
    }
    // SAFETY: the routine reads `k` values from `x` (x.len() >= k, checked) and, for p < k,
    // the NB values at `w + j + p * n`, the last ending at `(k - 1) * n + j + NB <= w.len()`
    // (checked); it reads and writes `args` only. It uses the caller-saved registers and
    // saves the one callee-saved one it takes (s16, 8-column routine) as the AAPCS asks.
    unsafe {
        if NB == 8 {
            rtonnx_dense_cols8(&mut args);
        } else {
            rtonnx_dense_cols4(&mut args);
        }
    }
    for (a, &v) in acc.iter_mut().zip(args.acc.iter()) {
        *a = v;
    }
    true
}
