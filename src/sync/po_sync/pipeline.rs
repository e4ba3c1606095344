//! The poll cycle's changed POs as a pipeline: NetSuite pages are cut into chunks; a reader
//! stages them ([`Engine::stage`]: read and plan, a few chunks side by side, handed on in
//! order) while an applier runs the staged jobs as one continuous stream, up to
//! `apply_concurrency` at once, across chunk boundaries.
//!
//! Why chunks and a stream: with whole pages staged and applied in turns, the first page's
//! reading was never overlapped and each apply ended with a tail of few requests in flight. With
//! chunks the first apply starts after one small chunk, and the next chunk's jobs fill the slots
//! the previous chunk's last jobs leave.
//!
//! Invariants (crash safety and exactly once):
//! - The checkpoint moves to the end of a chunk only once that chunk and every chunk before it
//!   are fully applied (or their POs durably parked), so a crash resumes from before anything
//!   unapplied, exactly as without the pipeline.
//! - A PO is never staged while an earlier job for the same PO is still being applied: a PO
//!   edited during the run can come back in a later page, and staging it before the first apply
//!   commits would miss the new link and create it twice. The reader waits for that job.
//! - Staging may create suppliers; that happens under [`super::apply::SUPPLIER_GATE`], like the
//!   applies' own supplier creates.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, Result};
use futures_util::FutureExt as _;
use futures_util::StreamExt as _;
use futures_util::future::FusedFuture as _;
use futures_util::stream::FuturesOrdered;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;
use tokio_util::task::AbortOnDropHandle;
use tracing::debug;

use super::{CycleOptions, CycleSummary, Engine, Job, Outcome, StageCache, tally};
use crate::netsuite::{PoCursor, PoHeader};

/// POs staged at a time. Small enough that the first apply starts early; large enough that a
/// chunk's lines are a few full SuiteQL pages. Vendors, items and parts read by an earlier chunk
/// are not read again ([`StageCache`]), so chunking adds only line pages at chunk edges.
pub const STAGE_CHUNK: usize = 200;

/// Staged chunks waiting for the applier: the reader runs at most this far ahead (memory).
const CHUNKS_AHEAD: usize = 2;

/// Chunks staged side by side. A chunk's staging is mostly waiting (NetSuite reads, then ION
/// lookups queued behind the applier's writes under the same in-flight cap); one at a time, the
/// stages could not keep the applier busy.
pub const STAGES_IN_FLIGHT: usize = 3;

/// Where the reader is: the next page's cursor and the current page's unstaged headers.
struct Reading {
    cursor: PoCursor,
    headers: VecDeque<PoHeader>,
    more: bool,
    failed: bool,
}

/// A staged chunk on its way to the applier.
struct Chunk {
    jobs: Vec<Job>,
    /// The chunk's PO ids (each is marked in flight until the chunk is applied).
    ids: Vec<i64>,
    /// The keyset position of the chunk's last header: where the checkpoint may move once the
    /// chunk and all before it are applied.
    done: Option<PoCursor>,
}

/// A chunk the applier has taken, until all its jobs are done.
struct Track {
    seq: u64,
    left: usize,
    ids: Vec<i64>,
    done: Option<PoCursor>,
}

/// POs with a job not yet applied, shared by the reader (waits) and the applier (releases).
#[derive(Default)]
struct InFlight {
    ids: Mutex<HashSet<i64>>,
    released: Notify,
}

impl InFlight {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<i64>> {
        self.ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits until none of `ids` is in flight, then marks them. `false`: the applier stopped.
    async fn claim(&self, ids: &[i64], applier_gone: impl Fn() -> bool) -> bool {
        loop {
            // Registered before the check, so a release between check and wait is not missed.
            let released = self.released.notified();
            if applier_gone() {
                return false;
            }
            {
                let mut held = self.lock();
                if !ids.iter().any(|id| held.contains(id)) {
                    held.extend(ids.iter().copied());
                    return true;
                }
            }
            debug!("a PO of the next chunk is still being applied; waiting for it");
            released.await;
        }
    }

