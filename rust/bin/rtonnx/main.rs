//! `rtonnx`: the host command-line tool (inspect, run, evaluate and benchmark ONNX models
//! with the same engine the device uses).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};

mod compile;
mod tensor_io;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rtonnx::mnist::{self, MnistSet};
use rtonnx::Model;

#[derive(Parser)]
#[command(
    name = "rtonnx",
    version,
    about = "Run ONNX models with the rtonnx engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile an ONNX model into a plan (`.rtm`) that a device runs without the ONNX loader.
    Compile {
        /// The ONNX model file.
        model: PathBuf,
        /// The output file (default: the model's name with `.rtm`, or `.c` with `--emit c`).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// The kernel set to compile for: `portable`, `cortex-m-vfma` (Cortex-M4F/M7/M33/M55
        /// with hard float), `x86_64`, or a Rust target triple such as thumbv7em-none-eabihf.
        /// Default: this machine's.
        #[arg(long, value_parser = parse_target)]
        target: Option<rtonnx::Target>,
        /// What to write.
        #[arg(long, value_enum, default_value_t = compile::Emit::Rtm)]
        emit: compile::Emit,
        /// Print, as one line, the cargo features of the operator families the plan needs
        /// (a plan-only device library: no ONNX loader); writes the plan only with -o.
        #[arg(long)]
        cargo_features: bool,
        /// Print the menuconfig (.config) lines of a device build that runs just this plan;
        /// writes the plan only with -o.
        #[arg(long)]
        kconfig: bool,
    },
    /// Print the compiled plan: per step op, name, output shape, params and MACs; totals.
    Info {
        /// The model file (ONNX or compiled plan).
        model: PathBuf,
    },
    /// Classify one MNIST test digit: ASCII art, the ten probabilities, the prediction.
    Run {
        /// The model file (ONNX, or a plan written by `rtonnx compile`).
        model: PathBuf,
        /// Directory with t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz].
        #[arg(long)]
        mnist: Option<PathBuf>,
        /// Index of the test image.
        #[arg(long, default_value_t = 0)]
        index: usize,
        /// Run any model on these inputs instead of an MNIST digit: one `.npy` file (or raw
        /// little-endian float32) per graph input, in order, or `NAME=FILE` by input name.
        #[arg(long = "input", value_name = "[NAME=]FILE")]
        inputs: Vec<String>,
        /// With --input: write the outputs here (`.npy`, else raw float32), one per graph
        /// output in order; without, print them.
        #[arg(long = "output", value_name = "FILE")]
        outputs: Vec<PathBuf>,
    },
    /// Accuracy over the MNIST test set.
    Eval {
        /// The model file (ONNX, or a plan written by `rtonnx compile`).
        model: PathBuf,
        /// Directory with the t10k files.
        #[arg(long)]
        mnist: Option<PathBuf>,
        /// Evaluate only the first N images.
        #[arg(long)]
        limit: Option<usize>,
        /// Write the predicted digit of every image, as one line of digits, to this file.
        #[arg(long)]
        predictions: Option<PathBuf>,
    },
    /// Median, minimum and mean latency of one inference.
    Bench {
        /// The model file (ONNX, or a plan written by `rtonnx compile`).
        model: PathBuf,
        /// Timed inferences.
        #[arg(long, default_value_t = 2000)]
        iters: usize,
        /// Untimed inferences first.
        #[arg(long, default_value_t = 200)]
        warmup: usize,
        /// Use MNIST test image 0 from this directory as input (else a fixed pattern).
        #[arg(long)]
        mnist: Option<PathBuf>,
        /// Read the input tensor from this file instead: a `.npy` array of the input's shape,
        /// or little-endian f32 values, as many as the model input has (the same bytes can
        /// then be fed to other engines).
        #[arg(long, conflicts_with = "mnist")]
        input: Option<PathBuf>,
        /// Print one JSON object instead: the summary, every run's time in microseconds
        /// (`times_us`, in run order) and the output of the last run.
        #[arg(long)]
        json: bool,
        /// Read the clock only before and after the whole timed loop (no per-run clock reads,
        /// no sorting), for counting instructions per inference (e.g. with callgrind);
        /// reports only the mean.
        #[arg(long)]
        whole_loop: bool,
    },
}

