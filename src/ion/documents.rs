//! Every GraphQL document the client sends, as named constants (fixed operations) or small
//! generators (aliased batches). Nothing else in the client writes GraphQL text, so the
//! validation test over [`all`] covers everything that can go over the wire.
//!
//! Fragments are spliced in with `concat!` (macros, because `concat!` only takes literals): one
//! definition of "what we read of a purchase order" keeps every read consistent.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

/// What the sync reads of a purchase-order line (etag for writes, calculated status, quantities,
/// and the attributes holding `ns_line_id` / `Non-receivable`).
macro_rules! line_fields {
    () => {
        "fragment PurchaseOrderLineFields on PurchaseOrderLine {
  id _etag _updated purchaseOrderId status partId quantity cost receivedQuantity position description
  needDate estimatedArrivalDate
  attributes { key value type Etag }
}
"
    };
}

/// What the sync reads of a purchase order, lines included (nested lists take no paging, §2.2).
macro_rules! po_fields {
    () => {
        concat!(
            "fragment PurchaseOrderFields on PurchaseOrder {
  id _etag _updated status supplierId description orderedAt
  attributes { key value type Etag }
  purchaseOrderLines { ...PurchaseOrderLineFields }
}
",
            line_fields!()
        )
    };
}

/// Connectivity check (`doctor`): cheap, needs no attribute setup.
pub const ME: &str = "query Me { me { id name email organizationId organization { id name } } }";

/// Org custom-attribute definitions for the entities the sync touches; `_etag` and `id` of the
/// organisation are what the definition mutations need.
pub const ATTRIBUTE_DEFINITIONS: &str = "query AttributeDefinitions {
  me {
    organization {
      id
      _etag
      settings {
        purchaseOrders { attributes { key type options allowedIonType } }
        purchaseOrderLines { attributes { key type options allowedIonType } }
        receipts { attributes { key type options allowedIonType } }
        suppliers { attributes { key type options allowedIonType } }
      }
    }
  }
}";

/// Upserts one PO attribute definition (`input.id`/`etag` are the organisation's).
pub const DEFINE_PURCHASE_ORDER_ATTRIBUTE: &str =
    "mutation DefinePurchaseOrderAttribute($input: UpdateAttributeSettingsInput!) {
  updateOrganizationPurchaseOrderAttributes(input: $input) { organization { id _etag } }
}";

/// Upserts one PO-line attribute definition.
pub const DEFINE_PURCHASE_ORDER_LINE_ATTRIBUTE: &str =
    "mutation DefinePurchaseOrderLineAttribute($input: UpdateAttributeSettingsInput!) {
  updateOrganizationPurchaseOrderLineAttributes(input: $input) { organization { id _etag } }
}";

/// POs whose attribute `$key` has one of `$values` (batch `in`), oldest id first so paging is stable.
pub const PURCHASE_ORDERS_BY_ATTRIBUTE: &str = concat!(
    "query PurchaseOrdersByAttribute($key: String!, $values: [ScalarValue]!, $first: Int!, $after: String) {
  purchaseOrders(
    filters: { attributes: { key: { eq: $key }, value: { in: $values } } }
    sort: [ID_ASC]
    first: $first
    after: $after
  ) {
    pageInfo { hasNextPage endCursor }
    edges { node { ...PurchaseOrderFields } }
  }
}
",
    po_fields!()
);

pub const PURCHASE_ORDER_BY_ID: &str = concat!(
    "query PurchaseOrderById($id: ID!) { purchaseOrder(id: $id) { ...PurchaseOrderFields } }\n",
    po_fields!()
);

/// Creates the header with its attributes in one call (values set at create time need no etag).
pub const CREATE_PURCHASE_ORDER: &str = concat!(
    "mutation CreatePurchaseOrder($input: CreatePurchaseOrderInput!) {
  createPurchaseOrder(input: $input) { purchaseOrder { ...PurchaseOrderFields } }
}
",
    po_fields!()
);

/// Header, status and attribute changes; returns the whole PO so the caller has fresh etags.
pub const UPDATE_PURCHASE_ORDER: &str = concat!(
    "mutation UpdatePurchaseOrder($input: UpdatePurchaseOrderInput!) {
  updatePurchaseOrder(input: $input) { purchaseOrder { ...PurchaseOrderFields } }
}
",
    po_fields!()
);

