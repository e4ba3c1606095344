//! Both simulators started together, with credentials, and the real clients pointed at them.
//!
//! The integration tests, the benches and the `sandbox` tour all need the same set-up: the
//! NetSuite and ION simulators on `127.0.0.1:0`, an M2M certificate registered with NetSuite,
//! ION's four sync attribute definitions, and the daemon's own clients (and a sync [`Context`])
//! built against them. It lives here, in the library, because benches and the tour cannot
//! import from `tests/`; one copy means a change to how the daemon meets its services (a new
//! required attribute, a new credential) is made once.
//!
//! One-sided users (a NetSuite-only or ION-only test or bench) use [`start_netsuite`] or
//! [`start_ion`], the two halves [`Harness::start`] is made of.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, Result, anyhow};
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use crate::retry::Backoff;
use crate::sandbox::ion::{self as ion_sim, IonSim};
use crate::sandbox::netsuite::{self as ns_sim, NetSuiteSim};
use crate::store::Store;
use crate::sync::{Context, SyncSettings};
use crate::{ion, netsuite};

/// Where the NetSuite client's signing key comes from.
#[derive(Clone)]
pub enum KeySource {
    /// A certificate to register and its private key (PEM text): a fixed pair, so a test can
    /// also hand it to a child process or register it again under a chosen id.
    Pem {
        certificate: String,
        private_key: SecretString,
    },
    /// A P-256 pair the simulator generates and maps itself (what `sandbox` uses): no files.
    Generate,
}

impl KeySource {
    /// A [`KeySource::Pem`] read from two files (the tests' and benches' fixture pair).
    pub fn from_files(certificate: &Path, private_key: &Path) -> Result<KeySource> {
        let read = |p: &Path| {
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
        };
        Ok(KeySource::Pem {
            certificate: read(certificate)?,
            private_key: SecretString::from(read(private_key)?),
        })
    }
}

/// Hand-written so the private key never reaches a `Debug` rendering.
impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Pem { .. } => f.write_str("KeySource::Pem { .. }"),
            KeySource::Generate => f.write_str("KeySource::Generate"),
        }
    }
}

/// What the NetSuite client authenticates with: the certificate id the simulator mapped the
/// key under (the JWT `kid`) and the private key.
#[derive(Clone)]
pub struct Credentials {
    pub certificate_id: String,
    pub private_key: SecretString,
}

/// Hand-written so the private key never reaches a `Debug` rendering.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("certificate_id", &self.certificate_id)
            .finish_non_exhaustive()
    }
}

/// How [`Harness::start`] sets the two simulators up.
#[derive(Debug, Clone)]
pub struct Options {
    /// NetSuite's account: start time (frozen clock), time zone, concurrency limit, faults.
    pub netsuite: ns_sim::SimConfig,
    /// ION's: faults, credentials, token lifetime.
    pub ion: ion_sim::SimConfig,
    pub key: KeySource,
    /// `Some(t)`: ION's clock is frozen at `t` (usually NetSuite's `start_time`, so both sides
    /// show the same simulated time); `None` leaves it on the wall clock.
    pub ion_clock: Option<DateTime<Utc>>,
    /// Define ION's four sync attribute definitions (what `setup ion-attributes` creates).
    /// Off only to test that command itself.
    pub ion_attributes: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            netsuite: ns_sim::SimConfig::default(),
            ion: ion_sim::SimConfig::default(),
            key: KeySource::Generate,
            ion_clock: None,
            ion_attributes: true,
        }
    }
}

/// Both simulators, running until dropped, and the NetSuite credentials registered with them.
pub struct Harness {
    /// The NetSuite simulator.
    pub ns: ns_sim::SimHandle,
    /// The ION simulator.
    pub ion: ion_sim::SimHandle,
    pub credentials: Credentials,
}

impl Harness {
    /// Starts NetSuite, then ION, as `options` says. The servers run on the caller's runtime
    /// (a bench may give them one of their own); the handles work from any runtime.
    pub async fn start(options: Options) -> Result<Harness> {
        let (ns, credentials) = start_netsuite(options.netsuite, options.key).await?;
        let ion = start_ion(options.ion, options.ion_attributes).await?;
        if let Some(at) = options.ion_clock {
            ion.set_clock(at);
        }
        Ok(Harness {
            ns,
            ion,
            credentials,
        })
    }

    /// NetSuite client settings pointed at the simulator with these credentials and `backoff`;
    /// everything else is the client's default (callers may change timeouts and caps).
    pub fn netsuite_settings(&self, backoff: Backoff) -> netsuite::Settings {
        netsuite_settings(&self.ns, &self.credentials, backoff)
    }

    /// ION client settings pointed at the simulator, with `backoff`; the rest default.
    pub fn ion_settings(&self, backoff: Backoff) -> ion::Settings {
        ion_settings(&self.ion, backoff)
    }

