//! The lines of a PO ION has: created, updated, canceled or deleted to match NetSuite.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::*;
use crate::plan::model::*;
use crate::plan::status::{IonStatus, MappedStatus};
/// Line changes in NetSuite line order, then removals. Status wrapping is the caller's.
pub(super) fn plan_lines(
    ctx: &Ctx<'_>,
    ion: &IonPurchaseOrderState,
    link: Option<&PoLink>,
    mapped: MappedStatus,
    plan: &mut PoPlan,
) -> Vec<Change> {
    let ns = ctx.ns;
    let mut out = Vec::new();
    let mut claimed: BTreeSet<i64> = BTreeSet::new();
    let by_id: BTreeMap<i64, &IonLineState> = ion.lines.iter().map(|l| (l.id, l)).collect();

    let mut ns_lines: Vec<&NsLine> = ns.lines.iter().collect();
    ns_lines.sort_by_key(|l| l.line_id);
    let ns_ids: BTreeSet<i64> = ns_lines.iter().map(|l| l.line_id).collect();

    for line in &ns_lines {
        // The link table first; the ns_line_id attribute finds a line created just before a
        // crash that never reached the link table.
        let from_link = link
            .and_then(|l| l.line_map.get(&line.line_id))
            .and_then(|id| by_id.get(id).copied())
            .filter(|l| !claimed.contains(&l.id));
        let matched = from_link.or_else(|| {
            ion.lines
                .iter()
                .find(|l| !claimed.contains(&l.id) && l.ns_line_id() == Some(line.line_id))
        });
        let closing = mapped.cancel_open_lines || line.is_closed;
        let Some(il) = matched else {
            if closing {
                // Closed before it ever reached ION: nothing to receive, nothing to create.
                continue;
            }
            if let Some(gone) = link.and_then(|l| l.line_map.get(&line.line_id)) {
                plan.note(
                    NoteLevel::Info,
                    format!(
                        "NetSuite PO {} line {}: ION line {gone} no longer exists; creating it again",
                        ns.tran_id, line.line_id
                    ),
                );
            }
            if let Some(new) = ctx.new_line(line, plan) {
                out.push(Change::CreateLine(new));
            }
            continue;
        };
        claimed.insert(il.id);

        if il.status == IonStatus::Canceled {
            if !closing {
                let message = format!(
                    "NetSuite PO {} line {} ({}) is open but ION line {} is canceled; reopen it \
                     in ION or close it in NetSuite",
                    ns.tran_id, line.line_id, line.item_name, il.id
                );
                plan.problem(
                    ProblemKind::CanceledLineOpenInNetSuite {
                        ns_line_id: line.line_id,
                        ion_line_id: il.id,
                    },
                    message,
                );
            }
            continue;
        }
        if closing {
            if il.is_received() {
                plan.note(
                    NoteLevel::Debug,
                    format!(
                        "NetSuite PO {} line {} closed; ION line {} has received {} and stays as is",
                        ns.tran_id, line.line_id, il.id, il.received_quantity
                    ),
                );
            } else {
                out.push(Change::CancelLine {
                    line: LineRef::Ion(il.id),
                    ns_line_id: Some(line.line_id),
                    reason: cancel_reason(line, mapped),
                });
            }
            continue;
        }
        if let Some(update) = line_update(ctx, line, il, plan) {
            out.push(update);
        }
    }

    // ION lines no NetSuite line claimed.
    for il in &ion.lines {
        if claimed.contains(&il.id) {
            continue;
        }
        let Some(ns_line_id) = ns_line_of(il, link) else {
            plan.note(
                NoteLevel::Info,
                format!(
                    "ION PO {} line {} does not come from NetSuite PO {}; left alone",
                    ion.id, il.id, ns.tran_id
                ),
            );
            continue;
        };
        if ns_ids.contains(&ns_line_id) {
            let message = format!(
                "NetSuite PO {} line {ns_line_id} is mirrored by more than one ION line; ION line \
                 {} is left alone, remove it in ION",
                ns.tran_id, il.id
            );
            plan.problem(
                ProblemKind::DuplicateLine {
                    ns_line_id,
                    ion_line_id: il.id,
                },
                message,
            );
            continue;
        }
        // Removed in NetSuite. Delete when ION allows it (nothing received) and the PO is not
        // being closed anyway (a cancel then needs no DRAFT round trip); otherwise cancel.
        if !il.is_received() && !mapped.cancel_open_lines {
            out.push(Change::DeleteLine {
                ion_line_id: il.id,
                ns_line_id: Some(ns_line_id),
            });
        } else if il.status != IonStatus::Canceled {
            // Received (ION refuses the delete; canceling keeps what was received), or the PO
            // is closing and every open line is canceled anyway.
            out.push(Change::CancelLine {
                line: LineRef::Ion(il.id),
                ns_line_id: Some(ns_line_id),
                reason: CancelReason::RemovedInNetSuite,
            });
        }
    }
    out
}

