//! Compiled plans (`.rtm`): a plan runs bit-identical to the ONNX path on this target, reads
//! back to the same bytes, is used in place from a static buffer, and a damaged, truncated,
//! mutated or hostile plan is refused with an error code and message, never a panic.

mod support;

use rtonnx::plan::format;
use rtonnx::{ErrorCode, Model, Target};

/// Every shipped model: our own and the original package's.
fn models() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let ours = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/models");
    let theirs = support::shared_dir().join("models/keras2onnx");
    for dir in [ours, theirs] {
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "onnx"))
            .collect();
        names.sort();
        for p in names {
            out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
    assert!(
        out.len() >= 4,
        "expected the shipped models, found {}",
        out.len()
    );
    out
}

fn plan_bytes(onnx: &[u8], target: Target) -> Vec<u8> {
    format::write(&rtonnx::load::compile_plan(onnx, target).unwrap()).unwrap()
}

/// Deterministic inputs: a ramp with signs, and a few special values.
fn input(len: usize, seed: usize) -> Vec<f32> {
    (0..len)
        .map(|i| (((i * 7919 + seed * 104_729) % 1000) as f32 / 500.0) - 1.0)
        .collect()
}

fn outputs(m: &mut Model, x: &[f32]) -> Vec<u32> {
    let mut y = vec![0.0; m.output_len()];
    m.run(x, &mut y).unwrap();
    y.iter().map(|v| v.to_bits()).collect()
}

/// `bytes` copied into a buffer that lives for the rest of the program, 16-byte aligned.
fn leak_aligned(bytes: &[u8]) -> &'static [u8] {
    let words: &'static mut [u128] = Box::leak(vec![0u128; bytes.len().div_ceil(16)].into());
    // SAFETY (test only): the u128 buffer covers at least `bytes.len()` bytes, is never freed
    // and is not used through another reference.
    let view: &'static mut [u8] =
        unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), bytes.len()) };
    view.copy_from_slice(bytes);
    view
}

#[test]
fn plans_run_bit_identical_to_the_onnx_path() {
    for (name, onnx) in models() {
        let plan = plan_bytes(&onnx, Target::native());
        let mut reference = Model::from_bytes(&onnx).unwrap();
        let mut loaded = [
            Model::from_bytes(&plan).unwrap(),
            Model::from_vec(plan.clone()).unwrap(),
            Model::from_static(leak_aligned(&plan)).unwrap(),
        ];
        assert_eq!(
            loaded[2].weight_bytes(),
            0,
            "{name}: static plan copied its weights"
        );
        assert!(loaded[2].static_weight_bytes() > 0, "{name}");
        for seed in 0..5 {
            let x = input(reference.input_len(), seed);
            let want = outputs(&mut reference, &x);
            for (i, m) in loaded.iter_mut().enumerate() {
                assert_eq!(outputs(m, &x), want, "{name}: load path {i}, input {seed}");
            }
        }
        let (a, b) = (&reference, &loaded[0]);
        assert_eq!(
            a.nodes().collect::<Vec<_>>(),
            b.nodes().collect::<Vec<_>>(),
            "{name}"
        );
        assert_eq!(
            a.inputs().collect::<Vec<_>>(),
            b.inputs().collect::<Vec<_>>(),
            "{name}"
        );
        assert_eq!(
            a.outputs().collect::<Vec<_>>(),
            b.outputs().collect::<Vec<_>>(),
            "{name}"
        );
        assert_eq!(a.arena_bytes(), b.arena_bytes(), "{name}");
    }
}

#[test]
fn initializers_are_found_by_name_in_a_plan() {
    let onnx =
        std::fs::read(support::shared_dir().join("models/keras2onnx/mnist-sm.onnx")).unwrap();
    let a = Model::from_bytes(&onnx).unwrap();
    let b = Model::from_bytes(&plan_bytes(&onnx, Target::native())).unwrap();
    let names: Vec<&str> = a.plan().initializers().map(|i| i.name).collect();
    assert!(names.len() >= 4, "{names:?}");
    for n in names {
        assert!(a.initializer(n).is_some(), "{n}");
        let data = |m: &Model| m.initializer(n).map(|(i, v)| (i.shape, v.to_vec()));
        assert_eq!(data(&b), data(&a), "{n}");
    }
}

