//! Receiving end to end (issue #6 "Done when"): the real library against both simulators over
//! real HTTP; time moves only when a test moves the simulated clocks and passes `now`.

use std::time::Duration;

use crate::support::receipts::World;
use netsuite_ion_sync::ion::PoStatus;
use netsuite_ion_sync::store::{Checkpoint, ReceiptState};

const SETTLE: Duration = Duration::from_secs(61);

fn transforms(w: &World) -> u64 {
    w.ns.counters().requests_to("record.transform")
}

#[tokio::test]
async fn partial_receipt_of_two_of_three_lines_waits_for_the_settle_delay_then_mirrors_once() {
    let w = World::start().await;
    let po = w
        .linked_po(
            "A",
            &[("InvtPart", 5.0), ("InvtPart", 4.0), ("InvtPart", 3.0)],
        )
        .await;
    let r = w
        .ion_sim
        .receive(&[(po.ion_lines[0], 5.0), (po.ion_lines[1], 2.0)])
        .unwrap();

    // Still inside the settle delay: nothing is sent, and the checkpoint does not pass it.
    w.advance(Duration::from_secs(30));
    let s = w.sync.receipts_cycle(w.now(), false).await.unwrap();
    assert_eq!(s.unsettled, 1, "{s}");
    assert!(s.created.is_empty());
    assert_eq!(transforms(&w), 0);
    let held = w.store.checkpoint(Checkpoint::IonReceiptItems).unwrap();
    assert!(
        held.as_ref().is_none_or(|c| c.id < r.item_ids[0]),
        "held before the unsettled receipt's first item: {held:?}"
    );

    w.advance(SETTLE);
    let s = w.sync.receipts_cycle(w.now(), false).await.unwrap();
    assert!(s.ok(), "{s}");
    assert_eq!(s.created.len(), 1, "{s}");
    let ext = format!("ion-receipt-{}-{}", r.receipt_id, po.ns_po);
    let receipts = w.receipts_by_external_id();
    assert_eq!(receipts.len(), 1);
    let ir = &receipts[&ext];
    assert_eq!(ir.po_id, po.ns_po);
    assert_eq!(
        ir.lines,
        vec![(po.ns_lines[0], 5.0), (po.ns_lines[1], 2.0)],
        "exactly the received lines; the third was sent with itemReceive false"
    );
    assert_eq!(
        ir.memo.as_deref(),
        Some(&*format!("ION receipt {}", r.receipt_id))
    );
    assert_eq!(
        ir.tran_date, "2026-01-15",
        "receivedAt in the account's time zone"
    );
    let lines = w.ns.po_lines(po.ns_po);
    assert_eq!(lines[2].quantity_received, 0.0);
    assert_eq!(w.ns.po_status(po.ns_po).as_deref(), Some("D"));

    let links = w.store.receipt_links_of(r.receipt_id).unwrap();
    assert_eq!(links.len(), 1);
    assert!(
        matches!(links[0].state, ReceiptState::Created { item_receipt_id } if item_receipt_id == ir.id)
    );
    assert!(
        w.store
            .checkpoint(Checkpoint::IonReceiptItems)
            .unwrap()
            .is_some()
    );

    // Idle cycles send nothing more.
    for _ in 0..2 {
        w.advance(SETTLE);
        let s = w.sync.receipts_cycle(w.now(), false).await.unwrap();
        assert!(s.created.is_empty() && s.ok(), "{s}");
    }
    assert_eq!(transforms(&w), 1);
    assert_eq!(w.ns.item_receipts().len(), 1);

    // The cycle is reported for `status`.
    let status = w.store.status().unwrap();
    assert!(
        status
            .cycles
            .iter()
            .any(|c| c.loop_name == "ion_receipts" && c.ok)
    );
    assert_eq!(status.receipts_pending, 0);
}

