//! Performs a [`PoPlan`] through the ION client, threading the fresh etags every write returns.
//!
//! Consecutive changes of one kind go out together (the client sends up to 50 aliased line
//! mutations per request), and a create folds the PO's lines into the create call, so a new PO
//! with ten lines costs three round trips (header, lines, status), not eleven.
//!
//! Nothing here touches the store except the vendor ↔ supplier link of a supplier it creates:
//! recording the outcome is the poll layer's single [`crate::store::Store::commit_po`].

use std::collections::BTreeMap;

use tracing::info;

use super::context::Context;
use super::ion_read::po_status;
use crate::ion::{
    self, AttributeValue, IonPurchaseOrder, LineChanges, NewPurchaseOrder, PurchaseOrderChanges,
};
use crate::plan::po::{Change, LineField, LineRef, PoField, PoPlan, SupplierRef};
use crate::store::VendorLink;

/// Why applying a plan stopped. The ION PO (when one exists by then) is named, so the warning
/// and the open problem say which ION record is half-way.
#[derive(Debug, thiserror::Error)]
#[error("{during} failed")]
pub struct ApplyError {
    pub ion_po_id: Option<i64>,
    /// The change that failed, as `--dry-run` would print it.
    pub during: String,
    #[source]
    pub error: ion::Error,
    /// True when ION refused to delete the PO (the caller falls back to canceling lines).
    pub delete_refused: bool,
}

/// The ION side after a plan was applied.
#[derive(Debug)]
pub struct Applied {
    /// The PO as ION last answered; `None` when the plan deleted it (or never had one).
    pub po: Option<IonPurchaseOrder>,
}

impl Applied {
    /// NetSuite line id → ION line id, from the lines' `ns_line_id` attributes.
    pub fn line_map(&self) -> BTreeMap<i64, i64> {
        let mut map = BTreeMap::new();
        if let Some(po) = &self.po {
            for l in &po.lines {
                if let Some(ns) = l.ns_line_id() {
                    map.entry(ns).or_insert(l.id);
                }
            }
        }
        map
    }
}

fn attrs(map: &BTreeMap<String, serde_json::Value>) -> Vec<AttributeValue> {
    map.iter()
        .map(|(k, v)| AttributeValue::new(k.clone(), v.clone()))
        .collect()
}

fn new_line(l: &crate::plan::po::NewLine) -> ion::NewLine {
    ion::NewLine {
        part_id: Some(l.part_id),
        quantity: l.quantity,
        cost: Some(l.cost),
        description: l.description.clone(),
        estimated_arrival_date: l.estimated_arrival_date.map(ion::date_time),
        attributes: attrs(&l.attributes),
        ..Default::default()
    }
}

/// The ION line a change addresses: by id, or the line just created for a NetSuite line.
fn line_id(po: &IonPurchaseOrder, r: &LineRef) -> Option<i64> {
    match r {
        LineRef::Ion(id) => Some(*id),
        LineRef::New { ns_line_id } => po
            .lines
            .iter()
            .find(|l| l.ns_line_id() == Some(*ns_line_id))
            .map(|l| l.id),
    }
}

