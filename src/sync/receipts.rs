//! The receiving leg, ION → NetSuite (SPEC §3.2, §4; issue #6): poll ION receipt items, plan
//! with [`crate::plan::receipts`], create NetSuite item receipts exactly once, record the outcome.
//!
//! # The exactly-once protocol
//! A synchronous transform has no idempotency (netsuite.md §7.4), so a create is made safe by
//! the store and a natural key, never by re-sending:
//! 1. Before the transform, the intent — `externalId` and the ION items it mirrors — is written
//!    as a [`ReceiptLink`] in state `Intended` and flushed.
//! 2. The transform is sent once. Success records `Created{item_receipt_id}`. Any failure is
//!    followed by a SuiteQL lookup of the `externalId`: found means it was created after all.
//! 3. An intent whose outcome is still unknown stays `Intended`; its items count as mirrored, so
//!    nothing re-sends them. Every later cycle looks the `externalId` up again, and only when it
//!    is still absent [`ReceiptSync::resend_grace`] after the attempt is the intent forgotten and
//!    the items planned again (under the same `externalId` when nothing else changed). The grace
//!    covers a request NetSuite is still working on after our client gave up on it.
//!
//! A crash at any instant therefore leaves either no intent (nothing sent), an intent (looked
//! up before anything is re-sent), or a `Created` link.
//!
//! # The checkpoint
//! `Checkpoint::IonReceiptItems` is an `(_updated, id)` keyset position. Each cycle reads from
//! it minus `overlap` (ION's clock and commit order are not ours). It moves to the last item
//! read, except that a receipt still inside its settle delay holds it back to just before that
//! receipt's earliest changed item: the alternative — passing the items and remembering parked
//! receipts in the store — would need a new table for a state that lasts a minute. The cost is
//! re-reading the items after a receipt that is being filled in, for the settle delay.
//! Everything else the cursor passes is either mirrored, durably intended, skipped for good
//! (not a receivable line of a synced PO), or recorded as an open problem that names its
//! receipt, and receipts with open problems are re-read every cycle (that is the retry; one
//! NetSuite refused is retried every [`ReceiptSync::retry_refused_after`] instead).
//!
//! # Changes after mirroring
//! Deletions leave nothing for the keyset poll to find, so the receipts mirrored within
//! [`ReceiptSync::watch_window`] (and every receipt with an open problem) are re-read in full
//! each cycle, in batches of 50 per request. An edit or deletion becomes a warning and an open
//! problem naming the NetSuite itemReceipt; posted NetSuite records are never changed.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use tracing::{debug, info, warn};

use crate::ion;
use crate::netsuite;
use crate::plan::receipts::{
    IonReceiptItem, ItemReceiptPlan, LinkedLine, MirroredItem, NsOpenLine, ReceiptInputs,
    ReceiptPlan, ReceiptProblem, ReceiptProblemKind, external_id_base, plan_receipts,
    pos_needing_open_lines,
};
use crate::store::{
    Checkpoint, Cursor, CycleReport, PoProblems, Problem, ReceiptKey, ReceiptLink, ReceiptState,
    Store, StoreError,
};

/// The loop name in `status` and in cycle reports.
pub const LOOP_NAME: &str = "ion_receipts";

/// Problem kind of an itemReceipt NetSuite refused (retried every `retry_refused_after`).
const REFUSED: &str = "receipt_rejected";

/// Receipt items per page of the keyset poll.
const PAGE_SIZE: usize = 200;

/// What can end a receipts cycle early. Per-receipt failures do not: they become open problems
/// or stay as intents, and the cycle goes on.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptSyncError {
    #[error("ION: {0}")]
    Ion(#[from] ion::Error),
    #[error("NetSuite: {0}")]
    NetSuite(#[from] netsuite::Error),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// One itemReceipt created (or found created) this cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedReceipt {
    pub external_id: String,
    pub ns_po_id: i64,
    pub item_receipt_id: i64,
}

/// What one cycle did; its `Display` is the cycle report's summary line.
#[derive(Debug, Clone, Default)]
pub struct ReceiptSummary {
    /// Receipt items the keyset poll returned.
    pub items_polled: usize,
    /// Receipts read in full and planned.
    pub receipts_planned: usize,
    /// Item receipts created by this cycle's transforms.
    pub created: Vec<CreatedReceipt>,
    /// Item receipts found in NetSuite by their `externalId` after an attempt whose outcome
    /// was unknown (this cycle's, or an earlier intent's): the attempt did land.
    pub recovered: Vec<CreatedReceipt>,
    /// Intents still unconfirmed at the end of the cycle (looked up again next cycle).
    pub pending: usize,
    /// Intents forgotten because NetSuite never got them (their items were planned again).
    pub voided: usize,
    /// Receipts still inside the settle delay.
    pub unsettled: usize,
    /// Items skipped (already mirrored, non-receivable, not a synced PO's line, …).
    pub skipped: usize,
    /// Open receipt problems after this cycle (new and continuing).
    pub problems: usize,
    /// With `dry_run`: the item receipts a real cycle would create.
    pub planned: Vec<ItemReceiptPlan>,
    /// Failures that did not stop the cycle (each logged with its cause).
    pub failures: Vec<String>,
    /// Some planned itemReceipt has neither an intent nor an outcome in the store: the
    /// checkpoint must not pass its items.
    unrecorded: bool,
}

impl ReceiptSummary {
    /// Whether the cycle counts as successful for `once`'s exit code and `status`.
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }
}

