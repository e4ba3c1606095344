//! The receipts leg's open problems: this cycle's plan problems and refusals written to the
//! store, replacing those of the receipts it planned.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::ReceiptSync;
use crate::plan::receipts::{ItemReceiptPlan, ReceiptPlan, ReceiptProblem, ReceiptProblemKind};
use crate::store::{Leg, PoProblems, Problem, ProblemKind, ReceiptLink, ReceiptState, StoreError};

impl ReceiptSync {
    /// Writes this cycle's receipt problems: for every receipt planned this cycle, its old
    /// receipt problems are replaced by the current ones (so a fixed one resolves itself);
    /// problems of other kinds and of other receipts are kept. Warns for each new problem.
    /// Returns the number of open receipt problems.
    pub(super) fn record_problems(
        &self,
        plan: &ReceiptPlan,
        rejected: &[(ItemReceiptPlan, String)],
        links: &[ReceiptLink],
        planned_receipts: &BTreeSet<i64>,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let named = |external_id: &str| -> String {
            match links.iter().find(|l| l.external_id == external_id) {
                Some(ReceiptLink {
                    state: ReceiptState::Created { item_receipt_id },
                    ..
                }) => format!("NetSuite itemReceipt {item_receipt_id} ({external_id})"),
                _ => format!("NetSuite itemReceipt {external_id}"),
            }
        };
        let mut fresh: BTreeMap<i64, Vec<Problem>> = BTreeMap::new();
        for p in &plan.problems {
            let Some(ns_po_id) = p.ns_po_id else {
                warn!("{}", p.message);
                continue;
            };
            let (receipt_id, kind, detail) = describe(p);
            let target = match &p.kind {
                ReceiptProblemKind::QuantityChangedAfterMirroring { item_id, .. } => links
                    .iter()
                    .find(|l| l.items.contains_key(item_id))
                    .map(|l| named(&l.external_id)),
                ReceiptProblemKind::ItemDeletedAfterMirroring { external_id, .. } => {
                    Some(named(external_id))
                }
                ReceiptProblemKind::ReceiptDeletedAfterMirroring { receipt_id } => {
                    let names: Vec<String> = links
                        .iter()
                        .filter(|l| l.key.ion_receipt_id == *receipt_id)
                        .map(|l| named(&l.external_id))
                        .collect();
                    (!names.is_empty()).then(|| names.join(", "))
                }
                _ => None,
            };
            let message = match target {
                Some(t) => format!("{} [fix by hand: {t}]", p.message),
                None => p.message.clone(),
            };
            fresh.entry(ns_po_id).or_default().push(Problem {
                subject: ProblemKind::receipt_subject(receipt_id, &detail),
                kind,
                message,
                first_seen: now,
                last_seen: now,
                attempts: 1,
            });
        }
        for (create, why) in rejected {
            fresh.entry(create.ns_po_id).or_default().push(Problem {
                kind: ProblemKind::ReceiptRejected {
                    receipt_id: create.receipt_id,
                },
                subject: ProblemKind::receipt_subject(create.receipt_id, &create.external_id),
                message: format!(
                    "NetSuite refused item receipt {} for ION receipt {}: {why}; retried every cycle",
                    create.external_id, create.receipt_id
                ),
                first_seen: now,
                last_seen: now,
                attempts: 1,
            });
        }

        let mut existing: BTreeMap<i64, PoProblems> = self
            .store
            .all_problems()?
            .into_iter()
            .map(|p| (p.ns_po_id, p))
            .collect();
        for po in fresh.keys() {
            existing.entry(*po).or_insert_with(|| PoProblems {
                ns_po_id: *po,
                tran_id: None,
                problems: Vec::new(),
            });
        }
        let mut open = 0;
        for (po, mut record) in existing {
            let before = record.problems.clone();
            let mut new_list: Vec<Problem> = Vec::new();
            for p in record.problems.drain(..) {
                let ours = p
                    .kind
                    .receipt()
                    .is_some_and(|r| planned_receipts.contains(&r));
                if !ours {
                    new_list.push(p);
                }
            }
            for mut p in fresh.remove(&po).unwrap_or_default() {
                match before
                    .iter()
                    .find(|b| b.kind == p.kind && b.subject == p.subject)
                {
                    Some(old) => {
                        p.first_seen = old.first_seen;
                        p.attempts = old.attempts.saturating_add(1);
                    }
                    None => warn!(ns_po = po, kind = %p.kind, "{}", p.message),
                }
                new_list.push(p);
            }
            open += new_list
                .iter()
                .filter(|p| p.kind.receipt().is_some())
                .count();
            if new_list != before {
                if record.tran_id.is_none() {
                    record.tran_id = self.store.po_link(po)?.map(|l| l.tran_id);
                }
                for p in before.iter().filter(|b| {
                    b.kind.receipt().is_some()
                        && !new_list
                            .iter()
                            .any(|n| n.kind == b.kind && n.subject == b.subject)
                }) {
                    info!(ns_po = po, kind = %p.kind, "receipt problem resolved: {}", p.subject);
                }
                record.problems = new_list;
                self.store.set_problems(&record)?;
            }
        }
        Ok(open)
    }
}

/// The receipt, the store's problem kind and what it is about.
fn describe(p: &ReceiptProblem) -> (i64, ProblemKind, String) {
    match &p.kind {
        ReceiptProblemKind::QuantityChangedAfterMirroring {
            receipt_id,
            item_id,
            ..
        } => (
            *receipt_id,
            ProblemKind::ReceiptEdited {
                receipt_id: *receipt_id,
            },
            format!("item {item_id}"),
        ),
        ReceiptProblemKind::ItemDeletedAfterMirroring {
            receipt_id,
            item_id,
            ..
        } => (
            *receipt_id,
            ProblemKind::ReceiptItemDeleted {
                receipt_id: *receipt_id,
            },
            format!("item {item_id}"),
        ),
        ReceiptProblemKind::ReceiptDeletedAfterMirroring { receipt_id } => (
            *receipt_id,
            ProblemKind::ReceiptDeleted {
                receipt_id: *receipt_id,
            },
            String::new(),
        ),
        ReceiptProblemKind::QuantityAboveExpected {
            receipt_id,
            ns_line_id,
            ..
        } => (
            *receipt_id,
            ProblemKind::ReceiptAboveExpected {
                receipt_id: *receipt_id,
            },
            format!("line {ns_line_id}"),
        ),
        ReceiptProblemKind::OpenLinesUnknown { receipt_id } => (
            *receipt_id,
            ProblemKind::ReceiptOpenLinesUnknown {
                receipt_id: *receipt_id,
            },
            String::new(),
        ),
    }
}

/// Whether a stored problem belongs to the receipts leg (which alone resolves it); the PO sync
/// keeps these when it records a PO's own problems.
pub fn is_receipt_problem(p: &Problem) -> bool {
    p.kind.leg() == Leg::Receipts
}
