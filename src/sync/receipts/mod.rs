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

//!
//! # Layout
//! - [`cycle`]: one cycle: settle intents, poll, read receipts in full, gather the plan's
//!   inputs, plan, apply, move the checkpoint.
//! - [`intent`]: create exactly once: intent → transform → outcome, and the lookup of an
//!   intent whose outcome is unknown.
//! - [`problems`]: the receipts leg's open problems in the store.

mod cycle;
mod intent;
mod problems;

use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use tracing::{info, warn};

use crate::ion;
use crate::netsuite;
use crate::plan::receipts::ItemReceiptPlan;
use crate::store::{CycleReport, Store, StoreError};

pub use problems::is_receipt_problem;

/// The loop name in `status` and in cycle reports.
pub const LOOP_NAME: &str = "ion_receipts";

/// Receipt items per page of the keyset poll.
const PAGE_SIZE: usize = 200;

/// What can end a receipts cycle early. Per-receipt failures do not: they become open problems
/// or stay as intents, and the cycle goes on.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptSyncError {
    #[error("ION")]
    Ion(#[from] ion::Error),
    #[error("NetSuite")]
    NetSuite(#[from] netsuite::Error),
    #[error("store")]
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
                Err(e) => (
                    false,
                    format!("cycle failed: {}", crate::telemetry::error_chain(e)),
                ),
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
}
