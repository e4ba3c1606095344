//! Simulators of NetSuite and ION, faithful to `shared/reference/`, not to this daemon.
//! They serve over real HTTP on loopback (port 0) for tests, benchmarks and `sandbox`.

pub mod faults;
pub mod harness;
pub mod ion;
pub mod netsuite;
pub mod tour;
