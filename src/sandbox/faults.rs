//! Seeded latency and fault injection shared by both simulators.
//!
//! Why seeded: a failing run must be replayable. Every decision comes from one `StdRng` seeded by
//! the test, so the same seed and the same request order give the same faults.

use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What the simulator does to one request instead of (or before) answering it normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer HTTP 429 with the service's error body.
    TooManyRequests,
    /// Answer HTTP 500 with the service's error body.
    ServerError,
    /// Apply the request, then drop the connection without answering (the client sees a reset
    /// or an incomplete message: its outcome is unknown, which is exactly what must be safe).
    ResetAfterApply,
    /// Drop the connection before applying anything.
    ResetBeforeApply,
    /// Answer 200 with a body that is not valid JSON.
    MalformedJson,
    /// Hold the request longer than any sane client timeout (the simulator sleeps `stall`).
    Timeout,
}

/// Fault and latency settings; all rates are probabilities in `[0, 1]` per request.
#[derive(Debug, Clone, Default)]
pub struct FaultConfig {
    pub seed: u64,
    /// How long the remote takes to answer a request ([`RoundTrip`]): the simulator's own
    /// handling counts towards it.
    pub latency: Duration,
    pub rate_429: f64,
    pub rate_500: f64,
    pub rate_reset_after_apply: f64,
    pub rate_reset_before_apply: f64,
    pub rate_malformed: f64,
    pub rate_timeout: f64,
    /// How long a `Timeout` fault holds the request.
    pub stall: Duration,
}

/// The injector: a seeded RNG behind a mutex (requests are concurrent; the order in which they
/// take the lock is the only non-determinism, and with one client in flight there is none).
#[derive(Debug)]
pub struct Faults {
    config: FaultConfig,
    rng: Mutex<StdRng>,
}

impl Faults {
    pub fn new(config: FaultConfig) -> Self {
        let rng = Mutex::new(StdRng::seed_from_u64(config.seed));
        Self { config, rng }
    }

    /// No latency, no faults.
    pub fn none() -> Self {
        Self::new(FaultConfig::default())
    }

    pub fn latency(&self) -> Duration {
        self.config.latency
    }

    pub fn stall(&self) -> Duration {
        self.config.stall
    }

    /// Draws the fate of one request.
    pub fn draw(&self) -> Option<Fault> {
        let c = &self.config;
        let table = [
            (c.rate_429, Fault::TooManyRequests),
            (c.rate_500, Fault::ServerError),
            (c.rate_reset_after_apply, Fault::ResetAfterApply),
            (c.rate_reset_before_apply, Fault::ResetBeforeApply),
            (c.rate_malformed, Fault::MalformedJson),
            (c.rate_timeout, Fault::Timeout),
        ];
        if table.iter().all(|(rate, _)| *rate <= 0.0) {
            return None;
        }
        let roll: f64 = match self.rng.lock() {
            Ok(mut rng) => rng.random(),
            Err(poisoned) => poisoned.into_inner().random(),
        };
        let mut acc = 0.0;
        for (rate, fault) in table {
            acc += rate;
            if roll < acc {
                return Some(fault);
            }
        }
        None
    }
}

/// One request's way through the simulated network and remote.
///
/// `latency` is the remote's answer time, and the simulator's own handling counts towards it:
/// the request is handled half the latency after it arrived (its way in), and answered no
/// sooner than the whole latency after it arrived (its way back); handling that takes longer
/// than the second half delays the answer by the excess only.
///
/// Why not sleep the latency and then handle: a real server's handling runs on its own
/// machines, within the time it takes to answer. The simulator's runs on the client's cores,
/// and added on top of the latency it made every request as much slower as the simulator was
/// slow, which says nothing of the client (the sync benchmark's bound counts `latency` per
/// request). The simulator's CPU still competes with the client's, as before.
#[derive(Debug, Clone, Copy)]
pub struct RoundTrip {
    arrived: tokio::time::Instant,
    latency: Duration,
}

impl RoundTrip {
    /// Starts the clock for a request that has just arrived.
    pub fn start(latency: Duration) -> Self {
        Self {
            arrived: tokio::time::Instant::now(),
            latency,
        }
    }

    /// The way in: until half the latency has passed since arrival.
    pub async fn way_in(&self) {
        if !self.latency.is_zero() {
            tokio::time::sleep_until(self.arrived + self.latency / 2).await;
        }
    }

    /// The way back: until the whole latency has passed since arrival (at once if it has).
    pub async fn way_back(&self) {
        if !self.latency.is_zero() {
            tokio::time::sleep_until(self.arrived + self.latency).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_round_trip_counts_handling_towards_the_latency() {
        let latency = Duration::from_millis(20);
        let start = tokio::time::Instant::now();
        let trip = RoundTrip::start(latency);
        trip.way_in().await;
        assert_eq!(start.elapsed(), latency / 2, "handled half-way");
        tokio::time::sleep(Duration::from_millis(4)).await; // quick handling
        trip.way_back().await;
        assert_eq!(start.elapsed(), latency, "answered at the latency");

        let start = tokio::time::Instant::now();
        let trip = RoundTrip::start(latency);
        trip.way_in().await;
        tokio::time::sleep(Duration::from_millis(15)).await; // slow handling
        trip.way_back().await;
        assert_eq!(
            start.elapsed(),
            Duration::from_millis(25),
            "slow handling delays the answer by its excess only"
        );
    }

    #[test]
    fn same_seed_same_faults() {
        let cfg = FaultConfig {
            seed: 42,
            rate_429: 0.2,
            rate_500: 0.2,
            ..Default::default()
        };
        let a = Faults::new(cfg.clone());
        let b = Faults::new(cfg);
        let xs: Vec<_> = (0..200).map(|_| a.draw()).collect();
        let ys: Vec<_> = (0..200).map(|_| b.draw()).collect();
        assert_eq!(xs, ys);
        let hits = xs.iter().filter(|f| f.is_some()).count();
        assert!(
            (40..=120).contains(&hits),
            "about 40% faults expected, got {hits}"
        );
    }

    #[test]
    fn no_rates_no_faults() {
        let f = Faults::none();
        assert!((0..100).all(|_| f.draw().is_none()));
    }
}
