//! Times `check` of the default profile (`rules/clarizen`): parse, check, compile the hook
//! script. Run with `cargo run --release --example check_bench [ITERATIONS]`.

#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "statistics over request counts and durations, far below 2^52"
)]

use std::path::Path;
use std::time::{Duration, Instant};

use provisio::check::{self, ProfileSources};

fn main() {
    let iterations: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000)
        .max(1);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/clarizen");
    let sources = match ProfileSources::load(&dir, None) {
        Ok(sources) => sources,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::exit(2);
        }
    };
    // Warm up (and make sure the profile checks).
    for _ in 0..50 {
        if check::check(&sources).rules.is_none() {
            eprintln!("error: the default profile does not check");
            std::process::exit(1);
        }
    }
    let mut samples: Vec<Duration> = (0..iterations)
        .map(|_| {
            let start = Instant::now();
            let report = check::check(&sources);
            let elapsed = start.elapsed();
            std::hint::black_box(report);
            elapsed
        })
        .collect();
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    println!(
        "check(rules/clarizen), {iterations} runs: median {:?}, p10 {:?}, p90 {:?}, max {:?}",
        at(0.5),
        at(0.1),
        at(0.9),
        at(1.0)
    );
}
