//! The `run` loop: two poll loops, the scheduled full reconciliation, systemd notification and a
//! graceful stop.
//!
//! Shape (after mini-redis's background tasks): each loop is
//! `while !shutdown { run one cycle; select! { sleep(interval), shutdown } }`. The full
//! reconciliation is *requested* by the cron job and *executed* by the NetSuite loop between two
//! cycles, so it never races a PO cycle over the same purchase orders.
//!
//! What a cycle does is behind [`Work`], so this module knows nothing about NetSuite or ION and
//! its timing is testable with paused tokio time.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio_cron_scheduler::{Job, JobScheduler};

/// A boxed future returned by [`Work`] methods: the cycle's one-line summary, or its failure.
pub type CycleFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<String>> + Send + 'a>>;

/// The three jobs the daemon schedules. Each call is one bounded unit of work: clients have
/// timeouts and bounded retries, so a cycle cannot hang the loop.
pub trait Work: Send + Sync + 'static {
    /// One NetSuite → ION cycle (changed and deleted purchase orders).
    fn po_cycle(&self) -> CycleFuture<'_>;
    /// One ION → NetSuite cycle (settled receipts).
    fn receipts_cycle(&self) -> CycleFuture<'_>;
    /// Compare every linked, still-open PO field by field on both sides.
    fn full_reconcile(&self) -> CycleFuture<'_>;
}

/// When each job runs.
#[derive(Debug, Clone)]
pub struct Timing {
    pub netsuite_poll: Duration,
    pub ion_receipts_poll: Duration,
    /// Six-field cron expression (validated by the config), in server local time.
    pub full_reconcile: String,
    /// How long a stop request waits for the cycle in flight before abandoning it. Abandoning
    /// is safe: every remote create is preceded by a durable intent.
    pub stop_grace: Duration,
}

/// Progress marks the systemd watchdog is fed from: the watchdog is pinged only while both loops
/// have shown progress recently, so a wedged loop gets the service restarted.
#[derive(Debug, Default)]
pub struct Heartbeat {
    netsuite: AtomicI64,
    receipts: AtomicI64,
}

impl Heartbeat {
    fn now_ms() -> i64 {
        chrono::Utc::now().timestamp_millis()
    }

    fn beat(&self, which: Loop) {
        let slot = match which {
            Loop::NetSuite => &self.netsuite,
            Loop::Receipts => &self.receipts,
        };
        slot.store(Self::now_ms(), Ordering::Relaxed);
    }

    /// Whether both loops showed progress within `window`.
    pub fn healthy(&self, window: Duration) -> bool {
        let now = Self::now_ms();
        let limit = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        [&self.netsuite, &self.receipts]
            .iter()
            .all(|s| now.saturating_sub(s.load(Ordering::Relaxed)) <= limit)
    }
}

#[derive(Debug, Clone, Copy)]
enum Loop {
    NetSuite,
    Receipts,
}

/// Runs until `shutdown` resolves, then lets the cycles in flight finish (up to
/// `timing.stop_grace`) and returns.
pub async fn run<W: Work>(
    work: Arc<W>,
    timing: Timing,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let heartbeat = Arc::new(Heartbeat::default());
    heartbeat.beat(Loop::NetSuite);
    heartbeat.beat(Loop::Receipts);

    // The cron job only asks; the NetSuite loop does the work between two cycles.
    let (reconcile_tx, reconcile_rx) = mpsc::channel::<()>(1);
    let mut scheduler = JobScheduler::new().await?;
    let job = Job::new_async_tz(
        timing.full_reconcile.as_str(),
        chrono::Local,
        move |_, _| {
            let tx = reconcile_tx.clone();
            Box::pin(async move {
                // A full channel means one is already pending: coalesce.
                let _ = tx.try_send(());
            })
        },
    )?;
    scheduler.add(job).await?;
    scheduler.start().await?;

    let ns = tokio::spawn(netsuite_loop(
        work.clone(),
        timing.clone(),
        stop_rx.clone(),
        reconcile_rx,
        heartbeat.clone(),
    ));
    let rc = tokio::spawn(receipts_loop(
        work.clone(),
        timing.clone(),
        stop_rx.clone(),
        heartbeat.clone(),
    ));
    let wd = tokio::spawn(watchdog_loop(heartbeat.clone(), stop_rx.clone()));

    notify(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status("running"),
    ]);
    tracing::info!(
        netsuite_poll = %humantime::format_duration(timing.netsuite_poll),
        ion_receipts_poll = %humantime::format_duration(timing.ion_receipts_poll),
        full_reconcile = %timing.full_reconcile,
        "daemon started"
    );

    shutdown.await;
    tracing::info!("stop requested: finishing the cycles in flight");
    notify(&[
        sd_notify::NotifyState::Stopping,
        sd_notify::NotifyState::Status("stopping"),
    ]);
    let _ = stop_tx.send(true);
    let _ = scheduler.shutdown().await;
    for (name, handle) in [("netsuite", ns), ("receipts", rc)] {
        if let Err(e) = handle.await {
            tracing::error!(loop_name = name, error = %e, "loop ended abnormally");
        }
    }
    wd.abort();
    tracing::info!("daemon stopped");
    Ok(())
}

