//! Configuration layering and validation, through the public API and the real binary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use netsuite_ion_sync::config::{Config, ConfigError, Environment, LogFormat, SecretRef};
use secrecy::ExposeSecret;

const MINIMAL: &str = r#"
[netsuite]
account_id = "1234567_SB1"
client_id = "ns-client"
certificate_id = "cert-1"
private_key_file = "auth-key.pem"

[ion]
client_id = "ion-client"
client_secret_file = "ion-client-secret"
"#;

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).expect("write test file");
    p
}

fn env(pairs: &[(&str, &str)]) -> Environment {
    Environment {
        vars: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
    }
}

fn load(body: &str, pairs: &[(&str, &str)]) -> (tempfile::TempDir, Result<Config, ConfigError>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "config.toml", body);
    let r = Config::load_with(&path, &env(pairs));
    (dir, r)
}

#[test]
fn defaults_follow_the_spec() {
    let (dir, cfg) = load(MINIMAL, &[]);
    let cfg = cfg.expect("minimal config loads");
    assert_eq!(
        cfg.netsuite.base_url.as_str(),
        "https://1234567-sb1.suitetalk.api.netsuite.com/"
    );
    assert_eq!(
        cfg.netsuite.token_url(),
        "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token"
    );
    assert_eq!(cfg.netsuite.max_in_flight, 2);
    assert_eq!(cfg.netsuite.request_timeout.as_secs(), 60);
    assert_eq!(cfg.ion.api_url.as_str(), "https://api.buildwithion.com/");
    assert_eq!(cfg.ion.max_in_flight, 4);
    assert_eq!(cfg.ion.request_timeout.as_secs(), 30);
    assert_eq!(cfg.schedule.netsuite_poll.as_secs(), 60);
    assert_eq!(cfg.schedule.ion_receipts_poll.as_secs(), 60);
    assert_eq!(cfg.schedule.full_reconcile, "0 30 2 * * *");
    assert_eq!(cfg.schedule.receipt_settle.as_secs(), 60);
    assert_eq!(cfg.schedule.overlap.as_secs(), 600);
    assert_eq!(cfg.mapping.part_number_field, "itemid");
    assert_eq!(cfg.mapping.revision_field, None);
    assert_eq!(cfg.mapping.non_receivable_item_types.len(), 7);
    assert_eq!(cfg.store_path, PathBuf::from("./state"));
    assert_eq!(cfg.log_format, LogFormat::Auto);
    // Relative secret files resolve against the config file's folder without systemd.
    match &cfg.netsuite.private_key {
        SecretRef::File(p) => assert_eq!(p, &dir.path().join("auth-key.pem")),
        other => panic!("expected a file, got {other:?}"),
    }
}

#[test]
fn the_example_file_is_valid_and_complete() {
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config/netsuite-ion-sync.example.toml");
    let cfg = Config::load_with(&example, &env(&[])).expect("the example config loads");
    // Every key the example shows comes from the file (none silently from a default).
    for (key, _, origin) in cfg.describe() {
        if key.starts_with("mapping.purchase_order") || key == "netsuite.base_url" {
            // Empty tables and the derived base URL are documented as comments.
            let text = std::fs::read_to_string(&example).expect("read example");
            let leaf = key.rsplit('.').next().unwrap_or(&key);
            assert!(text.contains(leaf), "{key} not documented in the example");
            continue;
        }
        assert!(
            origin.starts_with("file "),
            "{key} not documented in the example ({origin})"
        );
    }
}

#[test]
fn environment_overrides_the_file() {
    let (_d, cfg) = load(
        MINIMAL,
        &[
            ("NSION_SCHEDULE__NETSUITE_POLL", "5m"),
            ("NSION_NETSUITE__MAX_IN_FLIGHT", "3"),
            ("NSION_LOG__FORMAT", "json"),
        ],
    );
    let cfg = cfg.expect("loads");
    assert_eq!(cfg.schedule.netsuite_poll.as_secs(), 300);
    assert_eq!(cfg.netsuite.max_in_flight, 3);
    assert_eq!(cfg.log_format, LogFormat::Json);
    let origin: BTreeMap<_, _> = cfg.describe().into_iter().map(|(k, _, o)| (k, o)).collect();
    assert_eq!(
        origin["schedule.netsuite_poll"],
        "environment NSION_SCHEDULE__NETSUITE_POLL"
    );
    assert!(origin["netsuite.client_id"].starts_with("file "));
    assert_eq!(origin["schedule.overlap"], "default");
}

