//! Reading back what ION and the store hold (never the engine's own summary), and printing it.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{Tour, out};
use crate::sandbox::ion::Kind;

/// One ION purchase-order line as the ION simulator holds it.
#[derive(Debug, Clone)]
pub(super) struct IonLine {
    pub(super) id: i64,
    pub(super) part_number: String,
    pub(super) quantity: f64,
    pub(super) received: f64,
    pub(super) status: String,
    pub(super) ns_line_id: Option<i64>,
    pub(super) non_receivable: Option<bool>,
    pub(super) etag: String,
}

/// One ION purchase order as the ION simulator holds it.
#[derive(Debug, Clone)]
pub(super) struct IonPo {
    pub(super) id: i64,
    pub(super) status: String,
    pub(super) supplier: String,
    pub(super) tran_id: String,
    pub(super) record_id: String,
    pub(super) etag: String,
    pub(super) lines: Vec<IonLine>,
}

impl IonPo {
    pub(super) fn line(&self, part_number: &str) -> Option<&IonLine> {
        self.lines.iter().find(|l| l.part_number == part_number)
    }
    pub(super) fn parts(&self) -> BTreeSet<String> {
        self.lines.iter().map(|l| l.part_number.clone()).collect()
    }
    /// Every etag of the PO and its lines: equal before and after means ION was not written.
    pub(super) fn etags(&self) -> Vec<String> {
        std::iter::once(self.etag.clone())
            .chain(self.lines.iter().map(|l| l.etag.clone()))
            .collect()
    }
}

/// An attribute's value by key, from a simulator snapshot's `attributes` list.
pub(super) fn attr<'a>(snapshot: &'a Value, key: &str) -> Option<&'a Value> {
    snapshot
        .get("attributes")?
        .as_array()?
        .iter()
        .find(|a| a.get("key").and_then(Value::as_str) == Some(key))
        .and_then(|a| a.get("value"))
}

/// A scalar as text (attribute values may be strings or numbers).
pub(super) fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    }
}

pub(super) fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// `10` rather than `10.0`, `2.5` as is.
pub(super) fn qty(q: f64) -> String {
    if q.fract() == 0.0 {
        format!("{q:.0}")
    } else {
        format!("{q}")
    }
}

/// NetSuite's purchase-order status letters (SPEC §3.1).
pub(super) fn status_name(letter: &str) -> &'static str {
    match letter {
        "A" => "Pending Supervisor Approval",
        "B" => "Pending Receipt",
        "C" => "Rejected by Supervisor",
        "D" => "Partially Received",
        "E" => "Pending Billing/Partially Received",
        "F" => "Pending Bill",
        "G" => "Fully Billed",
        "H" => "Closed",
        _ => "unknown",
    }
}

impl Tour {
    /// The ION PO carrying `Netsuite RecordID` = `ns_po`, found by scanning the simulator (the
    /// natural key), not through the link table.
    pub(super) fn ion_po(&self, ns_po: i64) -> Option<IonPo> {
        let want = ns_po.to_string();
        let id = self.ion.ids(Kind::PurchaseOrder).into_iter().find(|id| {
            self.ion
                .snapshot(Kind::PurchaseOrder, *id)
                .is_some_and(|s| text(attr(&s, "Netsuite RecordID")) == want)
        })?;
        let s = self.ion.snapshot(Kind::PurchaseOrder, id)?;
        let supplier = s
            .get("supplierId")
            .and_then(Value::as_i64)
            .and_then(|sid| self.ion.snapshot(Kind::Supplier, sid))
            .map(|sup| text(sup.get("name")))
            .unwrap_or_else(|| "(none)".into());
        let lines = self
            .ion
            .line_ids(id)
            .into_iter()
            .filter_map(|lid| self.ion.snapshot(Kind::PurchaseOrderLine, lid))
            .map(|l| IonLine {
                id: l.get("id").and_then(Value::as_i64).unwrap_or_default(),
                part_number: l
                    .get("partId")
                    .and_then(Value::as_i64)
                    .and_then(|p| self.ion.snapshot(Kind::Part, p))
                    .map(|p| text(p.get("partNumber")))
                    .unwrap_or_else(|| "(no part)".into()),
                quantity: number(l.get("quantity")).unwrap_or_default(),
                received: number(l.get("receivedQuantity")).unwrap_or_default(),
                status: text(l.get("status")),
                ns_line_id: number(attr(&l, "ns_line_id")).map(|n| n as i64),
                non_receivable: attr(&l, "Non-receivable").and_then(Value::as_bool),
                etag: text(l.get("_etag")),
            })
            .collect();
        Some(IonPo {
            id,
            status: text(s.get("status")),
            supplier,
            tran_id: text(attr(&s, "Netsuite PO Number")),
            record_id: text(attr(&s, "Netsuite RecordID")),
            etag: text(s.get("_etag")),
            lines,
        })
    }

