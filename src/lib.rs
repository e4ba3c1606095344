//! netsuite-ion-sync: keeps purchasing in NetSuite and receiving in First Resonance ION in step,
//! by polling both sides and remembering what it did in an embedded sled store.
//!
//! # Layout
//! - [`config`]: the one TOML file (+ `NSION_*` environment overrides), parsed into typed settings.
//! - [`store`]: the only module that knows sled: checkpoints, link table, open problems.
//! - [`netsuite`]: NetSuite client (M2M OAuth 2.0, SuiteQL, record API, item receipts).
//! - [`ion`]: ION GraphQL client (Keycloak client credentials, the daemon's documents).
//! - [`plan`]: the pure core: which changes are due, from data alone (no I/O, no clock).
//! - [`sync`]: the I/O around the plan: polls both sides, applies plans, records outcomes.
//! - [`retry`]: the backoff policy both clients share.
//! - [`http_body`]: the size cap on every response body both clients read.
//! - `sandbox`: faithful NetSuite and ION simulators (tests, benchmarks, the `sandbox` command);
//!   `tour`: the `sandbox` command's scripted tour against them. Both only with the `sandbox`
//!   feature (default).
//! - [`daemon`]: the `run` loop: poll loops, cron reconciliation, systemd notify, graceful stop.
//! - [`telemetry`]: logging set-up (human on a terminal, JSON under systemd).
//! - [`clients`]: builds both clients from the configuration (the one place that does).
//! - [`doctor`]: pre-flight checks with fixes.
//! - [`cli`]: the command line; `main.rs` only calls [`cli::main`].

pub mod cli;
pub mod clients;
pub mod config;
pub mod daemon;
pub mod doctor;
pub mod http_body;
pub mod ion;
pub mod netsuite;
pub mod plan;
pub mod retry;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod store;
pub mod sync;
pub mod telemetry;
#[cfg(feature = "sandbox")]
pub mod tour;
