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

use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::plan::model::DEFAULT_NON_RECEIVABLE;

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
    fn into_string(self) -> String {
        match self {
            Lenient::Text(s) => s,
            Lenient::Number(n) => n.to_string(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Raw file shape (SPEC §10). Field names are a contract: scripts and admins rely on them.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    pub netsuite: RawNetSuite,
    pub ion: RawIon,
    pub schedule: RawSchedule,
    pub mapping: RawMapping,
    pub store: RawStore,
    pub log: RawLog,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawNetSuite {
    pub account_id: Option<Lenient>,
    pub base_url: Option<String>,
    pub client_id: Option<Lenient>,
    pub certificate_id: Option<Lenient>,
    pub private_key_file: Option<String>,
    pub max_in_flight: i64,
    pub request_timeout: String,
}

impl Default for RawNetSuite {
    fn default() -> Self {
        Self {
            account_id: None,
            base_url: None,
            client_id: None,
            certificate_id: None,
            private_key_file: None,
            max_in_flight: 2,
            request_timeout: "60s".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawIon {
    pub api_url: String,
    pub token_url: String,
    pub client_id: Option<Lenient>,
    pub client_secret_file: Option<String>,
    pub max_in_flight: i64,
    pub request_timeout: String,
}

impl Default for RawIon {
    fn default() -> Self {
        Self {
            api_url: "https://api.buildwithion.com".into(),
            token_url:
                "https://auth.buildwithion.com/realms/api-keys/protocol/openid-connect/token".into(),
            client_id: None,
            client_secret_file: None,
            max_in_flight: 4,
            request_timeout: "30s".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSchedule {
    pub netsuite_poll: String,
    pub ion_receipts_poll: String,
    pub full_reconcile: String,
    pub receipt_settle: String,
    pub overlap: String,
}

impl Default for RawSchedule {
    fn default() -> Self {
        Self {
            netsuite_poll: "60s".into(),
            ion_receipts_poll: "60s".into(),
            full_reconcile: "0 30 2 * * *".into(),
            receipt_settle: "60s".into(),
            overlap: "10m".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawMapping {
    pub part_number_field: String,
    pub revision_field: String,
    pub supplier_name_field: String,
    pub non_receivable_item_types: Vec<String>,
    pub purchase_order_attributes: BTreeMap<String, String>,
    pub purchase_order_line_attributes: BTreeMap<String, String>,
}

impl Default for RawMapping {
    fn default() -> Self {
        Self {
            part_number_field: "itemid".into(),
            revision_field: String::new(),
            supplier_name_field: "companyname".into(),
            non_receivable_item_types: DEFAULT_NON_RECEIVABLE
                .iter()
                .map(|s| s.to_string())
                .collect(),
            purchase_order_attributes: BTreeMap::new(),
            purchase_order_line_attributes: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawStore {
    pub path: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLog {
    pub format: String,
}

impl Default for RawLog {
    fn default() -> Self {
        Self {
            format: "auto".into(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Validated configuration.
// ---------------------------------------------------------------------------------------------

/// Where a secret comes from. `Debug` is safe: an environment secret is a [`SecretString`],
/// whose `Debug` is redacted.
#[derive(Debug, Clone)]
pub enum SecretRef {
    /// An environment variable that held the secret when the configuration was loaded.
    Env(&'static str, SecretString),
    /// A file whose content is the secret (trailing newline trimmed for the ION secret).
    File(PathBuf),
}

impl SecretRef {
    /// Reads the secret now. The error names the key and the file, never the content.
    pub fn load(&self, key: &str) -> Result<SecretString, ConfigError> {
        match self {
            SecretRef::Env(_, value) => Ok(value.clone()),
            SecretRef::File(path) => match std::fs::read_to_string(path) {
                Ok(v) if !v.trim().is_empty() => Ok(SecretString::from(v)),
                Ok(_) => Err(ConfigError::Secret {
                    key: key.into(),
                    message: format!("{} is empty", path.display()),
                }),
                Err(e) => Err(ConfigError::Secret {
                    key: key.into(),
                    message: format!("cannot read {}: {e}", path.display()),
                }),
            },
        }
    }

    fn describe(&self) -> String {
        match self {
            SecretRef::Env(var, _) => format!("<from ${var}>"),
            SecretRef::File(p) => format!("<file {}>", p.display()),
        }
    }
}

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

    fn get(&self, k: &str) -> Option<&str> {
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

const ENV_METADATA: &str = "NSION_ environment variables";

/// `NSION_<SECTION>__<KEY>` variables as a figment provider. Built from an explicit
/// [`Environment`] (not the process) so tests are hermetic. Values are parsed like figment's own
/// `Env` provider does (so `1234567` is a number, which [`Lenient`] accepts).
struct EnvOverrides {
    dict: Dict,
}

impl From<&Environment> for EnvOverrides {
    fn from(env: &Environment) -> Self {
        let mut dict = Dict::new();
        for (name, value) in &env.vars {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            // The secrets are read directly, never through figment's values; NSION_CONFIG is
            // the config path, not a key.
            if name == ENV_NETSUITE_PRIVATE_KEY || name == ENV_ION_CLIENT_SECRET {
                continue;
            }
            let Some((section, key)) = rest.split_once("__") else {
                continue;
            };
            let parsed = value
                .parse::<Value>()
                .unwrap_or_else(|_| Value::from(value.clone()));
            let entry = dict
                .entry(section.to_ascii_lowercase())
                .or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, inner) = entry {
                inner.insert(key.to_ascii_lowercase(), parsed);
            }
        }
        Self { dict }
    }
}

impl Provider for EnvOverrides {
    fn metadata(&self) -> Metadata {
        Metadata::named(ENV_METADATA)
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.dict.clone()))
    }
}

fn origins(figment: &Figment, path: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Ok(value) = figment.find_value("") else {
        return out;
    };
    let Some(sections) = value.as_dict() else {
        return out;
    };
    for (section, v) in sections {
        let Some(keys) = v.as_dict() else { continue };
        for key in keys.keys() {
            let full = format!("{section}.{key}");
            let origin = match figment.find_metadata(&full) {
                Some(m) if m.name == ENV_METADATA => format!(
                    "environment {ENV_PREFIX}{}__{}",
                    section.to_uppercase(),
                    key.to_uppercase()
                ),
                Some(_) => format!("file {}", path.display()),
                None => "default".into(),
            };
            out.insert(full, origin);
        }
    }
    out
}

fn duration(key: &str, text: &str) -> Result<Duration, ConfigError> {
    match humantime::parse_duration(text.trim()) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(invalid(
            key,
            text,
            "a positive duration such as \"60s\", \"5m\" or \"1h 30m\"",
        )),
    }
}

fn in_flight(key: &str, n: i64) -> Result<usize, ConfigError> {
    match usize::try_from(n) {
        Ok(v) if (1..=64).contains(&v) => Ok(v),
        _ => Err(invalid(key, n, "a whole number from 1 to 64")),
    }
}

fn required(key: &str, value: Option<Lenient>, hint: &str) -> Result<String, ConfigError> {
    match value.map(Lenient::into_string) {
        Some(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
        _ => Err(ConfigError::Missing {
            key: key.into(),
            hint: hint.into(),
        }),
    }
}

/// NetSuite field names are spliced into SuiteQL, so only plain identifiers are accepted.
fn field_name(key: &str, text: &str) -> Result<String, ConfigError> {
    let t = text.trim();
    let ok = t.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && t.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(t.to_string())
    } else {
        Err(invalid(
            key,
            text,
            "a NetSuite field id in lower case (letters, digits, '_'), e.g. \"custbody_requestor\"",
        ))
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// https anywhere, plain http only on loopback (the simulators); no credentials in the URL.
fn service_url(key: &str, text: &str) -> Result<Url, ConfigError> {
    let expected = "an https:// URL without user or password (plain http only for loopback)";
    let url = Url::parse(text.trim()).map_err(|_| invalid(key, text, expected))?;
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && is_loopback(&url));
    if !scheme_ok || !url.username().is_empty() || url.password().is_some() || url.host().is_none()
    {
        return Err(invalid(key, text, expected));
    }
    Ok(url)
}

/// The NetSuite host for an account id (reference §2): lower-cased, `_` → `-`.
pub fn netsuite_base_url(account_id: &str) -> Result<Url, ConfigError> {
    let host = format!(
        "https://{}.suitetalk.api.netsuite.com",
        account_id.to_ascii_lowercase().replace('_', "-")
    );
    Url::parse(&host)
        .map_err(|_| invalid("netsuite.account_id", account_id, "a NetSuite account id"))
}

fn netsuite_base(account_id: &str, base_url: Option<&str>) -> Result<Url, ConfigError> {
    let Some(text) = base_url.filter(|s| !s.trim().is_empty()) else {
        return netsuite_base_url(account_id);
    };
    let key = "netsuite.base_url";
    let expected = "the account's SuiteTalk URL from Setup > Company > Company URLs, e.g. \
                    \"https://1234567-sb1.suitetalk.api.netsuite.com\" (no path, query or user; \
                    plain http only for loopback)";
    let url = service_url(key, text).map_err(|_| invalid(key, text, expected))?;
    let host_ok = is_loopback(&url)
        || url.host_str().is_some_and(|h| {
            h.to_ascii_lowercase()
                .ends_with(".suitetalk.api.netsuite.com")
        });
    let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
    if !host_ok || !bare {
        return Err(invalid(key, text, expected));
    }
    Ok(url)
}

fn secret_path(file: &str, config_dir: &Path, env: &Environment) -> PathBuf {
    let p = PathBuf::from(file.trim());
    if p.is_absolute() {
        return p;
    }
    match env.get("CREDENTIALS_DIRECTORY") {
        Some(dir) => PathBuf::from(dir).join(p),
        None => config_dir.join(p),
    }
}

fn secret(
    key: &str,
    env_var: &'static str,
    file: Option<&str>,
    config_dir: &Path,
    env: &Environment,
) -> Result<SecretRef, ConfigError> {
    if let Some(v) = env.get(env_var) {
        return Ok(SecretRef::Env(env_var, SecretString::from(v.to_string())));
    }
    match file.filter(|f| !f.trim().is_empty()) {
        Some(f) => Ok(SecretRef::File(secret_path(f, config_dir, env))),
        None => Err(ConfigError::Missing {
            key: key.into(),
            hint: format!("name the file holding it, or set ${env_var}"),
        }),
    }
}

fn validate(raw: RawConfig, config_dir: &Path, env: &Environment) -> Result<Config, ConfigError> {
    let ns = raw.netsuite;
    let account_id = required(
        "netsuite.account_id",
        ns.account_id,
        "your NetSuite account id, e.g. \"1234567\" or \"1234567_SB1\"",
    )?;
    if !account_id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(invalid(
            "netsuite.account_id",
            &account_id,
            "letters, digits and '_' only, e.g. \"1234567\" or \"1234567_SB1\"",
        ));
    }
    let netsuite = NetSuiteConfig {
        base_url: netsuite_base(&account_id, ns.base_url.as_deref())?,
        account_id,
        client_id: required(
            "netsuite.client_id",
            ns.client_id,
            "the integration record's consumer key (client ID)",
        )?,
        certificate_id: required(
            "netsuite.certificate_id",
            ns.certificate_id,
            "the certificate ID shown on OAuth 2.0 Client Credentials (M2M) Setup",
        )?,
        private_key: secret(
            "netsuite.private_key_file",
            ENV_NETSUITE_PRIVATE_KEY,
            ns.private_key_file.as_deref(),
            config_dir,
            env,
        )?,
        max_in_flight: in_flight("netsuite.max_in_flight", ns.max_in_flight)?,
        request_timeout: duration("netsuite.request_timeout", &ns.request_timeout)?,
    };

    let ion_raw = raw.ion;
    let ion = IonConfig {
        api_url: service_url("ion.api_url", &ion_raw.api_url)?,
        token_url: service_url("ion.token_url", &ion_raw.token_url)?,
        client_id: required(
            "ion.client_id",
            ion_raw.client_id,
            "the ION API key's client id",
        )?,
        client_secret: secret(
            "ion.client_secret_file",
            ENV_ION_CLIENT_SECRET,
            ion_raw.client_secret_file.as_deref(),
            config_dir,
            env,
        )?,
        max_in_flight: in_flight("ion.max_in_flight", ion_raw.max_in_flight)?,
        request_timeout: duration("ion.request_timeout", &ion_raw.request_timeout)?,
    };

    let s = raw.schedule;
    let cron_text = s.full_reconcile.trim().to_string();
    if croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(&cron_text)
        .is_err()
    {
        return Err(invalid(
            "schedule.full_reconcile",
            &s.full_reconcile,
            "a cron expression with six fields (sec min hour day month weekday), e.g. \"0 30 2 * * *\"",
        ));
    }
    let schedule = ScheduleConfig {
        netsuite_poll: duration("schedule.netsuite_poll", &s.netsuite_poll)?,
        ion_receipts_poll: duration("schedule.ion_receipts_poll", &s.ion_receipts_poll)?,
        full_reconcile: cron_text,
        receipt_settle: duration("schedule.receipt_settle", &s.receipt_settle)?,
        overlap: duration("schedule.overlap", &s.overlap)?,
    };

    let m = raw.mapping;
    let mut po_attrs = BTreeMap::new();
    for (ion_key, field) in m.purchase_order_attributes {
        let key = format!("mapping.purchase_order_attributes.\"{ion_key}\"");
        po_attrs.insert(ion_key, field_name(&key, &field)?);
    }
    let mut line_attrs = BTreeMap::new();
    for (ion_key, field) in m.purchase_order_line_attributes {
        let key = format!("mapping.purchase_order_line_attributes.\"{ion_key}\"");
        line_attrs.insert(ion_key, field_name(&key, &field)?);
    }
    let mapping = MappingConfig {
        part_number_field: field_name("mapping.part_number_field", &m.part_number_field)?,
        revision_field: if m.revision_field.trim().is_empty() {
            None
        } else {
            Some(field_name("mapping.revision_field", &m.revision_field)?)
        },
        supplier_name_field: field_name("mapping.supplier_name_field", &m.supplier_name_field)?,
        non_receivable_item_types: m.non_receivable_item_types,
        purchase_order_attributes: po_attrs,
        purchase_order_line_attributes: line_attrs,
    };

    let store_path = if !raw.store.path.trim().is_empty() {
        PathBuf::from(raw.store.path.trim())
    } else if let Some(dirs) = env.get("STATE_DIRECTORY") {
        // systemd may list several directories separated by ':'; ours is the first.
        PathBuf::from(dirs.split(':').next().unwrap_or(dirs))
    } else {
        PathBuf::from("./state")
    };

    let log_format = match raw.log.format.trim() {
        "auto" => LogFormat::Auto,
        "human" => LogFormat::Human,
        "json" => LogFormat::Json,
        other => {
            return Err(invalid(
                "log.format",
                other,
                "one of \"auto\", \"human\", \"json\"",
            ));
        }
    };

    Ok(Config {
        netsuite,
        ion,
        schedule,
        mapping,
        store_path,
        log_format,
        origins: BTreeMap::new(),
    })
}

/// The config path: `--config`, else `$NSION_CONFIG`, else [`DEFAULT_CONFIG_PATH`].
pub fn resolve_path(flag: Option<&Path>, env: &Environment) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    match env.get("NSION_CONFIG") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(DEFAULT_CONFIG_PATH),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_derivation_follows_the_reference() {
        assert_eq!(
            netsuite_base_url("1234567_SB1").map(|u| u.to_string()).ok(),
            Some("https://1234567-sb1.suitetalk.api.netsuite.com/".to_string())
        );
    }

    #[test]
    fn base_url_override_rules() {
        assert!(netsuite_base("1", Some("https://1-sb1.suitetalk.api.netsuite.com")).is_ok());
        assert!(netsuite_base("1", Some("http://127.0.0.1:8080")).is_ok());
        assert!(netsuite_base("1", Some("http://1-sb1.suitetalk.api.netsuite.com")).is_err());
        assert!(netsuite_base("1", Some("https://evil.example.com")).is_err());
        assert!(netsuite_base("1", Some("https://1.suitetalk.api.netsuite.com/x")).is_err());
        assert!(netsuite_base("1", Some("https://u:p@1.suitetalk.api.netsuite.com")).is_err());
    }

    #[test]
    fn field_names_are_identifiers() {
        assert!(field_name("k", "custbody_requestor").is_ok());
        assert!(field_name("k", "custbody_x; DROP").is_err());
        assert!(field_name("k", "Itemid").is_err());
        assert!(field_name("k", "").is_err());
    }
}
