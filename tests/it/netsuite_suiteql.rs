//! SuiteQL queries of the client against the simulator's SQL engine, over real HTTP.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, SystemTime};

use crate::support::netsuite::*;
use netsuite_ion_sync::netsuite::auth::SigningKey;
use netsuite_ion_sync::netsuite::{DeletedCursor, Error, PoCursor};
use netsuite_ion_sync::sandbox::netsuite::{ItemSpec, LineSpec, PoSpec, SimHandle};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

#[tokio::test]
async fn keyset_paging_returns_every_changed_po_once_in_order() {
    let (sim, client) = start(config()).await;
    let v = vendor(&sim, "Acme Metals");
    let mut created = Vec::new();
    // 2,600 POs, 100 per simulated second: page boundaries fall inside a second, so the
    // `(lastmodified, id)` tie-break is what keeps rows from being skipped or repeated.
    for n in 0..2600 {
        if n % 100 == 0 {
            sim.advance(Duration::from_secs(1));
        }
        created.push(po(&sim, v, vec![]));
    }
    // Some are edited later: they move to the end of the feed.
    sim.advance(Duration::from_secs(60));
    for id in created.iter().step_by(500) {
        sim.set_po_field(*id, "memo", Some("edited")).unwrap();
    }
    sim.reset_counters();
    let rows = client
        .po_headers_changed_since(&PoCursor::start(), &[], 1000)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2600);
    let ids: HashSet<i64> = rows.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 2600, "every PO exactly once");
    assert!(
        rows.windows(2).all(|w| w[0].cursor() < w[1].cursor()),
        "strict (lastmod, id) order"
    );
    assert_eq!(rows.last().unwrap().memo.as_deref(), Some("edited"));
    assert_eq!(sim.counters().requests_to("suiteql"), 3);

    // Page-at-a-time, checkpointing the cursor after each page, gives the same sequence.
    let mut cursor = PoCursor::start();
    let mut paged = Vec::new();
    loop {
        let page = client.po_headers_page(&cursor, &[], 700).await.unwrap();
        if let Some(next) = page.next_cursor() {
            cursor = next;
        }
        paged.extend(page.headers.into_iter().map(|h| h.id));
        if !page.has_more {
            break;
        }
    }
    assert_eq!(paged, rows.iter().map(|r| r.id).collect::<Vec<_>>());
    // Nothing changed since the last cursor: an idle poll is one request with no rows.
    assert!(
        client
            .po_headers_page(&cursor, &[], 1000)
            .await
            .unwrap()
            .headers
            .is_empty()
    );
}

#[tokio::test]
async fn lastmodified_text_is_account_local_and_round_trips() {
    let (sim, client) = start(config()).await;
    let v = vendor(&sim, "Acme");
    let id = po(&sim, v, vec![]);
    let rows = client
        .po_headers_changed_since(&PoCursor::start(), &[], 10)
        .await
        .unwrap();
    // t0 is 18:00 UTC; the account is in Los Angeles.
    assert_eq!(rows[0].lastmod, "2026-01-15 10:00:00");
    assert_eq!(rows[0].id, id);
    // Feeding the text back (no conversion) finds nothing new …
    assert!(
        client
            .po_headers_changed_since(&rows[0].cursor(), &[], 10)
            .await
            .unwrap()
            .is_empty()
    );
    // … and a client that converted to UTC itself would miss the PO entirely.
    let utc_cursor = PoCursor::new("2026-01-15 17:59:59", 0).unwrap();
    assert!(
        client
            .po_headers_changed_since(&utc_cursor, &[], 10)
            .await
            .unwrap()
            .is_empty()
    );
    let local_cursor = PoCursor::new("2026-01-15 09:59:59", 0).unwrap();
    assert_eq!(
        client
            .po_headers_changed_since(&local_cursor, &[], 10)
            .await
            .unwrap()
            .len(),
        1
    );
    // The overlap rewind is plain text arithmetic.
    let rewound = rows[0].cursor().rewind(Duration::from_secs(600));
    assert_eq!(rewound.lastmod(), "2026-01-15 09:50:00");
}

#[tokio::test]
async fn lines_of_500_pos_with_10_lines_come_in_at_most_6_requests() {
    let (sim, client) = start(config()).await;
    let v = vendor(&sim, "Acme");
    let items: Vec<i64> = (0..10)
        .map(|n| item(&sim, &format!("PART-{n}"), "InvtPart"))
        .collect();
    let mut ids = Vec::new();
    for _ in 0..500 {
        ids.push(po(&sim, v, items.iter().map(|i| line(*i, 3.0)).collect()));
    }
    sim.reset_counters();
    let lines = client.po_lines(&ids, &[]).await.unwrap();
    assert_eq!(lines.len(), 5000);
    let requests = sim.counters().requests_to("suiteql");
    assert!(requests <= 6, "{requests} requests");
    assert!(
        lines
            .windows(2)
            .all(|w| (w[0].po_id, w[0].line_id) < (w[1].po_id, w[1].line_id))
    );
    let first = &lines[0];
    assert_eq!(first.item_name.as_deref(), Some("PART-0"));
    assert_eq!(first.item_type.as_deref(), Some("InvtPart"));
    assert_eq!(first.quantity, Some(3.0));
    assert_eq!(first.quantity_received, Some(0.0));
    assert_eq!(first.line_id, 1);
    assert!(!first.is_closed);
}

