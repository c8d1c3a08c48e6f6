//! Tests of the C API from Rust (tests/c/ has those from C).

use super::*;

fn message(e: &onnx_error_t) -> &str {
    // SAFETY: (test) `report` NUL-terminates the message inside the array.
    let c = unsafe { CStr::from_ptr(e.message.as_ptr()) };
    c.to_str().expect("messages stay UTF-8")
}

fn blank() -> onnx_error_t {
    onnx_error_t {
        code: 1,
        message: [b'x' as c_char; 128],
    }
}

#[test]
fn messages_are_cut_between_characters_and_terminated() {
    let long = "é".repeat(40);
    let e = err(
        ErrorCode::ShapeMismatch,
        "a detail message that takes some room, so the name is cut off",
    )
    .with_name(&long);
    let full = alloc::format!("{e}");
    assert!(full.len() > 127);
    let mut out = blank();
    assert_eq!(report(Some(&mut out), &e), code(ErrorCode::ShapeMismatch));
    assert_eq!(out.code, code(ErrorCode::ShapeMismatch));
    let m = message(&out);
    // 92 ASCII bytes, then two-byte characters: the 18th would end at byte 128.
    assert_eq!(m.len(), 126);
    assert!(full.starts_with(m));
    clear(Some(&mut out));
    assert_eq!((out.code, message(&out)), (0, ""));
    // A NULL error struct is allowed.
    assert_eq!(report(None, &e), code(ErrorCode::ShapeMismatch));
    let short = err(ErrorCode::NullPointer, "model");
    report(Some(&mut out), &short);
    assert_eq!(message(&out), "NULL pointer argument: model");
}

#[test]
fn loading_garbage_reports_without_a_handle() {
    let junk = [0x08u8, 0x01, 0xff];
    let mut e = blank();
    let mut m = core::ptr::dangling_mut::<onnx_model_t>();
    // SAFETY: (test) valid buffers and slots.
    let rc = unsafe { onnx_model_load_from_memory_ex(junk.as_ptr(), 3, &mut m, &mut e) };
    assert_eq!(
        (rc, e.code),
        (code(ErrorCode::Malformed), code(ErrorCode::Malformed))
    );
    assert!(m.is_null());
    assert!(message(&e).starts_with("malformed model"));
    // SAFETY: (test) as above; NULL arguments are reported.
    unsafe {
        assert_eq!(
            onnx_model_load_from_memory_ex(junk.as_ptr(), 0, &mut m, &mut e),
            code(ErrorCode::EmptyModel)
        );
        assert_eq!(
            onnx_model_load_ex(core::ptr::null(), &mut m, &mut e),
            code(ErrorCode::NullPointer)
        );
        assert_eq!(
            onnx_model_load_ex(c"x".as_ptr(), core::ptr::null_mut(), &mut e),
            code(ErrorCode::NullPointer)
        );
        assert_eq!(
            onnx_run_ex(
                core::ptr::null_mut(),
                junk.as_ptr().cast(),
                0,
                m.cast(),
                0,
                &mut e
            ),
            code(ErrorCode::NullPointer)
        );
        assert_eq!(message(&e), "NULL pointer argument: model");
        onnx_model_free(core::ptr::null_mut());
    }
}

