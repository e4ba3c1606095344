//! `backfill --since DATE` (SPEC §7): the engine's path from a date, against both simulators
//! over real HTTP; the library for the page-level behaviour, the real binary for the command
//! line (exit codes, dry run, logs, SIGKILL, Ctrl-C and re-run).
//!
//! The NetSuite simulator runs in Los Angeles time, so DATE is a Los Angeles day: a PO changed
//! at 23:30 the evening before (07:30 UTC on DATE) is *not* imported.

use std::process::Stdio;

use crate::support::sync::*;
use chrono::{DateTime, TimeZone, Utc};
use netsuite_ion_sync::sandbox::ion::Kind;
use netsuite_ion_sync::store::{Checkpoint, Cursor, Store};
use netsuite_ion_sync::sync::backfill::{self, BackfillOptions, PageProgress, SinceDate};
use netsuite_ion_sync::sync::{Engine, SyncSettings};
use tokio::process::Command;

fn utc(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, d, h, m, 0).unwrap()
}

/// Four POs around `--since 2026-01-14` (Los Angeles): `old` on the 10th, `eve` at 23:30 on the
/// 13th (07:30 UTC on the 14th), `early` at 01:00 on the 14th, `late` at 10:00 on the 15th.
struct Data {
    vendor: i64,
    part: i64,
    old: i64,
    eve: i64,
    early: i64,
    late: i64,
}

fn data(s: &Sims) -> Data {
    let vendor = s.vendor("Acme");
    let part = s.part("P-1");
    s.ns.set_now(utc(10, 12, 0));
    let old = s.po(vendor, "B", vec![line(part, 1.0)]);
    s.ns.set_now(utc(14, 7, 30));
    let eve = s.po(vendor, "B", vec![line(part, 2.0)]);
    s.ns.set_now(utc(14, 9, 0));
    let early = s.po(vendor, "B", vec![line(part, 3.0)]);
    s.ns.set_now(t0());
    let late = s.po(vendor, "A", vec![line(part, 4.0)]);
    Data {
        vendor,
        part,
        old,
        eve,
        early,
        late,
    }
}

fn opts(since: &str, dry_run: bool) -> BackfillOptions {
    BackfillOptions {
        since: SinceDate::parse(since).expect("date"),
        dry_run,
    }
}

fn small_pages(n: u32) -> SyncSettings {
    let mut s = settings();
    s.page_size = n;
    s
}

async fn backfill_collect(
    engine: &Engine,
    o: BackfillOptions,
) -> (backfill::BackfillSummary, Vec<PageProgress>) {
    let mut pages = Vec::new();
    let sum = backfill::run(engine, &o, &mut |r| pages.push(r.progress.clone()))
        .await
        .expect("backfill runs");
    (sum, pages)
}

fn cursor(at: &str, id: i64) -> Cursor {
    Cursor { at: at.into(), id }
}