#[tokio::test]
async fn custom_fields_statuses_and_references_come_as_display_text() {
    let (sim, client) = start(config()).await;
    let v = vendor(&sim, "Acme Metals");
    let widget = item(&sim, "WIDGET-100", "InvtPart");
    let service = item(&sim, "INSTALL", "Service");
    let id = sim
        .create_purchase_order(PoSpec {
            vendor: v,
            status: Some("A".into()),
            memo: Some("rush".into()),
            tran_date: chrono::NaiveDate::from_ymd_opt(2026, 1, 14),
            fields: BTreeMap::from([("custbody_requestor".into(), "J. Buyer".into())]),
            lines: vec![
                LineSpec {
                    fields: BTreeMap::from([("custcol_project".into(), "Apollo".into())]),
                    expected_receipt_date: chrono::NaiveDate::from_ymd_opt(2026, 2, 1),
                    ..line(widget, 10.0)
                },
                line(service, 1.0),
            ],
            ..Default::default()
        })
        .unwrap();
    let extra = vec!["custbody_requestor".to_owned(), "memo".to_owned()];
    let rows = client
        .po_headers_changed_since(&PoCursor::start(), &extra, 10)
        .await
        .unwrap();
    let h = &rows[0];
    assert_eq!(h.status, "A");
    assert_eq!(
        h.status_text.as_deref(),
        Some("Pending Supervisor Approval")
    );
    assert_eq!(h.vendor_id, Some(v));
    assert_eq!(h.vendor_name.as_deref(), Some("Acme Metals"));
    assert_eq!(h.tran_date.as_deref(), Some("2026-01-14"));
    assert_eq!(h.fields["custbody_requestor"].as_deref(), Some("J. Buyer"));
    assert_eq!(h.fields["memo"].as_deref(), Some("rush"));
    assert_eq!(h.tran_id, format!("PO{id}"));

    let lines = client
        .po_lines(&[id], &["custcol_project".into()])
        .await
        .unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        lines[0].fields["custcol_project"].as_deref(),
        Some("Apollo")
    );
    assert_eq!(
        lines[0].expected_receipt_date.as_deref(),
        Some("2026-02-01")
    );
    assert_eq!(lines[1].fields["custcol_project"], None);
    assert_eq!(lines[1].item_type.as_deref(), Some("Service"));

    let err = client
        .po_headers_changed_since(&PoCursor::start(), &["bad-name".into()], 10)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    // A field the account does not have is NetSuite's 400, not a crash.
    let err = client
        .po_headers_changed_since(&PoCursor::start(), &["custbody_missing".into()], 10)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(!err.is_transient());
}

#[tokio::test]
async fn vendors_and_items_by_id_in_batches() {
    let (sim, client) = start(config()).await;
    let vendors: Vec<i64> = (0..1200)
        .map(|n| vendor(&sim, &format!("Vendor {n}")))
        .collect();
    let it = sim
        .create_item(ItemSpec {
            item_id: "BOLT-7".into(),
            item_type: "InvtPart".into(),
            display_name: Some("Bolt".into()),
            fields: BTreeMap::from([("custitem_revision".into(), "C".into())]),
        })
        .unwrap();
    sim.reset_counters();
    let mut wanted = vendors.clone();
    wanted.push(999_999); // unknown ids are simply absent
    let got = client.vendors(&wanted).await.unwrap();
    assert_eq!(got.len(), 1200);
    assert_eq!(got[7].company_name.as_deref(), Some("Vendor 7"));
    assert_eq!(
        sim.counters().requests_to("suiteql"),
        3,
        "batches of 500 ids"
    );
    let items = client
        .items(&[it], &["custitem_revision".into()])
        .await
        .unwrap();
    assert_eq!(items[0].item_id.as_deref(), Some("BOLT-7"));
    assert_eq!(items[0].fields["custitem_revision"].as_deref(), Some("C"));
}

