//! Build script: tells the crate whether the target's FPU has the fused multiply-add
//! instruction (`VFMA.F32`) that the hot convolution kernels use through inline assembly.
//! Arm's FPv4-SP and FPv5 (Cortex-M4F, M7, M33, M55 with hard float) have it; VFPv3 (e.g. the
//! Cortex-A9's armv7a-none-eabihf target) and soft-float targets do not. Rust has no stable
//! `cfg(target_feature)` for Arm FPU features, hence the target name.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(rtonnx_vfma)");
    println!("cargo::rerun-if-env-changed=TARGET");
    let target = std::env::var("TARGET").unwrap_or_default();
    let fpv4_or_later = ["thumbv7em-", "thumbv8m.main-", "thumbv8.1m.main-"]
        .iter()
        .any(|p| target.starts_with(p));
    if fpv4_or_later && target.ends_with("eabihf") {
        println!("cargo::rustc-cfg=rtonnx_vfma");
    }
}