fn line_update(
    ctx: &Ctx<'_>,
    line: &NsLine,
    il: &IonLineState,
    plan: &mut PoPlan,
) -> Option<Change> {
    let ns = ctx.ns;
    let mut diff = Diff::new(ctx.ns_unchanged);

    match ctx.resolved.part_for(line.item_id) {
        None => ctx.missing_part(line, Some(il.id), plan),
        Some(p) if il.part_id == Some(p) => {}
        Some(_) if il.is_received() => {
            let message = format!(
                "NetSuite PO {} line {}: item changed to {}, but ION line {} already received \
                 against its old part; the part is left as is",
                ns.tran_id, line.line_id, line.item_name, il.id
            );
            plan.problem(
                ProblemKind::PartChangeOnReceivedLine {
                    ns_line_id: line.line_id,
                    ion_line_id: il.id,
                },
                message,
            );
        }
        Some(p) => {
            diff.set("part", json!(il.part_id), json!(p), LineField::Part(p));
        }
    }
    if !same_amount(line.quantity, il.quantity) {
        let received = il.received_quantity.max(line.quantity_received);
        if line.quantity + crate::plan::model::QTY_EPSILON < received {
            let message = format!(
                "NetSuite PO {} line {} ({}): quantity {} is below the {} already received; \
                 the ION quantity is left at {}",
                ns.tran_id, line.line_id, line.item_name, line.quantity, received, il.quantity
            );
            plan.problem(
                ProblemKind::QuantityBelowReceived {
                    ns_line_id: line.line_id,
                    quantity: line.quantity,
                    received,
                },
                message,
            );
        } else {
            diff.set(
                "quantity",
                json!(il.quantity),
                json!(line.quantity),
                LineField::Quantity(line.quantity),
            );
        }
    }
    if il.cost.is_none_or(|c| !same_amount(c, line.rate)) {
        diff.set(
            "cost",
            json!(il.cost),
            json!(line.rate),
            LineField::Cost(line.rate),
        );
    }
    let memo = clean(&line.memo);
    if memo != clean(&il.description) {
        diff.set(
            "description",
            json!(il.description),
            json!(memo),
            LineField::Description(memo),
        );
    }
    diff.differs(
        "estimatedArrivalDate",
        &il.estimated_arrival_date,
        &line.expected_receipt_date,
        || LineField::EstimatedArrivalDate(line.expected_receipt_date),
    );
    diff.attributes(
        &il.attributes,
        ctx.line_attributes(line, plan),
        |key, value| LineField::Attribute { key, value },
    );
    if diff.fields.is_empty() {
        return None;
    }
    note_overwrites(plan, &format!("ION line {}", il.id), &diff.notes);
    Some(Change::UpdateLine {
        ion_line_id: il.id,
        ns_line_id: line.line_id,
        fields: diff.fields,
        notes: diff.notes,
    })
}

#[cfg(test)]
mod tests {
    use crate::plan::po::fixtures::*;

    #[test]
    fn line_added_on_ordered_po() {
        let before = ns_po("B");
        let ion = ion_mirror(&before, IonStatus::Ordered);
        let mut after = before.clone();
        after.lines.push(ns_line(4, 101, "InvtPart", 2.0, 2.5));
        let plan = plan_linked(&after, &ion, &link_for(&before));
        assert_eq!(plan.changes.len(), 3);
        assert!(matches!(plan.changes[0], Change::MovePoToDraft { .. }));
        assert!(matches!(&plan.changes[1], Change::CreateLine(l)
            if l.ns_line_id == 4 && l.part_id == 1101 && l.quantity == 2.0));
        assert!(matches!(plan.changes[2], Change::MovePoBack { .. }));
    }

