//! The sync: the I/O around the pure planners of [`crate::plan`]. It feeds them what NetSuite,
//! ION and the store hold, performs their plans and records the outcomes.
//!
//! # Layout
//! - [`context`]: both clients, the store and the settings, built from `Config`.
//! - [`netsuite_read`]: a chunk of SuiteQL headers + batched lines, vendors, items → POs.
//! - [`ion_read`]: ION POs → the planner's view of them.
//! - [`apply`]: performs a PO plan through the ION client, threading fresh etags.
//! - [`po_sync`]: the PO cycle ([`Engine`]) by phase: cycle, stage, resolve suppliers and
//!   parts, apply jobs, record, deletions, render; its `pipeline` reads and plans chunks while
//!   earlier chunks apply.
//! - [`backfill`]: `backfill --since DATE`, the initial import: the engine's path page by page
//!   from a date, resumable, checkpointing forward only.
//! - [`receipts`]: the receiving leg: polls ION, applies the receipts plan exactly once through
//!   a durable intent and an `externalId` lookup, records the outcome.
//! - [`daemon_work`]: both legs plugged into the daemon loop, serialised.

pub mod apply;
pub mod backfill;
pub mod context;
pub mod daemon_work;
pub mod ion_read;
pub mod netsuite_read;
pub mod po_sync;
pub mod receipts;

pub use context::{Context, SyncSettings};
pub use po_sync::{CycleOptions, CycleSummary, Engine};
pub use receipts::{ReceiptSummary, ReceiptSync};