    fn release(&self, ids: &[i64]) {
        let mut held = self.lock();
        for id in ids {
            held.remove(id);
        }
        drop(held);
        self.released.notify_waiters();
    }
}

impl Engine {
    /// Reads every page of POs changed since `cursor` and applies them, pipelined. Moves the PO
    /// checkpoint (`high`: where it stands) as chunks complete; `seen` gets the id of every
    /// header staged (all of them, unless the cycle fails).
    pub(super) async fn run_pages(
        &self,
        cursor: PoCursor,
        high: &mut Option<PoCursor>,
        opts: CycleOptions,
        sum: &mut CycleSummary,
        seen: &mut BTreeSet<i64>,
    ) -> Result<()> {
        let s = &self.context().settings;
        let in_flight = InFlight::default();
        let (tx, mut rx) = mpsc::channel::<Chunk>(CHUNKS_AHEAD);
        let mut read_sum = CycleSummary::default();

        let reader = async {
            // Owned here, so the applier sees the channel end when the reader does.
            let tx = tx;
            let cache = Arc::new(StageCache::default());
            let cx = &ReaderCtx {
                engine: self,
                in_flight: &in_flight,
                tx: &tx,
            };
            let start = Reading {
                cursor,
                headers: VecDeque::new(),
                more: true,
                failed: false,
            };
            // Chunks in cycle order, each claimed (no PO of it still being applied) before it
            // is staged. Claims are made one after another, in order; up to STAGES_IN_FLIGHT
            // chunks stage side by side and are handed on in order. (Written with a select over
            // named async fns rather than stream combinators with closures: with those, rustc
            // cannot prove the cycle's future `Send`.)
            let mut staging = FuturesOrdered::new();
            let mut reading = Box::pin(next_claimed(cx, start)).fuse();
            loop {
                tokio::select! {
                    biased;
                    Some(next) = staging.next(), if !staging.is_empty() => {
                        let (chunk, sum) = next?;
                        read_sum.absorb(sum);
                        if tx.send(chunk).await.is_err() {
                            // The applier stopped on an error; that error is the cycle's.
                            return Ok(());
                        }
                    }
                    claimed = &mut reading,
                        if !reading.is_terminated() && staging.len() < STAGES_IN_FLIGHT =>
                    {
                        if let Some((claimed, st)) = claimed {
                            // Every header read is in exactly one claimed chunk.
                            if let Ok((_, ids)) = &claimed {
                                seen.extend(ids.iter().copied());
                            }
                            staging.push_back(spawn_stage(self, claimed, opts, &cache));
                            reading = Box::pin(next_claimed(cx, st)).fuse();
                        }
                    }
                    else => break,
                }
            }
            Ok(())
        };

        let applier = async {
            let cap = s.apply_concurrency.max(1);
            let mut waiting: VecDeque<(u64, Job)> = VecDeque::new();
            let mut tracks: VecDeque<Track> = VecDeque::new();
            // Each job is a task of its own, so jobs (parsing answers, planning, committing)
            // run on every worker thread, not all inside the cycle's one task. Dropping the set
            // (the cycle cancelled) aborts them: the same as a crash at that point, which the
            // exactly-once lookups cover.
            let mut running: JoinSet<(u64, Vec<Result<Outcome>>)> = JoinSet::new();
            let mut next_seq: u64 = 0;
            let mut reader_open = true;
            let mut failure: Option<anyhow::Error> = None;
            let outcome = loop {
                while failure.is_none() && running.len() < cap {
                    let Some((seq, job)) = waiting.pop_front() else {
                        break;
                    };
                    let engine = self.clone();
                    running.spawn(async move { (seq, engine.run_job(job, opts).await) });
                }
                // Chunks complete in order: the checkpoint never passes an unapplied one.
                while tracks.front().is_some_and(|t| t.left == 0) {
                    if let Some(t) = tracks.pop_front() {
                        if failure.is_none()
                            && let Err(e) = self.advance_po_checkpoint(t.done, high, opts)
                        {
                            failure = Some(e);
                        }
                        in_flight.release(&t.ids);
                    }
                }
                tokio::select! {
                    Some(joined) = running.join_next(), if !running.is_empty() => {
                        // A job that panicked leaves its chunk unfinished: the checkpoint stays
                        // before it, and the cycle ends with the error.
                        let done = joined
                            .map_err(|e| anyhow::anyhow!("an apply job ended abnormally: {e}"))
                            .and_then(|(seq, results)| {
                                if let Some(t) = tracks.iter_mut().find(|t| t.seq == seq) {
                                    t.left -= 1;
                                }
                                tally(sum, results)
                            });
                        if let Err(e) = done
                            && failure.is_none()
                        {
                            failure = Some(e);
                        }
                    }
                    chunk = rx.recv(), if reader_open && waiting.is_empty() && failure.is_none() => {
                        match chunk {
                            Some(c) => {
                                let seq = next_seq;
                                next_seq += 1;
                                tracks.push_back(Track {
                                    seq,
                                    left: c.jobs.len(),
                                    ids: c.ids,
                                    done: c.done,
                                });
                                waiting.extend(c.jobs.into_iter().map(|j| (seq, j)));
                            }
                            None => reader_open = false,
                        }
                    }
                    else => break failure,
                }
            };
            // Unblock a reader waiting to send or to claim: it sees the channel closed.
            rx.close();
            in_flight.released.notify_waiters();
            match outcome {
                Some(e) => Err(e),
                None => Ok(()),
            }
        };

        let (read, applied) = tokio::join!(reader, applier);
        sum.absorb(read_sum);
        applied?;
        read
    }
}

/// What the reader's steps share for one cycle.
struct ReaderCtx<'r> {
    engine: &'r Engine,
    in_flight: &'r InFlight,
    /// Closed once the applier stops: a waiting claim then gives up.
    tx: &'r mpsc::Sender<Chunk>,
}

