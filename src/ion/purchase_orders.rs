//! Purchase orders and their lines: lookup by NetSuite id, create with lines in few round trips,
//! header/status/attribute updates, line edits under the July-2025 rules, deletes.
//!
//! Round trips: creating a PO with N lines costs one `createPurchaseOrder` (attributes included),
//! plus ⌈N/50⌉ aliased `createPurchaseOrderLine` batches, plus one status change if it is to leave
//! DRAFT (lines can only be added while DRAFT). Every write returns the row's fresh `_etag`, and line writes also
//! return their PO's, so a sequence of writes needs no re-reads unless a conflict says so.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::attributes::{Attribute, AttributeValue, NETSUITE_RECORD_ID, NS_LINE_ID};
use super::transport::Replay;
use super::{Client, Error, collect_chunks, documents, nullable_list, nullable_string};

/// Aliased mutations per request: large enough that 20 lines are one request, small enough that
/// one request stays far from ION's ~30 s gateway timeout.
pub const MAX_BATCH: usize = 50;

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

fn attribute<'a>(attributes: &'a [Attribute], key: &str) -> Option<&'a Attribute> {
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
    fn absorb(&mut self, lines: Vec<IonPurchaseOrderLine>) {
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

/// A PO to create. Lines are created after the header, in one aliased batch.
#[derive(Debug, Clone, Default)]
pub struct NewPurchaseOrder {
    pub supplier_id: Option<i64>,
    pub currency_id: Option<i64>,
    pub description: Option<String>,
    /// `orderedAt`, an ISO-8601 `DateTime` (see [`date_time`]).
    pub ordered_at: Option<String>,
    /// Where the PO should end up; it is created DRAFT (lines need DRAFT) and moved afterwards.
    pub status: Option<PoStatus>,
    pub attributes: Vec<AttributeValue>,
    pub lines: Vec<NewLine>,
}

#[derive(Debug, Clone, Default)]
pub struct NewLine {
    pub part_id: Option<i64>,
    pub quantity: f64,
    pub cost: Option<f64>,
    pub description: Option<String>,
    pub position: Option<i64>,
    pub need_date: Option<String>,
    pub estimated_arrival_date: Option<String>,
    pub attributes: Vec<AttributeValue>,
}

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

fn put(map: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(v) = value {
        map.insert(key.into(), v.into());
    }
}

/// Nested attribute input for updates: each needs an etag; an existing value's own `Etag`, or
/// for a first-time value the parent's `_etag` (unverified guess, reference §5.2).
fn nested_attributes(attrs: &[AttributeValue], current: &[Attribute], parent_etag: &str) -> Value {
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

/// `CreatePurchaseOrderInput`, serialised straight from the caller's data (creates are the bulk
/// of a first sync; no JSON tree is built for them). Absent fields are left out, not null.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewPoInput<'a> {
    status: PoStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    supplier_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ordered_at: Option<&'a str>,
    #[serde(skip_serializing_if = "<[AttributeValue]>::is_empty")]
    attributes: &'a [AttributeValue],
}

/// `CreatePurchaseOrderLineInput`, like [`NewPoInput`].
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewLineInput<'a> {
    purchase_order_id: i64,
    quantity: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    part_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cost: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    need_date: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    estimated_arrival_date: Option<&'a str>,
    #[serde(skip_serializing_if = "<[AttributeValue]>::is_empty")]
    attributes: &'a [AttributeValue],
}

/// A PO's create input: always DRAFT (lines can only be added then; the caller moves it on).
fn new_po_input(new: &NewPurchaseOrder) -> NewPoInput<'_> {
    NewPoInput {
        status: PoStatus::Draft,
        supplier_id: new.supplier_id,
        currency_id: new.currency_id,
        description: new.description.as_deref(),
        ordered_at: new.ordered_at.as_deref(),
        attributes: &new.attributes,
    }
}

fn new_line_input(po_id: i64, line: &NewLine) -> NewLineInput<'_> {
    NewLineInput {
        purchase_order_id: po_id,
        quantity: line.quantity,
        part_id: line.part_id,
        cost: line.cost,
        description: line.description.as_deref(),
        position: line.position,
        need_date: line.need_date.as_deref(),
        estimated_arrival_date: line.estimated_arrival_date.as_deref(),
        attributes: &line.attributes,
    }
}

/// Variables `$i0`, `$i1`, … of an aliased batch, serialised as a map without building one.
struct Indexed<T>(Vec<T>);

impl<T: Serialize> Serialize for Indexed<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0.iter().enumerate() {
            map.serialize_entry(&format_args!("i{k}"), v)?;
        }
        map.end()
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

