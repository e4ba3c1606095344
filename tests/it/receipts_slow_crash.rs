//! Crash test (issue #6 "Done when"): a receipts cycle runs in a child process (this test binary
//! re-executed) that SIGKILLs itself at the k-th NetSuite request point — when a request span
//! opens (nothing sent yet), when its response status arrives (NetSuite has applied it: for a
//! transform, that is between the create and recording its id), and when its body has been read.
//! For every k a fresh pair of simulators and a fresh store: kill at k, restart, restart after
//! the resend grace, and at the end there is exactly one itemReceipt per (receipt, PO, batch),
//! and NetSuite saw exactly one transform per itemReceipt (nothing applied was ever re-sent).

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::support::fixture;
use crate::support::receipts::World;
use chrono::{DateTime, Utc};
use netsuite_ion_sync::store::{ReceiptState, Store};
use secrecy::SecretString;

const CHILD_ENV: &str = "RCPT_CRASH_CHILD";
const KID: &str = "crash-test-kid";

/// Counts NetSuite request points in the child and SIGKILLs the process at the chosen one.
struct DieAt {
    at: u64,
    seen: AtomicU64,
}

impl DieAt {
    fn point(&self) {
        let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.at {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &std::process::id().to_string()])
                .status();
            // Not reached once the signal is delivered.
            std::process::abort();
        }
    }
}

impl<S> tracing_subscriber::Layer<S> for DieAt
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _id: &tracing::span::Id,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if attrs.metadata().name() == "netsuite_request" {
            self.point();
        }
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        _values: &tracing::span::Record<'_>,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if ctx
            .span(id)
            .is_some_and(|s| s.metadata().name() == "netsuite_request")
        {
            self.point();
        }
    }
}

fn env(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| panic!("{k} not set"))
}

/// The child: one receipts cycle against the parent's simulators, dying at `RCPT_KILL_AT`.
#[test]
fn crash_child() {
    if std::env::var(CHILD_ENV).is_err() {
        return;
    }
    use tracing_subscriber::layer::SubscriberExt;
    let at: u64 = env("RCPT_KILL_AT").parse().expect("kill point");
    let subscriber = tracing_subscriber::registry().with(DieAt {
        at,
        seen: AtomicU64::new(0),
    });
    // A global subscriber is safe although every test shares this binary: the child process
    // runs this one test alone (`--exact`), so nothing else can have set one.
    tracing::subscriber::set_global_default(subscriber).expect("subscriber");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        use netsuite_ion_sync::{ion, netsuite, retry::Backoff};
        let mut ns = netsuite::Settings::new(
            env("RCPT_NS_URL").parse().expect("url"),
            env("RCPT_NS_ACCOUNT"),
            env("RCPT_NS_CLIENT"),
            KID,
            SecretString::from(fixture("auth-key.pem")),
        );
        ns.backoff = Backoff::fast();
        let mut io = ion::Settings::new(
            env("RCPT_ION_URL").parse().expect("url"),
            env("RCPT_ION_TOKEN_URL").parse().expect("url"),
            env("RCPT_ION_CLIENT"),
            SecretString::from(env("RCPT_ION_SECRET")),
        );
        io.backoff = Backoff::fast();
        let store = Store::open(env("RCPT_STORE").as_ref()).expect("store opens");
        let mut sync = netsuite_ion_sync::sync::receipts::ReceiptSync::new(
            netsuite::Client::new(ns).expect("netsuite client"),
            ion::Client::new(io).expect("ion client"),
            store,
        );
        sync.tz = chrono_tz::America::Los_Angeles;
        let now: DateTime<Utc> = env("RCPT_NOW").parse().expect("now");
        let summary = sync.receipts_cycle(now, false).await.expect("cycle");
        eprintln!("child cycle: {summary}");
    });
}

struct Scenario {
    world: World,
    store_path: std::path::PathBuf,
    now: DateTime<Utc>,
    expected: Vec<String>,
    /// (NetSuite PO, line) → quantity received in ION.
    ion_received: BTreeMap<(i64, i64), f64>,
    ns_po_lines: Vec<(i64, Vec<i64>)>,
}

/// Receipt r0 mirrored cleanly; then items added to r0 (batch 2 on PO A) and a receipt r1
/// spanning POs A and B: the child has three itemReceipts to create.
async fn scenario() -> Scenario {
    let w = World::start().await;
    w.ns.register_certificate_pem_as(KID, &fixture("auth-cert.pem"))
        .expect("certificate");
    let a = w
        .linked_po(
            "A",
            &[("InvtPart", 5.0), ("InvtPart", 4.0), ("InvtPart", 3.0)],
        )
        .await;
    let b = w.linked_po("B", &[("InvtPart", 7.0)]).await;
    let r0 = w.ion_sim.receive(&[(a.ion_lines[0], 2.0)]).unwrap();
    w.advance(Duration::from_secs(61));
    let s = w.sync.receipts_cycle(w.now(), false).await.unwrap();
    assert_eq!(s.created.len(), 1, "{s}");

    w.advance(Duration::from_secs(300));
    w.ion_sim
        .add_items_to_receipt(r0.receipt_id, &[(a.ion_lines[1], 1.0)])
        .unwrap();
    let r1 = w
        .ion_sim
        .receive(&[(a.ion_lines[2], 3.0), (b.ion_lines[0], 4.0)])
        .unwrap();
    w.advance(Duration::from_secs(61));
    let e0 = format!("ion-receipt-{}-{}", r0.receipt_id, a.ns_po);
    let expected = vec![
        e0.clone(),
        format!("{e0}-2"),
        format!("ion-receipt-{}-{}", r1.receipt_id, a.ns_po),
        format!("ion-receipt-{}-{}", r1.receipt_id, b.ns_po),
    ];
    let ion_received = BTreeMap::from([
        ((a.ns_po, a.ns_lines[0]), 2.0),
        ((a.ns_po, a.ns_lines[1]), 1.0),
        ((a.ns_po, a.ns_lines[2]), 3.0),
        ((b.ns_po, b.ns_lines[0]), 4.0),
    ]);
    let now = w.now();
    let store_path = w.store.path().to_path_buf();
    Scenario {
        world: w,
        store_path,
        now,
        expected,
        ion_received,
        ns_po_lines: vec![(a.ns_po, a.ns_lines), (b.ns_po, b.ns_lines)],
    }
}

