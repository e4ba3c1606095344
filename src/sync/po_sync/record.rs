//! Recording an outcome: the link, its problems and the checkpoint in one store commit.

use super::*;

impl Engine {
    /// Records an applied plan: link (with the new hash and line map) and the plan's problems
    /// (an empty list resolves the old ones), in one flushed transaction.
    pub(super) fn record(
        &self,
        ns: &NsPurchaseOrder,
        w: &Work,
        plan: &PoPlan,
        applied: &Applied,
    ) -> Result<()> {
        let ion = applied.po.as_ref().map(|p| (p.id, applied.line_map()));
        let commit = self.recorded(ns, w, plan, ion)?;
        self.store().commit_po(&commit)?;
        Ok(())
    }

    /// What [`Self::record`] writes, for callers that commit several POs at once. `ion`: the
    /// ION PO id and line map (NetSuite line id → ION line id), `None` when there is no ION PO.
    pub(super) fn recorded(
        &self,
        ns: &NsPurchaseOrder,
        w: &Work,
        plan: &PoPlan,
        ion: Option<(i64, BTreeMap<i64, i64>)>,
    ) -> Result<PoCommit> {
        let problems =
            self.with_receipt_problems(ns.id, to_store_problems(plan, w.problems.as_ref()))?;
        for resolved in w
            .problems
            .iter()
            .flat_map(|p| p.problems.iter())
            .filter(|old| !problems.iter().any(|p| p.subject == old.subject))
        {
            info!(tran_id = %ns.tran_id, problem = %resolved.subject, "open problem resolved");
        }
        let link = ion.map(|(ion_po_id, line_map)| PoLink {
            ns_po_id: ns.id,
            ion_po_id,
            tran_id: ns.tran_id.clone(),
            content_hash: plan.content_hash.clone(),
            last_lastmod: ns.lastmod.clone(),
            line_map,
        });
        let unlink = match (&link, &w.link) {
            (None, Some(_)) => Some(ns.id),
            _ => None,
        };
        Ok(PoCommit {
            link,
            unlink,
            problems: Some(PoProblems {
                ns_po_id: ns.id,
                tran_id: Some(ns.tran_id.clone()),
                problems,
            }),
            checkpoint: None,
        })
    }

    /// `problems` plus the PO's open receipt problems as stored now: those belong to the
    /// receipts leg (ION → NetSuite), which alone resolves them, so recording this PO's outcome
    /// must not drop them.
    pub(super) fn with_receipt_problems(
        &self,
        ns_id: i64,
        mut problems: Vec<Problem>,
    ) -> Result<Vec<Problem>> {
        if let Some(stored) = self.store().problems_of(ns_id)? {
            problems.extend(stored.problems.into_iter().filter(is_receipt_problem));
        }
        Ok(problems)
    }

    /// Durably parks a failed PO: its planned problems plus the failure, attempts counted.
    pub(super) fn park(
        &self,
        tran_id: &str,
        ns_id: i64,
        link: Option<PoLink>,
        old: Option<PoProblems>,
        mut problems: Vec<Problem>,
        message: String,
    ) -> Result<()> {
        let now = Utc::now();
        let prev = old.as_ref().and_then(|p| {
            p.problems
                .iter()
                .find(|x| x.kind == StoredKind::ApplyFailed)
        });
        problems.retain(|p| p.kind != StoredKind::ApplyFailed && !is_receipt_problem(p));
        let mut problems = self.with_receipt_problems(ns_id, problems)?;
        problems.push(Problem {
            kind: StoredKind::ApplyFailed,
            subject: "apply".into(),
            message,
            first_seen: prev.map_or(now, |p| p.first_seen),
            last_seen: now,
            attempts: prev.map_or(1, |p| p.attempts.saturating_add(1)),
        });
        self.store().commit_po(&PoCommit {
            link,
            unlink: None,
            problems: Some(PoProblems {
                ns_po_id: ns_id,
                tran_id: Some(tran_id.to_string()),
                problems,
            }),
            checkpoint: None,
        })?;
        Ok(())
    }
}

/// The store's kind of a plan problem (the plan's own kind carries the details, which the
/// store keeps in the problem's subject and message).
fn stored_kind(k: &ProblemKind) -> StoredKind {
    match k {
        ProblemKind::MissingPart { .. } => StoredKind::MissingPart,
        ProblemKind::UnknownStatus { .. } => StoredKind::UnknownStatus,
        ProblemKind::QuantityBelowReceived { .. } => StoredKind::QuantityBelowReceived,
        ProblemKind::PartChangeOnReceivedLine { .. } => StoredKind::PartChangeOnReceivedLine,
        ProblemKind::AttributeValue { .. } => StoredKind::AttributeValue,
        ProblemKind::CanceledLineOpenInNetSuite { .. } => StoredKind::CanceledLineOpen,
        ProblemKind::DuplicateLine { .. } => StoredKind::DuplicateLine,
        ProblemKind::LinkedPoMissing { .. } => StoredKind::LinkedPoMissing,
        ProblemKind::DeleteRefused { .. } => StoredKind::DeleteRefused,
    }
}

/// The plan's problems as store problems, keeping `first_seen` and counting attempts of the
/// ones already open.
pub(super) fn to_store_problems(plan: &PoPlan, old: Option<&PoProblems>) -> Vec<Problem> {
    let now = Utc::now();
    plan.problems
        .iter()
        .map(|p| {
            let key = p.key();
            let prev = old.and_then(|o| o.problems.iter().find(|x| x.subject == key));
            Problem {
                kind: stored_kind(&p.kind),
                subject: key,
                message: p.message.clone(),
                first_seen: prev.map_or(now, |x| x.first_seen),
                last_seen: now,
                attempts: prev.map_or(1, |x| x.attempts.saturating_add(1)),
            }
        })
        .collect()
}