#[test]
fn all_digit_account_id_from_the_environment() {
    let body = MINIMAL.replace("account_id = \"1234567_SB1\"\n", "");
    let (_d, cfg) = load(&body, &[("NSION_NETSUITE__ACCOUNT_ID", "1234567")]);
    let cfg = cfg.expect("an all-digit account id is valid");
    assert_eq!(cfg.netsuite.account_id, "1234567");
    assert_eq!(
        cfg.netsuite.base_url.as_str(),
        "https://1234567.suitetalk.api.netsuite.com/"
    );
}

#[test]
fn account_id_must_be_host_safe() {
    let body = MINIMAL.replace("1234567_SB1", "evil.example.com/x");
    let (_d, cfg) = load(&body, &[]);
    let msg = cfg.expect_err("rejected").to_string();
    assert!(msg.contains("netsuite.account_id"), "{msg}");
    assert!(msg.contains("evil.example.com/x"), "{msg}");
    assert!(msg.contains("letters, digits and '_'"), "{msg}");
}

#[test]
fn unknown_key_is_rejected_with_its_name() {
    let body = MINIMAL.replace("[ion]\n", "[ion]\nclient_secert_file = \"typo\"\n");
    let (_d, cfg) = load(&body, &[]);
    let msg = cfg.expect_err("typo rejected").to_string();
    assert!(msg.contains("client_secert_file"), "{msg}");
}

#[test]
fn unknown_env_key_is_rejected() {
    let (_d, cfg) = load(MINIMAL, &[("NSION_SCHEDULE__NETSUITE_POL", "5m")]);
    let msg = cfg.expect_err("typo rejected").to_string();
    assert!(msg.contains("netsuite_pol"), "{msg}");
}

#[test]
fn bad_duration_names_key_value_and_expectation() {
    let body = format!("{MINIMAL}\n[schedule]\nnetsuite_poll = \"60 parsecs\"\n");
    let (_d, cfg) = load(&body, &[]);
    let msg = cfg.expect_err("bad duration").to_string();
    assert!(msg.contains("schedule.netsuite_poll"), "{msg}");
    assert!(msg.contains("60 parsecs"), "{msg}");
    assert!(msg.contains("\"5m\""), "{msg}");
}

#[test]
fn bad_cron_is_rejected_at_load() {
    for bad in ["30 2 * * *", "0 61 2 * * *", "nightly"] {
        let body = format!("{MINIMAL}\n[schedule]\nfull_reconcile = \"{bad}\"\n");
        let (_d, cfg) = load(&body, &[]);
        let msg = cfg.expect_err("bad cron").to_string();
        assert!(msg.contains("schedule.full_reconcile"), "{msg}");
        assert!(msg.contains("six fields"), "{msg}");
    }
}

#[test]
fn missing_required_key_is_named() {
    let body = MINIMAL.replace("certificate_id = \"cert-1\"\n", "");
    let (_d, cfg) = load(&body, &[]);
    let msg = cfg.expect_err("missing").to_string();
    assert!(msg.contains("netsuite.certificate_id"), "{msg}");
    assert!(msg.contains("required"), "{msg}");
}

#[test]
fn plain_http_only_on_loopback() {
    let body = MINIMAL.replace("[ion]\n", "[ion]\napi_url = \"http://ion.example.com\"\n");
    let (_d, cfg) = load(&body, &[]);
    assert!(
        cfg.expect_err("http off loopback")
            .to_string()
            .contains("ion.api_url")
    );
    let body = MINIMAL.replace("[ion]\n", "[ion]\napi_url = \"http://127.0.0.1:4000\"\n");
    let (_d, cfg) = load(&body, &[]);
    assert!(cfg.is_ok());
}

