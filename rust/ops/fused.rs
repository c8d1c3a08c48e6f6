//! Convolution followed by pooling, one output channel at a time.
//!
//! A Conv whose only reader is a MaxPool/AveragePool does not need its whole output in
//! memory: each output channel's plane is computed into a one-plane scratch buffer and
//! pooled straight into the pooled output. The arena then holds one conv plane instead of
//! all of them (for a 16-channel layer, 1/16 of the conv output).

use super::activation::Activation;
use super::conv::{conv2d, Conv2d};
use super::pool::{avg_pool2d, max_pool2d, Pool2d};

/// `y = pool(act(conv(x)))`. `p` is the whole convolution, `pool` the pooling of one plane
/// (`batch == channels == 1`, input `p.out_h x p.out_w`); `scratch` holds one conv plane.
/// Returns without writing when the geometry is inconsistent or a slice is too short.
#[allow(clippy::too_many_arguments)]
pub fn conv_pool2d(
    p: &Conv2d,
    act: Activation,
    pool: &Pool2d,
    max: bool,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    scratch: &mut [f32],
    y: &mut [f32],
) {
    let (c, m, g) = (p.in_channels, p.out_channels, p.group);
    if g == 0 || c % g != 0 || m % g != 0 || m == 0 {
        return;
    }
    let icg = c / g;
    let per_group = m / g;
    let in_plane = p.in_h * p.in_w;
    let conv_plane = p.out_h * p.out_w;
    let pool_plane = pool.out_h * pool.out_w;
    let w_len = icg * p.kernel_h * p.kernel_w;
    if pool.in_h != p.out_h || pool.in_w != p.out_w || scratch.len() < conv_plane {
        return;
    }
    let scratch = scratch.get_mut(..conv_plane).unwrap_or(&mut []);
    let one = Conv2d {
        batch: 1,
        in_channels: icg,
        out_channels: 1,
        group: 1,
        ..*p
    };
    let plane_pool = Pool2d {
        batch: 1,
        channels: 1,
        ..*pool
    };
    for n in 0..p.batch {
        for oc in 0..m {
            let gi = oc / per_group;
            let x_start = (n * c + gi * icg) * in_plane;
            let (Some(xs), Some(ws)) = (
                x.get(x_start..x_start + icg * in_plane),
                w.get(oc * w_len..(oc + 1) * w_len),
            ) else {
                return;
            };
            let bs = match bias {
                Some(b) => match b.get(oc..oc + 1) {
                    Some(b) => Some(b),
                    None => return,
                },
                None => None,
            };
            conv2d(&one, xs, ws, bs, act, scratch);
            let y_start = (n * m + oc) * pool_plane;
            let Some(ys) = y.get_mut(y_start..y_start + pool_plane) else {
                return;
            };
            if max {
                max_pool2d(&plane_pool, scratch, ys);
            } else {
                avg_pool2d(&plane_pool, scratch, ys);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_util::{assert_close, Rng};
    use alloc::vec;

    #[test]
    fn equals_conv_then_pool() {
        let mut rng = Rng::new(7);
        for &(c, m, g) in &[(1usize, 2usize, 1usize), (3, 4, 1), (4, 4, 4), (4, 8, 2)] {
            let p = Conv2d {
                batch: 2,
                in_channels: c,
                in_h: 6,
                in_w: 7,
                out_channels: m,
                out_h: 6,
                out_w: 7,
                kernel_h: 3,
                kernel_w: 3,
                stride_h: 1,
                stride_w: 1,
                dilation_h: 1,
                dilation_w: 1,
                pad_top: 1,
                pad_left: 1,
                group: g,
            };
            let pool = Pool2d {
                batch: 2,
                channels: m,
                in_h: 6,
                in_w: 7,
                out_h: 3,
                out_w: 3,
                kernel_h: 2,
                kernel_w: 2,
                stride_h: 2,
                stride_w: 2,
                dilation_h: 1,
                dilation_w: 1,
                ..Pool2d::default()
            };
            let x = rng.vec(2 * c * 42);
            let w = rng.vec(m * (c / g) * 9);
            let b = rng.vec(m);
            for max in [true, false] {
                let mut conv = vec![0.0; 2 * m * 42];
                conv2d(&p, &x, &w, Some(&b), Activation::Relu, &mut conv);
                let mut want = vec![0.0; 2 * m * 9];
                if max {
                    max_pool2d(&pool, &conv, &mut want);
                } else {
                    avg_pool2d(&pool, &conv, &mut want);
                }
                let mut got = vec![0.0; 2 * m * 9];
                let mut scratch = vec![0.0; 42];
                conv_pool2d(
                    &p,
                    Activation::Relu,
                    &pool,
                    max,
                    &x,
                    &w,
                    Some(&b),
                    &mut scratch,
                    &mut got,
                );
                assert_close(&got, &want, 1e-6);
            }
        }
    }
}
