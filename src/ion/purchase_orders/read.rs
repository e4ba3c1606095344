//! The PO and its lines as ION answers them, their attribute accessors, ION's date format, and
//! reading POs (by NetSuite id, by ION id).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::ion::attributes::{Attribute, NETSUITE_RECORD_ID, NS_LINE_ID};
use crate::ion::transport::Replay;
use crate::ion::{Client, Error, collect_chunks, documents, nullable_list, nullable_string};

/// `Purchaseorderstatusenum`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PoStatus {
    Draft,
    Requested,
    Approved,
    Ordered,
    Canceled,
    Received,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IonPurchaseOrder {
    pub id: i64,
    #[serde(rename = "_etag", deserialize_with = "nullable_string")]
    pub etag: String,
    #[serde(rename = "_updated", default)]
    pub updated: Option<String>,
    pub status: Option<PoStatus>,
    pub supplier_id: Option<i64>,
    pub description: Option<String>,
    #[serde(default)]
    pub ordered_at: Option<String>,
    #[serde(default, deserialize_with = "nullable_list")]
    pub attributes: Vec<Attribute>,
    #[serde(
        rename = "purchaseOrderLines",
        default,
        deserialize_with = "nullable_list"
    )]
    pub lines: Vec<IonPurchaseOrderLine>,
}

/// A PO made by [`Client::create_purchase_orders`], as far as its creator needs to know it: ids
/// to link, the status it reached, and the etag for a next write. (Its other fields are what the
/// caller just sent; the next full read, e.g. the nightly reconciliation, sees the rest.)
#[derive(Debug, Clone, PartialEq)]
pub struct CreatedPurchaseOrder {
    pub id: i64,
    pub etag: String,
    pub status: Option<PoStatus>,
    pub lines: Vec<CreatedLine>,
}

/// A line of a [`CreatedPurchaseOrder`]: its ION id and the `ns_line_id` ION stored on it.
#[derive(Debug, Clone, PartialEq)]
pub struct CreatedLine {
    pub id: i64,
    pub ns_line_id: Option<i64>,
}

impl CreatedPurchaseOrder {
    /// NetSuite line id → ION line id (the link's line map).
    pub fn line_map(&self) -> std::collections::BTreeMap<i64, i64> {
        let mut map = std::collections::BTreeMap::new();
        for l in &self.lines {
            if let Some(ns) = l.ns_line_id {
                map.entry(ns).or_insert(l.id);
            }
        }
        map
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IonPurchaseOrderLine {
    pub id: i64,
    #[serde(rename = "_etag", deserialize_with = "nullable_string")]
    pub etag: String,
    #[serde(rename = "_updated", default)]
    pub updated: Option<String>,
    pub purchase_order_id: i64,
    /// Calculated by ION since July 2025 (DRAFT until the PO is ORDERED, then ORDERED, …).
    pub status: PoStatus,
    pub part_id: Option<i64>,
    pub quantity: f64,
    /// Unit cost (inference, reference §4.2).
    pub cost: Option<f64>,
    pub received_quantity: Option<f64>,
    pub position: Option<i64>,
    pub description: Option<String>,
    #[serde(default)]
    pub need_date: Option<String>,
    #[serde(default)]
    pub estimated_arrival_date: Option<String>,
    #[serde(default, deserialize_with = "nullable_list")]
    pub attributes: Vec<Attribute>,
}

pub(super) fn attribute<'a>(attributes: &'a [Attribute], key: &str) -> Option<&'a Attribute> {
    attributes.iter().find(|a| a.key == key)
}

impl IonPurchaseOrder {
    pub fn attribute(&self, key: &str) -> Option<&Attribute> {
        attribute(&self.attributes, key)
    }

