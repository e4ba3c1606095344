//! A plan as text: the log lines of an applied plan and the `--dry-run` rendering.

use super::*;

/// Logs a plan's notes and problems: problems are warnings (an admin must act).
pub(super) fn log_plan(plan: &PoPlan) {
    for n in &plan.notes {
        match n.level {
            NoteLevel::Debug => {
                debug!(tran_id = %plan.tran_id, ion_po = ?plan.ion_po_id, "{}", n.message)
            }
            NoteLevel::Info => {
                info!(tran_id = %plan.tran_id, ion_po = ?plan.ion_po_id, "{}", n.message)
            }
        }
    }
    for p in &plan.problems {
        warn!(tran_id = %plan.tran_id, ion_po = ?plan.ion_po_id, problem = %p.key(), "{}", p.message);
    }
}

/// Renders a plan for `--dry-run`: the PO on both sides, then each change and problem.
pub fn render_plan(plan: &PoPlan) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let ion = plan
        .ion_po_id
        .map_or("new ION PO".to_string(), |id| format!("ION PO {id}"));
    let _ = writeln!(
        s,
        "NetSuite PO {} (id {}) → {ion}{}",
        if plan.tran_id.is_empty() {
            "?"
        } else {
            &plan.tran_id
        },
        plan.ns_po_id,
        plan.target_status
            .map(|t| format!(", status {t}"))
            .unwrap_or_default()
    );
    if plan.changes.is_empty() {
        let _ = writeln!(s, "  ION: no change");
    }
    for c in &plan.changes {
        let _ = writeln!(s, "  ION: {c}");
    }
    let _ = writeln!(
        s,
        "  NetSuite: no change (NetSuite is the source of truth for POs)"
    );
    for p in &plan.problems {
        let _ = writeln!(s, "  WARNING: {}", p.message);
    }
    for n in &plan.notes {
        let _ = writeln!(s, "  note: {}", n.message);
    }
    s
}
