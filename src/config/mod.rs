//! The one TOML file, layered with `NSION_<SECTION>__<KEY>` environment overrides (figment), and
//! turned into typed, validated settings.
//!
//! Two stages, on purpose ("parse, don't validate"):
//! 1. [`RawConfig`] mirrors the file exactly (`deny_unknown_fields`, so a typo is an error instead
//!    of a silent default). Values stay close to their text so errors can quote them.
//! 2. [`Config`] holds parsed durations, URLs and paths. Every failure names the key, the value
//!    (never for secrets) and what was expected.
//!
//! Secrets are never values in the TOML: they are files (relative to `$CREDENTIALS_DIRECTORY`
//! under systemd) or environment variables, loaded lazily by [`SecretRef::load`] so that
//! read-only commands such as `status` work without them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format, Toml};
use serde::{Deserialize, Serialize};
use url::Url;

/// Default config path when neither `--config` nor `$NSION_CONFIG` is given.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/netsuite-ion-sync/config.toml";
/// Environment variable holding the NetSuite private key PEM (alternative to a key file).
pub const ENV_NETSUITE_PRIVATE_KEY: &str = "NSION_NETSUITE__PRIVATE_KEY";
/// Environment variable holding the ION client secret (alternative to a secret file).
pub const ENV_ION_CLIENT_SECRET: &str = "NSION_ION__CLIENT_SECRET";
const ENV_PREFIX: &str = "NSION_";

/// Why the configuration cannot be used. The `Display` text is what the admin reads.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration: {0}")]
    Load(Box<figment::Error>),
    #[error("config key `{key}` = {value}: expected {expected}")]
    Invalid {
        key: String,
        /// The offending value, already quoted; `<redacted>` for secrets.
        value: String,
        expected: String,
    },
    #[error("config key `{key}` is required: {hint}")]
    Missing { key: String, hint: String },
    #[error("config key `{key}`: {message}")]
    Secret { key: String, message: String },
}

impl From<figment::Error> for ConfigError {
    fn from(e: figment::Error) -> Self {
        ConfigError::Load(Box::new(e))
    }
}

fn invalid(key: &str, value: impl fmt::Debug, expected: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        value: format!("{value:?}"),
        expected: expected.into(),
    }
}

/// A string that may arrive as a number: figment reads `NSION_NETSUITE__ACCOUNT_ID=1234567` as an
/// integer, and an all-digit account id is perfectly valid.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Lenient {
    Text(String),
    Number(u64),
}

impl Lenient {
    pub(super) fn into_string(self) -> String {
        match self {
            Lenient::Text(s) => s,
            Lenient::Number(n) => n.to_string(),
        }
    }
}

mod raw;
mod secret;
mod sources;
mod validate;
mod values;

pub use raw::{RawConfig, RawIon, RawLog, RawMapping, RawNetSuite, RawSchedule, RawStore};
pub use secret::SecretRef;
pub use values::netsuite_base_url;

use sources::{EnvOverrides, origins};
use validate::validate;

// ---------------------------------------------------------------------------------------------
// Validated configuration.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct NetSuiteConfig {
    /// Letters, digits and `_` only: it becomes part of a host name.
    pub account_id: String,
    pub base_url: Url,
    pub client_id: String,
    pub certificate_id: String,
    pub private_key: SecretRef,
    pub max_in_flight: usize,
    pub request_timeout: Duration,
}

impl NetSuiteConfig {
    /// `{base_url}/services/rest/auth/oauth2/v1/token`: also the JWT `aud`.
    pub fn token_url(&self) -> String {
        format!(
            "{}/services/rest/auth/oauth2/v1/token",
            self.base_url.as_str().trim_end_matches('/')
        )
    }
}

#[derive(Debug, Clone)]
pub struct IonConfig {
    pub api_url: Url,
    pub token_url: Url,
    pub client_id: String,
    pub client_secret: SecretRef,
    pub max_in_flight: usize,
    pub request_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    pub netsuite_poll: Duration,
    pub ion_receipts_poll: Duration,
    /// A 6-field cron expression (with seconds), validated with the parser the scheduler uses.
    pub full_reconcile: String,
    pub receipt_settle: Duration,
    pub overlap: Duration,
}

#[derive(Debug, Clone)]
pub struct MappingConfig {
    pub part_number_field: String,
    /// Empty: use the latest ION revision.
    pub revision_field: Option<String>,
    pub supplier_name_field: String,
    pub non_receivable_item_types: Vec<String>,
    /// ION PO attribute key → NetSuite body field.
    pub purchase_order_attributes: BTreeMap<String, String>,
    /// ION PO line attribute key → NetSuite line field.
    pub purchase_order_line_attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human on a terminal, JSON otherwise (systemd, pipes).
    Auto,
    Human,
    Json,
}

/// The validated configuration. Holds no secret values (only [`SecretRef`]s), so `Debug` is safe.
#[derive(Debug, Clone)]
pub struct Config {
    pub netsuite: NetSuiteConfig,
    pub ion: IonConfig,
    pub schedule: ScheduleConfig,
    pub mapping: MappingConfig,
    pub store_path: PathBuf,
    pub log_format: LogFormat,
    /// Key → where its value came from (file, environment variable, default), for `config check`.
    pub origins: BTreeMap<String, String>,
}

