//! Hostile answers: a proxy in front of each simulator answers with what a broken service, a
//! proxy's error page or a bad network sends. Each must end as a clear error within bounds (no
//! panic, no endless retry, no unbounded read), and once the service answers properly again
//! the same read gets every record: nothing is lost.

use std::time::Duration;

use crate::support::hostile::{self, Answer, Proxy};
use crate::support::{self, netsuite as ns, sync::*};
use netsuite_ion_sync::ion;
use netsuite_ion_sync::netsuite::{self as nsc, PoCursor};
use netsuite_ion_sync::sandbox::harness;
use netsuite_ion_sync::store::Store;
use netsuite_ion_sync::sync::CycleOptions;
use secrecy::ExposeSecret as _;

/// Bound on how long any broken answer may keep a call busy (retries included).
const BOUND: Duration = Duration::from_secs(60);

/// 40 MiB: above the 32 MiB cap on a response body.
const HUGE: usize = 40 << 20;

/// The broken answers every client must survive, with what its error must say.
fn cases(kind: &str) -> Vec<(&'static str, Answer, &'static str)> {
    let (wrong_types, nulls, missing) = match kind {
        "netsuite" => (
            r#"{"items":"many","hasMore":"yes","count":"x"}"#,
            r#"{"items":null,"hasMore":null}"#,
            r#"{"links":[]}"#,
        ),
        _ => (
            r#"{"data":{"purchaseOrders":"many"}}"#,
            r#"{"data":null}"#,
            r#"{}"#,
        ),
    };
    vec![
        ("wrong JSON types", Answer::json(wrong_types), ""),
        ("nulls", Answer::json(nulls), ""),
        ("missing fields", Answer::json(missing), ""),
        (
            "an HTML error page with 200",
            Answer::Body {
                content_type: "text/html",
                body: b"<html><body><h1>502 Bad Gateway</h1></body></html>".to_vec(),
            },
            "",
        ),
        (
            "invalid UTF-8",
            Answer::Body {
                content_type: "application/json",
                body:
                    b"{\"items\":[{\"id\":\"\xff\xfe\"}],\"hasMore\":false,\"data\":\"\xc3\x28\"}"
                        .to_vec(),
            },
            "",
        ),
        ("truncated JSON", Answer::Truncated, ""),
        ("a huge declared body", Answer::Huge { total: HUGE }, "cap"),
        ("an endless body", Answer::Endless { total: HUGE }, "cap"),
    ]
}

#[tokio::test]
async fn netsuite_reads_end_in_a_clear_error_and_lose_nothing() {
    let mut tried = 0;
    for (name, answer, says) in cases("netsuite") {
        let proxy = Proxy::start(hostile::path("suiteql"), answer, usize::MAX).await;
        let config = netsuite_ion_sync::sandbox::netsuite::SimConfig {
            public_url: Some(proxy.url.clone()),
            ..ns::config()
        };
        let (sim, credentials) = harness::start_netsuite(config, support::fixture_key())
            .await
            .expect("simulator");
        proxy.forward_to(&sim.base_url());
        let vendor = ns::vendor(&sim, "Acme");
        let item = ns::item(&sim, "BOLT", "InvtPart");
        let po = ns::po(&sim, vendor, vec![support::line(item, 3.0)]);
        let mut settings = ns::settings(
            &sim,
            &credentials.certificate_id,
            credentials.private_key.expose_secret(),
        );
        settings.base_url = proxy.url.clone();
        let client = nsc::Client::new(settings).expect("client");
        let start = PoCursor::start();
        let read = || client.po_headers_changed_since(&start, &[], 1000);
        let err = tokio::time::timeout(BOUND, read())
            .await
            .unwrap_or_else(|_| panic!("{name}: still busy after {BOUND:?}"))
            .expect_err(name);
        let text = format!("{err}");
        assert!(proxy.spoiled() >= 1, "{name}");
        assert!(
            text.contains("netsuite") || text.contains("NetSuite"),
            "{name}: {text}"
        );
        assert!(text.contains(says), "{name}: {text}");
        proxy.heal();
        let headers = read()
            .await
            .unwrap_or_else(|e| panic!("{name}: healed read: {e}"));
        assert_eq!(
            headers.iter().map(|h| h.id).collect::<Vec<_>>(),
            [po],
            "{name}: the PO is read once the answers are sound"
        );
        tried += 1;
    }
    assert_eq!(tried, 8);
}

