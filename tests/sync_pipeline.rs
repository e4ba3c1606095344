//! Pages are pipelined (page k+1 is read and planned while page k is applied). These tests hold
//! the invariants that must survive the overlap: a checkpoint moves only past applied pages, a
//! run abandoned mid-way resumes without duplicates, and every page's POs land exactly once.

mod sync_support;

use std::collections::BTreeSet;

use netsuite_ion_sync::store::{Checkpoint, Store};
use netsuite_ion_sync::sync::CycleOptions;
use sync_support::*;

const POS: usize = 60;
const PAGE: u32 = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_mid_run_the_checkpoint_is_behind_every_unapplied_po() {
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

    // ION stops answering after its 14th request (a few pages in); the cycle is then dropped,
    // as a killed process would be.
    let fired = s.ion.arm_crash_point(14);
    {
        let engine = s.engine(dir.path(), settings.clone());
        tokio::select! {
            _ = fired.notified() => {}
            r = engine.po_cycle(CycleOptions::default()) => {
                panic!("the cycle finished before the crash point: {r:?}")
            }
        }
    }
    s.ion.disarm_crash_point();

    {
        let store = Store::open(dir.path()).unwrap();
        let linked: BTreeSet<i64> = store
            .po_links()
            .unwrap()
            .iter()
            .map(|l| l.ns_po_id)
            .collect();
        let cp = store
            .checkpoint(Checkpoint::NetSuitePurchaseOrders)
            .unwrap()
            .expect("at least one page was applied before the crash point");
        assert!(
            cp.id < *ids.last().unwrap(),
            "the crash came before the last page"
        );
        // The invariant: nothing at or before the checkpoint is missing from the link table.
        let behind: Vec<i64> = ids.iter().copied().filter(|id| *id <= cp.id).collect();
        assert!(!behind.is_empty());
        for id in &behind {
            assert!(
                linked.contains(id),
                "PO {id} is behind the checkpoint {} but was never applied",
                cp.id
            );
        }
    }

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
