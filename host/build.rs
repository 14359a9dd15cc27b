//! Builds the guest plugins for `wasm32-wasip2` so the reference plugins can be
//! embedded in the binary (`src/plugin/embedded.rs`).
//!
//! The guests are built by a nested cargo in their own target directory (next to
//! the host's, shared by every profile), so the outer build's lock is not
//! contended and incremental rebuilds stay cheap.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const REFERENCE: [(&str, &str); 4] = [
    ("message", "logpipe_message"),
    ("filter", "logpipe_filter"),
    ("perf", "logpipe_perf"),
    ("top-functions", "logpipe_top_functions"),
];
const TEST_GUESTS: [&str; 7] = [
    "logpipe-hostile",
    "logpipe-misbehave",
    "logpipe-not-a-plugin",
    "logpipe-tagger-a",
    "logpipe-tagger-b",
    "logpipe-legacy-parser",
    "logpipe-legacy-filter",
];

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir.parent().unwrap().to_path_buf();
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("guests").display()
    );
    println!("cargo:rerun-if-changed={}", workspace.join("wit").display());
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
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&workspace)
        .args(["build", "--profile", "guest", "--target", "wasm32-wasip2"])
        .arg("--target-dir")
        .arg(&guest_target);
    for (_, krate) in REFERENCE {
        cmd.args(["-p", &krate.replace('_', "-")]);
    }
    for krate in TEST_GUESTS {
        cmd.args(["-p", krate]);
    }
    // The outer build's settings are for the host, not for wasm.
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
