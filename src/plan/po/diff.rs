//! The "compare, note, push" the header and line planners share: the fields of one ION row
//! that differ from what NetSuite dictates, each with a note naming both values (the info log
//! of an overwritten ION edit is made from these notes).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::FieldNote;
use crate::plan::attrs;
use crate::plan::model::IonAttribute;

pub(super) struct Diff<F> {
    pub(super) fields: Vec<F>,
    pub(super) notes: Vec<FieldNote>,
    /// NetSuite is unchanged since the last apply, so any difference is an edit made in ION.
    ion_edit: bool,
}

fn value_of(v: &impl Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

impl<F> Diff<F> {
    pub(super) fn new(ion_edit: bool) -> Self {
        Diff {
            fields: Vec::new(),
            notes: Vec::new(),
            ion_edit,
        }
    }

    /// Writes `field`; ION holds `ion`, NetSuite dictates `netsuite`.
    pub(super) fn set(&mut self, name: &str, ion: Value, netsuite: Value, field: F) {
        self.notes.push(FieldNote {
            field: name.to_string(),
            ion,
            netsuite,
            ion_edit: self.ion_edit,
        });
        self.fields.push(field);
    }

    /// Writes `field` when ION's value is not NetSuite's.
    pub(super) fn differs<T: PartialEq + Serialize>(
        &mut self,
        name: &str,
        ion: &T,
        netsuite: &T,
        field: impl FnOnce() -> F,
    ) {
        if ion != netsuite {
            self.set(name, value_of(ion), value_of(netsuite), field());
        }
    }

    /// Writes each dictated attribute whose ION value differs (compared as ION spells numbers
    /// and text, [`attrs::same_value`]).
    pub(super) fn attributes(
        &mut self,
        current: &BTreeMap<String, IonAttribute>,
        wanted: BTreeMap<String, Value>,
        field: impl Fn(String, Value) -> F,
    ) {
        for (key, value) in wanted {
            let now = current.get(&key).map(|a| &a.value);
            if !attrs::same_value(now, &value) {
                let ion = now.cloned().unwrap_or(Value::Null);
                self.set(&key.clone(), ion, value.clone(), field(key, value));
            }
        }
    }
}
