//! Custom attributes: the org-level definitions the sync depends on, and attribute values.
//!
//! Why definitions matter: ION refuses a value for a key that is not defined (or defined with
//! another type), so `doctor` checks them and `setup ion-attributes` creates the missing ones.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::transport::Replay;
use super::{Client, Error, documents, nullable_list, nullable_string};

/// PO attribute holding the NetSuite `tranId` (First Resonance's own key).
pub const NETSUITE_PO_NUMBER: &str = "Netsuite PO Number";
/// PO attribute holding the NetSuite internal id: the key the sync looks POs up by. STRING, not
/// NUMBER: it is an identifier, compared with `in` for equality, and a string avoids any question
/// of how ION's multi-type `ScalarValue` renders numbers (`123` vs `123.0`).
pub const NETSUITE_RECORD_ID: &str = "Netsuite RecordID";
/// PO line attribute holding the NetSuite line id (NUMBER, as the reference specifies).
pub const NS_LINE_ID: &str = "ns_line_id";
/// PO line attribute marking item types that are never received.
pub const NON_RECEIVABLE: &str = "Non-receivable";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AttributeType {
    String,
    Number,
    Boolean,
    Select,
    Multiselect,
    Datetime,
    FileAttachment,
    Ion,
    /// A type added to the live API after the SDL we know.
    #[serde(other)]
    Other,
}

/// Which kind of record a definition belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeEntity {
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    Supplier,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredAttribute {
    pub entity: AttributeEntity,
    pub key: &'static str,
    pub attribute_type: AttributeType,
}

/// The four definitions the sync cannot work without.
pub const REQUIRED_ATTRIBUTES: [RequiredAttribute; 4] = [
    RequiredAttribute {
        entity: AttributeEntity::PurchaseOrder,
        key: NETSUITE_PO_NUMBER,
        attribute_type: AttributeType::String,
    },
    RequiredAttribute {
        entity: AttributeEntity::PurchaseOrder,
        key: NETSUITE_RECORD_ID,
        attribute_type: AttributeType::String,
    },
    RequiredAttribute {
        entity: AttributeEntity::PurchaseOrderLine,
        key: NS_LINE_ID,
        attribute_type: AttributeType::Number,
    },
    RequiredAttribute {
        entity: AttributeEntity::PurchaseOrderLine,
        key: NON_RECEIVABLE,
        attribute_type: AttributeType::Boolean,
    },
];

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct AttributeDefinition {
    #[serde(deserialize_with = "nullable_string")]
    pub key: String,
    #[serde(rename = "type")]
    pub attribute_type: Option<AttributeType>,
    #[serde(default, deserialize_with = "nullable_list")]
    pub options: Vec<String>,
}

/// The organisation's definitions, with what a definition write needs (org id and `_etag`).
#[derive(Debug, Clone)]
pub struct AttributeDefinitions {
    pub organization_id: i64,
    pub organization_etag: String,
    pub purchase_orders: Vec<AttributeDefinition>,
    pub purchase_order_lines: Vec<AttributeDefinition>,
    pub receipts: Vec<AttributeDefinition>,
    pub suppliers: Vec<AttributeDefinition>,
}

impl AttributeDefinitions {
    pub fn of(&self, entity: AttributeEntity) -> &[AttributeDefinition] {
        match entity {
            AttributeEntity::PurchaseOrder => &self.purchase_orders,
            AttributeEntity::PurchaseOrderLine => &self.purchase_order_lines,
            AttributeEntity::Receipt => &self.receipts,
            AttributeEntity::Supplier => &self.suppliers,
        }
    }

    pub fn find(&self, entity: AttributeEntity, key: &str) -> Option<&AttributeDefinition> {
        self.of(entity).iter().find(|d| d.key == key)
    }

    /// Required definitions that are missing (`Ok`-able by creating them) or have the wrong type
    /// (an operator must fix those: changing a type could break other users of the key).
    pub fn problems(&self) -> (Vec<RequiredAttribute>, Vec<String>) {
        let mut missing = Vec::new();
        let mut wrong = Vec::new();
        for req in REQUIRED_ATTRIBUTES {
            match self.find(req.entity, req.key) {
                None => missing.push(req),
                Some(d) if d.attribute_type != Some(req.attribute_type) => wrong.push(format!(
                    "{:?} attribute `{}` has type {:?}, expected {:?}",
                    req.entity, req.key, d.attribute_type, req.attribute_type
                )),
                Some(_) => {}
            }
        }
        (missing, wrong)
    }
}