#[tokio::test]
async fn deleted_purchase_orders_are_polled_with_their_own_cursor() {
    let (sim, client) = start(config()).await;
    let v = vendor(&sim, "Acme");
    let ids: Vec<i64> = (0..4).map(|_| po(&sim, v, vec![])).collect();
    sim.advance(Duration::from_secs(5));
    sim.delete_purchase_order(ids[2]).unwrap();
    sim.delete_purchase_order(ids[0]).unwrap();
    let first = client
        .deleted_pos_since(&DeletedCursor::start())
        .await
        .unwrap();
    assert_eq!(
        first.iter().map(|d| d.record_id).collect::<Vec<_>>(),
        vec![ids[0], ids[2]]
    );
    assert_eq!(first[0].deleted_at, "2026-01-15 10:00:05");
    let cursor = first.last().unwrap().cursor();
    assert!(client.deleted_pos_since(&cursor).await.unwrap().is_empty());
    sim.advance(Duration::from_secs(1));
    sim.delete_purchase_order(ids[1]).unwrap();
    let next = client.deleted_pos_since(&cursor).await.unwrap();
    assert_eq!(
        next.iter().map(|d| d.record_id).collect::<Vec<_>>(),
        vec![ids[1]]
    );
    // Deleted POs are gone from the change feed.
    let live = client
        .po_headers_changed_since(&PoCursor::start(), &[], 10)
        .await
        .unwrap();
    assert_eq!(live.iter().map(|h| h.id).collect::<Vec<_>>(), vec![ids[3]]);
}

/// The simulator holds any client to NetSuite's SuiteQL rules.
#[tokio::test]
async fn simulator_enforces_suiteql_rules() {
    let (sim, client) = start(config()).await;
    let v = vendor(&sim, "Acme");
    for _ in 0..25 {
        po(&sim, v, vec![]);
    }
    let token = raw_token(&sim).await;
    let http = reqwest::Client::new();
    let url = format!("{}services/rest/query/v1/suiteql", sim.base_url());
    let send = |limit: &str, offset: &str, prefer: bool, q: &str| {
        let mut r = http
            .post(&url)
            .query(&[("limit", limit), ("offset", offset)])
            .bearer_auth(&token)
            .json(&json!({ "q": q }));
        if prefer {
            r = r.header("Prefer", "transient");
        }
        async move {
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let q = "SELECT t.id AS id, t.memo AS memo FROM transaction t WHERE t.type = 'PurchOrd' ORDER BY t.id";
    let (status, body) = send("10", "10", true, q).await;
    assert_eq!(status, 200);
    assert_eq!(body["count"], 10);
    assert_eq!(body["hasMore"], true);
    assert_eq!(body["totalResults"], 25);
    assert_eq!(body["offset"], 10);
    assert!(
        body["items"][0]["id"].is_string(),
        "values arrive as strings"
    );
    assert!(
        body["items"][0].get("memo").is_none(),
        "NULL columns are left out"
    );
    let rels: Vec<&str> = body["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap())
        .collect();
    assert_eq!(rels, ["self", "first", "prev", "next", "last"]);
    let (_, last) = send("10", "20", true, q).await;
    assert_eq!(
        (last["count"].clone(), last["hasMore"].clone()),
        (json!(5), json!(false))
    );

    let expect_error = |(status, body): (u16, Value), code: &str| {
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["o:errorDetails"][0]["o:errorCode"], code, "{body}");
        assert!(body["o:errorDetails"][0]["detail"].is_string());
    };
    expect_error(send("1001", "0", true, q).await, "INVALID_PARAMETER");
    expect_error(send("10", "5", true, q).await, "INVALID_PARAMETER");
    expect_error(send("10", "0", false, q).await, "INVALID_HEADER");
    expect_error(
        send("10", "0", true, "DELETE FROM vendor").await,
        "INVALID_PARAMETER",
    );
    expect_error(
        send(
            "10",
            "0",
            true,
            "SELECT 1 AS x FROM vendor; DELETE FROM vendor",
        )
        .await,
        "INVALID_PARAMETER",
    );
    expect_error(
        send(
            "10",
            "0",
            true,
            "SELECT t.nosuchfield FROM transaction t ORDER BY t.id",
        )
        .await,
        "INVALID_PARAMETER",
    );
    // The client refuses what NetSuite would refuse before sending.
    assert!(matches!(
        client.suiteql_page::<Value>(q, 1001, 0).await,
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        client.suiteql_page::<Value>(q, 10, 5).await,
        Err(Error::InvalidInput(_))
    ));

    // Bad token → 401 with WWW-Authenticate and INVALID_LOGIN.
    let r = http
        .post(&url)
        .bearer_auth("nope")
        .header("Prefer", "transient")
        .json(&json!({ "q": q }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["o:errorDetails"][0]["o:errorCode"], "INVALID_LOGIN");
}

async fn raw_token(sim: &SimHandle) -> String {
    let kid = sim
        .register_certificate_pem(&fixture("auth-cert.pem"))
        .unwrap();
    let key = SigningKey::from_pem(&SecretString::from(fixture("auth-key.pem"))).unwrap();
    let jwt = key
        .assertion(sim.client_id(), &kid, sim.token_url(), SystemTime::now())
        .unwrap();
    let r: Value = reqwest::Client::new()
        .post(sim.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", jwt.expose_secret()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["token_type"], "bearer");
    assert_eq!(r["expires_in"], 3600);
    r["access_token"].as_str().unwrap().to_owned()
}
