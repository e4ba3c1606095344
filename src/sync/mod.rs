//! The sync: pure planners (which changes are due, computed from data alone) and the I/O layer
//! that feeds them and performs their plans.
//!
//! # Invariant
//! **The plan is pure: no I/O, no clock (`now` is a parameter).** (`model`, `status`, `hash`,
//! `attrs`, `plan`, `receipts_plan`; the I/O modules are listed apart below.) Everything the planners need
//! — the NetSuite PO, the ION PO as it is now, the link table's row, part and supplier lookups,
//! receipts and what was already mirrored — is passed in by the poll layer, and the result is
//! plain data the apply layer performs. That is what lets every rule of SPEC §3 be tested with
//! struct literals, and `--dry-run` print exactly what a real cycle would do.
//!
//! Further invariants the planners keep:
//! - NetSuite is the source of truth for purchase-order data, ION for receiving: "was anything
//!   received?" is always answered from ION, and a PO ION rolled up to RECEIVED is never pushed
//!   back to ORDERED.
//! - A plan's changes are in apply order and already respect ION's July-2025 line rules (line
//!   creates, field edits and deletes on a non-draft PO sit inside a draft round trip).
//! - Plans name rows by id, never by etag: every write changes etags, so threading the fresh
//!   ones is apply's job.
//! - Every problem has a stable key; a problem a later plan no longer produces is resolved.
//!
//! # Layout
//! - [`model`]: input types (NetSuite PO, ION PO state, link row, lookups, mapping config).
//! - [`status`]: NetSuite status letter → ION status (SPEC §3.1 table).
//! - [`hash`]: content hash of a NetSuite PO, so an unchanged PO costs no ION call.
//! - [`attrs`]: NetSuite field text → typed ION attribute value, and tolerant comparison.
//! - [`plan`]: NetSuite PO → ordered ION changes (issue #5).
//! - [`receipts_plan`]: ION receipt items → NetSuite item receipts (issue #6).
//! - [`receipts`]: the receiving leg (I/O): polls ION, applies that plan exactly once through a
//!   durable intent and an `externalId` lookup, records the outcome.
//!
//! The I/O layer (issue #5), which the daemon, `once`, `resync` and the tests drive:
//! - [`context`]: both clients, the store and the settings, built from `Config`.
//! - [`netsuite_read`]: a chunk of SuiteQL headers + batched lines, vendors, items → POs.
//! - [`ion_read`]: ION POs → the planner's view of them.
//! - [`apply`]: performs a plan through the ION client, threading fresh etags.
//! - [`po_sync`]: the cycle ([`Engine`]): checkpoints, natural-key lookups, failure isolation.
//! - [`pipeline`]: the cycle's pages in chunks, read and planned while earlier chunks apply.
//! - [`backfill`]: `backfill --since DATE`, the initial import: the engine's path page by page
//!   from a date, resumable, checkpointing forward only.

pub mod attrs;
pub mod daemon_work;
pub mod hash;
pub mod model;
pub mod plan;
pub mod receipts;
pub mod receipts_plan;
pub mod status;

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
