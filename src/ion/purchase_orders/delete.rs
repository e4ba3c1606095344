//! Deleting lines (DRAFT POs only) and whole POs; a delete answers only the id, so the PO is
//! re-read after line deletes.

use serde_json::{Map, Value, json};

use super::MAX_BATCH;
use super::read::IonPurchaseOrder;
use crate::ion::transport::Replay;
use crate::ion::{Client, Error, documents};

impl Client {
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
