//! `rtonnx::npy::parse_input` (the `.npy` and raw float32 files of `rtonnx run` and `bench`)
//! on arbitrary bytes, for inputs of a few shapes: never a panic, and never more memory than
//! the bytes can hold (libFuzzer's -rss_limit_mb catches a header that makes it allocate by
//! its shape).
#![no_main]

use libfuzzer_sys::fuzz_target;

const SHAPES: [&[usize]; 4] = [&[1, 49, 10, 1], &[1, 640], &[4], &[1, 3, 1 << 20]];

fuzz_target!(|data: &[u8]| {
    for shape in SHAPES {
        if let Ok(v) = rtonnx::npy::parse_input(data, "x", shape) {
            assert_eq!(v.len(), shape.iter().product::<usize>());
        }
    }
});
