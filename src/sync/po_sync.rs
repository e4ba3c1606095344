//! The NetSuite → ION purchase-order cycle (issue #5): poll, plan, apply, record.
//!
//! # Invariants
//! - **A checkpoint never passes an unapplied record.** Every PO of a header page is applied,
//!   found unchanged, or durably parked as an open problem (one [`Store::commit_po`] each)
//!   before the page's last cursor is written.
//! - **Every ION PO create is findable by its natural key.** Before planning, the page's POs are
//!   looked up in ION by `Netsuite RecordID` (one batched query), whatever the link table says;
//!   the planner matches lines by `ns_line_id`. A crash between "created in ION" and "recorded
//!   in the store" therefore converges to the same single PO.
//! - **One bad PO never stops the others.** Its failure becomes an open problem (with the
//!   tranId and the ION PO id) that is retried with a bounded backoff on later cycles.
//! - A PO whose content hash equals the last applied one and that has no open problem costs
//!   no ION call.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tracing::{debug, info, warn};

use super::apply::{self, Applied, ApplyError};
use super::context::Context;
use super::ion_read::{pick, state_of};
use super::netsuite_read::{ReadCache, ReadPo, read_items, read_lines};
use super::receipts::is_receipt_problem;
use crate::ion::{self, IonPurchaseOrder};
use crate::netsuite::suiteql::MAX_LIMIT;
use crate::netsuite::{DeletedCursor, DeletedPage, PoCursor, PoHeader};
use crate::plan::hash::content_hash;
use crate::plan::model::{NsPurchaseOrder, PoLink, Resolved, SupplierLookup};
use crate::plan::po::{self, NoteLevel, PoPlan, ProblemKind};
use crate::store::{
    Checkpoint, Cursor, CycleReport, PoCommit, PoProblems, Problem, Store, VendorLink,
};

/// The loop name under which cycles are reported in `status`.
pub const LOOP_NAME: &str = "netsuite_purchase_orders";

/// The [`CycleReport`] name of the scheduled full reconciliation ([`Engine::reconcile_all`]).
pub const RECONCILE_LOOP_NAME: &str = "full_reconcile";
/// Store problem kind of a PO whose apply failed (retried with backoff).
pub const APPLY_FAILED: &str = "apply_failed";
/// Extra re-read behind the checkpoint, on top of the configured overlap, because the cursor is
/// NetSuite's local wall-clock text (SPEC §4, reference §3.7.4): at spring-forward, `checkpoint −
/// overlap` can land in the skipped hour, which NetSuite reads as the hour *after* it — past
/// the checkpoint — and edits in between would never be read; at fall-back, the repeated hour
/// makes newer edits render as older text. Re-reading one more hour covers both (DST shifts
/// are one hour in every zone NetSuite offers but Lord Howe's 30 minutes). The cost is
/// re-reading an hour of changed headers per cycle, which the content hash turns into no ION
/// call; `tests/sync_dst.rs` fails without it.
pub(crate) const DST_GUARD: std::time::Duration = std::time::Duration::from_secs(3600);
/// Longest wait between retries of a failing PO.
const MAX_BACKOFF: std::time::Duration = std::time::Duration::from_secs(3600);

/// How a cycle runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct CycleOptions {
    /// Plan and report, change nothing (no ION write, no store write).
    pub dry_run: bool,
}

/// What one cycle (or a resync) did.
#[derive(Debug, Clone, Default)]
pub struct CycleSummary {
    /// POs read from NetSuite (changed since the checkpoint, plus POs with open problems).
    pub seen: usize,
    /// Same content hash as last applied and no open problem: no ION call.
    pub unchanged: usize,
    /// Applied (or nothing to do) and recorded.
    pub applied: usize,
    /// Failed and parked as an open problem, to be retried.
    pub failed: usize,
    /// Failing POs whose retry is not due yet.
    pub deferred: usize,
    /// NetSuite deletions handled.
    pub deleted: usize,
    /// Open problems (warnings) the plans carry, e.g. missing parts.
    pub problems: usize,
    /// Dry run: every plan, in the order made.
    pub plans: Vec<PoPlan>,
}

impl CycleSummary {
    /// Adds another summary's counts and plans to this one.
    pub fn absorb(&mut self, other: CycleSummary) {
        self.absorb_counts(&other);
        self.plans.extend(other.plans);
    }

    /// Adds another summary's counts to this one (its plans stay where they are).
    pub fn absorb_counts(&mut self, other: &CycleSummary) {
        self.seen += other.seen;
        self.unchanged += other.unchanged;
        self.applied += other.applied;
        self.failed += other.failed;
        self.deferred += other.deferred;
        self.deleted += other.deleted;
        self.problems += other.problems;
    }
}

impl std::fmt::Display for CycleSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} POs read, {} unchanged, {} applied, {} failed, {} deferred, {} deletions, {} open problems",
            self.seen,
            self.unchanged,
            self.applied,
            self.failed,
            self.deferred,
            self.deleted,
            self.problems
        )
    }
}

/// Outcome of one PO, merged into the summary.
pub(super) enum Outcome {
    Applied {
        problems: usize,
        plan: Option<PoPlan>,
    },
    Failed,
}

/// New POs created per batched create: 25 POs of 10 lines are 1 header request, 5 line
/// requests and 1 status request (0.28 per PO), and enough groups run at once to fill ION's cap.
const CREATE_GROUP: usize = 25;

/// A new PO planned as a plain create, waiting for its group.
pub(super) struct Prepared {
    w: Work,
    resolved: Resolved,
    plan: PoPlan,
    new: crate::ion::NewPurchaseOrder,
}

/// What one apply task does.
pub(super) enum Job {
    One(Box<(Work, Vec<IonPurchaseOrder>, Resolved)>),
    Group(Vec<Prepared>),
}

