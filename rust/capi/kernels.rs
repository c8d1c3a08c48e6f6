//! The kernels over caller buffers (`onnx_conv2d`, `onnx_relu`, ...): layers a C program
//! calls directly, without a model.

use core::ffi::c_int;

use super::{code, overlaps, OK};
use crate::error::ErrorCode;
use crate::ops::activation::Activation;
use crate::ops::conv::{self, Conv2d};
use crate::ops::pool::{self, Pool2d};
use crate::ops::{layout, matmul, softmax, MAX_RANK};

// ---------------------------------------------------------------------------------------
// Kernels over caller buffers. Order of checks: NULL pointers, parameters, sizes (checked
// multiplication), the output length, then that the output overlaps no input.

fn product(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

/// Largest element count a float slice may have (`len * 4` must fit in `isize`).
const MAX_FLOATS: usize = isize::MAX as usize / core::mem::size_of::<f32>();

/// Checks a caller's float buffer pointer for a slice of `n` elements: aligned, and `n` small
/// enough for a Rust slice (NULL was checked before).
pub(super) fn check_buffer(p: *const f32, n: usize) -> Result<(), c_int> {
    if n > MAX_FLOATS {
        return Err(code(ErrorCode::InvalidDimension));
    }
    if (p as usize) % core::mem::align_of::<f32>() != 0 {
        return Err(code(ErrorCode::InvalidArgument));
    }
    Ok(())
}

/// `n` floats at `p` as a slice.
///
/// # Safety
/// `p` must point to `n` readable floats that nothing writes while the slice lives.
unsafe fn slice<'a>(p: *const f32, n: usize) -> Result<&'a [f32], c_int> {
    if p.is_null() {
        return Err(code(ErrorCode::NullPointer));
    }
    check_buffer(p, n)?;
    // SAFETY: non-NULL, aligned, `n` readable floats within isize::MAX bytes (checked above
    // and caller contract).
    Ok(unsafe { core::slice::from_raw_parts(p, n) })
}

/// `n` floats at `p` as a mutable slice.
///
/// # Safety
/// `p` must point to `n` writable floats that nothing else reads or writes while the slice
/// lives.
unsafe fn slice_mut<'a>(p: *mut f32, n: usize) -> Result<&'a mut [f32], c_int> {
    if p.is_null() {
        return Err(code(ErrorCode::NullPointer));
    }
    check_buffer(p, n)?;
    // SAFETY: non-NULL, aligned, `n` writable floats within isize::MAX bytes, not aliased
    // (checked above and caller contract).
    Ok(unsafe { core::slice::from_raw_parts_mut(p, n) })
}

/// `Err(code(ErrorCode::InvalidArgument))` when the output range overlaps any of the inputs.
fn disjoint(out: *const f32, out_len: usize, inputs: &[(*const f32, usize)]) -> Result<(), c_int> {
    if inputs
        .iter()
        .any(|&(p, n)| !p.is_null() && overlaps(out, out_len, p, n))
    {
        return Err(code(ErrorCode::InvalidArgument));
    }
    Ok(())
}

/// Output side of a convolution or pooling window: `floor((input + pad - span) / stride) + 1`
/// with `span = dilation * (kernel - 1) + 1`; None when the window does not fit or a value
/// overflows.
fn out_size(
    input: usize,
    pad: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
) -> Option<usize> {
    let span = dilation
        .checked_mul(kernel.checked_sub(1)?)?
        .checked_add(1)?;
    let padded = input.checked_add(pad)?;
    if stride == 0 || padded < span {
        return None;
    }
    Some((padded - span) / stride + 1)
}

fn code_of(r: Result<(), c_int>) -> c_int {
    match r {
        Ok(()) => OK,
        Err(c) => c,
    }
}

/// 2-D convolution over caller buffers, NCHW: `input` is `[batch, in_c, in_h, in_w]`,
/// `weights` `[out_c, in_c / group, kernel_h, kernel_w]`, `bias` `[out_c]` or NULL, and
/// `output` `[batch, out_c, out_h, out_w]` with
/// `out_h = (in_h + pad_top + pad_bottom - dilation_h * (kernel_h - 1) - 1) / stride_h + 1`
/// (likewise `out_w`); `output_len` must equal that element count. `relu` != 0 applies Relu.
/// Kernel, stride, dilation and group must be >= 1, `group` must divide both channel
/// counts, and the output must not overlap the other buffers.
/// Returns 0 or a negative code: `ONNX_ERR_NULL_POINTER`, `ONNX_ERR_INVALID_ARGUMENT`
/// (parameters, overlap), `ONNX_ERR_INVALID_DIMENSION` (sizes overflow),
/// `ONNX_ERR_BUFFER_LENGTH` (`output_len`).
#[no_mangle]
pub unsafe extern "C" fn onnx_conv2d(
    input: *const f32,
    batch: usize,
    in_c: usize,
    in_h: usize,
    in_w: usize,
    weights: *const f32,
    out_c: usize,
    kernel_h: usize,
    kernel_w: usize,
    stride_h: usize,
    stride_w: usize,
    pad_top: usize,
    pad_left: usize,
    pad_bottom: usize,
    pad_right: usize,
    dilation_h: usize,
    dilation_w: usize,
    group: usize,
    bias: *const f32,
    relu: c_int,
    output: *mut f32,
    output_len: usize,
) -> c_int {
    if input.is_null() || weights.is_null() || output.is_null() {
        return code(ErrorCode::NullPointer);
    }
    let positive = [
        in_c, out_c, kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w, group,
    ];
    if positive.contains(&0) || in_c % group != 0 || out_c % group != 0 {
        return code(ErrorCode::InvalidArgument);
    }
    let (Some(pad_h), Some(pad_w)) = (
        pad_top.checked_add(pad_bottom),
        pad_left.checked_add(pad_right),
    ) else {
        return code(ErrorCode::InvalidDimension);
    };
    let (Some(out_h), Some(out_w)) = (
        out_size(in_h, pad_h, kernel_h, stride_h, dilation_h),
        out_size(in_w, pad_w, kernel_w, stride_w, dilation_w),
    ) else {
        return code(ErrorCode::InvalidArgument);
    };
    let (Some(x_len), Some(w_len), Some(y_len)) = (
        product(&[batch, in_c, in_h, in_w]),
        product(&[out_c, in_c / group, kernel_h, kernel_w]),
        product(&[batch, out_c, out_h, out_w]),
    ) else {
        return code(ErrorCode::InvalidDimension);
    };
    if y_len != output_len {
        return code(ErrorCode::BufferLength);
    }
    let p = Conv2d {
        batch,
        in_channels: in_c,
        in_h,
        in_w,
        out_channels: out_c,
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
    };
    let run = || -> Result<(), c_int> {
        disjoint(
            output,
            y_len,
            &[(input, x_len), (weights, w_len), (bias, out_c)],
        )?;
        // SAFETY: each pointer holds the number of floats its geometry gives (API contract);
        // NULL and alignment are checked by the helpers, the output overlaps no input.
        let (x, w, y) = unsafe {
            (
                slice(input, x_len)?,
                slice(weights, w_len)?,
                slice_mut(output, y_len)?,
            )
        };
        let b = if bias.is_null() {
            None
        } else {
            // SAFETY: a non-NULL bias holds `out_c` floats (API contract).
            Some(unsafe { slice(bias, out_c) }?)
        };
        let act = if relu != 0 {
            Activation::Relu
        } else {
            Activation::None
        };
        conv::conv2d(&p, x, w, b, act, y);
        Ok(())
    };
    code_of(run())
}

/// Relu in place over `len` floats. Returns 0 or a negative code.
#[no_mangle]
pub unsafe extern "C" fn onnx_relu(data: *mut f32, len: usize) -> c_int {
    // SAFETY: `data` holds `len` floats (API contract); NULL and alignment checked inside.
    match unsafe { slice_mut(data, len) } {
        Ok(d) => {
            Activation::Relu.apply_in_place(d);
            OK
        }
        Err(c) => c,
    }
}

/// 2-D max pooling, NCHW: `input` `[batch, channels, in_h, in_w]`, `output`
/// `[batch, channels, out_h, out_w]` with `out_h = (in_h + pad_top + pad_bottom - kernel_h) /
/// stride_h + 1` (floor; likewise `out_w`); `output_len` must equal that element count.
/// Kernel and stride must be >= 1 and each pad smaller than the kernel (padding never
/// wins the max). The buffers must not overlap. Returns 0 or a negative code.
#[no_mangle]
pub unsafe extern "C" fn onnx_maxpool2d(
    input: *const f32,
    batch: usize,
    channels: usize,
    in_h: usize,
    in_w: usize,
    kernel_h: usize,
    kernel_w: usize,
    stride_h: usize,
    stride_w: usize,
    pad_top: usize,
    pad_left: usize,
    pad_bottom: usize,
    pad_right: usize,
    output: *mut f32,
    output_len: usize,
) -> c_int {
    if input.is_null() || output.is_null() {
        return code(ErrorCode::NullPointer);
    }
    if [kernel_h, kernel_w, stride_h, stride_w].contains(&0)
        || pad_top >= kernel_h
        || pad_bottom >= kernel_h
        || pad_left >= kernel_w
        || pad_right >= kernel_w
    {
        return code(ErrorCode::InvalidArgument);
    }
    let (Some(out_h), Some(out_w)) = (
        pad_top
            .checked_add(pad_bottom)
            .and_then(|pad| out_size(in_h, pad, kernel_h, stride_h, 1)),
        pad_left
            .checked_add(pad_right)
            .and_then(|pad| out_size(in_w, pad, kernel_w, stride_w, 1)),
    ) else {
        return code(ErrorCode::InvalidArgument);
    };
    let (Some(x_len), Some(y_len)) = (
        product(&[batch, channels, in_h, in_w]),
        product(&[batch, channels, out_h, out_w]),
    ) else {
        return code(ErrorCode::InvalidDimension);
    };
    if y_len != output_len {
        return code(ErrorCode::BufferLength);
    }
    let p = Pool2d {
        batch,
        channels,
        in_h,
        in_w,
        out_h,
        out_w,
        kernel_h,
        kernel_w,
        stride_h,
        stride_w,
        dilation_h: 1,
        dilation_w: 1,
        pad_top,
        pad_left,
        pad_bottom,
        pad_right,
        count_include_pad: false,
    };
    let run = || -> Result<(), c_int> {
        disjoint(output, y_len, &[(input, x_len)])?;
        // SAFETY: buffers of the stated sizes (API contract), checked not to overlap.
        let (x, y) = unsafe { (slice(input, x_len)?, slice_mut(output, y_len)?) };
        pool::max_pool2d(&p, x, y);
        Ok(())
    };
    code_of(run())
}

/// Dense layer `output[m, n] = input[m, k] * weights[k, n] + bias[n]` (row-major; `bias`
/// may be NULL). `output_len` must equal `m * n`; the output must not overlap the other
/// buffers. Returns 0 or a negative code.
#[no_mangle]
pub unsafe extern "C" fn onnx_dense(
    input: *const f32,
    m: usize,
    k: usize,
    weights: *const f32,
    n: usize,
    bias: *const f32,
    output: *mut f32,
    output_len: usize,
) -> c_int {
    if input.is_null() || weights.is_null() || output.is_null() {
        return code(ErrorCode::NullPointer);
    }
    let (Some(x_len), Some(w_len), Some(y_len)) =
        (product(&[m, k]), product(&[k, n]), product(&[m, n]))
    else {
        return code(ErrorCode::InvalidDimension);
    };
    if y_len != output_len {
        return code(ErrorCode::BufferLength);
    }
    let run = || -> Result<(), c_int> {
        disjoint(
            output,
            y_len,
            &[(input, x_len), (weights, w_len), (bias, n)],
        )?;
        // SAFETY: buffers of the stated sizes (API contract), checked not to overlap.
        let (x, w, y) = unsafe {
            (
                slice(input, x_len)?,
                slice(weights, w_len)?,
                slice_mut(output, y_len)?,
            )
        };
        let b = if bias.is_null() {
            None
        } else {
            // SAFETY: a non-NULL bias holds `n` floats (API contract).
            Some(unsafe { slice(bias, n) }?)
        };
        matmul::dense(x, w, b, Activation::None, y, m, k, n);
        Ok(())
    };
    code_of(run())
}

/// Softmax of each of `rows` rows of `cols` values. `input` and `output` may be the same
/// buffer (in place) but must not overlap otherwise. Returns 0 or a negative code.
#[no_mangle]
pub unsafe extern "C" fn onnx_softmax(
    input: *const f32,
    output: *mut f32,
    rows: usize,
    cols: usize,
) -> c_int {
    if input.is_null() || output.is_null() {
        return code(ErrorCode::NullPointer);
    }
    let Some(n) = product(&[rows, cols]) else {
        return code(ErrorCode::InvalidDimension);
    };
    let run = || -> Result<(), c_int> {
        if core::ptr::eq(input, output) {
            // SAFETY: one buffer of `n` floats (API contract), used alone.
            let y = unsafe { slice_mut(output, n) }?;
            softmax::softmax_in_place(y, rows, cols, 1);
            return Ok(());
        }
        disjoint(output, n, &[(input, n)])?;
        // SAFETY: two buffers of `n` floats (API contract), checked not to overlap.
        let (x, y) = unsafe { (slice(input, n)?, slice_mut(output, n)?) };
        softmax::softmax(x, y, rows, cols, 1);
        Ok(())
    };
    code_of(run())
}

/// Transposes a tensor of `rank` (<= 8) dims `dims` by `perm` (output dim i is input dim
/// `perm[i]`; `perm` must be a permutation of 0..rank). Input and output hold the product of
/// `dims` floats each and must not overlap. Returns 0 or a negative code.
#[no_mangle]
pub unsafe extern "C" fn onnx_transpose(
    input: *const f32,
    output: *mut f32,
    dims: *const usize,
    perm: *const usize,
    rank: usize,
) -> c_int {
    if input.is_null() || output.is_null() || dims.is_null() || perm.is_null() {
        return code(ErrorCode::NullPointer);
    }
    if rank > MAX_RANK {
        return code(ErrorCode::LimitExceeded);
    }
    // SAFETY: `dims` and `perm` are non-NULL and hold `rank` (<= 8) values (API contract).
    let (d, p) = unsafe {
        (
            core::slice::from_raw_parts(dims, rank),
            core::slice::from_raw_parts(perm, rank),
        )
    };
    let mut seen = [false; MAX_RANK];
    for &i in p {
        match seen.get_mut(i) {
            Some(s) if !*s && i < rank => *s = true,
            _ => return code(ErrorCode::InvalidArgument),
        }
    }
    let Some(n) = product(d) else {
        return code(ErrorCode::InvalidDimension);
    };
    let run = || -> Result<(), c_int> {
        disjoint(output, n, &[(input, n)])?;
        // SAFETY: buffers of `n` floats (API contract), checked not to overlap.
        let (x, y) = unsafe { (slice(input, n)?, slice_mut(output, n)?) };
        layout::transpose(x, y, d, p);
        Ok(())
    };
    code_of(run())
}
