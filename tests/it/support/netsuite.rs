//! NetSuite set-up: the simulator on 127.0.0.1:0 and a real client pointed at it, authenticated
//! with the openssl-made fixture key pair.

use std::time::Duration;

use netsuite_ion_sync::netsuite::{Client, Settings};
use netsuite_ion_sync::sandbox::harness::{self, Credentials};
use netsuite_ion_sync::sandbox::netsuite::{
    ItemSpec, LineSpec, PoSpec, SimConfig, SimHandle, VendorSpec,
};
use secrecy::{ExposeSecret as _, SecretString};

pub use super::{fixture, line, t0};

/// The simulator with its clock frozen at [`t0`].
pub fn config() -> SimConfig {
    SimConfig {
        start_time: Some(t0()),
        ..SimConfig::default()
    }
}

/// Client settings for `sim` signing with `key_pem` under `certificate_id`: quick retries and
/// a 10 s request timeout.
pub fn settings(sim: &SimHandle, certificate_id: &str, key_pem: &str) -> Settings {
    let credentials = Credentials {
        certificate_id: certificate_id.to_owned(),
        private_key: SecretString::from(key_pem.to_owned()),
    };
    let mut s = harness::netsuite_settings(sim, &credentials, super::netsuite_backoff());
    s.request_timeout = Duration::from_secs(10);
    s
}

/// Simulator + client authenticated with `auth-key.pem` / `auth-cert.pem`.
pub async fn start(config: SimConfig) -> (SimHandle, Client) {
    let (sim, credentials) = harness::start_netsuite(config, super::fixture_key())
        .await
        .expect("simulator starts");
    let client = Client::new(settings(
        &sim,
        &credentials.certificate_id,
        credentials.private_key.expose_secret(),
    ))
    .expect("client builds");
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

pub fn po(sim: &SimHandle, vendor: i64, lines: Vec<LineSpec>) -> i64 {
    sim.create_purchase_order(PoSpec {
        vendor,
        lines,
        ..Default::default()
    })
    .unwrap()
}