impl std::fmt::Display for ReceiptSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} items polled, {} receipts planned, {} item receipts created, {} recovered, \
             {} pending, {} unsettled, {} skipped, {} open problems",
            self.items_polled,
            self.receipts_planned,
            self.created.len(),
            self.recovered.len(),
            self.pending,
            self.unsettled,
            self.skipped,
            self.problems
        )?;
        if !self.planned.is_empty() {
            write!(f, ", {} planned (dry run)", self.planned.len())?;
        }
        if !self.failures.is_empty() {
            write!(
                f,
                ", {} failed: {}",
                self.failures.len(),
                self.failures.join("; ")
            )?;
        }
        Ok(())
    }
}

/// The receipts engine: both clients, the store and the receiving settings. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ReceiptSync {
    pub netsuite: netsuite::Client,
    pub ion: ion::Client,
    pub store: Store,
    /// A receipt is mirrored once none of its items changed for this long (`schedule.receipt_settle`).
    pub settle: Duration,
    /// How far before the checkpoint each poll starts (`schedule.overlap`).
    pub overlap: Duration,
    /// The NetSuite account's time zone: `tranDate` is `receivedAt`'s date there. There is no
    /// config key for it yet, so it defaults to UTC.
    pub tz: Tz,
    /// How long an unconfirmed intent must stay absent from NetSuite before it is forgotten and
    /// its items planned again: long enough for a request NetSuite was still running when our
    /// client timed out to have finished (several request timeouts).
    pub resend_grace: Duration,
    /// How long a receipt NetSuite refused waits before it is tried again (default 15 min): the
    /// refusal is an open problem meanwhile, and NetSuite's account-wide request budget is not
    /// spent on a request that fails the same way every minute.
    pub retry_refused_after: Duration,
    /// Receipts mirrored within this window (default 3 days) are re-read in full every cycle,
    /// because a deletion in ION leaves nothing to poll. It costs one ION request per 50 such
    /// receipts per cycle; a deletion older than the window goes unnoticed.
    pub watch_window: Duration,
}

impl ReceiptSync {
    /// The engine with the SPEC's defaults for everything but the clients and the store.
    pub fn new(netsuite: netsuite::Client, ion: ion::Client, store: Store) -> Self {
        Self {
            netsuite,
            ion,
            store,
            settle: Duration::from_secs(60),
            overlap: Duration::from_secs(600),
            tz: chrono_tz::UTC,
            resend_grace: Duration::from_secs(600),
            watch_window: Duration::from_secs(3 * 24 * 3600),
            retry_refused_after: Duration::from_secs(15 * 60),
        }
    }

    /// The engine on the PO sync's [`super::Context`] (same clients, same store, same overlap),
    /// so `once` and the daemon build the clients once for both directions.
    pub fn from_context(ctx: &super::Context) -> Self {
        let mut s = Self::new(ctx.netsuite.clone(), ctx.ion.clone(), (*ctx.store).clone());
        s.overlap = ctx.settings.overlap;
        s
    }

    /// Takes `receipt_settle` and `overlap` from the validated configuration.
    pub fn with_schedule(mut self, schedule: &crate::config::ScheduleConfig) -> Self {
        self.settle = schedule.receipt_settle;
        self.overlap = schedule.overlap;
        self
    }