/// Performs `plan` starting from `po` (the ION PO the plan was made against, if any).
pub async fn apply(
    ctx: &Context,
    plan: &PoPlan,
    po: Option<IonPurchaseOrder>,
) -> Result<Applied, ApplyError> {
    let ion = &ctx.ion;
    let mut po = po;
    let mut suppliers: BTreeMap<i64, i64> = BTreeMap::new();
    let changes = &plan.changes;
    let tran_id = plan.tran_id.as_str();
    let mut i = 0;
    while i < changes.len() {
        let change = &changes[i];
        let ion_po = po.as_ref().map(|p| p.id);
        let fail = |error: ion::Error, ion_po_id: Option<i64>| ApplyError {
            ion_po_id,
            during: change.to_string(),
            error,
            delete_refused: false,
        };
        info!(tran_id, ion_po = ?ion_po, "{change}");
        // How many consecutive changes of the same kind this step covers.
        let run =
            |pred: fn(&Change) -> bool| changes[i..].iter().take_while(|c| pred(c)).count().max(1);
        match change {
            Change::CreateSupplier { vendor_id, name } => {
                let id = find_or_create_supplier(ctx, *vendor_id, name)
                    .await
                    .map_err(|e| fail(e, ion_po))?;
                suppliers.insert(*vendor_id, id);
                i += 1;
            }
            Change::CreatePo {
                supplier,
                description,
                ordered_at,
                attributes,
                ..
            } => {
                let n = changes[i + 1..]
                    .iter()
                    .take_while(|c| matches!(c, Change::CreateLine(_)))
                    .count();
                let lines = changes[i + 1..i + 1 + n]
                    .iter()
                    .filter_map(|c| match c {
                        Change::CreateLine(l) => Some(new_line(l)),
                        _ => None,
                    })
                    .collect();
                let new = NewPurchaseOrder {
                    supplier_id: supplier_id(supplier, &suppliers),
                    description: description.clone(),
                    ordered_at: ordered_at.map(ion::date_time),
                    status: None,
                    attributes: attrs(attributes),
                    lines,
                    ..Default::default()
                };
                let created = ion
                    .create_purchase_order(&new)
                    .await
                    .map_err(|e| fail(e, None))?;
                info!(tran_id, ion_po = created.id, lines = n, "created ION PO");
                po = Some(created);
                i += 1 + n;
            }
            other => {
                let Some(p) = po.as_mut() else {
                    return Err(fail(
                        ion::Error::Data(format!("no ION PO to apply {other} to")),
                        None,
                    ));
                };
                let id = Some(p.id);
                match other {
                    Change::UpdatePoHeader { fields, .. } => {
                        let mut c = PurchaseOrderChanges::default();
                        for f in fields {
                            match f {
                                PoField::Supplier(s) => c.supplier_id = supplier_id(s, &suppliers),
                                PoField::Description(d) => {
                                    c.description = Some(d.clone().unwrap_or_default())
                                }
                                PoField::Attribute { key, value } => c
                                    .attributes
                                    .push(AttributeValue::new(key.clone(), value.clone())),
                                PoField::OrderedAt(d) => c.ordered_at = Some(d.map(ion::date_time)),
                            }
                        }
                        if c.supplier_id.is_some()
                            || c.ordered_at.is_some()
                            || c.description.is_some()
                            || !c.attributes.is_empty()
                        {
                            ion.update_purchase_order(p, &c)
                                .await
                                .map_err(|e| fail(e, id))?;
                        }
                        i += 1;
                    }
                    Change::MovePoToDraft { .. } => {
                        ion.set_status(p, ion::PoStatus::Draft)
                            .await
                            .map_err(|e| fail(e, id))?;
                        i += 1;
                    }
                    Change::MovePoBack { to } | Change::SetPoStatus { to, .. } => {
                        if p.status != Some(po_status(*to)) {
                            ion.set_status(p, po_status(*to))
                                .await
                                .map_err(|e| fail(e, id))?;
                        }
                        i += 1;
                    }
                    Change::CreateLine(_) => {
                        let n = run(|c| matches!(c, Change::CreateLine(_)));
                        let lines: Vec<ion::NewLine> = changes[i..i + n]
                            .iter()
                            .filter_map(|c| match c {
                                Change::CreateLine(l) => Some(new_line(l)),
                                _ => None,
                            })
                            .collect();
                        ion.create_lines(p, &lines).await.map_err(|e| fail(e, id))?;
                        i += n;
                    }
                    Change::UpdateLine { .. } => {
                        let n = run(|c| matches!(c, Change::UpdateLine { .. }));
                        let mut batch = Vec::with_capacity(n);
                        for c in &changes[i..i + n] {
                            if let Change::UpdateLine {
                                ion_line_id,
                                fields,
                                ..
                            } = c
                            {
                                batch.push(line_changes(*ion_line_id, fields));
                            }
                        }
                        batch.retain(|c| !c.is_empty());
                        if !batch.is_empty() {
                            ion.update_lines(p, &batch).await.map_err(|e| fail(e, id))?;
                        }
                        i += n;
                    }
                    Change::CancelLine { .. } => {
                        let n = run(|c| matches!(c, Change::CancelLine { .. }));
                        let mut ids = Vec::with_capacity(n);
                        for c in &changes[i..i + n] {
                            if let Change::CancelLine { line, .. } = c {
                                match line_id(p, line) {
                                    Some(l) => ids.push(l),
                                    None => {
                                        return Err(fail(
                                            ion::Error::Data(format!("{line} is not on the PO")),
                                            id,
                                        ));
                                    }
                                }
                            }
                        }
                        ion.cancel_lines(p, &ids).await.map_err(|e| fail(e, id))?;
                        i += n;
                    }
                    Change::DeleteLine { .. } => {
                        let n = run(|c| matches!(c, Change::DeleteLine { .. }));
                        let ids: Vec<i64> = changes[i..i + n]
                            .iter()
                            .filter_map(|c| match c {
                                Change::DeleteLine { ion_line_id, .. } => Some(*ion_line_id),
                                _ => None,
                            })
                            .filter(|l| p.line(*l).is_some())
                            .collect();
                        if !ids.is_empty() {
                            ion.delete_lines(p, &ids).await.map_err(|e| fail(e, id))?;
                        }
                        i += n;
                    }
                    Change::DeletePo { .. } => {
                        if let Err(e) = ion.delete_purchase_order(p).await {
                            let refused = matches!(e, ion::Error::GraphQl(_));
                            let mut err = fail(e, id);
                            err.delete_refused = refused;
                            return Err(err);
                        }
                        info!(tran_id, ion_po = p.id, "deleted ION PO");
                        po = None;
                        i += 1;
                    }
                    Change::CreateSupplier { .. } | Change::CreatePo { .. } => i += 1,
                }
            }
        }
    }
    Ok(Applied { po })
}

