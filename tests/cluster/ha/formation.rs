//! The formation of `examples/cluster_ha.sh` for `tests/cluster/ha.rs`:
//! a pg_auto_failover monitor and two PostgreSQL servers, started by the
//! script a student runs, and the faults the test causes in it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::support::TestServer;
use crate::support::cluster::eventually;
use wachat::cluster::db::postgres;

/// The formation of `examples/cluster_ha.sh`, stopped when dropped.
pub struct Formation {
    dir: PathBuf,
    env: HashMap<String, String>,
}

impl Formation {
    pub fn start() -> Formation {
        if Command::new("pg_autoctl").arg("--version").output().is_err() {
            panic!(
                "pg_autoctl not found: install it with `apt-get install -y postgresql-15-auto-failover`, \
                 or run the tests with `.ci/test`"
            );
        }
        let dir = tempfile::Builder::new().prefix("wachat-ha-").tempdir().unwrap().keep();
        // Ports from a range the other tests' free ports (the kernel's
        // ephemeral range, 32768 and up) do not reach.
        let base = 20000 + (std::process::id() % 400) * 25;
        let mut formation = Formation { dir: dir.clone(), env: HashMap::new() };
        let output = Command::new("timeout")
            .arg("180")
            .arg(script())
            .args(["formation", &dir.display().to_string(), &base.to_string()])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run examples/cluster_ha.sh");
        assert!(
            output.status.success(),
            "cluster_ha.sh formation: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let env = std::fs::read_to_string(dir.join("env")).unwrap();
        let env = env.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.into(), v.into())).collect();
        formation.env = env;
        formation
    }

    pub fn get(&self, key: &str) -> &str {
        &self.env[key]
    }

    pub fn node(&self, name: &str) -> TestServer {
        let args = ["--store", self.get("STORE"), "--node", name, "--rate", "0"];
        TestServer::start_with(&args)
    }

    /// Each PostgreSQL node's name, reported and assigned states (the monitor's view).
    pub fn states(&self) -> Vec<(String, String, String)> {
        let Ok(mut monitor) = postgres::Client::connect(self.get("MONITOR")) else {
            return Vec::new();
        };
        let sql =
            "SELECT nodename, reportedstate::text, goalstate::text FROM pgautofailover.node ORDER BY nodeid";
        monitor
            .query(sql, &[])
            .map(|rows| rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
            .unwrap_or_default()
    }

    /// The name of the node the monitor has as primary (`pg1`, `pg2`),
    /// once it has one and a secondary: a new formation's first primary
    /// is `wait_primary` for a moment after its secondary reports in.
    pub fn primary(&self) -> String {
        self.wait_healthy(Duration::from_secs(60));
        let states = self.states();
        let primary = states.iter().find(|(_, reported, goal)| reported == "primary" && goal == "primary");
        primary.map(|p| p.0.clone()).unwrap_or_else(|| panic!("no primary: {states:?}"))
    }

    /// Waits until a primary and a secondary are in place.
    pub fn wait_healthy(&self, within: Duration) {
        eventually("a primary and a secondary", within, || {
            let states = self.states();
            let has = |s: &str| states.iter().any(|(_, reported, goal)| reported == s && goal == s);
            has("primary") && has("secondary")
        });
    }

    /// Sends `signal` to a PostgreSQL node's keeper and its server (one process group).
    pub fn signal(&self, pg: &str, signal: i32) {
        let pgid: i32 =
            std::fs::read_to_string(self.dir.join(format!("{pg}.pgid"))).unwrap().trim().parse().unwrap();
        // SAFETY: kill(2) on a process group this test started.
        assert_eq!(unsafe { libc::kill(-pgid, signal) }, 0, "kill -{signal} -{pgid}");
    }
}

impl Drop for Formation {
    fn drop(&mut self) {
        let _ = Command::new(script()).args(["stop", &self.dir.display().to_string()]).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cluster_ha.sh")
}