/// A chunk read and planned by [`Engine::stage`], waiting to be applied.
#[derive(Default)]
pub(super) struct Staged {
    pub(super) jobs: Vec<Job>,
}

/// What earlier chunks of the same cycle already read: NetSuite vendors and items, and ION parts
/// by number (found or not). Splitting a page into chunks then costs no extra lookups. Chunks
/// may be staged side by side; each half is locked for its whole read, so two chunks never ask
/// for the same vendor, item or part.
#[derive(Default)]
pub(super) struct StageCache {
    reads: tokio::sync::Mutex<ReadCache>,
    parts: tokio::sync::Mutex<BTreeMap<String, Vec<ion::parts::Part>>>,
}

/// One PO's work item: NetSuite's data, the link row, the stored problems.
pub(super) struct Work {
    read: ReadPo,
    link: Option<PoLink>,
    problems: Option<PoProblems>,
}

/// Where a cycle reads the deletions feed from.
struct DeletionsStart {
    /// The deletions' checkpoint: it only moves past it.
    high: Option<DeletedCursor>,
    /// That checkpoint rewound by the overlap window: where reading starts.
    cursor: DeletedCursor,
}

/// The PO sync engine: the library API the daemon, `once`, `resync` and the tests call.
/// Cheap to clone (the context is shared): the pipeline hands each apply job its own clone, so
/// jobs run as tasks of their own, on every worker thread.
#[derive(Debug, Clone)]
pub struct Engine {
    ctx: Arc<Context>,
}

impl Engine {
    pub fn new(ctx: Context) -> Engine {
        Engine { ctx: Arc::new(ctx) }
    }

    pub fn context(&self) -> &Context {
        &self.ctx
    }

    fn store(&self) -> &Store {
        &self.ctx.store
    }

    /// One NetSuite → ION poll cycle: changed POs (checkpoint minus the overlap window), POs with
    /// open problems, then deletions. Records a [`CycleReport`] and the status snapshot (not in a
    /// dry run). An error means the cycle stopped early (NetSuite or ION unreachable, store
    /// failure); the checkpoints then still point before everything not yet applied.
    pub async fn po_cycle(&self, opts: CycleOptions) -> Result<CycleSummary> {
        let started = Utc::now();
        let mut sum = CycleSummary::default();
        let result = self.cycle_inner(opts, &mut sum).await;
        if !opts.dry_run {
            self.record_run(LOOP_NAME, started, &sum, &result)?;
        }
        match result {
            Ok(()) => {
                info!(%sum, dry_run = opts.dry_run, "NetSuite → ION cycle done");
                Ok(sum)
            }
            Err(e) => Err(e),
        }
    }

    async fn cycle_inner(&self, opts: CycleOptions, sum: &mut CycleSummary) -> Result<()> {
        let s = &self.ctx.settings;
        let stored = self
            .store()
            .checkpoint(Checkpoint::NetSuitePurchaseOrders)?;
        let mut high = match &stored {
            Some(c) => Some(PoCursor::new(c.at.clone(), c.id)?),
            None => None,
        };
        let cursor = match &high {
            Some(c) => c.rewind(s.overlap + DST_GUARD),
            None => PoCursor::start(),
        };
        let mut seen: BTreeSet<i64> = BTreeSet::new();
        // Read, planned and applied as a pipeline (see `pipeline`): the checkpoint moves only
        // past chunks that are fully applied. The first page of deletions is read meanwhile
        // (they are applied after the changes, as before): a deletion made during the cycle is
        // then left to the next one, which the deletions' own checkpoint already guarantees.
        let deletions = self.deletions_start()?;
        let (pages, first_deleted) = tokio::join!(
            self.run_pages(cursor, &mut high, opts, sum, &mut seen),
            self.ctx
                .netsuite
                .deleted_pos_page(&deletions.cursor, MAX_LIMIT)
        );
        pages?;

        // POs with open problems are re-planned every cycle (a missing part may exist now),
        // wherever the cursor is.
        let retry: Vec<i64> = self
            .store()
            .all_problems()?
            .into_iter()
            .filter(|p| !seen.contains(&p.ns_po_id))
            .filter(|p| {
                p.problems
                    .iter()
                    .any(|x| x.kind != "delete_refused" && !is_receipt_problem(x))
            })
            .map(|p| p.ns_po_id)
            .collect();
        if !retry.is_empty() {
            let headers = self
                .ctx
                .netsuite
                .po_headers_by_ids(&retry, &s.body_fields())
                .await
                .context("reading NetSuite POs with open problems")?;
            self.process(headers, false, opts, sum).await?;
        }

        self.deletions(deletions, first_deleted, opts, sum).await
    }

    /// `resync <PO>`: reconciles one PO now (by internal id or tranId), ignoring the content
    /// hash, the backoff and the checkpoints. A PO no longer in NetSuite is handled as deleted.
    pub async fn resync_po(&self, po: &str, dry_run: bool) -> Result<CycleSummary> {
        let ns = &self.ctx.netsuite;
        let ids = match po.trim().parse::<i64>() {
            Ok(id) => vec![id],
            Err(_) => ns.po_ids_by_tran_id(po.trim()).await?,
        };
        let ids = if ids.is_empty() {
            match self
                .store()
                .po_links()?
                .into_iter()
                .find(|l| l.tran_id == po.trim())
            {
                Some(l) => vec![l.ns_po_id],
                None => anyhow::bail!("no NetSuite purchase order {po:?} (by id or tranId)"),
            }
        } else {
            ids
        };
        let opts = CycleOptions { dry_run };
        let mut sum = CycleSummary::default();
        let headers = ns
            .po_headers_by_ids(&ids, &self.ctx.settings.body_fields())
            .await?;
        let found: BTreeSet<i64> = headers.iter().map(|h| h.id).collect();
        self.process(headers, true, opts, &mut sum).await?;
        let gone: Vec<i64> = ids.into_iter().filter(|i| !found.contains(i)).collect();
        if !gone.is_empty() {
            self.delete_pos(&gone, opts, &mut sum).await?;
        }
        if !dry_run {
            self.store().write_status_snapshot()?;
        }
        Ok(sum)
    }