#[tokio::test]
async fn ion_reads_end_in_a_clear_error_and_lose_nothing() {
    let (sim, direct) = crate::support::ion::start().await;
    let created = crate::support::ion::ordered_po(&sim, &direct, "41", 1).await;
    let mut all = cases("ion");
    all.push((
        "a cursor that loops",
        Answer::json(
            r#"{"data":{"purchaseOrders":{"edges":[],"pageInfo":{"hasNextPage":true,"endCursor":"A"}}}}"#,
        ),
        "loop",
    ));
    let mut tried = 0;
    for (name, answer, says) in all {
        let proxy = Proxy::start(hostile::path("graphql"), answer, usize::MAX).await;
        proxy.forward_to(&sim.api_url());
        let mut settings = crate::support::ion::settings(&sim);
        settings.api_url = proxy.url.clone();
        let client = ion::Client::new(settings).expect("client");
        let ids = ["41".to_string()];
        let read = || client.purchase_orders_by_netsuite_id(&ids);
        let err = tokio::time::timeout(BOUND, read())
            .await
            .unwrap_or_else(|_| panic!("{name}: still busy after {BOUND:?}"))
            .expect_err(name);
        let text = format!("{err}");
        assert!(proxy.spoiled() >= 1, "{name}");
        assert!(!text.trim().is_empty(), "{name}");
        assert!(text.contains(says), "{name}: {text}");
        proxy.heal();
        let found = read()
            .await
            .unwrap_or_else(|e| panic!("{name}: healed read: {e}"));
        assert_eq!(
            found.iter().map(|p| p.id).collect::<Vec<_>>(),
            [created.id],
            "{name}"
        );
        tried += 1;
    }
    assert_eq!(tried, 9);
}

/// A SuiteQL page that repeats the previous one (same rows, `hasMore` still true) would be
/// followed for ever; the cycle stops with an error instead, moves no checkpoint past what it
/// did not apply, and the next cycle syncs every PO once.
#[tokio::test]
async fn a_suiteql_page_that_repeats_stops_the_cycle_and_the_next_syncs_everything_once() {
    // The changed-headers query, answered from the simulator once, then replayed.
    let proxy = Proxy::start(
        hostile::body(&["status_letter", "lastmodifieddate > TO_TIMESTAMP"]),
        Answer::Replay,
        usize::MAX,
    )
    .await;
    let s = Sims::start(
        netsuite_ion_sync::sandbox::netsuite::SimConfig {
            start_time: Some(support::t0()),
            public_url: Some(proxy.url.clone()),
            ..Default::default()
        },
        Default::default(),
    )
    .await;
    proxy.forward_to(&s.ns.base_url());
    let vendor = s.vendor("Acme");
    let item = s.item("BOLT", "InvtPart");
    s.part("BOLT");
    let pos: Vec<i64> = (0..3)
        .map(|_| s.po(vendor, "B", vec![line(item, 2.0)]))
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut settings = settings();
    settings.page_size = 1;
    let engine = s.engine_via(dir.path(), settings.clone(), Some(&proxy.url), None);
    let outcome = tokio::time::timeout(BOUND, engine.po_cycle(CycleOptions::default()))
        .await
        .expect("the cycle ends");
    let err = outcome.expect_err("a repeated page fails the cycle");
    assert!(format!("{err:#}").contains("refusing to loop"), "{err:#}");
    proxy.heal();
    let _ = engine
        .po_cycle(CycleOptions::default())
        .await
        .expect("healed cycle");
    for ns_id in pos {
        assert_eq!(
            s.ion_pos_for(ns_id).len(),
            1,
            "NetSuite PO {ns_id}: exactly one ION PO"
        );
    }
    drop(engine);
    let store = Store::open(dir.path()).expect("store");
    assert_eq!(store.po_links().expect("links").len(), 3);
}
