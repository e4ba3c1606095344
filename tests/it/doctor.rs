//! `doctor` and `setup ion-attributes` through the real binary against both simulators.

use std::path::Path;

use netsuite_ion_sync::sandbox::harness::{self, Harness};
use secrecy::ExposeSecret;

struct World {
    _sims: Harness,
    dir: tempfile::TempDir,
}

async fn world(certificate_id_override: Option<&str>, extra: &str) -> World {
    // No ION attribute definitions: `setup ion-attributes` is under test and creates them.
    let sims = Harness::start(harness::Options {
        ion_attributes: false,
        ..Default::default()
    })
    .await
    .expect("simulators");
    let (ns, ion) = (&sims.ns, &sims.ion);
    ns.load_sample_data().expect("sample data");
    let kid = &sims.credentials.certificate_id;
    let key = &sims.credentials.private_key;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("auth-key.pem"), key.expose_secret()).expect("key file");
    std::fs::write(
        dir.path().join("ion-secret"),
        format!("{}\n", ion.client_secret()),
    )
    .expect("secret");
    let config = format!(
        "[netsuite]\naccount_id = \"1234567_SB1\"\nbase_url = \"{}\"\nclient_id = \"{}\"\n\
         certificate_id = \"{}\"\nprivate_key_file = \"auth-key.pem\"\n\
         [ion]\napi_url = \"{}\"\ntoken_url = \"{}\"\nclient_id = \"{}\"\nclient_secret_file = \"ion-secret\"\n\
         [schedule]\noverlap = \"2h\"\n[store]\npath = \"{}\"\n{extra}",
        ns.base_url(),
        ns.client_id(),
        certificate_id_override.unwrap_or(kid),
        ion.api_url(),
        ion.token_url(),
        ion.client_id(),
        dir.path().join("state").display(),
    );
    std::fs::write(dir.path().join("config.toml"), config).expect("config");
    World { _sims: sims, dir }
}

async fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_netsuite-ion-sync"))
        .arg("--config")
        .arg(dir.join("config.toml"))
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .await
        .expect("run binary");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_finds_missing_attributes_and_setup_creates_them() {
    let w = world(None, "").await;
    let (code, text) = run(w.dir.path(), &["doctor"]).await;
    assert_eq!(code, 1, "{text}");
    for expected in [
        "[ok  ] NetSuite login",
        "[ok  ] NetSuite SuiteQL on purchase orders",
        "[ok  ] NetSuite DeletedRecord",
        "SuiteQL times are UTC-",
        "[ok  ] ION login",
        "[FAIL] ION required attributes: missing:",
        "run `netsuite-ion-sync setup ion-attributes`",
        "[ok  ] clock skew (NetSuite)",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }

    let (code, text) = run(w.dir.path(), &["setup", "ion-attributes"]).await;
    assert_eq!(code, 0, "{text}");
    assert_eq!(text.matches("created ").count(), 4, "{text}");
    let (code, text) = run(w.dir.path(), &["setup", "ion-attributes"]).await;
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("already exist"), "{text}");

    let (code, text) = run(w.dir.path(), &["doctor"]).await;
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("[ok  ] ION required attributes"), "{text}");
    assert!(text.contains("0 failed"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_reports_a_bad_certificate_id_and_an_unknown_mapped_attribute() {
    let w = world(
        Some("not-the-certificate"),
        "[mapping.purchase_order_attributes]\n\"Requester\" = \"custbody_requestor\"\n",
    )
    .await;
    let (code, text) = run(w.dir.path(), &["doctor"]).await;
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("[FAIL] NetSuite login"), "{text}");
    assert!(text.contains("Login Audit Trail"), "{text}");
    assert!(
        text.contains(
            "mapping.purchase_order_attributes.\"Requester\" names an attribute ION does not define"
        ),
        "{text}"
    );
}
