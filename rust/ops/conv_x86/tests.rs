//! The AVX2 convolution against the portable kernels.

use super::*;
use crate::ops::fused::{conv_pool2d, scratch_len};
use crate::ops::test_util::{assert_close, Rng};
use alloc::vec;

const ACTS: [Activation; 6] = [
    Activation::Relu,
    Activation::None,
    Activation::LeakyRelu { alpha: 0.1 },
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Clip {
        min: -0.2,
        max: 0.3,
    },
];

/// [`PackedConv::build`] for any channel count.
fn packed(
    p: &Conv2d,
    act: Activation,
    pool: Option<(Pool2d, bool)>,
    w: &[f32],
    min_oc: usize,
) -> Option<PackedConv> {
    PackedConv::build(p, act, pool, w, min_oc).unwrap()
}

/// Output size per ONNX with explicit begin/end pads (floor mode); None when the kernel
/// does not fit.
fn out_size(input: usize, k: usize, s: usize, d: usize, pb: usize, pe: usize) -> Option<usize> {
    let eff = (k - 1) * d + 1;
    (input + pb + pe).checked_sub(eff).map(|q| q / s + 1)
}

#[allow(clippy::too_many_arguments)]
fn geom(
    n: usize,
    (c, m, g): (usize, usize, usize),
    (h, wd): (usize, usize),
    (kh, kw): (usize, usize),
    (sh, sw): (usize, usize),
    (dh, dw): (usize, usize),
    pads: [usize; 4],
) -> Option<Conv2d> {
    Some(Conv2d {
        batch: n,
        in_channels: c,
        in_h: h,
        in_w: wd,
        out_channels: m,
        out_h: out_size(h, kh, sh, dh, pads[0], pads[2])?,
        out_w: out_size(wd, kw, sw, dw, pads[1], pads[3])?,
        kernel_h: kh,
        kernel_w: kw,
        stride_h: sh,
        stride_w: sw,
        dilation_h: dh,
        dilation_w: dw,
        pad_top: pads[0],
        pad_left: pads[1],
        group: g,
    })
}

/// 2x2 stride-2 pooling (floor) of one conv plane.
fn pool_of(p: &Conv2d) -> Pool2d {
    Pool2d {
        batch: 1,
        channels: 1,
        in_h: p.out_h,
        in_w: p.out_w,
        out_h: p.out_h / 2,
        out_w: p.out_w / 2,
        kernel_h: 2,
        kernel_w: 2,
        stride_h: 2,
        stride_w: 2,
        dilation_h: 1,
        dilation_w: 1,
        ..Pool2d::default()
    }
}

/// Runs the packed kernel (any channel count) and the portable one on the same operands
/// and compares them; returns false when the packed kernel does not take the geometry.
fn check(p: &Conv2d, act: Activation, pool: Option<bool>, rng: &mut Rng, bias: bool) -> bool {
    let x = rng.vec(p.input_len());
    let w = rng.vec(p.weight_len());
    let b = rng.vec(p.out_channels);
    let bias = bias.then_some(&b[..]);
    check_with(p, act, pool, &x, &w, bias)
}

fn check_with(
    p: &Conv2d,
    act: Activation,
    pool: Option<bool>,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
) -> bool {
    let pool = pool.map(|max| (pool_of(p), max));
    let Some(k) = packed(p, act, pool, w, 1) else {
        return false;
    };
    let (want, len) = match pool {
        None => {
            let mut want = vec![f32::NAN; p.output_len()];
            crate::ops::conv::conv2d(p, x, w, bias, act, &mut want);
            (want, p.output_len())
        }
        Some((pl, max)) => {
            let len = p.batch * p.out_channels * pl.out_h * pl.out_w;
            let mut want = vec![f32::NAN; len];
            let mut scratch = vec![0.0; scratch_len(p, &pl)];
            conv_pool2d(p, act, &pl, max, x, w, bias, &mut scratch, &mut want);
            (want, len)
        }
    };
    let mut got = vec![f32::NAN; len];
    assert!(k.run(x, bias, &mut got), "{p:?} {pool:?}");
    assert_close(&got, &want, 1e-5);
    // Short operands: nothing is written, no panic.
    let mut short = vec![f32::NAN; len];
    assert!(!k.run(x.get(..x.len() - 1).unwrap_or(&[]), bias, &mut short));
    assert!(!k.run(x, bias, &mut short[..len - 1]));
    if let Some(b) = bias {
        assert!(!k.run(x, Some(&b[..b.len() - 1]), &mut short));
    }
    assert!(short.iter().all(|v| v.is_nan()));
    true
}

