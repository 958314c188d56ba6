//! The examples of `examples/`, compiled for the tests that run them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// Set by `.ci/test`, which builds the examples once before the tests.
const BUILT_VAR: &str = "WACHAT_TEST_EXAMPLES_BUILT";

/// The path of a compiled example. Integration tests are not given the
/// examples' paths (only the binaries'): `.ci/test` builds the examples
/// that tests run (its list `examples`) before the tests and says so in
/// `WACHAT_TEST_EXAMPLES_BUILT`; without it (`cargo test` by hand), the
/// first call of each test process builds them all with the cargo that
/// runs the tests (quick when up to date).
pub fn example(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        if std::env::var_os(BUILT_VAR).is_some() {
            return;
        }
        let mut build = cargo_build();
        build.args(["--examples", "--quiet"]);
        assert!(build.status().expect("run cargo").success(), "cargo build --examples failed");
    });
    let path = profile_dir().join("examples").join(name);
    assert!(
        path.exists(),
        "{} is not built: a test that runs an example needs it in .ci/test's `examples`",
        path.display()
    );
    path
}

/// `cargo build` in this crate, with the profile and features of this
/// test build.
fn cargo_build() -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build.arg("build").current_dir(env!("CARGO_MANIFEST_DIR"));
    // Cargo describes this test crate to it in CARGO_MANIFEST_DIR,
    // CARGO_PKG_*, …; passed on, they would look like a changed
    // environment to build scripts that watch them (ring's does) and
    // rebuild half the dependencies every run.
    let per_crate =
        ["CARGO_MANIFEST_", "CARGO_PKG_", "CARGO_CRATE_", "CARGO_BIN_", "CARGO_PRIMARY_", "OUT_DIR"];
    for (name, _) in std::env::vars_os() {
        if per_crate.iter().any(|prefix| name.to_string_lossy().starts_with(prefix)) {
            build.env_remove(name);
        }
    }
    // The profile of this test build: `cargo test` builds the library
    // with `test`, and another profile would compile it a second time.
    if cfg!(debug_assertions) {
        build.args(["--profile", "test"]);
    } else {
        build.arg("--release");
    }
    // With the features of this test build (`cargo test --all-features`):
    // another set would rebuild the library meanwhile, for tens of seconds.
    if cfg!(feature = "cluster") {
        build.args(["--features", "cluster"]);
    }
    build
}

/// `<target>/<profile>/`: this test runs from its `deps/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// Compiles `source`, a changed copy of the example `name` (a planted
/// bug), into the program `out`: rustc alone, with the crates `crates`
/// the example uses as cargo built them for it (the library is not built
/// again). Of two versions of a crate, the newer is the one used.
pub fn compile_copy(name: &str, source: &str, crates: &[&str], out: &Path) {
    let mut build = cargo_build();
    build.args(["--example", name, "--message-format=json", "--quiet"]).stderr(Stdio::inherit());
    let built = build.output().expect("run cargo");
    assert!(built.status.success(), "cargo build --example {name} failed");
    // (name, version, rlib) of every library cargo built for the example.
    let mut rlibs: Vec<(String, Vec<u64>, String)> = Vec::new();
    for line in String::from_utf8_lossy(&built.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let crate_name = message["target"]["name"].as_str().unwrap_or_default().replace('-', "_");
        let version = message["package_id"].as_str().and_then(|id| id.rsplit(['@', '#']).next());
        let rlib = message["filenames"].as_array().into_iter().flatten().filter_map(|f| f.as_str());
        if let (Some(version), Some(rlib)) = (version, rlib.into_iter().find(|f| f.ends_with(".rlib"))) {
            let version = version.split(['.', '-', '+']).map_while(|p| p.parse().ok()).collect();
            rlibs.push((crate_name, version, rlib.to_string()));
        }
    }
    let source_file = out.with_extension("rs");
    std::fs::write(&source_file, source).unwrap();
    let mut rustc = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()));
    rustc
        .args(["--edition", "2024", "--crate-type", "bin", "-C", "debuginfo=0", "-o"])
        .arg(out)
        .arg(&source_file);
    rustc.arg("-L").arg(format!("dependency={}", profile_dir().join("deps").display()));
    for wanted in crates {
        let newest = rlibs.iter().filter(|(n, ..)| n == wanted).max_by(|a, b| a.1.cmp(&b.1));
        let (_, _, rlib) = newest.unwrap_or_else(|| panic!("cargo built no {wanted} for {name}"));
        rustc.args(["--extern", &format!("{wanted}={rlib}")]);
    }
    let status = rustc.status().expect("run rustc");
    assert!(status.success(), "rustc failed on the changed copy of {name}");
}