fn parse_target(s: &str) -> Result<rtonnx::Target, String> {
    rtonnx::Target::parse(s).ok_or_else(|| {
        format!("unknown target '{s}': use portable, cortex-m-vfma, x86_64 or a Rust target triple")
    })
}

fn default_mnist() -> PathBuf {
    match std::env::var_os("RTONNX_SHARED") {
        Some(s) => PathBuf::from(s).join("data/mnist"),
        None => PathBuf::from("../shared/data/mnist"),
    }
}

/// Loads an ONNX file or a plan. A plan compiled for another target (the board's) runs here
/// with the portable kernels, which compute what the board computes up to rounding (its
/// fused multiply-adds round once): a note on stderr says so.
fn load_model(path: &Path) -> Result<Model, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let failed = |e: rtonnx::Error| format!("{}: {e}", path.display());
    if !rtonnx::plan::format::is_plan(&bytes) {
        return Model::from_bytes(&bytes).map_err(failed);
    }
    let plan = rtonnx::plan::format::read_for_host(&bytes).map_err(failed)?;
    if plan.target != rtonnx::Target::native() {
        eprintln!(
            "note: {} is a plan for {}: run here with the portable kernels (the last bits may differ from the board's)",
            path.display(),
            plan.target.name()
        );
    }
    Model::from_plan(plan).map_err(failed)
}

fn load_mnist(dir: Option<PathBuf>) -> Result<MnistSet, String> {
    let dir = dir.unwrap_or_else(default_mnist);
    mnist::load(&dir, "t10k").map_err(|e| e.to_string())
}

fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

fn input_for(model: &Model, set: &MnistSet, i: usize) -> Result<Vec<f32>, String> {
    let input = model.input(0).ok_or("the model has no input")?;
    let shape = input.shape.as_slice();
    set.to_input(i, shape).ok_or_else(|| {
        format!("image {i} does not fit the model input {shape:?} (or is out of range)")
    })
}

fn info(model: &Path) -> Result<(), String> {
    let m = load_model(model)?;
    let mut s = String::new();
    m.write_info(&mut s).map_err(|e| e.to_string())?;
    print!("{s}");
    Ok(())
}

fn run(model: &Path, dir: Option<PathBuf>, index: usize) -> Result<(), String> {
    let mut m = load_model(model)?;
    let set = load_mnist(dir)?;
    if index >= set.len() {
        return Err(format!("index {index} out of range (0..{})", set.len()));
    }
    let x = input_for(&m, &set, index)?;
    let mut y = vec![0.0; m.output_len()];
    let t = Instant::now();
    m.run(&x, &mut y).map_err(|e| e.to_string())?;
    let us = t.elapsed().as_secs_f64() * 1e6;
    print!("{}", set.ascii_art(index));
    for (d, p) in y.iter().enumerate() {
        println!("{d}: {p:.4}");
    }
    println!(
        "The number is {} (label {}, {us:.1} us)",
        argmax(&y),
        set.labels[index]
    );
    Ok(())
}