    /// The real NetSuite client with [`Harness::netsuite_settings`].
    pub fn netsuite_client(&self, backoff: Backoff) -> Result<netsuite::Client> {
        netsuite::Client::new(self.netsuite_settings(backoff))
            .context("building the NetSuite client")
    }

    /// The real ION client with [`Harness::ion_settings`].
    pub fn ion_client(&self, backoff: Backoff) -> Result<ion::Client> {
        ion::Client::new(self.ion_settings(backoff)).context("building the ION client")
    }

    /// The PO sync's context against both simulators, from client settings the caller made
    /// with [`Harness::netsuite_settings`] / [`Harness::ion_settings`] and then adjusted.
    pub fn context(
        &self,
        netsuite: netsuite::Settings,
        ion: ion::Settings,
        store: Arc<Store>,
        settings: SyncSettings,
    ) -> Result<Context> {
        Ok(Context {
            netsuite: netsuite::Client::new(netsuite).context("building the NetSuite client")?,
            ion: ion::Client::new(ion).context("building the ION client")?,
            store,
            settings,
        })
    }
}

/// Starts the NetSuite simulator and registers the key `key` says; returns the credentials a
/// client signs its token requests with.
pub async fn start_netsuite(
    config: ns_sim::SimConfig,
    key: KeySource,
) -> Result<(ns_sim::SimHandle, Credentials)> {
    let sim = NetSuiteSim::start(config)
        .await
        .context("starting the NetSuite simulator")?;
    let credentials = match key {
        KeySource::Pem {
            certificate,
            private_key,
        } => Credentials {
            certificate_id: sim
                .register_certificate_pem(&certificate)
                .map_err(|e| anyhow!("registering the certificate: {e}"))?,
            private_key,
        },
        KeySource::Generate => {
            let (certificate_id, private_key) = sim
                .generate_key_pair()
                .map_err(|e| anyhow!("generating a key pair: {e}"))?;
            Credentials {
                certificate_id,
                private_key,
            }
        }
    };
    Ok((sim, credentials))
}

/// Starts the ION simulator; with `attributes`, defines the four sync attribute definitions
/// the daemon requires (without them every PO create is refused).
pub async fn start_ion(config: ion_sim::SimConfig, attributes: bool) -> Result<ion_sim::SimHandle> {
    let sim = IonSim::start(config)
        .await
        .context("starting the ION simulator")?;
    if attributes {
        sim.define_required_attributes();
    }
    Ok(sim)
}

/// NetSuite client settings for `sim` and `credentials`, with `backoff`; the rest default.
pub fn netsuite_settings(
    sim: &ns_sim::SimHandle,
    credentials: &Credentials,
    backoff: Backoff,
) -> netsuite::Settings {
    let mut s = netsuite::Settings::new(
        sim.base_url(),
        sim.account_id(),
        sim.client_id(),
        credentials.certificate_id.clone(),
        credentials.private_key.clone(),
    );
    s.backoff = backoff;
    s
}

/// ION client settings for `sim`, with `backoff`; the rest default.
pub fn ion_settings(sim: &ion_sim::SimHandle, backoff: Backoff) -> ion::Settings {
    let mut s = ion::Settings::new(
        sim.api_url(),
        sim.token_url(),
        sim.client_id(),
        SecretString::from(sim.client_secret().to_owned()),
    );
    s.backoff = backoff;
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::ion::AttrScope;

    /// The tour's set-up: a generated key pair, a frozen start, ION's attributes defined; the
    /// clients it builds log in to both simulators.
    #[tokio::test]
    async fn a_generated_key_pair_logs_in_and_ion_has_the_sync_attributes() {
        let now = DateTime::from_timestamp(1_767_225_600, 0).expect("a valid time");
        let h = Harness::start(Options {
            netsuite: ns_sim::SimConfig {
                start_time: Some(now),
                ..Default::default()
            },
            ion_clock: Some(now),
            ..Default::default()
        })
        .await
        .expect("simulators start");
        assert_eq!(h.ns.now(), now);
        assert!(
            !h.ion
                .attribute_definitions(AttrScope::PurchaseOrder)
                .is_empty()
        );
        assert!(
            !h.ion
                .attribute_definitions(AttrScope::PurchaseOrderLine)
                .is_empty()
        );
        h.netsuite_client(Backoff::fast())
            .expect("NetSuite client")
            .check_login()
            .await
            .expect("NetSuite login with the generated key");
        h.ion_client(Backoff::fast())
            .expect("ION client")
            .me()
            .await
            .expect("ION login");
    }

    /// Without `ion_attributes`, ION starts bare (what `setup ion-attributes` is tested on).
    #[tokio::test]
    async fn ion_attributes_can_be_left_undefined() {
        let h = Harness::start(Options {
            ion_attributes: false,
            ..Default::default()
        })
        .await
        .expect("simulators start");
        assert!(
            h.ion
                .attribute_definitions(AttrScope::PurchaseOrder)
                .is_empty()
        );
    }
}
