//! Creating POs with their lines in few round trips: the create inputs, serialised straight
//! from the caller's data, and the one-PO and batched creates.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::read::{CreatedLine, CreatedPurchaseOrder, IonPurchaseOrder, PoStatus, ns_line_id};
use super::{Answers, MAX_BATCH, take};
use crate::ion::attributes::{Attribute, AttributeValue};
use crate::ion::transport::Replay;
use crate::ion::{Client, Error, documents, nullable_list, nullable_string};

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
pub(super) struct NewLineInput<'a> {
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

pub(super) fn new_line_input(po_id: i64, line: &NewLine) -> NewLineInput<'_> {
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

impl Client {
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
}
