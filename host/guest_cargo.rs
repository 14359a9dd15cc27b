//! The cargo command that builds guests for `wasm32-wasip2`, shared by
//! `build.rs` (the reference plugins) and the integration tests (the test
//! guests), so that both build with the same settings into one directory.

use std::path::Path;
use std::process::Command;

/// `cargo build` of `packages` for `wasm32-wasip2` with the `guest` profile,
/// run in `workspace`, into `target_dir`.
pub fn guest_cargo(cargo: &str, workspace: &Path, target_dir: &Path, packages: &[&str]) -> Command {
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args(["build", "--profile", "guest", "--target", "wasm32-wasip2"])
        .arg("--target-dir")
        .arg(target_dir);
    for package in packages {
        cmd.args(["-p", package]);
    }
    // The calling build's settings are for the host, not for wasm.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_LLVM_COV",
        "LLVM_PROFILE_FILE",
    ] {
        cmd.env_remove(var);
    }
    cmd
}
