//! ION set-up: the simulator on 127.0.0.1:0 (with the sync's attribute definitions) and a
//! real client pointed at it.

use netsuite_ion_sync::ion::{
    self, AttributeValue, Client, NewLine, NewPurchaseOrder, PoStatus, Settings,
};
use netsuite_ion_sync::retry::Backoff;
use netsuite_ion_sync::sandbox::harness;
use netsuite_ion_sync::sandbox::ion::{SimConfig, SimHandle};
use serde_json::{Value, json};

/// Client settings for `sim`: quick retries and a 10 s request timeout.
pub fn settings(sim: &SimHandle) -> Settings {
    let mut s = harness::ion_settings(sim, Backoff::fast());
    s.request_timeout = std::time::Duration::from_secs(10);
    s
}

/// Simulator (attributes defined) + client.
pub async fn start_with(config: SimConfig) -> (SimHandle, Client) {
    let sim = harness::start_ion(config, true)
        .await
        .expect("simulator starts");
    let client = Client::new(settings(&sim)).expect("client");
    (sim, client)
}

pub async fn start() -> (SimHandle, Client) {
    start_with(SimConfig::default()).await
}

pub fn new_po(
    ns_id: &str,
    supplier_id: i64,
    part_id: i64,
    lines: usize,
    status: PoStatus,
) -> NewPurchaseOrder {
    NewPurchaseOrder {
        supplier_id: Some(supplier_id),
        description: Some(format!("NetSuite PO {ns_id}")),
        status: Some(status),
        attributes: vec![
            AttributeValue::new("Netsuite PO Number", format!("PO{ns_id}")),
            AttributeValue::new("Netsuite RecordID", ns_id.to_string()),
        ],
        lines: (0..lines)
            .map(|k| NewLine {
                part_id: Some(part_id),
                quantity: (k + 1) as f64,
                cost: Some(2.5),
                description: Some(format!("line {k}")),
                attributes: vec![
                    AttributeValue::new("ns_line_id", (k + 1) as i64),
                    AttributeValue::new("Non-receivable", false),
                ],
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// A PO created through the client, with its supplier and part set up in the simulator.
pub async fn ordered_po(
    sim: &SimHandle,
    client: &Client,
    ns_id: &str,
    lines: usize,
) -> ion::IonPurchaseOrder {
    let supplier = sim.add_supplier(&format!("Supplier {ns_id}"));
    let part = sim.add_part(&format!("P-{ns_id}"), "A");
    client
        .create_purchase_order(&new_po(ns_id, supplier, part, lines, PoStatus::Ordered))
        .await
        .expect("PO created")
}

/// A raw GraphQL request (what a hand-written client would send), with a valid token.
pub async fn raw(sim: &SimHandle, query: &str, variables: Value) -> (u16, Value) {
    raw_op(sim, query, None, variables).await
}

/// [`raw`] with an `operationName` (to pick one operation of a multi-operation document).
pub async fn raw_op(
    sim: &SimHandle,
    query: &str,
    operation: Option<&str>,
    variables: Value,
) -> (u16, Value) {
    let http = reqwest::Client::new();
    let token: Value = http
        .post(sim.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", sim.client_id()),
            ("client_secret", sim.client_secret()),
        ])
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("token json");
    let response = http
        .post(sim.api_url().join("graphql").expect("url"))
        .bearer_auth(token["access_token"].as_str().expect("token"))
        .json(&json!({"query": query, "variables": variables, "operationName": operation}))
        .send()
        .await
        .expect("graphql request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("graphql json"))
}
