//! Cortex-M kernel with the FPU's fused multiply-add (FPv4-SP and later: Cortex-M4F, M7,
//! M33, M55; `cfg(rtonnx_vfma)`, set by `build.rs`) for the 3x3 block convolution of
//! `conv/blocks.rs`: one block row of 2x2 output blocks for two output channels, either as sums,
//! stored with their bias straight into the output (plain convolutions, [`store_row2`]), or
//! already max-pooled (the Conv + Relu + MaxPool 2x2 of `fused.rs`); the driver of the pooled
//! case ([`pooled_conv`]: its whole block-row loop, ring refill included, is one routine, as
//! the Rust loop's index arithmetic cost about as much as the kernels on mnist-sm's first
//! layer); and the row copy ([`copy_f32`]) that fills the ring of padded rows.
//!
//! Why assembly: LLVM does not fuse `a * b + c` without fast-math, `f32::mul_add` is not in
//! `core`, and stable Rust cannot name the M4's single-precision registers in inline assembly
//! (its `sreg` class asks for the double-precision VFPv2). Compiled from Rust, each
//! multiply-accumulate costs a VMUL and a VADD plus loads of the window and kernels (about
//! 3.9 instructions per MAC measured on mnist-sm). Here the two channels' 18 weights, the
//! eight sums and one window row live in the 32 single-precision registers, a window row or a
//! whole 3x3 kernel is one VLDM, and each multiply-accumulate is one VFMA: 84 instructions
//! per block and input channel for 72 MACs. VFMA rounds once, so the sums can differ from
//! the host's (two roundings) in the last bits; onnxruntime's x86 kernels fuse too.

/// What a routine writes per block ([`block_row2`]: `Sums`; [`pooled_conv`]: the others).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowOutput {
    /// The eight sums without bias: channel 0's `[y00, y01, y10, y11]`, then channel 1's.
    Sums,
    /// Per channel `max(sums) + bias` (2x2 max pooling of the conv without activation).
    Max,
    /// Per channel `relu(max(sums) + bias)` (max pooling of Relu(conv): equal, as Relu and
    /// adding the bias are non-decreasing).
    ReluMax,
}

/// Arguments of the 3x3 routines, in the order they read them (offsets in bytes).
#[repr(C)]
struct RowArgs {
    /// +0: first value of the window of block 0, input channel 0, in the four padded rows.
    rows: [*const f32; 4],
    /// +16: bytes from one input channel's row to the next one's (`pw * 4`).
    row_stride: usize,
    /// +20: input channels (at least 1).
    icg: usize,
    /// +24, +28: the `icg` 3x3 kernels of each output channel, row-major.
    w: [*const f32; 2],
    /// +32: blocks (at least 1).
    nbw: usize,
    /// +36: `Sums`: `8 * nbw` values; pooled: channel 0's `nbw` values.
    out: *mut f32,
    /// +40, +44: the channels' biases (pooled modes).
    bias: [f32; 2],
    /// +48: pooled and store modes: bytes from channel 0's output to channel 1's.
    out1_offset: isize,
    /// +52: store modes: bytes from one output row to the next.
    out_row_bytes: usize,
}

