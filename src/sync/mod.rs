//! The sync: pure planners (which changes are due, computed from data alone) and the I/O layer
//! that feeds them and performs their plans.
//!
//! The pure planners live in [`crate::plan`]; this module is the I/O around them.
//!
//! # Layout
//! - [`receipts`]: the receiving leg: polls ION, applies the receipts plan exactly once through
//!   a durable intent and an `externalId` lookup, records the outcome.
//!
//! The I/O layer, which the daemon, `once`, `resync` and the tests drive:
//! - [`context`]: both clients, the store and the settings, built from `Config`.
//! - [`netsuite_read`]: a chunk of SuiteQL headers + batched lines, vendors, items → POs.
//! - [`ion_read`]: ION POs → the planner's view of them.
//! - [`apply`]: performs a plan through the ION client, threading fresh etags.
//! - [`po_sync`]: the cycle ([`Engine`]): checkpoints, natural-key lookups, failure isolation.
//! - [`pipeline`]: the cycle's pages in chunks, read and planned while earlier chunks apply.
//! - [`backfill`]: `backfill --since DATE`, the initial import: the engine's path page by page
//!   from a date, resumable, checkpointing forward only.

pub mod daemon_work;
pub mod receipts;

pub mod apply;
pub mod backfill;
pub mod context;
pub mod ion_read;
pub mod netsuite_read;
pub mod pipeline;
pub mod po_sync;

pub use context::{Context, SyncSettings};
pub use po_sync::{CycleOptions, CycleSummary, Engine};
pub use receipts::{ReceiptSummary, ReceiptSync};