    #[test]
    fn line_removed_without_receipts_is_deleted() {
        let before = ns_po("B");
        let ion = ion_mirror(&before, IonStatus::Ordered);
        let mut after = before.clone();
        after.lines.remove(1);
        let plan = plan_linked(&after, &ion, &link_for(&before));
        assert_eq!(
            plan.changes,
            vec![
                Change::MovePoToDraft {
                    from: Some(IonStatus::Ordered)
                },
                Change::DeleteLine {
                    ion_line_id: ion_line_of(2),
                    ns_line_id: Some(2)
                },
                Change::MovePoBack {
                    to: IonStatus::Ordered
                },
            ]
        );
    }

    #[test]
    fn line_removed_after_receipts_is_canceled_not_deleted() {
        let before = ns_po("D");
        let mut ion = ion_mirror(&before, IonStatus::Ordered);
        line_mut(&mut ion, 2).received_quantity = 2.0;
        let mut after = before.clone();
        after.lines.remove(1);
        let plan = plan_linked(&after, &ion, &link_for(&before));
        assert_eq!(
            plan.changes,
            vec![Change::CancelLine {
                line: LineRef::Ion(ion_line_of(2)),
                ns_line_id: Some(2),
                reason: CancelReason::RemovedInNetSuite
            }]
        );

        // Once canceled, nothing more is planned for it.
        line_mut(&mut ion, 2).status = IonStatus::Canceled;
        assert!(plan_linked(&after, &ion, &link_for(&before)).is_noop());
    }

    #[test]
    fn removed_line_found_by_its_attribute_when_the_link_lost_it() {
        let before = ns_po("B");
        let ion = ion_mirror(&before, IonStatus::Ordered);
        let mut link = link_for(&before);
        link.line_map.clear();
        let mut after = before.clone();
        after.lines.remove(2);
        let plan = plan_linked(&after, &ion, &link);
        assert!(plan.changes.contains(&Change::DeleteLine {
            ion_line_id: ion_line_of(3),
            ns_line_id: Some(3)
        }));
    }

    #[test]
    fn closed_line_cancels_the_ion_line_only_if_nothing_received() {
        let before = ns_po("D");
        let mut ion = ion_mirror(&before, IonStatus::Ordered);
        line_mut(&mut ion, 1).received_quantity = 4.0;
        let mut after = before.clone();
        after.lines[0].is_closed = true;
        after.lines[1].is_closed = true;
        let plan = plan_linked(&after, &ion, &link_for(&before));
        assert_eq!(
            plan.changes,
            vec![Change::CancelLine {
                line: LineRef::Ion(ion_line_of(2)),
                ns_line_id: Some(2),
                reason: CancelReason::LineClosed
            }]
        );
    }

    #[test]
    fn closed_po_cancels_open_lines_and_keeps_received_ones() {
        let before = ns_po("D");
        let mut ion = ion_mirror(&before, IonStatus::Ordered);
        line_mut(&mut ion, 1).received_quantity = 10.0; // fully received
        line_mut(&mut ion, 2).received_quantity = 1.0; // partly received
        let mut after = before.clone();
        after.status_letter = "H".into();
        after.lines[0].quantity = 99.0; // ignored: a closed PO's lines are not edited
        for l in &mut after.lines {
            l.is_closed = true;
        }
        let plan = plan_linked(&after, &ion, &link_for(&before));
        assert_eq!(
            plan.changes,
            vec![
                Change::CancelLine {
                    line: LineRef::Ion(ion_line_of(3)),
                    ns_line_id: Some(3),
                    reason: CancelReason::PoClosed
                },
                Change::SetPoStatus {
                    from: Some(IonStatus::Ordered),
                    to: IonStatus::Canceled
                },
            ]
        );
    }

    #[test]
    fn rejected_after_sync_cancels_like_a_close() {
        let before = ns_po("A");
        let ion = ion_mirror(&before, IonStatus::Draft);
        let mut after = before.clone();
        after.status_letter = "C".into();
        let plan = plan_linked(&after, &ion, &link_for(&before));
        assert_eq!(canceled(&plan).len(), 3);
        assert_eq!(last_status(&plan), Some(IonStatus::Canceled));
        assert!(!plan.changes.iter().any(Change::needs_draft));
    }

    #[test]
    fn quantity_below_received_is_a_problem_and_not_written() {
        let before = ns_po("D");
        let mut ion = ion_mirror(&before, IonStatus::Ordered);
        line_mut(&mut ion, 1).received_quantity = 8.0;
        let mut after = before.clone();
        after.lines[0].quantity = 6.0;
        let plan = plan_linked(&after, &ion, &link_for(&before));
        assert!(plan.is_noop(), "{:?}", plan.changes);
        assert_eq!(
            plan.problems[0].kind,
            ProblemKind::QuantityBelowReceived {
                ns_line_id: 1,
                quantity: 6.0,
                received: 8.0
            }
        );
        // Down to exactly the received quantity is fine.
        after.lines[0].quantity = 8.0;
        let plan = plan_linked(&after, &ion, &link_for(&before));
        assert!(plan.problems.is_empty());
        assert!(plan.changes.iter().any(|c| matches!(c,
            Change::UpdateLine { fields, .. } if fields == &vec![LineField::Quantity(8.0)])));
    }