#[tokio::test]
async fn imports_from_the_date_in_the_account_zone_and_the_cycle_continues_from_there() {
    let s = Sims::default().await;
    let d = data(&s);
    let dir = tempfile::tempdir().unwrap();
    let engine = s.engine(dir.path(), small_pages(1));

    let (sum, pages) = backfill_collect(&engine, opts("2026-01-14", false)).await;
    assert!(sum.ok(), "{sum}");
    assert_eq!(
        (sum.sum.seen, sum.sum.applied, sum.pages),
        (2, 2, 2),
        "{sum}"
    );
    assert!(!sum.resumed);
    // One progress report per page; the total is NetSuite's totalResults of the first page.
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].total, Some(2));
    assert_eq!((pages[0].read, pages[1].read), (1, 2));
    assert_eq!(s.ion_po(d.early)["status"], "ORDERED");
    assert_eq!(s.ion_po(d.late)["status"], "DRAFT");
    assert!(s.ion_pos_for(d.old).is_empty(), "modified before DATE");
    assert!(
        s.ion_pos_for(d.eve).is_empty(),
        "23:30 the evening before DATE in the account's zone (07:30 UTC on DATE)"
    );

    let store = &engine.context().store;
    let late_cursor = cursor("2026-01-15 10:00:00", d.late);
    assert_eq!(
        store
            .checkpoint(Checkpoint::NetSuitePurchaseOrders)
            .unwrap(),
        Some(late_cursor.clone()),
        "the checkpoint ends at the last PO read"
    );
    assert_eq!(
        store.checkpoint(Checkpoint::NetSuiteDeletions).unwrap(),
        Some(cursor("2026-01-14 00:00:00", 0)),
        "older deletions are not replayed"
    );
    assert_eq!(
        store.checkpoint(Checkpoint::IonReceiptItems).unwrap(),
        Some(cursor("2026-01-14T00:00:00Z", 0)),
        "older ION receipts (of POs an earlier integration made) are not mirrored again"
    );
    assert_eq!(store.backfill_progress().unwrap(), None, "finished");
    let report = store.status().unwrap();
    let reported = report
        .cycles
        .iter()
        .find(|c| c.loop_name == "backfill")
        .expect("reported in status");
    assert!(reported.ok, "{reported:?}");

    // The cycle takes over: it imports what changes later (the old PO, edited now, and a new
    // one) and nothing from before DATE that stays unchanged.
    s.ns.set_now(t0() + chrono::Duration::hours(2));
    s.ns.set_po_field(d.old, "memo", Some("edited after the backfill"))
        .unwrap();
    let new = s.po(d.vendor, "B", vec![line(d.part, 5.0)]);
    let sum = cycle(&engine).await;
    assert_eq!((sum.applied, sum.failed), (2, 0), "{sum}");
    assert_eq!(s.ion_po(d.old)["description"], "edited after the backfill");
    assert_eq!(s.ion_po(new)["status"], "ORDERED");
    assert!(s.ion_pos_for(d.eve).is_empty(), "never imported");
    assert_eq!(s.ion.ids(Kind::PurchaseOrder).len(), 4);
}

#[tokio::test]
async fn a_later_checkpoint_never_moves_back_and_an_earlier_date_fills_the_gap() {
    let s = Sims::default().await;
    let d = data(&s);
    let dir = tempfile::tempdir().unwrap();
    let engine = s.engine(dir.path(), small_pages(2));
    let store = engine.context().store.clone();

    let (sum, _) = backfill_collect(&engine, opts("2026-01-15", false)).await;
    assert_eq!(sum.sum.applied, 1, "{sum}");
    assert!(s.ion_pos_for(d.early).is_empty());
    let at_late = Some(cursor("2026-01-15 10:00:00", d.late));
    assert_eq!(
        store
            .checkpoint(Checkpoint::NetSuitePurchaseOrders)
            .unwrap(),
        at_late
    );

    // An earlier date: the checkpoint is later than DATE, the POs in between are read anyway
    // (the checkpoint does not say they ever were), the checkpoint stays.
    s.ion.reset_counters();
    let (sum, _) = backfill_collect(&engine, opts("2026-01-13", false)).await;
    assert_eq!(
        (sum.sum.seen, sum.sum.applied, sum.sum.unchanged),
        (3, 2, 1),
        "{sum}"
    );
    assert_eq!(s.ion_po(d.early)["status"], "ORDERED");
    assert_eq!(s.ion_po(d.eve)["status"], "ORDERED");
    assert!(s.ion_pos_for(d.old).is_empty());
    assert_eq!(
        store
            .checkpoint(Checkpoint::NetSuitePurchaseOrders)
            .unwrap(),
        at_late,
        "never moved back"
    );
    // The deletions checkpoint was set by the first backfill and is not touched again.
    assert_eq!(
        store.checkpoint(Checkpoint::NetSuiteDeletions).unwrap(),
        Some(cursor("2026-01-15 00:00:00", 0))
    );
    assert_eq!(
        store.checkpoint(Checkpoint::IonReceiptItems).unwrap(),
        Some(cursor("2026-01-15T00:00:00Z", 0))
    );

    // Running it again is idempotent: everything unchanged, no ION write.
    s.ion.reset_counters();
    let (sum, _) = backfill_collect(&engine, opts("2026-01-13", false)).await;
    assert_eq!((sum.sum.seen, sum.sum.unchanged), (3, 3), "{sum}");
    assert_eq!(ion_writes(&s), 0, "{:?}", s.ion.request_counts());
}

