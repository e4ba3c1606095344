//! A PO ION does not have yet: created as a DRAFT with its lines, then moved to its status.

use super::*;
use crate::plan::model::*;
use crate::plan::status::{IonStatus, MappedStatus};
pub(super) fn plan_create(ctx: &Ctx<'_>, mapped: MappedStatus, plan: &mut PoPlan) {
    let ns = ctx.ns;
    let supplier = ctx.supplier(plan);
    let mut attributes = ctx.po_attributes(plan);
    attributes.retain(|_, v| !v.is_null());
    plan.changes.push(Change::CreatePo {
        supplier,
        status: IonStatus::Draft,
        description: clean(&ns.memo),
        ordered_at: ns.tran_date,
        attributes,
    });
    let mut lines: Vec<&NsLine> = ns.lines.iter().collect();
    lines.sort_by_key(|l| l.line_id);
    let mut cancels = Vec::new();
    for line in lines {
        let closing = mapped.cancel_open_lines || line.is_closed;
        if closing && ctx.resolved.part_for(line.item_id).is_none() {
            // Nothing will ever be received on it: no reason to ask anyone for a part.
            continue;
        }
        if let Some(new) = ctx.new_line(line, plan) {
            plan.changes.push(Change::CreateLine(new));
            if closing {
                cancels.push(Change::CancelLine {
                    line: LineRef::New {
                        ns_line_id: line.line_id,
                    },
                    ns_line_id: Some(line.line_id),
                    reason: cancel_reason(line, mapped),
                });
            }
        }
    }
    plan.changes.extend(cancels);
    if mapped.ion != IonStatus::Draft {
        plan.changes.push(Change::SetPoStatus {
            from: Some(IonStatus::Draft),
            to: mapped.ion,
        });
    }
}