pub const DELETE_PURCHASE_ORDER: &str = "mutation DeletePurchaseOrder($id: ID!, $etag: String!) {
  deletePurchaseOrder(id: $id, etag: $etag) { id }
}";

pub const SUPPLIERS_BY_NAME: &str =
    "query SuppliersByName($names: [String]!, $first: Int!, $after: String) {
  suppliers(filters: { name: { in: $names } }, sort: [ID_ASC], first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { id _etag name } }
  }
}";

pub const CREATE_SUPPLIER: &str = "mutation CreateSupplier($input: CreateSupplierInput!) {
  createSupplier(input: $input) { supplier { id _etag name } }
}";

pub const PARTS_BY_NUMBER: &str = "query PartsByNumber($partNumbers: [String]!, $first: Int!, $after: String) {
  parts(filters: { partNumber: { in: $partNumbers } }, sort: [ID_ASC], first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { id _etag partNumber revision isLatestRevision } }
  }
}";

/// The receipt-item selection both receipt queries share (one place to change a field).
macro_rules! receipt_item_node {
    () => {
        "      node {
        id
        _etag
        _updated
        quantity
        receiptId
        receipt { id receivedAt _updated }
        purchaseOrderLineId
        purchaseOrderLine { id purchaseOrderId partId attributes { key value type Etag } }
        partInventoryId
        partInventory { id lotNumber serialNumber locationId }
      }
"
    };
}

/// Keyset page of receipt items strictly after the cursor `(_updated, id)`: the `or_` expresses
/// "(updated > since) or (updated = since and id > afterId)", so with `sort: [_UPDATED_ASC, ID_ASC]`
/// each item is returned exactly once however many share one `_updated`, with no overlap to
/// de-duplicate and no reliance on opaque `after` cursors surviving between polls.
pub const RECEIPT_ITEMS_CHANGED_SINCE: &str = concat!(
    "query ReceiptItemsChangedSince($since: DateTime!, $afterId: ID!, $first: Int!) {
  receiptItems(
    filters: {
      purchaseOrderLineId: { isnull: false }
      or_: [{ _updated: { gt: $since } }, { _updated: { eq: $since }, id: { gt: $afterId } }]
    }
    sort: [_UPDATED_ASC, ID_ASC]
    first: $first
  ) {
    pageInfo { hasNextPage endCursor }
    edges {
",
    receipt_item_node!(),
    "    }
  }
}"
);

/// Every PO-line item of the given receipts, by id: the receipt plan needs a receipt's complete
/// item set (an item missing from it was deleted after mirroring), and a deletion leaves nothing
/// behind for [`RECEIPT_ITEMS_CHANGED_SINCE`] to find.
pub const RECEIPT_ITEMS_OF_RECEIPTS: &str = concat!(
    "query ReceiptItemsOfReceipts($receiptIds: [ID]!, $first: Int!, $after: String) {
  receiptItems(
    filters: { receiptId: { in: $receiptIds }, purchaseOrderLineId: { isnull: false } }
    sort: [ID_ASC]
    first: $first
    after: $after
  ) {
    pageInfo { hasNextPage endCursor }
    edges {
",
    receipt_item_node!(),
    "    }
  }
}"
);

/// Selection of a created or updated line: the line plus its PO's fresh `_etag`, because line
/// writes bump the PO's etag (assumed, §10) and the next PO write must not need a re-read.
const LINE_PAYLOAD: &str =
    "purchaseOrderLine { ...PurchaseOrderLineFields purchaseOrder { id _etag _updated status } }";

/// `n` aliased `createPurchaseOrderLine` mutations (`l0`…); variables `$i0`….
pub fn create_lines(n: usize) -> Arc<str> {
    batch(
        "CreatePurchaseOrderLines",
        "createPurchaseOrderLine",
        &[("input", "i", "CreatePurchaseOrderLineInput!")],
        LINE_PAYLOAD,
        n,
        line_fields!(),
    )
}

