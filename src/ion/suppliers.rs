//! Suppliers: batch lookup by name and creation (NetSuite vendors become ION suppliers once; the
//! link table remembers the pairing, so names are only looked up for vendors not yet linked).

use serde::Deserialize;
use serde_json::{Map, json};

use super::purchase_orders::MAX_BATCH;
use super::transport::Replay;
use super::{Client, Error, collect_chunks, documents, nullable_string};

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Supplier {
    pub id: i64,
    #[serde(rename = "_etag", deserialize_with = "nullable_string")]
    pub etag: String,
    pub name: String,
}

impl Client {
    /// Suppliers whose name is exactly one of `names` (`in` filter, chunked). Several suppliers
    /// may share a name; all are returned.
    pub async fn suppliers_by_name(&self, names: &[String]) -> Result<Vec<Supplier>, Error> {
        collect_chunks(
            self,
            "SuppliersByName",
            documents::SUPPLIERS_BY_NAME,
            "suppliers",
            names,
            |chunk| {
                let mut vars = Map::new();
                vars.insert("names".into(), json!(chunk));
                vars
            },
        )
        .await
    }

    /// Creates a supplier. Not retried after an ambiguous failure (it would duplicate): the
    /// caller looks the name up again first.
    pub async fn create_supplier(&self, name: &str) -> Result<Supplier, Error> {
        #[derive(Deserialize)]
        struct Data {
            #[serde(rename = "createSupplier")]
            create: Option<Payload>,
        }
        #[derive(Deserialize)]
        struct Payload {
            supplier: Option<Supplier>,
        }
        let data: Data = self
            .run(
                "CreateSupplier",
                documents::CREATE_SUPPLIER,
                json!({"input": {"name": name}}),
                Replay::OnlyIfNotApplied,
            )
            .await?;
        data.create
            .and_then(|p| p.supplier)
            .ok_or_else(|| Error::Decode("createSupplier returned no supplier".into()))
    }

    /// Creates one supplier per name, up to [`MAX_BATCH`] in one aliased request: a first sync
    /// meets many new vendors at once, and one round trip each held up every PO behind them.
    /// On an error none is reported, though some (an earlier request's) may exist: like
    /// [`Self::create_supplier`], not retried after an ambiguous failure, and the caller looks
    /// the names up again before creating any of them one by one.
    pub async fn create_suppliers(&self, names: &[String]) -> Result<Vec<Supplier>, Error> {
        let mut out = Vec::with_capacity(names.len());
        for chunk in names.chunks(MAX_BATCH) {
            let created: Vec<Supplier> = self
                .run_batch(
                    "CreateSuppliers",
                    &documents::create_suppliers(chunk.len()),
                    chunk.iter().map(|n| json!({"name": n})).collect(),
                    Replay::OnlyIfNotApplied,
                    "supplier",
                )
                .await?;
            out.extend(created);
        }
        Ok(out)
    }
}
