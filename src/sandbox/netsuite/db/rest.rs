//! Records in the REST record API shape: a purchase order with its links, list fields as
//! `{id, refName}`, and its lines as the `item` sublist.

use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;
use serde_json::{Value as Json, json};

use super::{Db, NsError, internal, sql};

impl Db {
    /// `purchaseOrder/{id}` in the REST record shape: ids as strings, list fields as
    /// `{id, refName}`, null fields left out, custom fields under their own ids, and the lines
    /// as the `item` sublist (with `expandSubResources`; otherwise only its link).
    pub fn purchase_order_json(&self, po: i64, base: &str, expand: bool) -> Result<Json, NsError> {
        let not_found = || {
            NsError::new(
                404,
                "NONEXISTENT_ID",
                format!(
                    "The record instance does not exist. Provide a valid record instance ID. ({po})"
                ),
            )
        };
        let custom = self.custom_columns("transaction");
        let extra: String = custom.iter().map(|c| format!(", t.{c}")).collect();
        let q = format!(
            "SELECT t.id, t.tranid, t.status, t.entity, \
             (SELECT COALESCE(companyname, entityid) FROM vendor WHERE id = t.entity), \
             t.trandate, t.createddate, t.lastmodifieddate, t.memo, t.approvalstatus, t.externalid{extra} \
             FROM \"transaction\" t WHERE t.id = ?1 AND t.type = 'PurchOrd'"
        );
        let tz = self.tz;
        let row = self
            .conn
            .query_row(&q, [po], |r| {
                let mut customs = serde_json::Map::new();
                for (i, c) in custom.iter().enumerate() {
                    if let Some(v) = r.get::<_, Option<String>>(11 + i)? {
                        customs.insert(c.clone(), Json::String(v));
                    }
                }
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                    r.get::<_, Option<i64>>(6)?,
                    r.get::<_, Option<i64>>(7)?,
                    r.get::<_, Option<String>>(8)?,
                    r.get::<_, Option<i64>>(9)?,
                    r.get::<_, Option<String>>(10)?,
                    customs,
                ))
            })
            .optional()
            .map_err(internal)?
            .ok_or_else(not_found)?;
        let (
            id,
            tranid,
            status,
            entity,
            vendor_name,
            trandate,
            created,
            lastmod,
            memo,
            approval,
            externalid,
            customs,
        ) = row;
        let iso = |e: Option<i64>| {
            e.and_then(|e| DateTime::<Utc>::from_timestamp(e, 0))
                .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        };
        let rec = |kind: &str, id: i64, name: Option<String>| {
            json!({"id": id.to_string(), "refName": name,
                   "links": [{"rel": "self", "href": format!("{base}/services/rest/record/v1/{kind}/{id}")}]})
        };
        let status_name = sql::status_text("PurchOrd", &status).unwrap_or("Unknown");
        let mut obj = json!({
            "links": [{"rel": "self", "href": format!("{base}/services/rest/record/v1/purchaseorder/{id}")}],
            "id": id.to_string(),
            "tranId": tranid,
            "status": {"id": status_name, "refName": status_name},
            "orderStatus": {"id": status, "refName": status},
            "approvalStatus": approval.map(|a| json!({"id": a.to_string(), "refName": match a { 1 => "Pending Approval", 3 => "Rejected", _ => "Approved" }})),
            "tranDate": trandate.and_then(|t| sql::render(t, "YYYY-MM-DD", tz).ok()),
            "createdDate": iso(created),
            "lastModifiedDate": iso(lastmod),
            "memo": memo,
            "externalId": externalid,
            "currency": {"id": "1", "refName": "US Dollar"},
            "subsidiary": {"id": "1", "refName": "Parent Company"},
            "location": {"id": "1", "refName": "Main Warehouse"},
        });
        if let (Some(e), Json::Object(m)) = (entity, &mut obj) {
            m.insert("entity".into(), rec("vendor", e, vendor_name));
        }
        if let Json::Object(m) = &mut obj {
            m.retain(|_, v| !v.is_null());
            for (k, v) in customs {
                m.insert(k, v);
            }
            if expand {
                m.insert("item".into(), self.lines_json(po, base)?);
            } else {
                m.insert("item".into(), json!({"links": [{"rel": "self", "href": format!("{base}/services/rest/record/v1/purchaseorder/{id}/item")}]}));
            }
        }
        Ok(obj)
    }

    fn lines_json(&self, po: i64, base: &str) -> Result<Json, NsError> {
        let custom = self.custom_columns("transactionline");
        let extra: String = custom.iter().map(|c| format!(", tl.{c}")).collect();
        let tz = self.tz;
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT tl.id, tl.item, i.itemid, tl.itemtype, tl.quantity, tl.quantityshiprecv, \
                 tl.quantitybilled, tl.rate, tl.foreignamount, tl.isclosed, tl.memo, tl.expectedreceiptdate{extra} \
                 FROM transactionline tl LEFT JOIN item i ON i.id = tl.item \
                 WHERE tl.\"transaction\" = ?1 AND tl.mainline = 'F' ORDER BY tl.linesequencenumber"
            ))
            .map_err(internal)?;
        let items = stmt
            .query_map([po], |r| {
                let line: i64 = r.get(0)?;
                let qty: f64 = r.get::<_, Option<f64>>(4)?.unwrap_or(0.0);
                let rec: f64 = r.get::<_, Option<f64>>(5)?.unwrap_or(0.0);
                let closed = r.get::<_, String>(9)? == "T";
                let item_type: Option<String> = r.get(3)?;
                let mut m = json!({
                    "links": [{"rel": "self", "href": format!("{base}/services/rest/record/v1/purchaseorder/{po}/item/{line}")}],
                    "line": line,
                    "item": {"id": r.get::<_, Option<i64>>(1)?.map(|i| i.to_string()), "refName": r.get::<_, Option<String>>(2)?},
                    "itemType": {"id": item_type, "refName": item_type},
                    "quantity": qty,
                    "quantityReceived": rec,
                    "quantityBilled": r.get::<_, Option<f64>>(6)?.unwrap_or(0.0),
                    "rate": r.get::<_, Option<f64>>(7)?,
                    "amount": r.get::<_, Option<f64>>(8)?,
                    "isClosed": closed,
                    "isOpen": !closed && rec < qty,
                    "description": r.get::<_, Option<String>>(10)?,
                    "expectedReceiptDate": r.get::<_, Option<i64>>(11)?.and_then(|t| sql::render(t, "YYYY-MM-DD", tz).ok()),
                    "location": {"id": "1", "refName": "Main Warehouse"},
                });
                if let Json::Object(obj) = &mut m {
                    for (i, c) in custom.iter().enumerate() {
                        if let Some(v) = r.get::<_, Option<String>>(12 + i)? {
                            obj.insert(c.clone(), Json::String(v));
                        }
                    }
                    obj.retain(|_, v| !v.is_null());
                }
                Ok(m)
            })
            .map_err(internal)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(internal)?;
        let n = items.len();
        Ok(
            json!({"links": [], "count": n, "hasMore": false, "offset": 0, "totalResults": n, "items": items}),
        )
    }
}
