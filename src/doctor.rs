//! `doctor`: checks everything an admin can get wrong before enabling the service, and says what
//! to fix. Each check is independent, so one failure does not hide the others.

use std::fmt;
use std::time::Duration;

use crate::config::Config;
use crate::ion::attributes::{AttributeDefinitions, AttributeEntity};
use crate::netsuite::queries::{DeletedCursor, PoCursor};

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// Works, but deserves a look.
    Warn,
    Fail,
}

#[derive(Debug, Clone)]
pub struct Check {
    pub verdict: Verdict,
    pub name: &'static str,
    pub detail: String,
    /// What to do about it (empty when nothing).
    pub fix: String,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = match self.verdict {
            Verdict::Ok => "ok  ",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
        };
        write!(f, "[{tag}] {}: {}", self.name, self.detail)?;
        if !self.fix.is_empty() {
            write!(f, "\n       fix: {}", self.fix)?;
        }
        Ok(())
    }
}

fn check(
    verdict: Verdict,
    name: &'static str,
    detail: impl Into<String>,
    fix: impl Into<String>,
) -> Check {
    Check {
        verdict,
        name,
        detail: detail.into(),
        fix: fix.into(),
    }
}

/// Skew above which NetSuite's assertion checks (`iat`/`exp`) start to fail.
const MAX_SKEW: Duration = Duration::from_secs(30);

/// Runs every check against the real services named by `config`.
pub async fn run(config: &Config) -> Vec<Check> {
    let mut out = vec![check(Verdict::Ok, "configuration", "loaded and valid", "")];
    out.extend(netsuite_checks(config).await);
    out.extend(ion_checks(config).await);
    out.push(clock_check("clock skew (NetSuite)", config.netsuite.base_url.as_str()).await);
    out.push(clock_check("clock skew (ION)", config.ion.api_url.as_str()).await);
    out
}

async fn netsuite_checks(config: &Config) -> Vec<Check> {
    let mut out = Vec::new();
    let client = match crate::clients::netsuite_client(config) {
        Ok(c) => c,
        Err(e) => {
            out.push(check(
                Verdict::Fail,
                "NetSuite credentials",
                format!("{e:#}"),
                "check netsuite.private_key_file (or $NSION_NETSUITE__PRIVATE_KEY): an unencrypted \
                 PKCS#8 or PKCS#1 PEM, RSA 3072/4096 or EC P-256/P-384",
            ));
            return out;
        }
    };
    if let Err(e) = client.check_login().await {
        out.push(check(
            Verdict::Fail,
            "NetSuite login",
            format!("{e}"),
            "check client_id and certificate_id, that the certificate is mapped to an active \
             role and entity (a sandbox refresh deletes the mapping), and see Setup > Users/Roles \
             > User Management > View Login Audit Trail for NetSuite's reason",
        ));
        return out;
    }
    out.push(check(
        Verdict::Ok,
        "NetSuite login",
        "token obtained (M2M client credentials)",
        "",
    ));
    match client.po_headers_page(&PoCursor::start(), &[], 1).await {
        Ok(_) => out.push(check(
            Verdict::Ok,
            "NetSuite SuiteQL on purchase orders",
            "readable",
            "",
        )),
        Err(e) => out.push(check(
            Verdict::Fail,
            "NetSuite SuiteQL on purchase orders",
            format!("{e}"),
            "give the mapped role REST Web Services, SuiteAnalytics Workbook and view access to \
             purchase orders, vendors and items",
        )),
    }
    match client.deleted_pos_page(&DeletedCursor::start(), 1).await {
        Ok(_) => out.push(check(Verdict::Ok, "NetSuite DeletedRecord", "readable", "")),
        Err(e) => out.push(check(
            Verdict::Fail,
            "NetSuite DeletedRecord",
            format!("{e}"),
            "give the mapped role the Deleted Records permission, or deletions are never seen",
        )),
    }
    match client.suiteql_time_zone_offset().await {
        Ok(Some(offset)) => {
            let hours = offset.num_minutes() as f64 / 60.0;
            let overlap_h = config.schedule.overlap.as_secs_f64() / 3600.0;
            let (verdict, fix) = if offset.num_minutes() != 0 && overlap_h < 1.0 {
                (
                    Verdict::Warn,
                    "SuiteQL renders times in the integration user's zone; if it observes daylight \
                     saving, set schedule.overlap to at least \"1h\"",
                )
            } else {
                (Verdict::Ok, "")
            };
            out.push(check(
                verdict,
                "SuiteQL time-zone offset",
                format!("SuiteQL times are UTC{hours:+} (the cursor is kept as SuiteQL's own text, so this needs no conversion)"),
                fix,
            ));
        }
        Ok(None) => out.push(check(
            Verdict::Warn,
            "SuiteQL time-zone offset",
            "no purchase order to measure it on",
            "run doctor again once the account has a purchase order",
        )),
        Err(e) => out.push(check(
            Verdict::Warn,
            "SuiteQL time-zone offset",
            format!("could not measure: {e}"),
            "give the role view access to purchase orders through the record API",
        )),
    }
    out
}