    /// The nightly full reconciliation (SPEC §4: "every linked, still-open PO"): every linked PO
    /// whose NetSuite status is still open (A, B, D, E; [`crate::plan::status::still_open`]) is
    /// re-planned against ION as it is now, whatever the hash says, which catches manual ION
    /// edits and NetSuite changes that did not bump `lastmodifieddate`. Closed, rejected and
    /// fully received POs (C, F, G, H) are re-planned only when NetSuite's content differs from
    /// what was last applied (the content hash, as in a cycle) or they have open problems: a
    /// close that did not bump `lastmodifieddate` changes the status, hence the hash, so it is
    /// still caught, while finished POs, which pile up forever, cost no ION call — and F/G POs
    /// nothing was received against in ION (ION keeps them ORDERED) are not re-sent a RECEIVED
    /// status every night. What this gives up: a manual ION edit of a PO that is finished in
    /// NetSuite is no longer reverted.
    ///
    /// Records a [`CycleReport`] under [`RECONCILE_LOOP_NAME`] (not in a dry run), so `status`
    /// shows when the nightly run last happened and how it ended.
    pub async fn reconcile_all(&self, dry_run: bool) -> Result<CycleSummary> {
        let started = Utc::now();
        let mut sum = CycleSummary::default();
        let result = self.reconcile_inner(dry_run, &mut sum).await;
        if !dry_run {
            self.record_run(RECONCILE_LOOP_NAME, started, &sum, &result)?;
        }
        result.map(|()| sum)
    }

    /// Records a run of `loop_name` for `status`: ok when it finished with no failed PO.
    fn record_run(
        &self,
        loop_name: &str,
        started: DateTime<Utc>,
        sum: &CycleSummary,
        result: &Result<()>,
    ) -> Result<()> {
        let (ok, summary) = match result {
            Ok(()) => (sum.failed == 0, sum.to_string()),
            Err(e) => (false, format!("{sum}; stopped: {e:#}")),
        };
        self.store().record_cycle(&CycleReport {
            loop_name: loop_name.into(),
            started,
            finished: Utc::now(),
            ok,
            summary,
        })?;
        Ok(())
    }

    async fn reconcile_inner(&self, dry_run: bool, sum: &mut CycleSummary) -> Result<()> {
        let opts = CycleOptions { dry_run };
        let ids: Vec<i64> = self
            .store()
            .po_links()?
            .iter()
            .map(|l| l.ns_po_id)
            .collect();
        for chunk in ids.chunks(self.ctx.settings.page_size.max(1) as usize) {
            let headers = self
                .ctx
                .netsuite
                .po_headers_by_ids(chunk, &self.ctx.settings.body_fields())
                .await?;
            let (open, finished): (Vec<PoHeader>, Vec<PoHeader>) = headers
                .into_iter()
                .partition(|h| crate::plan::status::still_open(&h.status));
            self.process(open, true, opts, sum).await?;
            self.process(finished, false, opts, sum).await?;
        }
        Ok(())
    }

    /// Moves the PO checkpoint to `done` (the end of an applied page) if that is past `high`;
    /// never backwards, never in a dry run.
    pub(super) fn advance_po_checkpoint(
        &self,
        done: Option<PoCursor>,
        high: &mut Option<PoCursor>,
        opts: CycleOptions,
    ) -> Result<()> {
        if let Some(n) = done
            && high.as_ref().is_none_or(|h| &n > h)
        {
            if !opts.dry_run {
                self.store().set_checkpoint(
                    Checkpoint::NetSuitePurchaseOrders,
                    &Cursor {
                        at: n.lastmod().to_string(),
                        id: n.id(),
                    },
                )?;
            }
            *high = Some(n);
        }
        Ok(())
    }

    /// Reads, plans and applies one batch of headers. `force`: ignore hash and backoff.
    /// (`pub(crate)` for `backfill`, which feeds it its own pages.)
    pub(crate) async fn process(
        &self,
        headers: Vec<PoHeader>,
        force: bool,
        opts: CycleOptions,
        sum: &mut CycleSummary,
    ) -> Result<()> {
        let staged = self
            .stage(headers, force, opts, sum, &StageCache::default())
            .await?;
        self.apply_staged(staged, opts, sum).await
    }