/// The process environment the configuration depends on, captured once so tests can supply it.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub vars: BTreeMap<String, String>,
}

impl Environment {
    pub fn from_process() -> Self {
        Self {
            vars: std::env::vars().collect(),
        }
    }

    pub(super) fn get(&self, k: &str) -> Option<&str> {
        self.vars
            .get(k)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

impl Config {
    /// Loads `path` (if it exists; every required key may also come from the environment) and the
    /// `NSION_*` variables of the current process.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Self::load_with(path, &Environment::from_process())
    }

    /// Same as [`Config::load`], with an explicit environment (tests).
    pub fn load_with(path: &Path, env: &Environment) -> Result<Config, ConfigError> {
        let figment = Self::figment(path, env);
        for (key, var) in [
            ("netsuite.private_key", ENV_NETSUITE_PRIVATE_KEY),
            ("ion.client_secret", ENV_ION_CLIENT_SECRET),
        ] {
            if figment.find_value(key).is_ok() {
                return Err(ConfigError::Secret {
                    key: key.into(),
                    message: format!(
                        "secrets are never read from the config file; name a file with `{key}_file` \
                         (relative to $CREDENTIALS_DIRECTORY under systemd) or set ${var}"
                    ),
                });
            }
        }
        let raw: RawConfig = figment.extract()?;
        let config_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut config = validate(raw, &config_dir, env)?;
        config.origins = origins(&figment, path);
        Ok(config)
    }

    fn figment(path: &Path, env: &Environment) -> Figment {
        Figment::new()
            .merge(Toml::file_exact(path))
            .merge(EnvOverrides::from(env))
    }

    /// Every effective key with its value and origin, secrets shown only as where they come from.
    pub fn describe(&self) -> Vec<(String, String, String)> {
        let d = |d: &Duration| humantime::format_duration(*d).to_string();
        let q = |s: &str| format!("{s:?}");
        let mut rows: Vec<(String, String)> = vec![
            ("netsuite.account_id".into(), q(&self.netsuite.account_id)),
            (
                "netsuite.base_url".into(),
                q(self.netsuite.base_url.as_str()),
            ),
            ("netsuite.client_id".into(), q(&self.netsuite.client_id)),
            (
                "netsuite.certificate_id".into(),
                q(&self.netsuite.certificate_id),
            ),
            (
                "netsuite.private_key_file".into(),
                self.netsuite.private_key.describe(),
            ),
            (
                "netsuite.max_in_flight".into(),
                self.netsuite.max_in_flight.to_string(),
            ),
            (
                "netsuite.request_timeout".into(),
                q(&d(&self.netsuite.request_timeout)),
            ),
            ("ion.api_url".into(), q(self.ion.api_url.as_str())),
            ("ion.token_url".into(), q(self.ion.token_url.as_str())),
            ("ion.client_id".into(), q(&self.ion.client_id)),
            (
                "ion.client_secret_file".into(),
                self.ion.client_secret.describe(),
            ),
            (
                "ion.max_in_flight".into(),
                self.ion.max_in_flight.to_string(),
            ),
            (
                "ion.request_timeout".into(),
                q(&d(&self.ion.request_timeout)),
            ),
            (
                "schedule.netsuite_poll".into(),
                q(&d(&self.schedule.netsuite_poll)),
            ),
            (
                "schedule.ion_receipts_poll".into(),
                q(&d(&self.schedule.ion_receipts_poll)),
            ),
            (
                "schedule.full_reconcile".into(),
                q(&self.schedule.full_reconcile),
            ),
            (
                "schedule.receipt_settle".into(),
                q(&d(&self.schedule.receipt_settle)),
            ),
            ("schedule.overlap".into(), q(&d(&self.schedule.overlap))),
            (
                "mapping.part_number_field".into(),
                q(&self.mapping.part_number_field),
            ),
            (
                "mapping.revision_field".into(),
                q(self.mapping.revision_field.as_deref().unwrap_or("")),
            ),
            (
                "mapping.supplier_name_field".into(),
                q(&self.mapping.supplier_name_field),
            ),
            (
                "mapping.non_receivable_item_types".into(),
                format!("{:?}", self.mapping.non_receivable_item_types),
            ),
            (
                "mapping.purchase_order_attributes".into(),
                format!("{:?}", self.mapping.purchase_order_attributes),
            ),
            (
                "mapping.purchase_order_line_attributes".into(),
                format!("{:?}", self.mapping.purchase_order_line_attributes),
            ),
            (
                "store.path".into(),
                q(&self.store_path.display().to_string()),
            ),
            (
                "log.format".into(),
                q(&format!("{:?}", self.log_format).to_lowercase()),
            ),
        ];
        rows.drain(..)
            .map(|(k, v)| {
                let origin = self
                    .origins
                    .get(&k)
                    .cloned()
                    .unwrap_or_else(|| "default".to_string());
                (k, v, origin)
            })
            .collect()
    }
}

pub fn resolve_path(flag: Option<&Path>, env: &Environment) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    match env.get("NSION_CONFIG") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(DEFAULT_CONFIG_PATH),
    }
}
