//! Line writes under the July-2025 rules: creating lines on a DRAFT PO, updating and cancelling
//! them, and revising the lines of an ordered PO through DRAFT.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::create::{NewLine, new_line_input};
use super::read::{IonPurchaseOrder, IonPurchaseOrderLine, PoStatus};
use super::update::{nested_attributes, put};
use super::{Indexed, MAX_BATCH};
use crate::ion::attributes::AttributeValue;
use crate::ion::transport::Replay;
use crate::ion::{Client, Error, documents, nullable_string};

/// Line changes; `None` leaves a field alone. Field edits need a DRAFT PO; `attributes`,
/// `estimated_arrival_date` and `cancel` work on any PO (July-2025 rules).
#[derive(Debug, Clone, Default)]
pub struct LineChanges {
    pub id: i64,
    pub part_id: Option<i64>,
    pub quantity: Option<f64>,
    pub cost: Option<f64>,
    pub description: Option<String>,
    pub need_date: Option<String>,
    /// `Some(None)` clears it.
    pub estimated_arrival_date: Option<Option<String>>,
    pub attributes: Vec<AttributeValue>,
    /// Sets the only line status a client may set: CANCELED.
    pub cancel: bool,
}

impl LineChanges {
    /// Whether this changes nothing (every field left alone, no cancel).
    pub fn is_empty(&self) -> bool {
        self.part_id.is_none()
            && self.quantity.is_none()
            && self.cost.is_none()
            && self.description.is_none()
            && self.need_date.is_none()
            && self.estimated_arrival_date.is_none()
            && self.attributes.is_empty()
            && !self.cancel
    }
}

/// Line edits for [`Client::revise_lines`], applied in the order delete, update, create.
#[derive(Debug, Clone, Default)]
pub struct LineEdits {
    pub delete: Vec<i64>,
    pub update: Vec<LineChanges>,
    pub create: Vec<NewLine>,
}

impl LineEdits {
    /// Whether any edit needs the PO in DRAFT (cancel- or attribute-only updates do not).
    fn need_draft(&self) -> bool {
        !self.delete.is_empty()
            || !self.create.is_empty()
            || self.update.iter().any(|c| {
                c.part_id.is_some()
                    || c.quantity.is_some()
                    || c.cost.is_some()
                    || c.description.is_some()
                    || c.need_date.is_some()
            })
    }
}

fn line_update_input(line: &IonPurchaseOrderLine, c: &LineChanges) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), line.id.into());
    m.insert("etag".into(), line.etag.clone().into());
    put(&mut m, "partId", c.part_id);
    put(&mut m, "quantity", c.quantity);
    put(&mut m, "cost", c.cost);
    put(&mut m, "description", c.description.clone());
    put(&mut m, "needDate", c.need_date.clone());
    if let Some(d) = &c.estimated_arrival_date {
        m.insert("estimatedArrivalDate".into(), d.clone().into());
    }
    if c.cancel {
        m.insert("status".into(), json!(PoStatus::Canceled));
    }
    if !c.attributes.is_empty() {
        m.insert(
            "attributes".into(),
            nested_attributes(&c.attributes, &line.attributes, &line.etag),
        );
    }
    Value::Object(m)
}

/// The payload of a line create/update: the line and its PO's fresh etag and status.
#[derive(Deserialize)]
struct LinePayload {
    #[serde(rename = "purchaseOrderLine")]
    line: Option<LineWithPo>,
}

#[derive(Deserialize)]
struct LineWithPo {
    #[serde(flatten)]
    line: IonPurchaseOrderLine,
    #[serde(rename = "purchaseOrder")]
    purchase_order: Option<PoStamp>,
}

#[derive(Deserialize)]
struct PoStamp {
    #[serde(rename = "_etag", deserialize_with = "nullable_string")]
    etag: String,
    #[serde(rename = "_updated", default)]
    updated: Option<String>,
    status: Option<PoStatus>,
}

impl Client {
    /// Creates lines on a DRAFT PO, `MAX_BATCH` aliased mutations per request, and adds them to
    /// `po` (whose etag is refreshed from the answer).
    ///
    /// Aliased mutations are not a transaction: if one alias fails (a rule, a bad attribute), the
    /// others in the request may have been created and the call still returns the error. The
    /// caller then re-reads the PO ([`Client::purchase_order`]) and matches lines by `ns_line_id`
    /// before creating again.
    pub async fn create_lines(
        &self,
        po: &mut IonPurchaseOrder,
        lines: &[NewLine],
    ) -> Result<(), Error> {
        for chunk in lines.chunks(MAX_BATCH) {
            let vars = Indexed(chunk.iter().map(|l| new_line_input(po.id, l)).collect());
            let data: Map<String, Value> = self
                .run(
                    "CreatePurchaseOrderLines",
                    &documents::create_lines(chunk.len()),
                    vars,
                    Replay::OnlyIfNotApplied,
                )
                .await?;
            self.absorb_lines(po, data, chunk.len())?;
        }
        Ok(())
    }