#[test]
fn writing_is_deterministic_and_reading_round_trips() {
    for (name, onnx) in models() {
        let plan = plan_bytes(&onnx, Target::native());
        assert_eq!(plan, plan_bytes(&onnx, Target::native()), "{name}");
        let again = format::write(&format::read(&plan, None).unwrap()).unwrap();
        assert_eq!(plan, again, "{name}: read + write changed the plan");
        assert!(format::is_plan(&plan));
        assert_eq!(&plan[..8], b"RTONNXPL");
        let weights_off = u32::from_le_bytes(plan[32..36].try_into().unwrap()) as usize;
        assert_eq!(weights_off % 16, 0, "{name}");
    }
}

#[test]
fn a_plan_for_another_target_is_refused_clearly() {
    let onnx =
        std::fs::read(support::shared_dir().join("models/keras2onnx/mnist-sm.onnx")).unwrap();
    for t in [Target::Portable, Target::ArmVfma, Target::X86_64] {
        let plan = match rtonnx::load::compile_plan(&onnx, t) {
            Ok(p) => format::write(&p).unwrap(),
            Err(e) => {
                assert_eq!(e.code(), ErrorCode::NotSupported, "{t:?}");
                continue;
            }
        };
        let r = Model::from_bytes(&plan);
        if t == Target::native() {
            assert!(r.is_ok(), "{t:?}");
        } else {
            let e = r.err().unwrap();
            assert_eq!(e.code(), ErrorCode::NotSupported, "{t:?}");
            assert!(e.to_string().contains("--target"), "{e}");
        }
    }
}

/// Sets the header's checksums to match the (edited) contents (when the weight-section
/// offset still lets them be computed; otherwise the load fails on the checksum or the size).
fn fix_crc(p: &mut [u8]) {
    let _ = format::seal(p);
}

/// Loads `p` in place as a static buffer (leaked: a few kilobytes per call).
fn load_static(p: &[u8]) -> rtonnx::Result<Model> {
    Model::from_static(Box::leak(p.to_vec().into_boxed_slice()))
}