/// `rtonnx run MODEL --input ...`: any model on the given inputs.
fn run_tensors(model: &Path, inputs: &[String], outputs: &[PathBuf]) -> Result<(), String> {
    let mut m = load_model(model)?;
    let n_in = m.inputs().len();
    let mut files: Vec<Option<PathBuf>> = vec![None; n_in];
    for (k, spec) in inputs.iter().enumerate() {
        let by_name = spec
            .split_once('=')
            .and_then(|(name, file)| Some((m.inputs().position(|i| i.name == name)?, file)));
        let (i, file) = match by_name {
            Some(found) => found,
            None if k < n_in => (k, spec.as_str()),
            None => {
                return Err(format!(
                    "the model has {n_in} inputs, {} given",
                    inputs.len()
                ))
            }
        };
        match files.get_mut(i) {
            Some(slot @ None) => *slot = Some(PathBuf::from(file)),
            _ => return Err(format!("input {i} given twice")),
        }
    }
    let mut values = Vec::with_capacity(n_in);
    for (i, file) in files.iter().enumerate() {
        let name = m.input(i).map_or("", |t| t.name).to_string();
        let file = file
            .as_ref()
            .ok_or_else(|| format!("no --input for input {i} ('{name}')"))?;
        values.push(tensor_io::read_input(file, &m, i)?);
    }
    if outputs.len() > m.outputs().len() {
        return Err(format!(
            "the model has {} outputs, {} files given",
            m.outputs().len(),
            outputs.len()
        ));
    }
    let shapes: Vec<(String, Vec<usize>)> = m
        .outputs()
        .map(|o| (o.name.to_string(), o.shape.as_slice().to_vec()))
        .collect();
    let mut ys: Vec<Vec<f32>> = shapes
        .iter()
        .map(|(_, s)| vec![0.0; s.iter().product()])
        .collect();
    let xs: Vec<&[f32]> = values.iter().map(|v| v.as_slice()).collect();
    let mut ys_mut: Vec<&mut [f32]> = ys.iter_mut().map(|v| v.as_mut_slice()).collect();
    let t = Instant::now();
    m.run_many(&xs, &mut ys_mut).map_err(|e| e.to_string())?;
    let us = t.elapsed().as_secs_f64() * 1e6;
    for (i, ((name, shape), y)) in shapes.iter().zip(&ys).enumerate() {
        match outputs.get(i) {
            Some(path) => {
                tensor_io::write_output(path, shape, y)?;
                println!("{name} {shape:?} -> {}", path.display());
            }
            None => println!("{name} {shape:?}: {y:?}"),
        }
    }
    println!("{us:.1} us");
    Ok(())
}