/// `n` aliased `updatePurchaseOrderLine` mutations (field edits and cancellation).
pub fn update_lines(n: usize) -> Arc<str> {
    batch(
        "UpdatePurchaseOrderLines",
        "updatePurchaseOrderLine",
        &[("input", "i", "UpdatePurchaseOrderLineInput!")],
        LINE_PAYLOAD,
        n,
        line_fields!(),
    )
}

/// What creating new POs together needs back of each write: the PO's id and the stamp the next
/// write of it must carry. Not the whole PO: the sync just wrote everything else, and a group of
/// 25 POs with 10 lines each would otherwise come back three times over.
const PO_STAMP: &str = "purchaseOrder { id _etag status }";

/// A line created on a new PO: its id, its attributes as ION stored them (`ns_line_id` is read
/// back, not assumed), and its PO's fresh stamp.
const NEW_LINE_STAMP: &str =
    "purchaseOrderLine { id attributes { key value } purchaseOrder { id _etag status } }";

/// `n` aliased `createPurchaseOrder` mutations (several new POs in one request); `$i0`….
pub fn create_purchase_orders(n: usize) -> Arc<str> {
    batch(
        "CreatePurchaseOrders",
        "createPurchaseOrder",
        &[("input", "i", "CreatePurchaseOrderInput!")],
        PO_STAMP,
        n,
        "",
    )
}

/// `n` aliased `createPurchaseOrderLine` mutations on new POs, answering [`NEW_LINE_STAMP`].
pub fn create_new_lines(n: usize) -> Arc<str> {
    batch(
        "CreateNewPurchaseOrderLines",
        "createPurchaseOrderLine",
        &[("input", "i", "CreatePurchaseOrderLineInput!")],
        NEW_LINE_STAMP,
        n,
        "",
    )
}

/// `n` aliased `updatePurchaseOrder` mutations moving new POs out of DRAFT.
pub fn update_purchase_orders(n: usize) -> Arc<str> {
    batch(
        "UpdatePurchaseOrders",
        "updatePurchaseOrder",
        &[("input", "i", "UpdatePurchaseOrderInput!")],
        PO_STAMP,
        n,
        "",
    )
}

/// `n` aliased `deletePurchaseOrderLine` mutations; variables `$id0, $etag0`….
pub fn delete_lines(n: usize) -> Arc<str> {
    batch(
        "DeletePurchaseOrderLines",
        "deletePurchaseOrderLine",
        &[("id", "id", "ID!"), ("etag", "etag", "String!")],
        "id",
        n,
        "",
    )
}

/// `n` aliased `createSupplier` mutations (a chunk's missing suppliers in one request).
pub fn create_suppliers(n: usize) -> Arc<str> {
    batch(
        "CreateSuppliers",
        "createSupplier",
        &[("input", "i", "CreateSupplierInput!")],
        "supplier { id _etag name }",
        n,
        "",
    )
}

/// Alias of the `k`-th mutation in a batch document.
pub fn alias(k: usize) -> String {
    format!("l{k}")
}

/// Batch documents already written, by operation and size: a sync sends the same few
/// thousands of times, and writing one (a `format!` per alias) was a visible share of the
/// client's CPU.
static BATCHES: LazyLock<Mutex<Batches>> = LazyLock::new(Mutex::default);