/// A PO write's answer in [`Client::create_purchase_orders`]: id and stamp only.
#[derive(Deserialize)]
struct IdStamp {
    id: i64,
    #[serde(rename = "_etag", deserialize_with = "nullable_string")]
    etag: String,
    status: Option<PoStatus>,
}

/// A line created on a new PO: id, attributes as stored, its PO's stamp.
#[derive(Deserialize)]
struct NewLineStamp {
    id: i64,
    #[serde(default, deserialize_with = "nullable_list")]
    attributes: Vec<Attribute>,
    #[serde(rename = "purchaseOrder")]
    purchase_order: Option<IdStamp>,
}

/// A mutation answer by response key (`createPurchaseOrder`, or aliases `p0`, `p1`, … in a
/// batch): the payload object, whose one selected field holds a `T`. Typed all the way down, so
/// a batched answer is read without building (and dropping) a JSON tree.
type Answers<T> = HashMap<String, Option<HashMap<String, Option<T>>>>;

/// Takes `field.inner` out of an answer; a missing or null one is a decode error naming it.
fn take<T>(data: &mut Answers<T>, field: &str, inner: &str) -> Result<T, Error> {
    let payload = data
        .remove(field)
        .ok_or_else(|| Error::Decode(format!("no `{field}` in answer")))?;
    payload
        .and_then(|mut p| p.remove(inner))
        .flatten()
        .ok_or_else(|| Error::Decode(format!("`{field}.{inner}` is null")))
}

impl Client {
    /// Sends one aliased batch (`document` holds `inputs.len()` mutations taking `$i0`, `$i1`…)
    /// and reads `inner` of each alias's payload, in input order.
    pub(super) async fn run_batch<I: Serialize, T: serde::de::DeserializeOwned>(
        &self,
        operation: &str,
        document: &str,
        inputs: Vec<I>,
        replay: Replay,
        inner: &str,
    ) -> Result<Vec<T>, Error> {
        let n = inputs.len();
        let mut data: Answers<T> = self
            .run(operation, document, Indexed(inputs), replay)
            .await?;
        (0..n)
            .map(|k| take(&mut data, &documents::alias(k), inner))
            .collect()
    }

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

    async fn fresh(&self, id: i64) -> Result<IonPurchaseOrder, Error> {
        self.purchase_order(id)
            .await?
            .ok_or_else(|| Error::Data(format!("ION purchase order {id} no longer exists")))
    }

    /// Creates the PO (DRAFT, attributes set at create time), its lines in aliased batches, then
    /// moves it to `new.status` if that is not DRAFT.
    ///
    /// Not atomic: if a later step fails, the PO exists (findable by its `Netsuite RecordID`)
    /// with some lines; the sync recognises lines by `ns_line_id` and completes it next cycle.
    pub async fn create_purchase_order(
        &self,
        new: &NewPurchaseOrder,
    ) -> Result<IonPurchaseOrder, Error> {
        let input = new_po_input(new);
        let mut data: Answers<IonPurchaseOrder> = self
            .run(
                "CreatePurchaseOrder",
                documents::CREATE_PURCHASE_ORDER,
                json!({"input": input}),
                Replay::OnlyIfNotApplied,
            )
            .await?;
        let mut po: IonPurchaseOrder = take(&mut data, "createPurchaseOrder", "purchaseOrder")?;
        if !new.lines.is_empty() {
            self.create_lines(&mut po, &new.lines).await?;
        }
        match new.status {
            Some(status) if Some(status) != po.status => self.set_status(&mut po, status).await?,
            _ => {}
        }
        Ok(po)
    }