    /// The reading half of [`Self::process`]: NetSuite lines, vendors and items, ION's copies
    /// by Netsuite RecordID, suppliers and parts, then the plans, grouped into apply jobs. Writes
    /// to ION only to create missing suppliers (under the supplier gate).
    pub(super) async fn stage(
        &self,
        headers: Vec<PoHeader>,
        force: bool,
        opts: CycleOptions,
        sum: &mut CycleSummary,
        cache: &StageCache,
    ) -> Result<Staged> {
        if headers.is_empty() {
            return Ok(Staged::default());
        }
        sum.seen += headers.len();
        let started = std::time::Instant::now();
        let count = headers.len();
        // Exactly once: ION's copy is found by its natural key, whatever the link table says.
        // A PO with no link needs that lookup whatever its lines turn out to be, and it needs
        // only the PO's id: it is in flight while NetSuite's lines, vendors and items are read
        // (the first chunk's lookups then use connections that would otherwise wait idle).
        // The links read here stay valid for the whole stage: the chunk is claimed, so no
        // apply of these POs runs meanwhile.
        let mut links: BTreeMap<i64, Option<PoLink>> = BTreeMap::new();
        for h in &headers {
            links.insert(h.id, self.store().po_link(h.id)?);
        }
        let unlinked: Vec<String> = links
            .iter()
            .filter(|(_, link)| link.is_none())
            .map(|(id, _)| id.to_string())
            .collect();
        // Two chains follow the lines. Suppliers need only the vendors, which come with the
        // lines: they are resolved (and the missing ones created) right away. That is every
        // named vendor of the chunk, not only those of POs that turn out to need work: a vendor
        // with a link costs no request, and one without is almost always a new PO's. Beside
        // them, the items are read, the POs that need work chosen, and their parts and (for
        // linked POs) ION copies looked up; so a chunk waits for the slower chain, not the sum.
        let read = async {
            let (ns, settings) = (&self.ctx.netsuite, &self.ctx.settings);
            let mut reads = cache.reads.lock().await;
            let lined = read_lines(ns, settings, headers, &mut reads)
                .await
                .context("reading NetSuite lines and vendors")?;
            let names = reads.supplier_names(settings, lined.headers());
            let chosen = async {
                let read = read_items(ns, settings, lined, &mut reads).await;
                // The next chunk may read while this one looks things up in ION.
                drop(reads);
                let (good, bad) = read.context("reading NetSuite items")?;
                let work = self.choose_work(good, &mut links, force, sum)?;
                let linked: Vec<String> = work
                    .iter()
                    .filter(|w| w.link.is_some())
                    .map(|w| w.read.po.id.to_string())
                    .collect();
                let parts = async {
                    self.resolve_parts(&work, &mut *cache.parts.lock().await)
                        .await
                };
                let (late, parts) = tokio::try_join!(self.ion_pos_by_record_id(&linked), parts)?;
                Ok::<_, anyhow::Error>((work, bad, late, parts))
            };
            let (chosen, suppliers) =
                tokio::join!(chosen, self.resolve_suppliers(names, opts.dry_run));
            Ok::<_, anyhow::Error>((chosen?, suppliers?))
        };
        let (read, early) = tokio::join!(read, self.ion_pos_by_record_id(&unlinked));
        let ((work, bad, late, parts), suppliers) = read?;
        let mut by_ns = early?;
        by_ns.extend(late);
        debug!(pos = count, elapsed = ?started.elapsed(), "read NetSuite; looked up suppliers, parts and ION POs");
        for (h, reason) in bad {
            warn!(tran_id = %h.tran_id, ns_id = h.id, %reason, "NetSuite PO cannot be synced");
            sum.failed += 1;
            if !opts.dry_run {
                let link = match links.remove(&h.id) {
                    Some(link) => link,
                    None => self.store().po_link(h.id)?,
                };
                let old = self.store().problems_of(h.id)?;
                self.park(
                    &h.tran_id,
                    h.id,
                    link,
                    old,
                    Vec::new(),
                    format!("malformed NetSuite data: {reason}"),
                )?;
            }
        }
        if work.is_empty() {
            return Ok(Staged::default());
        }

        // Plan everything (pure), then apply: plain creates in groups that share requests,
        // everything else PO by PO; both kinds in flight together.
        let mut jobs: Vec<Job> = Vec::new();
        let mut group: Vec<Prepared> = Vec::new();
        for w in work {
            let candidates = by_ns.remove(&w.read.po.id).unwrap_or_default();
            let supplier = suppliers.get(&w.read.po.vendor_id).cloned().unwrap_or(
                SupplierLookup::MustCreate {
                    name: w.read.po.vendor_name.clone(),
                },
            );
            let parts: BTreeMap<i64, Option<i64>> = w
                .read
                .po
                .lines
                .iter()
                .map(|l| (l.item_id, parts.get(&l.item_id).copied().flatten()))
                .collect();
            let resolved = Resolved { parts, supplier };
            let plain = candidates.is_empty() && w.link.is_none() && !opts.dry_run;
            if plain {
                let plan = po::plan_po(
                    &w.read.po,
                    None,
                    None,
                    &resolved,
                    &self.ctx.settings.mapping,
                );
                if let Some(new) = apply::plain_create(&plan) {
                    group.push(Prepared {
                        w,
                        resolved,
                        plan,
                        new,
                    });
                    if group.len() == CREATE_GROUP {
                        jobs.push(Job::Group(std::mem::take(&mut group)));
                    }
                    continue;
                }
            }
            jobs.push(Job::One(Box::new((w, candidates, resolved))));
        }
        if !group.is_empty() {
            jobs.push(Job::Group(group));
        }
        debug!(elapsed = ?started.elapsed(), jobs = jobs.len(), "planned");
        Ok(Staged { jobs })
    }