    /// Prints an ION PO and its lines.
    pub(super) fn show_ion_po(&self, po: &IonPo) {
        out(format_args!(
            "   ION now: purchase order {} {} for supplier \"{}\"; Netsuite PO Number = {}, \
             Netsuite RecordID = {}",
            po.id, po.status, po.supplier, po.tran_id, po.record_id
        ));
        for l in &po.lines {
            out(format_args!(
                "      line {:<5} {:<12} qty {:>4}  received {:>4}  {:<9} ns_line_id {}  Non-receivable {}",
                l.id,
                l.part_number,
                qty(l.quantity),
                qty(l.received),
                l.status,
                l.ns_line_id
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "-".into()),
                l.non_receivable
                    .map(|b| b.to_string())
                    .unwrap_or_else(|| "-".into()),
            ));
        }
    }

    /// The ION PO of `ns_po`, printed; a failed check when there is none.
    pub(super) fn expect_ion_po(&mut self, ns_po: i64) -> Option<IonPo> {
        let po = self.ion_po(ns_po);
        match &po {
            Some(po) => self.show_ion_po(po),
            None => {
                self.check(
                    false,
                    format!("ION has a purchase order with Netsuite RecordID {ns_po}"),
                );
            }
        }
        po
    }

    /// Open problems of a PO, from the store, printed.
    pub(super) fn show_problems(&self, ns_po: i64) -> Vec<crate::store::Problem> {
        let problems = self
            .engine
            .as_ref()
            .and_then(|e| e.context().store.problems_of(ns_po).ok().flatten())
            .map(|p| p.problems)
            .unwrap_or_default();
        if problems.is_empty() {
            out(format_args!("   store: no open problems on this PO"));
        }
        for p in &problems {
            out(format_args!(
                "   store: open problem [{}] {}",
                p.kind, p.message
            ));
        }
        problems
    }

    pub(super) fn ns_line_of(&self, ns_po: i64, index: usize) -> Option<i64> {
        self.ns.po_lines(ns_po).get(index).map(|l| l.line_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn attributes_are_found_by_key_and_read_as_text_or_number() {
        let snapshot = json!({"attributes": [
            {"key": "Netsuite RecordID", "value": "1006"},
            {"key": "ns_line_id", "value": 3},
            {"key": "Non-receivable", "value": true},
        ]});
        assert_eq!(text(attr(&snapshot, "Netsuite RecordID")), "1006");
        assert_eq!(number(attr(&snapshot, "ns_line_id")), Some(3.0));
        assert_eq!(number(attr(&snapshot, "Netsuite RecordID")), Some(1006.0));
        assert_eq!(attr(&snapshot, "Non-receivable"), Some(&json!(true)));
        assert_eq!(attr(&snapshot, "missing"), None);
        assert_eq!(text(None), "");
    }

    #[test]
    fn quantities_print_without_a_needless_fraction() {
        assert_eq!(qty(10.0), "10");
        assert_eq!(qty(2.5), "2.5");
    }
}
