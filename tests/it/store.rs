//! The sled store: round trips, atomic multi-tree commits, durability across SIGKILL, the
//! single-process lock and the schema guard. Crash tests re-run this test binary as a child
//! process (the `child_*` entry points do nothing unless the parent set their variable).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use chrono::Utc;
use netsuite_ion_sync::store::{
    BackfillProgress, Checkpoint, Cursor, Leg, PoCommit, PoLink, PoProblems, Problem, ProblemKind,
    ReceiptKey, ReceiptLink, ReceiptState, Store, StoreError, VendorLink,
};

fn link(ns: i64, ion: i64) -> PoLink {
    PoLink {
        ns_po_id: ns,
        ion_po_id: ion,
        tran_id: format!("PO{ns}"),
        content_hash: format!("hash-{ns}"),
        last_lastmod: "2026-11-26 10:00:00".into(),
        line_map: BTreeMap::from([(1, ion * 10 + 1), (2, ion * 10 + 2)]),
    }
}

fn problem(kind: ProblemKind) -> Problem {
    Problem {
        kind,
        subject: "item 42 (WIDGET-1)".into(),
        message: "no ION part WIDGET-1".into(),
        first_seen: Utc::now(),
        last_seen: Utc::now(),
        attempts: 1,
    }
}

#[test]
fn round_trips_survive_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = Store::open(dir.path()).expect("open");
        store
            .set_checkpoint(
                Checkpoint::NetSuitePurchaseOrders,
                &Cursor {
                    at: "2026-11-26 09:59:59".into(),
                    id: 7,
                },
            )
            .expect("checkpoint");
        store
            .commit_po(&PoCommit {
                link: Some(link(100, 5)),
                ..Default::default()
            })
            .expect("link");
        store
            .put_vendor_link(&VendorLink {
                ns_vendor_id: 880,
                ion_supplier_id: 3,
                name: "Acme".into(),
            })
            .expect("vendor");
        let rl = ReceiptLink {
            key: ReceiptKey {
                ion_receipt_id: 9,
                ns_po_id: 100,
                batch: 1,
            },
            external_id: "ion-receipt-9-100".into(),
            state: ReceiptState::Intended,
            items: BTreeMap::from([(91, 2.5)]),
            recorded_at: Utc::now(),
        };
        store.put_receipt_link(&rl).expect("receipt");
    }
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(
        store
            .checkpoint(Checkpoint::NetSuitePurchaseOrders)
            .expect("read"),
        Some(Cursor {
            at: "2026-11-26 09:59:59".into(),
            id: 7
        })
    );
    assert_eq!(
        store.checkpoint(Checkpoint::IonReceiptItems).expect("read"),
        None
    );
    assert_eq!(store.po_link(100).expect("read"), Some(link(100, 5)));
    assert_eq!(store.po_link_by_ion(5).expect("read"), Some(link(100, 5)));
    assert_eq!(store.po_link(101).expect("read"), None);
    assert_eq!(
        store
            .vendor_link(880)
            .expect("read")
            .map(|v| v.ion_supplier_id),
        Some(3)
    );
    let receipts = store.receipt_links_of(9).expect("read");
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].state, ReceiptState::Intended);
    assert_eq!(receipts[0].items.get(&91), Some(&2.5));
    let status = store.status().expect("status");
    assert_eq!(
        (
            status.po_links,
            status.vendor_links,
            status.receipt_links,
            status.receipts_pending
        ),
        (1, 1, 1, 1)
    );
}

#[test]
fn vendor_links_written_together_survive_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let links: Vec<VendorLink> = (1..=50)
        .map(|v| VendorLink {
            ns_vendor_id: 900 + v,
            ion_supplier_id: v,
            name: format!("Vendor {v}"),
        })
        .collect();
    {
        let store = Store::open(dir.path()).expect("open");
        store.put_vendor_links(&[]).expect("nothing to write");
        store.put_vendor_links(&links).expect("links");
    }
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(store.vendor_links().expect("read"), links);
    assert_eq!(
        store.vendor_link(925).expect("read").map(|l| l.name),
        Some("Vendor 25".into())
    );
}

