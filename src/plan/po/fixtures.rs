//! Test fixtures of the PO planner: a NetSuite PO, its ION mirror and link row as a previous
//! apply left them, so each test changes one thing and asserts what the plan makes of it.

pub(super) use super::*;
pub(super) use crate::plan::hash::content_hash;
pub(super) use crate::plan::model::*;
pub(super) use crate::plan::status::IonStatus;
pub(super) use serde_json::{Value, json};

pub(super) const PO_ID: i64 = 4711;

pub(super) const ION_PO: i64 = 900;

pub(super) const SUPPLIER: i64 = 77;

pub(super) fn ns_line(line_id: i64, item_id: i64, item_type: &str, qty: f64, rate: f64) -> NsLine {
    NsLine {
        line_id,
        item_id,
        item_name: format!("ITEM-{item_id}"),
        item_type: item_type.into(),
        quantity: qty,
        quantity_received: 0.0,
        rate,
        is_closed: false,
        memo: None,
        expected_receipt_date: None,
        line_fields: BTreeMap::new(),
    }
}

/// PO1042 with two inventory lines and one service line.
pub(super) fn ns_po(status: &str) -> NsPurchaseOrder {
    NsPurchaseOrder {
        id: PO_ID,
        tran_id: "PO1042".into(),
        status_letter: status.into(),
        vendor_id: 880,
        vendor_name: "Acme Metals".into(),
        memo: Some("rush order".into()),
        tran_date: NaiveDate::from_ymd_opt(2026, 1, 15),
        due_date: NaiveDate::from_ymd_opt(2026, 2, 1),
        lastmod: "2026-01-15 10:00:00".into(),
        body_fields: BTreeMap::new(),
        lines: vec![
            ns_line(1, 101, "InvtPart", 10.0, 2.5),
            ns_line(2, 102, "InvtPart", 5.0, 10.0),
            ns_line(3, 103, "Service", 1.0, 100.0),
        ],
    }
}

pub(super) fn resolved() -> Resolved {
    Resolved {
        parts: [(101, Some(1101)), (102, Some(1102)), (103, Some(1103))].into(),
        supplier: SupplierLookup::Existing(SUPPLIER),
    }
}

pub(super) fn ion_attr(v: Value) -> IonAttribute {
    IonAttribute {
        value: v,
        etag: "attr-etag".into(),
    }
}

pub(super) fn ion_line_of(ns_line_id: i64) -> i64 {
    500 + ns_line_id
}

/// The ION PO exactly as a previous apply of `ns` left it, in ION's own spellings
/// (numbers that come back as floats or text), so "no change" is tested against them.
pub(super) fn ion_mirror(ns: &NsPurchaseOrder, status: IonStatus) -> IonPurchaseOrderState {
    let mapping = MappingConfig::default();
    let line_status = if status == IonStatus::Draft {
        IonStatus::Draft
    } else {
        IonStatus::Ordered
    };
    IonPurchaseOrderState {
        id: ION_PO,
        etag: "po-etag".into(),
        status: Some(status),
        supplier_id: Some(SUPPLIER),
        description: ns.memo.clone(),
        ordered_at: ns.tran_date,
        attributes: [
            (ATTR_PO_NUMBER.to_string(), ion_attr(json!(ns.tran_id))),
            (ATTR_RECORD_ID.to_string(), ion_attr(json!(ns.id as f64))),
        ]
        .into(),
        lines: ns
            .lines
            .iter()
            .map(|l| IonLineState {
                id: ion_line_of(l.line_id),
                etag: "line-etag".into(),
                status: line_status,
                part_id: resolved().part_for(l.item_id),
                quantity: l.quantity,
                cost: Some(l.rate),
                received_quantity: 0.0,
                description: l.memo.clone(),
                estimated_arrival_date: l.expected_receipt_date,
                attributes: [
                    (
                        ATTR_NS_LINE_ID.to_string(),
                        ion_attr(json!(l.line_id.to_string())),
                    ),
                    (
                        ATTR_NON_RECEIVABLE.to_string(),
                        ion_attr(json!(mapping.is_non_receivable(&l.item_type))),
                    ),
                ]
                .into(),
            })
            .collect(),
    }
}

