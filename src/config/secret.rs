//! Where a secret is, and reading it only when a command needs it.

use std::path::{Path, PathBuf};

use secrecy::SecretString;

use super::{ConfigError, Environment};

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

    pub(super) fn describe(&self) -> String {
        match self {
            SecretRef::Env(var, _) => format!("<from ${var}>"),
            SecretRef::File(p) => format!("<file {}>", p.display()),
        }
    }
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

pub(super) fn secret(
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
