//! A PO deleted in NetSuite: delete its ION copy, or cancel its open lines where ION refuses.

use super::*;
use crate::plan::model::*;
use crate::plan::status::IonStatus;
/// Plans the ION side of a PO deleted in NetSuite.
///
/// Nothing received anywhere: delete every line (ION deletes a PO only once its lines are
/// gone, and lines only while the PO is DRAFT), then the PO. Anything received: ION refuses
/// the delete, so the open lines are canceled instead, with a warning saying why.
pub fn plan_delete(
    ns_po_id: i64,
    ion: Option<&IonPurchaseOrderState>,
    link: Option<&PoLink>,
) -> PoPlan {
    let tran_id = link.map(|l| l.tran_id.as_str()).unwrap_or_default();
    let mut plan = PoPlan::new(ns_po_id, tran_id, String::new());
    let Some(ion) = ion else {
        plan.note(
            NoteLevel::Info,
            format!("NetSuite PO {tran_id} ({ns_po_id}) deleted; no ION PO to delete"),
        );
        return plan;
    };
    plan.ion_po_id = Some(ion.id);
    let received: Vec<i64> = ion
        .lines
        .iter()
        .filter(|l| l.is_received())
        .map(|l| l.id)
        .collect();
    if !received.is_empty() {
        let reason = format!(
            "ION has received inventory on line(s) {}",
            received
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
        cancel_instead_of_delete(&mut plan, ion, link, &reason);
        return plan;
    }
    if !ion.lines.is_empty() && ion.status != Some(IonStatus::Draft) {
        plan.changes
            .push(Change::MovePoToDraft { from: ion.status });
    }
    for line in &ion.lines {
        plan.changes.push(Change::DeleteLine {
            ion_line_id: line.id,
            ns_line_id: ns_line_of(line, link),
        });
    }
    plan.changes.push(Change::DeletePo { ion_po_id: ion.id });
    plan
}

/// The fallback when ION refused a delete the plan could not foresee (approvals, fees,
/// approval requests, org rules): cancel the open lines and warn with ION's `reason`.
pub fn plan_delete_refused(
    ns_po_id: i64,
    ion: &IonPurchaseOrderState,
    link: Option<&PoLink>,
    reason: &str,
) -> PoPlan {
    let tran_id = link.map(|l| l.tran_id.as_str()).unwrap_or_default();
    let mut plan = PoPlan::new(ns_po_id, tran_id, String::new());
    plan.ion_po_id = Some(ion.id);
    cancel_instead_of_delete(&mut plan, ion, link, reason);
    plan
}

fn cancel_instead_of_delete(
    plan: &mut PoPlan,
    ion: &IonPurchaseOrderState,
    link: Option<&PoLink>,
    reason: &str,
) {
    for line in &ion.lines {
        if !line.is_received() && line.status != IonStatus::Canceled {
            plan.changes.push(Change::CancelLine {
                line: LineRef::Ion(line.id),
                ns_line_id: ns_line_of(line, link),
                reason: CancelReason::PoDeleted,
            });
        }
    }
    let message = format!(
        "NetSuite PO {} ({}) was deleted but ION PO {} cannot be deleted: {reason}; its open \
         lines are canceled instead",
        plan.tran_id, plan.ns_po_id, ion.id
    );
    plan.problem(
        ProblemKind::DeleteRefused {
            ion_po_id: ion.id,
            reason: reason.to_string(),
        },
        message,
    );
}

#[cfg(test)]
mod tests {
    use crate::plan::po::fixtures::*;

    #[test]
    fn delete_without_receipts_deletes_lines_then_po() {
        let ns = ns_po("B");
        let ion = ion_mirror(&ns, IonStatus::Ordered);
        let plan = plan_delete(PO_ID, Some(&ion), Some(&link_for(&ns)));
        assert_eq!(plan.tran_id, "PO1042");
        assert_eq!(
            plan.changes[0],
            Change::MovePoToDraft {
                from: Some(IonStatus::Ordered)
            }
        );
        assert_eq!(
            plan.changes[1..4]
                .iter()
                .map(|c| match c {
                    Change::DeleteLine {
                        ion_line_id,
                        ns_line_id,
                    } => (*ion_line_id, *ns_line_id),
                    other => panic!("{other:?}"),
                })
                .collect::<Vec<_>>(),
            vec![
                (ion_line_of(1), Some(1)),
                (ion_line_of(2), Some(2)),
                (ion_line_of(3), Some(3))
            ]
        );
        assert_eq!(plan.changes[4], Change::DeletePo { ion_po_id: ION_PO });
        assert_eq!(plan.changes.len(), 5);
        assert!(plan.problems.is_empty());
    }

    #[test]
    fn delete_with_receipts_cancels_open_lines_and_warns_why() {
        let ns = ns_po("D");
        let mut ion = ion_mirror(&ns, IonStatus::Ordered);
        line_mut(&mut ion, 1).received_quantity = 3.0;
        line_mut(&mut ion, 3).status = IonStatus::Canceled;
        let plan = plan_delete(PO_ID, Some(&ion), Some(&link_for(&ns)));
        assert_eq!(
            plan.changes,
            vec![Change::CancelLine {
                line: LineRef::Ion(ion_line_of(2)),
                ns_line_id: Some(2),
                reason: CancelReason::PoDeleted
            }]
        );
        assert_eq!(plan.problems.len(), 1);
        assert!(matches!(
            plan.problems[0].kind,
            ProblemKind::DeleteRefused {
                ion_po_id: ION_PO,
                ..
            }
        ));
        assert!(plan.problems[0].message.contains("received"));
        assert!(plan.problems[0].message.contains("PO1042"));
    }

    #[test]
    fn delete_refused_by_ion_falls_back_to_cancel() {
        let ns = ns_po("B");
        let ion = ion_mirror(&ns, IonStatus::Ordered);
        let plan = plan_delete_refused(PO_ID, &ion, Some(&link_for(&ns)), "PO has approvals");
        assert_eq!(canceled(&plan).len(), 3);
        assert!(plan.problems[0].message.contains("PO has approvals"));
    }

    #[test]
    fn delete_of_a_po_ion_no_longer_has_is_a_noop() {
        let plan = plan_delete(PO_ID, None, None);
        assert!(plan.is_noop());
        assert!(plan.problems.is_empty());
    }
}