/// The next chunk of headers, claimed; reads the next page when the current one is used up.
/// `None` at the end (or once the applier stopped); a failed page read is the last item.
async fn next_claimed(
    cx: &ReaderCtx<'_>,
    mut st: Reading,
) -> Option<(Result<(Vec<PoHeader>, Vec<i64>)>, Reading)> {
    if st.failed {
        return None;
    }
    if st.headers.is_empty() && st.more {
        let s = &cx.engine.context().settings;
        let page = cx
            .engine
            .context()
            .netsuite
            .po_headers_page(&st.cursor, &s.body_fields(), s.page_size)
            .await
            .context("reading changed NetSuite POs");
        match page {
            Ok(page) => {
                match (page.has_more, page.next_cursor()) {
                    (true, Some(n)) => st.cursor = n,
                    _ => st.more = false,
                }
                st.headers.extend(page.headers);
            }
            Err(e) => {
                st.failed = true;
                return Some((Err(e), st));
            }
        }
    }
    // A chunk never spans pages: it ends where its page ends at the latest.
    let n = STAGE_CHUNK.min(st.headers.len());
    if n == 0 {
        return None;
    }
    let chunk: Vec<PoHeader> = st.headers.drain(..n).collect();
    let ids: Vec<i64> = chunk.iter().map(|h| h.id).collect();
    if !cx.in_flight.claim(&ids, || cx.tx.is_closed()).await {
        return None;
    }
    Some((Ok((chunk, ids)), st))
}

/// Stages a claimed chunk as a task of its own, so chunks staged side by side (parsing
/// NetSuite's pages, planning) use every worker thread, not only the cycle's. The task is
/// aborted when its handle is dropped: a chunk being staged when the cycle is cancelled stops
/// with the cycle instead of running on detached.
fn spawn_stage(
    engine: &Engine,
    claimed: Result<(Vec<PoHeader>, Vec<i64>)>,
    opts: CycleOptions,
    cache: &Arc<StageCache>,
) -> impl Future<Output = Result<(Chunk, CycleSummary)>> + use<> {
    let (engine, cache) = (engine.clone(), Arc::clone(cache));
    let task = AbortOnDropHandle::new(tokio::spawn(async move {
        stage_claimed(&engine, claimed, opts, &cache).await
    }));
    task.map(|joined| {
        joined
            .map_err(|e| anyhow::anyhow!("a staging task ended abnormally: {e}"))
            .and_then(|staged| staged)
    })
}

/// Stages one claimed chunk: its jobs for the applier, and its share of the summary.
async fn stage_claimed(
    engine: &Engine,
    claimed: Result<(Vec<PoHeader>, Vec<i64>)>,
    opts: CycleOptions,
    cache: &StageCache,
) -> Result<(Chunk, CycleSummary)> {
    let (chunk, ids) = claimed?;
    let done = chunk.last().map(PoHeader::cursor);
    let mut sum = CycleSummary::default();
    let staged = engine.stage(chunk, false, opts, &mut sum, cache).await?;
    let chunk = Chunk {
        jobs: staged.jobs,
        ids,
        done,
    };
    Ok((chunk, sum))
}
