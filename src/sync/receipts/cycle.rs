//! One receipts cycle: settle earlier intents, poll the keyset checkpoint, read touched and
//! watched receipts in full, gather the plan's inputs, plan, apply, and move the checkpoint.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::{debug, warn};

use super::{PAGE_SIZE, ReceiptSummary, ReceiptSync, ReceiptSyncError};
use crate::ion;
use crate::plan::receipts::{
    IonReceiptItem, ItemReceiptPlan, LinkedLine, MirroredItem, NsOpenLine, ReceiptInputs,
    ReceiptPlan, plan_receipts, pos_needing_open_lines,
};
use crate::store::{Checkpoint, Cursor, ProblemKind, ReceiptState, StoreError};

impl ReceiptSync {
    pub(super) async fn cycle(
        &self,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<ReceiptSummary, ReceiptSyncError> {
        let mut summary = ReceiptSummary::default();

        // 1. Settle earlier intents: every one is looked up before anything could re-send it.
        let links_before = self.store.receipt_links()?;
        let mut reread: BTreeSet<i64> = BTreeSet::new();
        let watch_from = chrono::TimeDelta::from_std(self.watch_window)
            .ok()
            .and_then(|w| now.checked_sub_signed(w))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        for link in &links_before {
            if link.recorded_at >= watch_from || link.state == ReceiptState::Intended {
                reread.insert(link.key.ion_receipt_id);
            }
        }
        for link in links_before
            .iter()
            .filter(|l| l.state == ReceiptState::Intended)
        {
            self.settle_intent(link, now, dry_run, &mut summary).await;
        }
        // Receipts with open problems are re-read (that is their retry), except that a receipt
        // NetSuite refused waits `retry_refused_after` between attempts.
        let mut held: BTreeSet<i64> = BTreeSet::new();
        let refused_wait =
            chrono::TimeDelta::from_std(self.retry_refused_after).unwrap_or(chrono::TimeDelta::MAX);
        for p in self.store.all_problems()?.iter().flat_map(|p| &p.problems) {
            let Some(receipt) = p.kind.receipt() else {
                continue;
            };
            if matches!(p.kind, ProblemKind::ReceiptRejected { .. })
                && now.signed_duration_since(p.last_seen) < refused_wait
            {
                held.insert(receipt);
            } else {
                reread.insert(receipt);
            }
        }

        // 2. Poll receipt items changed since the checkpoint, minus the overlap.
        let checkpoint = self.store.checkpoint(Checkpoint::IonReceiptItems)?;
        let start = match &checkpoint {
            Some(c) => rewind(c, self.overlap),
            None => ion::ReceiptCursor::start(),
        };
        let mut cursor = start.clone();
        let mut polled: Vec<ion::ReceiptItem> = Vec::new();
        loop {
            let page = self
                .ion
                .receipt_items_changed_since(&cursor, PAGE_SIZE)
                .await?;
            polled.extend(page.items);
            cursor = page.next;
            if !page.has_more {
                break;
            }
        }
        summary.items_polled = polled.len();
        reread.extend(polled.iter().map(|i| i.receipt_id));
        // A held receipt's changed items are passed by the checkpoint: its open problem is the
        // durable record, and it is read in full again once its retry is due.
        reread.retain(|r| {
            !held.contains(r)
                || links_before
                    .iter()
                    .any(|l| l.key.ion_receipt_id == *r && l.state == ReceiptState::Intended)
        });

        // 3. Read every touched or watched receipt in full: the plan needs each receipt's
        //    complete item set (a missing item was deleted).
        let receipt_ids: Vec<i64> = reread.iter().copied().collect();
        let current = if receipt_ids.is_empty() {
            Vec::new()
        } else {
            self.ion.receipt_items_of_receipts(&receipt_ids).await?
        };
        summary.receipts_planned = receipt_ids.len();

        // 4. Inputs of the plan.
        let links = self.store.receipt_links()?;
        let mut mirrored: BTreeMap<i64, MirroredItem> = BTreeMap::new();
        for l in &links {
            if !reread.contains(&l.key.ion_receipt_id) {
                continue;
            }
            for (item_id, quantity) in &l.items {
                mirrored.insert(
                    *item_id,
                    MirroredItem {
                        receipt_id: l.key.ion_receipt_id,
                        ns_po_id: l.key.ns_po_id,
                        quantity: *quantity,
                        external_id: l.external_id.clone(),
                    },
                );
            }
        }
        let mut items: Vec<IonReceiptItem> = Vec::new();
        let mut lines: BTreeMap<i64, LinkedLine> = BTreeMap::new();
        let mut present: BTreeSet<i64> = BTreeSet::new();
        for it in &current {
            let Some(item) = to_plan_item(it) else {
                warn!(
                    receipt_item = it.id,
                    receipt = it.receipt_id,
                    "ION receipt item with unreadable timestamps; left out"
                );
                continue;
            };
            present.insert(item.receipt_id);
            if let Some(line) = &it.purchase_order_line
                && let Some(linked) = self.linked_line(line)?
            {
                lines.insert(line.id, linked);
            }
            items.push(item);
        }
        let deleted_receipts: BTreeSet<i64> = links
            .iter()
            .map(|l| l.key.ion_receipt_id)
            .filter(|r| reread.contains(r) && !present.contains(r))
            .collect();

        let need = pos_needing_open_lines(&items, &lines, &mirrored);
        let mut open_lines: BTreeMap<i64, Vec<NsOpenLine>> = BTreeMap::new();
        if !need.is_empty() {
            let ids: Vec<i64> = need.iter().copied().collect();
            for po in &ids {
                open_lines.insert(*po, Vec::new());
            }
            for l in self.netsuite.po_lines(&ids, &[]).await? {
                let remaining =
                    l.quantity.unwrap_or(0.0).abs() - l.quantity_received.unwrap_or(0.0).abs();
                if !l.is_closed && remaining > 0.0 {
                    open_lines.entry(l.po_id).or_default().push(NsOpenLine {
                        line_id: l.line_id,
                        remaining,
                    });
                }
            }
        }

        // 5. Plan.
        let plan = plan_receipts(&ReceiptInputs {
            items: &items,
            lines: &lines,
            mirrored: &mirrored,
            open_lines: &open_lines,
            deleted_receipts: &deleted_receipts,
            settle: self.settle,
            now,
            tz: self.tz,
        });
        for s in &plan.skipped {
            debug!(
                receipt = s.receipt_id,
                receipt_item = s.item_id,
                reason = ?s.reason,
                "receipt item skipped"
            );
        }
        for u in &plan.unsettled {
            debug!(receipt = u.receipt_id, ready_at = %u.ready_at, "receipt not settled yet");
        }
        summary.skipped = plan.skipped.len();
        summary.unsettled = plan.unsettled.len();

        // 6. Apply.
        let mut rejected: Vec<(ItemReceiptPlan, String)> = Vec::new();
        if dry_run {
            summary.planned = plan.creates.clone();
        } else {
            for create in &plan.creates {
                if let Some(why) = self.apply(create, now, &mut summary).await {
                    rejected.push((create.clone(), why));
                }
            }
        }

        // 7. Problems (replacing those of the receipts planned this cycle) and the checkpoint.
        if !dry_run {
            let links = self.store.receipt_links()?;
            summary.problems = self.record_problems(&plan, &rejected, &links, &reread, now)?;
            let next = next_checkpoint(&polled, &plan, &cursor, &start)
                .filter(|_| !summary.unrecorded)
                .filter(|n| {
                    checkpoint
                        .as_ref()
                        .is_none_or(|c| position(&n.updated, n.id) > position(&c.at, c.id))
                });
            if let Some(next) = next {
                self.store.set_checkpoint(
                    Checkpoint::IonReceiptItems,
                    &Cursor {
                        at: next.updated,
                        id: next.id,
                    },
                )?;
            }
        } else {
            summary.problems = plan.problems.len();
        }
        summary.pending = self
            .store
            .receipt_links()?
            .iter()
            .filter(|l| l.state == ReceiptState::Intended)
            .count();
        Ok(summary)
    }

    /// The link table's view of an ION PO line: its NetSuite PO (from the PO link) and line
    /// (the link's line map, else the line's `ns_line_id` attribute). `None`: not a synced PO.
    fn linked_line(&self, line: &ion::ReceiptLine) -> Result<Option<LinkedLine>, StoreError> {
        let Some(po) = self.store.po_link_by_ion(line.purchase_order_id)? else {
            debug!(
                ion_po = line.purchase_order_id,
                ion_line = line.id,
                "receipt on a PO that is not synced from NetSuite"
            );
            return Ok(None);
        };
        let ns_line_id = po
            .line_map
            .iter()
            .find(|(_, ion)| **ion == line.id)
            .map(|(ns, _)| *ns)
            .or_else(|| line.ns_line_id());
        let Some(ns_line_id) = ns_line_id else {
            debug!(
                tran_id = %po.tran_id,
                ion_po = po.ion_po_id,
                ion_line = line.id,
                "receipt on an ION line that has no NetSuite line"
            );
            return Ok(None);
        };
        let non_receivable = line
            .attributes
            .iter()
            .find(|a| a.key == ion::attributes::NON_RECEIVABLE)
            .is_some_and(|a| match &a.value {
                serde_json::Value::Bool(b) => *b,
                serde_json::Value::String(s) => s.eq_ignore_ascii_case("true"),
                _ => false,
            });
        Ok(Some(LinkedLine {
            ns_po_id: po.ns_po_id,
            ns_line_id,
            non_receivable,
        }))
    }
}

/// The stored checkpoint rewound by the overlap (id 0: every item at that instant is re-read).
fn rewind(c: &Cursor, overlap: Duration) -> ion::ReceiptCursor {
    let overlap = chrono::TimeDelta::from_std(overlap).unwrap_or(chrono::TimeDelta::zero());
    match DateTime::parse_from_rfc3339(&c.at)
        .ok()
        .and_then(|t| t.with_timezone(&Utc).checked_sub_signed(overlap))
    {
        Some(t) => ion::ReceiptCursor {
            updated: t.to_rfc3339_opts(chrono::SecondsFormat::Micros, false),
            id: 0,
        },
        // Not a timestamp we can do arithmetic on: start exactly at the checkpoint.
        None => ion::ReceiptCursor {
            updated: c.at.clone(),
            id: c.id,
        },
    }
}

/// A keyset position, for "never move the checkpoint backwards".
fn position(at: &str, id: i64) -> (Option<DateTime<Utc>>, i64) {
    (parse_time(at), id)
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// ION's item → the planner's item; "quiet since" is the later of the item's and its
/// receipt's `_updated` (deleting a sibling touches only the receipt).
fn to_plan_item(it: &ion::ReceiptItem) -> Option<IonReceiptItem> {
    let header = it.receipt.as_ref()?;
    let received_at = parse_time(&header.received_at)?;
    let mut updated = parse_time(&it.updated)?;
    if let Some(r) = header.updated.as_deref().and_then(parse_time) {
        updated = updated.max(r);
    }
    Some(IonReceiptItem {
        id: it.id,
        receipt_id: it.receipt_id,
        received_at,
        updated,
        quantity: it.quantity,
        po_line_id: it.purchase_order_line_id,
    })
}

/// Where the checkpoint goes after this cycle: the end of what was read, held back to just
/// before the earliest changed item of a receipt still settling. `None`: leave it.
fn next_checkpoint(
    polled: &[ion::ReceiptItem],
    plan: &ReceiptPlan,
    end: &ion::ReceiptCursor,
    start: &ion::ReceiptCursor,
) -> Option<ion::ReceiptCursor> {
    let unsettled: BTreeSet<i64> = plan.unsettled.iter().map(|u| u.receipt_id).collect();
    let earliest = polled
        .iter()
        .filter(|i| unsettled.contains(&i.receipt_id))
        .filter_map(|i| parse_time(&i.updated).map(|t| (t, i.id, i)))
        .min_by_key(|(t, id, _)| (*t, *id));
    match earliest {
        Some((_, _, item)) => Some(ion::ReceiptCursor {
            updated: item.updated.clone(),
            id: item.id.saturating_sub(1),
        }),
        None if polled.is_empty() && end == start => None,
        None => Some(end.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::receipts::Unsettled;

    fn item(id: i64, receipt_id: i64, updated: &str) -> ion::ReceiptItem {
        ion::ReceiptItem {
            id,
            etag: String::new(),
            updated: updated.into(),
            quantity: 1.0,
            receipt_id,
            receipt: None,
            purchase_order_line_id: Some(1),
            purchase_order_line: None,
            part_inventory_id: None,
            part_inventory: None,
        }
    }

    fn cursor(updated: &str, id: i64) -> ion::ReceiptCursor {
        ion::ReceiptCursor {
            updated: updated.into(),
            id,
        }
    }

    const T1: &str = "2026-01-15T18:00:00.000000+00:00";
    const T2: &str = "2026-01-15T18:00:30.000000+00:00";

    #[test]
    fn rewind_subtracts_the_overlap_and_restarts_the_tie_break() {
        let c = Cursor {
            at: T2.into(),
            id: 99,
        };
        let r = rewind(&c, Duration::from_secs(30));
        assert_eq!(r.updated, T1);
        assert_eq!(r.id, 0);
        let odd = Cursor {
            at: "not a time".into(),
            id: 5,
        };
        assert_eq!(
            rewind(&odd, Duration::from_secs(30)),
            cursor("not a time", 5)
        );
    }

    #[test]
    fn an_unsettled_receipt_holds_the_checkpoint_before_its_first_changed_item() {
        let polled = [item(10, 1, T1), item(11, 2, T1), item(12, 2, T2)];
        let end = cursor(T2, 12);
        let start = cursor(T1, 0);
        let settled = ReceiptPlan::default();
        assert_eq!(
            next_checkpoint(&polled, &settled, &end, &start),
            Some(end.clone())
        );
        let waiting = ReceiptPlan {
            unsettled: vec![Unsettled {
                receipt_id: 2,
                ready_at: DateTime::<Utc>::MAX_UTC,
            }],
            ..Default::default()
        };
        assert_eq!(
            next_checkpoint(&polled, &waiting, &end, &start),
            Some(cursor(T1, 10)),
            "strictly after (T1, 10) still includes item 11"
        );
        assert_eq!(next_checkpoint(&[], &settled, &start, &start), None);
    }
}