#[test]
fn random_geometries_match_the_portable_kernels() {
    if !available() {
        return;
    }
    let mut rng = Rng::new(86);
    let (mut plain, mut pooled) = (0, 0);
    for case in 0..1200 {
        let g = [1, 1, 1, 1, 2, 3][rng.below(6)];
        let c = g * rng.range(1, 6);
        // Output channels per group: below, at and above multiples of eight.
        let m = g * [1, 3, 7, 8, 9, 12, 16, 17, 24, 25, 33][rng.below(11)];
        let k = [(1, 1), (3, 3), (3, 3), (5, 5), (2, 3), (1, 3), (4, 2)][rng.below(7)];
        let s = if case % 3 == 0 {
            (rng.range(1, 3), rng.range(1, 3))
        } else {
            (1, 1)
        };
        let d = if case % 5 == 0 {
            (rng.range(1, 2), rng.range(1, 3))
        } else {
            (1, 1)
        };
        let pads = [rng.below(3), rng.below(3), rng.below(3), rng.below(3)];
        let hw = (rng.range(1, 13), rng.range(1, 13));
        let Some(p) = geom(rng.range(1, 2), (c, m, g), hw, k, s, d, pads) else {
            continue;
        };
        let act = ACTS[case % ACTS.len()];
        let bias = case % 4 != 3;
        let pool = match case % 3 {
            0 => None,
            1 => Some(true),
            _ => Some(false),
        };
        if pool.is_some() && (p.out_h < 2 || p.out_w < 2) {
            continue;
        }
        assert!(check(&p, act, pool, &mut rng, bias), "not taken: {p:?}");
        if pool.is_some() {
            pooled += 1;
        } else {
            plain += 1;
        }
    }
    assert!(
        plain > 200 && pooled > 400,
        "{plain} plain, {pooled} pooled"
    );
}

#[test]
fn mnist_cnn_layers_and_odd_planes() {
    if !available() {
        return;
    }
    let mut rng = Rng::new(87);
    let same = [1, 1, 1, 1];
    for (c, m, h, pool) in [
        (1, 8, 28, Some(true)),
        (8, 16, 14, Some(true)),
        (16, 24, 7, None),
        (24, 24, 7, Some(true)),
        (24, 24, 7, Some(false)),
        (1, 4, 28, Some(true)),
        (4, 4, 14, Some(true)),
        (3, 5, 9, Some(true)),
        (5, 13, 11, None),
    ] {
        let p = geom(1, (c, m, 1), (h, h), (3, 3), (1, 1), (1, 1), same).unwrap();
        for act in ACTS {
            assert!(check(&p, act, pool, &mut rng, true));
        }
    }
}

#[test]
fn large_inputs_run_in_bands() {
    if !available() {
        return;
    }
    let mut rng = Rng::new(88);
    // 16 x 66 x 66 padded values: several bands of the 16 Ki buffer.
    for (pool, k, s) in [
        (None, 3, 1),
        (Some(true), 3, 1),
        (Some(false), 5, 2),
        (None, 1, 1),
    ] {
        let p = geom(
            1,
            (16, 10, 1),
            (64, 63),
            (k, k),
            (s, s),
            (1, 1),
            [1, 2, 2, 1],
        )
        .unwrap();
        assert!(check(&p, Activation::Relu, pool, &mut rng, true));
    }
    // No padding, every tap inside: the input is read in place.
    let p = geom(2, (40, 9, 1), (30, 30), (3, 3), (1, 1), (1, 1), [0; 4]).unwrap();
    assert!(check(&p, Activation::None, Some(true), &mut rng, false));
    assert!(check(&p, Activation::Tanh, None, &mut rng, true));
    // A band unit wider than the buffer: not taken.
    let p = geom(1, (64, 8, 1), (10, 300), (3, 3), (1, 1), (1, 1), [1; 4]).unwrap();
    let w = rng.vec(p.weight_len());
    assert!(packed(&p, Activation::None, None, &w, 1).is_none());
}