// Eight routines: one per [`RowOutput`] (no per-block mode test), each also for a single input
// channel (`_ic1`: both kernels stay in registers for the whole row, the window pointers step
// by two columns, no channel loop, and the first product into each sum is a VMUL, which
// rounds exactly as a VFMA onto zero does, instead of zeroing the sums). Registers: r1-r4 row
// pointers, r5 row stride, r6 icg, r7/r8 kernel pointers, r9 blocks left, r10 output, r11
// channels left (then the saved argument pointer), r12 zero, r0 the kernels' bytes (icg * 36),
// lr the bytes a row pointer moved over the channels less the 8 bytes to the next block.
// s0-s3 / s4-s7 the sums of channel 0 / 1, s8-s11 one window row, s12-s20 / s21-s29 the
// kernels of channel 0 / 1, s31 a NaN detector for the pooled outputs (it becomes NaN when an
// output is NaN or infinite). Return in r0: 1 when the detector fired, else 0.
//
// The routines share their parts through assembler macros: the 72 multiply-adds of one 4x4
// window (`rtonnx_window`), the two prologues and loop shapes, and the three kinds of output.
core::arch::global_asm!(
    // Module-level assembly does not inherit the target's FPU: name the M4F's (a subset of
    // the later cores' FPUs).
    ".fpu fpv4-sp-d16",
    // A function in its own section (for --gc-sections), and its end.
    ".macro rtonnx_func name",
    ".section .text.\\name,\"ax\",%progbits",
    ".p2align 2",
    ".global \\name",
    ".hidden \\name",
    ".type \\name,%function",
    ".thumb",
    ".thumb_func",
    "\\name:",
    ".endm",
    ".macro rtonnx_endfunc name",
    ".size \\name, . - \\name",
    ".endm",
    // One kernel row of both channels over one window row (s8-s11) into the sums of one
    // output row: a0/a1 channel 0's, b0/b1 channel 1's, k0-k2 / j0-j2 the kernel row. `op` is
    // the first product's instruction (vmul onto unset sums, else vfma).
    ".macro rtonnx_taps op, a0, a1, b0, b1, k0, k1, k2, j0, j1, j2",
    "\\op\\().f32 \\a0, \\k0, s8",
    "\\op\\().f32 \\a1, \\k0, s9",
    "\\op\\().f32 \\b0, \\j0, s8",
    "\\op\\().f32 \\b1, \\j0, s9",
    "vfma.f32 \\a0, \\k1, s9",
    "vfma.f32 \\a1, \\k1, s10",
    "vfma.f32 \\b0, \\j1, s9",
    "vfma.f32 \\b1, \\j1, s10",
    "vfma.f32 \\a0, \\k2, s10",
    "vfma.f32 \\a1, \\k2, s11",
    "vfma.f32 \\b0, \\j2, s10",
    "vfma.f32 \\b1, \\j2, s11",
    ".endm",
    // Loading window row `ptr` and moving it on: by two columns (one channel), or to the
    // next channel's row (r5).
    ".macro rtonnx_load_ic1 ptr",
    "vldmia \\ptr, {{s8-s11}}",
    "adds \\ptr, \\ptr, #8",
    ".endm",
    ".macro rtonnx_load_ch ptr",
    "vldmia \\ptr, {{s8-s11}}",
    "add \\ptr, \\ptr, r5",
    ".endm",
    // The four window rows of one channel pair: 72 multiply-adds into s0-s7.
    ".macro rtonnx_window load, op",
    "\\load r1",
    "rtonnx_taps \\op, s0, s1, s4, s5, s12, s13, s14, s21, s22, s23",
    "\\load r2",
    "rtonnx_taps vfma, s0, s1, s4, s5, s15, s16, s17, s24, s25, s26",
    "rtonnx_taps \\op, s2, s3, s6, s7, s12, s13, s14, s21, s22, s23",
    "\\load r3",
    "rtonnx_taps vfma, s0, s1, s4, s5, s18, s19, s20, s27, s28, s29",
    "rtonnx_taps vfma, s2, s3, s6, s7, s15, s16, s17, s24, s25, s26",
    "\\load r4",
    "rtonnx_taps vfma, s2, s3, s6, s7, s18, s19, s20, s27, s28, s29",
    ".endm",
    // Prologues: one input channel (both kernels loaded once), or `icg` channels (strides).
    ".macro rtonnx_prologue_ic1",
    "push {{r0, r4-r11, lr}}",
    "vpush {{s16-s31}}",
    "ldm r0, {{r1-r4}}",
    "ldr r7, [r0, #24]",
    "ldr r8, [r0, #28]",
    "ldr r9, [r0, #32]",
    "ldr r10, [r0, #36]",
    "vldmia r7, {{s12-s20}}",
    "vldmia r8, {{s21-s29}}",
    "movs r12, #0",
    "vmov s31, r12",
    ".endm",
    ".macro rtonnx_prologue_ch",
    "push {{r0, r4-r11, lr}}",
    "vpush {{s16-s31}}",
    "ldm r0, {{r1-r4}}",
    "ldr r5, [r0, #16]",
    "ldr r6, [r0, #20]",
    "ldr r7, [r0, #24]",
    "ldr r8, [r0, #28]",
    "ldr r9, [r0, #32]",
    "ldr r10, [r0, #36]",
    "mul lr, r6, r5",
    "sub lr, lr, #8",
    "movs r0, #36",
    "mul r0, r6, r0",
    "movs r12, #0",
    "vmov s31, r12",
    ".endm",
    // The sums of one block over all `icg` channels (loop label 2), the row and kernel
    // pointers then moved back to the next block.
    ".macro rtonnx_channels",
    "vmov s0, s1, r12, r12",
    "vmov s2, s3, r12, r12",
    "vmov s4, s5, r12, r12",
    "vmov s6, s7, r12, r12",
    "mov r11, r6",
    "2:",
    "vldmia r7!, {{s12-s20}}",
    "vldmia r8!, {{s21-s29}}",
    "rtonnx_window rtonnx_load_ch, vfma",
    "subs r11, r11, #1",
    "bne 2b",
    "sub r1, r1, lr",
    "sub r2, r2, lr",
    "sub r3, r3, lr",
    "sub r4, r4, lr",
    "sub r7, r7, r0",
    "sub r8, r8, r0",
    ".endm",
    // `dst` = the larger of `dst` and `src` (a NaN in `src` is not taken; the detector
    // catches it).
    ".macro rtonnx_max dst, src",
    "vcmp.f32 \\src, \\dst",
    "vmrs APSR_nzcv, fpscr",
    "it gt",
    "vmovgt.f32 \\dst, \\src",
    ".endm",
    // `v` = max(v, 0) (r12 holds 0.0).
    ".macro rtonnx_relu v",
    "vcmp.f32 \\v, #0",
    "vmrs APSR_nzcv, fpscr",
    "it mi",
    "vmovmi \\v, r12",
    ".endm",
    // Pooled output: the max of each channel's 2x2 block plus its bias (then, with `relu`,
    // clamped at 0), the detector fed, one value per channel stored.
    ".macro rtonnx_pool relu",
    "rtonnx_max s0, s1",
    "rtonnx_max s0, s2",
    "rtonnx_max s0, s3",
    "rtonnx_max s4, s5",
    "rtonnx_max s4, s6",
    "rtonnx_max s4, s7",
    "ldr r11, [sp, #64]",
    "vldr s8, [r11, #40]",
    "vldr s9, [r11, #44]",
    "vadd.f32 s0, s0, s8",
    "vadd.f32 s4, s4, s9",
    ".if \\relu",
    "rtonnx_relu s0",
    "rtonnx_relu s4",
    ".endif",
    "vadd.f32 s10, s0, s4",
    "vsub.f32 s10, s10, s10",
    "vadd.f32 s31, s31, s10",
    "ldr r11, [r11, #48]",
    "add r11, r11, r10",
    "vstr s4, [r11]",
    "vstmia r10!, {{s0}}",
    ".endm",
    // Stored output: the sums plus the biases written into two rows of both channels.
    ".macro rtonnx_store",
    "ldr r11, [sp, #64]",
    "vldr s8, [r11, #40]",
    "vldr s9, [r11, #44]",
    "vadd.f32 s0, s0, s8",
    "vadd.f32 s1, s1, s8",
    "vadd.f32 s2, s2, s8",
    "vadd.f32 s3, s3, s8",
    "vadd.f32 s4, s4, s9",
    "vadd.f32 s5, s5, s9",
    "vadd.f32 s6, s6, s9",
    "vadd.f32 s7, s7, s9",
    "ldr r12, [r11, #52]",
    "ldr r11, [r11, #48]",
    "vstmia r10, {{s0-s1}}",
    "add r12, r12, r10",
    "vstmia r12, {{s2-s3}}",
    "add r12, r12, r11",
    "vstmia r12, {{s6-s7}}",
    "add r11, r11, r10",
    "vstmia r11, {{s4-s5}}",
    "adds r10, r10, #8",
    ".endm",
    // Returns: 0, or whether the detector fired.
    ".macro rtonnx_return_zero",
    "movs r0, #0",
    "vpop {{s16-s31}}",
    "add sp, sp, #4",
    "pop {{r4-r11, pc}}",
    ".endm",
    ".macro rtonnx_return_detector",
    "vcmp.f32 s31, s31",
    "vmrs APSR_nzcv, fpscr",
    "ite vs",
    "movvs r0, #1",
    "movvc r0, #0",
    "vpop {{s16-s31}}",
    "add sp, sp, #4",
    "pop {{r4-r11, pc}}",
    ".endm",
    // One input channel: sums.
    "rtonnx_func rtonnx_conv3x3_sums2_ic1",
    "rtonnx_prologue_ic1",
    "1:",
    "rtonnx_window rtonnx_load_ic1, vmul",
    "vstmia r10!, {{s0-s7}}",
    "subs r9, r9, #1",
    "bne 1b",
    "rtonnx_return_zero",
    "rtonnx_endfunc rtonnx_conv3x3_sums2_ic1",
    // One input channel: max pooling.
    "rtonnx_func rtonnx_conv3x3_max2_ic1",
    "rtonnx_prologue_ic1",
    "1:",
    "rtonnx_window rtonnx_load_ic1, vmul",
    "rtonnx_pool 0",
    "subs r9, r9, #1",
    "bne 1b",
    "rtonnx_return_detector",
    "rtonnx_endfunc rtonnx_conv3x3_max2_ic1",
    // One input channel: Relu and max pooling.
    "rtonnx_func rtonnx_conv3x3_relumax2_ic1",
    "rtonnx_prologue_ic1",
    "1:",
    "rtonnx_window rtonnx_load_ic1, vmul",
    "rtonnx_pool 1",
    "subs r9, r9, #1",
    "bne 1b",
    "rtonnx_return_detector",
    "rtonnx_endfunc rtonnx_conv3x3_relumax2_ic1",
    // Several input channels: sums.
    "rtonnx_func rtonnx_conv3x3_sums2",
    "rtonnx_prologue_ch",
    "1:",
    "rtonnx_channels",
    "vstmia r10!, {{s0-s7}}",
    "subs r9, r9, #1",
    "bne 1b",
    "rtonnx_return_zero",
    "rtonnx_endfunc rtonnx_conv3x3_sums2",
    // One input channel: sums + bias stored straight into two output rows of both channels.
    "rtonnx_func rtonnx_conv3x3_store2_ic1",
    "rtonnx_prologue_ic1",
    "1:",
    "rtonnx_window rtonnx_load_ic1, vmul",
    "rtonnx_store",
    "subs r9, r9, #1",
    "bne 1b",
    "rtonnx_return_zero",
    "rtonnx_endfunc rtonnx_conv3x3_store2_ic1",
    // Several input channels: stored (r12, the store's temporary, is zero again after).
    "rtonnx_func rtonnx_conv3x3_store2",
    "rtonnx_prologue_ch",
    "1:",
    "rtonnx_channels",
    "rtonnx_store",
    "movs r12, #0",
    "subs r9, r9, #1",
    "bne 1b",
    "rtonnx_return_zero",
    "rtonnx_endfunc rtonnx_conv3x3_store2",
    // Several input channels: max pooling.
    "rtonnx_func rtonnx_conv3x3_max2",
    "rtonnx_prologue_ch",
    "1:",
    "rtonnx_channels",
    "rtonnx_pool 0",
    "subs r9, r9, #1",
    "bne 1b",
    "rtonnx_return_detector",
    "rtonnx_endfunc rtonnx_conv3x3_max2",
    // Several input channels: Relu and max pooling.
    "rtonnx_func rtonnx_conv3x3_relumax2",
    "rtonnx_prologue_ch",
    "1:",
    "rtonnx_channels",
    "rtonnx_pool 1",
    "subs r9, r9, #1",
    "bne 1b",
    "rtonnx_return_detector",
    "rtonnx_endfunc rtonnx_conv3x3_relumax2",
);