#[tokio::test]
async fn a_second_receipt_completes_the_po_and_netsuite_moves_to_pending_bill() {
    let w = World::start().await;
    let po = w
        .linked_po("B", &[("InvtPart", 5.0), ("InvtPart", 4.0)])
        .await;
    w.ion_sim
        .receive(&[(po.ion_lines[0], 5.0), (po.ion_lines[1], 1.0)])
        .unwrap();
    w.advance(SETTLE);
    w.sync.receipts_cycle(w.now(), false).await.unwrap();
    assert_eq!(w.ns.po_status(po.ns_po).as_deref(), Some("D"));

    let r2 = w.ion_sim.receive(&[(po.ion_lines[1], 3.0)]).unwrap();
    w.advance(SETTLE);
    let s = w.sync.receipts_cycle(w.now(), false).await.unwrap();
    assert_eq!(s.created.len(), 1, "{s}");
    let ir = &w.receipts_by_external_id()[&format!("ion-receipt-{}-{}", r2.receipt_id, po.ns_po)];
    assert_eq!(ir.lines, vec![(po.ns_lines[1], 3.0)]);
    assert_eq!(
        w.ns.po_status(po.ns_po).as_deref(),
        Some("F"),
        "Pending Bill"
    );
    let ion_po = w.ion.purchase_order(po.ion_po).await.unwrap().unwrap();
    assert_eq!(
        ion_po.status,
        Some(PoStatus::Received),
        "ION rolled up by itself"
    );
    assert_eq!(w.ns.item_receipts().len(), 2);
}

#[tokio::test]
async fn items_added_later_to_a_mirrored_receipt_become_a_second_item_receipt() {
    let w = World::start().await;
    let po = w
        .linked_po(
            "C",
            &[("InvtPart", 5.0), ("InvtPart", 4.0), ("InvtPart", 3.0)],
        )
        .await;
    let r = w.ion_sim.receive(&[(po.ion_lines[0], 2.0)]).unwrap();
    w.advance(SETTLE);
    w.sync.receipts_cycle(w.now(), false).await.unwrap();

    w.advance(Duration::from_secs(600));
    w.ion_sim
        .add_items_to_receipt(
            r.receipt_id,
            &[(po.ion_lines[2], 3.0), (po.ion_lines[0], 1.0)],
        )
        .unwrap();
    w.advance(Duration::from_secs(20));
    let s = w.sync.receipts_cycle(w.now(), false).await.unwrap();
    assert_eq!(s.unsettled, 1, "added items settle too: {s}");
    assert!(s.created.is_empty());

    w.advance(SETTLE);
    let s = w.sync.receipts_cycle(w.now(), false).await.unwrap();
    assert_eq!(s.created.len(), 1, "{s}");
    let base = format!("ion-receipt-{}-{}", r.receipt_id, po.ns_po);
    let all = w.receipts_by_external_id();
    assert_eq!(all.len(), 2);
    assert_eq!(all[&base].lines, vec![(po.ns_lines[0], 2.0)]);
    assert_eq!(
        all[&format!("{base}-2")].lines,
        vec![(po.ns_lines[0], 1.0), (po.ns_lines[2], 3.0)],
        "only the new items"
    );
    w.advance(SETTLE);
    let s = w.sync.receipts_cycle(w.now(), false).await.unwrap();
    assert!(s.created.is_empty(), "{s}");
    assert_eq!(w.ns.item_receipts().len(), 2);
}

#[tokio::test]
async fn a_receipt_spanning_two_pos_becomes_two_item_receipts() {
    let w = World::start().await;
    let a = w
        .linked_po("D1", &[("InvtPart", 5.0), ("InvtPart", 4.0)])
        .await;
    let b = w.linked_po("D2", &[("InvtPart", 7.0)]).await;
    let r = w
        .ion_sim
        .receive(&[(a.ion_lines[1], 4.0), (b.ion_lines[0], 6.0)])
        .unwrap();
    w.advance(SETTLE);
    let s = w.sync.receipts_cycle(w.now(), false).await.unwrap();
    assert_eq!(s.created.len(), 2, "{s}");
    let all = w.receipts_by_external_id();
    assert_eq!(
        all[&format!("ion-receipt-{}-{}", r.receipt_id, a.ns_po)].lines,
        vec![(a.ns_lines[1], 4.0)]
    );
    assert_eq!(
        all[&format!("ion-receipt-{}-{}", r.receipt_id, b.ns_po)].lines,
        vec![(b.ns_lines[0], 6.0)]
    );
    assert_eq!(w.store.receipt_links_of(r.receipt_id).unwrap().len(), 2);
}

