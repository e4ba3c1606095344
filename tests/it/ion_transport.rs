//! Transport behaviour against the simulator: tokens, faults, retries, secrets.

use std::time::Duration;

use crate::support::ion::{settings, start, start_with};
use netsuite_ion_sync::ion::{Client, Error};
use netsuite_ion_sync::sandbox::faults::FaultConfig;
use netsuite_ion_sync::sandbox::ion::{IonSim, SimConfig};
use secrecy::SecretString;

#[tokio::test]
async fn token_is_cached_and_refetched_once_after_expiry() {
    let (sim, client) = start().await;
    client.me().await.unwrap();
    client.me().await.unwrap();
    assert_eq!(sim.requests("token"), 1, "cached");
    sim.expire_tokens();
    client.me().await.unwrap();
    assert_eq!(sim.requests("token"), 2, "one re-fetch after the 401");
    assert_eq!(sim.requests("Me"), 4, "the 401 plus three answered");
}

#[tokio::test]
async fn short_lived_tokens_are_renewed_before_they_expire() {
    let (sim, client) = start().await;
    sim.set_token_lifetime(Duration::ZERO);
    client.me().await.ok();
    let before = sim.requests("token");
    sim.set_token_lifetime(Duration::from_secs(300));
    client.me().await.unwrap();
    assert_eq!(
        sim.requests("token"),
        before + 1,
        "a zero-lifetime token is never reused"
    );
}

#[tokio::test]
async fn wrong_secret_is_an_auth_error_without_the_secret() {
    let sim = IonSim::start(SimConfig::default()).await.unwrap();
    let mut s = settings(&sim);
    s.client_secret = SecretString::from("wrong-secret-value".to_string());
    let client = Client::new(s.clone()).unwrap();
    let e = client.me().await.unwrap_err();
    assert!(matches!(e, Error::Auth(_)), "{e:?}");
    assert!(!e.is_transient());
    for text in [
        e.to_string(),
        format!("{e:?}"),
        format!("{client:?}"),
        format!("{s:?}"),
    ] {
        assert!(
            !text.contains("wrong-secret-value"),
            "secret leaked: {text}"
        );
    }
}

#[tokio::test]
async fn transient_faults_are_retried_for_queries() {
    let (sim, client) = start_with(SimConfig {
        faults: FaultConfig {
            seed: 7,
            rate_429: 0.1,
            rate_500: 0.1,
            rate_malformed: 0.05,
            rate_reset_before_apply: 0.05,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let mut ok = 0;
    for _ in 0..30 {
        if client.me().await.is_ok() {
            ok += 1;
        }
    }
    assert_eq!(
        ok, 30,
        "six attempts absorb a 30% fault rate (seeded, so deterministic)"
    );
    assert!(sim.requests("Me") > 30, "some requests were retried");
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_not_replayed() {
    let (sim, client) = start_with(SimConfig {
        faults: FaultConfig {
            seed: 1,
            rate_reset_after_apply: 1.0,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let e = client.create_supplier("Acme").await.unwrap_err();
    assert!(e.is_transient(), "{e:?}");
    assert_eq!(
        sim.requests("CreateSupplier"),
        1,
        "not replayed: it may have been applied"
    );
    assert_eq!(sim.suppliers().len(), 1, "it was applied");
}

#[tokio::test]
async fn timeouts_are_bounded() {
    let sim = IonSim::start(SimConfig {
        faults: FaultConfig {
            seed: 3,
            rate_timeout: 1.0,
            stall: Duration::from_secs(5),
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let mut s = settings(&sim);
    s.request_timeout = Duration::from_millis(100);
    s.backoff.max_attempts = 2;
    let client = Client::new(s).unwrap();
    let e = client.me().await.unwrap_err();
    assert!(matches!(e, Error::Timeout(_)), "{e:?}");
    assert!(e.is_transient());
    assert_eq!(sim.requests("Me"), 2);
}

#[tokio::test]
async fn requests_in_flight_are_capped_and_attributed() {
    let sim = IonSim::start(SimConfig {
        faults: FaultConfig {
            latency: Duration::from_millis(100),
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let mut s = settings(&sim);
    s.max_in_flight = 2;
    let client = Client::new(s).unwrap();
    client.me().await.unwrap();
    sim.reset_counters();
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.me().await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(sim.requests("Me"), 8);
    assert!(
        sim.max_in_flight() <= 2,
        "cap exceeded: {}",
        sim.max_in_flight()
    );
    assert_eq!(
        sim.max_in_flight(),
        2,
        "the cap is used, not serialised further"
    );
    let apps = sim.client_apps();
    assert_eq!(
        apps.keys().collect::<Vec<_>>(),
        vec![netsuite_ion_sync::ion::CLIENT_APP]
    );
    assert!(netsuite_ion_sync::ion::CLIENT_APP.starts_with("netsuite-ion-sync/"));
}