#[test]
fn pooling_semantics_with_nan_and_infinities() {
    if !available() {
        return;
    }
    let mut rng = Rng::new(89);
    let p = geom(1, (2, 11, 1), (8, 9), (3, 3), (1, 1), (1, 1), [1; 4]).unwrap();
    for case in 0..40 {
        let mut x = rng.vec(p.input_len());
        let w = rng.vec(p.weight_len());
        let mut b = rng.vec(p.out_channels);
        let at = rng.below(x.len());
        x[at] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][case % 3];
        b[case % 11] = [f32::NEG_INFINITY, f32::NAN, f32::INFINITY, -100.0][(case / 3) % 4];
        for act in ACTS {
            for max in [true, false] {
                assert!(check_with(&p, act, Some(max), &x, &w, Some(&b)));
            }
            assert!(check_with(&p, act, None, &x, &w, Some(&b)));
        }
    }
    // Every sum NaN: max pooling gives -inf (all values skipped), also after Relu.
    let x = vec![f32::NAN; p.input_len()];
    let w = rng.vec(p.weight_len());
    for act in [Activation::Relu, Activation::None] {
        let pool = Some((pool_of(&p), true));
        let k = packed(&p, act, pool, &w, 1).unwrap();
        let mut y = vec![0.0; 11 * 4 * 4];
        assert!(k.run(&x, None, &mut y));
        assert!(y.iter().all(|&v| v == f32::NEG_INFINITY));
    }
}

#[test]
fn geometries_left_to_the_portable_kernels() {
    if !available() {
        return;
    }
    let mut rng = Rng::new(90);
    let p = geom(1, (3, 16, 1), (9, 9), (3, 3), (1, 1), (1, 1), [1; 4]).unwrap();
    let w = rng.vec(p.weight_len());
    let ok = |pool: Pool2d| packed(&p, Activation::Relu, Some((pool, true)), &w, 1);
    assert!(ok(pool_of(&p)).is_some());
    // 3x3 pooling, stride 1, padding, ceil-mode partial windows: not taken.
    let base = pool_of(&p);
    let pools = [
        Pool2d {
            kernel_h: 3,
            kernel_w: 3,
            out_h: 4,
            out_w: 4,
            ..base
        },
        Pool2d {
            stride_h: 1,
            stride_w: 1,
            out_h: 8,
            out_w: 8,
            ..base
        },
        Pool2d {
            pad_top: 1,
            pad_bottom: 1,
            out_h: 5,
            ..base
        },
        Pool2d {
            out_h: 5,
            out_w: 5,
            ..base
        },
    ];
    for pool in pools {
        assert!(ok(pool).is_none());
    }
    // Too few output channels per group for the default threshold, too short weights,
    // inconsistent groups.
    let small = Conv2d {
        out_channels: MIN_OUT_CHANNELS - 1,
        ..p
    };
    assert!(PackedConv::new(&small, Activation::None, None, &w)
        .unwrap()
        .is_none());
    assert!(PackedConv::new(&p, Activation::None, None, &w[1..])
        .unwrap()
        .is_none());
    let bad_group = Conv2d { group: 2, ..p };
    assert!(PackedConv::new(&bad_group, Activation::None, None, &w)
        .unwrap()
        .is_none());
    assert!(PackedConv::new(&p, Activation::None, None, &w)
        .unwrap()
        .is_some());
}