async fn ion_checks(config: &Config) -> Vec<Check> {
    let mut out = Vec::new();
    let client = match crate::clients::ion_client(config) {
        Ok(c) => c,
        Err(e) => {
            out.push(check(
                Verdict::Fail,
                "ION credentials",
                format!("{e:#}"),
                "check ion.client_secret_file (or $NSION_ION__CLIENT_SECRET)",
            ));
            return out;
        }
    };
    match client.me().await {
        Ok(_) => out.push(check(
            Verdict::Ok,
            "ION login",
            "token obtained and `me` answered",
            "",
        )),
        Err(e) => {
            out.push(check(
                Verdict::Fail,
                "ION login",
                format!("{e}"),
                "check ion.client_id, the secret, and that ion.token_url belongs to the same ION \
                 environment as ion.api_url (keys work only where they were issued)",
            ));
            return out;
        }
    }
    match client.attribute_definitions().await {
        Ok(defs) => out.extend(attribute_checks(config, &defs)),
        Err(e) => out.push(check(
            Verdict::Fail,
            "ION attribute definitions",
            format!("{e}"),
            "the ION API key's user needs to read organization settings",
        )),
    }
    out
}

/// The four required definitions and every mapped custom attribute must exist with a usable type.
pub fn attribute_checks(config: &Config, defs: &AttributeDefinitions) -> Vec<Check> {
    let mut out = Vec::new();
    let (missing, wrong) = defs.problems();
    if missing.is_empty() && wrong.is_empty() {
        out.push(check(
            Verdict::Ok,
            "ION required attributes",
            "Netsuite PO Number, Netsuite RecordID, ns_line_id and Non-receivable exist with the expected types",
            "",
        ));
    }
    if !missing.is_empty() {
        let names: Vec<String> = missing
            .iter()
            .map(|r| format!("{:?} `{}` ({:?})", r.entity, r.key, r.attribute_type))
            .collect();
        out.push(check(
            Verdict::Fail,
            "ION required attributes",
            format!("missing: {}", names.join(", ")),
            "run `netsuite-ion-sync setup ion-attributes`",
        ));
    }
    for w in wrong {
        out.push(check(
            Verdict::Fail,
            "ION required attributes",
            w,
            "change the attribute's type in ION organization settings (the daemon does not change \
             types: other users of the key could break)",
        ));
    }
    for (entity, map, section) in [
        (
            AttributeEntity::PurchaseOrder,
            &config.mapping.purchase_order_attributes,
            "mapping.purchase_order_attributes",
        ),
        (
            AttributeEntity::PurchaseOrderLine,
            &config.mapping.purchase_order_line_attributes,
            "mapping.purchase_order_line_attributes",
        ),
    ] {
        for (key, field) in map {
            match defs.find(entity, key) {
                Some(d) => out.push(check(
                    Verdict::Ok,
                    "ION mapped attribute",
                    format!("`{key}` ← NetSuite {field} ({:?})", d.attribute_type),
                    "",
                )),
                None => out.push(check(
                    Verdict::Fail,
                    "ION mapped attribute",
                    format!("{section}.\"{key}\" names an attribute ION does not define"),
                    format!(
                        "define `{key}` in ION organization settings or remove it from {section}"
                    ),
                )),
            }
        }
    }
    out
}

/// Compares this machine's clock with the server's HTTP `Date` header.
async fn clock_check(name: &'static str, url: &str) -> Check {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
    {
        Ok(c) => c,
        Err(e) => return check(Verdict::Warn, name, format!("no HTTP client: {e}"), ""),
    };
    let sent = chrono::Utc::now();
    let response = match client.get(url).send().await {
        Ok(r) => r,
        Err(e) => {
            return check(
                Verdict::Warn,
                name,
                format!("{url} did not answer: {e}"),
                "",
            );
        }
    };
    let received = chrono::Utc::now();
    let Some(date) = response
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
    else {
        return check(Verdict::Warn, name, "the server sent no Date header", "");
    };
    let midpoint = sent + (received - sent) / 2;
    let skew = (midpoint - date.with_timezone(&chrono::Utc)).num_seconds();
    // The Date header has one-second resolution.
    if skew.unsigned_abs() > MAX_SKEW.as_secs() {
        check(
            Verdict::Fail,
            name,
            format!("this machine's clock is {skew:+} s off the server's"),
            "synchronise the clock (systemd-timesyncd or chrony): NetSuite rejects JWT assertions \
             from a skewed clock",
        )
    } else {
        check(Verdict::Ok, name, format!("{skew:+} s"), "")
    }
}
