//! Raw file → validated [`Config`]: every key parsed, defaults applied, the first error returned.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::raw::RawConfig;
use super::secret::secret;
use super::values::{duration, field_name, in_flight, netsuite_base, required, service_url};
use super::*;

pub(super) fn validate(
    raw: RawConfig,
    config_dir: &Path,
    env: &Environment,
) -> Result<Config, ConfigError> {
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