/// Runs the child; `true` when it was killed, `false` when it finished its cycle.
async fn child(s: &Scenario, kill_at: u64, now: DateTime<Utc>) -> bool {
    let w = &s.world;
    let exe = std::env::current_exe().expect("test binary");
    let entry = crate::support::test_name(module_path!(), "crash_child");
    let out = tokio::process::Command::new(exe)
        .args(["--exact", &entry, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .env("RCPT_KILL_AT", kill_at.to_string())
        .env("RCPT_NS_URL", w.ns.base_url().as_str())
        .env("RCPT_NS_ACCOUNT", w.ns.account_id())
        .env("RCPT_NS_CLIENT", w.ns.client_id())
        .env("RCPT_ION_URL", w.ion_sim.api_url().as_str())
        .env("RCPT_ION_TOKEN_URL", w.ion_sim.token_url().as_str())
        .env("RCPT_ION_CLIENT", w.ion_sim.client_id())
        .env("RCPT_ION_SECRET", w.ion_sim.client_secret())
        .env("RCPT_STORE", &s.store_path)
        .env("RCPT_NOW", now.to_rfc3339())
        .output()
        .await
        .expect("child runs");
    match out.status.signal() {
        Some(9) => true,
        _ => {
            assert!(
                out.status.success(),
                "child failed: {:?}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            false
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_every_netsuite_request_point_leaves_exactly_one_item_receipt_per_batch() {
    let grace = chrono::Duration::seconds(601);
    let mut k = 1;
    // Kill points that left an intent whose transform NetSuite had applied (the crash between
    // the create and recording its id), and ones that left an intent never sent.
    let (mut applied_unrecorded, mut intent_only) = (0, 0);
    loop {
        let mut s = scenario().await;
        // The parent lets go of the store (and its process lock) for the children.
        let store = std::mem::replace(&mut s.world.sync.store, placeholder_store());
        drop(store);
        s.world.store = placeholder_store();

        let killed = child(&s, k, s.now).await;
        if killed {
            let store = Store::open(&s.store_path).expect("store reopens after SIGKILL");
            let in_ns = s.world.receipts_by_external_id();
            for l in store.receipt_links().unwrap() {
                if l.state == ReceiptState::Intended {
                    if in_ns.contains_key(&l.external_id) {
                        applied_unrecorded += 1;
                    } else {
                        intent_only += 1;
                    }
                }
            }
        }
        // Restart right away (intents are looked up, never blindly re-sent), then again once
        // the resend grace has passed (an intent NetSuite never got is sent again), then idle.
        assert!(!child(&s, 0, s.now).await, "k={k}: restart must not die");
        assert!(!child(&s, 0, s.now + grace).await);
        assert!(!child(&s, 0, s.now + grace + grace).await);

        let receipts = s.world.receipts_by_external_id();
        let mut ids: Vec<String> = s
            .world
            .ns
            .item_receipts()
            .into_iter()
            .map(|r| r.external_id.unwrap_or_default())
            .collect();
        ids.sort();
        let mut expected = s.expected.clone();
        expected.sort();
        assert_eq!(
            ids, expected,
            "k={k}: exactly one itemReceipt per (receipt, PO, batch)"
        );
        assert_eq!(
            s.world.ns.counters().requests_to("record.transform"),
            4,
            "k={k}: one transform per itemReceipt, nothing applied was sent twice"
        );
        for (po, lines) in &s.ns_po_lines {
            for l in s.world.ns.po_lines(*po) {
                assert!(lines.contains(&l.line_id));
                assert_eq!(
                    l.quantity_received,
                    s.ion_received[&(*po, l.line_id)],
                    "k={k}: NetSuite received what ION received"
                );
            }
        }
        let store = Store::open(&s.store_path).expect("store reopens");
        let links = store.receipt_links().unwrap();
        assert_eq!(links.len(), 4, "k={k}");
        for l in links {
            match l.state {
                ReceiptState::Created { item_receipt_id } => {
                    assert_eq!(receipts[&l.external_id].id, item_receipt_id, "k={k}")
                }
                ReceiptState::Intended => panic!("k={k}: {} still pending", l.external_id),
            }
        }
        drop(store);
        if !killed {
            assert!(k > 10, "the cycle has more request points than {k}");
            break;
        }
        eprintln!("k={k}: converged");
        k += 1;
    }
    eprintln!(
        "{} kill points; {applied_unrecorded} applied-but-unrecorded, {intent_only} intent-only",
        k - 1
    );
    assert!(
        applied_unrecorded >= 3,
        "each of the three transforms was cut after applying"
    );
    assert!(
        intent_only >= 3,
        "each of the three transforms was cut before sending"
    );
}

/// A throwaway store, so the scenario's own store can be dropped while `World` stays whole.
fn placeholder_store() -> Store {
    let dir = tempfile::tempdir().expect("tempdir").keep();
    Store::open(&dir.join("placeholder")).expect("placeholder store")
}