/// An attribute value as read (`attributes { key value type Etag }`). `Etag` is the attribute
/// row's own etag, which updates of the value must send.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Attribute {
    pub key: String,
    #[serde(default)]
    pub value: serde_json::Value,
    #[serde(rename = "type", default)]
    pub attribute_type: Option<String>,
    #[serde(rename = "Etag", default, deserialize_with = "nullable_string")]
    pub etag: String,
}

/// An attribute value to write.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttributeValue {
    pub key: String,
    pub value: serde_json::Value,
}

impl AttributeValue {
    pub fn new(key: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// The API user, from the connectivity check.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    pub id: i64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub organization_id: Option<i64>,
}

#[derive(Deserialize)]
struct Settings {
    #[serde(rename = "purchaseOrders")]
    purchase_orders: Option<Defs>,
    #[serde(rename = "purchaseOrderLines")]
    purchase_order_lines: Option<Defs>,
    receipts: Option<Defs>,
    suppliers: Option<Defs>,
}

#[derive(Deserialize)]
struct Defs {
    #[serde(default, deserialize_with = "nullable_list")]
    attributes: Vec<AttributeDefinition>,
}

fn defs(d: Option<Defs>) -> Vec<AttributeDefinition> {
    d.map(|d| d.attributes).unwrap_or_default()
}

impl Client {
    /// `me { … }`: proves the URL, the credentials and the token exchange work.
    pub async fn me(&self) -> Result<Me, Error> {
        #[derive(Deserialize)]
        struct Data {
            me: Option<Me>,
        }
        let data: Data = self
            .run("Me", documents::ME, json!({}), Replay::Safe)
            .await?;
        data.me
            .ok_or_else(|| Error::Data("`me` is null: the API key has no user".into()))
    }

    pub async fn attribute_definitions(&self) -> Result<AttributeDefinitions, Error> {
        #[derive(Deserialize)]
        struct Data {
            me: Option<MeOrg>,
        }
        #[derive(Deserialize)]
        struct MeOrg {
            organization: Option<Org>,
        }
        #[derive(Deserialize)]
        struct Org {
            id: i64,
            #[serde(rename = "_etag", deserialize_with = "nullable_string")]
            etag: String,
            settings: Option<Settings>,
        }
        let data: Data = self
            .run(
                "AttributeDefinitions",
                documents::ATTRIBUTE_DEFINITIONS,
                json!({}),
                Replay::Safe,
            )
            .await?;
        let org = data
            .me
            .and_then(|m| m.organization)
            .ok_or_else(|| Error::Data("the API user has no organisation".into()))?;
        let (po, line, receipts, suppliers) = match org.settings {
            Some(s) => (
                defs(s.purchase_orders),
                defs(s.purchase_order_lines),
                defs(s.receipts),
                defs(s.suppliers),
            ),
            None => Default::default(),
        };
        Ok(AttributeDefinitions {
            organization_id: org.id,
            organization_etag: org.etag,
            purchase_orders: po,
            purchase_order_lines: line,
            receipts,
            suppliers,
        })
    }

    /// Creates the required definitions that are missing and returns those it created. A
    /// required key defined with another type is an error: retyping a key other people may use
    /// is the operator's call, not ours. Each definition write bumps the organisation's `_etag`,
    /// so they go one at a time, each with the etag the previous one returned.
    pub async fn ensure_required_attributes(&self) -> Result<Vec<RequiredAttribute>, Error> {
        let defs = self.attribute_definitions().await?;
        let (missing, wrong) = defs.problems();
        if !wrong.is_empty() {
            return Err(Error::Data(wrong.join("; ")));
        }
        let mut etag = defs.organization_etag.clone();
        for req in &missing {
            let (operation, document, field) = match req.entity {
                AttributeEntity::PurchaseOrder => (
                    "DefinePurchaseOrderAttribute",
                    documents::DEFINE_PURCHASE_ORDER_ATTRIBUTE,
                    "updateOrganizationPurchaseOrderAttributes",
                ),
                AttributeEntity::PurchaseOrderLine => (
                    "DefinePurchaseOrderLineAttribute",
                    documents::DEFINE_PURCHASE_ORDER_LINE_ATTRIBUTE,
                    "updateOrganizationPurchaseOrderLineAttributes",
                ),
                other => {
                    return Err(Error::Data(format!(
                        "no definition mutation wired for {other:?}"
                    )));
                }
            };
            let variables = json!({"input": {
                "key": req.key,
                "type": req.attribute_type,
                "id": defs.organization_id,
                "etag": etag,
            }});
            let data: serde_json::Value = self
                .run(operation, document, variables, Replay::Safe)
                .await?;
            etag = data[field]["organization"]["_etag"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| Error::Decode(format!("{operation}: no organisation _etag")))?;
            tracing::info!(key = req.key, entity = ?req.entity, "created ION attribute definition");
        }
        Ok(missing)
    }
}
