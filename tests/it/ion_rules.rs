//! What real ION enforces, seen through the client: etags, July-2025 line rules, refused
//! deletes, attribute definitions, schema validation and unimplemented operations.

use crate::support::ion::{new_po, ordered_po, raw, raw_op, start, start_with};
use netsuite_ion_sync::ion::{
    AttributeValue, Error, LineChanges, NewLine, PoStatus, PurchaseOrderChanges, documents,
};
use netsuite_ion_sync::sandbox::ion::SimConfig;
use serde_json::json;

fn graphql_message(e: &Error) -> String {
    match e {
        Error::GraphQl(errors) => errors
            .iter()
            .map(|e| e.message.clone())
            .collect::<Vec<_>>()
            .join("; "),
        other => panic!("expected a GraphQL error, got {other:?}"),
    }
}

#[tokio::test]
async fn line_fields_are_editable_only_while_draft() {
    let (sim, client) = start().await;
    let mut po = ordered_po(&sim, &client, "20", 2).await;
    let line = po.lines[0].id;

    let e = client
        .update_lines(
            &mut po,
            &[LineChanges {
                id: line,
                quantity: Some(9.0),
                ..Default::default()
            }],
        )
        .await
        .unwrap_err();
    assert!(!e.is_transient());
    assert!(
        graphql_message(&e).contains("can only be edited while the purchase order is DRAFT"),
        "{e}"
    );

    let e = client
        .create_lines(
            &mut po,
            &[NewLine {
                quantity: 1.0,
                ..Default::default()
            }],
        )
        .await
        .unwrap_err();
    assert!(graphql_message(&e).contains("DRAFT"), "{e}");

    let e = client.delete_lines(&mut po, &[line]).await.unwrap_err();
    assert!(graphql_message(&e).contains("DRAFT"), "{e}");

    // Attributes and cancellation are allowed on an ordered PO.
    client
        .update_lines(
            &mut po,
            &[LineChanges {
                id: line,
                attributes: vec![AttributeValue::new("ns_line_id", 77)],
                estimated_arrival_date: Some(Some("2026-12-01T00:00:00Z".into())),
                ..Default::default()
            }],
        )
        .await
        .unwrap();
    client.cancel_lines(&mut po, &[line]).await.unwrap();
    assert_eq!(po.line(line).unwrap().status, PoStatus::Canceled);
    assert_eq!(po.line(line).unwrap().ns_line_id(), Some(77));
}

#[tokio::test]
async fn the_only_line_status_a_client_may_set_is_canceled() {
    let (sim, client) = start().await;
    let po = ordered_po(&sim, &client, "21", 1).await;
    let line = &po.lines[0];
    for status in ["ORDERED", "RECEIVED", "APPROVED"] {
        let (http, body) = raw(
            &sim,
            &documents::update_lines(1),
            json!({"i0": {"id": line.id, "etag": line.etag, "status": status}}),
        )
        .await;
        assert_eq!(http, 200);
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("the only status that can be set is CANCELED"),
            "{message}"
        );
        assert!(body["data"]["l0"].is_null());
    }
}

#[tokio::test]
async fn etag_conflict_rereads_and_retries_once_http_409() {
    conflict_case(SimConfig::default()).await;
}

#[tokio::test]
async fn etag_conflict_rereads_and_retries_once_graphql_error_on_200() {
    conflict_case(SimConfig {
        conflict_as_http_409: false,
        ..Default::default()
    })
    .await;
}