extern "C" {
    fn rtonnx_conv3x3_sums2(args: *const RowArgs) -> u32;
    fn rtonnx_conv3x3_max2(args: *const RowArgs) -> u32;
    fn rtonnx_conv3x3_relumax2(args: *const RowArgs) -> u32;
    fn rtonnx_conv3x3_sums2_ic1(args: *const RowArgs) -> u32;
    fn rtonnx_conv3x3_store2(args: *const RowArgs) -> u32;
    fn rtonnx_conv3x3_store2_ic1(args: *const RowArgs) -> u32;
    fn rtonnx_conv3x3_max2_ic1(args: *const RowArgs) -> u32;
    fn rtonnx_conv3x3_relumax2_ic1(args: *const RowArgs) -> u32;
}

// `rtonnx_copy_f32(dst, src, n)`: n floats, eight at a time through s0-s7 (caller-saved),
// then four, then one at a time. Used for the padded input rows of the ring: on a Cortex-M4 this is
// about a third of the instructions of the Rust loop.
core::arch::global_asm!(
    ".fpu fpv4-sp-d16",
    ".section .text.rtonnx_copy_f32,\"ax\",%progbits",
    ".p2align 2",
    ".global rtonnx_copy_f32",
    ".hidden rtonnx_copy_f32",
    ".type rtonnx_copy_f32,%function",
    ".thumb",
    ".thumb_func",
    "rtonnx_copy_f32:",
    "subs r2, r2, #8",
    "blt 2f",
    "1:",
    "vldmia r1!, {{s0-s7}}",
    "vstmia r0!, {{s0-s7}}",
    "subs r2, r2, #8",
    "bge 1b",
    "2:",
    "adds r2, r2, #8",
    "beq 4f",
    "cmp r2, #4",
    "blt 3f",
    "vldmia r1!, {{s0-s3}}",
    "vstmia r0!, {{s0-s3}}",
    "subs r2, r2, #4",
    "beq 4f",
    "3:",
    "vldmia r1!, {{s0}}",
    "vstmia r0!, {{s0}}",
    "subs r2, r2, #1",
    "bne 3b",
    "4:",
    "bx lr",
    ".size rtonnx_copy_f32, . - rtonnx_copy_f32",
);

