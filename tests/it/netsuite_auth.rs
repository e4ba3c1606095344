//! OAuth 2.0 M2M against the simulator's token endpoint, over real HTTP.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::netsuite::*;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use netsuite_ion_sync::netsuite::auth::{JwsAlgorithm, SigningKey};
use netsuite_ion_sync::netsuite::{Client, Error, PoCursor};
use netsuite_ion_sync::sandbox::netsuite::{NetSuiteSim, SimConfig};
use secrecy::{ExposeSecret, SecretString};

async fn login_with(
    cert: &str,
    key: &str,
) -> (
    netsuite_ion_sync::sandbox::netsuite::SimHandle,
    Result<(), Error>,
) {
    let sim = NetSuiteSim::start(config()).await.unwrap();
    let kid = sim.register_certificate_pem(&fixture(cert)).unwrap();
    let client = Client::new(settings(&sim, &kid, &fixture(key))).unwrap();
    let r = client.check_login().await;
    (sim, r)
}

fn assert_refused(r: Result<(), Error>, code: &str) -> String {
    match r {
        Err(e @ Error::Auth { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(code), "{msg}");
            assert!(msg.contains("View Login Audit Trail"), "{msg}");
            assert!(!e.is_transient());
            msg
        }
        other => panic!("expected an auth refusal with {code}, got {other:?}"),
    }
}

#[tokio::test]
async fn openssl_rsa_key_pair_is_accepted_and_queries_work() {
    let (sim, client) = start(config()).await;
    client.check_login().await.unwrap();
    let rows = client
        .po_headers_changed_since(&PoCursor::start(), &[], 1000)
        .await
        .unwrap();
    assert!(rows.is_empty());
    let trail = sim.login_audit_trail();
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].status, "Success");
}

#[tokio::test]
async fn pkcs1_and_ec_keys_are_accepted() {
    for (cert, key) in [
        ("auth-cert.pem", "auth-key-pkcs1.pem"),
        ("ec-p256-cert.pem", "ec-p256-key.pem"),
        ("ec-p384-cert.pem", "ec-p384-key.pem"),
    ] {
        let (_sim, r) = login_with(cert, key).await;
        r.unwrap_or_else(|e| panic!("{key}: {e}"));
    }
}

#[tokio::test]
async fn sandbox_generated_key_pair_is_accepted() {
    let sim = NetSuiteSim::start(config()).await.unwrap();
    let (kid, pem) = sim.generate_key_pair().unwrap();
    let client = Client::new(settings(&sim, &kid, pem.expose_secret())).unwrap();
    client.check_login().await.unwrap();
}

#[tokio::test]
async fn wrong_kid_is_refused_with_the_audit_trail_hint() {
    let sim = NetSuiteSim::start(config()).await.unwrap();
    sim.register_certificate_pem(&fixture("auth-cert.pem"))
        .unwrap();
    let client = Client::new(settings(
        &sim,
        "no-such-certificate",
        &fixture("auth-key.pem"),
    ))
    .unwrap();
    assert_refused(client.check_login().await, "invalid_grant");
    assert_eq!(sim.login_audit_trail()[0].detail, "TokenRejected");
}

#[tokio::test]
async fn wrong_key_is_refused() {
    let (sim, r) = login_with("auth-cert.pem", "wrong-key.pem").await;
    assert_refused(r, "invalid_grant");
    assert_eq!(sim.login_audit_trail()[0].detail, "InvalidSignature");
}

#[tokio::test]
async fn expired_certificate_is_refused() {
    let (sim, r) = login_with("expired-cert.pem", "auth-key.pem").await;
    assert_refused(r, "invalid_grant");
    let trail = sim.login_audit_trail();
    assert!(trail[0].note.contains("expired"), "{trail:?}");
}

#[tokio::test]
async fn revoked_certificate_is_refused() {
    let sim = NetSuiteSim::start(config()).await.unwrap();
    let kid = sim
        .register_certificate_pem(&fixture("auth-cert.pem"))
        .unwrap();
    assert!(sim.revoke_certificate(&kid));
    let client = Client::new(settings(&sim, &kid, &fixture("auth-key.pem"))).unwrap();
    assert_refused(client.check_login().await, "invalid_grant");
}

