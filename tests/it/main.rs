//! The integration tests, one binary: each module is one former test file, `support` is the
//! set-up they share. One binary links once (not once per file) and lets the support code be
//! checked for dead code like any other.
//!
//! `cargo test` runs everything; the crash and fault suites are slow and carry `slow` in their
//! module names, so `cargo test -- --skip slow` runs the fast part alone.

mod support;

mod architecture;
mod config;
mod daemon_run;
mod doctor;
mod hostile;
mod ion_client;
mod ion_receipts;
mod ion_rules;
mod ion_transport;
mod netsuite_auth;
mod netsuite_faults;
mod netsuite_receipts;
mod netsuite_suiteql;
mod receipts_e2e;
mod receipts_once;
mod receipts_po_sync;
mod receipts_slow_crash;
mod receipts_slow_faults;
mod sandbox_tour;
mod store;
mod sync_backfill;
mod sync_cli;
mod sync_dst;
mod sync_pipeline;
mod sync_po;
mod sync_reconcile;
mod sync_slow_crash;