#[test]
fn kernels_check_parameters_and_overlap() {
    let x = [1.0f32; 16];
    let w = [1.0f32; 9];
    let mut y = [0.0f32; 16];
    let yp = y.as_mut_ptr();
    // SAFETY: (test) every pointer holds at least the floats its geometry needs.
    unsafe {
        let conv = |dil: usize, group: usize, out: *mut f32, len: usize| {
            onnx_conv2d(
                x.as_ptr(),
                1,
                1,
                4,
                4,
                w.as_ptr(),
                1,
                3,
                3,
                1,
                1,
                1,
                1,
                1,
                1,
                dil,
                dil,
                group,
                core::ptr::null(),
                0,
                out,
                len,
            )
        };
        assert_eq!(conv(1, 1, yp, 16), OK);
        assert_eq!(y[5], 9.0);
        assert_eq!(y[0], 4.0);
        assert_eq!(conv(0, 1, yp, 16), code(ErrorCode::InvalidArgument));
        assert_eq!(conv(1, 0, yp, 16), code(ErrorCode::InvalidArgument));
        assert_eq!(conv(1, 2, yp, 16), code(ErrorCode::InvalidArgument));
        assert_eq!(conv(1, 1, yp, 15), code(ErrorCode::BufferLength));
        assert_eq!(
            conv(1, 1, core::ptr::null_mut(), 16),
            code(ErrorCode::NullPointer)
        );
        // The output over the input.
        let mut buf = [1.0f32; 32];
        let b = buf.as_mut_ptr();
        let rc = onnx_conv2d(
            b,
            1,
            1,
            4,
            4,
            w.as_ptr(),
            1,
            3,
            3,
            1,
            1,
            1,
            1,
            1,
            1,
            1,
            1,
            1,
            core::ptr::null(),
            0,
            b.add(8),
            16,
        );
        assert_eq!(rc, code(ErrorCode::InvalidArgument));
        // Misaligned output.
        let rc = onnx_relu(b.cast::<u8>().add(1).cast::<f32>(), 2);
        assert_eq!(rc, code(ErrorCode::InvalidArgument));
        // Pooling: pads must be smaller than the kernel.
        let mut p = [0.0f32; 4];
        let pp = p.as_mut_ptr();
        let pool = |pad: usize, out: *mut f32, len: usize| {
            onnx_maxpool2d(x.as_ptr(), 1, 1, 4, 4, 2, 2, 2, 2, pad, pad, 0, 0, out, len)
        };
        assert_eq!(pool(0, pp, 4), OK);
        assert_eq!(pool(2, pp, 9), code(ErrorCode::InvalidArgument));
        assert_eq!(pool(0, pp, 5), code(ErrorCode::BufferLength));
        assert_eq!(
            onnx_maxpool2d(x.as_ptr(), 1, 1, 4, 4, 0, 2, 2, 2, 0, 0, 0, 0, pp, 4),
            code(ErrorCode::InvalidArgument)
        );
        assert_eq!(
            onnx_maxpool2d(
                x.as_ptr(),
                usize::MAX,
                2,
                4,
                4,
                2,
                2,
                2,
                2,
                0,
                0,
                0,
                0,
                pp,
                4
            ),
            code(ErrorCode::InvalidDimension)
        );
        // Dense: overlap and sizes.
        let rc = onnx_dense(b, 1, 4, b.add(4), 2, core::ptr::null(), b.add(5), 2);
        assert_eq!(rc, code(ErrorCode::InvalidArgument));
        let rc = onnx_dense(b, 1, 4, b.add(4), 2, core::ptr::null(), b.add(12), 2);
        assert_eq!(rc, OK);
        assert_eq!(buf[12], 4.0);
        let rc = onnx_dense(b, usize::MAX, 4, b, 2, core::ptr::null(), pp, 4);
        assert_eq!(rc, code(ErrorCode::InvalidDimension));
        // Softmax: in place is fine, partial overlap is not.
        assert_eq!(onnx_softmax(b, b, 2, 4), OK);
        assert!((buf[0] - 0.25).abs() < 1e-6);
        assert_eq!(
            onnx_softmax(b, b.add(1), 2, 4),
            code(ErrorCode::InvalidArgument)
        );
        // Transpose: permutation, rank, overlap.
        let dims = [2usize, 3];
        let t = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut tt = [0.0f32; 6];
        let tp = tt.as_mut_ptr();
        assert_eq!(
            onnx_transpose(t.as_ptr(), tp, dims.as_ptr(), [1usize, 0].as_ptr(), 2),
            OK
        );
        assert_eq!(tt, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        let bad = [1usize, 1];
        assert_eq!(
            onnx_transpose(t.as_ptr(), tp, dims.as_ptr(), bad.as_ptr(), 2),
            code(ErrorCode::InvalidArgument)
        );
        let out_of_range = [0usize, 2];
        assert_eq!(
            onnx_transpose(t.as_ptr(), tp, dims.as_ptr(), out_of_range.as_ptr(), 2),
            code(ErrorCode::InvalidArgument)
        );
        assert_eq!(
            onnx_transpose(b, b.add(2), dims.as_ptr(), [1usize, 0].as_ptr(), 2),
            code(ErrorCode::InvalidArgument)
        );
    }
}

#[test]
fn strerror_covers_zero_every_code_and_unknown() {
    let text = |c: c_int| {
        // SAFETY: (test) onnx_strerror returns static NUL-terminated strings.
        unsafe { CStr::from_ptr(onnx_strerror(c)) }
            .to_str()
            .unwrap()
    };
    assert_eq!(text(0), "ok");
    assert_eq!(
        text(-(ErrorCode::ALL.len() as c_int) - 1),
        "unknown error code"
    );
    assert_eq!(text(1), "unknown error code");
    assert_eq!(text(c_int::MIN), "unknown error code");
    for c in ErrorCode::ALL {
        assert_eq!(text(c.as_i32()), c.description());
    }
}
