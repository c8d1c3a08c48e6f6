//! Tests of the convolution kernels against a naive reference.

use super::*;
use crate::ops::test_util::{assert_close, pattern, Rng};
use alloc::vec;
use alloc::vec::Vec;

/// Straightforward reference with per-tap bounds tests, f64 accumulation.
fn reference(p: &Conv2d, x: &[f32], w: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    let icg = p.in_channels / p.group;
    let ocg = p.out_channels / p.group;
    let mut y = vec![0.0f32; p.output_len()];
    for n in 0..p.batch {
        for oc in 0..p.out_channels {
            let grp = oc / ocg;
            for oh in 0..p.out_h {
                for ow in 0..p.out_w {
                    let mut s = bias.map_or(0.0, |b| b[oc] as f64);
                    for ic in 0..icg {
                        let c = grp * icg + ic;
                        for kh in 0..p.kernel_h {
                            for kw in 0..p.kernel_w {
                                let ih = (oh * p.stride_h + kh * p.dilation_h) as isize
                                    - p.pad_top as isize;
                                let iw = (ow * p.stride_w + kw * p.dilation_w) as isize
                                    - p.pad_left as isize;
                                if ih < 0
                                    || iw < 0
                                    || ih >= p.in_h as isize
                                    || iw >= p.in_w as isize
                                {
                                    continue;
                                }
                                let xv = x[((n * p.in_channels + c) * p.in_h + ih as usize)
                                    * p.in_w
                                    + iw as usize];
                                let wv = w[((oc * icg + ic) * p.kernel_h + kh) * p.kernel_w + kw];
                                s += xv as f64 * wv as f64;
                            }
                        }
                    }
                    y[((n * p.out_channels + oc) * p.out_h + oh) * p.out_w + ow] = s as f32;
                }
            }
        }
    }
    y
}

/// Output size per ONNX with explicit begin/end pads (floor mode).
fn out_size(input: usize, k: usize, s: usize, d: usize, pb: usize, pe: usize) -> usize {
    let eff = (k - 1) * d + 1;
    (input + pb + pe).saturating_sub(eff) / s + 1
}

fn check(p: &Conv2d, rng: &mut Rng, with_bias: bool, act: Activation) {
    let x = rng.vec(p.input_len());
    let w = rng.vec(p.weight_len());
    let b = rng.vec(p.out_channels);
    let bias = with_bias.then_some(&b[..]);
    let mut want = reference(p, &x, &w, bias);
    act.apply_in_place(&mut want);
    let mut y = vec![f32::NAN; p.output_len()];
    conv2d(p, &x, &w, bias, act, &mut y);
    assert_close(&y, &want, 1e-5);
}

#[allow(clippy::too_many_arguments)]
fn geom(
    n: usize,
    c: usize,
    h: usize,
    wd: usize,
    m: usize,
    k: (usize, usize),
    s: (usize, usize),
    d: (usize, usize),
    pads: [usize; 4],
    group: usize,
) -> Conv2d {
    Conv2d {
        batch: n,
        in_channels: c,
        in_h: h,
        in_w: wd,
        out_channels: m,
        out_h: out_size(h, k.0, s.0, d.0, pads[0], pads[2]),
        out_w: out_size(wd, k.1, s.1, d.1, pads[1], pads[3]),
        kernel_h: k.0,
        kernel_w: k.1,
        stride_h: s.0,
        stride_w: s.1,
        dilation_h: d.0,
        dilation_w: d.1,
        pad_top: pads[0],
        pad_left: pads[1],
        group,
    }
}

#[test]
fn random_geometries_match_reference() {
    let mut rng = Rng::new(21);
    for case in 0..600 {
        let group = [1, 1, 2, 3][rng.below(4)];
        let c = group * rng.range(1, 3);
        let m = group * rng.range(1, 3);
        let k = (rng.range(1, 4), rng.range(1, 4));
        let s = (rng.range(1, 3), rng.range(1, 3));
        let d = (rng.range(1, 2), rng.range(1, 2));
        let pads = [rng.below(3), rng.below(3), rng.below(3), rng.below(3)];
        let h = rng.range(1, 8);
        let wd = rng.range(1, 9);
        let p = geom(rng.range(1, 2), c, h, wd, m, k, s, d, pads, group);
        if (k.0 - 1) * d.0 + 1 > h + pads[0] + pads[2]
            || (k.1 - 1) * d.1 + 1 > wd + pads[1] + pads[3]
        {
            continue;
        }
        let act = [
            Activation::None,
            Activation::Relu,
            Activation::Clip {
                min: -0.3,
                max: 0.4,
            },
        ][case % 3];
        check(&p, &mut rng, case % 2 == 0, act);
    }
}

