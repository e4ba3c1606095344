//! `backfill --since DATE` (SPEC §7): the admin's controlled initial import of existing POs.
//!
//! Without it, the first cycle on an empty store reads every PO NetSuite ever had. A backfill
//! reads only the POs whose `lastmodifieddate` is on or after `DATE` (midnight in the
//! account's SuiteQL time zone, the zone the cursor text is always in), page by page on the
//! same keyset feed as the poll cycle, and hands each page to the engine's normal path
//! ([`Engine::process`]): the same natural-key lookup before any create, the same content
//! hash, the same open problems. POs last modified before `DATE` are never imported unless
//! they change later.
//!
//! # Checkpoints
//! - **NetSuite POs**: moves forward as pages complete, never backward (the cycle's rule). When
//!   there is none yet, it is set to `DATE` before the first page, so that `run` after an
//!   interrupted or empty backfill still starts at `DATE` and not at the beginning of time. An
//!   existing checkpoint later than `DATE` is left where it is unless the backfill passes it;
//!   the POs in between are still read (the checkpoint does not say they ever were), and the
//!   unchanged ones cost no ION call.
//! - **NetSuite deletions**: when there is none yet, set to `DATE`, so the next cycle does not
//!   replay every `DeletedRecord` row NetSuite ever wrote (whose POs may have ION copies made
//!   by the integration this daemon replaces), while deletions from `DATE` on are still
//!   applied by that cycle. An existing one is never touched. The backfill itself applies no
//!   deletion.
//! - **ION receipt items**: when there is none yet, set to `DATE` 00:00 UTC, for the same
//!   reason: a backfill may link ION POs an earlier integration made (found by their Netsuite
//!   RecordID), and mirroring their years-old receipts again would create NetSuite item
//!   receipts that already exist. Receipts saved from `DATE` on are mirrored by the daemon.
//!   Receipts on POs this daemon creates are always later than the backfill, so none is lost.
//! - **Progress** ([`BackfillProgress`]): the range a backfill has covered, written with the PO
//!   checkpoint in one transaction per page and removed when it finishes. A backfill started
//!   while one is recorded resumes after it (less the overlap) when its `DATE` falls inside the
//!   covered range, so Ctrl-C, a crash or a failure loses at most the page in flight, which is
//!   re-read idempotently.
//!
//! `--dry-run` plans every page and writes nothing: no ION call that changes anything, no store
//! write (neither checkpoints nor progress).
//!
//! # Layout
//! Pure: [`SinceDate`] (parse, don't validate), [`plan_start`], [`moves_forward`],
//! [`progress_line`]. I/O: [`run`].

use std::time::Duration;

use anyhow::{Context as _, Result};
use chrono::{NaiveDate, Utc};
use tracing::{info, warn};

use super::po_sync::{CycleOptions, CycleSummary, DST_GUARD, Engine};
use crate::netsuite::PoCursor;
use crate::plan::po::PoPlan;
use crate::store::{BackfillProgress, Checkpoint, Cursor, CycleReport};

/// The loop name under which backfills are reported in `status`.
pub const LOOP_NAME: &str = "backfill";

/// The `--since` date: a real calendar date, `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SinceDate(NaiveDate);

impl SinceDate {
    /// `YYYY-MM-DD`, e.g. `2025-01-01`; anything else is refused with the expected form.
    pub fn parse(text: &str) -> Result<SinceDate, String> {
        let t = text.trim();
        let shape = t.len() == 10
            && t.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
            Ok(d) if shape => Ok(SinceDate(d)),
            _ => Err(format!(
                "{text:?} is not a date; expected YYYY-MM-DD, e.g. 2025-01-01 (a day in the \
                 NetSuite account's time zone)"
            )),
        }
    }

    /// The keyset cursor just before the first PO modified on this day (midnight, id 0).
    pub fn cursor(&self) -> PoCursor {
        // The text is built from a valid date, so it always has the validated shape.
        PoCursor::since_date(&self.to_string()).unwrap_or_else(|_| PoCursor::start())
    }

    /// The ION receipt-items checkpoint for a store that has none: `DATE` 00:00 UTC, id 0
    /// (ION's `_updated` is UTC; the text is what the receipts leg's cursor parses).
    pub fn receipts_floor(&self) -> Cursor {
        Cursor {
            at: format!("{}T00:00:00Z", self.0.format("%Y-%m-%d")),
            id: 0,
        }
    }

    pub fn date(&self) -> NaiveDate {
        self.0
    }
}

impl std::fmt::Display for SinceDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl std::str::FromStr for SinceDate {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SinceDate::parse(s)
    }
}

