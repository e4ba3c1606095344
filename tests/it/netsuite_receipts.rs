//! Record API and item receipts by transform, over real HTTP.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::netsuite::*;
use netsuite_ion_sync::netsuite::{Error, ItemReceiptLine, ItemReceiptRequest, PoCursor};
use netsuite_ion_sync::sandbox::netsuite::{LineSpec, PoSpec, SimHandle};

/// A PO with lines of 10, 5 and 2 units; returns (po, line ids).
fn three_line_po(sim: &SimHandle) -> (i64, Vec<i64>) {
    let v = vendor(sim, "Acme Metals");
    let a = item(sim, "WIDGET-100", "InvtPart");
    let b = item(sim, "BOLT-7", "InvtPart");
    let c = item(sim, "NUT-3", "InvtPart");
    let id = sim
        .create_purchase_order(PoSpec {
            vendor: v,
            lines: vec![
                LineSpec {
                    fields: BTreeMap::from([("custcol_project".into(), "Apollo".into())]),
                    ..line(a, 10.0)
                },
                line(b, 5.0),
                line(c, 2.0),
            ],
            ..Default::default()
        })
        .unwrap();
    let lines = sim.po_lines(id).iter().map(|l| l.line_id).collect();
    (id, lines)
}

fn request(ext: &str, lines: Vec<ItemReceiptLine>) -> ItemReceiptRequest {
    ItemReceiptRequest {
        external_id: ext.into(),
        tran_date: "2026-01-15".into(),
        memo: "ION receipt 77".into(),
        lines,
    }
}

#[tokio::test]
async fn partial_receipt_updates_quantities_status_and_lastmodified() {
    let (sim, client) = start(config()).await;
    let (po, l) = three_line_po(&sim);
    let before = client
        .po_headers_changed_since(&PoCursor::start(), &[], 10)
        .await
        .unwrap();
    sim.advance(Duration::from_secs(30));
    let id = client
        .create_item_receipt(
            po,
            &request(
                "ion-receipt-77-1",
                vec![
                    ItemReceiptLine::receive(l[0], 4.0),
                    ItemReceiptLine::skip(l[1]),
                    ItemReceiptLine::skip(l[2]),
                ],
            ),
        )
        .await
        .unwrap();
    let receipts = sim.item_receipts();
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].id, id);
    assert_eq!(receipts[0].po_id, po);
    assert_eq!(receipts[0].lines, vec![(l[0], 4.0)]);
    assert_eq!(receipts[0].external_id.as_deref(), Some("ion-receipt-77-1"));
    assert_eq!(receipts[0].tran_date, "2026-01-15");
    assert_eq!(sim.po_status(po).as_deref(), Some("D"));
    assert_eq!(
        client
            .item_receipt_by_external_id("ion-receipt-77-1")
            .await
            .unwrap(),
        Some(id)
    );
    assert_eq!(
        client
            .item_receipt_by_external_id("ion-receipt-0-0")
            .await
            .unwrap(),
        None
    );

    // The change feed sees the PO again (lastmodifieddate moved), with the new status.
    let after = client
        .po_headers_changed_since(&before[0].cursor(), &[], 10)
        .await
        .unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].status, "D");
    let lines = client.po_lines(&[po], &[]).await.unwrap();
    assert_eq!(lines[0].quantity_received, Some(4.0));

    // The record API agrees.
    let rec = client.get_purchase_order(po).await.unwrap();
    assert_eq!(rec.status_letter(), Some("D"));
    assert_eq!(
        rec.entity.as_ref().and_then(|e| e.ref_name.as_deref()),
        Some("Acme Metals")
    );
    assert_eq!(rec.lines().len(), 3);
    assert_eq!(rec.lines()[0].line, Some(l[0]));
    assert_eq!(rec.lines()[0].quantity_received, Some(4.0));
    assert_eq!(
        rec.lines()[0]
            .item
            .as_ref()
            .and_then(|i| i.ref_name.as_deref()),
        Some("WIDGET-100")
    );
    assert_eq!(rec.lines()[0].other["custcol_project"], "Apollo");
    assert_eq!(
        rec.status.as_ref().and_then(|s| s.id.as_deref()),
        Some("Partially Received")
    );

    // Receiving the rest makes it Pending Bill, after which it cannot be received again.
    client
        .create_item_receipt(
            po,
            &request(
                "ion-receipt-78-1",
                vec![
                    ItemReceiptLine::receive(l[0], 6.0),
                    ItemReceiptLine::receive(l[1], 5.0),
                    ItemReceiptLine::receive(l[2], 2.0),
                ],
            ),
        )
        .await
        .unwrap();
    assert_eq!(sim.po_status(po).as_deref(), Some("F"));
    let err = client
        .create_item_receipt(
            po,
            &request(
                "ion-receipt-79-1",
                vec![ItemReceiptLine::receive(l[0], 1.0)],
            ),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
}