#[test]
fn one_commit_updates_link_index_problems_and_checkpoint_together() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let cursor = Cursor {
        at: "2026-11-26 10:00:00".into(),
        id: 100,
    };
    store
        .commit_po(&PoCommit {
            link: Some(link(100, 5)),
            problems: Some(PoProblems {
                ns_po_id: 100,
                tran_id: Some("PO100".into()),
                problems: vec![problem(ProblemKind::MissingPart)],
            }),
            checkpoint: Some((Checkpoint::NetSuitePurchaseOrders, cursor.clone())),
            ..Default::default()
        })
        .expect("commit");
    assert_eq!(
        store
            .checkpoint(Checkpoint::NetSuitePurchaseOrders)
            .expect("cp"),
        Some(cursor)
    );
    assert_eq!(
        store
            .problems_of(100)
            .expect("problems")
            .map(|p| p.problems.len()),
        Some(1)
    );

    // Relinking to another ION PO moves the reverse index.
    store
        .commit_po(&PoCommit {
            link: Some(link(100, 6)),
            ..Default::default()
        })
        .expect("relink");
    assert_eq!(store.po_link_by_ion(5).expect("read"), None);
    assert_eq!(
        store.po_link_by_ion(6).expect("read").map(|l| l.ns_po_id),
        Some(100)
    );

    // Unlinking removes link, index and problems in one go; clearing problems with an empty list.
    store
        .commit_po(&PoCommit {
            unlink: Some(100),
            ..Default::default()
        })
        .expect("unlink");
    assert_eq!(store.po_link(100).expect("read"), None);
    assert_eq!(store.po_link_by_ion(6).expect("read"), None);
    assert_eq!(store.problems_of(100).expect("read"), None);
}

#[test]
fn backfill_progress_and_checkpoint_floors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let floor = Cursor {
        at: "2026-01-14 00:00:00".into(),
        id: 0,
    };
    // A floor is set only where there is no checkpoint yet, and never moves an existing one.
    assert!(
        store
            .set_checkpoint_if_absent(Checkpoint::NetSuiteDeletions, &floor)
            .expect("floor")
    );
    let later = Cursor {
        at: "2026-02-01 00:00:00".into(),
        id: 9,
    };
    assert!(
        !store
            .set_checkpoint_if_absent(Checkpoint::NetSuiteDeletions, &later)
            .expect("floor")
    );
    assert_eq!(
        store.checkpoint(Checkpoint::NetSuiteDeletions).expect("cp"),
        Some(floor)
    );

    // A page's progress and the PO checkpoint are written together; finishing forgets the
    // progress but keeps the checkpoint; both survive a reopen.
    assert_eq!(store.backfill_progress().expect("read"), None);
    let progress = BackfillProgress {
        since: "2026-01-14".into(),
        reached: Cursor {
            at: "2026-01-15 10:00:00".into(),
            id: 42,
        },
        started: Utc::now(),
        updated: Utc::now(),
    };
    store
        .commit_backfill_page(&progress, Some(&progress.reached))
        .expect("page");
    drop(store);
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(
        store.backfill_progress().expect("read"),
        Some(progress.clone())
    );
    assert_eq!(
        store.status().expect("status").backfill,
        Some(progress.clone())
    );
    store.finish_backfill().expect("finish");
    assert_eq!(store.backfill_progress().expect("read"), None);
    assert_eq!(
        store
            .checkpoint(Checkpoint::NetSuitePurchaseOrders)
            .expect("cp"),
        Some(progress.reached)
    );
}

#[test]
fn second_opener_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _first = Store::open(dir.path()).expect("open");
    let err = Store::open(dir.path()).expect_err("second open must fail");
    assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("another netsuite-ion-sync is running on"),
        "{msg}"
    );
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
    assert!(
        msg.contains(&format!("pid {}", std::process::id())),
        "{msg}"
    );
}