    /// The writing half of [`Self::process`]: runs the staged jobs (up to `apply_concurrency`
    /// at once) and tallies their outcomes. Each job records its own POs in the store.
    async fn apply_staged(
        &self,
        staged: Staged,
        opts: CycleOptions,
        sum: &mut CycleSummary,
    ) -> Result<()> {
        if staged.jobs.is_empty() {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let results: Vec<Vec<Result<Outcome>>> = futures_util::stream::iter(staged.jobs)
            .map(|job| self.run_job(job, opts))
            .buffer_unordered(self.ctx.settings.apply_concurrency.max(1))
            .collect()
            .await;
        debug!(elapsed = ?started.elapsed(), "applied");
        for r in results {
            tally(sum, r)?;
        }
        Ok(())
    }

    /// Runs one apply job: a PO alone, or a group of new POs created together.
    pub(super) async fn run_job(&self, job: Job, opts: CycleOptions) -> Vec<Result<Outcome>> {
        match job {
            Job::One(one) => {
                let (w, candidates, resolved) = *one;
                vec![self.sync_one(w, candidates, resolved, opts).await]
            }
            Job::Group(group) => self.create_group(group, opts).await,
        }
    }

    /// The POs of a read chunk that need work: not those whose content hash equals the last
    /// applied one (unless `force`), nor failing ones not yet due for a retry. Each PO's link
    /// is taken out of `links` (read once per stage).
    fn choose_work(
        &self,
        reads: Vec<ReadPo>,
        links: &mut BTreeMap<i64, Option<PoLink>>,
        force: bool,
        sum: &mut CycleSummary,
    ) -> Result<Vec<Work>> {
        let now = Utc::now();
        let mut work = Vec::new();
        for read in reads {
            let id = read.po.id;
            // Every read comes from one of the headers, so its link was read above.
            let link = match links.remove(&id) {
                Some(link) => link,
                None => self.store().po_link(id)?,
            };
            // Receipt problems (kept by the receipts leg) neither make a PO due nor get
            // replaced here: see `with_receipt_problems`.
            let problems = self
                .store()
                .problems_of(id)?
                .map(|mut p| {
                    p.problems.retain(|x| !is_receipt_problem(x));
                    p
                })
                .filter(|p| !p.problems.is_empty());
            if !force {
                let unchanged = link
                    .as_ref()
                    .is_some_and(|l| l.content_hash == content_hash(&read.po));
                if unchanged && problems.is_none() {
                    sum.unchanged += 1;
                    continue;
                }
                if let Some(due) = retry_due(problems.as_ref(), self.ctx.settings.poll_interval)
                    && due > now
                {
                    debug!(tran_id = %read.po.tran_id, %due, "failing PO not due for retry yet");
                    sum.deferred += 1;
                    continue;
                }
            }
            work.push(Work {
                read,
                link,
                problems,
            });
        }
        Ok(work)
    }

    /// ION's POs whose Netsuite RecordID is one of `ns_ids`, grouped by that id. No request
    /// when `ns_ids` is empty.
    async fn ion_pos_by_record_id(
        &self,
        ns_ids: &[String],
    ) -> Result<BTreeMap<i64, Vec<IonPurchaseOrder>>> {
        let found = self
            .ctx
            .ion
            .purchase_orders_by_netsuite_id(ns_ids)
            .await
            .context("looking up ION POs by Netsuite RecordID")?;
        let mut by_ns: BTreeMap<i64, Vec<IonPurchaseOrder>> = BTreeMap::new();
        for p in found {
            if let Some(ns) = record_id(&p) {
                by_ns.entry(ns).or_default().push(p);
            }
        }
        Ok(by_ns)
    }

    /// Moves the vendors of `wanted` that have a link to `out`, as existing suppliers.
    fn take_linked(
        &self,
        wanted: &mut BTreeMap<i64, String>,
        out: &mut BTreeMap<i64, SupplierLookup>,
    ) -> Result<()> {
        let mut linked = Vec::new();
        for v in wanted.keys() {
            if let Some(l) = self.store().vendor_link(*v)? {
                linked.push((*v, l.ion_supplier_id));
            }
        }
        for (v, supplier) in linked {
            wanted.remove(&v);
            out.insert(v, SupplierLookup::Existing(supplier));
        }
        Ok(())
    }

    /// Vendor → supplier for `names` (vendor id → supplier name): the link table, else ION by
    /// name (one batched query), else created once (not in a dry run) and remembered.
    async fn resolve_suppliers(
        &self,
        names: BTreeMap<i64, String>,
        dry_run: bool,
    ) -> Result<BTreeMap<i64, SupplierLookup>> {
        let mut out = BTreeMap::new();
        let mut wanted = names;
        self.take_linked(&mut wanted, &mut out)?;
        if wanted.is_empty() {
            return Ok(out);
        }
        // Not in a dry run (nothing is created): no gate, so a dry run never waits on a writer.
        let _gate = match dry_run {
            false => Some(apply::SUPPLIER_GATE.lock().await),
            true => None,
        };
        // Whoever held the gate meanwhile (the chunk staged beside this one, say) may have just
        // linked these vendors: then they need no lookup.
        self.take_linked(&mut wanted, &mut out)?;
        if wanted.is_empty() {
            return Ok(out);
        }
        let mut names: Vec<String> = wanted.values().cloned().collect();
        names.sort();
        names.dedup();
        let found = self
            .ctx
            .ion
            .suppliers_by_name(&names)
            .await
            .context("looking up ION suppliers by name")?;
        let mut by_name: BTreeMap<&str, i64> = BTreeMap::new();
        for s in &found {
            let e = by_name.entry(s.name.as_str()).or_insert(s.id);
            *e = (*e).min(s.id);
        }
        // Suppliers to create: one per missing name (two vendors may share one), in aliased
        // batches. A batch that fails creates none for sure: its vendors' POs then look the name
        // up again and create it themselves (`apply::find_or_create_supplier`), failing alone.
        let mut to_create: Vec<String> = wanted
            .values()
            .filter(|n| !by_name.contains_key(n.as_str()))
            .cloned()
            .collect();
        to_create.sort();
        to_create.dedup();
        let mut created: BTreeMap<String, i64> = BTreeMap::new();
        if !dry_run && !to_create.is_empty() {
            match self.ctx.ion.create_suppliers(&to_create).await {
                Ok(suppliers) => {
                    for (name, s) in to_create.into_iter().zip(suppliers) {
                        info!(supplier = s.id, name = %name, "created ION supplier");
                        created.insert(name, s.id);
                    }
                }
                Err(e) => warn!(
                    suppliers = to_create.len(),
                    error = %e,
                    "creating ION suppliers failed; their POs will look them up and retry"
                ),
            }
        }
        let mut remembered = Vec::new();
        for (vendor, name) in wanted {
            let existing = by_name
                .get(name.as_str())
                .copied()
                .or_else(|| created.get(&name).copied());
            let lookup = match existing {
                Some(id) => {
                    remembered.push(VendorLink {
                        ns_vendor_id: vendor,
                        ion_supplier_id: id,
                        name: name.clone(),
                    });
                    SupplierLookup::Existing(id)
                }
                None => SupplierLookup::MustCreate { name },
            };
            out.insert(vendor, lookup);
        }
        if !dry_run {
            self.store().put_vendor_links(&remembered)?;
        }
        Ok(out)
    }

    /// NetSuite item id → ION part id for every line of the batch: one `in` query per 50 part
    /// numbers, not one per line, and only for numbers no earlier chunk of the cycle asked for
    /// (`known`; a number not found stays not found until the next cycle re-checks it).
    async fn resolve_parts(
        &self,
        work: &[Work],
        known: &mut BTreeMap<String, Vec<ion::parts::Part>>,
    ) -> Result<BTreeMap<i64, Option<i64>>> {
        let mut numbers: BTreeMap<i64, (String, Option<String>)> = BTreeMap::new();
        for w in work {
            for (item, n) in &w.read.part_numbers {
                numbers.insert(*item, (n.clone(), w.read.revisions.get(item).cloned()));
            }
        }
        let mut list: Vec<String> = numbers
            .values()
            .map(|(n, _)| n.clone())
            .filter(|n| !known.contains_key(n))
            .collect();
        list.sort();
        list.dedup();
        if !list.is_empty() {
            let parts = self
                .ctx
                .ion
                .parts_by_number(&list)
                .await
                .context("looking up ION parts")?;
            for n in list {
                known.insert(n, Vec::new());
            }
            for p in parts {
                if let Some(revisions) = known.get_mut(&p.part_number) {
                    revisions.push(p);
                }
            }
        }
        Ok(numbers
            .into_iter()
            .map(|(item, (n, rev))| {
                let p = known
                    .get(&n)
                    .and_then(|parts| ion::parts::pick_revision(parts, &n, rev.as_deref()))
                    .map(|p| p.id);
                (item, p)
            })
            .collect())
    }

    /// Creates a group of new POs together (headers, lines and statuses batched across them).
    /// If the batch fails half-way, each PO is looked up again by its `Netsuite RecordID` and
    /// completed alone, so nothing is created twice.
    async fn create_group(&self, group: Vec<Prepared>, opts: CycleOptions) -> Vec<Result<Outcome>> {
        let news: Vec<_> = group.iter().map(|p| p.new.clone()).collect();
        match self.ctx.ion.create_purchase_orders(&news).await {
            Ok(created) => {
                // One transaction and one flush for the whole group (not one fsync per PO).
                let mut commits = Vec::with_capacity(group.len());
                let mut outcomes = Vec::with_capacity(group.len());
                for (p, po) in group.into_iter().zip(created) {
                    log_plan(&p.plan);
                    info!(tran_id = %p.plan.tran_id, ion_po = po.id, lines = po.lines.len(), status = ?po.status, "created ION PO");
                    match self.recorded(&p.w.read.po, &p.w, &p.plan, Some((po.id, po.line_map()))) {
                        Ok(c) => commits.push(c),
                        Err(e) => return vec![Err(e)],
                    }
                    outcomes.push(Ok(Outcome::Applied {
                        problems: p.plan.problems.len(),
                        plan: None,
                    }));
                }
                match self.store().commit_pos(&commits) {
                    Ok(()) => outcomes,
                    Err(e) => vec![Err(e.into())],
                }
            }
            Err(e) => {
                warn!(error = %e, pos = group.len(), "batched ION create failed; completing the POs one by one");
                let keys: Vec<String> = group.iter().map(|p| p.w.read.po.id.to_string()).collect();
                let found = match self.ctx.ion.purchase_orders_by_netsuite_id(&keys).await {
                    Ok(f) => f,
                    Err(e) => {
                        return vec![Err(anyhow::Error::new(e)
                            .context("looking up ION POs after a failed batched create"))];
                    }
                };
                let mut out = Vec::with_capacity(group.len());
                for p in group {
                    let id = p.w.read.po.id;
                    let candidates: Vec<IonPurchaseOrder> = found
                        .iter()
                        .filter(|f| record_id(f) == Some(id))
                        .cloned()
                        .collect();
                    out.push(self.sync_one(p.w, candidates, p.resolved, opts).await);
                }
                out
            }
        }
    }

    /// Plans and applies one PO and records the outcome (link + problems) in one commit.
    async fn sync_one(
        &self,
        w: Work,
        candidates: Vec<IonPurchaseOrder>,
        resolved: Resolved,
        opts: CycleOptions,
    ) -> Result<Outcome> {
        let ns = &w.read.po;
        let mut ion_po = pick(&candidates, w.link.as_ref().map(|l| l.ion_po_id)).cloned();
        if candidates.len() > 1 {
            warn!(
                tran_id = %ns.tran_id,
                ion_pos = ?candidates.iter().map(|p| p.id).collect::<Vec<_>>(),
                "several ION POs carry this Netsuite RecordID; syncing the linked (or oldest) one, delete the others"
            );
        }
        if ion_po.is_none()
            && let Some(l) = &w.link
        {
            // Linked but not found by attribute (someone cleared it in ION): read it by id.
            ion_po = self
                .ctx
                .ion
                .purchase_order(l.ion_po_id)
                .await
                .with_context(|| format!("reading ION PO {}", l.ion_po_id))?;
        }
        let state = ion_po.as_ref().map(|p| state_of(p, Some(ns)));
        let plan = po::plan_po(
            ns,
            state.as_ref(),
            w.link.as_ref(),
            &resolved,
            &self.ctx.settings.mapping,
        );
        log_plan(&plan);
        if opts.dry_run {
            return Ok(Outcome::Applied {
                problems: plan.problems.len(),
                plan: Some(plan),
            });
        }
        let before = ion_po.as_ref().map(|p| p.id);
        match apply::apply(&self.ctx, &plan, ion_po).await {
            Ok(applied) => {
                self.record(ns, &w, &plan, &applied)?;
                Ok(Outcome::Applied {
                    problems: plan.problems.len(),
                    plan: None,
                })
            }
            Err(e) => {
                let ion_po_id = e.ion_po_id.or(before);
                warn!(
                    tran_id = %ns.tran_id,
                    ion_po = ?ion_po_id,
                    error = %e,
                    "applying NetSuite PO to ION failed; parked as an open problem and retried later"
                );
                let link = ion_po_id.map(|id| PoLink {
                    ns_po_id: ns.id,
                    ion_po_id: id,
                    tran_id: ns.tran_id.clone(),
                    // Empty: never equal to a content hash, so the PO is planned again.
                    content_hash: String::new(),
                    last_lastmod: ns.lastmod.clone(),
                    line_map: w
                        .link
                        .as_ref()
                        .map(|l| l.line_map.clone())
                        .unwrap_or_default(),
                });
                let message = format!(
                    "NetSuite PO {} → ION PO {}: {e}",
                    ns.tran_id,
                    ion_po_id.map_or("(not created)".to_string(), |i| i.to_string())
                );
                let planned: Vec<Problem> = to_store_problems(&plan, w.problems.as_ref());
                self.park(
                    &ns.tran_id,
                    ns.id,
                    link.or(w.link.clone()),
                    w.problems.clone(),
                    planned,
                    message,
                )?;
                Ok(Outcome::Failed)
            }
        }
    }

    /// Records an applied plan: link (with the new hash and line map) and the plan's problems
    /// (an empty list resolves the old ones), in one flushed transaction.
    fn record(
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
    fn recorded(
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
    fn with_receipt_problems(
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
    fn park(
        &self,
        tran_id: &str,
        ns_id: i64,
        link: Option<PoLink>,
        old: Option<PoProblems>,
        mut problems: Vec<Problem>,
        message: String,
    ) -> Result<()> {
        let now = Utc::now();
        let prev = old
            .as_ref()
            .and_then(|p| p.problems.iter().find(|x| x.kind == APPLY_FAILED));
        problems.retain(|p| p.kind != APPLY_FAILED && !is_receipt_problem(p));
        let mut problems = self.with_receipt_problems(ns_id, problems)?;
        problems.push(Problem {
            kind: APPLY_FAILED.into(),
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

    /// Where this cycle reads the deletions feed from.
    fn deletions_start(&self) -> Result<DeletionsStart> {
        let stored = self.store().checkpoint(Checkpoint::NetSuiteDeletions)?;
        let high = match &stored {
            Some(c) => Some(DeletedCursor::new(c.at.clone(), c.id)?),
            None => None,
        };
        let cursor = match &stored {
            Some(c) => {
                let back = PoCursor::new(c.at.clone(), c.id)?
                    .rewind(self.ctx.settings.overlap + DST_GUARD);
                DeletedCursor::new(back.lastmod(), 0)?
            }
            None => DeletedCursor::start(),
        };
        Ok(DeletionsStart { high, cursor })
    }

    /// Deletions from NetSuite's `DeletedRecord`, with their own checkpoint (and the overlap),
    /// from `start`; `first` is its first page, read while the cycle's changes were synced.
    async fn deletions(
        &self,
        start: DeletionsStart,
        first: crate::netsuite::Result<DeletedPage>,
        opts: CycleOptions,
        sum: &mut CycleSummary,
    ) -> Result<()> {
        let DeletionsStart {
            mut high,
            mut cursor,
        } = start;
        let mut first = Some(first);
        loop {
            let page = match first.take() {
                Some(page) => page,
                None => self.ctx.netsuite.deleted_pos_page(&cursor, MAX_LIMIT).await,
            }
            .context("reading NetSuite deletions")?;
            let ids: Vec<i64> = page.deleted.iter().map(|d| d.record_id).collect();
            self.delete_pos(&ids, opts, sum).await?;
            let last = page.deleted.last().map(|d| d.cursor());
            if let Some(n) = &last
                && high.as_ref().is_none_or(|h| {
                    (n.deleted_at(), n.record_id()) > (h.deleted_at(), h.record_id())
                })
            {
                if !opts.dry_run {
                    self.store().set_checkpoint(
                        Checkpoint::NetSuiteDeletions,
                        &Cursor {
                            at: n.deleted_at().to_string(),
                            id: n.record_id(),
                        },
                    )?;
                }
                high = Some(n.clone());
            }
            match (page.has_more, last) {
                (true, Some(n)) => cursor = n,
                _ => return Ok(()),
            }
        }
    }

    /// Deletes (or, where ION refuses, cancels the open lines of) the ION copies of `ids`.
    async fn delete_pos(
        &self,
        ids: &[i64],
        opts: CycleOptions,
        sum: &mut CycleSummary,
    ) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = ids.iter().map(i64::to_string).collect();
        let found = self
            .ctx
            .ion
            .purchase_orders_by_netsuite_id(&keys)
            .await
            .context("looking up ION POs of deleted NetSuite POs")?;
        for &id in ids {
            let link = self.store().po_link(id)?;
            let candidates: Vec<IonPurchaseOrder> = found
                .iter()
                .filter(|p| record_id(p) == Some(id))
                .cloned()
                .collect();
            let ion_po = pick(&candidates, link.as_ref().map(|l| l.ion_po_id)).cloned();
            if ion_po.is_none() && link.is_none() {
                continue;
            }
            let state = ion_po.as_ref().map(|p| state_of(p, None));
            let plan = po::plan_delete(id, state.as_ref(), link.as_ref());
            log_plan(&plan);
            sum.deleted += 1;
            if opts.dry_run {
                sum.plans.push(plan);
                continue;
            }
            let tran = plan.tran_id.clone();
            let (problems, keep_link) = match apply::apply(&self.ctx, &plan, ion_po.clone()).await {
                Ok(_) => (to_store_problems(&plan, None), !plan.problems.is_empty()),
                Err(e) if e.delete_refused => {
                    let fresh = match ion_po.as_ref() {
                        Some(p) => self.ctx.ion.purchase_order(p.id).await?,
                        None => None,
                    };
                    match fresh {
                        // Already gone: an earlier attempt deleted it and its answer was lost
                        // (ION then says "does not exist"). The delete is done: unlink.
                        None => {
                            tracing::info!(tran_id = %tran, "the ION PO is already deleted; unlinking");
                            (Vec::new(), false)
                        }
                        Some(fresh) => {
                            let reason = e.error.to_string();
                            let fallback = po::plan_delete_refused(
                                id,
                                &state_of(&fresh, None),
                                link.as_ref(),
                                &reason,
                            );
                            log_plan(&fallback);
                            if let Err(e2) = apply::apply(&self.ctx, &fallback, Some(fresh)).await {
                                warn!(tran_id = %tran, ion_po = ?e2.ion_po_id, error = %e2, "canceling lines of a deleted PO failed; retried next cycle");
                                sum.failed += 1;
                                continue;
                            }
                            (to_store_problems(&fallback, None), true)
                        }
                    }
                }
                Err(e) => {
                    warn!(tran_id = %tran, ion_po = ?e.ion_po_id, error = %e, "deleting ION PO failed");
                    sum.failed += 1;
                    self.park(
                        &tran,
                        id,
                        link.clone(),
                        self.store().problems_of(id)?,
                        Vec::new(),
                        format!("delete: {e}"),
                    )?;
                    continue;
                }
            };
            let commit = if keep_link {
                PoCommit {
                    link: link.clone(),
                    problems: Some(PoProblems {
                        ns_po_id: id,
                        tran_id: Some(tran.clone()),
                        problems,
                    }),
                    ..Default::default()
                }
            } else {
                PoCommit {
                    unlink: Some(id),
                    ..Default::default()
                }
            };
            self.store().commit_po(&commit)?;
        }
        Ok(())
    }
}

/// When a failing PO may be retried: `poll × 2^(attempts−1)`, at most an hour after the last
/// failure. `None` when the PO has no failure (re-planned every cycle).
/// Adds one job's outcomes to the summary; a store failure (`Err`) stops the cycle.
pub(super) fn tally(sum: &mut CycleSummary, results: Vec<Result<Outcome>>) -> Result<()> {
    for r in results {
        match r? {
            Outcome::Applied { problems, plan } => {
                sum.applied += 1;
                sum.problems += problems;
                sum.plans.extend(plan);
            }
            Outcome::Failed => sum.failed += 1,
        }
    }
    Ok(())
}

fn retry_due(problems: Option<&PoProblems>, poll: std::time::Duration) -> Option<DateTime<Utc>> {
    let f = problems?.problems.iter().find(|p| p.kind == APPLY_FAILED)?;
    let factor = 1u32 << f.attempts.saturating_sub(1).min(16);
    let wait = poll.saturating_mul(factor).min(MAX_BACKOFF);
    // The first retry is always the next cycle: only repeated failures wait.
    if f.attempts <= 1 {
        return None;
    }
    Some(f.last_seen + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1)))
}

/// The NetSuite id an ION PO mirrors (`Netsuite RecordID`, a number or numeric text).
fn record_id(p: &IonPurchaseOrder) -> Option<i64> {
    let s = p.netsuite_id()?;
    let s = s.trim();
    s.parse::<i64>().ok().or_else(|| {
        s.parse::<f64>()
            .ok()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    })
}

fn kind_name(k: &ProblemKind) -> &'static str {
    match k {
        ProblemKind::MissingPart { .. } => "missing_part",
        ProblemKind::UnknownStatus { .. } => "unknown_status",
        ProblemKind::QuantityBelowReceived { .. } => "quantity_below_received",
        ProblemKind::PartChangeOnReceivedLine { .. } => "part_change_on_received_line",
        ProblemKind::AttributeValue { .. } => "attribute_value",
        ProblemKind::CanceledLineOpenInNetSuite { .. } => "canceled_line_open",
        ProblemKind::DuplicateLine { .. } => "duplicate_line",
        ProblemKind::LinkedPoMissing { .. } => "linked_po_missing",
        ProblemKind::DeleteRefused { .. } => "delete_refused",
    }
}

/// The plan's problems as store problems, keeping `first_seen` and counting attempts of the
/// ones already open.
fn to_store_problems(plan: &PoPlan, old: Option<&PoProblems>) -> Vec<Problem> {
    let now = Utc::now();
    plan.problems
        .iter()
        .map(|p| {
            let key = p.key();
            let prev = old.and_then(|o| o.problems.iter().find(|x| x.subject == key));
            Problem {
                kind: kind_name(&p.kind).into(),
                subject: key,
                message: p.message.clone(),
                first_seen: prev.map_or(now, |x| x.first_seen),
                last_seen: now,
                attempts: prev.map_or(1, |x| x.attempts.saturating_add(1)),
            }
        })
        .collect()
}

/// Logs a plan's notes and problems: problems are warnings (an admin must act).
fn log_plan(plan: &PoPlan) {
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

/// Used by [`ApplyError`] consumers that only need the message.
impl From<ApplyError> for anyhow::Error {
    fn from(e: ApplyError) -> Self {
        anyhow::anyhow!("{e}")
    }
}