    /// Creates several POs the way [`Client::create_purchase_order`] creates one, but batched
    /// across them: headers in aliased batches, then all their lines in aliased batches of
    /// `MAX_BATCH` (lines of several POs share a request), then every status change in one
    /// aliased batch. Ten POs of ten lines cost four round trips instead of thirty.
    ///
    /// Not atomic: on an error some POs (and lines) may exist. Each is findable by its
    /// `Netsuite RecordID`, so the caller re-reads and completes them one by one.
    pub async fn create_purchase_orders(
        &self,
        news: &[NewPurchaseOrder],
    ) -> Result<Vec<CreatedPurchaseOrder>, Error> {
        let mut pos: Vec<CreatedPurchaseOrder> = Vec::with_capacity(news.len());
        for chunk in news.chunks(MAX_BATCH) {
            let stamps: Vec<IdStamp> = self
                .run_batch(
                    "CreatePurchaseOrders",
                    &documents::create_purchase_orders(chunk.len()),
                    chunk.iter().map(new_po_input).collect(),
                    Replay::OnlyIfNotApplied,
                    "purchaseOrder",
                )
                .await?;
            pos.extend(stamps.into_iter().map(|stamp| CreatedPurchaseOrder {
                id: stamp.id,
                etag: stamp.etag,
                status: stamp.status,
                lines: Vec::new(),
            }));
        }
        let lines: Vec<(usize, &NewLine)> = news
            .iter()
            .enumerate()
            .flat_map(|(i, n)| n.lines.iter().map(move |l| (i, l)))
            .collect();
        for chunk in lines.chunks(MAX_BATCH) {
            let stamps: Vec<NewLineStamp> = self
                .run_batch(
                    "CreateNewPurchaseOrderLines",
                    &documents::create_new_lines(chunk.len()),
                    chunk
                        .iter()
                        .map(|(i, line)| new_line_input(pos[*i].id, line))
                        .collect(),
                    Replay::OnlyIfNotApplied,
                    "purchaseOrderLine",
                )
                .await?;
            for ((i, _), line) in chunk.iter().zip(stamps) {
                let po = &mut pos[*i];
                if let Some(stamp) = line.purchase_order {
                    po.etag = stamp.etag;
                    po.status = stamp.status;
                }
                po.lines.push(CreatedLine {
                    id: line.id,
                    ns_line_id: ns_line_id(&line.attributes),
                });
            }
        }
        let moves: Vec<(usize, PoStatus)> = news
            .iter()
            .enumerate()
            .filter_map(|(i, n)| {
                n.status
                    .filter(|s| Some(*s) != pos[i].status)
                    .map(|s| (i, s))
            })
            .collect();
        for chunk in moves.chunks(MAX_BATCH) {
            let stamps: Vec<IdStamp> = self
                .run_batch(
                    "UpdatePurchaseOrders",
                    &documents::update_purchase_orders(chunk.len()),
                    chunk
                        .iter()
                        .map(|(i, status)| {
                            json!({"id": pos[*i].id, "etag": pos[*i].etag, "status": status})
                        })
                        .collect(),
                    Replay::Safe,
                    "purchaseOrder",
                )
                .await?;
            for ((i, _), stamp) in chunk.iter().zip(stamps) {
                pos[*i].etag = stamp.etag;
                pos[*i].status = stamp.status;
            }
        }
        Ok(pos)
    }

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

    /// Deletes lines (PO must be DRAFT; ION refuses lines with received items), then re-reads
    /// the PO: a delete answers only the id, and the PO's etag has moved.
    pub async fn delete_lines(
        &self,
        po: &mut IonPurchaseOrder,
        line_ids: &[i64],
    ) -> Result<(), Error> {
        let first = self.try_delete_lines(po, line_ids).await;
        if let Err(e) = &first
            && e.is_conflict()
        {
            tracing::info!(
                po = po.id,
                "etag conflict deleting ION lines; re-reading once"
            );
            *po = self.fresh(po.id).await?;
            let remaining: Vec<i64> = line_ids
                .iter()
                .copied()
                .filter(|id| po.line(*id).is_some())
                .collect();
            self.try_delete_lines(po, &remaining).await?;
        } else {
            first?;
        }
        *po = self.fresh(po.id).await?;
        Ok(())
    }

    async fn try_delete_lines(&self, po: &IonPurchaseOrder, line_ids: &[i64]) -> Result<(), Error> {
        for chunk in line_ids.chunks(MAX_BATCH) {
            let mut vars = Map::new();
            for (k, id) in chunk.iter().enumerate() {
                let line = po
                    .line(*id)
                    .ok_or_else(|| Error::Data(format!("line {id} is not on ION PO {}", po.id)))?;
                vars.insert(format!("id{k}"), line.id.into());
                vars.insert(format!("etag{k}"), line.etag.clone().into());
            }
            let _: Map<String, Value> = self
                .run(
                    "DeletePurchaseOrderLines",
                    &documents::delete_lines(chunk.len()),
                    Value::Object(vars),
                    Replay::Safe,
                )
                .await?;
        }
        Ok(())
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

    /// Deletes the PO (ION refuses if anything was received). Already gone counts as done.
    pub async fn delete_purchase_order(&self, po: &IonPurchaseOrder) -> Result<(), Error> {
        match self.try_delete_po(po.id, &po.etag).await {
            Err(e) if e.is_conflict() => match self.purchase_order(po.id).await? {
                None => Ok(()),
                Some(fresh) => self.try_delete_po(fresh.id, &fresh.etag).await,
            },
            other => other,
        }
    }

    async fn try_delete_po(&self, id: i64, etag: &str) -> Result<(), Error> {
        let _: Map<String, Value> = self
            .run(
                "DeletePurchaseOrder",
                documents::DELETE_PURCHASE_ORDER,
                json!({"id": id, "etag": etag}),
                Replay::Safe,
            )
            .await?;
        Ok(())
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