/// What `backfill` was asked to do.
#[derive(Debug, Clone, Copy)]
pub struct BackfillOptions {
    pub since: SinceDate,
    /// Plan and print, change nothing (no ION write, no store write).
    pub dry_run: bool,
}

/// Where a backfill starts reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartPlan {
    /// The keyset cursor the first page is read after.
    pub from: PoCursor,
    /// The unfinished backfill this one continues, when it covers `since`.
    pub resumes: Option<BackfillProgress>,
}

/// Where to start: at `since`, unless an unfinished backfill already covered `since` — then
/// after what it reached, less `rewind` (the overlap, as the cycle re-reads, for records
/// committed late with an earlier `lastmodifieddate`), and never before `since`.
pub fn plan_start(
    since: &SinceDate,
    progress: Option<&BackfillProgress>,
    rewind: Duration,
) -> StartPlan {
    let from = since.cursor();
    let covering = progress.filter(|p| {
        p.since.as_str() <= since.to_string().as_str() && p.reached.at.as_str() > from.lastmod()
    });
    match covering.and_then(|p| {
        PoCursor::new(p.reached.at.clone(), p.reached.id)
            .ok()
            .map(|c| (p, c))
    }) {
        Some((p, reached)) => StartPlan {
            from: reached.rewind(rewind).max(from),
            resumes: Some(p.clone()),
        },
        None => StartPlan {
            from,
            resumes: None,
        },
    }
}

/// Whether the PO checkpoint moves to `next`: only forward, as in the cycle.
pub fn moves_forward(stored: Option<&PoCursor>, next: &PoCursor) -> bool {
    stored.is_none_or(|h| next > h)
}

/// Progress after each page.
#[derive(Debug, Clone, Default)]
pub struct PageProgress {
    pub since: String,
    /// Pages completed so far.
    pub pages: u32,
    /// POs read so far (this run).
    pub read: usize,
    /// POs the feed held when this run started (NetSuite's `totalResults` of the first page).
    pub total: Option<u64>,
    pub applied: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub deferred: usize,
    /// The `lastmodifieddate` text of the last PO read.
    pub reached: Option<String>,
}

impl PageProgress {
    fn from_sum(since: &SinceDate, pages: u32, total: Option<u64>, sum: &CycleSummary) -> Self {
        PageProgress {
            since: since.to_string(),
            pages,
            read: sum.seen,
            total,
            applied: sum.applied,
            unchanged: sum.unchanged,
            failed: sum.failed,
            deferred: sum.deferred,
            reached: None,
        }
    }
}

/// The terminal status line: short enough for 80 columns.
pub fn progress_line(p: &PageProgress) -> String {
    let of = match p.total {
        Some(t) if t > 0 => format!("{}/{t} ({}%)", p.read, (p.read as u64 * 100 / t).min(100)),
        _ => format!("{} POs", p.read),
    };
    let mut s = format!(
        "backfill {of}, page {}: {} applied, {} unchanged, {} failed",
        p.pages, p.applied, p.unchanged, p.failed
    );
    if p.deferred > 0 {
        s.push_str(&format!(", {} deferred", p.deferred));
    }
    s
}

/// What the caller is shown after each page: the progress, and in a dry run the plans made.
#[derive(Debug)]
pub struct PageReport<'a> {
    pub progress: &'a PageProgress,
    pub plans: &'a [PoPlan],
}

/// What a backfill did.
#[derive(Debug, Clone, Default)]
pub struct BackfillSummary {
    pub since: String,
    pub pages: u32,
    /// Counts over all pages (plans are handed to the observer page by page, not kept).
    pub sum: CycleSummary,
    /// Whether an unfinished backfill was resumed.
    pub resumed: bool,
    /// The PO checkpoint at the end (unchanged in a dry run).
    pub checkpoint: Option<Cursor>,
}

impl BackfillSummary {
    /// True when no PO failed.
    pub fn ok(&self) -> bool {
        self.sum.failed == 0
    }
}

impl std::fmt::Display for BackfillSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.sum;
        write!(
            f,
            "backfill since {}{}: {} pages, {} POs read, {} unchanged, {} applied, {} failed, {} deferred, {} open problems",
            self.since,
            if self.resumed { " (resumed)" } else { "" },
            self.pages,
            s.seen,
            s.unchanged,
            s.applied,
            s.failed,
            s.deferred,
            s.problems
        )?;
        match &self.checkpoint {
            Some(c) => write!(f, "; NetSuite PO checkpoint at {} / id {}", c.at, c.id),
            None => write!(f, "; no NetSuite PO checkpoint"),
        }
    }
}

