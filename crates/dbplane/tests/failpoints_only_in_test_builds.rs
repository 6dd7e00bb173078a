//! Failpoints can kill or pause the server from an environment variable, so they must
//! exist only in the binary the tests run, never in the one a user runs. Two checks:
//! the binary built for these tests honours `DBPLANE_FAILPOINTS` (it refuses a bad one
//! before doing anything else), and cargo resolves a plain `cargo build -p dbplane`
//! (`make build`, `make run`: no dev-dependencies) without the `failpoints` feature,
//! while the test build has it.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_dbplane");

#[test]
fn the_test_binary_reads_the_failpoints() {
    let data_dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir.path())
        .env("DBPLANE_FAILPOINTS", "create_branch.finish=stall")
        .output()
        .expect("run dbplane");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "started with a bad failpoint");
    assert!(stderr.contains("unknown action"), "{stderr}");
}

/// Features of `dbplane-jobs` as cargo resolves them for `dbplane` with `edges` shown
/// (`normal,build`: a plain build; `all`: a build of its tests too).
fn jobs_features(edges: &str) -> String {
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let output = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["tree", "--locked", "--offline", "-p", "dbplane", "--edges"])
        .arg(edges)
        .args([
            "--invert",
            "dbplane-jobs",
            "--depth",
            "0",
            "--format",
            "{p} [{f}]",
        ])
        .output()
        .expect("run cargo tree");
    assert!(
        output.status.success(),
        "cargo tree: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn a_plain_build_has_no_failpoints_and_the_test_build_has() {
    let plain = jobs_features("normal,build");
    assert!(plain.contains("dbplane-jobs"), "{plain}");
    assert!(!plain.contains("failpoints"), "release build: {plain}");
    let tests = jobs_features("all");
    assert!(tests.contains("failpoints"), "test build: {tests}");
}
