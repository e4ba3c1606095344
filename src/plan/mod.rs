//! The pure planning core: given NetSuite's PO, ION's PO as it is now and the link table's row,
//! which changes are due; and the same for receipts.
//!
//! # Invariant
//! **The plan is pure: no I/O, no clock (`now` is a parameter).** Nothing under `src/plan/`
//! imports `store`, `config`, `ion`, `netsuite`, `sync` or the simulators (a test of the crate
//! checks the imports). Everything the planners need — the NetSuite PO, the ION PO as it is
//! now, the link table's row, part and supplier lookups, receipts and what was already mirrored
//! — is passed in by the sync layer, and the result is plain data the apply layer performs.
//! That is what lets every rule be tested with struct literals, and `--dry-run` print exactly
//! what a real cycle would do. The types the store persists for the planner ([`model::PoLink`])
//! and the mapping defaults ([`model::DEFAULT_NON_RECEIVABLE`]) live here for that reason.
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
//! - [`status`]: NetSuite status letter → ION status.
//! - [`hash`]: content hash of a NetSuite PO, so an unchanged PO costs no ION call.
//! - [`attrs`]: NetSuite field text → typed ION attribute value, and tolerant comparison.
//! - [`po`]: NetSuite PO → ordered ION changes (create, header, lines, delete).
//! - [`receipts`]: ION receipt items → NetSuite item receipts.

pub mod attrs;
pub mod hash;
pub mod model;
pub mod po;
pub mod receipts;
pub mod status;
