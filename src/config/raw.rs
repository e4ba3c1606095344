//! The raw file shape: field names are a contract, scripts and admins rely on them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Lenient;
use crate::plan::model::DEFAULT_NON_RECEIVABLE;

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