async fn netsuite_loop<W: Work>(
    work: Arc<W>,
    timing: Timing,
    mut stop: watch::Receiver<bool>,
    mut reconcile: mpsc::Receiver<()>,
    heartbeat: Arc<Heartbeat>,
) {
    loop {
        heartbeat.beat(Loop::NetSuite);
        run_cycle("netsuite_poll", work.po_cycle(), &timing, &mut stop).await;
        heartbeat.beat(Loop::NetSuite);
        if *stop.borrow() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(timing.netsuite_poll) => {}
            Some(()) = reconcile.recv() => {
                heartbeat.beat(Loop::NetSuite);
                run_cycle("full_reconcile", work.full_reconcile(), &timing, &mut stop).await;
            }
            _ = stop.changed() => return,
        }
    }
}

async fn receipts_loop<W: Work>(
    work: Arc<W>,
    timing: Timing,
    mut stop: watch::Receiver<bool>,
    heartbeat: Arc<Heartbeat>,
) {
    loop {
        heartbeat.beat(Loop::Receipts);
        run_cycle(
            "ion_receipts_poll",
            work.receipts_cycle(),
            &timing,
            &mut stop,
        )
        .await;
        heartbeat.beat(Loop::Receipts);
        if *stop.borrow() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(timing.ion_receipts_poll) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Runs one cycle; a stop request gives it `stop_grace` to finish, then drops it.
async fn run_cycle(
    name: &str,
    cycle: CycleFuture<'_>,
    timing: &Timing,
    stop: &mut watch::Receiver<bool>,
) {
    let mut cycle = cycle;
    let outcome = tokio::select! {
        r = &mut cycle => Some(r),
        _ = wait_for_stop(stop) => {
            tokio::time::timeout(timing.stop_grace, &mut cycle).await.ok()
        }
    };
    match outcome {
        Some(Ok(summary)) => {
            tracing::info!(cycle = name, %summary, "cycle finished");
            notify(&[sd_notify::NotifyState::Status(&format!(
                "{name}: {summary}"
            ))]);
        }
        Some(Err(e)) => {
            tracing::error!(
                cycle = name,
                error = format!("{e:#}"),
                "cycle failed; retried next time"
            );
        }
        None => tracing::warn!(
            cycle = name,
            "cycle abandoned at stop after the grace period; it resumes safely at the next start"
        ),
    }
}

async fn wait_for_stop(stop: &mut watch::Receiver<bool>) {
    while !*stop.borrow() {
        if stop.changed().await.is_err() {
            // Sender gone: nobody can ask us to stop any more.
            std::future::pending::<()>().await;
        }
    }
}

/// Pings systemd's watchdog at half its interval while both loops make progress.
async fn watchdog_loop(heartbeat: Arc<Heartbeat>, mut stop: watch::Receiver<bool>) {
    let mut usec = 0u64;
    if !sd_notify::watchdog_enabled(false, &mut usec) || usec == 0 {
        return;
    }
    let interval = Duration::from_micros(usec);
    loop {
        if heartbeat.healthy(interval) {
            notify(&[sd_notify::NotifyState::Watchdog]);
        } else {
            tracing::error!("a poll loop shows no progress; withholding the watchdog ping");
        }
        tokio::select! {
            _ = tokio::time::sleep(interval / 2) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Best effort: outside systemd (`NOTIFY_SOCKET` unset) this does nothing.
fn notify(states: &[sd_notify::NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(false, states) {
        tracing::debug!(error = %e, "sd_notify failed");
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn termination_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the daemon");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use tokio::sync::Notify;

    #[derive(Default)]
    struct Counting {
        po: AtomicUsize,
        receipts: AtomicUsize,
        reconcile: AtomicUsize,
        reconciled: Notify,
        /// Held by the PO cycle until released, to test a stop with a cycle in flight.
        block_po: Option<Arc<Notify>>,
    }

    impl Work for Counting {
        fn po_cycle(&self) -> CycleFuture<'_> {
            Box::pin(async move {
                let n = self.po.fetch_add(1, Ordering::SeqCst);
                if let Some(gate) = &self.block_po {
                    gate.notified().await;
                }
                Ok(format!("po cycle {n}"))
            })
        }
        fn receipts_cycle(&self) -> CycleFuture<'_> {
            Box::pin(async move {
                self.receipts.fetch_add(1, Ordering::SeqCst);
                Err(anyhow::anyhow!("a failing cycle must not stop the loop"))
            })
        }
        fn full_reconcile(&self) -> CycleFuture<'_> {
            Box::pin(async move {
                self.reconcile.fetch_add(1, Ordering::SeqCst);
                self.reconciled.notify_one();
                Ok("reconciled".into())
            })
        }
    }

    fn timing(cron: &str) -> Timing {
        Timing {
            netsuite_poll: Duration::from_secs(60),
            ion_receipts_poll: Duration::from_secs(30),
            full_reconcile: cron.into(),
            stop_grace: Duration::from_secs(20),
        }
    }

    /// Lets every ready task run (paused time auto-advances only when all tasks are idle).
    async fn settle() {
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn loops_follow_their_intervals_and_survive_failures() {
        let work = Arc::new(Counting::default());
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let daemon = tokio::spawn(run(work.clone(), timing("0 0 0 1 1 *"), async {
            let _ = stop_rx.await;
        }));
        settle().await;
        assert_eq!(work.po.load(Ordering::SeqCst), 1);
        assert_eq!(work.receipts.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_secs(61)).await;
        settle().await;
        assert_eq!(
            work.po.load(Ordering::SeqCst),
            2,
            "one more PO cycle after 60 s"
        );
        assert_eq!(
            work.receipts.load(Ordering::SeqCst),
            3,
            "receipts every 30 s, despite failing"
        );
        let _ = stop_tx.send(());
        daemon.await.expect("join").expect("daemon ok");
        let po = work.po.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(600)).await;
        assert_eq!(work.po.load(Ordering::SeqCst), po, "no cycle after stop");
    }

    #[tokio::test(start_paused = true)]
    async fn stop_waits_for_the_cycle_in_flight_within_the_grace() {
        let gate = Arc::new(Notify::new());
        let work = Arc::new(Counting {
            block_po: Some(gate.clone()),
            ..Default::default()
        });
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let daemon = tokio::spawn(run(work.clone(), timing("0 0 0 1 1 *"), async {
            let _ = stop_rx.await;
        }));
        settle().await;
        assert_eq!(work.po.load(Ordering::SeqCst), 1);
        let _ = stop_tx.send(());
        settle().await;
        assert!(!daemon.is_finished(), "the PO cycle is still in flight");
        gate.notify_one();
        daemon.await.expect("join").expect("daemon ok");
    }

    #[tokio::test(start_paused = true)]
    async fn a_wedged_cycle_is_abandoned_after_the_grace() {
        let gate = Arc::new(Notify::new()); // never released
        let work = Arc::new(Counting {
            block_po: Some(gate),
            ..Default::default()
        });
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let daemon = tokio::spawn(run(work.clone(), timing("0 0 0 1 1 *"), async {
            let _ = stop_rx.await;
        }));
        settle().await;
        let _ = stop_tx.send(());
        // Paused time jumps over the 20 s grace; the daemon returns instead of hanging.
        daemon.await.expect("join").expect("daemon ok");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_cron_schedule_requests_a_full_reconciliation() {
        let work = Arc::new(Counting::default());
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        // Every second: the scheduler runs on real time.
        let daemon = tokio::spawn(run(work.clone(), timing("* * * * * *"), async {
            let _ = stop_rx.await;
        }));
        tokio::time::timeout(Duration::from_secs(10), work.reconciled.notified())
            .await
            .expect("a full reconciliation within 10 s of a per-second schedule");
        assert!(work.reconcile.load(Ordering::SeqCst) >= 1);
        let _ = stop_tx.send(());
        daemon.await.expect("join").expect("daemon ok");
    }

    #[test]
    fn heartbeat_health() {
        let hb = Heartbeat::default();
        assert!(!hb.healthy(Duration::from_secs(1)), "never beat");
        hb.beat(Loop::NetSuite);
        assert!(!hb.healthy(Duration::from_secs(1)), "receipts never beat");
        hb.beat(Loop::Receipts);
        assert!(hb.healthy(Duration::from_secs(1)));
    }
}