fn eval(
    model: &Path,
    dir: Option<PathBuf>,
    limit: Option<usize>,
    predictions: Option<PathBuf>,
) -> Result<(), String> {
    let mut m = load_model(model)?;
    let set = load_mnist(dir)?;
    let n = limit.unwrap_or(set.len()).min(set.len());
    let bar = ProgressBar::new(n as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {per_sec} eta {eta}")
            .map_err(|e| e.to_string())?,
    );
    if !console_is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    let mut y = vec![0.0; m.output_len()];
    let mut correct = 0;
    let mut digits = String::with_capacity(n);
    for i in 0..n {
        let x = input_for(&m, &set, i)?;
        m.run(&x, &mut y).map_err(|e| e.to_string())?;
        let p = argmax(&y);
        digits.push(char::from(b'0' + (p % 10) as u8));
        if p == usize::from(set.labels[i]) {
            correct += 1;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if let Some(path) = predictions {
        std::fs::write(&path, digits + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let acc = if n == 0 {
        0.0
    } else {
        correct as f64 / n as f64
    };
    println!("accuracy: {acc:.4} ({correct}/{n})");
    Ok(())
}

fn console_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

struct BenchOptions {
    iters: usize,
    warmup: usize,
    mnist: Option<PathBuf>,
    input: Option<PathBuf>,
    json: bool,
    whole_loop: bool,
}

/// A JSON string literal (the model path is the only free text in the bench output).
fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_list(v: impl Iterator<Item = f64>, prec: usize) -> String {
    let items: Vec<String> = v
        .map(|x| {
            if x.is_finite() {
                format!("{x:.prec$}")
            } else {
                "null".to_string()
            }
        })
        .collect();
    format!("[{}]", items.join(","))
}

/// Output values in their shortest exact form (`{:e}`), `null` for NaN and infinities.
fn json_floats(v: &[f32]) -> String {
    let items: Vec<String> = v
        .iter()
        .map(|x| {
            if x.is_finite() {
                format!("{x:e}")
            } else {
                "null".to_string()
            }
        })
        .collect();
    format!("[{}]", items.join(","))
}

fn bench(model: &Path, o: BenchOptions) -> Result<(), String> {
    let mut m = load_model(model)?;
    let x = match (o.input, o.mnist) {
        (Some(path), _) => tensor_io::read_input(&path, &m, 0)?,
        (None, Some(d)) => input_for(&m, &load_mnist(Some(d))?, 0)?,
        (None, None) => (0..m.input_len())
            .map(|i| ((i * 37) % 256) as f32 / 255.0)
            .collect(),
    };
    let mut y = vec![0.0; m.output_len()];
    for _ in 0..o.warmup {
        m.run(&x, &mut y).map_err(|e| e.to_string())?;
    }
    let n = o.iters.max(1);
    let name = model.display().to_string();
    if o.whole_loop {
        let t = Instant::now();
        for _ in 0..n {
            m.run(&x, &mut y).map_err(|e| e.to_string())?;
        }
        let mean = t.elapsed().as_secs_f64() * 1e6 / n as f64;
        if o.json {
            println!(
                "{{\"model\":{},\"engine\":\"rtonnx\",\"mean_us\":{mean:.3},\"runs\":{n},\
                 \"macs\":{},\"output\":{}}}",
                json_str(&name),
                m.total_macs(),
                json_floats(&y)
            );
        } else {
            println!(
                "{name}: mean {mean:.2} us over {n} runs, whole loop timed ({} MACs)",
                m.total_macs()
            );
        }
        return Ok(());
    }
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        m.run(&x, &mut y).map_err(|e| e.to_string())?;
        times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
    if o.json {
        println!(
            "{{\"model\":{},\"engine\":\"rtonnx\",\"median_us\":{median:.3},\"min_us\":{:.3},\
             \"mean_us\":{mean:.3},\"runs\":{n},\"macs\":{},\"times_us\":{},\"output\":{}}}",
            json_str(&name),
            sorted[0],
            m.total_macs(),
            json_list(times.iter().copied(), 3),
            json_floats(&y)
        );
    } else {
        println!(
            "{name}: median {median:.2} us, min {:.2} us, mean {mean:.2} us over {n} runs ({} MACs)",
            sorted[0],
            m.total_macs()
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Compile {
            model,
            output,
            target,
            emit,
            cargo_features,
            kconfig,
        } => {
            let ext = if emit == compile::Emit::C { "c" } else { "rtm" };
            let print = compile::Print {
                cargo_features,
                kconfig,
            };
            // With a print option the plan is written only where -o says.
            let out = match output {
                Some(out) => Some(out),
                None if print.any() => None,
                None => Some(model.with_extension(ext)),
            };
            compile::run(
                &model,
                out.as_deref(),
                target.unwrap_or(rtonnx::Target::native()),
                emit,
                print,
            )
        }
        Command::Info { model } => info(&model),
        Command::Run {
            model,
            mnist,
            index,
            inputs,
            outputs,
        } if !inputs.is_empty() || !outputs.is_empty() => {
            let _ = (mnist, index);
            run_tensors(&model, &inputs, &outputs)
        }
        Command::Run {
            model,
            mnist,
            index,
            ..
        } => run(&model, mnist, index),
        Command::Eval {
            model,
            mnist,
            limit,
            predictions,
        } => eval(&model, mnist, limit, predictions),
        Command::Bench {
            model,
            iters,
            warmup,
            mnist,
            input,
            json,
            whole_loop,
        } => bench(
            &model,
            BenchOptions {
                iters,
                warmup,
                mnist,
                input,
                json,
                whole_loop,
            },
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