    #[test]
    fn item_change_on_a_received_line_is_a_problem() {
        let before = ns_po("D");
        let mut ion = ion_mirror(&before, IonStatus::Ordered);
        line_mut(&mut ion, 1).received_quantity = 1.0;
        line_mut(&mut ion, 2).received_quantity = 0.0;
        let mut after = before.clone();
        after.lines[0].item_id = 102;
        after.lines[1].item_id = 101;
        let plan = plan_linked(&after, &ion, &link_for(&before));
        assert_eq!(plan.problems.len(), 1);
        assert_eq!(plan.problems[0].key(), "part-change-on-received-line:1");
        assert!(plan.changes.iter().any(|c| matches!(c,
            Change::UpdateLine { ns_line_id: 2, fields, .. } if fields == &vec![LineField::Part(1101)])));
    }

    #[test]
    fn item_changed_to_one_without_a_part_keeps_the_old_part_and_warns() {
        let before = ns_po("B");
        let ion = ion_mirror(&before, IonStatus::Ordered);
        let mut after = before.clone();
        after.lines[0].item_id = 105;
        after.lines[0].item_name = "NEW-ITEM".into();
        after.lines[0].rate = 3.0;
        let plan = plan_linked(&after, &ion, &link_for(&before));
        assert_eq!(
            plan.problem_keys(),
            ["missing-part:1:105".to_string()].into()
        );
        assert!(plan.problems[0].message.contains("NEW-ITEM"));
        assert!(plan.problems[0].message.contains("keeps its old part"));
        assert!(plan.changes.iter().any(|c| matches!(c,
            Change::UpdateLine { fields, .. } if fields == &vec![LineField::Cost(3.0)])));
    }

    #[test]
    fn canceled_ion_line_that_is_open_in_netsuite_is_a_problem() {
        let ns = ns_po("B");
        let mut ion = ion_mirror(&ns, IonStatus::Ordered);
        line_mut(&mut ion, 2).status = IonStatus::Canceled;
        let plan = plan_linked(&ns, &ion, &link_for(&ns));
        assert!(plan.is_noop());
        assert_eq!(plan.problems[0].key(), "canceled-line-open:2");
    }

    #[test]
    fn crash_after_create_is_recovered_by_natural_keys_without_duplicates() {
        // ION has the PO and two of three lines, the link table has nothing yet.
        let ns = ns_po("B");
        let mut ion = ion_mirror(&ns, IonStatus::Draft);
        ion.lines.retain(|l| l.id != ion_line_of(3));
        let plan = plan_po(
            &ns,
            Some(&ion),
            None,
            &resolved(),
            &MappingConfig::default(),
        );
        assert_eq!(plan.ion_po_id, Some(ION_PO));
        assert_eq!(
            created_lines(&plan)
                .iter()
                .map(|l| l.ns_line_id)
                .collect::<Vec<_>>(),
            vec![3]
        );
        assert_eq!(
            plan.changes.last(),
            Some(&Change::SetPoStatus {
                from: Some(IonStatus::Draft),
                to: IonStatus::Ordered
            })
        );
        assert_eq!(plan.changes.len(), 2);
    }

    #[test]
    fn ion_lines_not_from_netsuite_are_left_alone_and_duplicates_reported() {
        let ns = ns_po("B");
        let mut ion = ion_mirror(&ns, IonStatus::Ordered);
        let mut manual = ion.lines[0].clone();
        manual.id = 777;
        manual.attributes.clear();
        let mut dup = ion.lines[0].clone();
        dup.id = 778;
        ion.lines.push(manual);
        ion.lines.push(dup);
        let plan = plan_linked(&ns, &ion, &link_for(&ns));
        assert!(plan.is_noop(), "{:?}", plan.changes);
        assert_eq!(
            plan.problems.iter().map(Problem::key).collect::<Vec<_>>(),
            vec!["duplicate-line:778"]
        );
        assert!(plan.notes.iter().any(|n| n.message.contains("line 777")));
    }
}
