//! Item receipts by transforming a purchase order (reference §7).
//!
//! The synchronous transform has no idempotency (§7.4): a timeout after NetSuite committed
//! leaves a receipt behind. So the POST is never repeated once it may have arrived; an ambiguous
//! failure surfaces as [`Error::OutcomeUnknown`] and the caller runs
//! [`Client::item_receipt_by_external_id`] before deciding anything.

use reqwest::Method;
use serde::Serialize;

use super::records::RECORD_PATH;
use super::transport::Request;
use super::{Client, Error, Result};

/// One line of the receipt, selected by the PO's `orderLine`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemReceiptLine {
    pub order_line: i64,
    /// `false` leaves the line out; the transform pre-populates every open line (§7.3), so
    /// every open line not being received must be listed with `false`.
    pub item_receive: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<f64>,
}

impl ItemReceiptLine {
    pub fn receive(order_line: i64, quantity: f64) -> Self {
        Self {
            order_line,
            item_receive: true,
            quantity: Some(quantity),
        }
    }

    pub fn skip(order_line: i64) -> Self {
        Self {
            order_line,
            item_receive: false,
            quantity: None,
        }
    }
}

/// The body of `POST purchaseOrder/{id}/!transform/itemReceipt`.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemReceiptRequest {
    /// The dedupe key, e.g. `ion-receipt-<receipt>-<po>`; letters, digits and `_ . : -`.
    pub external_id: String,
    /// `YYYY-MM-DD`, in the account's time zone.
    pub tran_date: String,
    pub memo: String,
    pub lines: Vec<ItemReceiptLine>,
}

impl Client {
    /// Creates an item receipt from PO `po_id` and returns its internal id, taken from the
    /// `Location` header of the 204 (§7.2).
    pub async fn create_item_receipt(&self, po_id: i64, req: &ItemReceiptRequest) -> Result<i64> {
        super::suiteql::token_literal(&req.external_id)?;
        if chrono::NaiveDate::parse_from_str(&req.tran_date, "%Y-%m-%d").is_err() {
            return Err(Error::InvalidInput(format!(
                "tranDate {:?} is not YYYY-MM-DD",
                req.tran_date
            )));
        }
        let body = serde_json::json!({
            "externalId": req.external_id,
            "tranDate": req.tran_date,
            "memo": req.memo,
            "item": { "items": req.lines },
        });
        let path = format!("{RECORD_PATH}/purchaseOrder/{po_id}/!transform/itemReceipt");
        self.inner
            .send(
                Request {
                    method: Method::POST,
                    path: &path,
                    query: vec![],
                    json: Some(&body),
                    headers: vec![("X-NetSuite-PropertyNameValidation", "Error")],
                    idempotent: false,
                },
                |reply| {
                    let location = reply
                        .headers
                        .get(reqwest::header::LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .ok_or("no Location header on the transform's answer")?;
                    id_from_location(location)
                        .ok_or_else(|| format!("no record id at the end of Location {location:?}"))
                },
            )
            .await
    }
}

/// `…/record/v1/itemReceipt/<id>` → `<id>`.
pub(crate) fn id_from_location(location: &str) -> Option<i64> {
    location
        .trim_end_matches('/')
        .rsplit('/')
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn location_ids() {
        assert_eq!(
            super::id_from_location("https://h/services/rest/record/v1/itemReceipt/812"),
            Some(812)
        );
        assert_eq!(super::id_from_location("https://h/x/itemReceipt/"), None);
    }
}
