//! The poll cycle's changed POs as a pipeline: NetSuite pages are cut into chunks; one task
//! reads and plans chunk after chunk ([`Engine::stage`]) while another applies the staged jobs
//! as one continuous stream, up to `apply_concurrency` at once, across chunk boundaries.
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
use std::sync::Mutex;

use anyhow::{Context as _, Result};
use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{Notify, mpsc};
use tracing::debug;

use super::po_sync::{CycleOptions, CycleSummary, Engine, Job, StageCache, tally};
use crate::netsuite::{PoCursor, PoHeader};

/// POs staged at a time. Small enough that the first apply starts early; large enough that a
/// chunk's lines are a few full SuiteQL pages. Vendors, items and parts read by an earlier chunk
/// are not read again ([`StageCache`]), so chunking adds only line pages at chunk edges.
pub const STAGE_CHUNK: usize = 200;

/// Staged chunks waiting for the applier: the reader runs at most this far ahead (memory).
const CHUNKS_AHEAD: usize = 2;

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
        match self.ids.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
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
    /// checkpoint (`high`: where it stands) as chunks complete; `seen` gets every header read.
    pub(super) async fn run_pages(
        &self,
        mut cursor: PoCursor,
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
            let mut cache = StageCache::default();
            loop {
                let page = self
                    .context()
                    .netsuite
                    .po_headers_page(&cursor, &s.body_fields(), s.page_size)
                    .await
                    .context("reading changed NetSuite POs")?;
                let next = page.next_cursor();
                seen.extend(page.headers.iter().map(|h| h.id));
                let mut headers = page.headers.into_iter().peekable();
                while headers.peek().is_some() {
                    let chunk: Vec<PoHeader> = headers.by_ref().take(STAGE_CHUNK).collect();
                    let ids: Vec<i64> = chunk.iter().map(|h| h.id).collect();
                    let done = chunk.last().map(PoHeader::cursor);
                    if !in_flight.claim(&ids, || tx.is_closed()).await {
                        return Ok(());
                    }
                    let staged = self
                        .stage(chunk, false, opts, &mut read_sum, &mut cache)
                        .await?;
                    let chunk = Chunk {
                        jobs: staged.jobs,
                        ids,
                        done,
                    };
                    if tx.send(chunk).await.is_err() {
                        // The applier stopped on an error; that error is the cycle's.
                        return Ok(());
                    }
                }
                match (page.has_more, next) {
                    (true, Some(n)) => cursor = n,
                    _ => return Ok(()),
                }
            }
        };

        let applier = async {
            let cap = s.apply_concurrency.max(1);
            let mut waiting: VecDeque<(u64, Job)> = VecDeque::new();
            let mut tracks: VecDeque<Track> = VecDeque::new();
            let mut running = FuturesUnordered::new();
            let mut next_seq: u64 = 0;
            let mut reader_open = true;
            let mut failure: Option<anyhow::Error> = None;
            let outcome = loop {
                while failure.is_none() && running.len() < cap {
                    let Some((seq, job)) = waiting.pop_front() else {
                        break;
                    };
                    running.push(async move { (seq, self.run_job(job, opts).await) });
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
                    Some((seq, results)) = running.next(), if !running.is_empty() => {
                        if let Some(t) = tracks.iter_mut().find(|t| t.seq == seq) {
                            t.left -= 1;
                        }
                        if let Err(e) = tally(sum, results)
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