extern "C" {
    fn rtonnx_copy_f32(dst: *mut f32, src: *const f32, n: usize);
}

/// Arguments of `rtonnx_pooled_conv3x3`, the whole block-row loop of [`pooled_conv`] for one
/// batch item and group (offsets in bytes; the routine writes `row`'s pointers, kernels,
/// output and biases before each call of `kernel`).
#[repr(C)]
struct PooledArgs {
    /// +0: what `kernel` reads (`row_stride`, `icg`, `nbw`, `out1_offset` set by the caller).
    row: RowArgs,
    /// +56: the ring: four slots of `icg` padded rows of `pw` values, zeroed by the caller.
    ring: *mut f32,
    /// +60: bytes of one slot (`icg * pw * 4`).
    slot_bytes: usize,
    /// +64: input channel 0, row 0, of this batch item and group.
    x: *const f32,
    /// +68: bytes of one input plane.
    in_plane_bytes: usize,
    /// +72: bytes of one input row.
    in_row_bytes: usize,
    /// +76: values copied per padded row (at least 1).
    ncopy: usize,
    /// +80: bytes of left padding before them.
    pl_bytes: usize,
    /// +84: padding rows above the input.
    pad_top: usize,
    /// +88: input rows.
    in_h: usize,
    /// +92: block rows (at least 1).
    nbh: usize,
    /// +96: output channel pairs of the group (at least 1).
    npairs: usize,
    /// +100: the kernels of the group's first output channel.
    w: *const f32,
    /// +104: bytes of one output channel's kernels (`icg * 9 * 4`).
    w_oc_bytes: usize,
    /// +108: the biases of the group's first output channel, or null (zeros).
    bias: *const f32,
    /// +112: the output plane of the group's first output channel.
    y: *mut f32,
    /// +116: one of the 3x3 pooled routines above.
    kernel: unsafe extern "C" fn(*const RowArgs) -> u32,
}

