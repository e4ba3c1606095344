//! Creating an itemReceipt exactly once: the durable intent, the single transform, the
//! outcome recorded, and the `externalId` lookup whenever the outcome is unknown.

use chrono::{DateTime, Utc};
use tracing::{debug, info, warn};

use super::{CreatedReceipt, ReceiptSummary, ReceiptSync};
use crate::netsuite;
use crate::plan::receipts::{ItemReceiptPlan, batch_of, external_id_base};
use crate::store::{ReceiptKey, ReceiptLink, ReceiptState, StoreError};

impl ReceiptSync {
    /// Looks an unconfirmed intent up in NetSuite: found → `Created`; absent for longer than
    /// the grace → forgotten (its items are planned again); otherwise left for the next cycle.
    pub(super) async fn settle_intent(
        &self,
        link: &ReceiptLink,
        now: DateTime<Utc>,
        dry_run: bool,
        summary: &mut ReceiptSummary,
    ) {
        match self
            .netsuite
            .item_receipt_by_external_id(&link.external_id)
            .await
        {
            Ok(Some(id)) => {
                info!(
                    external_id = %link.external_id,
                    ns_po = link.key.ns_po_id,
                    item_receipt = id,
                    "earlier item receipt attempt found in NetSuite"
                );
                if !dry_run && let Err(e) = self.record_created(link, id) {
                    summary.failures.push(format!("{}: {e}", link.external_id));
                    return;
                }
                summary.recovered.push(CreatedReceipt {
                    external_id: link.external_id.clone(),
                    ns_po_id: link.key.ns_po_id,
                    item_receipt_id: id,
                });
            }
            Ok(None) => {
                let grace = chrono::TimeDelta::from_std(self.resend_grace)
                    .unwrap_or(chrono::TimeDelta::MAX);
                if now - link.recorded_at < grace {
                    debug!(
                        external_id = %link.external_id,
                        "unconfirmed item receipt not in NetSuite yet; looked up again next cycle"
                    );
                    return;
                }
                warn!(
                    external_id = %link.external_id,
                    ns_po = link.key.ns_po_id,
                    receipt = link.key.ion_receipt_id,
                    "item receipt attempt never reached NetSuite; its items will be sent again"
                );
                if !dry_run && let Err(e) = self.store.remove_receipt_link(&link.key) {
                    summary.failures.push(format!("{}: {e}", link.external_id));
                    return;
                }
                summary.voided += 1;
            }
            Err(e) => {
                warn!(external_id = %link.external_id, error = %e, "item receipt lookup failed");
                summary
                    .failures
                    .push(format!("lookup of {}: {e}", link.external_id));
            }
        }
    }

    fn record_created(&self, link: &ReceiptLink, item_receipt_id: i64) -> Result<(), StoreError> {
        self.store.put_receipt_link(&ReceiptLink {
            state: ReceiptState::Created { item_receipt_id },
            ..link.clone()
        })
    }

    /// Intent, transform, outcome. Returns why NetSuite refused, when it definitely did (the
    /// intent is then removed and the refusal becomes an open problem).
    pub(super) async fn apply(
        &self,
        plan: &ItemReceiptPlan,
        now: DateTime<Utc>,
        summary: &mut ReceiptSummary,
    ) -> Option<String> {
        let tran_id = self
            .store
            .po_link(plan.ns_po_id)
            .ok()
            .flatten()
            .map(|l| l.tran_id)
            .unwrap_or_default();
        let base = external_id_base(plan.receipt_id, plan.ns_po_id);
        // The planner made the externalId from this base, so it always names a batch.
        let batch = batch_of(&plan.external_id, &base).unwrap_or(1);
        let link = ReceiptLink {
            key: ReceiptKey {
                ion_receipt_id: plan.receipt_id,
                ns_po_id: plan.ns_po_id,
                batch,
            },
            external_id: plan.external_id.clone(),
            state: ReceiptState::Intended,
            items: plan.items.iter().map(|i| (i.item_id, i.quantity)).collect(),
            recorded_at: now,
        };
        if let Err(e) = self.store.put_receipt_link(&link) {
            summary
                .failures
                .push(format!("{}: intent not recorded: {e}", plan.external_id));
            summary.unrecorded = true;
            return None;
        }
        let request = netsuite::ItemReceiptRequest {
            external_id: plan.external_id.clone(),
            tran_date: plan.tran_date.to_string(),
            memo: plan.memo.clone(),
            lines: plan
                .lines
                .iter()
                .map(|l| netsuite::ItemReceiptLine {
                    order_line: l.order_line,
                    item_receive: l.item_receive,
                    quantity: l.quantity,
                })
                .collect(),
        };
        let outcome = self
            .netsuite
            .create_item_receipt(plan.ns_po_id, &request)
            .await;
        let mut found_by_lookup = false;
        let id = match outcome {
            Ok(id) => id,
            Err(e) => {
                // Whatever failed, NetSuite may hold the record (an ambiguous outcome, or a
                // refusal because the externalId exists): look before deciding.
                let ambiguous = matches!(e, netsuite::Error::OutcomeUnknown { .. });
                match self
                    .netsuite
                    .item_receipt_by_external_id(&plan.external_id)
                    .await
                {
                    Ok(Some(id)) => {
                        found_by_lookup = true;
                        id
                    }
                    Ok(None) if !ambiguous => {
                        warn!(
                            external_id = %plan.external_id,
                            tran_id = %tran_id,
                            ns_po = plan.ns_po_id,
                            receipt = plan.receipt_id,
                            error = %e,
                            "NetSuite refused the item receipt"
                        );
                        if let Err(se) = self.store.remove_receipt_link(&link.key) {
                            summary.failures.push(format!("{}: {se}", plan.external_id));
                        }
                        return Some(e.to_string());
                    }
                    Ok(None) | Err(_) => {
                        warn!(
                            external_id = %plan.external_id,
                            tran_id = %tran_id,
                            error = %e,
                            "item receipt outcome unknown; the intent stays and is looked up \
                             before anything is sent again"
                        );
                        summary
                            .failures
                            .push(format!("{}: outcome unknown: {e}", plan.external_id));
                        return None;
                    }
                }
            }
        };
        if let Err(e) = self.record_created(&link, id) {
            summary.failures.push(format!(
                "{} created as {id} but not recorded (found again by lookup): {e}",
                plan.external_id
            ));
            return None;
        }
        info!(
            external_id = %plan.external_id,
            tran_id = %tran_id,
            ns_po = plan.ns_po_id,
            receipt = plan.receipt_id,
            item_receipt = id,
            lines = plan.items.len(),
            "item receipt created in NetSuite"
        );
        let done = CreatedReceipt {
            external_id: plan.external_id.clone(),
            ns_po_id: plan.ns_po_id,
            item_receipt_id: id,
        };
        if found_by_lookup {
            summary.recovered.push(done);
        } else {
            summary.created.push(done);
        }
        None
    }
}