pub(super) fn cancel_reason(line: &NsLine, mapped: MappedStatus) -> CancelReason {
    if line.is_closed && !mapped.cancel_open_lines {
        CancelReason::LineClosed
    } else {
        CancelReason::PoClosed
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::po::fixtures::*;

    #[test]
    fn new_pending_receipt_po_is_created_as_draft_with_lines_then_ordered() {
        let plan = plan_new(&ns_po("B"));
        assert_eq!(plan.ion_po_id, None);
        assert_eq!(plan.target_status, Some(IonStatus::Ordered));
        assert!(plan.problems.is_empty(), "{:?}", plan.problems);
        let Change::CreatePo {
            supplier,
            status,
            description,
            ordered_at,
            attributes,
        } = &plan.changes[0]
        else {
            panic!("first change is {:?}", plan.changes[0]);
        };
        assert_eq!(*supplier, SupplierRef::Existing(SUPPLIER));
        assert_eq!(*status, IonStatus::Draft);
        assert_eq!(description.as_deref(), Some("rush order"));
        assert_eq!(*ordered_at, NaiveDate::from_ymd_opt(2026, 1, 15));
        assert_eq!(attributes[ATTR_PO_NUMBER], json!("PO1042"));
        assert_eq!(attributes[ATTR_RECORD_ID], json!("4711"));

        let lines = created_lines(&plan);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].ns_line_id, 1);
        assert_eq!(lines[0].part_id, 1101);
        assert_eq!(lines[0].quantity, 10.0);
        assert_eq!(lines[0].cost, 2.5);
        assert_eq!(lines[0].attributes[ATTR_NS_LINE_ID], json!(1));
        assert_eq!(lines[0].attributes[ATTR_NON_RECEIVABLE], json!(false));
        assert_eq!(
            plan.changes.last(),
            Some(&Change::SetPoStatus {
                from: Some(IonStatus::Draft),
                to: IonStatus::Ordered
            })
        );
        assert!(canceled(&plan).is_empty());
    }

    #[test]
    fn status_table_for_new_pos() {
        // (letter, status after create, created at all, lines canceled)
        let cases = [
            ("A", None, true, false),
            ("B", Some(IonStatus::Ordered), true, false),
            ("D", Some(IonStatus::Ordered), true, false),
            ("E", Some(IonStatus::Ordered), true, false),
            ("F", Some(IonStatus::Received), true, false),
            ("G", Some(IonStatus::Received), true, false),
            ("H", Some(IonStatus::Canceled), true, true),
            ("C", None, false, false),
        ];
        for (letter, final_status, created, lines_canceled) in cases {
            let plan = plan_new(&ns_po(letter));
            assert_eq!(
                plan.changes
                    .iter()
                    .any(|c| matches!(c, Change::CreatePo { .. })),
                created,
                "{letter}"
            );
            assert_eq!(last_status(&plan), final_status, "{letter}");
            assert_eq!(
                canceled(&plan).len(),
                if lines_canceled { 3 } else { 0 },
                "{letter}"
            );
            assert!(plan.problems.is_empty(), "{letter}: {:?}", plan.problems);
        }
    }

    #[test]
    fn closed_po_new_lines_are_created_then_canceled_by_reference() {
        let plan = plan_new(&ns_po("H"));
        let cancels = canceled(&plan);
        assert_eq!(cancels[0], LineRef::New { ns_line_id: 1 });
        // Cancels come after every create and before the final status.
        let first_cancel = plan
            .changes
            .iter()
            .position(|c| matches!(c, Change::CancelLine { .. }))
            .unwrap();
        let last_create = plan
            .changes
            .iter()
            .rposition(|c| matches!(c, Change::CreateLine(_)))
            .unwrap();
        assert!(last_create < first_cancel);
        assert!(matches!(
            plan.changes.last(),
            Some(Change::SetPoStatus {
                to: IonStatus::Canceled,
                ..
            })
        ));
    }

    #[test]
    fn rejected_never_synced_creates_nothing() {
        let plan = plan_new(&ns_po("C"));
        assert!(plan.is_noop());
        assert!(plan.problems.is_empty());
        assert_eq!(plan.notes.len(), 1);
        assert!(plan.notes[0].message.contains("rejected"));
    }

    #[test]
    fn unknown_status_changes_nothing_and_is_a_problem() {
        for letter in ["P", "Y", ""] {
            let ns = ns_po(letter);
            let ion = ion_mirror(&ns, IonStatus::Ordered);
            let mut link = link_for(&ns);
            link.content_hash = "old".into();
            let mut changed = ns.clone();
            changed.memo = Some("changed".into());
            for plan in [plan_new(&ns), plan_linked(&changed, &ion, &link)] {
                assert!(plan.is_noop(), "{letter}: {:?}", plan.changes);
                assert_eq!(plan.target_status, None);
                assert_eq!(plan.problems.len(), 1);
                assert!(matches!(
                    plan.problems[0].kind,
                    ProblemKind::UnknownStatus { .. }
                ));
                assert!(plan.problems[0].message.contains("PO1042"));
            }
        }
    }

    #[test]
    fn vendor_not_in_ion_creates_the_supplier_first() {
        let mut r = resolved();
        r.supplier = SupplierLookup::MustCreate {
            name: "Acme Metals".into(),
        };
        let plan = plan_po(&ns_po("B"), None, None, &r, &MappingConfig::default());
        assert_eq!(
            plan.changes[0],
            Change::CreateSupplier {
                vendor_id: 880,
                name: "Acme Metals".into()
            }
        );
        assert!(matches!(
            &plan.changes[1],
            Change::CreatePo {
                supplier: SupplierRef::Created { vendor_id: 880 },
                ..
            }
        ));
    }

    #[test]
    fn missing_part_leaves_the_line_out_with_a_warning_then_adds_it_later() {
        let ns = ns_po("B");
        let mut r = resolved();
        r.parts.insert(102, None);
        let plan = plan_po(&ns, None, None, &r, &MappingConfig::default());
        let lines = created_lines(&plan);
        assert_eq!(
            lines.iter().map(|l| l.ns_line_id).collect::<Vec<_>>(),
            vec![1, 3]
        );
        assert_eq!(plan.problems.len(), 1);
        let p = &plan.problems[0];
        assert_eq!(
            p.kind,
            ProblemKind::MissingPart {
                ns_line_id: 2,
                item_id: 102,
                item_name: "ITEM-102".into()
            }
        );
        assert!(p.message.contains("ITEM-102") && p.message.contains("PO1042"));
        assert_eq!(p.key(), "missing-part:2:102");

        // Next cycle: the PO exists in ION without line 2; the part still missing → same
        // problem, nothing to do.
        let mut ion = ion_mirror(&ns, IonStatus::Ordered);
        ion.lines.retain(|l| l.id != ion_line_of(2));
        let mut link = link_for(&ns);
        link.line_map.remove(&2);
        let again = plan_po(&ns, Some(&ion), Some(&link), &r, &MappingConfig::default());
        assert!(again.is_noop(), "{:?}", again.changes);
        assert_eq!(again.problem_keys(), plan.problem_keys());

        // The part now exists: the line is added, inside the draft round trip, problem gone.
        let later = plan_linked(&ns, &ion, &link);
        assert!(later.problems.is_empty());
        assert_eq!(
            later.changes.first(),
            Some(&Change::MovePoToDraft {
                from: Some(IonStatus::Ordered)
            })
        );
        assert!(matches!(&later.changes[1], Change::CreateLine(l) if l.ns_line_id == 2));
        assert_eq!(
            later.changes.last(),
            Some(&Change::MovePoBack {
                to: IonStatus::Ordered
            })
        );
        assert_eq!(later.changes.len(), 3);
    }

    #[test]
    fn non_receivable_item_types_are_flagged() {
        let mut mapping = MappingConfig::default();
        let plan = plan_po(&ns_po("B"), None, None, &resolved(), &mapping);
        let flags: Vec<Value> = created_lines(&plan)
            .iter()
            .map(|l| l.attributes[ATTR_NON_RECEIVABLE].clone())
            .collect();
        assert_eq!(flags, vec![json!(false), json!(false), json!(true)]);

        // Configurable: with only "InvtPart" listed (odd, but configured), it flips.
        mapping.non_receivable_item_types = ["InvtPart".to_string()].into();
        let plan = plan_po(&ns_po("B"), None, None, &resolved(), &mapping);
        let flags: Vec<Value> = created_lines(&plan)
            .iter()
            .map(|l| l.attributes[ATTR_NON_RECEIVABLE].clone())
            .collect();
        assert_eq!(flags, vec![json!(true), json!(true), json!(false)]);
    }

    #[test]
    fn custom_attributes_text_number_boolean_and_list_on_create() {
        let ns = ns_with_custom_fields();
        let mapping = mapping_with_custom_attributes();
        let plan = plan_po(&ns, None, None, &resolved(), &mapping);
        assert!(plan.problems.is_empty(), "{:?}", plan.problems);
        let Change::CreatePo { attributes, .. } = &plan.changes[0] else {
            panic!()
        };
        assert_eq!(attributes["Requester"], json!("J. Buyer"));
        assert_eq!(attributes["Budget"], json!(1250.5));
        assert_eq!(attributes["Expedite"], json!(true));
        assert_eq!(attributes["Memo copy"], json!("rush order"));
        // Empty in NetSuite: not sent on create.
        assert!(!attributes.contains_key("Notes"));

        let lines = created_lines(&plan);
        assert_eq!(lines[0].attributes["Project"], json!("Apollo"));
        assert_eq!(lines[0].attributes["Tags"], json!(["Red", "Blue"]));
        assert_eq!(lines[0].attributes["Weight"], json!(12));
        // A line whose mapped fields are empty gets only the two fixed attributes.
        assert_eq!(lines[1].attributes.len(), 2);
    }

    #[test]
    fn a_mapping_cannot_override_the_cross_system_keys() {
        let mut mapping = MappingConfig::default();
        mapping.po_attributes.insert(
            ATTR_PO_NUMBER.into(),
            FieldMap {
                field: "memo".into(),
                ion_type: AttrType::Text,
            },
        );
        let plan = plan_po(&ns_po("B"), None, None, &resolved(), &mapping);
        let Change::CreatePo { attributes, .. } = &plan.changes[0] else {
            panic!()
        };
        assert_eq!(attributes[ATTR_PO_NUMBER], json!("PO1042"));
    }

    #[test]
    fn a_value_that_does_not_fit_the_attribute_type_is_a_problem_not_a_write() {
        let mut ns = ns_with_custom_fields();
        ns.body_fields
            .insert("custbody_budget".into(), Some("lots".into()));
        ns.lines[0]
            .line_fields
            .insert("custcol_weight".into(), Some("heavy".into()));
        let mapping = mapping_with_custom_attributes();
        let plan = plan_po(&ns, None, None, &resolved(), &mapping);
        let Change::CreatePo { attributes, .. } = &plan.changes[0] else {
            panic!()
        };
        assert!(!attributes.contains_key("Budget"));
        assert_eq!(attributes["Requester"], json!("J. Buyer"));
        let keys = plan.problem_keys();
        assert!(keys.contains("attribute:Budget"), "{keys:?}");
        assert!(keys.contains("attribute:Weight:line:1"), "{keys:?}");
        assert!(!created_lines(&plan)[0].attributes.contains_key("Weight"));
    }

    #[test]
    fn linked_po_gone_from_ion_is_created_again_with_a_problem() {
        let ns = ns_po("B");
        let plan = plan_po(
            &ns,
            None,
            Some(&link_for(&ns)),
            &resolved(),
            &MappingConfig::default(),
        );
        assert!(matches!(plan.changes[0], Change::CreatePo { .. }));
        assert_eq!(
            plan.problem_keys(),
            ["linked-po-missing".to_string()].into()
        );
    }

    #[test]
    fn plan_carries_the_hash_to_record() {
        let ns = ns_po("B");
        assert_eq!(plan_new(&ns).content_hash, content_hash(&ns));
    }
}
