//! Shared set-up for the NetSuite tests: a simulator on 127.0.0.1:0 and a real client pointed
//! at it, authenticated with the openssl-made fixture key pair.
#![allow(dead_code)]

use std::time::Duration;

use chrono::{TimeZone, Utc};
use netsuite_ion_sync::netsuite::{Client, Settings};
use netsuite_ion_sync::retry::Backoff;
use netsuite_ion_sync::sandbox::netsuite::{
    ItemSpec, LineSpec, NetSuiteSim, PoSpec, SimConfig, SimHandle, VendorSpec,
};
use secrecy::SecretString;

pub fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/netsuite/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A deterministic simulated clock start: 2026-01-15 18:00:00 UTC (10:00 in Los Angeles).
pub fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 15, 18, 0, 0).unwrap()
}

pub fn config() -> SimConfig {
    SimConfig {
        start_time: Some(t0()),
        ..SimConfig::default()
    }
}

pub fn settings(sim: &SimHandle, certificate_id: &str, key_pem: &str) -> Settings {
    let mut s = Settings::new(
        sim.base_url(),
        sim.account_id(),
        sim.client_id(),
        certificate_id,
        SecretString::from(key_pem.to_owned()),
    );
    s.backoff = Backoff {
        base: Duration::from_millis(2),
        max_delay: Duration::from_millis(20),
        max_attempts: 12,
    };
    s.request_timeout = Duration::from_secs(10);
    s
}

/// Simulator + client authenticated with `auth-key.pem` / `auth-cert.pem`.
pub async fn start(config: SimConfig) -> (SimHandle, Client) {
    let sim = NetSuiteSim::start(config).await.expect("simulator starts");
    let kid = sim
        .register_certificate_pem(&fixture("auth-cert.pem"))
        .expect("certificate maps");
    let client =
        Client::new(settings(&sim, &kid, &fixture("auth-key.pem"))).expect("client builds");
    (sim, client)
}

pub fn vendor(sim: &SimHandle, name: &str) -> i64 {
    sim.create_vendor(VendorSpec {
        entity_id: format!("V-{name}"),
        company_name: Some(name.into()),
    })
    .unwrap()
}

pub fn item(sim: &SimHandle, name: &str, item_type: &str) -> i64 {
    sim.create_item(ItemSpec {
        item_id: name.into(),
        item_type: item_type.into(),
        display_name: Some(format!("{name} display")),
        ..Default::default()
    })
    .unwrap()
}

pub fn line(item: i64, quantity: f64) -> LineSpec {
    LineSpec {
        item,
        quantity,
        rate: 2.5,
        ..Default::default()
    }
}

pub fn po(sim: &SimHandle, vendor: i64, lines: Vec<LineSpec>) -> i64 {
    sim.create_purchase_order(PoSpec {
        vendor,
        lines,
        ..Default::default()
    })
    .unwrap()
}
