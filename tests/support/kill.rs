//! Randomness for the convergence and exactly-once tests: streams duplicated
//! and shuffled, and a process killed at random points.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A tiny deterministic generator (shuffles and kill schedules).
pub struct Lcg(pub u64);

impl Lcg {
    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// Each record `1 + copies[i % copies.len()]` times, then shuffled by `seed`.
pub fn duplicated_and_shuffled(records: &[Vec<u8>], copies: &[usize], seed: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (i, r) in records.iter().enumerate() {
        for _ in 0..=copies[i % copies.len()] {
            out.push(r.clone());
        }
    }
    let mut rng = Lcg(seed);
    for i in (1..out.len()).rev() {
        out.swap(i, rng.below(i as u64 + 1) as usize);
    }
    out
}

/// `bin args…` with logs quiet and stderr kept (for the final run's report).
pub fn spawn(bin: &str, args: &[&std::ffi::OsStr]) -> Child {
    Command::new(bin).args(args).env("RUST_LOG", "error").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()
}

/// Starts `start()` `kills` times and SIGKILLs it each time a random few
/// milliseconds (below `jitter_ms`) after `progress()` moved — so the kills land
/// all along the work, whatever the machine's speed — calling `after_kill()`
/// after each. Then runs it once more to the end and asserts it succeeded.
pub fn kill_repeatedly(
    kills: usize,
    seed: u64,
    jitter_ms: u64,
    start: impl Fn() -> Child,
    progress: impl Fn() -> usize,
    mut after_kill: impl FnMut(),
) {
    let mut rng = Lcg(seed);
    for kill in 0..kills {
        let before = progress();
        let mut child = start();
        while progress() == before {
            assert!(child.try_wait().unwrap().is_none(), "the run ended after {kill} kills: make the work longer");
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(rng.below(jitter_ms)));
        assert!(child.try_wait().unwrap().is_none(), "the run ended after {kill} kills: make the work longer");
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        after_kill();
    }
    let out = start().wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
