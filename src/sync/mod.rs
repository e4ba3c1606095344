//! The sync planners: which changes are due, computed from data alone.
//!
//! # Invariant
//! **The plan is pure: no I/O, no clock (`now` is a parameter).** Everything the planners need
//! — the NetSuite PO, the ION PO as it is now, the link table's row, part and supplier lookups,
//! receipts and what was already mirrored — is passed in by the poll layer, and the result is
//! plain data the apply layer performs. That is what lets every rule of SPEC §3 be tested with
//! struct literals, and `--dry-run` print exactly what a real cycle would do.
//!
//! # Layout
//! - [`model`]: input types (NetSuite PO, ION PO state, link row, lookups, mapping config).
//! - [`status`]: NetSuite status letter → ION status (SPEC §3.1 table).
//! - [`hash`]: content hash of a NetSuite PO, so an unchanged PO costs no ION call.
//! - [`attrs`]: NetSuite field text → typed ION attribute value, and tolerant comparison.
//! - [`plan`]: NetSuite PO → ordered ION changes (issue #5).
//! - [`receipts_plan`]: ION receipt items → NetSuite item receipts (issue #6).

pub mod attrs;
pub mod hash;
pub mod model;
pub mod plan;
pub mod receipts_plan;
pub mod status;
