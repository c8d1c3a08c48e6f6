//! `rtonnx`: the host command-line tool (inspect, run, evaluate and benchmark ONNX models
//! with the same engine the device uses).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
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
    /// Print the compiled plan: per step op, name, output shape, params and MACs; totals.
    Info {
        /// The ONNX model file.
        model: PathBuf,
    },
    /// Classify one MNIST test digit: ASCII art, the ten probabilities, the prediction.
    Run {
        /// The ONNX model file.
        model: PathBuf,
        /// Directory with t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz].
        #[arg(long)]
        mnist: Option<PathBuf>,
        /// Index of the test image.
        #[arg(long, default_value_t = 0)]
        index: usize,
    },
    /// Accuracy over the MNIST test set.
    Eval {
        /// The ONNX model file.
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
        /// The ONNX model file.
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
    },
}

fn default_mnist() -> PathBuf {
    match std::env::var_os("RTONNX_SHARED") {
        Some(s) => PathBuf::from(s).join("data/mnist"),
        None => PathBuf::from("../shared/data/mnist"),
    }
}

fn load_model(path: &Path) -> Result<Model, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Model::from_bytes(&bytes).map_err(|e| format!("{}: {e}", path.display()))
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
    let shape = &model
        .inputs()
        .first()
        .ok_or("the model has no input")?
        .shape;
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

fn bench(model: &Path, iters: usize, warmup: usize, dir: Option<PathBuf>) -> Result<(), String> {
    let mut m = load_model(model)?;
    let x = match dir {
        Some(d) => input_for(&m, &load_mnist(Some(d))?, 0)?,
        None => (0..m.input_len())
            .map(|i| ((i * 37) % 256) as f32 / 255.0)
            .collect(),
    };
    let mut y = vec![0.0; m.output_len()];
    for _ in 0..warmup {
        m.run(&x, &mut y).map_err(|e| e.to_string())?;
    }
    let mut times = Vec::with_capacity(iters.max(1));
    for _ in 0..iters.max(1) {
        let t = Instant::now();
        m.run(&x, &mut y).map_err(|e| e.to_string())?;
        times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    println!(
        "{}: median {:.2} us, min {:.2} us, mean {:.2} us over {} runs ({} MACs)",
        model.display(),
        times[times.len() / 2],
        times[0],
        mean,
        times.len(),
        m.total_macs()
    );
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info { model } => info(&model),
        Command::Run {
            model,
            mnist,
            index,
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
        } => bench(&model, iters, warmup, mnist),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