// The routines read these structures at fixed offsets.
const _: () = {
    assert!(core::mem::offset_of!(RowArgs, out1_offset) == 48);
    assert!(core::mem::offset_of!(RowArgs, out_row_bytes) == 52);
    assert!(core::mem::offset_of!(PooledArgs, ring) == 56);
    assert!(core::mem::offset_of!(PooledArgs, kernel) == 116);
};

// `rtonnx_pooled_conv3x3(args)`: for each block row bh, refill the ring slots of the padded
// input rows it adds (all four for bh = 0, then rows 2bh + 2 and 2bh + 3: input row
// q - pad_top of every channel, or zeros above and below the input), point the four row
// pointers at slots (2bh + r) & 3, and call `kernel` for every channel pair. Returns 1 as
// soon as a call reports a NaN or infinite output, else 0. Registers: r4 args, r5 bh, r6 q,
// r7 the end of the rows to refill, r8 ring row / kernels, r9 input row (or rows left to
// zero) / biases, r10 channels left / output, r11 pairs left.
core::arch::global_asm!(
    ".fpu fpv4-sp-d16",
    ".section .text.rtonnx_pooled_conv3x3,\"ax\",%progbits",
    ".p2align 2",
    ".global rtonnx_pooled_conv3x3",
    ".hidden rtonnx_pooled_conv3x3",
    ".type rtonnx_pooled_conv3x3,%function",
    ".thumb",
    ".thumb_func",
    "rtonnx_pooled_conv3x3:",
    // r3 only keeps the stack 8-byte aligned across the calls.
    "push {{r3-r11, lr}}",
    "mov r4, r0",
    "movs r5, #0",
    // Block row bh: refill padded rows r6 .. r7.
    "1:",
    "lsls r7, r5, #1",
    "adds r7, r7, #4",
    "subs r6, r7, #2",
    "cmp r5, #0",
    "it eq",
    "moveq r6, #0",
    "2:",
    "and r0, r6, #3",
    "ldr r1, [r4, #60]",
    "ldr r2, [r4, #56]",
    "mla r8, r0, r1, r2",
    "ldr r0, [r4, #80]",
    "add r8, r8, r0",
    "ldr r10, [r4, #20]",
    "ldr r0, [r4, #84]",
    "subs r9, r6, r0",
    "ldr r0, [r4, #88]",
    "cmp r9, r0",
    "bhs 4f",
    "ldr r0, [r4, #72]",
    "ldr r1, [r4, #64]",
    "mla r9, r9, r0, r1",
    // Copy the row of each input channel.
    "3:",
    "mov r0, r8",
    "mov r1, r9",
    "ldr r2, [r4, #76]",
    "bl rtonnx_copy_f32",
    "ldr r0, [r4, #16]",
    "add r8, r8, r0",
    "ldr r0, [r4, #68]",
    "add r9, r9, r0",
    "subs r10, r10, #1",
    "bne 3b",
    "b 6f",
    // Outside the input: zeros, for each input channel.
    "4:",
    "movs r1, #0",
    "5:",
    "mov r0, r8",
    "ldr r2, [r4, #76]",
    "55:",
    "str r1, [r0], #4",
    "subs r2, r2, #1",
    "bne 55b",
    "ldr r0, [r4, #16]",
    "add r8, r8, r0",
    "subs r10, r10, #1",
    "bne 5b",
    "6:",
    "adds r6, r6, #1",
    "cmp r6, r7",
    "blo 2b",
    // The four row pointers: slots (2bh + r) & 3.
    "ldr r1, [r4, #60]",
    "ldr r2, [r4, #56]",
    "lsls r6, r5, #1",
    "and r0, r6, #3",
    "mla r0, r0, r1, r2",
    "str r0, [r4, #0]",
    "adds r3, r6, #1",
    "and r3, r3, #3",
    "mla r3, r3, r1, r2",
    "str r3, [r4, #4]",
    "adds r3, r6, #2",
    "and r3, r3, #3",
    "mla r3, r3, r1, r2",
    "str r3, [r4, #8]",
    "adds r3, r6, #3",
    "and r3, r3, #3",
    "mla r3, r3, r1, r2",
    "str r3, [r4, #12]",
    // Channel pairs: kernels, biases, output row bh of both planes.
    "ldr r8, [r4, #100]",
    "ldr r9, [r4, #108]",
    "ldr r10, [r4, #112]",
    "ldr r0, [r4, #32]",
    "mul r0, r0, r5",
    "add r10, r10, r0, lsl #2",
    "ldr r11, [r4, #96]",
    "7:",
    "ldr r0, [r4, #104]",
    "str r8, [r4, #24]",
    "add r1, r8, r0",
    "str r1, [r4, #28]",
    "add r8, r1, r0",
    "str r10, [r4, #36]",
    "movs r0, #0",
    "movs r1, #0",
    "cmp r9, #0",
    "beq 8f",
    "ldrd r0, r1, [r9], #8",
    "8:",
    "strd r0, r1, [r4, #40]",
    "mov r0, r4",
    "ldr r12, [r4, #116]",
    "blx r12",
    "cbnz r0, 9f",
    "ldr r0, [r4, #48]",
    "add r10, r10, r0, lsl #1",
    "subs r11, r11, #1",
    "bne 7b",
    "adds r5, r5, #1",
    "ldr r0, [r4, #92]",
    "cmp r5, r0",
    "blo 1b",
    "movs r0, #0",
    "pop {{r3-r11, pc}}",
    "9:",
    "movs r0, #1",
    "pop {{r3-r11, pc}}",
    ".size rtonnx_pooled_conv3x3, . - rtonnx_pooled_conv3x3",
);