#[tokio::test]
async fn duplicate_external_id_is_refused() {
    let (sim, client) = start(config()).await;
    let (po, l) = three_line_po(&sim);
    let req = request(
        "ion-receipt-5-1",
        vec![
            ItemReceiptLine::receive(l[0], 1.0),
            ItemReceiptLine::skip(l[1]),
            ItemReceiptLine::skip(l[2]),
        ],
    );
    client.create_item_receipt(po, &req).await.unwrap();
    let err = client.create_item_receipt(po, &req).await.unwrap_err();
    match &err {
        Error::Api {
            status: 400,
            details,
            ..
        } => {
            assert_eq!(details[0].code.as_deref(), Some("USER_ERROR"));
            assert_eq!(details[0].path.as_deref(), Some("externalId"));
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.is_transient());
    assert_eq!(sim.item_receipts().len(), 1);
}

#[tokio::test]
async fn invalid_lines_are_refused_with_their_path() {
    let (sim, client) = start(config()).await;
    let (po, l) = three_line_po(&sim);
    sim.close_line(po, l[2]).unwrap();
    let path_of = |e: Error| {
        e.details()
            .first()
            .and_then(|d| d.path.clone())
            .unwrap_or_default()
    };
    // More than remains.
    let e = client
        .create_item_receipt(
            po,
            &request("x-1", vec![ItemReceiptLine::receive(l[1], 6.0)]),
        )
        .await
        .unwrap_err();
    assert_eq!(path_of(e), "item.items[0].quantity");
    // Zero.
    let e = client
        .create_item_receipt(
            po,
            &request("x-2", vec![ItemReceiptLine::receive(l[1], 0.0)]),
        )
        .await
        .unwrap_err();
    assert_eq!(path_of(e), "item.items[0].quantity");
    // A closed line, and a line that does not exist.
    for bad in [l[2], 999] {
        let e = client
            .create_item_receipt(
                po,
                &request(
                    "x-3",
                    vec![
                        ItemReceiptLine::skip(l[0]),
                        ItemReceiptLine::receive(bad, 1.0),
                    ],
                ),
            )
            .await
            .unwrap_err();
        assert_eq!(path_of(e), "item.items[1].orderLine");
    }
    // Nothing to receive.
    let e = client
        .create_item_receipt(
            po,
            &request(
                "x-4",
                vec![ItemReceiptLine::skip(l[0]), ItemReceiptLine::skip(l[1])],
            ),
        )
        .await
        .unwrap_err();
    assert!(e.has_code("USER_ERROR"), "{e}");
    assert!(sim.item_receipts().is_empty());
    // Pending approval and closed POs cannot be received.
    let v = vendor(&sim, "Other");
    let it = item(&sim, "X", "InvtPart");
    let pending = sim
        .create_purchase_order(PoSpec {
            vendor: v,
            status: Some("A".into()),
            lines: vec![line(it, 1.0)],
            ..Default::default()
        })
        .unwrap();
    let first = sim.po_lines(pending)[0].line_id;
    assert!(
        client
            .create_item_receipt(
                pending,
                &request("x-5", vec![ItemReceiptLine::receive(first, 1.0)])
            )
            .await
            .is_err()
    );
    sim.close_purchase_order(po).unwrap();
    assert_eq!(sim.po_status(po).as_deref(), Some("H"));
    assert!(
        client
            .create_item_receipt(
                po,
                &request("x-6", vec![ItemReceiptLine::receive(l[0], 1.0)])
            )
            .await
            .is_err()
    );
}

/// The transform pre-populates every open line (reference §7.3): a line that is not listed is
/// received in full. This is why the sync lists every other open line with `itemReceive: false`.
#[tokio::test]
async fn unlisted_open_lines_are_received_in_full() {
    let (sim, client) = start(config()).await;
    let (po, l) = three_line_po(&sim);
    client
        .create_item_receipt(
            po,
            &request("ion-receipt-9-1", vec![ItemReceiptLine::receive(l[0], 1.0)]),
        )
        .await
        .unwrap();
    assert_eq!(
        sim.item_receipts()[0].lines,
        vec![(l[0], 1.0), (l[1], 5.0), (l[2], 2.0)]
    );
}

#[tokio::test]
async fn purchase_order_record_shape_and_missing_record() {
    let (sim, client) = start(config()).await;
    let (po, l) = three_line_po(&sim);
    sim.remove_line(po, l[1]).unwrap();
    let rec = client.get_purchase_order(po).await.unwrap();
    assert_eq!(rec.id.as_deref(), Some(po.to_string().as_str()));
    assert_eq!(rec.status_letter(), Some("B"));
    assert_eq!(
        rec.last_modified_date.as_deref(),
        Some("2026-01-15T18:00:00Z"),
        "record API is UTC"
    );
    assert_eq!(
        rec.lines().iter().map(|x| x.line).collect::<Vec<_>>(),
        vec![Some(l[0]), Some(l[2])]
    );
    // Line ids stay; sequence numbers close the gap.
    let lines = client.po_lines(&[po], &[]).await.unwrap();
    assert_eq!(
        lines
            .iter()
            .map(|x| (x.line_id, x.line_seq))
            .collect::<Vec<_>>(),
        vec![(l[0], Some(1)), (l[2], Some(2))]
    );
    let err = client.get_purchase_order(424242).await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert!(err.has_code("NONEXISTENT_ID"));
}

#[tokio::test]
async fn time_zone_probe_reports_the_suiteql_offset() {
    let (sim, client) = start(config()).await;
    assert_eq!(client.suiteql_time_zone_offset().await.unwrap(), None);
    three_line_po(&sim);
    // Los Angeles in January: UTC-8.
    assert_eq!(
        client.suiteql_time_zone_offset().await.unwrap(),
        Some(chrono::Duration::hours(-8))
    );
}

#[tokio::test]
async fn sample_data_loads() {
    let (sim, client) = start(config()).await;
    let sample = sim.load_sample_data().unwrap();
    assert_eq!(sample.pos.len(), 4);
    let headers = client
        .po_headers_changed_since(&PoCursor::start(), &[], 10)
        .await
        .unwrap();
    let statuses: Vec<&str> = headers.iter().map(|h| h.status.as_str()).collect();
    assert_eq!(statuses, ["A", "B", "B", "D"]);
    assert_eq!(sim.item_receipts().len(), 1);
}