    /// The NetSuite internal id this PO mirrors (`Netsuite RecordID`).
    pub fn netsuite_id(&self) -> Option<String> {
        match &self.attribute(NETSUITE_RECORD_ID)?.value {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    pub fn line(&self, id: i64) -> Option<&IonPurchaseOrderLine> {
        self.lines.iter().find(|l| l.id == id)
    }

    /// Replaces or adds lines from a write's answer.
    pub(super) fn absorb(&mut self, lines: Vec<IonPurchaseOrderLine>) {
        for line in lines {
            match self.lines.iter_mut().find(|l| l.id == line.id) {
                Some(existing) => *existing = line,
                None => self.lines.push(line),
            }
        }
    }
}

impl IonPurchaseOrderLine {
    pub fn attribute(&self, key: &str) -> Option<&Attribute> {
        attribute(&self.attributes, key)
    }

    /// The NetSuite line id (`ns_line_id`, NUMBER; a string holding digits is accepted too).
    pub fn ns_line_id(&self) -> Option<i64> {
        ns_line_id(&self.attributes)
    }
}

pub(crate) fn ns_line_id(attributes: &[Attribute]) -> Option<i64> {
    match &attribute(attributes, NS_LINE_ID)?.value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl Client {
    /// POs mirroring the given NetSuite internal ids (`Netsuite RecordID` attribute, batch `in`).
    /// Two POs for one id is the caller's data error to report; both are returned.
    pub async fn purchase_orders_by_netsuite_id(
        &self,
        ns_ids: &[String],
    ) -> Result<Vec<IonPurchaseOrder>, Error> {
        collect_chunks(
            self,
            "PurchaseOrdersByAttribute",
            documents::PURCHASE_ORDERS_BY_ATTRIBUTE,
            "purchaseOrders",
            ns_ids,
            |chunk| {
                let mut vars = Map::new();
                vars.insert("key".into(), NETSUITE_RECORD_ID.into());
                vars.insert("values".into(), json!(chunk));
                vars
            },
        )
        .await
    }

    pub async fn purchase_order(&self, id: i64) -> Result<Option<IonPurchaseOrder>, Error> {
        #[derive(Deserialize)]
        struct Data {
            #[serde(rename = "purchaseOrder")]
            purchase_order: Option<IonPurchaseOrder>,
        }
        let data: Data = self
            .run(
                "PurchaseOrderById",
                documents::PURCHASE_ORDER_BY_ID,
                json!({"id": id}),
                Replay::Safe,
            )
            .await?;
        Ok(data.purchase_order)
    }

    pub(super) async fn fresh(&self, id: i64) -> Result<IonPurchaseOrder, Error> {
        self.purchase_order(id)
            .await?
            .ok_or_else(|| Error::Data(format!("ION purchase order {id} no longer exists")))
    }
}

/// A calendar date as ION's `DateTime`: midnight UTC with an explicit `Z` (reference §2: send
/// UTC with an explicit offset).
pub fn date_time(d: chrono::NaiveDate) -> String {
    format!("{}T00:00:00Z", d.format("%Y-%m-%d"))
}

/// The calendar date of an ION `DateTime` as [`date_time`] wrote it, whatever offset ION
/// answers with (the instant is converted to UTC first); a bare `YYYY-MM-DD` is accepted too.
/// `None` for text that is neither.
pub fn date_of(text: &str) -> Option<chrono::NaiveDate> {
    let t = text.trim();
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|dt| dt.with_timezone(&chrono::Utc).date_naive())
        .ok()
        .or_else(|| chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ion_dates_round_trip_whatever_offset_ion_answers_with() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        assert_eq!(date_time(d), "2026-03-01T00:00:00Z");
        for text in [
            "2026-03-01T00:00:00Z",
            "2026-03-01T00:00:00+00:00",
            "2026-03-01T00:00:00.000000+00:00",
            "2026-02-28T19:00:00-05:00",
            "2026-03-01",
        ] {
            assert_eq!(date_of(text), Some(d), "{text}");
        }
        assert_eq!(date_of("1 March"), None);
    }
}
