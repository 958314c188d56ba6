//! The examples of `examples/`, compiled for the tests that run them.

use std::path::PathBuf;
use std::process::Command;
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
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "--examples", "--quiet"]).current_dir(env!("CARGO_MANIFEST_DIR"));
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
        assert!(build.status().expect("run cargo").success(), "cargo build --examples failed");
    });
    // This test runs from <target>/<profile>/deps/; examples are in
    // <target>/<profile>/examples/.
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join("examples").join(name);
    assert!(
        path.exists(),
        "{} is not built: a test that runs an example needs it in .ci/test's `examples`",
        path.display()
    );
    path
}