async fn conflict_case(config: SimConfig) {
    let (sim, client) = start_with(config).await;
    let mut po = ordered_po(&sim, &client, "30", 2).await;
    let stale_etag = po.etag.clone();
    sim.touch_purchase_order(po.id).unwrap(); // someone edits it in the UI
    sim.reset_counters();
    client
        .update_purchase_order(
            &mut po,
            &PurchaseOrderChanges {
                description: Some("new".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_ne!(po.etag, stale_etag);
    assert_eq!(po.description.as_deref(), Some("new"));
    assert_eq!(
        sim.requests("UpdatePurchaseOrder"),
        2,
        "{:?}",
        sim.request_counts()
    );
    assert_eq!(sim.requests("PurchaseOrderById"), 1, "exactly one re-read");

    // Stale line etags: lines were re-stamped when the PO status changed behind our back.
    let mut stale = po.clone();
    client.set_status(&mut po, PoStatus::Draft).await.unwrap();
    sim.reset_counters();
    let first_line = stale.lines[0].id;
    client
        .update_lines(
            &mut stale,
            &[LineChanges {
                id: first_line,
                quantity: Some(3.0),
                ..Default::default()
            }],
        )
        .await
        .unwrap();
    assert_eq!(sim.requests("UpdatePurchaseOrderLines"), 2);
    assert_eq!(stale.lines[0].quantity, 3.0);

    // A raw write with a wrong etag is reported as a conflict (409 or errors[] on 200).
    let (http, body) = raw(
        &sim,
        documents::DELETE_PURCHASE_ORDER,
        json!({"id": po.id, "etag": "not-the-etag"}),
    )
    .await;
    assert!(http == 409 || http == 200);
    assert_eq!(body["errors"][0]["extensions"]["code"], "CONFLICT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("Etag mismatch")
    );
}

#[tokio::test]
async fn deletes_are_refused_once_something_was_received() {
    let (sim, client) = start().await;
    let mut po = ordered_po(&sim, &client, "40", 2).await;
    sim.receive(&[(po.lines[0].id, 1.0)]).unwrap();
    po = client.purchase_order(po.id).await.unwrap().unwrap();

    let e = client.delete_purchase_order(&po).await.unwrap_err();
    assert!(graphql_message(&e).contains("cannot be deleted"), "{e}");

    client.set_status(&mut po, PoStatus::Draft).await.unwrap();
    let received = po.lines[0].id;
    let e = client.delete_lines(&mut po, &[received]).await.unwrap_err();
    assert!(graphql_message(&e).contains("cannot be deleted"), "{e}");
    // The other line can go.
    let other = po.lines[1].id;
    client.delete_lines(&mut po, &[other]).await.unwrap();
    assert_eq!(po.lines.len(), 1);
}

#[tokio::test]
async fn attribute_values_need_a_definition_of_the_right_type() {
    let (sim, client) = start().await;
    let supplier = sim.add_supplier("S");
    let part = sim.add_part("P", "A");
    let mut new = new_po("50", supplier, part, 0, PoStatus::Draft);
    new.attributes
        .push(AttributeValue::new("Undefined Key", "x"));
    let e = client.create_purchase_order(&new).await.unwrap_err();
    assert!(
        graphql_message(&e).contains("'Undefined Key' is not defined"),
        "{e}"
    );

    let mut new = new_po("51", supplier, part, 1, PoStatus::Draft);
    new.lines[0].attributes = vec![AttributeValue::new("ns_line_id", "not a number")];
    let e = client.create_purchase_order(&new).await.unwrap_err();
    assert!(graphql_message(&e).contains("type NUMBER"), "{e}");
}

#[tokio::test]
async fn graphql_errors_on_http_200_are_failures() {
    let (sim, client) = start().await;
    let mut po = ordered_po(&sim, &client, "60", 1).await;
    sim.reset_counters();
    let e = client
        .update_purchase_order(
            &mut po,
            &PurchaseOrderChanges {
                supplier_id: Some(123_456),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::GraphQl(v) if v[0].message.contains("Supplier 123456 does not exist")),
        "{e:?}"
    );
    assert!(!e.is_transient());
    assert_eq!(
        sim.requests("UpdatePurchaseOrder"),
        1,
        "permanent errors are not retried"
    );
}

#[tokio::test]
async fn a_misspelt_field_is_rejected_with_the_schema_validation_message() {
    let (sim, _client) = start().await;
    let broken = documents::PURCHASE_ORDER_BY_ID.replace("receivedQuantity", "recievedQuantity");
    let (http, body) = raw(&sim, &broken, json!({"id": 1})).await;
    assert_eq!(http, 400);
    assert!(body.get("data").is_none());
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert_eq!(
        message,
        r#"Cannot query field "recievedQuantity" on type "PurchaseOrderLine"."#
    );

    let (_, body) = raw(
        &sim,
        "query Q($id: ID!) { purchaseOrder(id: $id) { id } }",
        json!({}),
    )
    .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("variable 'id'"),
        "{body}"
    );
}

#[tokio::test]
async fn valid_but_unsimulated_operations_fail_loudly() {
    let (sim, _client) = start().await;
    let (http, body) = raw(
        &sim,
        "query Currencies { currencies(first: 1) { edges { node { id type } } } }",
        json!({}),
    )
    .await;
    assert_eq!(http, 200);
    assert_eq!(
        body["errors"][0]["message"],
        "ION simulator: Query.currencies is not implemented"
    );
    let (_, body) = raw(
        &sim,
        "mutation { deleteReceipt(id: 1, etag: \"x\") { id } }",
        json!({}),
    )
    .await;
    assert_eq!(
        body["errors"][0]["message"],
        "ION simulator: Mutation.deleteReceipt is not implemented"
    );
}

#[tokio::test]
async fn the_reference_queries_execute_or_name_their_gaps() {
    // Every query of the reference set runs against the simulator: either it answers without
    // errors, or each error names the simulator's gap (never a silent wrong answer).
    let (sim, client) = start().await;
    let po = ordered_po(&sim, &client, "70", 1).await;
    sim.receive(&[(po.lines[0].id, 1.0)]).unwrap();
    let ops = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/ion/ion-operations.graphql"
    ));
    let variables = json!({
        "since": "1970-01-01T00:00:00Z", "first": 10, "key": "Netsuite RecordID", "value": "70",
        "id": po.id, "name": "Supplier 70", "partNumber": "P-70", "revision": "A",
    });
    let queries = [
        "Me",
        "AttributeDefinitions",
        "PurchaseOrdersChangedSince",
        "PurchaseOrderByExternalNumber",
        "PurchaseOrderById",
        "ReceiptItemsChangedSince",
        "ReceiptsChangedSince",
        "SupplierByName",
        "PartByNumber",
        "FailedWebhookEvents",
    ];
    let mut answered = Vec::new();
    for op in queries {
        let (http, body) = raw_op(&sim, ops, Some(op), variables.clone()).await;
        assert_eq!(http, 200, "{op}: {body}");
        let errors = body["errors"].as_array().cloned().unwrap_or_default();
        for e in &errors {
            let m = e["message"].as_str().unwrap_or_default();
            assert!(
                m.starts_with("ION simulator:"),
                "{op}: unexpected error {m}"
            );
        }
        if errors.is_empty() {
            answered.push(op);
        }
    }
    for op in [
        "Me",
        "AttributeDefinitions",
        "PurchaseOrderByExternalNumber",
        "PurchaseOrderById",
        "SupplierByName",
        "PartByNumber",
    ] {
        assert!(
            answered.contains(&op),
            "{op} should be fully simulated; answered: {answered:?}"
        );
    }
    let (_, body) = raw_op(&sim, ops, Some("PurchaseOrderByExternalNumber"), variables).await;
    assert_eq!(
        body["data"]["purchaseOrders"]["edges"][0]["node"]["id"],
        po.id
    );
    assert_eq!(body["data"]["purchaseOrders"]["pageInfo"]["totalCount"], 1);
}