extern "C" {
    fn rtonnx_pooled_conv3x3(args: *mut PooledArgs) -> u32;
}

/// `d.copy_from_slice(&s[..d.len()])` with the routine above; does nothing when `s` is
/// shorter than `d`.
pub(crate) fn copy_f32(d: &mut [f32], s: &[f32]) {
    if s.len() < d.len() {
        return;
    }
    // SAFETY: the routine reads d.len() <= s.len() values from `s` and writes d.len() values
    // to `d` (distinct slices: `d` is borrowed mutably), using only caller-saved registers.
    unsafe { rtonnx_copy_f32(d.as_mut_ptr(), s.as_ptr(), d.len()) }
}

/// The whole Conv + (Relu) + MaxPool 2x2 of `fused.rs` with the pooled routines, when every
/// group has an even number of output channels: the padded input rows are refilled into
/// `ring` block row by block row (as `conv::conv3x3_blocks` does), then each channel pair's
/// block row is one call of a pooled routine. Every bound is checked here once; the loop
/// itself is `rtonnx_pooled_conv3x3` (as Rust it cost 6,700 of mnist-sm's 49,600
/// instructions per inference, in assembly 3,400 less).
/// `y` is `[batch, m, nbh, nbw]`. Returns false when it does not apply or a pooled value came
/// out NaN or infinite (the caller then runs the portable path, which recomputes everything).
#[allow(clippy::too_many_arguments)]
pub(crate) fn pooled_conv(
    p: &super::conv::Conv2d,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    mode: RowOutput,
    ring: &mut [f32],
    (nbh, nbw): (usize, usize),
    y: &mut [f32],
) -> bool {
    let (c, m, g) = (p.in_channels, p.out_channels, p.group);
    let (Some(icg), Some(ocg)) = (c.checked_div(g), m.checked_div(g)) else {
        return false;
    };
    let (in_h, in_w) = (p.in_h, p.in_w);
    let plane = nbh.saturating_mul(nbw);
    let pw = nbw.saturating_mul(2).saturating_add(2);
    let slot = icg.saturating_mul(pw);
    let pl = p.pad_left.min(pw);
    let ncopy = in_w.min(pw - pl);
    let in_plane = in_h.saturating_mul(in_w);
    // Everything indexed below lies inside these lengths (no overflow: the products are
    // bounded by slice lengths checked here, which fit in memory).
    // The 3x3 block geometry (kernel, stride, dilation, groups, blocks within the output
    // give or take one) is `conv3x3_blocks_apply`'s; then pairs of channels per group.
    let applies = mode != RowOutput::Sums
        && super::conv::conv3x3_blocks_apply(p, nbh, nbw)
        && ocg % 2 == 0
        && slot.checked_mul(4).is_some_and(|r| r <= ring.len())
        && p.batch.saturating_mul(c).saturating_mul(in_plane) <= x.len()
        && m.saturating_mul(icg).saturating_mul(9) <= w.len()
        && p.batch.saturating_mul(m).saturating_mul(plane) <= y.len()
        && bias.is_none_or(|b| b.len() >= m);
    if !applies {
        return false;
    }
    let Some(ring) = ring.get_mut(..4 * slot) else {
        return false;
    };
    let kernel: unsafe extern "C" fn(*const RowArgs) -> u32 = match (mode, icg) {
        (RowOutput::Max, 1) => rtonnx_conv3x3_max2_ic1,
        (RowOutput::Max, _) => rtonnx_conv3x3_max2,
        (_, 1) => rtonnx_conv3x3_relumax2_ic1,
        _ => rtonnx_conv3x3_relumax2,
    };
    // The routine's loops run at least once each.
    if ncopy == 0 || nbh == 0 || ocg == 0 {
        return false;
    }
    let w_oc = icg * 9;
    let mut a = PooledArgs {
        row: RowArgs {
            rows: [core::ptr::null(); 4],
            row_stride: pw * 4,
            icg,
            w: [core::ptr::null(); 2],
            nbw,
            out: core::ptr::null_mut(),
            bias: [0.0; 2],
            out1_offset: (plane * 4) as isize,
            out_row_bytes: 0,
        },
        ring: ring.as_mut_ptr(),
        slot_bytes: slot * 4,
        x: core::ptr::null(),
        in_plane_bytes: in_plane * 4,
        in_row_bytes: in_w * 4,
        ncopy,
        pl_bytes: pl * 4,
        pad_top: p.pad_top,
        in_h,
        nbh,
        npairs: ocg / 2,
        w: core::ptr::null(),
        w_oc_bytes: w_oc * 4,
        bias: core::ptr::null(),
        y: core::ptr::null_mut(),
        kernel,
    };
    for n in 0..p.batch {
        for gi in 0..g {
            let x0 = (n * c + gi * icg) * in_plane;
            let Some(xg) = x.get(x0..x0 + icg * in_plane) else {
                return false;
            };
            ring.fill(0.0);
            let oc = gi * ocg;
            a.ring = ring.as_mut_ptr();
            a.x = xg.as_ptr();
            a.w = w.as_ptr().wrapping_add(oc * w_oc);
            a.bias = bias.map_or(core::ptr::null(), |b| b.as_ptr().wrapping_add(oc));
            a.y = y.as_mut_ptr().wrapping_add((n * m + oc) * plane);
            // SAFETY: with the checks above (in lengths: m * icg * 9 <= w.len(), m biases,
            // batch * m * plane <= y.len(), 4 * slot ring values, xg = icg input planes; at
            // least one row value, block row and channel pair). For each block row bh < nbh
            // the routine writes, for padded rows q it refills and channels ic < icg, the
            // `ncopy` values at ring slot (q & 3), offset ic * pw + pl: inside the ring, as
            // pl + ncopy <= pw and q & 3 < 4; it reads them from xg's row q - pad_top of
            // channel ic only when that row is < in_h, and ncopy <= in_w: inside xg. It then
            // calls `kernel` per channel pair k < ocg / 2 with rows in the ring slots, the
            // kernels of channels oc + 2k and + 1 (inside w, as oc + ocg <= m), biases
            // oc + 2k and + 1 (inside `bias`) and output row bh of those channels' planes
            // (inside y), which `kernel` reads and writes as `pooled_row2` explains. The
            // routine follows the AAPCS (saves r4-r11; the kernels save s16-s31).
            if unsafe { rtonnx_pooled_conv3x3(&mut a) } != 0 {
                return false;
            }
        }
    }
    true
}

