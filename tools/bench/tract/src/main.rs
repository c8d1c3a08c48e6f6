//! Times tract-onnx on one model and one input, for `tools/bench/host_bench.py`.
//!
//! Usage: rtonnx-bench-tract MODEL INPUT.f32 D0,D1,.. ITERS WARMUP
//!
//! INPUT.f32 holds the input tensor as little-endian f32 values in the given shape. The model is
//! loaded once, optimised by tract for that concrete shape, and one `SimpleState` is run
//! repeatedly (tract's cheapest way to run one model many times, single thread: the
//! `multithread-mm` feature is not enabled). One JSON object is printed on stdout.

use std::process::ExitCode;
use std::time::Instant;

use tract_onnx::prelude::*;

fn bench(args: &[String]) -> TractResult<String> {
    if args.len() != 5 {
        anyhow::bail!("usage: rtonnx-bench-tract MODEL INPUT.f32 D0,D1,.. ITERS WARMUP");
    }
    let shape: Vec<usize> = args[2]
        .split(',')
        .map(|d| d.trim().parse::<usize>())
        .collect::<Result<_, _>>()?;
    let iters: usize = args[3].parse()?;
    let warmup: usize = args[4].parse()?;
    let raw = std::fs::read(&args[1])?;
    let data: Vec<f32> = raw
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    anyhow::ensure!(
        data.len() == shape.iter().product::<usize>(),
        "input has {} values, shape {:?} needs {}",
        data.len(),
        shape,
        shape.iter().product::<usize>()
    );

    let t_load = Instant::now();
    let model = tract_onnx::onnx()
        .model_for_path(&args[0])?
        .with_input_fact(0, f32::fact(&shape).into())?
        .into_optimized()?
        .into_runnable()?;
    let load_ms = t_load.elapsed().as_secs_f64() * 1e3;

    let input = Tensor::from_shape(&shape, &data)?;
    let mut state = model.spawn()?;
    let mut output: Vec<f32> = Vec::new();
    for _ in 0..warmup {
        state.run(tvec!(input.clone().into_tvalue()))?;
    }
    let mut times = Vec::with_capacity(iters.max(1));
    for _ in 0..iters.max(1) {
        // The input copy (a few hundred bytes) is part of what a caller pays per inference.
        let t = Instant::now();
        let out = state.run(tvec!(input.clone().into_tvalue()))?;
        times.push(t.elapsed().as_secs_f64() * 1e6);
        if output.is_empty() {
            output = out[0]
                .to_plain_array_view::<f32>()?
                .iter()
                .copied()
                .collect();
        }
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    let list = |v: &[f64], prec: usize| {
        v.iter()
            .map(|x| format!("{x:.prec$}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    // Outputs in their shortest exact form.
    let out_list = output
        .iter()
        .map(|x| format!("{x:e}"))
        .collect::<Vec<_>>()
        .join(",");
    Ok(format!(
        "{{\"engine\":\"tract-onnx\",\"median_us\":{:.3},\"min_us\":{:.3},\"mean_us\":{:.3},\
         \"runs\":{},\"load_ms\":{:.3},\"times_us\":[{}],\"output\":[{}]}}",
        sorted[sorted.len() / 2],
        sorted[0],
        mean,
        times.len(),
        load_ms,
        list(&times, 3),
        out_list
    ))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match bench(&args) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:?}");
            ExitCode::from(1)
        }
    }
}
