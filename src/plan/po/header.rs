//! The PO header: the fields NetSuite dictates that differ in ION.

use serde_json::json;

use super::*;
use crate::plan::model::*;
pub(super) fn plan_header(ctx: &Ctx<'_>, ion: &IonPurchaseOrderState, plan: &mut PoPlan) {
    let ns = ctx.ns;
    let mut diff = Diff::new(ctx.ns_unchanged);

    match &ctx.resolved.supplier {
        SupplierLookup::Existing(id) if ion.supplier_id == Some(*id) => {}
        SupplierLookup::Existing(_) | SupplierLookup::MustCreate { .. } => {
            let r = ctx.supplier(plan);
            diff.set(
                "supplier",
                json!(ion.supplier_id),
                json!(ns.vendor_name),
                PoField::Supplier(r),
            );
        }
    }
    let memo = clean(&ns.memo);
    if memo != clean(&ion.description) {
        // The note shows ION's text as it is, blanks included.
        diff.set(
            "description",
            json!(ion.description),
            json!(memo),
            PoField::Description(memo),
        );
    }
    diff.differs("orderedAt", &ion.ordered_at, &ns.tran_date, || {
        PoField::OrderedAt(ns.tran_date)
    });
    diff.attributes(&ion.attributes, ctx.po_attributes(plan), |key, value| {
        PoField::Attribute { key, value }
    });
    if diff.fields.is_empty() {
        return;
    }
    note_overwrites(plan, &format!("ION PO {}", ion.id), &diff.notes);
    plan.changes.push(Change::UpdatePoHeader {
        fields: diff.fields,
        notes: diff.notes,
    });
}