/// Hand-made assertions for what the client never sends: RS256, `exp` too far, wrong aud,
/// wrong scope, unknown iss.
#[tokio::test]
async fn token_endpoint_refuses_bad_assertions() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let sim = NetSuiteSim::start(SimConfig::default()).await.unwrap();
    let kid = sim
        .register_certificate_pem(&fixture("auth-cert.pem"))
        .unwrap();
    let key = EncodingKey::from_rsa_pem(fixture("auth-key-pkcs1.pem").as_bytes()).unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let http = reqwest::Client::new();
    let token_url = sim.token_url().to_owned();
    let post = |jwt: String| {
        let http = http.clone();
        let url = token_url.clone();
        async move {
            let r = http
                .post(url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", jwt.as_str()),
                ])
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.unwrap();
            (
                status,
                body["error"].as_str().unwrap_or_default().to_owned(),
            )
        }
    };
    let sign = |alg: Algorithm, claims: serde_json::Value| {
        let mut h = Header::new(alg);
        h.kid = Some(kid.clone());
        h.typ = Some("JWT".into());
        jsonwebtoken::encode(&h, &claims, &key).unwrap()
    };
    let good = serde_json::json!({"iss": sim.client_id(), "scope": "rest_webservices", "aud": token_url, "iat": now, "exp": now + 600});
    assert_eq!(
        post(sign(Algorithm::PS256, good.clone())).await,
        (200, String::new())
    );

    let mut cases = vec![(
        "RS256",
        sign(Algorithm::RS256, good.clone()),
        400,
        "invalid_grant",
    )];
    let mut c = good.clone();
    c["exp"] = (now + 3600).into();
    cases.push((
        "exp 60 min",
        sign(Algorithm::PS256, c),
        400,
        "invalid_grant",
    ));
    let mut c = good.clone();
    c["exp"] = (now - 10).into();
    c["iat"] = (now - 700).into();
    cases.push(("expired", sign(Algorithm::PS256, c), 400, "invalid_grant"));
    let mut c = good.clone();
    c["aud"] =
        "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token".into();
    cases.push(("aud", sign(Algorithm::PS256, c), 400, "invalid_grant"));
    let mut c = good.clone();
    c["scope"] = "restlets".into();
    cases.push(("scope", sign(Algorithm::PS256, c), 400, "invalid_grant"));
    let mut c = good.clone();
    c["iss"] = "someone-else".into();
    cases.push(("iss", sign(Algorithm::PS256, c), 401, "invalid_client"));
    for (what, jwt, status, error) in cases {
        assert_eq!(post(jwt).await, (status, error.to_owned()), "{what}");
    }
    let r = http
        .post(sim.token_url())
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
}

#[test]
fn unusable_keys_are_refused_with_advice() {
    let cases = [
        ("auth-key-encrypted.pem", "encrypted"),
        ("rsa-pss-key.pem", "RSA-PSS"),
        ("auth-cert.pem", "not a private key"),
    ];
    for (file, advice) in cases {
        let err = SigningKey::from_pem(&SecretString::from(fixture(file))).unwrap_err();
        assert!(err.to_string().contains(advice), "{file}: {err}");
    }
    let err = SigningKey::from_pem(&SecretString::from("garbage".to_owned())).unwrap_err();
    assert!(err.to_string().contains("openssl req -x509"), "{err}");
}

#[test]
fn algorithms_follow_the_key() {
    let alg = |f: &str| {
        SigningKey::from_pem(&SecretString::from(fixture(f)))
            .unwrap()
            .algorithm()
    };
    assert_eq!(alg("auth-key.pem"), JwsAlgorithm::PS256);
    assert_eq!(alg("auth-key-pkcs1.pem"), JwsAlgorithm::PS256);
    assert_eq!(alg("ec-p256-key.pem"), JwsAlgorithm::ES256);
    assert_eq!(alg("ec-p384-key.pem"), JwsAlgorithm::ES384);
    assert_eq!(alg("ec-p521-key.pem"), JwsAlgorithm::ES512);
    assert_eq!(alg("ec-p521-wrong-key.pem"), JwsAlgorithm::ES512);
}

