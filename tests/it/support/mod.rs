//! Shared set-up of the integration tests, by topic. The simulators themselves are started by
//! the library's [`netsuite_ion_sync::sandbox::harness`] (benches and the sandbox tour use it
//! too); this adds what only tests need: the fixture key pair, a fixed clock start, clients
//! with test timeouts, and helpers to put data in and read it back.

pub mod hostile;
pub mod ion;
pub mod log_signal;
pub mod netsuite;
pub mod receipts;
pub mod sync;

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use netsuite_ion_sync::retry::Backoff;
use netsuite_ion_sync::sandbox::harness::KeySource;
use netsuite_ion_sync::sandbox::netsuite::LineSpec;

/// Path of a file under `tests/fixtures/netsuite/` (openssl-made keys and certificates).
pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/netsuite")
        .join(name)
}

/// The text of a file under `tests/fixtures/netsuite/`.
pub fn fixture(name: &str) -> String {
    let path = fixture_path(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The fixture pair `auth-cert.pem` / `auth-key.pem` the NetSuite tests authenticate with: a
/// file pair, so a child process can be given the same key.
pub fn fixture_key() -> KeySource {
    KeySource::from_files(
        &fixture_path("auth-cert.pem"),
        &fixture_path("auth-key.pem"),
    )
    .expect("fixture key pair")
}

/// A deterministic simulated clock start: 2026-01-15 18:00:00 UTC (10:00 in Los Angeles, the
/// simulator's default zone).
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 15, 18, 0, 0).unwrap()
}

/// Quick NetSuite retries: tests meet many injected faults and must not wait out real backoffs.
pub fn netsuite_backoff() -> Backoff {
    Backoff {
        base: Duration::from_millis(2),
        max_delay: Duration::from_millis(20),
        max_attempts: 12,
    }
}

/// A NetSuite PO line of `quantity` × `item` at 2.50.
pub fn line(item: i64, quantity: f64) -> LineSpec {
    LineSpec {
        item,
        quantity,
        rate: 2.5,
        ..Default::default()
    }
}

/// The libtest name of test `name` in the module at `module_path` (`module_path!()`), for
/// re-running this binary as a child with `--exact`: libtest names tests by their path without
/// the crate's own name.
pub fn test_name(module_path: &str, name: &str) -> String {
    match module_path.split_once("::") {
        Some((_crate, path)) => format!("{path}::{name}"),
        None => name.to_owned(),
    }
}