/// Checks shared by the two entry points: `rows[r]` holds padded input row `r` of the block
/// row for each of the `icg` input channels (`pw` values each), `w[k]` the `icg` 3x3 kernels
/// of channel `k`, and blocks `b0 .. b0 + nbw` have their 4x4 windows inside a row.
fn operands_fit(rows: &[&[f32]; 4], pw: usize, icg: usize, w: &[&[f32]; 2], end: usize) -> bool {
    let fits = end
        .checked_mul(2)
        .and_then(|c| c.checked_add(2))
        .is_some_and(|e| e <= pw);
    let rows_ok = icg
        .checked_mul(pw)
        .is_some_and(|len| rows.iter().all(|r| r.len() == len));
    let w_ok = icg
        .checked_mul(9)
        .is_some_and(|len| w.iter().all(|w| w.len() == len));
    icg != 0 && fits && rows_ok && w_ok
}

fn args(
    rows: [&[f32]; 4],
    pw: usize,
    icg: usize,
    w: [&[f32]; 2],
    b0: usize,
    nbw: usize,
) -> RowArgs {
    let [r0, r1, r2, r3] = rows;
    let [w0, w1] = w;
    // Callers checked `2 * b0 < pw <= row length`: a pointer to the window's first value.
    let at = |r: &[f32]| r.as_ptr().wrapping_add(2 * b0);
    RowArgs {
        rows: [at(r0), at(r1), at(r2), at(r3)],
        row_stride: pw * 4,
        icg,
        w: [w0.as_ptr(), w1.as_ptr()],
        nbw,
        out: core::ptr::null_mut(),
        bias: [0.0; 2],
        out1_offset: 0,
        out_row_bytes: 0,
    }
}

/// Sums (without bias) of the 2x2 blocks `b0 .. b0 + out.len()` of one block row for two
/// output channels, as `conv/blocks.rs`'s `block_row` defines them (operands as in
/// [`operands_fit`]). Each `out[b]` receives channel 0's block then channel 1's. Returns
/// false, computing nothing, when the operands do not fit.
pub(crate) fn block_row2(
    rows: [&[f32]; 4],
    pw: usize,
    icg: usize,
    w: [&[f32]; 2],
    b0: usize,
    out: &mut [[f32; 8]],
) -> bool {
    let nbw = out.len();
    if nbw == 0
        || !b0
            .checked_add(nbw)
            .is_some_and(|e| operands_fit(&rows, pw, icg, &w, e))
    {
        return false;
    }
    let mut a = args(rows, pw, icg, w, b0, nbw);
    a.out = out.as_mut_ptr().cast::<f32>();
    // SAFETY: the routine reads, for input channels ic < icg, blocks b < nbw and rows r < 4,
    // the four values at `rows[r] + ic * pw + 2 * (b0 + b)`, which end at
    // `(icg - 1) * pw + 2 * (b0 + nbw) + 2 <= icg * pw`, the length of `rows[r]` (checked
    // above); it reads `icg * 9` values from each `w[k]` (their lengths, checked) and, in
    // `Sums` mode, writes `8 * nbw` values to `out` (`nbw` arrays of 8). It follows the
    // AAPCS: it saves and restores the callee-saved r4-r11 and s16-s31 and the stack pointer.
    unsafe {
        if icg == 1 {
            rtonnx_conv3x3_sums2_ic1(&a)
        } else {
            rtonnx_conv3x3_sums2(&a)
        }
    };
    true
}