/// POSTs an assertion to the token endpoint as the client does; returns status and body.
async fn post_assertion(token_url: &str, jwt: &str) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .post(token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", jwt),
        ])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn es512_assertion(sim: &netsuite_ion_sync::sandbox::netsuite::SimHandle, kid: &str) -> String {
    SigningKey::from_pem(&SecretString::from(fixture("ec-p521-key.pem")))
        .unwrap()
        .assertion(sim.client_id(), kid, sim.token_url(), SystemTime::now())
        .unwrap()
        .expose_secret()
        .to_owned()
}

/// An openssl-made P-521 pair: the client signs ES512 by hand, the simulator verifies it against
/// the mapped certificate's public key and issues a token that works.
#[tokio::test]
async fn openssl_p521_key_pair_signs_es512_and_gets_a_token() {
    let sim = NetSuiteSim::start(config()).await.unwrap();
    let kid = sim
        .register_certificate_pem(&fixture("ec-p521-cert.pem"))
        .unwrap();
    let client = Client::new(settings(&sim, &kid, &fixture("ec-p521-key.pem"))).unwrap();
    client.check_login().await.unwrap();
    let rows = client
        .po_headers_changed_since(&PoCursor::start(), &[], 10)
        .await
        .unwrap();
    assert!(rows.is_empty());
    let trail = sim.login_audit_trail();
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].status, "Success", "{trail:?}");

    // What goes on the wire: an ES512 JWS naming the certificate, with a 132-byte r ‖ s.
    let jwt = es512_assertion(&sim, &kid);
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "ES512");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["kid"], kid.as_str());
    assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().len(), 132);
    let (status, body) = post_assertion(sim.token_url(), &jwt).await;
    assert_eq!(status, 200, "{body}");
    assert!(!body["access_token"].as_str().unwrap_or_default().is_empty());
}

#[tokio::test]
async fn es512_signed_by_another_p521_key_is_refused() {
    // The other pair works on its own, so the refusal below is about the key, not the file.
    let (_sim, r) = login_with("ec-p521-wrong-cert.pem", "ec-p521-wrong-key.pem").await;
    r.unwrap();
    let (sim, r) = login_with("ec-p521-cert.pem", "ec-p521-wrong-key.pem").await;
    assert_refused(r, "invalid_grant");
    assert_eq!(sim.login_audit_trail()[0].detail, "InvalidSignature");
}

#[tokio::test]
async fn tampered_es512_assertions_are_refused() {
    let sim = NetSuiteSim::start(config()).await.unwrap();
    let kid = sim
        .register_certificate_pem(&fixture("ec-p521-cert.pem"))
        .unwrap();
    let rsa_kid = sim
        .register_certificate_pem(&fixture("auth-cert.pem"))
        .unwrap();
    let jwt = es512_assertion(&sim, &kid);
    let (head, signature) = jwt.rsplit_once('.').unwrap();
    let raw = URL_SAFE_NO_PAD.decode(signature).unwrap();

    let mut flipped = raw.clone();
    flipped[40] ^= 0x01;
    let mut s_flipped = raw.clone();
    s_flipped[100] ^= 0x80;
    let (header, payload) = head.split_once('.').unwrap();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["iss"] = "someone-else".into();
    let other_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let rsa_header = URL_SAFE_NO_PAD.encode(
        serde_json::to_vec(&serde_json::json!({"typ": "JWT", "alg": "ES512", "kid": rsa_kid}))
            .unwrap(),
    );
    let cases = [
        (
            "r flipped",
            format!("{head}.{}", URL_SAFE_NO_PAD.encode(&flipped)),
            "InvalidSignature",
        ),
        (
            "s flipped",
            format!("{head}.{}", URL_SAFE_NO_PAD.encode(&s_flipped)),
            "InvalidSignature",
        ),
        (
            "131 bytes",
            format!("{head}.{}", URL_SAFE_NO_PAD.encode(&raw[..131])),
            "InvalidSignature",
        ),
        (
            "133 bytes",
            format!(
                "{head}.{}",
                URL_SAFE_NO_PAD.encode([&raw[..], &[0]].concat())
            ),
            "InvalidSignature",
        ),
        (
            "payload changed",
            format!("{header}.{other_payload}.{signature}"),
            "InvalidSignature",
        ),
        (
            "ES512 against an RSA certificate",
            format!("{rsa_header}.{payload}.{signature}"),
            "InvalidSignature",
        ),
    ];
    for (what, bad, audit) in cases {
        let (status, body) = post_assertion(sim.token_url(), &bad).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{what}"
        );
        let trail = sim.login_audit_trail();
        assert_eq!(trail.last().unwrap().detail, audit, "{what}: {trail:?}");
    }
    let trail = sim.login_audit_trail();
    assert!(
        trail.iter().any(|e| e.note.contains("132 bytes")),
        "the length check names the expected size: {trail:?}"
    );
    // The untouched assertion still passes: the refusals above are about the tampering.
    let (status, body) = post_assertion(sim.token_url(), &jwt).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn token_is_cached_and_renewed_before_expiry() {
    // A 60-minute token serves many requests.
    let (sim, client) = start(config()).await;
    for _ in 0..3 {
        client
            .po_headers_changed_since(&PoCursor::start(), &[], 10)
            .await
            .unwrap();
    }
    assert_eq!(sim.counters().requests_to("token"), 1);

    // A token that lives no longer than the 5-minute renewal margin is renewed before every
    // use, without ever presenting an expired one (no 401 round trip).
    let (sim, client) = start(SimConfig {
        token_lifetime: Duration::from_secs(300),
        ..config()
    })
    .await;
    for _ in 0..3 {
        client
            .po_headers_changed_since(&PoCursor::start(), &[], 10)
            .await
            .unwrap();
    }
    let c = sim.counters();
    assert_eq!(c.requests_to("token"), 3);
    assert_eq!(c.requests_to("suiteql"), 3);
}