/// Operation name and alias count → the document.
type Batches = HashMap<(&'static str, usize), Arc<str>>;

fn batch(
    operation: &'static str,
    field: &str,
    args: &[(&str, &str, &str)],
    selection: &str,
    n: usize,
    fragments: &str,
) -> Arc<str> {
    let mut cache = BATCHES.lock().unwrap_or_else(PoisonError::into_inner);
    Arc::clone(
        cache
            .entry((operation, n))
            .or_insert_with(|| write_batch(operation, field, args, selection, n, fragments).into()),
    )
}

fn write_batch(
    operation: &str,
    field: &str,
    args: &[(&str, &str, &str)],
    selection: &str,
    n: usize,
    fragments: &str,
) -> String {
    let mut vars = Vec::new();
    let mut body = String::new();
    for k in 0..n {
        let mut call_args = Vec::new();
        for (arg, var, ty) in args {
            vars.push(format!("${var}{k}: {ty}"));
            call_args.push(format!("{arg}: ${var}{k}"));
        }
        body.push_str(&format!(
            "  {}: {field}({}) {{ {selection} }}\n",
            alias(k),
            call_args.join(", ")
        ));
    }
    format!(
        "mutation {operation}({}) {{\n{body}}}\n{fragments}",
        vars.join(", ")
    )
}

/// Every document the client can send, by operation name (batches at two sizes: one and several
/// aliases), for the schema validation test.
pub fn all() -> Vec<(&'static str, String)> {
    let fixed = [
        ("Me", ME),
        ("AttributeDefinitions", ATTRIBUTE_DEFINITIONS),
        (
            "DefinePurchaseOrderAttribute",
            DEFINE_PURCHASE_ORDER_ATTRIBUTE,
        ),
        (
            "DefinePurchaseOrderLineAttribute",
            DEFINE_PURCHASE_ORDER_LINE_ATTRIBUTE,
        ),
        ("PurchaseOrdersByAttribute", PURCHASE_ORDERS_BY_ATTRIBUTE),
        ("PurchaseOrderById", PURCHASE_ORDER_BY_ID),
        ("CreatePurchaseOrder", CREATE_PURCHASE_ORDER),
        ("UpdatePurchaseOrder", UPDATE_PURCHASE_ORDER),
        ("DeletePurchaseOrder", DELETE_PURCHASE_ORDER),
        ("SuppliersByName", SUPPLIERS_BY_NAME),
        ("CreateSupplier", CREATE_SUPPLIER),
        ("PartsByNumber", PARTS_BY_NUMBER),
        ("ReceiptItemsChangedSince", RECEIPT_ITEMS_CHANGED_SINCE),
        ("ReceiptItemsOfReceipts", RECEIPT_ITEMS_OF_RECEIPTS),
    ];
    // Each batch at one alias and at `several`.
    type Batch = fn(usize) -> Arc<str>;
    let batches: [(&'static str, Batch, usize); 7] = [
        ("CreateSuppliers", create_suppliers, 3),
        ("CreatePurchaseOrders", create_purchase_orders, 3),
        ("UpdatePurchaseOrders", update_purchase_orders, 3),
        ("CreateNewPurchaseOrderLines", create_new_lines, 20),
        ("CreatePurchaseOrderLines", create_lines, 20),
        ("UpdatePurchaseOrderLines", update_lines, 3),
        ("DeletePurchaseOrderLines", delete_lines, 3),
    ];
    let mut out: Vec<(&'static str, String)> = fixed
        .into_iter()
        .map(|(name, doc)| (name, doc.to_string()))
        .collect();
    for (name, document, several) in batches {
        for n in [1, several] {
            out.push((name, document(n).to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ion::schema::validate;

    /// The starting documents of the project (`shared/reference/ion-operations.graphql`), kept
    /// here so the contract they were written against stays checked.
    const REFERENCE_OPERATIONS: &str = include_str!("ion-operations.graphql");

    #[test]
    fn every_client_document_validates_against_the_schema() {
        let mut failures = Vec::new();
        for (name, doc) in all() {
            match validate(&doc) {
                Ok(valid) => {
                    assert!(
                        valid.operations.get(Some(name)).is_ok(),
                        "{name}: operation name does not match the document"
                    );
                }
                Err(errors) => failures.push(format!("{name}: {}", errors.join("; "))),
            }
        }
        assert!(
            failures.is_empty(),
            "invalid documents:\n{}",
            failures.join("\n")
        );
    }

    #[test]
    fn reference_operations_validate_against_the_schema() {
        let valid = validate(REFERENCE_OPERATIONS)
            .map_err(|e| e.join("\n"))
            .expect("valid");
        assert_eq!(valid.operations.named.len(), 24);
    }

    #[test]
    fn a_misspelt_field_is_caught() {
        let broken = PURCHASE_ORDER_BY_ID.replace("receivedQuantity", "recievedQuantity");
        let errors = validate(&broken).expect_err("misspelt field must fail");
        assert!(
            errors.iter().any(|e| e.contains("recievedQuantity")),
            "{errors:?}"
        );
    }
}
