//! Parts: batch lookup by part number and the choice of revision. The sync never creates parts
//! (First Resonance's integration does not either): a missing part is a warning on the PO.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, json};

use super::{Client, Error, collect_chunks, documents, nullable_string};

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Part {
    pub id: i64,
    #[serde(rename = "_etag", deserialize_with = "nullable_string")]
    pub etag: String,
    pub part_number: String,
    pub revision: String,
    pub is_latest_revision: Option<bool>,
}

/// Picks the revision of `part_number` among `parts`: the given `revision` if any, else the one
/// ION marks `isLatestRevision`, else (flag missing) the highest id, i.e. the newest row.
pub fn pick_revision<'a>(
    parts: &'a [Part],
    part_number: &str,
    revision: Option<&str>,
) -> Option<&'a Part> {
    let mut candidates = parts.iter().filter(|p| p.part_number == part_number);
    match revision {
        Some(rev) => candidates.find(|p| p.revision == rev),
        None => {
            let all: Vec<&Part> = candidates.collect();
            all.iter()
                .copied()
                .find(|p| p.is_latest_revision == Some(true))
                .or_else(|| all.iter().copied().max_by_key(|p| p.id))
        }
    }
}

impl Client {
    /// Every revision of every part whose number is in `part_numbers` (`in` filter, chunked).
    pub async fn parts_by_number(&self, part_numbers: &[String]) -> Result<Vec<Part>, Error> {
        collect_chunks(
            self,
            "PartsByNumber",
            documents::PARTS_BY_NUMBER,
            "parts",
            part_numbers,
            |chunk| {
                let mut vars = Map::new();
                vars.insert("partNumbers".into(), json!(chunk));
                vars
            },
        )
        .await
    }

    /// The latest revision of each part number found (missing numbers are absent from the map).
    pub async fn latest_parts_by_number(
        &self,
        part_numbers: &[String],
    ) -> Result<HashMap<String, Part>, Error> {
        let parts = self.parts_by_number(part_numbers).await?;
        Ok(part_numbers
            .iter()
            .filter_map(|n| pick_revision(&parts, n, None).map(|p| (n.clone(), p.clone())))
            .collect())
    }
}
