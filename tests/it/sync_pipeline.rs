//! Pages are pipelined (chunk k+1 is read and planned while chunk k is applied). These tests
//! hold the invariants that must survive the overlap: a checkpoint moves only past applied
//! chunks, a run abandoned mid-way resumes without duplicates, every page's POs land exactly
//! once, and a PO read again mid-cycle waits for its first apply.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use crate::support::log_signal::LogSignal;
use crate::support::sync::*;
use netsuite_ion_sync::store::{Checkpoint, Store};
use netsuite_ion_sync::sync::CycleOptions;
use netsuite_ion_sync::sync::po_sync::pipeline::STAGES_IN_FLIGHT;
use tokio::sync::Notify;
use tracing_subscriber::layer::SubscriberExt as _;

const POS: usize = 60;
const PAGE: u32 = 10;

/// Abandons a run after its `crash_at`-th ION request, checks the invariant, resumes. Returns
/// whether the checkpoint had moved to somewhere strictly inside the run (a meaningful case).
async fn abandon_check_resume(crash_at: u64) -> bool {
    let s = Sims::default().await;
    let vendor = s.vendor("Acme");
    let item = s.part("P-1");
    // Same lastmodifieddate for all (the simulated clock stands still): pages follow id order.
    let ids: Vec<i64> = (0..POS)
        .map(|_| s.po(vendor, "B", vec![line(item, 2.0)]))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings();
    settings.page_size = PAGE;

    // ION stops answering after this request; the cycle is then dropped, as a killed process
    // would be.
    let fired = s.ion.arm_crash_point(crash_at);
    {
        let engine = s.engine(dir.path(), settings.clone());
        tokio::select! {
            _ = fired.notified() => {}
            r = engine.po_cycle(CycleOptions::default()) => {
                panic!("the cycle finished before the crash point {crash_at}: {r:?}")
            }
        }
    }
    s.ion.disarm_crash_point();

    let inside = {
        let store = Store::open(dir.path()).unwrap();
        let linked: BTreeSet<i64> = store
            .po_links()
            .unwrap()
            .iter()
            .map(|l| l.ns_po_id)
            .collect();
        let cp = store
            .checkpoint(Checkpoint::NetSuitePurchaseOrders)
            .unwrap();
        // The invariant: nothing at or before the checkpoint is missing from the link table.
        if let Some(cp) = &cp {
            for id in ids.iter().filter(|id| **id <= cp.id) {
                assert!(
                    linked.contains(id),
                    "crash at {crash_at}: PO {id} is behind the checkpoint {} but was never applied",
                    cp.id
                );
            }
        }
        cp.is_some_and(|cp| cp.id < *ids.last().unwrap())
    };

    // The next run completes everything, each PO exactly once.
    let engine = s.engine(dir.path(), settings);
    let sum = cycle(&engine).await;
    assert_eq!(sum.failed, 0, "{sum}");
    let store = &engine.context().store;
    assert_eq!(store.po_links().unwrap().len(), POS);
    for id in &ids {
        let po = s.ion_po(*id); // panics unless exactly one
        let link = store.po_link(*id).unwrap().expect("linked");
        assert_eq!(po["id"].as_i64(), Some(link.ion_po_id));
        assert_eq!(s.ion_lines(&po).len(), 1, "PO {id}: one line");
    }
    assert_eq!(
        store
            .checkpoint(Checkpoint::NetSuitePurchaseOrders)
            .unwrap()
            .map(|c| c.id),
        ids.last().copied()
    );
    inside
}

/// A run of 6 chunks takes about 27 ION requests. Abandoned at several points, the checkpoint
/// never passes an unapplied PO, and the next run completes every PO exactly once. How far the
/// applier got by a given request depends on how the overlapping chunks interleave, so several
/// points are tried and at least one must leave the checkpoint strictly inside the run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_mid_run_the_checkpoint_is_behind_every_unapplied_po() {
    let mut inside = 0;
    for crash_at in [10, 14, 18, 22] {
        if abandon_check_resume(crash_at).await {
            inside += 1;
        }
    }
    assert!(inside > 0, "no crash point fell after a completed chunk");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_pages_of_new_pos_share_suppliers_without_duplicates() {
    let s = Sims::default().await;
    // Three vendors spread over every page: staging page k+1 (which may create suppliers)
    // overlaps applying page k, and no supplier may be created twice.
    let vendors: Vec<i64> = ["Acme", "Globex", "Initech"]
        .iter()
        .map(|v| s.vendor(v))
        .collect();
    let item = s.part("P-1");
    let ids: Vec<i64> = (0..POS)
        .map(|k| s.po(vendors[k % 3], "B", vec![line(item, 1.0 + k as f64)]))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings();
    settings.page_size = PAGE;
    let engine = s.engine(dir.path(), settings);
    let sum = cycle(&engine).await;
    assert_eq!((sum.seen, sum.applied, sum.failed), (POS, POS, 0), "{sum}");
    assert_eq!(
        s.ion
            .ids(netsuite_ion_sync::sandbox::ion::Kind::Supplier)
            .len(),
        3
    );
    // The vendors are looked up and created once: a chunk that waited for the supplier gate
    // while another created them finds them linked.
    assert_eq!(
        (
            s.ion.requests("SuppliersByName"),
            s.ion.requests("CreateSuppliers")
        ),
        (1, 1)
    );
    for (k, id) in ids.iter().enumerate() {
        let po = s.ion_po(*id);
        let lines = s.ion_lines(&po);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["quantity"].as_f64(), Some(1.0 + k as f64));
    }
    // A second cycle finds nothing to do: every page's hash was recorded.
    let again = cycle(&engine).await;
    assert_eq!(again.unchanged, POS, "{again}");
}