/// Pooled values of all `nbw` blocks of one block row for two output channels (operands as
/// in [`operands_fit`]): channel `k`'s values go to `y[at[k] .. at[k] + nbw]`, each
/// `relu?(max(block sums) + bias[k])` as `mode` says. Returns false when the operands do not
/// fit (nothing computed) or when an output came out NaN or infinite (the caller recomputes
/// the row with the portable kernel, whose NaN handling is the reference).
pub(crate) fn pooled_row2(
    rows: [&[f32]; 4],
    pw: usize,
    icg: usize,
    w: [&[f32]; 2],
    nbw: usize,
    mode: RowOutput,
    outputs: [(usize, f32); 2],
    y: &mut [f32],
) -> bool {
    let [(at0, b0), (at1, b1)] = outputs;
    let inside = |at: usize| at.checked_add(nbw).is_some_and(|e| e <= y.len());
    if nbw == 0
        || mode == RowOutput::Sums
        || !inside(at0)
        || !inside(at1)
        || !operands_fit(&rows, pw, icg, &w, nbw)
    {
        return false;
    }
    let mut a = args(rows, pw, icg, w, 0, nbw);
    // In bounds: at0 + nbw <= y.len() (checked above).
    a.out = y.as_mut_ptr().wrapping_add(at0);
    a.bias = [b0, b1];
    // Element offsets below y.len() <= isize::MAX / 4 elements: no overflow.
    a.out1_offset = (at1 as isize - at0 as isize) * 4;
    // SAFETY: reads as in `block_row2` (b0 = 0, checked by `operands_fit`); writes the values
    // `y[at0 + b]` and `y[at1 + b]` for b < nbw, inside `y` (checked above). AAPCS as there.
    let nan = unsafe {
        match (mode, icg) {
            (RowOutput::Max, 1) => rtonnx_conv3x3_max2_ic1(&a),
            (RowOutput::Max, _) => rtonnx_conv3x3_max2(&a),
            (_, 1) => rtonnx_conv3x3_relumax2_ic1(&a),
            _ => rtonnx_conv3x3_relumax2(&a),
        }
    };
    nan == 0
}

/// `sum + bias[k]` of all `nbw` blocks of one block row for two output channels, stored
/// whole into the output (no activation): channel `k`'s block `b` goes to
/// `y[at[k] + 2b ..][..2]` and `y[at[k] + out_w + 2b ..][..2]` (operands as in
/// [`operands_fit`]). Returns false, computing nothing, when the operands or the two output
/// rows of either channel do not fit.
#[allow(clippy::too_many_arguments)]
pub(crate) fn store_row2(
    rows: [&[f32]; 4],
    pw: usize,
    icg: usize,
    w: [&[f32]; 2],
    nbw: usize,
    outputs: [(usize, f32); 2],
    out_w: usize,
    y: &mut [f32],
) -> bool {
    let [(at0, b0), (at1, b1)] = outputs;
    let rows_fit = nbw.checked_mul(2).is_some_and(|c| c <= out_w);
    let inside = |at: usize| {
        out_w
            .checked_mul(2)
            .and_then(|two| at.checked_add(two))
            .is_some_and(|e| e <= y.len())
    };
    if nbw == 0
        || !rows_fit
        || !inside(at0)
        || !inside(at1)
        || !operands_fit(&rows, pw, icg, &w, nbw)
    {
        return false;
    }
    let mut a = args(rows, pw, icg, w, 0, nbw);
    // In bounds: at0 + 2 * out_w <= y.len() (checked above).
    a.out = y.as_mut_ptr().wrapping_add(at0);
    a.bias = [b0, b1];
    // Element offsets below y.len() <= isize::MAX / 4 elements: no overflow.
    a.out1_offset = (at1 as isize - at0 as isize) * 4;
    a.out_row_bytes = out_w * 4;
    // SAFETY: reads as in `block_row2` (b0 = 0, checked by `operands_fit`); writes, for
    // blocks b < nbw, `y[at + 2b]`, `y[at + 2b + 1]`, `y[at + out_w + 2b]` and
    // `y[at + out_w + 2b + 1]` for at = at0 and at1: below at + out_w + 2 * nbw <=
    // at + 2 * out_w <= y.len() (checked above). AAPCS as there.
    unsafe {
        if icg == 1 {
            rtonnx_conv3x3_store2_ic1(&a)
        } else {
            rtonnx_conv3x3_store2(&a)
        }
    };
    true
}

/// Channel `k`'s block out of one [`block_row2`] output.
#[inline(always)]
pub(crate) fn channel(o: &[f32; 8], k: usize) -> super::conv::Block {
    let [a, b, c, d, e, f, g, h] = *o;
    if k == 0 {
        [a, b, c, d]
    } else {
        [e, f, g, h]
    }
}

/// Blocks per call of [`block_row2`] (the caller's output buffer: 256 bytes of stack, in an
/// out-of-line function of its own).
pub(crate) const CHUNK: usize = 8;
