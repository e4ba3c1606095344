//! `NSION_*` environment overrides as a figment provider, and where each key came from.

use std::collections::BTreeMap;
use std::path::Path;

use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};

use super::{ENV_ION_CLIENT_SECRET, ENV_NETSUITE_PRIVATE_KEY, ENV_PREFIX, Environment};

const ENV_METADATA: &str = "NSION_ environment variables";

/// `NSION_<SECTION>__<KEY>` variables as a figment provider. Built from an explicit
/// [`Environment`] (not the process) so tests are hermetic. Values are parsed like figment's own
/// `Env` provider does (so `1234567` is a number, which [`Lenient`] accepts).
pub(super) struct EnvOverrides {
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

pub(super) fn origins(figment: &Figment, path: &Path) -> BTreeMap<String, String> {
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
