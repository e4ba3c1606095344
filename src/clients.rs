//! Builds the two remote clients from the validated configuration ("the settings own their
//! conversions"): the one place that turns `Config` + loaded secrets into client settings.

use anyhow::Context as _;
use secrecy::{ExposeSecret, SecretString};

use crate::config::Config;
use crate::{ion, netsuite};

/// The NetSuite client for this configuration (loads the private key now).
pub fn netsuite_client(config: &Config) -> anyhow::Result<netsuite::Client> {
    let key = config
        .netsuite
        .private_key
        .load("netsuite.private_key_file")?;
    let mut settings = netsuite::Settings::new(
        config.netsuite.base_url.clone(),
        config.netsuite.account_id.clone(),
        config.netsuite.client_id.clone(),
        config.netsuite.certificate_id.clone(),
        key,
    );
    settings.max_in_flight = config.netsuite.max_in_flight;
    settings.request_timeout = config.netsuite.request_timeout;
    // `netsuite::Client::new` selects jsonwebtoken's crypto provider itself.
    netsuite::Client::new(settings).context("NetSuite client")
}

/// The ION client for this configuration (loads the client secret now; a trailing newline from
/// `echo secret > file` is not part of the secret).
pub fn ion_client(config: &Config) -> anyhow::Result<ion::Client> {
    let secret = config.ion.client_secret.load("ion.client_secret_file")?;
    let trimmed = SecretString::from(secret.expose_secret().trim().to_string());
    let mut settings = ion::Settings::new(
        config.ion.api_url.clone(),
        config.ion.token_url.clone(),
        config.ion.client_id.clone(),
        trimmed,
    );
    settings.max_in_flight = config.ion.max_in_flight;
    settings.request_timeout = config.ion.request_timeout;
    ion::Client::new(settings).context("ION client")
}