#[tokio::test]
async fn a_401_re_mints_once_and_retries() {
    let (sim, client) = start(config()).await;
    client.check_login().await.unwrap();
    // The simulated clock passes the token's expiry; the client's cache still trusts it.
    sim.advance(Duration::from_secs(2 * 3600));
    client
        .po_headers_changed_since(&PoCursor::start(), &[], 10)
        .await
        .unwrap();
    let c = sim.counters();
    assert_eq!(c.requests_to("token"), 2);
    assert_eq!(c.requests_to("suiteql"), 2, "one 401, one success");

    sim.revoke_all_tokens();
    client
        .po_headers_changed_since(&PoCursor::start(), &[], 10)
        .await
        .unwrap();
    assert_eq!(sim.counters().requests_to("token"), 3);
}

#[tokio::test]
async fn secrets_never_show_in_debug_or_errors() {
    let (sim, client) = start(config()).await;
    let key = fixture("auth-key.pem");
    let key_line = key.lines().nth(1).unwrap();
    let s = settings(&sim, "kid", &key);
    assert!(!format!("{s:?}").contains(key_line));
    assert!(!format!("{client:?}").contains(key_line));
    let signing = SigningKey::from_pem(&SecretString::from(key.clone())).unwrap();
    let assertion = signing
        .assertion("iss", "kid", sim.token_url(), SystemTime::now())
        .unwrap();
    assert!(!format!("{assertion:?}").contains(assertion.expose_secret()));
    // A refused login names neither the assertion nor the key.
    let bad = Client::new(settings(&sim, "unknown", &key)).unwrap();
    let err = bad.check_login().await.unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains(key_line) && !text.contains("eyJ"), "{text}");
}

/// A 401 that survives a fresh token is treated as overload (reference §9): backed off and
/// retried a bounded number of times, then reported as a login problem with the hint.
#[tokio::test]
async fn persistent_401_is_bounded_and_reported() {
    let (sim, client) = start(SimConfig {
        token_lifetime: Duration::from_secs(0),
        ..config()
    })
    .await;
    let err = client
        .po_headers_changed_since(&PoCursor::start(), &[], 10)
        .await
        .unwrap_err();
    match &err {
        Error::Auth {
            status: 401, code, ..
        } => assert_eq!(code, "INVALID_LOGIN"),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("Login Audit Trail"));
    // 12 attempts (test backoff) plus the one immediate re-mint retry.
    assert_eq!(sim.counters().requests_to("suiteql"), 13);
}