/// A lock that is freed while `open` is still trying is taken, not refused: the moment a child
/// being started holds a copy of a just-closed lock (see `Store::open`) must not fail the open.
#[test]
fn a_lock_freed_within_the_grace_is_taken() {
    use std::sync::mpsc;
    use std::sync::{Mutex, OnceLock};
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    // A global subscriber, not a per-thread one: tracing caches per call site whether anyone
    // listens, and a thread-scoped subscriber can miss an event whose site another test's
    // thread reached first. It listens to the store's events only: every test of this binary
    // shares it, and the others must not pay for rendering their logs.
    static CONTENDED: OnceLock<Mutex<mpsc::Sender<()>>> = OnceLock::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let first = Store::open(dir.path()).expect("open");
    let (tx, contended) = mpsc::channel();
    CONTENDED.get_or_init(|| {
        let _ = tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(
                crate::support::log_signal::LogSignal {
                    // Only this test's store: other tests' opens may be refused meanwhile.
                    needles: vec![
                        "the store is locked".into(),
                        dir.path().display().to_string(),
                    ],
                    then: || {
                        if let Some(Ok(tx)) = CONTENDED.get().map(|m| m.lock().map(|g| g.clone())) {
                            let _ = tx.send(());
                        }
                    },
                }
                .with_filter(
                    tracing_subscriber::filter::Targets::new()
                        .with_target("netsuite_ion_sync::store", tracing::Level::DEBUG),
                ),
            ),
        );
        Mutex::new(tx)
    });
    let path = dir.path().to_path_buf();
    let second = std::thread::spawn(move || Store::open(&path));
    // The second opener has found the lock taken (it logs so) and is still trying.
    contended
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the second open reports the lock taken");
    drop(first);
    let second = second.join().expect("thread");
    assert!(second.is_ok(), "{:?}", second.err());
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(Store::open(dir.path()).expect("create"));
    {
        let db = sled::open(dir.path().join("db")).expect("raw sled");
        db.open_tree("meta")
            .expect("meta")
            .insert("schema_version", "99")
            .expect("write");
        db.flush().expect("flush");
    }
    let err = Store::open(dir.path()).expect_err("newer schema refused");
    let msg = err.to_string();
    assert!(
        msg.contains("newer netsuite-ion-sync") && msg.contains("schema 99"),
        "{msg}"
    );
}

/// Writes a line straight to stdout, flushed: the test harness captures `println!` even in a
/// child, and the parent must see each line as soon as the commit it reports is durable.
fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Re-runs this test binary with only the test `entry` of this module, `var` set to `dir`.
fn spawn_child(entry: &str, var: &str, dir: &Path) -> Child {
    let entry = crate::support::test_name(module_path!(), entry);
    Command::new(std::env::current_exe().expect("test exe"))
        .args(["--exact", &entry, "--nocapture", "--test-threads=1"])
        .env(var, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child")
}

/// Reads the child's stdout until a line containing `prefix` (libtest prints its own
/// "test name ... " prefix on the same line); returns that line.
fn wait_for_line(child: &mut Child, prefix: &str) -> String {
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.expect("read child stdout");
        if line.contains(prefix) {
            // Keep draining in the background so the child never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            return line;
        }
    }
    panic!("child exited before printing {prefix}");
}

