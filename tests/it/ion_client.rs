//! Each client operation against the simulator over real HTTP.

use crate::support::ion::{new_po, ordered_po, start};
use netsuite_ion_sync::ion::{
    AttributeEntity, AttributeType, AttributeValue, LineChanges, NewLine, PoStatus,
    PurchaseOrderChanges, parts,
};
use netsuite_ion_sync::sandbox::ion::{AttrScope, IonSim, Kind, SimConfig};

#[tokio::test]
async fn me_and_attribute_setup() {
    let sim = IonSim::start(SimConfig::default()).await.unwrap();
    let client = netsuite_ion_sync::ion::Client::new(crate::support::ion::settings(&sim)).unwrap();
    let me = client.me().await.unwrap();
    assert_eq!(me.organization_id, Some(1));

    let defs = client.attribute_definitions().await.unwrap();
    assert_eq!(defs.problems().0.len(), 4, "nothing defined yet");

    let created = client.ensure_required_attributes().await.unwrap();
    assert_eq!(created.len(), 4);
    assert_eq!(
        sim.attribute_definitions(AttrScope::PurchaseOrderLine),
        vec![
            ("ns_line_id".to_string(), "NUMBER".to_string()),
            ("Non-receivable".to_string(), "BOOLEAN".to_string())
        ]
    );
    let defs = client.attribute_definitions().await.unwrap();
    assert_eq!(defs.problems(), (vec![], vec![]));
    assert_eq!(
        defs.find(AttributeEntity::PurchaseOrder, "Netsuite RecordID")
            .unwrap()
            .attribute_type,
        Some(AttributeType::String)
    );
    assert!(
        client
            .ensure_required_attributes()
            .await
            .unwrap()
            .is_empty(),
        "idempotent"
    );

    // A required key with the wrong type is reported, not silently retyped.
    sim.define_attribute(AttrScope::PurchaseOrderLine, "ns_line_id", "STRING");
    let err = client.ensure_required_attributes().await.unwrap_err();
    assert!(err.to_string().contains("ns_line_id"), "{err}");
}

#[tokio::test]
async fn create_po_with_20_lines_in_three_round_trips() {
    let (sim, client) = start().await;
    let supplier = sim.add_supplier("Acme");
    let part = sim.add_part("P-100", "A");
    client.me().await.unwrap(); // token fetched outside the measurement
    sim.reset_counters();

    let po = client
        .create_purchase_order(&new_po("9001", supplier, part, 20, PoStatus::Ordered))
        .await
        .unwrap();

    assert_eq!(sim.graphql_requests(), 3, "{:?}", sim.request_counts());
    assert_eq!(sim.requests("CreatePurchaseOrder"), 1);
    assert_eq!(sim.requests("CreatePurchaseOrderLines"), 1);
    assert_eq!(sim.requests("UpdatePurchaseOrder"), 1);
    assert_eq!(po.status, Some(PoStatus::Ordered));
    assert_eq!(po.lines.len(), 20);
    assert!(po.lines.iter().all(|l| l.status == PoStatus::Ordered));
    let ns_lines: Vec<i64> = po.lines.iter().filter_map(|l| l.ns_line_id()).collect();
    assert_eq!(ns_lines, (1..=20).collect::<Vec<_>>());
    assert_eq!(po.netsuite_id().as_deref(), Some("9001"));
    assert_eq!(sim.line_ids(po.id).len(), 20);

    // A draft PO is two round trips.
    sim.reset_counters();
    let draft = client
        .create_purchase_order(&new_po("9002", supplier, part, 20, PoStatus::Draft))
        .await
        .unwrap();
    assert_eq!(sim.graphql_requests(), 2);
    assert_eq!(draft.status, Some(PoStatus::Draft));
    // The PO snapshot kept up with line writes: its etag is the current one.
    let fresh = client.purchase_order(draft.id).await.unwrap().unwrap();
    assert_eq!(fresh, draft);
}