/// Missing suppliers are created in one aliased batch while a chunk is staged. When that
/// request fails (unapplied, but the client cannot know that), nothing is lost or doubled:
/// each vendor's POs look the name up again and create the supplier themselves, once.
#[tokio::test]
async fn a_failed_supplier_batch_leaves_each_vendor_one_supplier() {
    let s = Sims::default().await;
    let names = ["Acme", "Globex", "Initech"];
    let vendors: Vec<i64> = names.iter().map(|v| s.vendor(v)).collect();
    let item = s.part("P-1");
    let ids: Vec<i64> = (0..12)
        .map(|k| s.po(vendors[k % 3], "B", vec![line(item, 1.0 + k as f64)]))
        .collect();
    s.ion.fail_next("CreateSuppliers");
    let dir = tempfile::tempdir().unwrap();
    let engine = s.engine(dir.path(), settings());
    let sum = cycle(&engine).await;
    assert_eq!((sum.applied, sum.failed), (12, 0), "{sum}");
    assert_eq!(s.ion.requests("CreateSuppliers"), 1, "the batch was tried");
    assert_eq!(
        s.ion.requests("CreateSupplier"),
        3,
        "then one create per vendor"
    );
    let mut got: Vec<String> = s.ion.suppliers().into_iter().map(|(_, n)| n).collect();
    got.sort();
    assert_eq!(got, names);
    let by_name: std::collections::BTreeMap<String, i64> = s
        .ion
        .suppliers()
        .into_iter()
        .map(|(id, n)| (n, id))
        .collect();
    for (k, id) in ids.iter().enumerate() {
        let po = s.ion_po(*id);
        assert_eq!(
            po["supplierId"].as_i64(),
            by_name.get(names[k % 3]).copied(),
            "PO {id}"
        );
    }
}

/// A PO edited while its create is still in flight comes back in a later page of the same
/// cycle. Staging it then (ION lookup by Netsuite RecordID, plan) would find no ION PO and no
/// link and create it a second time; the reader must wait for the first apply instead.
/// (Single-threaded runtime: the log signal is installed for this thread only.)
#[tokio::test]
async fn a_po_read_again_mid_cycle_waits_for_its_first_apply() {
    // Pages of 3. Chunk 1 [A B C] is staged and its create held; the next STAGES_IN_FLIGHT
    // chunks are held at their lookups, which fills the reader, so the page after them is read
    // only once the test releases them, after A is edited: then it holds A again.
    let held_stages = STAGES_IN_FLIGHT as u64;
    let pos = 3 * (1 + STAGES_IN_FLIGHT) + 1;
    let s = Sims::default().await;
    let vendor = s.vendor("Acme");
    let item = s.part("P-1");
    let ids: Vec<i64> = (0..pos)
        .map(|_| s.po(vendor, "B", vec![line(item, 2.0)]))
        .collect();
    let a = ids[0];
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings();
    settings.page_size = 3;
    let engine = s.engine(dir.path(), settings);

    let waiting = Arc::new(Notify::new());
    let seen = waiting.clone();
    let _log = tracing::subscriber::set_default(tracing_subscriber::registry().with(LogSignal {
        needles: vec!["still being applied".into()],
        then: move || seen.notify_one(),
    }));
    let create = s.ion.hold("CreatePurchaseOrders", 1);
    let lookups: Vec<_> = (2..2 + held_stages)
        .map(|n| s.ion.hold("PurchaseOrdersByAttribute", n))
        .collect();
    // The lookup of the chunk that holds A again.
    let again = s.ion.hold("PurchaseOrdersByAttribute", 2 + held_stages);
    let drive = async {
        create.reached().await;
        for l in &lookups {
            l.reached().await;
        }
        // A is edited now: it moves after every other PO in NetSuite's order (the last page).
        s.ns.advance(Duration::from_secs(60));
        s.ns.set_po_field(a, "memo", Some("edited mid-run"))
            .unwrap();
        for l in &lookups {
            l.release();
        }
        tokio::select! {
            _ = again.reached() => {
                panic!("A was staged again while its first create was still unapplied")
            }
            _ = waiting.notified() => {}
        }
        create.release();
        // Only now, with A linked, is A staged again: as an update.
        again.reached().await;
        again.release();
    };
    let (sum, ()) = tokio::join!(engine.po_cycle(CycleOptions::default()), drive);
    let sum = sum.unwrap();
    assert_eq!(
        (sum.seen, sum.applied, sum.failed),
        (pos + 1, pos + 1, 0),
        "{sum}"
    );
    for id in &ids {
        s.ion_po(*id); // panics unless exactly one ION PO
    }
    assert_eq!(
        s.ion
            .ids(netsuite_ion_sync::sandbox::ion::Kind::PurchaseOrder)
            .len(),
        pos
    );
    assert_eq!(
        s.ion_po(a)["description"].as_str(),
        Some("edited mid-run"),
        "the second read of A was applied as an update"
    );
}
