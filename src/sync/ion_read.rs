//! ION purchase orders (the client's wire type) → the planner's [`IonPurchaseOrderState`].
//!
//! Dates: `orderedAt` (← NetSuite `trandate`) and each line's `estimatedArrivalDate`
//! (← `expectedreceiptdate`) are read from ION as written, calendar dates at midnight UTC
//! ([`crate::ion::date_time`]). The PO's `needDate` is not in ION's create or update inputs, so
//! the planner neither reads nor plans it.

use std::collections::BTreeMap;

use crate::ion::{Attribute, IonPurchaseOrder, PoStatus, date_of};
use crate::plan::model::{IonAttribute, IonLineState, IonPurchaseOrderState};
use crate::plan::status::IonStatus;

/// `PoStatus` → `IonStatus` (both spell ION's enum).
pub fn status_of(s: PoStatus) -> IonStatus {
    match s {
        PoStatus::Draft => IonStatus::Draft,
        PoStatus::Requested => IonStatus::Requested,
        PoStatus::Approved => IonStatus::Approved,
        PoStatus::Ordered => IonStatus::Ordered,
        PoStatus::Canceled => IonStatus::Canceled,
        PoStatus::Received => IonStatus::Received,
    }
}

/// `IonStatus` → `PoStatus`.
pub fn po_status(s: IonStatus) -> PoStatus {
    match s {
        IonStatus::Draft => PoStatus::Draft,
        IonStatus::Requested => PoStatus::Requested,
        IonStatus::Approved => PoStatus::Approved,
        IonStatus::Ordered => PoStatus::Ordered,
        IonStatus::Canceled => PoStatus::Canceled,
        IonStatus::Received => PoStatus::Received,
    }
}

fn attributes(list: &[Attribute]) -> BTreeMap<String, IonAttribute> {
    list.iter()
        .map(|a| {
            (
                a.key.clone(),
                IonAttribute {
                    value: a.value.clone(),
                    etag: a.etag.clone(),
                },
            )
        })
        .collect()
}

/// The planner's view of `po`.
pub fn state_of(po: &IonPurchaseOrder) -> IonPurchaseOrderState {
    let date = |text: &Option<String>| text.as_deref().and_then(date_of);
    IonPurchaseOrderState {
        id: po.id,
        etag: po.etag.clone(),
        status: po.status.map(status_of),
        supplier_id: po.supplier_id,
        description: po.description.clone(),
        ordered_at: date(&po.ordered_at),
        attributes: attributes(&po.attributes),
        lines: po
            .lines
            .iter()
            .map(|l| IonLineState {
                id: l.id,
                etag: l.etag.clone(),
                status: status_of(l.status),
                part_id: l.part_id,
                quantity: l.quantity,
                cost: l.cost,
                received_quantity: l.received_quantity.unwrap_or(0.0),
                description: l.description.clone(),
                estimated_arrival_date: date(&l.estimated_arrival_date),
                attributes: attributes(&l.attributes),
            })
            .collect(),
    }
}

/// Picks the ION PO for a NetSuite PO among those carrying its `Netsuite RecordID`: the linked
/// one when present, else the oldest (lowest id). More than one is a duplicate an admin must
/// clean up; the caller warns.
pub fn pick(candidates: &[IonPurchaseOrder], linked: Option<i64>) -> Option<&IonPurchaseOrder> {
    linked
        .and_then(|id| candidates.iter().find(|p| p.id == id))
        .or_else(|| candidates.iter().min_by_key(|p| p.id))
}
