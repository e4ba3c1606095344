//! Retries, governance and the never-blindly-re-sent POST, against seeded simulator faults.

use std::time::Duration;

use crate::support::netsuite::*;
use netsuite_ion_sync::netsuite::{Client, Error, ItemReceiptLine, ItemReceiptRequest, PoCursor};
use netsuite_ion_sync::sandbox::faults::{Fault, FaultConfig, Faults};
use netsuite_ion_sync::sandbox::netsuite::{SimConfig, SimHandle};

async fn full_read(client: &Client) -> (Vec<(i64, String)>, Vec<(i64, i64, Option<f64>)>) {
    let headers = client
        .po_headers_changed_since(&PoCursor::start(), &[], 50)
        .await
        .unwrap();
    let ids: Vec<i64> = headers.iter().map(|h| h.id).collect();
    let lines = client.po_lines(&ids, &[]).await.unwrap();
    (
        headers.into_iter().map(|h| (h.id, h.lastmod)).collect(),
        lines
            .into_iter()
            .map(|l| (l.po_id, l.line_id, l.quantity))
            .collect(),
    )
}

fn seed_pos(sim: &SimHandle, n: usize) -> Vec<i64> {
    let v = vendor(sim, "Acme");
    let it = item(sim, "PART", "InvtPart");
    (0..n)
        .map(|k| {
            if k % 40 == 0 {
                sim.advance(Duration::from_secs(1));
            }
            po(sim, v, vec![line(it, 1.0), line(it, 2.0), line(it, 3.0)])
        })
        .collect()
}

#[tokio::test]
async fn reads_through_429_500_resets_and_malformed_json_give_the_right_result() {
    let (sim, client) = start(config()).await;
    seed_pos(&sim, 200);
    let expected = full_read(&client).await;
    assert_eq!(expected.0.len(), 200);
    assert_eq!(expected.1.len(), 600);
    for seed in [1, 2, 3] {
        sim.set_faults(FaultConfig {
            seed,
            rate_429: 0.1,
            rate_500: 0.1,
            rate_reset_before_apply: 0.05,
            rate_reset_after_apply: 0.05,
            rate_malformed: 0.05,
            ..Default::default()
        });
        sim.reset_counters();
        let got = full_read(&client).await;
        assert_eq!(got, expected, "seed {seed}");
        assert!(
            sim.counters().faults_injected > 0,
            "seed {seed} injected nothing"
        );
    }
}

#[tokio::test]
async fn retries_are_bounded() {
    let (sim, client) = start(config()).await;
    let id = seed_pos(&sim, 1)[0];
    sim.set_faults(FaultConfig {
        rate_500: 1.0,
        ..Default::default()
    });
    let err = client.get_purchase_order(id).await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert!(err.is_transient());
    assert_eq!(
        sim.counters().requests_to("record.get"),
        12,
        "max_attempts of the test backoff"
    );
}

#[tokio::test]
async fn the_in_flight_cap_holds_under_load() {
    let (sim, client) = start(SimConfig {
        faults: FaultConfig {
            latency: Duration::from_millis(25),
            ..Default::default()
        },
        ..config()
    })
    .await;
    let ids = seed_pos(&sim, 3);
    client.check_login().await.unwrap();
    sim.reset_counters();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..16 {
        let client = client.clone();
        let id = ids[n % ids.len()];
        tasks.spawn(async move { client.get_purchase_order(id).await.map(|_| ()) });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap().unwrap();
    }
    let c = sim.counters();
    assert_eq!(c.requests_to("record.get"), 16);
    assert_eq!(
        c.max_concurrency, 2,
        "default max_in_flight is 2 and it was reached"
    );
    assert_eq!(c.concurrency_rejections, 0);
}

#[tokio::test]
async fn the_account_limit_answers_429_and_the_client_backs_off() {
    let sim_config = SimConfig {
        concurrency_limit: 2,
        faults: FaultConfig {
            latency: Duration::from_millis(20),
            ..Default::default()
        },
        ..config()
    };
    let (sim, _) = start(sim_config).await;
    let ids = seed_pos(&sim, 3);
    let kid = sim
        .register_certificate_pem(&fixture("auth-cert.pem"))
        .unwrap();
    let mut s = settings(&sim, &kid, &fixture("auth-key.pem"));
    s.max_in_flight = 4; // more than the account allows: another integration's share, say
    let client = Client::new(s).unwrap();
    client.check_login().await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..12 {
        let client = client.clone();
        let id = ids[n % ids.len()];
        tasks.spawn(async move { client.get_purchase_order(id).await.map(|_| ()) });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap().unwrap();
    }
    let c = sim.counters();
    assert!(c.concurrency_rejections > 0, "{c:?}");
    assert!(c.max_concurrency <= 4, "{c:?}");
}