pub(super) fn link_for(ns: &NsPurchaseOrder) -> PoLink {
    PoLink {
        ns_po_id: ns.id,
        ion_po_id: ION_PO,
        tran_id: ns.tran_id.clone(),
        content_hash: content_hash(ns),
        last_lastmod: ns.lastmod.clone(),
        line_map: ns
            .lines
            .iter()
            .map(|l| (l.line_id, ion_line_of(l.line_id)))
            .collect(),
    }
}

pub(super) fn plan_new(ns: &NsPurchaseOrder) -> PoPlan {
    plan_po(ns, None, None, &resolved(), &MappingConfig::default())
}

pub(super) fn plan_linked(
    ns: &NsPurchaseOrder,
    ion: &IonPurchaseOrderState,
    link: &PoLink,
) -> PoPlan {
    plan_po(
        ns,
        Some(ion),
        Some(link),
        &resolved(),
        &MappingConfig::default(),
    )
}

pub(super) fn line_mut(ion: &mut IonPurchaseOrderState, ns_line_id: i64) -> &mut IonLineState {
    ion.lines
        .iter_mut()
        .find(|l| l.id == ion_line_of(ns_line_id))
        .unwrap()
}

pub(super) fn created_lines(plan: &PoPlan) -> Vec<&NewLine> {
    plan.changes
        .iter()
        .filter_map(|c| match c {
            Change::CreateLine(l) => Some(l),
            _ => None,
        })
        .collect()
}

pub(super) fn canceled(plan: &PoPlan) -> Vec<LineRef> {
    plan.changes
        .iter()
        .filter_map(|c| match c {
            Change::CancelLine { line, .. } => Some(*line),
            _ => None,
        })
        .collect()
}

pub(super) fn last_status(plan: &PoPlan) -> Option<IonStatus> {
    plan.changes.iter().rev().find_map(|c| match c {
        Change::SetPoStatus { to, .. } | Change::MovePoBack { to } => Some(*to),
        _ => None,
    })
}

pub(super) fn mapping_with_custom_attributes() -> MappingConfig {
    let fm = |field: &str, ion_type| FieldMap {
        field: field.into(),
        ion_type,
    };
    MappingConfig {
        po_attributes: [
            (
                "Requester".to_string(),
                fm("custbody_requestor", AttrType::Select),
            ),
            (
                "Budget".to_string(),
                fm("custbody_budget", AttrType::Number),
            ),
            (
                "Expedite".to_string(),
                fm("custbody_expedite", AttrType::Boolean),
            ),
            ("Notes".to_string(), fm("custbody_notes", AttrType::Text)),
            ("Memo copy".to_string(), fm("memo", AttrType::Text)),
        ]
        .into(),
        line_attributes: [
            (
                "Project".to_string(),
                fm("custcol_project", AttrType::Select),
            ),
            (
                "Tags".to_string(),
                fm("custcol_tags", AttrType::MultiSelect),
            ),
            ("Weight".to_string(), fm("custcol_weight", AttrType::Number)),
        ]
        .into(),
        ..MappingConfig::default()
    }
}

pub(super) fn ns_with_custom_fields() -> NsPurchaseOrder {
    let mut ns = ns_po("B");
    ns.body_fields = [
        (
            "custbody_requestor".to_string(),
            Some("J. Buyer".to_string()),
        ),
        ("custbody_budget".to_string(), Some("1250.50".to_string())),
        ("custbody_expedite".to_string(), Some("T".to_string())),
        ("custbody_notes".to_string(), None),
    ]
    .into();
    ns.lines[0].line_fields = [
        ("custcol_project".to_string(), Some("Apollo".to_string())),
        ("custcol_tags".to_string(), Some("Red, Blue".to_string())),
        ("custcol_weight".to_string(), Some("12".to_string())),
    ]
    .into();
    ns
}