fn set_u32(p: &mut [u8], at: usize, v: u32) {
    p[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn load_err(p: &[u8]) -> (ErrorCode, String) {
    let e = Model::from_bytes(p).err().expect("a hostile plan loaded");
    (e.code(), e.to_string())
}

#[test]
fn damaged_plans_give_their_errors() {
    let onnx =
        std::fs::read(support::shared_dir().join("models/keras2onnx/mnist-sm.onnx")).unwrap();
    let plan = plan_bytes(&onnx, Target::native());

    // A flipped weight bit: the weights' checksum catches it in a copying load (from bytes,
    // from a file's buffer) and in verify(); a plan used in place is not read whole at load,
    // so it loads (the structure is intact) and runs.
    let mut p = plan.clone();
    let last = p.len() - 3;
    p[last] ^= 0x10;
    let (code, msg) = load_err(&p);
    assert_eq!(code, ErrorCode::Malformed);
    assert!(msg.contains("checksum mismatch in its weights"), "{msg}");
    let e = Model::from_vec(p.clone()).err().unwrap();
    assert!(e.to_string().contains("checksum"), "{e}");
    let e = format::verify(&p).err().unwrap();
    assert!(e.to_string().contains("checksum"), "{e}");
    assert!(load_static(&p).is_ok());
    assert!(format::verify(&plan).is_ok());

    // A flipped bit in a step's name: the tables' checksum.
    let mut p = plan.clone();
    p[format::HEADER_LEN + 40] ^= 0x01;
    let (code, msg) = load_err(&p);
    assert_eq!(code, ErrorCode::Malformed);
    assert!(msg.contains("header or tables"), "{msg}");

    // A future format version, an old one.
    for v in [format::VERSION + 1, format::VERSION - 1] {
        let mut p = plan.clone();
        p[8..10].copy_from_slice(&v.to_le_bytes());
        fix_crc(&mut p);
        let (code, msg) = load_err(&p);
        assert_eq!(code, ErrorCode::NotSupported);
        assert!(msg.contains("plan format"), "{msg}");
    }

    // Built by another library version.
    let mut p = plan.clone();
    set_u32(&mut p, 16, 0x00ff_0000);
    fix_crc(&mut p);
    let (code, msg) = load_err(&p);
    assert_eq!(code, ErrorCode::NotSupported);
    assert!(msg.contains("version"), "{msg}");

    // An unknown target number.
    let mut p = plan.clone();
    p[12] = 9;
    fix_crc(&mut p);
    assert_eq!(load_err(&p).0, ErrorCode::Malformed);

    // Trailing bytes, a short file.
    let mut p = plan.clone();
    p.extend_from_slice(&[0; 16]);
    assert_eq!(load_err(&p).0, ErrorCode::Malformed);

    // A step count of 2^32 - 1, an input count of 2^31.
    for (at, v) in [(52, u32::MAX), (40, 1 << 31), (44, 1 << 20), (48, 77_777)] {
        let mut p = plan.clone();
        set_u32(&mut p, at, v);
        fix_crc(&mut p);
        let (code, msg) = load_err(&p);
        assert_eq!(code, ErrorCode::Malformed, "{at}: {msg}");
    }

    // A weight section that does not reach the end, an arena of 2^30 elements.
    for (at, v) in [(32, 60), (36, 1), (28, 1 << 30), (28, 1)] {
        let mut p = plan.clone();
        set_u32(&mut p, at, v);
        fix_crc(&mut p);
        let (code, _) = load_err(&p);
        assert!(
            matches!(code, ErrorCode::Malformed | ErrorCode::LimitExceeded),
            "{at}: {code:?}"
        );
    }
}

/// Every 32-bit word of the tables, in turn, set to hostile values (with the checksum
/// fixed, so the structural checks are what is tested): each loads or fails with a code;
/// whatever loads runs on NaN/Inf inputs.
#[test]
fn hostile_table_words_never_crash() {
    let onnx =
        std::fs::read(support::shared_dir().join("models/keras2onnx/mnist-sm.onnx")).unwrap();
    let plan = plan_bytes(&onnx, Target::native());
    let weights_off = u32::from_le_bytes(plan[32..36].try_into().unwrap()) as usize;
    let mut loaded = 0;
    let mut refused = 0;
    for at in (format::HEADER_LEN..weights_off).step_by(4) {
        let orig = u32::from_le_bytes(plan[at..at + 4].try_into().unwrap());
        for v in [
            0,
            1,
            2,
            3,
            orig.wrapping_add(1),
            orig.wrapping_sub(1),
            0xffff,
            1 << 24,
            u32::MAX,
        ] {
            let mut p = plan.clone();
            set_u32(&mut p, at, v);
            fix_crc(&mut p);
            // In place (no checksums) the same checks hold.
            if let Ok(mut m) = load_static(&p) {
                let x = vec![f32::NAN; m.input_len()];
                let mut y = vec![0.0; m.output_len()];
                let _ = m.run(&x, &mut y);
            }
            match Model::from_bytes(&p) {
                Ok(mut m) => {
                    loaded += 1;
                    let x: Vec<f32> = (0..m.input_len())
                        .map(|i| [f32::NAN, f32::INFINITY, -1e30, 0.5][i % 4])
                        .collect();
                    let mut y = vec![0.0; m.output_len()];
                    let _ = m.run(&x, &mut y);
                }
                Err(e) => {
                    refused += 1;
                    assert!(!e.to_string().is_empty());
                }
            }
        }
    }
    assert!(
        refused > 0 && loaded > 0,
        "loaded {loaded}, refused {refused}"
    );
}

#[test]
fn every_truncation_of_a_plan_is_an_error() {
    for (name, onnx) in models().into_iter().take(2) {
        let plan = plan_bytes(&onnx, Target::native());
        for cut in 0..plan.len() {
            let r = Model::from_bytes(&plan[..cut]);
            let e = r
                .err()
                .unwrap_or_else(|| panic!("{name}: cut at {cut} loaded"));
            if cut >= 8 {
                assert_eq!(e.code(), ErrorCode::Malformed, "{name}: cut at {cut}: {e}");
            }
        }
    }
}

#[test]
fn random_mutations_with_a_fixed_checksum_never_crash() {
    let onnx =
        std::fs::read(support::shared_dir().join("models/keras2onnx/mnist-lg.onnx")).unwrap();
    let plan = plan_bytes(&onnx, Target::native());
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    for _ in 0..5000 {
        let mut p = plan.clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() as usize) % p.len();
            p[at] = next() as u8;
        }
        // Used in place, the checksums are not computed: the structural checks alone.
        if let Ok(mut m) = load_static(&p) {
            let x = vec![f32::NAN; m.input_len()];
            let mut y = vec![0.0; m.output_len()];
            let _ = m.run(&x, &mut y);
        }
        fix_crc(&mut p);
        if let Ok(mut m) = Model::from_vec(p) {
            let x = vec![f32::NAN; m.input_len()];
            let mut y = vec![0.0; m.output_len()];
            let _ = m.run(&x, &mut y);
        }
    }
}

