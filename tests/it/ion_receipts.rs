//! Receiving in the simulator (as a person pressing "Save Receipt") and the client's keyset
//! paging of receipt items changed since a cursor.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::ion::{ordered_po, start};
use chrono::{TimeZone, Utc};
use netsuite_ion_sync::ion::{PoStatus, ReceiptCursor, ReceiptItem};
use netsuite_ion_sync::sandbox::ion::Kind;

async fn drain(
    client: &netsuite_ion_sync::ion::Client,
    cursor: &mut ReceiptCursor,
    page: usize,
) -> Vec<ReceiptItem> {
    let mut out = Vec::new();
    loop {
        let p = client
            .receipt_items_changed_since(cursor, page)
            .await
            .unwrap();
        assert!(p.items.len() <= page);
        out.extend(p.items);
        *cursor = p.next;
        if !p.has_more {
            return out;
        }
    }
}

#[tokio::test]
async fn receiving_updates_lines_inventory_and_rolls_up_the_po() {
    let (sim, client) = start().await;
    let po = ordered_po(&sim, &client, "100", 2).await; // quantities 1 and 2
    let (l1, l2) = (po.lines[0].id, po.lines[1].id);

    let r = sim.receive(&[(l1, 1.0), (l2, 1.0)]).unwrap();
    assert_eq!(r.item_ids.len(), 2);
    let fresh = client.purchase_order(po.id).await.unwrap().unwrap();
    assert_eq!(
        fresh.status,
        Some(PoStatus::Ordered),
        "partially received stays ORDERED"
    );
    assert_eq!(fresh.line(l1).unwrap().status, PoStatus::Received);
    assert_eq!(fresh.line(l2).unwrap().received_quantity, Some(1.0));
    assert_ne!(
        fresh.line(l1).unwrap().etag,
        po.lines[0].etag,
        "receiving moves the line's etag"
    );
    let item = sim.snapshot(Kind::ReceiptItem, r.item_ids[0]).unwrap();
    let inventory = sim
        .snapshot(
            Kind::PartInventory,
            item["partInventoryId"].as_i64().unwrap(),
        )
        .unwrap();
    assert_eq!(inventory["quantity"], 1.0);

    sim.add_items_to_receipt(r.receipt_id, &[(l2, 1.0)])
        .unwrap();
    let fresh = client.purchase_order(po.id).await.unwrap().unwrap();
    assert_eq!(
        fresh.status,
        Some(PoStatus::Received),
        "every line received"
    );

    sim.edit_receipt_item(r.item_ids[0], 0.5).unwrap();
    let fresh = client.purchase_order(po.id).await.unwrap().unwrap();
    assert_eq!(
        fresh.status,
        Some(PoStatus::Ordered),
        "back to ORDERED when no longer complete"
    );
    assert_eq!(fresh.line(l1).unwrap().received_quantity, Some(0.5));

    sim.delete_receipt_item(r.item_ids[0]).unwrap();
    sim.delete_receipt(r.receipt_id).unwrap();
    let fresh = client.purchase_order(po.id).await.unwrap().unwrap();
    assert_eq!(fresh.line(l2).unwrap().received_quantity, Some(0.0));
    assert!(sim.ids(Kind::Receipt).is_empty());
}

#[tokio::test]
async fn receiving_needs_an_ordered_po_and_a_live_line() {
    let (sim, client) = start().await;
    let mut po = ordered_po(&sim, &client, "101", 2).await;
    let second = po.lines[1].id;
    client.cancel_lines(&mut po, &[second]).await.unwrap();
    assert!(
        sim.receive(&[(po.lines[1].id, 1.0)])
            .unwrap_err()
            .to_string()
            .contains("canceled")
    );
    client.set_status(&mut po, PoStatus::Draft).await.unwrap();
    let e = sim.receive(&[(po.lines[0].id, 1.0)]).unwrap_err();
    assert!(
        e.to_string()
            .contains("Only ORDERED purchase orders can be received"),
        "{e}"
    );
    // A canceled line does not block the roll-up.
    client.set_status(&mut po, PoStatus::Ordered).await.unwrap();
    sim.receive(&[(po.lines[0].id, 1.0)]).unwrap();
    let fresh = client.purchase_order(po.id).await.unwrap().unwrap();
    assert_eq!(fresh.status, Some(PoStatus::Received));
}

#[tokio::test]
async fn paging_over_300_items_returns_each_exactly_once() {
    let (sim, client) = start().await;
    let po = ordered_po(&sim, &client, "200", 30).await; // line k has quantity k+1
    // Many items share one `_updated` (a frozen clock), the case an `_updated`-only cursor breaks.
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 8, 0, 0).unwrap();
    sim.set_clock(t0);
    let mut expected = Vec::new();
    for round in 0..11 {
        let items: Vec<(i64, f64)> = po.lines.iter().map(|l| (l.id, 0.01)).collect();
        expected.extend(sim.receive(&items).unwrap().item_ids);
        if round % 3 == 2 {
            sim.advance_clock(Duration::from_secs(1));
        }
    }
    assert_eq!(expected.len(), 330);

    for page in [100, 7, 250] {
        let mut cursor = ReceiptCursor::start();
        let items = drain(&client, &mut cursor, page).await;
        let ids: Vec<i64> = items.iter().map(|i| i.id).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len(), "page {page}: duplicates");
        assert_eq!(sorted, expected, "page {page}: each item exactly once");
        let first = &items[0];
        assert_eq!(first.receipt.as_ref().unwrap().id, first.receipt_id);
        let line = first.purchase_order_line.as_ref().unwrap();
        assert_eq!(line.purchase_order_id, po.id);
        assert_eq!(line.ns_line_id(), Some(1));
        assert_eq!(
            first.part_inventory.as_ref().map(|i| i.id),
            first.part_inventory_id
        );
        // Nothing new since the end.
        assert!(drain(&client, &mut cursor, page).await.is_empty());
    }

    // An edit later moves one item past the cursor: the next poll sees exactly it.
    let mut cursor = ReceiptCursor::start();
    drain(&client, &mut cursor, 100).await;
    sim.advance_clock(Duration::from_secs(60));
    sim.edit_receipt_item(expected[5], 0.02).unwrap();
    let changed = drain(&client, &mut cursor, 100).await;
    assert_eq!(
        changed.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![expected[5]]
    );
    assert_eq!(changed[0].quantity, 0.02);

    // Per-PO grouping the sync will do: quantities per line add up.
    let mut cursor = ReceiptCursor::start();
    let mut per_line: BTreeMap<i64, f64> = BTreeMap::new();
    for i in drain(&client, &mut cursor, 100).await {
        *per_line
            .entry(i.purchase_order_line_id.unwrap())
            .or_default() += i.quantity;
    }
    assert_eq!(per_line.len(), 30);
}
