//! Header, status and attribute updates of a PO, with one re-read and one retry on an etag
//! conflict; the nested-attribute input that line updates share.

use serde_json::{Map, Value, json};

use super::read::{IonPurchaseOrder, PoStatus, attribute};
use super::{Answers, take};
use crate::ion::attributes::{Attribute, AttributeValue};
use crate::ion::transport::Replay;
use crate::ion::{Client, Error, documents};

/// Header changes; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct PurchaseOrderChanges {
    pub status: Option<PoStatus>,
    pub supplier_id: Option<i64>,
    pub description: Option<String>,
    /// `Some(None)` clears `orderedAt`.
    pub ordered_at: Option<Option<String>>,
    pub attributes: Vec<AttributeValue>,
}

pub(super) fn put(map: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(v) = value {
        map.insert(key.into(), v.into());
    }
}

/// Nested attribute input for updates: each needs an etag; an existing value's own `Etag`, or
/// for a first-time value the parent's `_etag` (unverified guess, reference §5.2).
pub(super) fn nested_attributes(
    attrs: &[AttributeValue],
    current: &[Attribute],
    parent_etag: &str,
) -> Value {
    Value::Array(
        attrs
            .iter()
            .map(|a| {
                let etag = attribute(current, &a.key)
                    .map(|c| c.etag.as_str())
                    .filter(|e| !e.is_empty())
                    .unwrap_or(parent_etag);
                json!({"key": a.key, "value": a.value, "etag": etag})
            })
            .collect(),
    )
}

fn po_update_input(po: &IonPurchaseOrder, c: &PurchaseOrderChanges) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), po.id.into());
    m.insert("etag".into(), po.etag.clone().into());
    put(&mut m, "status", c.status.map(|s| json!(s)));
    put(&mut m, "supplierId", c.supplier_id);
    put(&mut m, "description", c.description.clone());
    if let Some(d) = &c.ordered_at {
        m.insert("orderedAt".into(), d.clone().into());
    }
    if !c.attributes.is_empty() {
        m.insert(
            "attributes".into(),
            nested_attributes(&c.attributes, &po.attributes, &po.etag),
        );
    }
    Value::Object(m)
}

impl Client {
    /// Updates header fields, status and attributes, then replaces `po` with ION's answer. On an
    /// etag conflict: one re-read, one retry.
    pub async fn update_purchase_order(
        &self,
        po: &mut IonPurchaseOrder,
        changes: &PurchaseOrderChanges,
    ) -> Result<(), Error> {
        match self.try_update_po(po, changes).await {
            Err(e) if e.is_conflict() => {
                tracing::info!(po = po.id, "etag conflict updating ION PO; re-reading once");
                *po = self.fresh(po.id).await?;
                self.try_update_po(po, changes).await
            }
            other => other,
        }
    }

    async fn try_update_po(
        &self,
        po: &mut IonPurchaseOrder,
        changes: &PurchaseOrderChanges,
    ) -> Result<(), Error> {
        let mut data: Answers<IonPurchaseOrder> = self
            .run(
                "UpdatePurchaseOrder",
                documents::UPDATE_PURCHASE_ORDER,
                json!({"input": po_update_input(po, changes)}),
                Replay::Safe,
            )
            .await?;
        *po = take(&mut data, "updatePurchaseOrder", "purchaseOrder")?;
        Ok(())
    }

    /// Moves the PO between statuses (DRAFT ⇄ ORDERED, CANCELED, …).
    pub async fn set_status(
        &self,
        po: &mut IonPurchaseOrder,
        status: PoStatus,
    ) -> Result<(), Error> {
        let changes = PurchaseOrderChanges {
            status: Some(status),
            ..Default::default()
        };
        self.update_purchase_order(po, &changes).await
    }
}