    fn absorb_lines(
        &self,
        po: &mut IonPurchaseOrder,
        mut data: Map<String, Value>,
        n: usize,
    ) -> Result<(), Error> {
        let mut lines = Vec::with_capacity(n);
        for k in 0..n {
            let alias = documents::alias(k);
            let payload: LinePayload =
                serde_json::from_value(data.remove(&alias).unwrap_or(Value::Null))
                    .map_err(|e| Error::Decode(format!("{alias}: {e}")))?;
            let item = payload
                .line
                .ok_or_else(|| Error::Decode(format!("{alias}: no purchaseOrderLine")))?;
            if let Some(stamp) = item.purchase_order {
                po.etag = stamp.etag;
                po.updated = stamp.updated;
                po.status = stamp.status;
            }
            lines.push(item.line);
        }
        po.absorb(lines);
        Ok(())
    }

    /// Updates lines in aliased batches (field edits need a DRAFT PO; see [`Client::revise_lines`]).
    /// On an etag conflict: one re-read of the PO, one retry of the whole batch with fresh etags
    /// (re-applying an update that already went through is harmless).
    pub async fn update_lines(
        &self,
        po: &mut IonPurchaseOrder,
        changes: &[LineChanges],
    ) -> Result<(), Error> {
        match self.try_update_lines(po, changes).await {
            Err(e) if e.is_conflict() => {
                tracing::info!(
                    po = po.id,
                    "etag conflict updating ION lines; re-reading once"
                );
                *po = self.fresh(po.id).await?;
                self.try_update_lines(po, changes).await
            }
            other => other,
        }
    }

    async fn try_update_lines(
        &self,
        po: &mut IonPurchaseOrder,
        changes: &[LineChanges],
    ) -> Result<(), Error> {
        for chunk in changes.chunks(MAX_BATCH) {
            let mut vars = Map::new();
            for (k, c) in chunk.iter().enumerate() {
                let line = po.line(c.id).ok_or_else(|| {
                    Error::Data(format!("line {} is not on ION PO {}", c.id, po.id))
                })?;
                vars.insert(format!("i{k}"), line_update_input(line, c));
            }
            let data: Map<String, Value> = self
                .run(
                    "UpdatePurchaseOrderLines",
                    &documents::update_lines(chunk.len()),
                    Value::Object(vars),
                    Replay::Safe,
                )
                .await?;
            self.absorb_lines(po, data, chunk.len())?;
        }
        Ok(())
    }

    /// Cancels lines (status CANCELED, allowed whatever the PO status).
    pub async fn cancel_lines(
        &self,
        po: &mut IonPurchaseOrder,
        line_ids: &[i64],
    ) -> Result<(), Error> {
        let changes: Vec<LineChanges> = line_ids
            .iter()
            .map(|&id| LineChanges {
                id,
                cancel: true,
                ..Default::default()
            })
            .collect();
        self.update_lines(po, &changes).await
    }

    /// "Move an ORDERED PO to DRAFT, edit its lines, move it back": the July-2025 way to change
    /// lines of an ordered PO. Safe to retry as a whole: every step starts from `po` as ION last
    /// answered, and if a step fails the PO is left DRAFT, which the sync's next plan sees (ION
    /// DRAFT vs NetSuite ordered) and corrects by running this again.
    pub async fn revise_lines(
        &self,
        po: &mut IonPurchaseOrder,
        edits: &LineEdits,
    ) -> Result<(), Error> {
        let original = po.status;
        let reopen = edits.need_draft() && original != Some(PoStatus::Draft);
        if reopen {
            self.set_status(po, PoStatus::Draft).await?;
        }
        if !edits.delete.is_empty() {
            self.delete_lines(po, &edits.delete).await?;
        }
        if !edits.update.is_empty() {
            self.update_lines(po, &edits.update).await?;
        }
        if !edits.create.is_empty() {
            self.create_lines(po, &edits.create).await?;
        }
        if let (true, Some(status)) = (reopen, original) {
            self.set_status(po, status).await?;
        }
        Ok(())
    }
}