fn kill9(child: &mut Child) {
    // SIGKILL: no destructors, no flush on exit; only what the store already made durable.
    let _ = Command::new("kill")
        .args(["-9", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// Child: commits one PO link, reports it, then waits to be killed.
#[test]
fn child_commit_then_hang() {
    let Some(dir) = std::env::var_os("NSION_TEST_CHILD_COMMIT") else {
        return;
    };
    let store = Store::open(Path::new(&dir)).expect("child open");
    store
        .commit_po(&PoCommit {
            link: Some(link(4711, 42)),
            checkpoint: Some((
                Checkpoint::NetSuitePurchaseOrders,
                Cursor {
                    at: "2026-11-26 11:00:00".into(),
                    id: 4711,
                },
            )),
            ..Default::default()
        })
        .expect("child commit");
    say("committed");
    loop {
        std::thread::park();
    }
}

#[test]
fn a_reported_commit_survives_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = spawn_child(
        "child_commit_then_hang",
        "NSION_TEST_CHILD_COMMIT",
        dir.path(),
    );
    wait_for_line(&mut child, "committed");
    // While the child lives, it owns the store.
    let err = Store::open(dir.path()).expect_err("child holds the lock");
    assert!(
        err.to_string().contains(&format!("pid {}", child.id())),
        "{err}"
    );
    kill9(&mut child);
    let store = Store::open(dir.path()).expect("reopen after SIGKILL");
    assert_eq!(store.po_link(4711).expect("read"), Some(link(4711, 42)));
    assert_eq!(
        store
            .checkpoint(Checkpoint::NetSuitePurchaseOrders)
            .expect("read")
            .map(|c| c.id),
        Some(4711)
    );
}

/// Child: commits PO n (link + problems + checkpoint n) for n = 1, 2, … as fast as it can,
/// printing each reported commit.
#[test]
fn child_commit_forever() {
    let Some(dir) = std::env::var_os("NSION_TEST_CHILD_LOOP") else {
        return;
    };
    let store = Store::open(Path::new(&dir)).expect("child open");
    for n in 1.. {
        store
            .commit_po(&PoCommit {
                link: Some(link(n, n + 1000)),
                problems: Some(PoProblems {
                    ns_po_id: n,
                    tran_id: None,
                    problems: vec![problem(ProblemKind::MissingPart)],
                }),
                checkpoint: Some((
                    Checkpoint::NetSuitePurchaseOrders,
                    Cursor {
                        at: "t".into(),
                        id: n,
                    },
                )),
                ..Default::default()
            })
            .expect("child commit");
        say(&format!("committed {n}"));
    }
}

#[test]
fn commits_are_atomic_across_trees_under_sigkill() {
    for round in 0..3 {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = spawn_child("child_commit_forever", "NSION_TEST_CHILD_LOOP", dir.path());
        // Let it run until it has reported a varying number of commits, then kill it mid-flight.
        let target = 20 + round * 37;
        let stdout = child.stdout.take().expect("stdout");
        let mut reported = 0i64;
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("line");
            if let Some((_, n)) = line.split_once("committed ") {
                reported = n.trim().parse().expect("number");
                if reported >= target {
                    break;
                }
            }
        }
        kill9(&mut child);
        let store = Store::open(dir.path()).expect("reopen");
        let cp = store
            .checkpoint(Checkpoint::NetSuitePurchaseOrders)
            .expect("cp")
            .map(|c| c.id)
            .unwrap_or(0);
        let links = store.po_links().expect("links");
        // Everything reported survived; nothing is half-written: the checkpoint, the links, the
        // reverse index and the problems all describe the same prefix 1..=cp.
        assert!(
            cp >= reported,
            "round {round}: checkpoint {cp} < reported {reported}"
        );
        assert_eq!(links.len() as i64, cp, "round {round}");
        for n in 1..=cp {
            assert_eq!(
                store
                    .po_link_by_ion(n + 1000)
                    .expect("index")
                    .map(|l| l.ns_po_id),
                Some(n)
            );
            assert!(
                store.problems_of(n).expect("problems").is_some(),
                "problems of {n}"
            );
        }
    }
}

#[test]
fn status_command_reads_the_store_and_the_running_daemons_snapshot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[netsuite]\naccount_id = \"1\"\nclient_id = \"c\"\ncertificate_id = \"k\"\nprivate_key_file = \"k.pem\"\n\
             [ion]\nclient_id = \"i\"\nclient_secret_file = \"s\"\n[store]\npath = {:?}\n",
            state.display().to_string()
        ),
    )
    .expect("config");
    {
        let store = Store::open(&state).expect("open");
        store
            .commit_po(&PoCommit {
                link: Some(link(100, 5)),
                problems: Some(PoProblems {
                    ns_po_id: 100,
                    tran_id: Some("PO100".into()),
                    problems: vec![problem(ProblemKind::MissingPart)],
                }),
                checkpoint: Some((
                    Checkpoint::NetSuitePurchaseOrders,
                    Cursor {
                        at: "2026-11-26 10:00:00".into(),
                        id: 100,
                    },
                )),
                ..Default::default()
            })
            .expect("commit");
        // A later PO with an error: listed before the earlier one that only waits.
        store
            .set_problems(&PoProblems {
                ns_po_id: 200,
                tran_id: Some("PO200".into()),
                problems: vec![
                    problem(ProblemKind::MissingPart),
                    problem(ProblemKind::ApplyFailed),
                ],
            })
            .expect("problems");
    }
    let run_with = |json: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_netsuite-ion-sync"));
        cmd.arg("--config").arg(&config).arg("status");
        if json {
            cmd.arg("--json");
        }
        cmd.output().expect("run status")
    };
    let out = run_with(true);
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status JSON");
    assert_eq!(report["problems"][0]["ns_po_id"], 200, "{report}");
    assert_eq!(report["problems"][0]["problems"][0]["level"], "error");
    assert_eq!(report["problems"][0]["problems"][1]["level"], "warning");
    assert_eq!(report["problems"][1]["ns_po_id"], 100);
    {
        let store = Store::open(&state).expect("open");
        store
            .set_problems(&PoProblems {
                ns_po_id: 200,
                tran_id: None,
                problems: vec![],
            })
            .expect("clear");
    }
    let run = || run_with(false);
    let out = run_with(false);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("netsuite_purchase_orders   2026-11-26 10:00:00 / id 100"),
        "{text}"
    );
    assert!(text.contains("links: 1 purchase orders"), "{text}");
    assert!(
        text.contains("open problems: 1 (0 errors, 1 warnings; errors first)"),
        "{text}"
    );
    assert!(
        text.contains("WARNING PO100 (id 100): [missing_part]"),
        "{text}"
    );

    // While a daemon holds the store, status answers from its snapshot.
    let store = Store::open(&state).expect("hold");
    let out = run();
    assert_eq!(out.status.code(), Some(1), "no snapshot yet");
    store.write_status_snapshot().expect("snapshot");
    let out = run();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("snapshot of the running daemon"), "{text}");
    assert!(text.contains("open problems: 1"), "{text}");
}

