//! Simulators of NetSuite and ION, faithful to the services' documented behaviour, not to this
//! daemon. They serve over real HTTP on loopback (port 0) for tests, benchmarks and the
//! `sandbox` command ([`crate::tour`]).
//!
//! Behind the `sandbox` cargo feature (on by default): a daemon built without it has no
//! simulators, no SQLite and no HTTP server.

pub mod faults;
pub mod harness;
pub mod ion;
pub mod netsuite;