#[test]
fn three_by_three_fast_path_all_strides_pads_dilations() {
    let mut rng = Rng::new(22);
    for sh in 1..=3 {
        for sw in 1..=3 {
            for dh in 1..=2 {
                for dw in 1..=2 {
                    for pads in [
                        [0, 0, 0, 0],
                        [3, 4, 3, 0],
                        [0, 3, 4, 5],
                        [1, 1, 1, 1],
                        [0, 1, 2, 0],
                        [2, 0, 1, 2],
                        [2, 2, 2, 2],
                    ] {
                        for (h, wd) in [(7, 9), (3, 3), (10, 5), (5, 12)] {
                            let p = geom(1, 2, h, wd, 2, (3, 3), (sh, sw), (dh, dw), pads, 1);
                            if 2 * dh + 1 > h + pads[0] + pads[2]
                                || 2 * dw + 1 > wd + pads[1] + pads[3]
                            {
                                continue;
                            }
                            check(&p, &mut rng, true, Activation::None);
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn width_three_kernels_of_any_height() {
    let mut rng = Rng::new(27);
    for kh in [1, 2, 4, 5] {
        for sw in 1..=2 {
            for (sh, dh) in [(1, 1), (2, 1), (1, 2), (3, 2)] {
                for pads in [[0, 0, 0, 0], [1, 1, 1, 1], [2, 0, 0, 2], [0, 2, 3, 1]] {
                    let p = geom(1, 2, 8, 7, 3, (kh, 3), (sh, sw), (dh, 1), pads, 1);
                    check(&p, &mut rng, true, Activation::None);
                }
            }
        }
    }
    // Narrow inputs: no interior column at all.
    for wd in 1..=3 {
        let p = geom(1, 1, 4, wd, 1, (3, 3), (1, 1), (1, 1), [1, 2, 1, 2], 1);
        check(&p, &mut rng, false, Activation::None);
        let p = geom(1, 1, 4, wd, 1, (3, 3), (1, 2), (1, 1), [1, 2, 1, 2], 1);
        check(&p, &mut rng, false, Activation::None);
    }
}

#[test]
fn depthwise_and_channel_multiplier() {
    let mut rng = Rng::new(23);
    // Depthwise 3x3, stride 1 and 2, same padding.
    for s in 1..=2 {
        let p = geom(2, 4, 9, 8, 4, (3, 3), (s, s), (1, 1), [1, 1, 1, 1], 4);
        check(&p, &mut rng, true, Activation::Relu);
    }
    // Channel multiplier 2.
    let p = geom(1, 3, 6, 6, 6, (3, 3), (1, 1), (1, 1), [1, 1, 1, 1], 3);
    check(&p, &mut rng, true, Activation::None);
    // Depthwise 5x5 dilated.
    let p = geom(1, 2, 9, 9, 2, (5, 5), (1, 1), (2, 2), [4, 4, 4, 4], 2);
    check(&p, &mut rng, false, Activation::None);
}

#[test]
fn pointwise_fast_path() {
    let mut rng = Rng::new(24);
    for (c, m, group) in [
        (1, 1, 1),
        (3, 5, 1),
        (8, 4, 1),
        (9, 7, 1),
        (6, 4, 2),
        (4, 4, 4),
    ] {
        let p = geom(2, c, 5, 6, m, (1, 1), (1, 1), (1, 1), [0, 0, 0, 0], group);
        check(&p, &mut rng, true, Activation::LeakyRelu { alpha: 0.1 });
    }
    // 1x1 with stride or padding goes through the generic path.
    let p = geom(1, 3, 5, 6, 2, (1, 1), (2, 2), (1, 1), [1, 0, 0, 1], 1);
    check(&p, &mut rng, true, Activation::None);
}

#[test]
fn one_dimensional_conv() {
    let mut rng = Rng::new(25);
    for (k, s, d, pl, pr) in [
        (3, 1, 1, 1, 1),
        (5, 2, 1, 2, 1),
        (3, 1, 3, 0, 3),
        (4, 3, 2, 2, 0),
    ] {
        let p = geom(2, 3, 1, 20, 4, (1, k), (1, s), (1, d), [0, pl, 0, pr], 1);
        check(&p, &mut rng, true, Activation::Tanh);
    }
}

/// Collects every block as four output pixels (plus bias) into an NCHW plane.
struct Collect {
    y: Vec<f32>,
    m: usize,
    out_h: usize,
    out_w: usize,
    bias: Vec<f32>,
}

impl BlockSink for Collect {
    fn row(&self, n: usize, oc: usize, bh: usize) -> (usize, f32) {
        // Encode (n, oc, bh) in `at`: at = ((n * m + oc) * out_h + 2bh) * out_w / 2.
        (
            ((n * self.m + oc) * self.out_h + 2 * bh) * self.out_w,
            self.bias[oc],
        )
    }
    fn put(&mut self, at: usize, v: Block, bias: f32) {
        // `at` is the row start plus bw (see `row`).
        let row_start = at - at % self.out_w;
        let bw = at % self.out_w;
        for (i, &s) in v.iter().enumerate() {
            let idx = row_start + (i / 2) * self.out_w + 2 * bw + i % 2;
            self.y[idx] = s + bias;
        }
    }
}

#[test]
fn three_by_three_blocks_match_reference() {
    let mut rng = Rng::new(28);
    for case in 0..400 {
        let group = [1, 1, 2, 3][rng.below(4)];
        let c = group * rng.range(1, 3);
        let m = group * rng.range(1, 5);
        let pads = [rng.below(3), rng.below(3), rng.below(3), rng.below(3)];
        let (h, wd) = (rng.range(1, 9), rng.range(1, 9));
        if h + pads[0] + pads[2] < 4 || wd + pads[1] + pads[3] < 4 {
            continue;
        }
        let p = geom(
            rng.range(1, 2),
            c,
            h,
            wd,
            m,
            (3, 3),
            (1, 1),
            (1, 1),
            pads,
            group,
        );
        let (nbh, nbw) = (p.out_h / 2, p.out_w / 2);
        let x = rng.vec(p.input_len());
        let w = rng.vec(p.weight_len());
        let b = rng.vec(m);
        let want = reference(&p, &x, &w, Some(&b));
        let mut sink = Collect {
            y: vec![f32::NAN; p.output_len()],
            m,
            out_h: p.out_h,
            out_w: p.out_w,
            bias: b,
        };
        let mut ring = vec![f32::NAN; conv3x3_ring_len(&p, nbw) + case % 3];
        assert!(conv3x3_blocks(&p, &x, &w, &mut ring, nbh, nbw, &mut sink));
        // Compare the pixels the blocks cover.
        for (i, (&g, &e)) in sink.y.iter().zip(&want).enumerate() {
            let (oh, ow) = ((i / p.out_w) % p.out_h, i % p.out_w);
            if oh < 2 * nbh && ow < 2 * nbw {
                assert!((g - e).abs() <= 1e-5, "case {case} index {i}: {g} vs {e}");
            } else {
                assert!(g.is_nan());
            }
        }
        // Too short a ring, another kernel, stride or dilation, or blocks past the
        // output: nothing is computed.
        let short = conv3x3_ring_len(&p, nbw) - 1;
        assert!(!conv3x3_blocks(
            &p,
            &x,
            &w,
            &mut ring[..short],
            nbh,
            nbw,
            &mut sink
        ));
        assert!(!conv3x3_blocks(
            &p,
            &x,
            &w,
            &mut ring,
            nbh + 1 + p.out_h % 2,
            nbw,
            &mut sink
        ));
        for q in [
            Conv2d { stride_w: 2, ..p },
            Conv2d { dilation_h: 2, ..p },
            Conv2d { kernel_w: 2, ..p },
        ] {
            assert!(!conv3x3_blocks(&q, &x, &w, &mut ring, nbh, nbw, &mut sink));
        }
    }
}

#[test]
fn plain_three_by_three_in_blocks_matches_reference() {
    let mut rng = Rng::new(29);
    let acts = [
        Activation::None,
        Activation::Relu,
        Activation::LeakyRelu { alpha: 0.1 },
    ];
    for case in 0..300 {
        let group = [1, 1, 2, 3][rng.below(4)];
        let c = group * rng.range(1, 4);
        let m = group * rng.range(1, 5);
        let pads = [rng.below(3), rng.below(3), rng.below(3), rng.below(3)];
        let (h, wd) = (rng.range(1, 10), rng.range(1, 10));
        if h + pads[0] + pads[2] < 3 || wd + pads[1] + pads[3] < 3 {
            continue;
        }
        let p = geom(
            rng.range(1, 3),
            c,
            h,
            wd,
            m,
            (3, 3),
            (1, 1),
            (1, 1),
            pads,
            group,
        );
        let x = rng.vec(p.input_len());
        let w = rng.vec(p.weight_len());
        let b = rng.vec(m);
        let bias = (case % 2 == 0).then_some(&b[..]);
        let act = acts[case % acts.len()];
        let mut want = reference(&p, &x, &w, bias);
        act.apply_in_place(&mut want);
        let len = conv3x3_plain_scratch_len(&p).expect("3x3 stride 1 applies");
        let mut ring = vec![f32::NAN; len];
        let mut y = vec![f32::NAN; p.output_len()];
        assert!(conv3x3_plain(&p, &x, &w, bias, act, &mut ring, &mut y));
        assert_close(&y, &want, 1e-5);
        // A ring too short: declined, nothing written (the step then runs conv2d).
        let mut y2 = vec![f32::NAN; p.output_len()];
        assert!(!conv3x3_plain(
            &p,
            &x,
            &w,
            bias,
            act,
            &mut ring[..len - 1],
            &mut y2
        ));
        assert!(y2.iter().all(|v| v.is_nan()));
    }
    // Other geometries need no scratch and are declined.
    for q in [
        geom(1, 2, 7, 7, 3, (3, 3), (2, 2), (1, 1), [1, 1, 1, 1], 1),
        geom(1, 2, 7, 7, 3, (5, 5), (1, 1), (1, 1), [2, 2, 2, 2], 1),
        geom(1, 2, 9, 9, 3, (3, 3), (1, 1), (2, 2), [0, 0, 0, 0], 1),
    ] {
        assert_eq!(conv3x3_plain_scratch_len(&q), None);
        let x = rng.vec(q.input_len());
        let w = rng.vec(q.weight_len());
        let mut y = vec![0.5; q.output_len()];
        assert!(!conv3x3_plain(
            &q,
            &x,
            &w,
            None,
            Activation::Relu,
            &mut [],
            &mut y
        ));
        assert!(y.iter().all(|&v| v == 0.5));
    }
}

#[test]
fn geometry_helpers() {
    let p = geom(2, 4, 8, 8, 6, (3, 3), (1, 1), (1, 1), [1, 1, 1, 1], 2);
    assert_eq!(p.weight_len(), 6 * 2 * 9);
    assert_eq!(p.input_len(), 2 * 4 * 64);
    assert_eq!(p.output_len(), 2 * 6 * 64);
    assert_eq!(p.macs(), (2 * 6 * 64 * 2 * 9) as u64);
    let zero = Conv2d::default();
    assert_eq!((zero.weight_len(), zero.macs()), (0, 0));
    assert_eq!(valid_range(5, 1, 0, 1, 5), (1, 5));
    assert_eq!(valid_range(5, 1, 2, 1, 5), (0, 4));
    assert_eq!(valid_range(3, 2, 0, 1, 5), (1, 3));
    assert_eq!(valid_range(3, 2, 0, 9, 5), (3, 3));
    assert_eq!(valid_range(3, 1, 20, 0, 5), (0, 0));
}

#[test]
fn invalid_or_inconsistent_params_do_not_panic() {
    let mut rng = Rng::new(26);
    for _ in 0..2000 {
        let p = Conv2d {
            batch: rng.below(3),
            in_channels: rng.below(4),
            in_h: rng.below(6),
            in_w: rng.below(6),
            out_channels: rng.below(4),
            out_h: rng.below(8),
            out_w: rng.below(8),
            kernel_h: rng.below(4),
            kernel_w: rng.below(4),
            stride_h: rng.below(3),
            stride_w: rng.below(3),
            dilation_h: rng.below(3),
            dilation_w: rng.below(3),
            pad_top: rng.below(5),
            pad_left: rng.below(5),
            group: rng.below(3),
        };
        let x = rng.vec_upto(200);
        let w = rng.vec_upto(100);
        let b = rng.vec_upto(5);
        let mut y = vec![0.0; rng.below(300)];
        conv2d(&p, &x, &w, Some(&b), Activation::Relu, &mut y);
        conv2d(&p, &x, &w, None, Activation::None, &mut y);
    }
    let huge = Conv2d {
        batch: 1,
        in_channels: 1,
        in_h: 1,
        in_w: usize::MAX,
        out_channels: 1,
        out_h: 1,
        out_w: usize::MAX,
        kernel_h: 1,
        kernel_w: 3,
        stride_h: 1,
        stride_w: usize::MAX,
        dilation_h: 1,
        dilation_w: 1,
        pad_top: 0,
        pad_left: usize::MAX,
        group: 1,
    };
    conv2d(
        &huge,
        &[1.0; 4],
        &[1.0; 3],
        None,
        Activation::None,
        &mut [0.0; 4],
    );
    let _ = (
        huge.macs(),
        huge.weight_len(),
        huge.input_len(),
        huge.output_len(),
    );
}

#[test]
fn onnxruntime_values() {
    // Generated by tools/kernels/gen_kernel_cases.py (onnxruntime CPU). Inputs follow
    // `pattern` so the script and this test build the same tensors.
    // Case 1: N=1 C=2 H=5 W=6, M=4, group 2, k 3x2, strides (2,1), dilations (1,2),
    // pads (t,l,b,r) = (1,2,0,1), bias.
    let p = geom(1, 2, 5, 6, 4, (3, 2), (2, 1), (1, 2), [1, 2, 0, 1], 2);
    let x = pattern(p.input_len(), 7, 3, 17, 0.125, 1.0);
    let w = pattern(p.weight_len(), 5, 1, 11, 0.1, 0.5);
    let b = [0.25, -0.5, 0.75, 0.0];
    let mut y = vec![0.0; p.output_len()];
    conv2d(&p, &x, &w, Some(&b), Activation::None, &mut y);
    assert_eq!(p.output_len(), ORT_CONV1.len());
    assert_close(&y, &ORT_CONV1, 1e-5);
    // Case 2: depthwise 3x3 stride 2 pads 1, N=1 C=3 H=W=7, no bias, then Relu.
    let p = geom(1, 3, 7, 7, 3, (3, 3), (2, 2), (1, 1), [1, 1, 1, 1], 3);
    let x = pattern(p.input_len(), 13, 5, 19, 0.1, 0.9);
    let w = pattern(p.weight_len(), 3, 2, 7, 0.2, 0.6);
    let mut y = vec![0.0; p.output_len()];
    conv2d(&p, &x, &w, None, Activation::Relu, &mut y);
    assert_eq!(p.output_len(), ORT_CONV2.len());
    assert_close(&y, &ORT_CONV2, 1e-5);
}

// shape [1, 4, 2, 7]

const ORT_CONV1: [f32; 56] = [
    0.2125,
    0.33749998,
    0.75,
    -0.39999998,
    0.7875,
    0.7,
    -0.3125,
    0.26250002,
    0.2625,
    0.61249995,
    0.050000012,
    -0.3,
    0.41250002,
    -0.1625,
    -0.4625,
    -0.225,
    -0.3125,
    -0.9125,
    -0.875,
    -0.41250002,
    -0.35,
    -0.45,
    0.037500024,
    -0.775,
    -1.4125,
    -0.13749999,
    -0.13749996,
    -0.5625,
    0.41249996,
    1.2,
    1.0250001,
    0.875,
    0.51250005,
    0.5749999,
    0.7125,
    1.6500001,
    1.15,
    0.23749995,
    1.0124999,
    0.30000007,
    0.86249995,
    0.7625,
    -0.075000025,
    0.18749999,
    0.38750002,
    -0.17500003,
    -0.3125,
    -0.02500002,
    0.037499998,
    -0.19999999,
    0.11249998,
    0.012500033,
    -0.25000006,
    -0.29999998,
    -0.13750005,
    0.050000004,
];
// shape [1, 3, 4, 4]
const ORT_CONV2: [f32; 48] = [
    0.6, 0.03999999, 0.0, 0.32000005, 0.0, 0.6200001, 0.38000003, 0.0, 0.72, 0.0, 0.21999998,
    0.68000007, 0.01999998, 0.28, 0.0, 0.22000003, 0.19999999, 0.0, 0.22000006, 0.0, 0.70000005,
    0.62, 0.0, 0.68000007, 0.0, 0.40000004, 0.64, 0.0, 0.32, 0.0, 0.0, 0.56000006, 0.6600001, 0.54,
    0.0, 0.17999999, 0.35999995, 0.0, 0.64, 0.0, 0.36, 0.78, 0.0, 0.54, 0.0200001, 0.0, 0.8, 0.0,
];