#[test]
fn links_finds_a_po_by_netsuite_id_tran_id_or_ion_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    for (ns, ion) in [(100, 5), (200, 100)] {
        store
            .commit_po(&PoCommit {
                link: Some(link(ns, ion)),
                ..Default::default()
            })
            .expect("link");
    }
    store
        .put_receipt_link(&ReceiptLink {
            key: ReceiptKey {
                ion_receipt_id: 9,
                ns_po_id: 200,
                batch: 1,
            },
            external_id: "ion-receipt-9-200".into(),
            state: ReceiptState::Created {
                item_receipt_id: 777,
            },
            items: BTreeMap::new(),
            recorded_at: Utc::now(),
        })
        .expect("receipt");
    let ids = |q: &str| {
        store
            .find_po_links(q)
            .expect("find")
            .iter()
            .map(|l| l.ns_po_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids("po200"), vec![200], "tranId, case-insensitive");
    assert_eq!(ids("5"), vec![100], "ION id");
    assert_eq!(
        ids("100"),
        vec![100, 200],
        "NetSuite 100 and the PO whose ION id is 100"
    );
    assert!(ids("PO999").is_empty());
    let (text, found) =
        netsuite_ion_sync::cli::render_links(&store, Some("PO200")).expect("render");
    assert!(found);
    assert!(
        text.contains("PO200: NetSuite purchase order 200 ↔ ION purchase order 100"),
        "{text}"
    );
    assert!(
        text.contains("ION receipt 9 batch 1 (ion-receipt-9-200): NetSuite itemReceipt 777"),
        "{text}"
    );
    let (text, found) = netsuite_ion_sync::cli::render_links(&store, Some("nope")).expect("render");
    assert!(!found && text.contains("nothing linked"), "{text}");
    let (text, _) = netsuite_ion_sync::cli::render_links(&store, None).expect("render");
    assert!(text.contains("purchase orders (2):"), "{text}");
}

/// Copies a committed store fixture into a fresh folder (sled writes to what it opens).
fn copy_fixture(name: &str, to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    for entry in walk(&from) {
        let rel = entry.strip_prefix(&from).expect("inside the fixture");
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
        std::fs::copy(&entry, &dest).expect("copy");
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.file_name().is_some_and(|n| n != "README.md") {
            out.push(p);
        }
    }
    out
}