#[tokio::test]
async fn dry_run_plans_every_po_and_changes_nothing() {
    let s = Sims::default().await;
    let d = data(&s);
    let dir = tempfile::tempdir().unwrap();
    let engine = s.engine(dir.path(), small_pages(1));
    let mut plans = Vec::new();
    let sum = backfill::run(&engine, &opts("2026-01-14", true), &mut |r| {
        plans.extend(r.plans.iter().map(|p| p.ns_po_id))
    })
    .await
    .expect("dry run");
    assert_eq!(sum.sum.seen, 2, "{sum}");
    assert_eq!(
        plans,
        vec![d.early, d.late],
        "one plan per PO, page by page"
    );
    assert!(s.ion.ids(Kind::PurchaseOrder).is_empty(), "ION untouched");
    assert!(s.ion.suppliers().is_empty(), "no supplier created");
    let store = &engine.context().store;
    let status = store.status().unwrap();
    assert!(status.checkpoints.is_empty(), "{:?}", status.checkpoints);
    assert_eq!(status.backfill, None);
    assert!(status.cycles.is_empty(), "a dry run records nothing");
    assert_eq!(status.po_links, 0);
}

/// Interrupted mid-page while ION has applied a create it has not answered yet (a crash or
/// Ctrl-C at the worst instant): the completed pages are recorded, and the re-run resumes after
/// them and converges to exactly one ION PO per NetSuite PO.
#[tokio::test]
async fn an_interrupted_backfill_resumes_after_the_completed_pages_without_duplicates() {
    let s = Sims::default().await;
    let v = s.vendor("Acme");
    let p = s.part("P-1");
    // Ten POs two hours apart (more than the re-read overlap), in pages of three.
    let mut pos = Vec::new();
    for k in 0..10 {
        s.ns.set_now(utc(14, 9, 0) + chrono::Duration::hours(2 * k));
        pos.push(s.po(v, "B", vec![line(p, 1.0), line(p, 2.0)]));
    }
    let dir = tempfile::tempdir().unwrap();
    let engine = s.engine(dir.path(), small_pages(3));
    let store = engine.context().store.clone();

    // After page 2, the 3rd ION request from then on (page 3's create) is applied, never
    // answered; the backfill is dropped right then.
    let crash: std::sync::Mutex<Option<std::sync::Arc<tokio::sync::Notify>>> =
        std::sync::Mutex::new(None);
    let armed = tokio::sync::Notify::new();
    let o = opts("2026-01-14", false);
    let mut observer = |r: &backfill::PageReport<'_>| {
        if r.progress.pages == 2 {
            *crash.lock().unwrap() = Some(s.ion.arm_crash_point(3));
            armed.notify_one();
        }
    };
    let mut run = Box::pin(backfill::run(&engine, &o, &mut observer));
    tokio::select! {
        r = &mut run => panic!("finished before page 2: {:?}", r.map(|s| s.to_string())),
        () = armed.notified() => {}
    }
    let fired = crash.lock().unwrap().take().expect("armed");
    tokio::select! {
        r = &mut run => panic!("finished before the crash point: {:?}", r.map(|s| s.to_string())),
        () = fired.notified() => {}
    }
    drop(run); // abandoned mid-request, as a Ctrl-C or a crash would
    s.ion.disarm_crash_point();

    let progress = store.backfill_progress().unwrap().expect("unfinished");
    assert_eq!(progress.reached.id, pos[5], "two pages of three recorded");
    assert_eq!(
        store
            .checkpoint(Checkpoint::NetSuitePurchaseOrders)
            .unwrap(),
        Some(progress.reached.clone())
    );
    let linked = store.po_links().unwrap().len();
    let in_ion = s.ion.ids(Kind::PurchaseOrder).len();
    assert!(
        in_ion > linked,
        "ION holds a PO the store does not know yet ({in_ion} vs {linked})"
    );

    // The re-run resumes: it reads only from the last recorded PO (less the overlap) on.
    let (sum, pages) = backfill_collect(&engine, o).await;
    assert!(sum.resumed, "{sum}");
    assert!(sum.ok(), "{sum}");
    assert_eq!(
        sum.sum.seen, 5,
        "the last recorded PO again, then the 4 after it: {sum}"
    );
    assert_eq!(pages[0].total, Some(5));
    for &po in &pos {
        let ion = s.ion_po(po); // exactly one each
        assert_eq!(s.ion_lines(&ion).len(), 2, "PO{po}: no duplicate lines");
    }
    assert_eq!(s.ion.ids(Kind::PurchaseOrder).len(), pos.len());
    assert_eq!(store.po_links().unwrap().len(), pos.len());
    assert_eq!(store.backfill_progress().unwrap(), None);
}