#[test]
fn secrets_in_the_toml_are_refused() {
    let body = MINIMAL.replace("[ion]\n", "[ion]\nclient_secret = \"hunter2\"\n");
    let (_d, cfg) = load(&body, &[]);
    let msg = cfg.expect_err("secret in file").to_string();
    assert!(msg.contains("ion.client_secret"), "{msg}");
    assert!(msg.contains("never read from the config file"), "{msg}");
    assert!(!msg.contains("hunter2"), "{msg}");
}

#[test]
fn secrets_from_credentials_directory_and_env_are_redacted() {
    let creds = tempfile::tempdir().expect("tempdir");
    write(creds.path(), "ion-client-secret", "s3cr3t-ion\n");
    let creds_dir = creds.path().to_string_lossy().to_string();
    let (_d, cfg) = load(
        MINIMAL,
        &[
            ("CREDENTIALS_DIRECTORY", &creds_dir),
            (
                "NSION_NETSUITE__PRIVATE_KEY",
                "-----BEGIN PRIVATE KEY-----\nTOPSECRETPEM\n",
            ),
        ],
    );
    let cfg = cfg.expect("loads");
    let key = cfg
        .netsuite
        .private_key
        .load("netsuite.private_key_file")
        .expect("env key");
    assert!(key.expose_secret().contains("TOPSECRETPEM"));
    let secret = cfg
        .ion
        .client_secret
        .load("ion.client_secret_file")
        .expect("file secret");
    assert_eq!(secret.expose_secret().trim(), "s3cr3t-ion");
    let debug = format!("{cfg:?}");
    assert!(
        !debug.contains("TOPSECRETPEM"),
        "Debug leaks the key: {debug}"
    );
    let described = format!("{:?}", cfg.describe());
    assert!(!described.contains("TOPSECRETPEM") && !described.contains("s3cr3t-ion"));
    assert!(
        described.contains("<from $NSION_NETSUITE__PRIVATE_KEY>"),
        "{described}"
    );
}

#[test]
fn state_directory_is_the_default_store() {
    let (_d, cfg) = load(
        MINIMAL,
        &[("STATE_DIRECTORY", "/var/lib/netsuite-ion-sync:/other")],
    );
    assert_eq!(
        cfg.expect("loads").store_path,
        PathBuf::from("/var/lib/netsuite-ion-sync")
    );
}

#[test]
fn config_check_prints_origins_and_redacts_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "config.toml", MINIMAL);
    write(
        dir.path(),
        "auth-key.pem",
        "-----BEGIN PRIVATE KEY-----\nFILEPEMSECRET\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_netsuite-ion-sync"))
        .args(["--config"])
        .arg(&path)
        .args(["config", "check"])
        .env_remove("NSION_CONFIG")
        .env("NSION_ION__CLIENT_SECRET", "ENVSECRETVALUE")
        .env("NSION_SCHEDULE__OVERLAP", "1h")
        .output()
        .expect("run binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("schedule.overlap"), "{stdout}");
    assert!(
        stdout.contains("environment NSION_SCHEDULE__OVERLAP"),
        "{stdout}"
    );
    assert!(
        stdout.contains("secret netsuite.private_key_file: readable"),
        "{stdout}"
    );
    assert!(
        stdout.contains("secret ion.client_secret_file: readable"),
        "{stdout}"
    );
    for secret in ["FILEPEMSECRET", "ENVSECRETVALUE"] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret} leaked"
        );
    }
}

#[test]
fn bad_config_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "config.toml",
        &format!("{MINIMAL}\n[log]\nformat = \"xml\"\n"),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_netsuite-ion-sync"))
        .arg("--config")
        .arg(&path)
        .arg("status")
        .output()
        .expect("run binary");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("log.format") && stderr.contains("xml"),
        "{stderr}"
    );
}