#[tokio::test]
async fn edits_and_deletions_after_mirroring_are_problems_and_change_nothing_in_netsuite() {
    let w = World::start().await;
    let po = w
        .linked_po(
            "E",
            &[("InvtPart", 5.0), ("InvtPart", 4.0), ("InvtPart", 3.0)],
        )
        .await;
    let r = w
        .ion_sim
        .receive(&[(po.ion_lines[0], 5.0), (po.ion_lines[1], 2.0)])
        .unwrap();
    let r2 = w.ion_sim.receive(&[(po.ion_lines[2], 1.0)]).unwrap();
    w.advance(SETTLE);
    let s = w.sync.receipts_cycle(w.now(), false).await.unwrap();
    assert_eq!(s.created.len(), 2, "{s} {:?}", w.problems(po.ns_po));
    let before = w.ns.item_receipts();
    let ns_lines_before = w.ns.po_lines(po.ns_po);
    let ir_id =
        w.receipts_by_external_id()[&format!("ion-receipt-{}-{}", r.receipt_id, po.ns_po)].id;

    // Quantity edited after mirroring.
    w.ion_sim.edit_receipt_item(r.item_ids[0], 4.0).unwrap();
    w.advance(SETTLE);
    let s = w.sync.receipts_cycle(w.now(), false).await.unwrap();
    assert!(s.created.is_empty(), "{s}");
    let problems = w.problems(po.ns_po);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].0, "receipt_edited");
    assert!(
        problems[0].1.contains(&format!("itemReceipt {ir_id}")),
        "names the NetSuite item receipt: {}",
        problems[0].1
    );

    // It stays open on later cycles (not duplicated), and the other item's deletion adds one.
    w.ion_sim.delete_receipt_item(r.item_ids[1]).unwrap();
    w.advance(SETTLE);
    w.sync.receipts_cycle(w.now(), false).await.unwrap();
    let mut kinds: Vec<String> = w.problems(po.ns_po).into_iter().map(|p| p.0).collect();
    kinds.sort();
    assert_eq!(kinds, vec!["receipt_edited", "receipt_item_deleted"]);

    // A whole receipt deleted.
    w.ion_sim.delete_receipt(r2.receipt_id).unwrap();
    w.advance(SETTLE);
    let s = w.sync.receipts_cycle(w.now(), false).await.unwrap();
    assert_eq!(s.problems, 3, "{s}");
    let problems = w.problems(po.ns_po);
    assert!(
        problems.iter().any(|p| p.0 == "receipt_deleted"),
        "{problems:?}"
    );

    assert_eq!(
        w.ns.item_receipts(),
        before,
        "nothing posted in NetSuite changes"
    );
    assert_eq!(w.ns.po_lines(po.ns_po), ns_lines_before);
    assert_eq!(transforms(&w), 2);
    let status = w.store.status().unwrap();
    assert_eq!(status.problems.len(), 1);

    // Put back as sent: the edit problem resolves itself.
    w.ion_sim.edit_receipt_item(r.item_ids[0], 5.0).unwrap();
    w.advance(SETTLE);
    w.sync.receipts_cycle(w.now(), false).await.unwrap();
    let mut kinds: Vec<String> = w.problems(po.ns_po).into_iter().map(|p| p.0).collect();
    kinds.sort();
    assert_eq!(kinds, vec!["receipt_deleted", "receipt_item_deleted"]);
}

#[tokio::test]
async fn non_receivable_lines_and_unsynced_pos_are_skipped() {
    let w = World::start().await;
    let po = w
        .linked_po("F", &[("InvtPart", 5.0), ("Service", 1.0)])
        .await;
    // An ION PO the link table does not know (created in ION by hand).
    let stray = crate::support::ion::ordered_po(&w.ion_sim, &w.ion, "999", 1).await;
    let r = w
        .ion_sim
        .receive(&[
            (po.ion_lines[0], 5.0),
            (po.ion_lines[1], 1.0),
            (stray.lines[0].id, 1.0),
        ])
        .unwrap();
    w.advance(SETTLE);
    let s = w.sync.receipts_cycle(w.now(), false).await.unwrap();
    assert_eq!(s.created.len(), 1, "{s}");
    assert_eq!(s.skipped, 2, "{s}");
    let ir = &w.receipts_by_external_id()[&format!("ion-receipt-{}-{}", r.receipt_id, po.ns_po)];
    assert_eq!(
        ir.lines,
        vec![(po.ns_lines[0], 5.0)],
        "the service line is left out"
    );
    assert!(w.problems(po.ns_po).is_empty());
}

