//! Purchase orders and their lines: lookup by NetSuite id, create with lines in few round trips,
//! header/status/attribute updates, line edits under the July-2025 rules, deletes.
//!
//! Round trips: creating a PO with N lines costs one `createPurchaseOrder` (attributes included),
//! plus ⌈N/50⌉ aliased `createPurchaseOrderLine` batches, plus one status change if it is to leave
//! DRAFT (lines can only be added while DRAFT). Every write returns the row's fresh `_etag`, and line writes also
//! return their PO's, so a sequence of writes needs no re-reads unless a conflict says so.
//!
//! Layout: [`read`] holds the PO and line as ION answers them and reading them; [`create`],
//! [`update`] (header, status), [`lines`] (create, update, cancel, revise) and [`delete`] (lines
//! and POs) each add their `impl Client` block next to their inputs. The aliased-batch plumbing
//! they share is here.

mod create;
mod delete;
mod lines;
mod read;
mod update;

use std::collections::HashMap;

use serde::Serialize;

use super::transport::Replay;
use super::{Client, Error, documents};

pub use create::{NewLine, NewPurchaseOrder};
pub use lines::{LineChanges, LineEdits};
pub(crate) use read::ns_line_id;
pub use read::{
    CreatedLine, CreatedPurchaseOrder, IonPurchaseOrder, IonPurchaseOrderLine, PoStatus, date_of,
    date_time,
};
pub use update::PurchaseOrderChanges;

/// Aliased mutations per request: large enough that 20 lines are one request, small enough that
/// one request stays far from ION's ~30 s gateway timeout.
pub const MAX_BATCH: usize = 50;

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
}