fn supplier_id(s: &SupplierRef, created: &BTreeMap<i64, i64>) -> Option<i64> {
    match s {
        SupplierRef::Existing(id) => Some(*id),
        SupplierRef::Created { vendor_id } => created.get(vendor_id).copied(),
    }
}

fn line_changes(id: i64, fields: &[LineField]) -> LineChanges {
    let mut c = LineChanges {
        id,
        ..Default::default()
    };
    for f in fields {
        match f {
            LineField::Part(p) => c.part_id = Some(*p),
            LineField::Quantity(q) => c.quantity = Some(*q),
            LineField::Cost(v) => c.cost = Some(*v),
            LineField::Description(d) => c.description = Some(d.clone().unwrap_or_default()),
            LineField::EstimatedArrivalDate(d) => {
                c.estimated_arrival_date = Some(d.map(ion::date_time))
            }
            LineField::Attribute { key, value } => c
                .attributes
                .push(AttributeValue::new(key.clone(), value.clone())),
        }
    }
    c
}

/// Held from "look the supplier up by name" to "remember the link" by every path that may
/// create a supplier: applies of one page run concurrently, and the next page is staged while a
/// page applies, so without it two tasks could both miss a name and both create it.
pub(crate) static SUPPLIER_GATE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The supplier for a vendor: looked up by name first (a create that reached ION just before a
/// crash is found again), created otherwise; either way remembered in the link table.
pub async fn find_or_create_supplier(
    ctx: &Context,
    vendor_id: i64,
    name: &str,
) -> Result<i64, ion::Error> {
    let _gate = SUPPLIER_GATE.lock().await;
    let found = ctx.ion.suppliers_by_name(&[name.to_string()]).await?;
    let id = match found.iter().map(|s| s.id).min() {
        Some(id) => id,
        None => {
            let s = ctx.ion.create_supplier(name).await?;
            info!(vendor_id, supplier = s.id, name, "created ION supplier");
            s.id
        }
    };
    remember_supplier(ctx, vendor_id, id, name)?;
    Ok(id)
}

/// Records vendor ↔ supplier so a later vendor rename never creates a second supplier.
pub fn remember_supplier(
    ctx: &Context,
    vendor_id: i64,
    supplier_id: i64,
    name: &str,
) -> Result<(), ion::Error> {
    ctx.store
        .put_vendor_link(&VendorLink {
            ns_vendor_id: vendor_id,
            ion_supplier_id: supplier_id,
            name: name.to_string(),
        })
        .map_err(|e| ion::Error::Data(format!("store: {e}")))
}

/// The whole plan as one `NewPurchaseOrder`, when it is a plain create (create the PO, its
/// lines, set its status, with a known supplier): such plans are applied together, several
/// POs per request ([`ion::Client::create_purchase_orders`]). `None` for anything else.
pub fn plain_create(plan: &PoPlan) -> Option<NewPurchaseOrder> {
    let (first, rest) = plan.changes.split_first()?;
    let Change::CreatePo {
        supplier: SupplierRef::Existing(supplier),
        description,
        ordered_at,
        attributes,
        ..
    } = first
    else {
        return None;
    };
    let mut lines = Vec::new();
    let mut status = None;
    for (k, c) in rest.iter().enumerate() {
        match c {
            Change::CreateLine(l) if status.is_none() => lines.push(new_line(l)),
            Change::SetPoStatus { to, .. } if k == rest.len() - 1 => status = Some(po_status(*to)),
            _ => return None,
        }
    }
    Some(NewPurchaseOrder {
        supplier_id: Some(*supplier),
        description: description.clone(),
        ordered_at: ordered_at.map(ion::date_time),
        status,
        attributes: attrs(attributes),
        lines,
        ..Default::default()
    })
}

#[cfg(test)]
mod error_tests {
    use super::*;

    /// The failed change and ION's reason both reach the log line and the open problem: the
    /// error keeps ION's error as its source instead of flattening it into text.
    #[test]
    fn an_apply_error_keeps_ions_reason_as_its_cause() {
        let e = ApplyError {
            ion_po_id: Some(9),
            during: "set PO status DRAFT -> ORDERED".into(),
            error: ion::Error::Conflict("row changed".into()),
            delete_refused: false,
        };
        let source = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("ION etag conflict: row changed"));
        assert_eq!(
            crate::telemetry::error_chain(&e),
            "set PO status DRAFT -> ORDERED failed: ION etag conflict: row changed"
        );
        let wrapped = anyhow::Error::new(e).context("NetSuite PO PO1");
        assert_eq!(
            format!("{wrapped:#}"),
            "NetSuite PO PO1: set PO status DRAFT -> ORDERED failed: ION etag conflict: row changed"
        );
    }
}