fn receipt(ext: &str, line: i64) -> ItemReceiptRequest {
    ItemReceiptRequest {
        external_id: ext.into(),
        tran_date: "2026-01-15".into(),
        memo: "ION receipt".into(),
        lines: vec![ItemReceiptLine::receive(line, 1.0)],
    }
}

/// Timeouts, resets and 5xx after the POST was sent: the client reports an unknown outcome
/// and sends nothing more; the externalId lookup then tells what happened.
#[tokio::test]
async fn ambiguous_transform_failures_are_never_resent() {
    let cases = [
        (
            "reset after apply",
            FaultConfig {
                rate_reset_after_apply: 1.0,
                ..Default::default()
            },
            true,
        ),
        (
            "timeout after apply",
            FaultConfig {
                rate_timeout: 1.0,
                stall: Duration::from_secs(3),
                ..Default::default()
            },
            true,
        ),
        (
            "500",
            FaultConfig {
                rate_500: 1.0,
                ..Default::default()
            },
            false,
        ),
        (
            "reset before apply",
            FaultConfig {
                rate_reset_before_apply: 1.0,
                ..Default::default()
            },
            false,
        ),
    ];
    for (what, faults, applied) in cases {
        let sim = netsuite_ion_sync::sandbox::netsuite::NetSuiteSim::start(config())
            .await
            .unwrap();
        let kid = sim
            .register_certificate_pem(&fixture("auth-cert.pem"))
            .unwrap();
        let mut s = settings(&sim, &kid, &fixture("auth-key.pem"));
        s.request_timeout = Duration::from_millis(500);
        let client = Client::new(s).unwrap();
        let po_id = seed_pos(&sim, 1)[0];
        let line = sim.po_lines(po_id)[0].line_id;
        client.check_login().await.unwrap();
        sim.set_faults(faults);
        let err = client
            .create_item_receipt(po_id, &receipt("ion-receipt-1-1", line))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::OutcomeUnknown { .. }),
            "{what}: {err:?}"
        );
        assert!(err.to_string().contains("externalId"), "{what}: {err}");
        assert_eq!(
            sim.counters().requests_to("record.transform"),
            1,
            "{what}: sent once"
        );
        sim.set_faults(FaultConfig::default());
        let found = client
            .item_receipt_by_external_id("ion-receipt-1-1")
            .await
            .unwrap();
        assert_eq!(found.is_some(), applied, "{what}");
        assert_eq!(sim.item_receipts().len(), usize::from(applied), "{what}");
    }
}

/// A 429 is a refusal before any processing, so repeating the POST is safe.
#[tokio::test]
async fn a_429_on_the_transform_is_retried_and_makes_one_receipt() {
    // Pick a seed whose first draw is a 429 and whose second is not.
    let cfg = |seed| FaultConfig {
        seed,
        rate_429: 0.5,
        ..Default::default()
    };
    let seed = (0..1000u64)
        .find(|s| {
            let f = Faults::new(cfg(*s));
            f.draw() == Some(Fault::TooManyRequests) && f.draw().is_none()
        })
        .unwrap();
    let (sim, client) = start(config()).await;
    let po_id = seed_pos(&sim, 1)[0];
    let line = sim.po_lines(po_id)[0].line_id;
    client.check_login().await.unwrap();
    sim.set_faults(cfg(seed));
    let id = client
        .create_item_receipt(po_id, &receipt("ion-receipt-2-1", line))
        .await
        .unwrap();
    assert_eq!(sim.counters().requests_to("record.transform"), 2);
    assert_eq!(sim.item_receipts().len(), 1);
    assert_eq!(sim.item_receipts()[0].id, id);
}

#[tokio::test]
async fn read_timeouts_are_retried() {
    let (sim, _) = start(config()).await;
    let po_id = seed_pos(&sim, 1)[0];
    let kid = sim
        .register_certificate_pem(&fixture("auth-cert.pem"))
        .unwrap();
    let mut s = settings(&sim, &kid, &fixture("auth-key.pem"));
    s.request_timeout = Duration::from_millis(300);
    let client = Client::new(s).unwrap();
    client.check_login().await.unwrap();
    let cfg = |seed| FaultConfig {
        seed,
        rate_timeout: 0.5,
        stall: Duration::from_secs(2),
        ..Default::default()
    };
    let seed = (0..1000u64)
        .find(|s| {
            let f = Faults::new(cfg(*s));
            f.draw() == Some(Fault::Timeout) && f.draw().is_none()
        })
        .unwrap();
    sim.set_faults(cfg(seed));
    let rec = client.get_purchase_order(po_id).await.unwrap();
    assert_eq!(rec.status_letter(), Some("B"));
    assert_eq!(sim.counters().requests_to("record.get"), 2);
}