/// Runs a backfill: pages from the start point to the end of the feed, each applied through the
/// engine and then checkpointed. `observer` sees every completed page (progress display, dry-run
/// plans). An error stops it early; everything up to the last completed page is recorded, and
/// running it again resumes there.
pub async fn run(
    engine: &Engine,
    opts: &BackfillOptions,
    observer: &mut dyn FnMut(&PageReport<'_>),
) -> Result<BackfillSummary> {
    let started = Utc::now();
    let store = engine.context().store.clone();
    let mut out = BackfillSummary {
        since: opts.since.to_string(),
        ..Default::default()
    };
    let result = run_inner(engine, opts, observer, &mut out).await;
    if !opts.dry_run {
        let (ok, summary) = match &result {
            Ok(()) => (out.ok(), out.to_string()),
            Err(e) => (false, format!("{out}; stopped: {e:#}")),
        };
        store.record_cycle(&CycleReport {
            loop_name: LOOP_NAME.into(),
            started,
            finished: Utc::now(),
            ok,
            summary,
        })?;
    }
    result.map(|()| {
        info!(summary = %out, dry_run = opts.dry_run, "backfill done");
        out
    })
}

async fn run_inner(
    engine: &Engine,
    opts: &BackfillOptions,
    observer: &mut dyn FnMut(&PageReport<'_>),
    out: &mut BackfillSummary,
) -> Result<()> {
    let ctx = engine.context();
    let store = &ctx.store;
    let s = &ctx.settings;
    let since = opts.since;
    let cycle_opts = CycleOptions {
        dry_run: opts.dry_run,
    };

    let stored = store.checkpoint(Checkpoint::NetSuitePurchaseOrders)?;
    let mut high = match &stored {
        Some(c) => Some(PoCursor::new(c.at.clone(), c.id)?),
        None => None,
    };
    let progress = store.backfill_progress()?;
    let start = plan_start(&since, progress.as_ref(), s.overlap + DST_GUARD);
    let since_cursor = since.cursor();
    match &high {
        Some(h) if *h > since_cursor => info!(
            checkpoint = %h.lastmod(),
            %since,
            "the NetSuite PO checkpoint is later than --since: the POs in between are read \
             anyway (unchanged ones cost no ION call), and the checkpoint only moves if the \
             backfill passes it"
        ),
        Some(h) => warn!(
            checkpoint = %h.lastmod(),
            %since,
            "the NetSuite PO checkpoint is earlier than --since: POs changed between the two \
             are not synced unless they change again"
        ),
        None => {}
    }
    if let Some(p) = &start.resumes {
        info!(
            since = %p.since,
            reached = %p.reached.at,
            from = %start.from.lastmod(),
            "resuming an unfinished backfill"
        );
        out.resumed = true;
    } else if let Some(p) = &progress {
        info!(
            since = %p.since,
            reached = %p.reached.at,
            "an unfinished backfill does not cover --since {since}; starting at {since}"
        );
    }

    if !opts.dry_run {
        // Floors for a store that has never polled (module doc, "Checkpoints").
        let floor = Cursor {
            at: since_cursor.lastmod().to_string(),
            id: since_cursor.id(),
        };
        if store.set_checkpoint_if_absent(Checkpoint::NetSuitePurchaseOrders, &floor)? {
            high = Some(since_cursor.clone());
            info!(%since, "NetSuite PO checkpoint starts at --since");
        }
        if store.set_checkpoint_if_absent(Checkpoint::NetSuiteDeletions, &floor)? {
            info!(%since, "NetSuite deletions checkpoint starts at --since: older deletions are not replayed");
        }
        if store.set_checkpoint_if_absent(Checkpoint::IonReceiptItems, &since.receipts_floor())? {
            info!(%since, "ION receipts checkpoint starts at --since (00:00 UTC): older receipts are not mirrored");
        }
    }

    let started = start.resumes.as_ref().map_or_else(Utc::now, |p| p.started);
    let covered_since = start
        .resumes
        .as_ref()
        .map_or_else(|| since.to_string(), |p| p.since.clone());
    let mut cursor = start.from;
    let mut total: Option<u64> = None;
    loop {
        let page = ctx
            .netsuite
            .po_headers_page(&cursor, &s.body_fields(), s.page_size)
            .await
            .context("reading NetSuite POs for the backfill")?;
        if total.is_none() {
            total = page.total_results;
        }
        let next = page.next_cursor();
        let mut sum = CycleSummary::default();
        engine
            .process(page.headers, false, cycle_opts, &mut sum)
            .await?;
        out.pages += 1;
        out.sum.absorb_counts(&sum);
        // Every PO of the page is applied or parked: record the page (progress, and the
        // checkpoint when it moves forward) in one transaction.
        if let Some(n) = &next
            && !opts.dry_run
        {
            let forward = moves_forward(high.as_ref(), n);
            let reached = Cursor {
                at: n.lastmod().to_string(),
                id: n.id(),
            };
            store.commit_backfill_page(
                &BackfillProgress {
                    since: covered_since.clone(),
                    reached: reached.clone(),
                    started,
                    updated: Utc::now(),
                },
                forward.then_some(&reached),
            )?;
            if forward {
                high = Some(n.clone());
            }
        }
        let mut progress = PageProgress::from_sum(&since, out.pages, total, &out.sum);
        progress.reached = next.as_ref().map(|n| n.lastmod().to_string());
        observer(&PageReport {
            progress: &progress,
            plans: &sum.plans,
        });
        match (page.has_more, next) {
            (true, Some(n)) => cursor = n,
            _ => break,
        }
    }
    if !opts.dry_run {
        store.finish_backfill()?;
    }
    out.checkpoint = store.checkpoint(Checkpoint::NetSuitePurchaseOrders)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn since(s: &str) -> SinceDate {
        SinceDate::parse(s).expect("date")
    }

    fn progress(since: &str, at: &str, id: i64) -> BackfillProgress {
        BackfillProgress {
            since: since.into(),
            reached: Cursor { at: at.into(), id },
            started: Utc::now(),
            updated: Utc::now(),
        }
    }

    #[test]
    fn since_accepts_only_calendar_dates() {
        assert_eq!(since("2026-01-14").to_string(), "2026-01-14");
        assert_eq!(
            since("2026-01-14").cursor().lastmod(),
            "2026-01-14 00:00:00"
        );
        assert_eq!(since("2026-01-14").cursor().id(), 0);
        for bad in [
            "2026-13-01",
            "2026-02-30",
            "14.01.2026",
            "2026-1-14",
            "yesterday",
            "",
            "2026-01-14 00:00:00",
            "2026-01-14' OR 1=1",
        ] {
            let e = SinceDate::parse(bad).expect_err(bad);
            assert!(e.contains("YYYY-MM-DD"), "{bad}: {e}");
        }
    }

    #[test]
    fn starts_at_since_without_a_covering_progress() {
        let d = since("2026-01-14");
        let rewind = Duration::from_secs(600);
        let fresh = plan_start(&d, None, rewind);
        assert_eq!(fresh.from, d.cursor());
        assert_eq!(fresh.resumes, None);
        // A backfill from a later date does not cover an earlier --since.
        let later = progress("2026-01-20", "2026-02-01 10:00:00", 5);
        assert_eq!(plan_start(&d, Some(&later), rewind).resumes, None);
        // Nor does one that stopped before --since.
        let before = progress("2026-01-01", "2026-01-10 10:00:00", 5);
        assert_eq!(plan_start(&d, Some(&before), rewind).from, d.cursor());
    }

    #[test]
    fn resumes_after_the_covered_range_less_the_overlap() {
        let d = since("2026-01-14");
        let p = progress("2026-01-14", "2026-01-15 10:00:00", 42);
        let start = plan_start(&d, Some(&p), Duration::from_secs(600));
        assert_eq!(start.from.lastmod(), "2026-01-15 09:50:00");
        assert_eq!(start.from.id(), 0);
        assert_eq!(start.resumes, Some(p.clone()));
        // A later --since inside the covered range resumes too.
        let start = plan_start(&since("2026-01-15"), Some(&p), Duration::from_secs(600));
        assert_eq!(start.from.lastmod(), "2026-01-15 09:50:00");
        // The rewind never reaches before --since.
        let start = plan_start(&d, Some(&p), Duration::from_secs(3 * 24 * 3600));
        assert_eq!(start.from, d.cursor());
        assert!(start.resumes.is_some());
    }

    #[test]
    fn checkpoint_moves_only_forward() {
        let a = PoCursor::new("2026-01-15 10:00:00", 7).unwrap();
        let b = PoCursor::new("2026-01-15 10:00:00", 8).unwrap();
        assert!(moves_forward(None, &a));
        assert!(moves_forward(Some(&a), &b));
        assert!(!moves_forward(Some(&b), &a));
        assert!(!moves_forward(Some(&a), &a));
    }

    #[test]
    fn progress_line_fits_a_terminal() {
        let mut p = PageProgress {
            since: "2026-01-14".into(),
            pages: 12,
            read: 11_000,
            total: Some(12_345),
            applied: 10_000,
            unchanged: 900,
            failed: 100,
            deferred: 0,
            reached: None,
        };
        let line = progress_line(&p);
        assert_eq!(
            line,
            "backfill 11000/12345 (89%), page 12: 10000 applied, 900 unchanged, 100 failed"
        );
        assert!(line.chars().count() <= 79, "{line}");
        p.total = None;
        assert!(progress_line(&p).starts_with("backfill 11000 POs, page 12:"));
    }
}