// ---- the real binary ----

async fn run_bin(config: &std::path::Path, args: &[&str], log: &str) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_netsuite-ion-sync"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("RUST_LOG", log)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_line_dry_run_then_backfill_then_once() {
    let s = Sims::default().await;
    let d = data(&s);
    let dir = tempfile::tempdir().unwrap();
    let config = s.write_config(dir.path());

    let (code, out, err) = run_bin(
        &config,
        &["backfill", "--since", "2026-01-14", "--dry-run"],
        "warn",
    )
    .await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains(&format!("NetSuite PO PO{}", d.early)), "{out}");
    assert!(out.contains(&format!("NetSuite PO PO{}", d.late)), "{out}");
    assert!(!out.contains(&format!("PO{} ", d.old)), "{out}");
    assert!(out.contains("ION: create PO as DRAFT"), "{out}");
    assert!(out.contains("dry run: nothing was changed"), "{out}");
    assert!(s.ion.ids(Kind::PurchaseOrder).is_empty(), "ION untouched");
    {
        let store = Store::open(&dir.path().join("state")).expect("store");
        let status = store.status().unwrap();
        assert!(status.checkpoints.is_empty(), "no checkpoint: {status:?}");
        assert_eq!(status.backfill, None);
    }

    // For real; without a terminal, one info line per page in the (JSON) log.
    let (code, out, err) = run_bin(&config, &["backfill", "--since", "2026-01-14"], "info").await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("2 POs read"), "{out}");
    let page_lines = err
        .lines()
        .filter(|l| l.contains("backfill page done"))
        .count();
    assert_eq!(page_lines, 1, "{err}");
    assert!(!err.contains('\r'), "no progress line off a terminal");
    assert_eq!(s.ion_po(d.early)["status"], "ORDERED");
    assert!(s.ion_pos_for(d.old).is_empty() && s.ion_pos_for(d.eve).is_empty());

    // `status` shows it; `once` continues from the checkpoint: only later changes.
    let (code, out, _) = run_bin(&config, &["status"], "warn").await;
    assert_eq!(code, 0);
    assert!(out.contains("backfill"), "{out}");
    assert!(
        out.contains(&format!("2026-01-15 10:00:00 / id {}", d.late)),
        "{out}"
    );
    s.ns.set_now(t0() + chrono::Duration::hours(3));
    let new = s.po(d.vendor, "B", vec![line(d.part, 1.0)]);
    let (code, out, err) = run_bin(&config, &["once"], "warn").await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(s.ion_po(new)["status"], "ORDERED");
    assert!(s.ion_pos_for(d.old).is_empty() && s.ion_pos_for(d.eve).is_empty());
    assert_eq!(s.ion.ids(Kind::PurchaseOrder).len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_date_is_a_usage_error_naming_the_argument() {
    let s = Sims::default().await;
    let dir = tempfile::tempdir().unwrap();
    let config = s.write_config(dir.path());
    for bad in ["2026-13-01", "14/01/2026", "yesterday"] {
        let (code, out, err) = run_bin(&config, &["backfill", "--since", bad], "warn").await;
        assert_eq!(code, 2, "{bad}: {out}\n{err}");
        assert!(err.contains("--since"), "{bad}: {err}");
        assert!(err.contains("YYYY-MM-DD"), "{bad}: {err}");
    }
    let (code, _, err) = run_bin(&config, &["backfill"], "warn").await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--since"), "{err}");
    assert!(!dir.path().join("state").exists(), "nothing was opened");
}

/// SIGKILL in the middle of the page (ION applied a request whose answer never arrived), then
/// the same command again: exactly one ION PO per NetSuite PO.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_backfill_then_rerun_creates_no_duplicates() {
    let s = Sims::default().await;
    let v = s.vendor("Acme");
    let p = s.part("P-1");
    s.ns.set_now(utc(14, 12, 0));
    let pos: Vec<i64> = (0..30)
        .map(|k| {
            s.po(
                v,
                if k % 3 == 0 { "A" } else { "B" },
                vec![line(p, 1.0), line(p, 2.0)],
            )
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let config = s.write_config(dir.path());

    let fired = s.ion.arm_crash_point(6);
    let mut child = Command::new(env!("CARGO_BIN_EXE_netsuite-ion-sync"))
        .arg("--config")
        .arg(&config)
        .args(["backfill", "--since", "2026-01-14"])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("child starts");
    tokio::select! {
        () = fired.notified() => child.start_kill().expect("SIGKILL"),
        status = child.wait() => panic!("finished before the crash point: {status:?}"),
    }
    let status = child.wait().await.expect("exit");
    assert!(status.code().is_none(), "killed: {status:?}");
    s.ion.disarm_crash_point();
    assert!(
        !s.ion.ids(Kind::PurchaseOrder).is_empty(),
        "the kill came after ION created something"
    );

    let (code, out, err) = run_bin(&config, &["backfill", "--since", "2026-01-14"], "warn").await;
    assert_eq!(code, 0, "{out}\n{err}");
    for &po in &pos {
        let ion = s.ion_po(po);
        assert_eq!(s.ion_lines(&ion).len(), 2, "PO{po}");
    }
    assert_eq!(s.ion.ids(Kind::PurchaseOrder).len(), pos.len());
    let suppliers = s.ion.suppliers();
    assert_eq!(suppliers.len(), 1, "{suppliers:?}");
}

/// Ctrl-C (SIGINT) while a request hangs: the command stops at once with exit 1, says how to
/// resume, and `status` shows the interrupted backfill; the same command then finishes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_stops_the_backfill_safely_and_the_rerun_finishes_it() {
    let s = Sims::default().await;
    let v = s.vendor("Acme");
    let p = s.part("P-1");
    s.ns.set_now(utc(14, 12, 0));
    let pos: Vec<i64> = (0..5).map(|_| s.po(v, "B", vec![line(p, 1.0)])).collect();
    let dir = tempfile::tempdir().unwrap();
    let config = s.write_config(dir.path());

    let fired = s.ion.arm_crash_point(2);
    let child = Command::new(env!("CARGO_BIN_EXE_netsuite-ion-sync"))
        .arg("--config")
        .arg(&config)
        .args(["backfill", "--since", "2026-01-14"])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("child starts");
    fired.notified().await;
    let pid = child.id().expect("pid").to_string();
    let sent = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .await
        .expect("kill runs");
    assert!(sent.success());
    let out = child.wait_with_output().await.expect("exit");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("run the same command again to resume"),
        "{err}"
    );
    s.ion.disarm_crash_point();

    let (code, status, _) = run_bin(&config, &["status"], "warn").await;
    assert_eq!(code, 0);
    assert!(
        status.contains("backfill") && status.contains("FAILED"),
        "{status}"
    );

    let (code, out, err) = run_bin(&config, &["backfill", "--since", "2026-01-14"], "warn").await;
    assert_eq!(code, 0, "{out}\n{err}");
    for &po in &pos {
        assert_eq!(s.ion_po(po)["status"], "ORDERED");
    }
}