#[test]
fn the_c_source_holds_the_plan() {
    let onnx =
        std::fs::read(support::shared_dir().join("models/keras2onnx/mnist-sm.onnx")).unwrap();
    let dir = std::env::temp_dir().join(format!("rtonnx-plan-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("mnist-sm.onnx");
    std::fs::write(&model, &onnx).unwrap();
    let bin = env!("CARGO_BIN_EXE_rtonnx");
    let out = std::process::Command::new(bin)
        .args(["compile", model.to_str().unwrap(), "--emit", "c", "-o"])
        .arg(dir.join("mnist_sm_plan.c"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = std::fs::read_to_string(dir.join("mnist_sm_plan.c")).unwrap();
    let h = std::fs::read_to_string(dir.join("mnist_sm_plan.h")).unwrap();
    assert!(c.contains("__attribute__((aligned(16))) const unsigned char mnist_sm_plan["));
    assert!(h.contains("extern const unsigned char mnist_sm_plan["));
    // The array's bytes are the plan.
    let body = &c[c.find('{').unwrap() + 1..c.rfind('}').unwrap()];
    let bytes: Vec<u8> = body
        .split(',')
        .filter_map(|t| t.trim().strip_prefix("0x"))
        .map(|t| u8::from_str_radix(t, 16).unwrap())
        .collect();
    assert_eq!(bytes, plan_bytes(&onnx, Target::native()));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Byte offsets of the MAC counts `macs` (non-zero, in step order) in a plan: the node
/// records follow the header in step order, so each count is the first match of its value
/// after the last.
fn mac_offsets(bytes: &[u8], macs: &[u64]) -> Vec<usize> {
    let mut at = format::HEADER_LEN;
    macs.iter()
        .map(|m| {
            let pat = m.to_le_bytes();
            let off = at + bytes[at..].windows(8).position(|w| w == pat).unwrap();
            at = off + 8;
            off
        })
        .collect()
}

#[test]
fn mac_counts_that_add_up_past_u64_are_refused() {
    let (name, onnx) = models().into_iter().next().unwrap();
    let mut bytes = plan_bytes(&onnx, Target::native());
    let macs: Vec<u64> = format::read(&bytes, None)
        .unwrap()
        .nodes()
        .map(|n| n.macs)
        .collect();
    // The nodes that count MACs (a softmax counts none).
    let macs: Vec<u64> = macs.into_iter().filter(|&m| m > 0).collect();
    assert!(macs.len() >= 2, "{name}");
    let offs = mac_offsets(&bytes, &macs);
    let set = |bytes: &mut Vec<u8>, i: usize, v: u64| {
        bytes[offs[i]..offs[i] + 8].copy_from_slice(&v.to_le_bytes());
        format::seal(bytes).unwrap();
    };
    set(&mut bytes, 0, u64::MAX);
    set(&mut bytes, 1, 1);
    let e = Model::from_bytes(&bytes)
        .err()
        .expect("a plan whose MACs overflow loaded");
    assert_eq!(e.code(), ErrorCode::Malformed, "{e}");
    assert!(e.to_string().contains("MAC counts"), "{e}");
    // One count at the maximum is a number, and loads.
    for i in 1..macs.len() {
        set(&mut bytes, i, 0);
    }
    let m = Model::from_bytes(&bytes).unwrap();
    assert_eq!(m.total_macs(), u64::MAX);
}

/// `plan` with `extra_inputs` graph inputs (no name, rank 0: one element) after its own and
/// `extra_outputs` graph outputs (no name, one element) that are the last of those inputs,
/// as an Identity graph's outputs are: 8 and 20 bytes a record.
fn with_many_inputs_and_outputs(plan: &[u8], extra_inputs: usize, extra_outputs: usize) -> Vec<u8> {
    let word = |at: usize| u32::from_le_bytes(plan[at..at + 4].try_into().unwrap()) as usize;
    let (n_in, n_out) = (word(40), word(44));
    let skip_str = |at: usize| at + 4 + word(at).div_ceil(4) * 4;
    let skip_shape = |at: usize| at + 4 + 4 * word(at);
    let mut pos = format::HEADER_LEN;
    for _ in 0..n_in {
        pos = skip_shape(skip_str(pos));
    }
    let inputs_end = pos;
    for _ in 0..n_out {
        pos = skip_shape(skip_str(pos)) + 12;
    }
    let outputs_end = pos;
    let last = (n_in + extra_inputs - 1) as u32;
    let words = |ws: &[u32]| ws.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>();
    let mut p = plan[..inputs_end].to_vec();
    for _ in 0..extra_inputs {
        p.extend(words(&[0, 0]));
    }
    p.extend_from_slice(&plan[inputs_end..outputs_end]);
    for _ in 0..extra_outputs {
        p.extend(words(&[0, 0, 3, last, 1]));
    }
    p.extend_from_slice(&plan[outputs_end..]);
    let added = p.len() - plan.len();
    assert_eq!(added % format::WEIGHT_ALIGN, 0);
    let total = p.len() as u32;
    set_u32(&mut p, 24, total);
    set_u32(&mut p, 32, (word(32) + added) as u32);
    set_u32(&mut p, 40, (n_in + extra_inputs) as u32);
    set_u32(&mut p, 44, (n_out + extra_outputs) as u32);
    format::seal(&mut p).unwrap();
    p
}

/// A plan of many graph inputs and of many outputs reading the last of them loads three ways
/// and runs with every output right. (Found by reading format 3 under fuzz `plan`: looking
/// up input `i` in the tables skips `i` records, and the load's checks and `run_many` did
/// that for each operand and each input, quadratic in the plan's size: 1.7 s for this plan
/// in release, 30 ms since they read each table once in order. Time is not asserted here,
/// tests do not time; this plan is also a seed of the fuzz target, whose 1 s timeout does.)
#[test]
fn many_inputs_and_outputs_load_and_run() {
    let onnx =
        std::fs::read(support::shared_dir().join("models/keras2onnx/mnist-sm.onnx")).unwrap();
    let plan = plan_bytes(&onnx, Target::native());
    let (n_in, n_out) = (20_000, 8_000);
    let p = with_many_inputs_and_outputs(&plan, n_in, n_out);
    let mut m = Model::from_bytes(&p).unwrap();
    let m_static = load_static(&p).unwrap();
    let m_vec = Model::from_vec(p.clone()).unwrap();
    assert_eq!(m.inputs().len(), n_in + 1);
    assert_eq!(m.outputs().len(), n_out + 1);
    assert_eq!(m_static.outputs().len(), n_out + 1);
    assert_eq!(m_vec.outputs().len(), n_out + 1);
    let x0 = input(m.input_len(), 1);
    let ones = [1.5f32; 1];
    let mut xs: Vec<&[f32]> = vec![&x0];
    xs.extend(std::iter::repeat_n(&ones[..], n_in));
    let mut y0 = vec![0.0f32; m.output_len()];
    let mut ys_store = vec![[0.0f32; 1]; n_out];
    let mut ys: Vec<&mut [f32]> = vec![&mut y0];
    ys.extend(ys_store.iter_mut().map(|y| &mut y[..]));
    m.run_many(&xs, &mut ys).unwrap();
    drop(ys);
    assert!(ys_store.iter().all(|y| y[0] == 1.5));
}