#[tokio::test]
async fn find_purchase_orders_by_netsuite_id_and_by_id() {
    let (sim, client) = start().await;
    let a = ordered_po(&sim, &client, "1", 2).await;
    let b = ordered_po(&sim, &client, "2", 1).await;
    let _c = ordered_po(&sim, &client, "3", 1).await;

    let found = client
        .purchase_orders_by_netsuite_id(&["1".into(), "2".into(), "404".into()])
        .await
        .unwrap();
    let mut ids: Vec<i64> = found.iter().map(|p| p.id).collect();
    ids.sort();
    assert_eq!(ids, vec![a.id, b.id]);
    let found_a = found.iter().find(|p| p.id == a.id).unwrap();
    assert_eq!(found_a, &a);
    assert_eq!(found_a.lines.len(), 2);

    // More ids than one `in` chunk: paged and chunked transparently.
    let many: Vec<String> = (0..120).map(|i| i.to_string()).collect();
    assert_eq!(
        client
            .purchase_orders_by_netsuite_id(&many)
            .await
            .unwrap()
            .len(),
        3
    );

    assert_eq!(client.purchase_order(a.id).await.unwrap().unwrap(), a);
    assert!(client.purchase_order(999_999).await.unwrap().is_none());
}

#[tokio::test]
async fn update_header_status_and_attributes() {
    let (sim, client) = start().await;
    let mut po = ordered_po(&sim, &client, "7", 1).await;
    let other = sim.add_supplier("Other Supplier");
    client
        .update_purchase_order(
            &mut po,
            &PurchaseOrderChanges {
                description: Some("changed memo".into()),
                supplier_id: Some(other),
                attributes: vec![AttributeValue::new("Netsuite PO Number", "PO7-renamed")],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(po.description.as_deref(), Some("changed memo"));
    assert_eq!(po.supplier_id, Some(other));
    assert_eq!(
        po.attribute("Netsuite PO Number").unwrap().value,
        "PO7-renamed"
    );
    let snap = sim.snapshot(Kind::PurchaseOrder, po.id).unwrap();
    assert_eq!(snap["description"], "changed memo");

    client
        .set_status(&mut po, PoStatus::Canceled)
        .await
        .unwrap();
    assert_eq!(po.status, Some(PoStatus::Canceled));
    assert!(po.lines.iter().all(|l| l.status == PoStatus::Canceled));
}

#[tokio::test]
async fn revise_lines_of_an_ordered_po() {
    let (sim, client) = start().await;
    let mut po = ordered_po(&sim, &client, "8", 3).await;
    let (l0, l1, l2) = (po.lines[0].id, po.lines[1].id, po.lines[2].id);
    let part = sim.add_part("P-new", "A");
    client
        .revise_lines(
            &mut po,
            &netsuite_ion_sync::ion::LineEdits {
                delete: vec![l2],
                update: vec![LineChanges {
                    id: l0,
                    quantity: Some(42.0),
                    cost: Some(9.0),
                    ..Default::default()
                }],
                create: vec![NewLine {
                    part_id: Some(part),
                    quantity: 5.0,
                    attributes: vec![AttributeValue::new("ns_line_id", 4)],
                    ..Default::default()
                }],
            },
        )
        .await
        .unwrap();
    assert_eq!(po.status, Some(PoStatus::Ordered));
    assert_eq!(po.lines.len(), 3);
    assert_eq!(po.line(l0).unwrap().quantity, 42.0);
    assert!(po.line(l1).is_some() && po.line(l2).is_none());
    assert_eq!(
        po.lines.iter().filter_map(|l| l.ns_line_id()).max(),
        Some(4)
    );
    assert_eq!(client.purchase_order(po.id).await.unwrap().unwrap(), po);

    // Attribute-only and cancel edits do not need the DRAFT round trip.
    sim.reset_counters();
    client
        .revise_lines(
            &mut po,
            &netsuite_ion_sync::ion::LineEdits {
                update: vec![LineChanges {
                    id: l1,
                    attributes: vec![AttributeValue::new("Non-receivable", true)],
                    cancel: true,
                    ..Default::default()
                }],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(sim.requests("UpdatePurchaseOrder"), 0);
    let l1 = po.line(l1).unwrap();
    assert_eq!(l1.status, PoStatus::Canceled);
    assert_eq!(l1.attribute("Non-receivable").unwrap().value, true);
}

#[tokio::test]
async fn delete_lines_and_purchase_order() {
    let (sim, client) = start().await;
    let supplier = sim.add_supplier("S");
    let part = sim.add_part("P", "A");
    let mut po = client
        .create_purchase_order(&new_po("11", supplier, part, 3, PoStatus::Draft))
        .await
        .unwrap();
    let ids: Vec<i64> = po.lines.iter().map(|l| l.id).take(2).collect();
    client.delete_lines(&mut po, &ids).await.unwrap();
    assert_eq!(po.lines.len(), 1);
    assert_eq!(sim.line_ids(po.id).len(), 1);
    client.delete_purchase_order(&po).await.unwrap();
    assert!(sim.snapshot(Kind::PurchaseOrder, po.id).is_none());
    assert!(client.purchase_order(po.id).await.unwrap().is_none());
}

#[tokio::test]
async fn suppliers_by_name_and_create() {
    let (sim, client) = start().await;
    sim.add_supplier("Acme");
    sim.add_supplier("Globex");
    let found = client
        .suppliers_by_name(&["Acme".into(), "Initech".into(), "Globex".into()])
        .await
        .unwrap();
    let mut names: Vec<String> = found.into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(names, vec!["Acme", "Globex"]);

    let created = client.create_supplier("Initech").await.unwrap();
    assert_eq!(created.name, "Initech");
    assert!(
        sim.suppliers()
            .contains(&(created.id, "Initech".to_string()))
    );
    assert_eq!(
        client.suppliers_by_name(&["Initech".into()]).await.unwrap(),
        vec![created]
    );
}

#[tokio::test]
async fn parts_by_number_pick_latest_or_given_revision() {
    let (sim, client) = start().await;
    let a = sim.add_part("P-1", "A");
    let b = sim.add_part("P-1", "B");
    let other = sim.add_part("P-2", "A");
    sim.add_part("P-3", "A");
    let numbers = vec![
        "P-1".to_string(),
        "P-2".to_string(),
        "P-missing".to_string(),
    ];
    let found = client.parts_by_number(&numbers).await.unwrap();
    assert_eq!(found.len(), 3);
    assert_eq!(parts::pick_revision(&found, "P-1", None).unwrap().id, b);
    assert_eq!(
        parts::pick_revision(&found, "P-1", Some("A")).unwrap().id,
        a
    );
    assert!(parts::pick_revision(&found, "P-1", Some("C")).is_none());
    let latest = client.latest_parts_by_number(&numbers).await.unwrap();
    assert_eq!(latest["P-1"].id, b);
    assert_eq!(latest["P-2"].id, other);
    assert!(!latest.contains_key("P-missing"));
}

#[tokio::test]
async fn new_pos_created_together_share_requests_and_answer_their_line_ids() {
    let (sim, client) = start().await;
    let supplier = sim.add_supplier("Acme");
    let part = sim.add_part("P-100", "A");
    client.me().await.unwrap();
    sim.reset_counters();

    let news = vec![
        new_po("9101", supplier, part, 30, PoStatus::Ordered),
        new_po("9102", supplier, part, 30, PoStatus::Ordered),
        new_po("9103", supplier, part, 2, PoStatus::Draft),
    ];
    let created = client.create_purchase_orders(&news).await.unwrap();

    // One header batch, ⌈62 / 50⌉ = 2 line batches, one status batch (the draft stays).
    assert_eq!(sim.graphql_requests(), 4, "{:?}", sim.request_counts());
    assert_eq!(sim.requests("CreatePurchaseOrders"), 1);
    assert_eq!(sim.requests("CreateNewPurchaseOrderLines"), 2);
    assert_eq!(sim.requests("UpdatePurchaseOrders"), 1);
    assert_eq!(created.len(), 3);
    for (c, (want_lines, want_status)) in
        created
            .iter()
            .zip([(30, "ORDERED"), (30, "ORDERED"), (2, "DRAFT")])
    {
        // The line map is what ION stored: ns_line_id → ION line id, every line once.
        let map = c.line_map();
        assert_eq!(
            map.keys().copied().collect::<Vec<_>>(),
            (1..=want_lines).collect::<Vec<i64>>()
        );
        let mut ids: Vec<i64> = map.values().copied().collect();
        ids.sort();
        assert_eq!(ids, sim.line_ids(c.id));
        let row = sim.snapshot(Kind::PurchaseOrder, c.id).expect("PO in ION");
        assert_eq!(row["status"], want_status);
        assert_eq!(
            c.status.map(|s| format!("{s:?}").to_uppercase()).as_deref(),
            Some(want_status)
        );
        // The etag answered is the PO's current one: a next write needs no re-read.
        assert_eq!(row["_etag"].as_str(), Some(c.etag.as_str()));
    }
}
