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

use super::apply::{self, Applied};
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
use crate::store::ProblemKind as StoredKind;
use crate::store::{
    Checkpoint, Cursor, CycleReport, PoCommit, PoProblems, Problem, Store, VendorLink,
};
use crate::telemetry::error_chain;

mod cycle;
mod deletions;
mod jobs;
pub mod pipeline;
mod record;
mod render;
mod resolve;
mod stage;

use record::to_store_problems;
use render::log_plan;
pub use render::render_plan;

/// The loop name under which cycles are reported in `status`.
pub const LOOP_NAME: &str = "netsuite_purchase_orders";

/// The [`CycleReport`] name of the scheduled full reconciliation ([`Engine::reconcile_all`]).
pub const RECONCILE_LOOP_NAME: &str = "full_reconcile";
/// Extra re-read behind the checkpoint, on top of the configured overlap, because the cursor is
/// NetSuite's local wall-clock text (SPEC §4, reference §3.7.4): at spring-forward, `checkpoint −
/// overlap` can land in the skipped hour, which NetSuite reads as the hour *after* it — past
/// the checkpoint — and edits in between would never be read; at fall-back, the repeated hour
/// makes newer edits render as older text. Re-reading one more hour covers both (DST shifts
/// are one hour in every zone NetSuite offers but Lord Howe's 30 minutes). The cost is
/// re-reading an hour of changed headers per cycle, which the content hash turns into no ION
/// call; `tests/it/sync_dst.rs` fails without it.
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
}

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

/// When a failing PO may be retried: `poll × 2^(attempts−1)`, at most an hour after the last
/// failure. `None` when the PO has no failure (re-planned every cycle).
fn retry_due(problems: Option<&PoProblems>, poll: std::time::Duration) -> Option<DateTime<Utc>> {
    let f = problems?
        .problems
        .iter()
        .find(|p| p.kind == StoredKind::ApplyFailed)?;
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