#[tokio::test]
async fn quantity_above_what_netsuite_expects_is_a_problem_not_a_request_loop() {
    let w = World::start().await;
    let po = w
        .linked_po("G", &[("InvtPart", 2.0), ("InvtPart", 4.0)])
        .await;
    let r = w
        .ion_sim
        .receive(&[(po.ion_lines[0], 3.0), (po.ion_lines[1], 4.0)])
        .unwrap();
    w.advance(SETTLE);
    let s = w.sync.receipts_cycle(w.now(), false).await.unwrap();
    assert_eq!(s.created.len(), 1, "the line within bounds goes: {s}");
    let problems = w.problems(po.ns_po);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].0, "receipt_above_expected");
    for _ in 0..3 {
        w.advance(SETTLE);
        let s = w.sync.receipts_cycle(w.now(), false).await.unwrap();
        assert!(s.created.is_empty(), "{s}");
    }
    assert_eq!(transforms(&w), 1, "no rejected-request loop");
    assert_eq!(w.problems(po.ns_po).len(), 1, "still open, still one");

    // Corrected in ION: the held item goes out as the next batch and the problem resolves.
    w.ion_sim.edit_receipt_item(r.item_ids[0], 2.0).unwrap();
    w.advance(SETTLE);
    let s = w.sync.receipts_cycle(w.now(), false).await.unwrap();
    assert_eq!(s.created.len(), 1, "{s}");
    assert!(w.problems(po.ns_po).is_empty());
    let base = format!("ion-receipt-{}-{}", r.receipt_id, po.ns_po);
    assert_eq!(
        w.receipts_by_external_id()[&format!("{base}-2")].lines,
        vec![(po.ns_lines[0], 2.0)]
    );
}

#[tokio::test]
async fn dry_run_plans_without_writing_anything() {
    let w = World::start().await;
    let po = w.linked_po("H", &[("InvtPart", 5.0)]).await;
    w.ion_sim.receive(&[(po.ion_lines[0], 5.0)]).unwrap();
    w.advance(SETTLE);
    let s = w.sync.receipts_cycle(w.now(), true).await.unwrap();
    assert_eq!(s.planned.len(), 1, "{s}");
    assert_eq!(transforms(&w), 0);
    assert!(w.store.receipt_links().unwrap().is_empty());
    assert!(
        w.store
            .checkpoint(Checkpoint::IonReceiptItems)
            .unwrap()
            .is_none()
    );
    assert!(w.store.status().unwrap().cycles.is_empty());
}

#[tokio::test]
async fn a_refused_item_receipt_is_an_open_problem_retried_at_intervals_until_netsuite_accepts() {
    let w = World::start().await;
    let po = w.linked_po("J", &[("InvtPart", 5.0)]).await;
    // Someone put the NetSuite PO back to Pending Approval: NetSuite refuses the transform.
    w.ns.set_po_field(po.ns_po, "status", Some("A")).unwrap();
    let r = w.ion_sim.receive(&[(po.ion_lines[0], 5.0)]).unwrap();
    w.advance(SETTLE);
    let s = w.sync.receipts_cycle(w.now(), false).await.unwrap();
    assert!(s.created.is_empty(), "{s}");
    assert_eq!(
        s.pending, 0,
        "a definite refusal leaves no intent behind: {s}"
    );
    let problems = w.problems(po.ns_po);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].0, "receipt_rejected");
    assert!(problems[0].1.contains("status A"), "{}", problems[0].1);

    // Not retried every cycle: held for the retry interval, then tried once more. The
    // checkpoint moved on; the open problem keeps the receipt in view.
    w.advance(SETTLE);
    let s = w.sync.receipts_cycle(w.now(), false).await.unwrap();
    assert!(s.ok(), "{s}");
    assert_eq!(transforms(&w), 1);
    w.advance(Duration::from_secs(15 * 60));
    w.sync.receipts_cycle(w.now(), false).await.unwrap();
    assert_eq!(transforms(&w), 2);
    let stored = w.store.problems_of(po.ns_po).unwrap().unwrap();
    assert_eq!(stored.problems.len(), 1);
    assert_eq!(stored.problems[0].attempts, 2);

    w.ns.set_po_field(po.ns_po, "status", Some("B")).unwrap();
    w.advance(Duration::from_secs(15 * 60));
    let s = w.sync.receipts_cycle(w.now(), false).await.unwrap();
    assert_eq!(s.created.len(), 1, "{s}");
    assert!(w.problems(po.ns_po).is_empty(), "resolved by itself");
    assert!(
        w.receipts_by_external_id()
            .contains_key(&format!("ion-receipt-{}-{}", r.receipt_id, po.ns_po))
    );
}
