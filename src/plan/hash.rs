//! Content hash of a NetSuite PO: "has anything the sync cares about changed?"
//!
//! The poll cycle re-reads every PO inside its overlap window, every cycle; comparing this hash
//! with the one stored in the link table is what makes an unchanged PO cost no ION call.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::plan::model::{NsLine, NsPurchaseOrder};

/// Bumped whenever the canonical form below changes, so old stored hashes simply mismatch
/// once (one harmless re-plan per PO) instead of colliding with a different meaning.
const HASH_VERSION: &str = "ns-po-v1";

/// Stable SHA-256 (lower-case hex) over a canonical serialisation of the PO.
///
/// - `lastmod` is excluded: NetSuite bumps it for saves that change nothing we sync (a note, a
///   workflow touch, a field we do not map), and the overlap window re-reads the same PO every
///   cycle. Hashing it would turn each of those into an ION read and a no-op plan.
/// - Everything else is included, lines sorted by `line_id` and maps in key order, so the hash
///   depends on content only, never on SQL row order or `HashMap` iteration.
/// - It hashes NetSuite's data only. The poll layer must still re-plan POs that have open
///   problems (a missing part may exist now) or when the mapping config changed.
pub fn content_hash(po: &NsPurchaseOrder) -> String {
    let mut lines: Vec<CanonLine<'_>> = po.lines.iter().map(CanonLine::from).collect();
    lines.sort_by_key(|l| l.line_id);
    let canon = CanonPo {
        v: HASH_VERSION,
        id: po.id,
        tran_id: &po.tran_id,
        status: po.status_letter.trim(),
        vendor_id: po.vendor_id,
        vendor_name: &po.vendor_name,
        memo: po.memo.as_deref(),
        tran_date: po.tran_date,
        due_date: po.due_date,
        body_fields: &po.body_fields,
        lines,
    };
    // serde_json writes struct fields in declaration order and BTreeMaps in key order, and
    // formats floats deterministically (shortest round-trip form): a canonical byte string.
    let bytes = serde_json::to_vec(&canon).expect("plain data always serialises");
    hex::encode(Sha256::digest(&bytes))
}

#[derive(Serialize)]
struct CanonPo<'a> {
    v: &'static str,
    id: i64,
    tran_id: &'a str,
    status: &'a str,
    vendor_id: i64,
    vendor_name: &'a str,
    memo: Option<&'a str>,
    tran_date: Option<NaiveDate>,
    due_date: Option<NaiveDate>,
    body_fields: &'a BTreeMap<String, Option<String>>,
    lines: Vec<CanonLine<'a>>,
}

#[derive(Serialize)]
struct CanonLine<'a> {
    line_id: i64,
    item_id: i64,
    item_name: &'a str,
    item_type: &'a str,
    quantity: f64,
    quantity_received: f64,
    rate: f64,
    is_closed: bool,
    memo: Option<&'a str>,
    expected_receipt_date: Option<NaiveDate>,
    line_fields: &'a BTreeMap<String, Option<String>>,
}

impl<'a> From<&'a NsLine> for CanonLine<'a> {
    fn from(l: &'a NsLine) -> Self {
        CanonLine {
            line_id: l.line_id,
            item_id: l.item_id,
            item_name: &l.item_name,
            item_type: &l.item_type,
            quantity: l.quantity,
            quantity_received: l.quantity_received,
            rate: l.rate,
            is_closed: l.is_closed,
            memo: l.memo.as_deref(),
            expected_receipt_date: l.expected_receipt_date,
            line_fields: &l.line_fields,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn po() -> NsPurchaseOrder {
        let line = |id: i64| NsLine {
            line_id: id,
            item_id: 100 + id,
            item_name: format!("PART-{id}"),
            item_type: "InvtPart".into(),
            quantity: 10.0,
            quantity_received: 0.0,
            rate: 4.25,
            is_closed: false,
            memo: None,
            expected_receipt_date: None,
            line_fields: BTreeMap::new(),
        };
        NsPurchaseOrder {
            id: 4711,
            tran_id: "PO1042".into(),
            status_letter: "B".into(),
            vendor_id: 880,
            vendor_name: "Acme".into(),
            memo: Some("rush".into()),
            tran_date: NaiveDate::from_ymd_opt(2026, 1, 15),
            due_date: None,
            lastmod: "2026-01-15 10:00:00".into(),
            body_fields: [("custbody_a".to_string(), Some("x".to_string()))].into(),
            lines: vec![line(1), line(2)],
        }
    }

    #[test]
    fn stable_and_hex() {
        let h = content_hash(&po());
        assert_eq!(h, content_hash(&po()));
        assert_eq!(h.len(), 64);
        assert!(
            h.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }

    #[test]
    fn lastmod_alone_does_not_change_it() {
        let mut touched = po();
        touched.lastmod = "2026-02-01 08:00:00".into();
        assert_eq!(content_hash(&po()), content_hash(&touched));
    }

    #[test]
    fn line_order_does_not_change_it() {
        let mut reordered = po();
        reordered.lines.reverse();
        assert_eq!(content_hash(&po()), content_hash(&reordered));
    }

    type Edit = Box<dyn Fn(&mut NsPurchaseOrder)>;

    #[test]
    fn every_synced_field_changes_it() {
        let base = content_hash(&po());
        let edits: Vec<Edit> = vec![
            Box::new(|p| p.status_letter = "D".into()),
            Box::new(|p| p.vendor_id = 881),
            Box::new(|p| p.memo = None),
            Box::new(|p| p.due_date = NaiveDate::from_ymd_opt(2026, 2, 1)),
            Box::new(|p| {
                p.body_fields.insert("custbody_a".into(), None);
            }),
            Box::new(|p| p.lines[0].quantity = 11.0),
            Box::new(|p| p.lines[0].rate = 4.26),
            Box::new(|p| p.lines[1].is_closed = true),
            Box::new(|p| p.lines[1].item_id = 999),
            Box::new(|p| {
                p.lines[1]
                    .line_fields
                    .insert("custcol_p".into(), Some("P".into()));
            }),
            Box::new(|p| {
                p.lines.pop();
            }),
        ];
        for (i, edit) in edits.iter().enumerate() {
            let mut changed = po();
            edit(&mut changed);
            assert_ne!(content_hash(&changed), base, "edit #{i} not detected");
        }
    }
}
