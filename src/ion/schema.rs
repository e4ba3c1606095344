//! The ION schema as a contract: parsed once, shared by the document validation test and the
//! simulator (which validates every incoming document against it, like a real GraphQL server).
//!
//! Why a copy inside the crate: CI runs on a clone where only the repository is guaranteed; the
//! file is byte-for-byte `shared/reference/ion-schema.graphql` (sha256 `b833fff4…e3bf`).

use std::sync::LazyLock;

use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};

/// The SDL text (526 KB).
pub const SCHEMA_SDL: &str = include_str!("ion-schema.graphql");

/// Parsed once: parsing 526 KB takes long enough that doing it per request or per test would show.
/// If the SDL ever stopped validating, the partial schema is still usable for documents, so we
/// assume it valid rather than panic (the `schema_is_valid` test catches that case).
pub static SCHEMA: LazyLock<Valid<Schema>> =
    LazyLock::new(
        || match Schema::parse_and_validate(SCHEMA_SDL, "ion-schema.graphql") {
            Ok(schema) => schema,
            Err(with_errors) => Valid::assume_valid(with_errors.partial),
        },
    );

/// Parses and validates one executable document. On failure returns the validation messages in
/// the shape graphql-js (and so most GraphQL servers) phrases them.
pub fn validate(document: &str) -> Result<Valid<ExecutableDocument>, Vec<String>> {
    ExecutableDocument::parse_and_validate(&SCHEMA, document, "document.graphql").map_err(|e| {
        e.errors
            .iter()
            .map(|d| d.unstable_to_json_compat().message)
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_valid() {
        Schema::parse_and_validate(SCHEMA_SDL, "ion-schema.graphql")
            .expect("ion-schema.graphql validates");
    }

    #[test]
    fn schema_is_the_reference_copy() {
        use sha2::{Digest, Sha256};
        let digest = hex::encode(Sha256::digest(SCHEMA_SDL.as_bytes()));
        assert_eq!(
            digest,
            "b833fff48238920a371bc365627dee54d26220a9b66ba83c0bae7b1fe8fce3bf"
        );
    }
}
