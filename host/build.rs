//! Builds the reference plugins for `wasm32-wasip2` so they can be embedded in
//! the binary (`src/plugin/embedded.rs`). The test guests (`guests/testing`)
//! are built by the integration tests when they need them, into the same
//! directory: a user's build does not compile them.
//!
//! The guests are built by a nested cargo in their own target directory (next to
//! the host's, shared by every profile), so the outer build's lock is not
//! contended and incremental rebuilds stay cheap.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "guest_cargo.rs"]
mod guest_cargo;

const REFERENCE: [(&str, &str); 4] = [
    ("message", "logpipe_message"),
    ("filter", "logpipe_filter"),
    ("perf", "logpipe_perf"),
    ("top-functions", "logpipe_top_functions"),
];
fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir.parent().unwrap().to_path_buf();
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("guests").display()
    );
    println!("cargo:rerun-if-changed={}", workspace.join("wit").display());
    println!("cargo:rerun-if-changed=guest_cargo.rs");
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("Cargo.lock").display()
    );
    // The guests' target features (`+simd128`) are set there.
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join(".cargo").join("config.toml").display()
    );
    println!("cargo:rerun-if-env-changed=LOGPIPE_GUEST_TARGET_DIR");

    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    // OUT_DIR is <target>/<profile>/build/<pkg>-<hash>/out.
    let target_root = out_dir.ancestors().nth(4).unwrap().to_path_buf();
    let guest_target = env::var_os("LOGPIPE_GUEST_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_root.join("guests"));

    check_wasm_target();

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let packages: Vec<String> = REFERENCE
        .iter()
        .map(|(_, krate)| krate.replace('_', "-"))
        .collect();
    let packages: Vec<&str> = packages.iter().map(String::as_str).collect();
    let mut cmd = guest_cargo::guest_cargo(&cargo, &workspace, &guest_target, &packages);
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("could not run cargo to build the guest plugins: {e}"));
    if !status.success() {
        panic!("building the guest plugins for wasm32-wasip2 failed (see the cargo output above)");
    }

    let built = guest_target.join("wasm32-wasip2").join("guest");
    let plugins = out_dir.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    for (name, file) in REFERENCE {
        let from = built.join(format!("{file}.wasm"));
        copy_if_changed(&from, &plugins.join(format!("{name}.wasm")));
    }
    println!("cargo:rustc-env=LOGPIPE_GUEST_DIR={}", built.display());
}

fn check_wasm_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let has_target = sysroot
        .as_ref()
        .is_some_and(|s| s.join("lib/rustlib/wasm32-wasip2").is_dir());
    if !has_target {
        panic!(
            "\n\nlogpipe embeds its reference plugins, built for the `wasm32-wasip2` target, \
             which is not installed.\nInstall it with:\n\n    rustup target add wasm32-wasip2\n\n"
        );
    }
}

fn copy_if_changed(from: &Path, to: &Path) {
    let bytes = std::fs::read(from)
        .unwrap_or_else(|e| panic!("guest plugin {} was not built: {e}", from.display()));
    if std::fs::read(to).ok().as_deref() != Some(&bytes[..]) {
        std::fs::write(to, &bytes).unwrap();
    }
}