    /// One receipts cycle at time `now`, then a cycle report and a fresh status snapshot.
    /// With `dry_run` nothing is written anywhere (NetSuite, store, snapshot): the summary's
    /// `planned` lists what a real cycle would create.
    pub async fn receipts_cycle(
        &self,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<ReceiptSummary, ReceiptSyncError> {
        let started = Utc::now();
        let result = self.cycle(now, dry_run).await;
        if !dry_run {
            let (ok, summary) = match &result {
                Ok(s) => (s.ok(), s.to_string()),
                Err(e) => (false, format!("cycle failed: {e}")),
            };
            let report = CycleReport {
                loop_name: LOOP_NAME.into(),
                started,
                finished: Utc::now(),
                ok,
                summary,
            };
            if let Err(e) = self.store.record_cycle(&report) {
                warn!(error = %e, "could not record the receipts cycle report");
            }
        }
        match &result {
            Ok(s) => info!(loop_name = LOOP_NAME, dry_run, "{s}"),
            Err(e) => warn!(loop_name = LOOP_NAME, error = %e, "receipts cycle failed"),
        }
        result
    }

    async fn cycle(
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
            let Some(receipt) = problem_receipt(p) else {
                continue;
            };
            if p.kind == REFUSED && now.signed_duration_since(p.last_seen) < refused_wait {
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

    /// Looks an unconfirmed intent up in NetSuite: found → `Created`; absent for longer than
    /// the grace → forgotten (its items are planned again); otherwise left for the next cycle.
    async fn settle_intent(
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
    async fn apply(
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
        let batch = batch_number(&plan.external_id, &base);
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

    /// Writes this cycle's receipt problems: for every receipt planned this cycle, its old
    /// receipt problems are replaced by the current ones (so a fixed one resolves itself);
    /// problems of other kinds and of other receipts are kept. Warns for each new problem.
    /// Returns the number of open receipt problems.
    fn record_problems(
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
                kind: kind.into(),
                subject: format!("ion receipt {receipt_id} {detail}"),
                message,
                first_seen: now,
                last_seen: now,
                attempts: 1,
            });
        }
        for (create, why) in rejected {
            fresh.entry(create.ns_po_id).or_default().push(Problem {
                kind: REFUSED.into(),
                subject: format!("ion receipt {} {}", create.receipt_id, create.external_id),
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
                let ours = problem_receipt(&p).is_some_and(|r| planned_receipts.contains(&r));
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
                .filter(|p| problem_receipt(p).is_some())
                .count();
            if new_list != before {
                if record.tran_id.is_none() {
                    record.tran_id = self.store.po_link(po)?.map(|l| l.tran_id);
                }
                for p in before.iter().filter(|b| {
                    problem_receipt(b).is_some()
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

/// `(receipt id, problem kind, what it is about)` for the store's problem record.
fn describe(p: &ReceiptProblem) -> (i64, &'static str, String) {
    match &p.kind {
        ReceiptProblemKind::QuantityChangedAfterMirroring {
            receipt_id,
            item_id,
            ..
        } => (*receipt_id, "receipt_edited", format!("item {item_id}")),
        ReceiptProblemKind::ItemDeletedAfterMirroring {
            receipt_id,
            item_id,
            ..
        } => (
            *receipt_id,
            "receipt_item_deleted",
            format!("item {item_id}"),
        ),
        ReceiptProblemKind::ReceiptDeletedAfterMirroring { receipt_id } => {
            (*receipt_id, "receipt_deleted", String::new())
        }
        ReceiptProblemKind::QuantityAboveExpected {
            receipt_id,
            ns_line_id,
            ..
        } => (
            *receipt_id,
            "receipt_above_expected",
            format!("line {ns_line_id}"),
        ),
        ReceiptProblemKind::OpenLinesUnknown { receipt_id } => {
            (*receipt_id, "receipt_open_lines_unknown", String::new())
        }
    }
}

/// Whether a stored problem belongs to the receipts leg (which alone resolves it); the PO sync
/// keeps these when it records a PO's own problems.
pub fn is_receipt_problem(p: &Problem) -> bool {
    p.kind.starts_with("receipt_")
}

/// The ION receipt a stored problem is about, for receipt problems (subject
/// `ion receipt <id> …`); `None` for problems of the PO sync.
fn problem_receipt(p: &Problem) -> Option<i64> {
    if !is_receipt_problem(p) {
        return None;
    }
    p.subject
        .strip_prefix("ion receipt ")?
        .split(' ')
        .next()?
        .parse()
        .ok()
}

/// `base` → 1, `base-n` → n (as the planner numbers batches).
fn batch_number(external_id: &str, base: &str) -> u32 {
    external_id
        .strip_prefix(base)
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
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
    fn batch_numbers_follow_the_planner() {
        assert_eq!(batch_number("ion-receipt-7-9", "ion-receipt-7-9"), 1);
        assert_eq!(batch_number("ion-receipt-7-9-3", "ion-receipt-7-9"), 3);
    }

    #[test]
    fn only_receipt_problems_name_a_receipt() {
        let p = |kind: &str, subject: &str| Problem {
            kind: kind.into(),
            subject: subject.into(),
            message: String::new(),
            first_seen: DateTime::<Utc>::MIN_UTC,
            last_seen: DateTime::<Utc>::MIN_UTC,
            attempts: 1,
        };
        assert_eq!(
            problem_receipt(&p("receipt_edited", "ion receipt 42 item 7")),
            Some(42)
        );
        assert_eq!(
            problem_receipt(&p("receipt_deleted", "ion receipt 42 ")),
            Some(42)
        );
        assert_eq!(problem_receipt(&p("missing_part", "ion receipt 42")), None);
    }

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