/// A store written by the daemon before open problems were typed (`tests/fixtures/store-v1`,
/// every problem kind it wrote) opens, reads every record, and keeps working: the problems come
/// back typed with their leg and receipt, a rewrite stores the same names, and the old status
/// snapshot still reads.
#[test]
fn a_store_written_before_typed_problems_opens_and_works() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_fixture("store-v1", dir.path());
    let store = Store::open(dir.path()).expect("the old store opens");

    let cp = store
        .checkpoint(Checkpoint::NetSuitePurchaseOrders)
        .unwrap()
        .expect("PO checkpoint");
    assert_eq!((cp.at.as_str(), cp.id), ("11/30/2026 1:05 am", 101));
    assert_eq!(store.po_links().unwrap().len(), 2);
    assert_eq!(store.po_link(101).unwrap().expect("link").line_map.len(), 2);
    assert_eq!(store.vendor_links().unwrap()[0].ion_supplier_id, 61);
    assert_eq!(store.receipt_links().unwrap().len(), 2);

    let kinds = |po: i64| -> Vec<ProblemKind> {
        let p = store.problems_of(po).unwrap().expect("problems");
        p.problems.into_iter().map(|p| p.kind).collect()
    };
    assert_eq!(
        kinds(101),
        vec![
            ProblemKind::MissingPart,
            ProblemKind::AttributeValue,
            ProblemKind::ReceiptEdited { receipt_id: 42 },
            ProblemKind::ReceiptRejected { receipt_id: 43 },
        ]
    );
    assert_eq!(
        kinds(102),
        vec![
            ProblemKind::DeleteRefused,
            ProblemKind::ApplyFailed,
            ProblemKind::UnknownStatus,
            ProblemKind::QuantityBelowReceived,
            ProblemKind::PartChangeOnReceivedLine,
            ProblemKind::CanceledLineOpen,
            ProblemKind::DuplicateLine,
            ProblemKind::LinkedPoMissing,
        ]
    );
    assert_eq!(
        kinds(103),
        vec![
            ProblemKind::ReceiptItemDeleted { receipt_id: 44 },
            ProblemKind::ReceiptDeleted { receipt_id: 45 },
            ProblemKind::ReceiptAboveExpected { receipt_id: 46 },
            ProblemKind::ReceiptOpenLinesUnknown { receipt_id: 47 },
        ]
    );
    for k in kinds(103) {
        assert_eq!(k.leg(), Leg::Receipts, "{k}");
    }
    assert_eq!(ProblemKind::DeleteRefused.leg(), Leg::PurchaseOrders);

    // Written back, the names are the ones the old daemon wrote: an older `status` reads them.
    let old_json = std::fs::read_to_string(dir.path().join("status.json")).expect("snapshot");
    let old: serde_json::Value = serde_json::from_str(&old_json).expect("old snapshot JSON");
    let rewritten = store.problems_of(102).unwrap().expect("problems");
    store.set_problems(&rewritten).unwrap();
    drop(store);
    let store = Store::open(dir.path()).expect("reopen");
    let mut now = serde_json::to_value(store.status().unwrap().problems).expect("JSON");
    // Each problem now also carries its level (older versions ignore the field); apart from it,
    // the names and subjects are the ones the old daemon wrote.
    for po in now.as_array_mut().expect("list") {
        for p in po["problems"].as_array_mut().expect("problems") {
            let level = p
                .as_object_mut()
                .and_then(|o| o.remove("level"))
                .expect("a level");
            assert!(level == "error" || level == "warning", "{level}");
        }
    }
    let sorted = |v: &serde_json::Value| {
        // `status` lists errors first; compare as sets.
        let mut pos = v.as_array().cloned().unwrap_or_default();
        pos.sort_by_key(|po| po["ns_po_id"].as_i64());
        for po in &mut pos {
            if let Some(list) = po["problems"].as_array_mut() {
                list.sort_by_key(|p| p["kind"].as_str().map(str::to_string));
            }
        }
        pos
    };
    assert_eq!(
        sorted(&now),
        sorted(&old["problems"]),
        "problems store as they were written"
    );

    // The daemon's status snapshot of that version still reads.
    let snapshot: netsuite_ion_sync::store::StatusReport =
        serde_json::from_str(&old_json).expect("old snapshot reads");
    assert_eq!(snapshot.problems.len(), 3);
}

/// Only receipt problems name a receipt (read from their subject); a problem of the PO sync
/// whose subject happens to start the same way does not, and an unknown kind is kept by name.
#[test]
fn only_receipt_problems_name_a_receipt() {
    let read = |kind: &str, subject: &str| -> ProblemKind {
        let json = serde_json::json!({
            "kind": kind, "subject": subject, "message": "",
            "first_seen": "2026-01-01T00:00:00Z", "last_seen": "2026-01-01T00:00:00Z",
            "attempts": 1,
        });
        serde_json::from_value::<Problem>(json)
            .expect("problem")
            .kind
    };
    assert_eq!(
        read("receipt_edited", "ion receipt 42 item 7").receipt(),
        Some(42)
    );
    assert_eq!(
        read("receipt_deleted", "ion receipt 42 ").receipt(),
        Some(42)
    );
    assert_eq!(read("missing_part", "ion receipt 42").receipt(), None);
    let future = read("approval_blocked", "x");
    assert_eq!(
        future,
        ProblemKind::Other {
            name: "approval_blocked".into(),
            level: None
        }
    );
    assert_eq!(future.leg(), Leg::PurchaseOrders);
    assert_eq!(future.level(), netsuite_ion_sync::store::Level::Warning);
}