/// Info notes for the log: SPEC §3.1 wants every overwritten ION edit named.
pub(super) fn note_overwrites(plan: &mut PoPlan, what: &str, notes: &[FieldNote]) {
    for n in notes.iter().filter(|n| n.ion_edit) {
        let message = format!(
            "NetSuite PO {}: {what} field {:?} was edited in ION ({}); overwritten with \
             NetSuite's value ({})",
            plan.tran_id, n.field, n.ion, n.netsuite
        );
        plan.note(NoteLevel::Info, message);
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::po::fixtures::*;

    #[test]
    fn unchanged_po_plans_nothing_despite_ion_spellings() {
        for (letter, status) in [
            ("A", IonStatus::Draft),
            ("B", IonStatus::Ordered),
            ("F", IonStatus::Received),
        ] {
            let ns = ns_po(letter);
            let plan = plan_linked(&ns, &ion_mirror(&ns, status), &link_for(&ns));
            assert!(plan.is_noop(), "{letter}: {:?}", plan.changes);
            assert!(plan.problems.is_empty());
            assert_eq!(plan.ion_po_id, Some(ION_PO));
        }
    }

    #[test]
    fn custom_attribute_changes_are_written_on_update_without_a_draft_round_trip() {
        let before = ns_with_custom_fields();
        let mapping = mapping_with_custom_attributes();
        let mut ion = ion_mirror(&before, IonStatus::Ordered);
        for (k, v) in [
            ("Requester", json!("J. Buyer")),
            ("Budget", json!(1250.5)),
            ("Expedite", json!(true)),
            ("Memo copy", json!("rush order")),
        ] {
            ion.attributes.insert(k.into(), ion_attr(v));
        }
        for (k, v) in [
            ("Project", json!("Apollo")),
            ("Tags", json!(["Red", "Blue"])),
            ("Weight", json!(12.0)),
        ] {
            line_mut(&mut ion, 1)
                .attributes
                .insert(k.into(), ion_attr(v));
        }
        let link = link_for(&before);
        let same = plan_po(&before, Some(&ion), Some(&link), &resolved(), &mapping);
        assert!(same.is_noop(), "{:?}", same.changes);

        let mut after = before.clone();
        after
            .body_fields
            .insert("custbody_expedite".into(), Some("F".into()));
        after.lines[0]
            .line_fields
            .insert("custcol_tags".into(), Some("Red".into()));
        let plan = plan_po(&after, Some(&ion), Some(&link), &resolved(), &mapping);
        assert_eq!(plan.changes.len(), 2, "{:?}", plan.changes);
        let Change::UpdatePoHeader { fields, notes } = &plan.changes[0] else {
            panic!()
        };
        assert_eq!(
            fields,
            &vec![PoField::Attribute {
                key: "Expedite".into(),
                value: json!(false)
            }]
        );
        assert!(!notes[0].ion_edit, "NetSuite changed, so not an ION edit");
        let Change::UpdateLine {
            ion_line_id,
            fields,
            ..
        } = &plan.changes[1]
        else {
            panic!()
        };
        assert_eq!(*ion_line_id, ion_line_of(1));
        assert_eq!(
            fields,
            &vec![LineField::Attribute {
                key: "Tags".into(),
                value: json!(["Red"])
            }]
        );
    }

    #[test]
    fn header_change_updates_the_po() {
        let before = ns_po("B");
        let ion = ion_mirror(&before, IonStatus::Ordered);
        let link = link_for(&before);
        let mut after = before.clone();
        after.memo = Some("new memo".into());
        // ION's PO has no need date to write: the due date alone changes nothing there.
        after.due_date = None;
        let plan = plan_linked(&after, &ion, &link);
        assert_eq!(
            plan.changes,
            vec![Change::UpdatePoHeader {
                fields: vec![PoField::Description(Some("new memo".into()))],
                notes: vec![FieldNote {
                    field: "description".into(),
                    ion: json!("rush order"),
                    netsuite: json!("new memo"),
                    ion_edit: false,
                }],
            }]
        );
        assert!(plan.notes.is_empty());
    }

    #[test]
    fn manual_ion_edit_is_overwritten_with_an_info_note_naming_the_field() {
        let ns = ns_po("B");
        let mut ion = ion_mirror(&ns, IonStatus::Ordered);
        ion.description = Some("edited in ION".into());
        ion.attributes
            .insert(ATTR_PO_NUMBER.into(), ion_attr(json!("PO-typo")));
        line_mut(&mut ion, 1).estimated_arrival_date = NaiveDate::from_ymd_opt(2026, 3, 3);
        // Same content hash as last applied: NetSuite did not change, so these are ION edits.
        let plan = plan_linked(&ns, &ion, &link_for(&ns));
        let Change::UpdatePoHeader { fields, notes } = &plan.changes[0] else {
            panic!("{:?}", plan.changes)
        };
        assert!(fields.contains(&PoField::Description(Some("rush order".into()))));
        assert!(fields.contains(&PoField::Attribute {
            key: ATTR_PO_NUMBER.into(),
            value: json!("PO1042")
        }));
        assert!(notes.iter().all(|n| n.ion_edit));
        let info: Vec<&str> = plan
            .notes
            .iter()
            .filter(|n| n.level == NoteLevel::Info)
            .map(|n| n.message.as_str())
            .collect();
        assert_eq!(info.len(), 3, "{info:?}");
        assert!(info.iter().any(|m| m.contains("\"description\"")));
        assert!(info.iter().any(|m| m.contains(ATTR_PO_NUMBER)));
        assert!(info.iter().any(|m| m.contains("estimatedArrivalDate")));
        // The arrival date is editable on an ordered PO: no draft round trip.
        assert!(
            !plan
                .changes
                .iter()
                .any(|c| matches!(c, Change::MovePoToDraft { .. }))
        );
    }

    #[test]
    fn supplier_change_and_status_change() {
        let before = ns_po("B");
        let ion = ion_mirror(&before, IonStatus::Ordered);
        let mut after = before.clone();
        after.status_letter = "F".into();
        let mut r = resolved();
        r.supplier = SupplierLookup::Existing(78);
        let plan = plan_po(
            &after,
            Some(&ion),
            Some(&link_for(&before)),
            &r,
            &MappingConfig::default(),
        );
        assert!(matches!(
            &plan.changes[0],
            Change::UpdatePoHeader { fields, .. }
                if fields == &vec![PoField::Supplier(SupplierRef::Existing(78))]
        ));
        assert_eq!(
            plan.changes[1],
            Change::SetPoStatus {
                from: Some(IonStatus::Ordered),
                to: IonStatus::Received
            }
        );
        assert_eq!(plan.changes.len(), 2);
    }
}
