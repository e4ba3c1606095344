//! The GraphQL half of the executor: walks the chosen operation of a validated document and
//! writes the JSON answer straight into a byte buffer, asking [`Ctx`] for one field at a time.
//!
//! What it does, as the spec (and graphql-js) does it: variables are coerced by apollo-compiler
//! ([`coerce_variable_values`], so a bad or missing variable is a request error with apollo's
//! message); fields are collected per object (aliases, merging of one response key selected
//! twice, named and inline fragments with type conditions, `@skip`/`@include`); arguments come
//! from literals and variables with the schema's defaults; `__typename` answers anywhere; mutation
//! root fields run one after another, each one's selection completed before the next starts.
//! A field error is recorded with its message, path and location, the field answers null, and a
//! null in a non-null position propagates to the nearest nullable parent: the parent's partial
//! output is cut back to where it started and replaced by `null`.
//!
//! Why not apollo's executor: it builds a `JsonValue` tree per answer through boxed trait objects,
//! coerces arguments through JSON maps and looks each field up in the schema again, and every
//! value had to be converted to its JSON type; that machinery was the largest part of the
//! simulator's time under its state lock, the serialised share of the sync benchmark.

use std::cell::OnceCell;
use std::collections::BTreeMap;

use apollo_compiler::ast::{Type, Value as Lit};
use apollo_compiler::executable::{DirectiveList, Field, Operation, Selection};
use apollo_compiler::parser::LineColumn;
use apollo_compiler::request::{RequestError, coerce_variable_values};
use apollo_compiler::response::serde_json_bytes::ByteString;
use apollo_compiler::response::{JsonMap, JsonValue};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Name, Node};
use serde_json::{Map, Number, Value, json};

use super::{Ctx, FieldError, Val};
use crate::ion::schema::SCHEMA;
use crate::sandbox::ion::state::Kind;

/// Chooses the operation and coerces the variables: everything that needs no state, so the
/// server does it before taking the state lock. `Err` is the answer (a request error).
pub(super) fn prepare<'d>(
    document: &'d Valid<ExecutableDocument>,
    operation_name: Option<&str>,
    variables: Map<String, Value>,
) -> Result<Prepared<'d>, String> {
    let operation = document
        .operations
        .get(operation_name)
        .map_err(|e| request_error(e.message()))?;
    let vars = coerce_variables(operation, variables).map_err(|e| request_error(e.message()))?;
    Ok(Prepared { operation, vars })
}

/// Executes a prepared operation of `document`; the answer as JSON text.
pub(super) fn run(
    ctx: &Ctx<'_>,
    document: &Valid<ExecutableDocument>,
    prepared: &mut Prepared<'_>,
) -> String {
    let operation = prepared.operation;
    let root = if operation.operation_type.is_mutation() {
        Obj::Mutation
    } else {
        Obj::Query
    };
    let mut w = Walker {
        ctx,
        doc: document,
        vars: &mut prepared.vars,
        errors: Vec::new(),
        out: Vec::with_capacity(4096),
    };
    w.out.extend_from_slice(b"{\"data\":");
    let mark = w.out.len();
    let sets = [&operation.selection_set.selections[..]];
    if w.object(None, &root, operation.object_type().as_str(), &sets)
        .is_err()
    {
        w.out.truncate(mark);
        w.out.extend_from_slice(b"null");
    }
    if !w.errors.is_empty() {
        w.out.extend_from_slice(b",\"errors\":");
        let errors: Vec<Value> = w.errors.iter().map(FieldErrorAt::to_json).collect();
        write_json(&mut w.out, &Value::Array(errors));
    }
    w.out.push(b'}');
    String::from_utf8(w.out).unwrap_or_else(request_error)
}

/// The request's variables coerced by apollo-compiler (its errors, its defaults, its list
/// wrapping). A value coercion left as it was is the request's own (moved, not converted back
/// from apollo's JSON type: most of a batch's input is in its variables).
///
/// Most requests need no coercion at all: every variable is given, already of its type, with
/// every defaulted input field present. Those skip apollo ([`coerced_already`]): converting a
/// batch's variables to apollo's JSON type and back was a tenth of the sync benchmark's CPU.
fn coerce_variables(
    operation: &Operation,
    mut variables: Map<String, Value>,
) -> Result<Map<String, Value>, RequestError> {
    let unchanged = operation
        .variables
        .iter()
        .all(|def| match variables.get(def.name.as_str()) {
            Some(value) => coerced_already(&def.ty, value),
            // Apollo leaves an absent nullable variable without a default absent.
            None => def.default_value.is_none() && !def.ty.is_non_null(),
        });
    if unchanged {
        // Apollo keeps the operation's variables only.
        variables.retain(|name, _| operation.variables.iter().any(|d| d.name == name.as_str()));
        return Ok(variables);
    }
    let mut raw = JsonMap::new();
    for (k, v) in &variables {
        raw.insert(k.as_str(), to_bytes_json(v));
    }
    let coerced = coerce_variable_values(&SCHEMA, operation, &raw)?;
    let mut vars = Map::new();
    for (k, v) in coerced.iter() {
        let entry = match variables.remove_entry(k.as_str()) {
            Some((name, given)) if same_json(&given, v) => (name, given),
            _ => (k.as_str().to_string(), from_bytes_json(v)),
        };
        vars.insert(entry.0, entry.1);
    }
    Ok(vars)
}

/// Whether apollo's coercion of a variable's `value` to `ty` would hand it back unchanged: no
/// error, no single value wrapped into a list, no input field default filled in. The checks
/// are apollo's own (`resolvers/input_coercion.rs`), condition for condition; anything else
/// goes to apollo, which then coerces or answers its error.
fn coerced_already(ty: &Type, value: &Value) -> bool {
    /// The largest integer an f64 holds exactly: apollo's bound for an integer given as Float.
    const MAX_SAFE_INT: f64 = ((1_i64 << 53) - 1) as f64;
    if value.is_null() {
        return !ty.is_non_null();
    }
    let name = match ty {
        Type::List(inner) | Type::NonNullList(inner) => {
            return value
                .as_array()
                .is_some_and(|items| items.iter().all(|item| coerced_already(inner, item)));
        }
        Type::Named(name) | Type::NonNullNamed(name) => name,
    };
    match SCHEMA.types.get(name) {
        Some(ExtendedType::Scalar(_)) => match name.as_str() {
            "Int" => value.as_i64().is_some_and(|v| i32::try_from(v).is_ok()),
            "Float" => value.is_f64() || value.as_f64().is_some_and(|f| f.abs() < MAX_SAFE_INT),
            "String" => value.is_string(),
            "Boolean" => value.is_boolean(),
            "ID" => value.is_string() || value.is_i64(),
            // Custom scalars: apollo takes any value as it is.
            _ => true,
        },
        Some(ExtendedType::Enum(def)) => value
            .as_str()
            .is_some_and(|s| def.values.keys().any(|v| v == s)),
        Some(ExtendedType::InputObject(def)) => value.as_object().is_some_and(|object| {
            // Every given field is the type's and already coerced; every field that would be
            // filled in (a default) or is required (non-null) is given.
            object.iter().all(|(k, v)| {
                def.fields
                    .get(k.as_str())
                    .is_some_and(|f| coerced_already(&f.ty, v))
            }) && def.fields.iter().all(|(field, f)| {
                (f.default_value.is_none() && !f.ty.is_non_null())
                    || object.contains_key(field.as_str())
            })
        }),
        _ => false,
    }
}

/// Whether a value is the same JSON in both representations.
fn same_json(a: &Value, b: &JsonValue) -> bool {
    match (a, b) {
        (Value::Null, JsonValue::Null) => true,
        (Value::Bool(x), JsonValue::Bool(y)) => x == y,
        (Value::Number(x), JsonValue::Number(y)) => x == y,
        (Value::String(x), JsonValue::String(y)) => x.as_str() == y.as_str(),
        (Value::Array(x), JsonValue::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(x), JsonValue::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k.as_str()).is_some_and(|w| same_json(v, w)))
        }
        _ => false,
    }
}

fn request_error(message: impl std::fmt::Display) -> String {
    json!({"errors": [{"message": message.to_string()}]}).to_string()
}

fn write_json(out: &mut Vec<u8>, v: &Value) {
    // Writing to a Vec cannot fail, and a `Value` always serialises.
    let _ = serde_json::to_writer(out, v);
}

fn to_bytes_json(v: &Value) -> JsonValue {
    match v {
        Value::Null => JsonValue::Null,
        Value::Bool(b) => JsonValue::Bool(*b),
        Value::Number(n) => JsonValue::Number(n.clone()),
        Value::String(s) => JsonValue::String(s.as_str().into()),
        Value::Array(a) => JsonValue::Array(a.iter().map(to_bytes_json).collect()),
        Value::Object(m) => {
            let mut out = JsonMap::new();
            for (k, v) in m {
                out.insert(k.as_str(), to_bytes_json(v));
            }
            JsonValue::Object(out)
        }
    }
}

fn from_bytes_json(v: &JsonValue) -> Value {
    match v {
        JsonValue::Null => Value::Null,
        JsonValue::Bool(b) => Value::Bool(*b),
        JsonValue::Number(n) => Value::Number(n.clone()),
        JsonValue::String(s) => Value::String(s.as_str().to_string()),
        JsonValue::Array(a) => Value::Array(a.iter().map(from_bytes_json).collect()),
        JsonValue::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v): (&ByteString, &JsonValue)| {
                    (k.as_str().to_string(), from_bytes_json(v))
                })
                .collect(),
        ),
    }
}

/// A field error below this point must null the nearest nullable parent.
struct Propagate;

type Done = Result<(), Propagate>;

/// One step of a response path, linked to its parent on the stack (built only on errors).
#[derive(Clone, Copy)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

struct Link<'a> {
    step: Step<'a>,
    up: Path<'a>,
}

type Path<'a> = Option<&'a Link<'a>>;

struct FieldErrorAt {
    message: String,
    conflict: bool,
    location: Option<LineColumn>,
    path: Vec<Value>,
}

impl FieldErrorAt {
    fn to_json(&self) -> Value {
        let mut e = Map::new();
        e.insert("message".into(), self.message.clone().into());
        if let Some(l) = &self.location {
            e.insert(
                "locations".into(),
                json!([{"line": l.line, "column": l.column}]),
            );
        }
        e.insert("path".into(), Value::Array(self.path.clone()));
        if self.conflict {
            // ION's etag failures carry this code; apollo's field errors had no extensions.
            e.insert("extensions".into(), json!({"code": "CONFLICT"}));
        }
        Value::Object(e)
    }
}

/// The object whose fields are being completed.
enum Obj<'v> {
    Query,
    Mutation,
    /// A row. Its fields are read when selected: mutations run one root field at a time and
    /// each one's selection completes before the next starts, so what a write's answer shows
    /// is the state right after that write. Fields [`State::quick_field`] does not cover come
    /// from one [`State::fields`] snapshot, taken at the first such field.
    ///
    /// [`State::quick_field`]: crate::sandbox::ion::state::State::quick_field
    /// [`State::fields`]: crate::sandbox::ion::state::State::fields
    Row(Kind, i64, OnceCell<Option<Map<String, Value>>>),
    /// Attribute row `n` of a PO or line, its fields read when selected.
    Attr(Kind, i64, usize),
    /// A payload, connection, edge or page info built by a resolver.
    Map(&'v BTreeMap<String, Val>),
    /// A JSON object standing for an object (attribute rows, org settings).
    Json(&'v Map<String, Value>),
}

/// What a field resolved to: built by a resolver, or a part of the parent object.
enum Got<'v> {
    Owned(Val),
    Val(&'v Val),
    Json(&'v Value),
}

/// A field's arguments, and which of them hold a variable's value taken for the resolver's call
/// (`(argument, variable)`).
struct Args<'d> {
    value: Value,
    taken: Vec<(&'d str, &'d str)>,
}

/// A request ready to execute (see [`prepare`]).
pub struct Prepared<'d> {
    operation: &'d Node<Operation>,
    /// Coerced variable values (defaults applied).
    vars: Map<String, Value>,
}

/// The fields selected under one response key, in selection order (more than one when the same
/// key is selected twice: their sub-selections merge).
struct Group<'d> {
    key: &'d str,
    first: &'d Field,
    more: Vec<&'d Field>,
}

struct Walker<'c, 's, 'd, 'v> {
    ctx: &'c Ctx<'s>,
    doc: &'d Valid<ExecutableDocument>,
    /// Coerced variable values (defaults applied).
    vars: &'v mut Map<String, Value>,
    errors: Vec<FieldErrorAt>,
    out: Vec<u8>,
}

impl<'d> Walker<'_, '_, 'd, '_> {
    /// Writes the object `obj` of type `ty` with the fields of `sets` (the selection sets of one
    /// field, or of the operation).
    fn object(
        &mut self,
        path: Path<'_>,
        obj: &Obj<'_>,
        ty: &str,
        sets: &[&'d [Selection]],
    ) -> Done {
        let mut groups = Vec::new();
        let mut visited = Vec::new();
        for set in sets {
            self.collect(ty, set, &mut groups, &mut visited);
        }
        self.out.push(b'{');
        for (i, g) in groups.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            self.out.push(b'"');
            self.out.extend_from_slice(g.key.as_bytes());
            self.out.extend_from_slice(b"\":");
            let link = Link {
                step: Step::Key(g.key),
                up: path,
            };
            let mark = self.out.len();
            if self.field(Some(&link), obj, ty, g).is_err() {
                if g.first.ty().is_non_null() {
                    return Err(Propagate);
                }
                self.out.truncate(mark);
                self.out.extend_from_slice(b"null");
            }
        }
        self.out.push(b'}');
        Ok(())
    }

    /// CollectFields: groups the selected fields by response key, through fragments whose type
    /// condition applies to `ty`, leaving out what `@skip`/`@include` exclude.
    fn collect(
        &self,
        ty: &str,
        selections: &'d [Selection],
        groups: &mut Vec<Group<'d>>,
        visited: &mut Vec<&'d Name>,
    ) {
        for selection in selections {
            if !self.included(selection.directives()) {
                continue;
            }
            match selection {
                Selection::Field(f) => {
                    let f: &'d Field = f;
                    let key = f.response_key().as_str();
                    match groups.iter_mut().find(|g| g.key == key) {
                        Some(g) => g.more.push(f),
                        None => groups.push(Group {
                            key,
                            first: f,
                            more: Vec::new(),
                        }),
                    }
                }
                Selection::FragmentSpread(spread) => {
                    if visited.contains(&&spread.fragment_name) {
                        continue;
                    }
                    visited.push(&spread.fragment_name);
                    let Some(fragment) = self.doc.fragments.get(&spread.fragment_name) else {
                        continue;
                    };
                    if applies(ty, fragment.type_condition()) {
                        self.collect(ty, &fragment.selection_set.selections, groups, visited);
                    }
                }
                Selection::InlineFragment(inline) => {
                    if inline
                        .type_condition
                        .as_ref()
                        .is_none_or(|condition| applies(ty, condition))
                    {
                        self.collect(ty, &inline.selection_set.selections, groups, visited);
                    }
                }
            }
        }
    }

    fn included(&self, directives: &DirectiveList) -> bool {
        directives.is_empty()
            || (!self.if_argument(directives, "skip").unwrap_or(false)
                && self.if_argument(directives, "include").unwrap_or(true))
    }

    fn if_argument(&self, directives: &DirectiveList, name: &str) -> Option<bool> {
        match directives
            .get(name)?
            .specified_argument_by_name("if")?
            .as_ref()
        {
            Lit::Boolean(b) => Some(*b),
            Lit::Variable(v) => self.vars.get(v.as_str())?.as_bool(),
            _ => None,
        }
    }

    /// Resolves and writes one response key of `obj` (of type `ty`).
    fn field(&mut self, path: Path<'_>, obj: &Obj<'_>, ty: &str, g: &Group<'d>) -> Done {
        let f = g.first;
        let name = f.name.as_str();
        if name == "__typename" {
            // A type name needs no escaping.
            self.out.push(b'"');
            self.out.extend_from_slice(ty.as_bytes());
            self.out.push(b'"');
            return Ok(());
        }
        let args = self.arguments(path, f)?;
        let ctx = self.ctx;
        let got = {
            let args = &args.value;
            match obj {
                Obj::Query if name == "__schema" || name == "__type" => Err(FieldError {
                    message: "schema introspection is disabled".into(),
                    conflict: false,
                }),
                Obj::Query => ctx.query(name, args).map(Got::Owned),
                Obj::Mutation => ctx.mutate(name, args).map(Got::Owned),
                Obj::Row(kind, id, fields) => ctx
                    .row_field(*kind, *id, fields, name, args)
                    .map(Got::Owned),
                Obj::Attr(kind, id, n) => ctx
                    .attr_field(*kind, *id, *n, name)
                    .map(|v| Got::Owned(Val::Leaf(v)))
                    .ok_or_else(|| not_simulated(ty, name)),
                Obj::Map(m) => m
                    .get(name)
                    .map(Got::Val)
                    .ok_or_else(|| not_simulated(ty, name)),
                Obj::Json(m) => m
                    .get(name)
                    .map(Got::Json)
                    .ok_or_else(|| not_simulated(ty, name)),
            }
        };
        self.give_back(args);
        match got {
            Ok(Got::Owned(v)) => self.complete(path, f.ty(), &v, g),
            Ok(Got::Val(v)) => self.complete(path, f.ty(), v, g),
            Ok(Got::Json(v)) => self.json(path, f.ty(), v, g),
            Err(e) => {
                self.record(path, f, e.message, e.conflict);
                Err(Propagate)
            }
        }
    }

    /// CompleteValue for a resolver's value.
    fn complete(&mut self, path: Path<'_>, ty: &Type, v: &Val, g: &Group<'d>) -> Done {
        match v {
            Val::Null => self.null(path, ty, g),
            Val::Leaf(j) => self.json(path, ty, j, g),
            Val::List(items) => {
                let Some(item_ty) = list_item(ty) else {
                    return self.fail(path, g, format!("Non-list type {ty} resolved to a list"));
                };
                self.list(path, item_ty, items, |w, p, item| {
                    w.complete(p, item_ty, item, g)
                })
            }
            Val::Row(kind, id) => {
                if !self.ctx.exists(*kind, *id) {
                    return self.null(path, ty, g);
                }
                let name = kind.type_name();
                self.check_object(path, ty, name, g)?;
                self.sub_object(path, &Obj::Row(*kind, *id, OnceCell::new()), name, g)
            }
            Val::Attr(kind, id, n) => {
                let name = self.declared_object(path, ty, g)?;
                self.sub_object(path, &Obj::Attr(*kind, *id, *n), name, g)
            }
            Val::Map(m) => {
                let name = self.declared_object(path, ty, g)?;
                self.sub_object(path, &Obj::Map(m), name, g)
            }
        }
    }

    /// Writes a list, completing each item with `item` at its index. A failed item becomes
    /// null, or fails the whole list when the item type is non-null (null propagation).
    fn list<T>(
        &mut self,
        path: Path<'_>,
        item_ty: &Type,
        items: &[T],
        mut item: impl FnMut(&mut Self, Path<'_>, &T) -> Done,
    ) -> Done {
        self.out.push(b'[');
        for (i, value) in items.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            let link = Link {
                step: Step::Index(i),
                up: path,
            };
            let mark = self.out.len();
            if item(self, Some(&link), value).is_err() {
                if item_ty.is_non_null() {
                    return Err(Propagate);
                }
                self.out.truncate(mark);
                self.out.extend_from_slice(b"null");
            }
        }
        self.out.push(b']');
        Ok(())
    }

    /// CompleteValue for JSON: a scalar or enum as it is; an object or a list of objects where
    /// the schema says so (attribute rows, org settings).
    fn json(&mut self, path: Path<'_>, ty: &Type, j: &Value, g: &Group<'d>) -> Done {
        if j.is_null() {
            return self.null(path, ty, g);
        }
        let name = match ty {
            Type::List(item_ty) | Type::NonNullList(item_ty) => {
                let Value::Array(items) = j else {
                    return self.fail(path, g, format!("list type {ty} resolved to an object"));
                };
                return self.list(path, item_ty, items, |w, p, item| {
                    w.json(p, item_ty, item, g)
                });
            }
            Type::Named(name) | Type::NonNullNamed(name) => name,
        };
        // Result coercion of leaves (as apollo-compiler checks it): a value of the wrong type is
        // a field error, not a silently wrong answer.
        let ok = match name.as_str() {
            "Int" => j.as_i64().is_some_and(|i| i32::try_from(i).is_ok()),
            "Float" => j.is_f64(),
            "String" => j.is_string(),
            "Boolean" => j.is_boolean(),
            "ID" => j.is_string() || j.is_i64(),
            _ => match SCHEMA.types.get(name) {
                // Custom scalars take any JSON (ScalarValue holds lists and objects too).
                Some(ExtendedType::Scalar(_)) => true,
                Some(ExtendedType::Enum(e)) => j.as_str().is_some_and(|s| e.values.contains_key(s)),
                Some(ExtendedType::Object(_)) => {
                    return match j {
                        Value::Object(m) => self.sub_object(path, &Obj::Json(m), name, g),
                        Value::Array(_) => {
                            self.fail(path, g, format!("Non-list type {ty} resolved to a list"))
                        }
                        _ => self.fail(
                            path,
                            g,
                            format!(
                                "resolver returned a leaf value but expected an object for type {name}"
                            ),
                        ),
                    };
                }
                _ => {
                    return self.fail(
                        path,
                        g,
                        format!("ION simulator: cannot answer a value of type {ty}"),
                    );
                }
            },
        };
        if !ok {
            return self.fail(path, g, format!("resolver returned {j}, expected {name}"));
        }
        write_json(&mut self.out, j);
        Ok(())
    }

    /// Writes an object value with the merged sub-selections of the group's fields.
    fn sub_object(&mut self, path: Path<'_>, obj: &Obj<'_>, ty: &str, g: &Group<'d>) -> Done {
        if g.more.is_empty() {
            self.object(path, obj, ty, &[&g.first.selection_set.selections[..]])
        } else {
            let sets: Vec<&'d [Selection]> = std::iter::once(g.first)
                .chain(g.more.iter().copied())
                .map(|f| &f.selection_set.selections[..])
                .collect();
            self.object(path, obj, ty, &sets)
        }
    }

    /// A row of type `actual` may stand where `ty` is expected: the same object type, or one
    /// implementing the interface / member of the union.
    fn check_object(&mut self, path: Path<'_>, ty: &Type, actual: &str, g: &Group<'d>) -> Done {
        let name = match ty {
            Type::List(_) | Type::NonNullList(_) => {
                return self.fail(path, g, format!("list type {ty} resolved to an object"));
            }
            Type::Named(name) | Type::NonNullNamed(name) => name,
        };
        if name == actual {
            return Ok(());
        }
        let fits = match SCHEMA.types.get(name) {
            Some(ExtendedType::Interface(_)) => SCHEMA
                .get_object(actual)
                .is_some_and(|o| o.implements_interfaces.contains(name)),
            Some(ExtendedType::Union(u)) => u.members.contains(actual),
            _ => false,
        };
        if fits {
            Ok(())
        } else {
            self.fail(
                path,
                g,
                format!("resolver returned an object of type {actual}, expected {name}"),
            )
        }
    }

    /// The object type a resolver's map stands for: the field's, which must be an object type.
    fn declared_object(
        &mut self,
        path: Path<'_>,
        ty: &Type,
        g: &Group<'d>,
    ) -> Result<&'d str, Propagate> {
        if list_item(ty).is_some() {
            return self.fail(path, g, format!("list type {ty} resolved to an object"));
        }
        let name = g.first.ty().inner_named_type();
        match SCHEMA.types.get(name) {
            Some(ExtendedType::Object(_)) => Ok(name.as_str()),
            _ => self.fail(
                path,
                g,
                format!("ION simulator: an object answered where {ty} is expected"),
            ),
        }
    }

    fn null(&mut self, path: Path<'_>, ty: &Type, g: &Group<'d>) -> Done {
        if ty.is_non_null() {
            return self.fail(path, g, format!("non-null type {ty} resolved to null"));
        }
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn fail<T>(&mut self, path: Path<'_>, g: &Group<'d>, message: String) -> Result<T, Propagate> {
        self.record(path, g.first, message, false);
        Err(Propagate)
    }

    fn record(&mut self, path: Path<'_>, f: &Field, message: String, conflict: bool) {
        let mut steps = Vec::new();
        let mut link = path;
        while let Some(l) = link {
            steps.push(match l.step {
                Step::Key(k) => Value::from(k),
                Step::Index(i) => Value::from(i),
            });
            link = l.up;
        }
        steps.reverse();
        self.errors.push(FieldErrorAt {
            message,
            conflict,
            location: f
                .name
                .location()
                .and_then(|l| l.line_column(&self.doc.sources)),
            path: steps,
        });
    }

    // ----- arguments (CoerceArgumentValues) --------------------------------------------------

    /// The field's arguments as one JSON object (`Null` when there are none), literals and
    /// variables coerced to the argument types, with the schema's defaults.
    ///
    /// An argument given as a variable the field's other arguments do not mention takes the
    /// variable's value rather than a copy (a batch's inputs are most of its size); the caller
    /// puts it back with [`Walker::give_back`] once the resolver has run, so the value is neither
    /// cloned nor dropped under the state lock.
    fn arguments(&mut self, path: Path<'_>, f: &'d Field) -> Result<Args<'d>, Propagate> {
        let mut map = Map::new();
        let mut taken = Vec::new();
        let filled = if f.definition.arguments.is_empty() {
            Ok(())
        } else {
            self.fill_arguments(path, f, &mut map, &mut taken)
        };
        let args = Args {
            value: if map.is_empty() {
                Value::Null
            } else {
                Value::Object(map)
            },
            taken,
        };
        match filled {
            Ok(()) => Ok(args),
            Err(p) => {
                self.give_back(args);
                Err(p)
            }
        }
    }

    fn fill_arguments(
        &mut self,
        path: Path<'_>,
        f: &'d Field,
        args: &mut Map<String, Value>,
        taken: &mut Vec<(&'d str, &'d str)>,
    ) -> Done {
        for def in &f.definition.arguments {
            let name = def.name.as_str();
            if let Some(arg) = f.arguments.iter().find(|a| a.name == def.name) {
                match arg.value.as_ref() {
                    Lit::Variable(var) => {
                        if let Some(v) = self.vars.get_mut(var.as_str()) {
                            if v.is_null() && def.ty.is_non_null() {
                                return self.arg_fail(
                                    path,
                                    f,
                                    format!("null value for non-nullable argument {name}"),
                                );
                            }
                            let alone = f
                                .arguments
                                .iter()
                                .all(|a| a.name == def.name || !mentions(&a.value, var));
                            let v = if alone {
                                taken.push((name, var.as_str()));
                                std::mem::take(v)
                            } else {
                                v.clone()
                            };
                            args.insert(name.to_string(), v);
                            continue;
                        }
                        // An absent variable: as if the argument were not given.
                    }
                    Lit::Null if def.ty.is_non_null() => {
                        return self.arg_fail(
                            path,
                            f,
                            format!("null value for non-nullable argument {name}"),
                        );
                    }
                    _ => {
                        let what = format_args!("argument {name}");
                        let v = self.coerce(path, f, &what, &def.ty, &arg.value)?;
                        args.insert(name.to_string(), v);
                        continue;
                    }
                }
            }
            if let Some(default) = &def.default_value {
                let v = self.constant(path, f, &format_args!("argument {name}"), default)?;
                args.insert(name.to_string(), v);
            } else if def.ty.is_non_null() {
                return self.arg_fail(
                    path,
                    f,
                    format!("missing value for required argument {name}"),
                );
            }
        }
        Ok(())
    }

    /// Returns the variables [`Walker::arguments`] took.
    fn give_back(&mut self, mut args: Args<'d>) {
        let Value::Object(map) = &mut args.value else {
            return;
        };
        for (arg, var) in args.taken {
            if let (Some(v), Some(slot)) = (map.remove(arg), self.vars.get_mut(var)) {
                *slot = v;
            }
        }
    }

    fn arg_fail<T>(&mut self, path: Path<'_>, f: &Field, message: String) -> Result<T, Propagate> {
        self.record(path, f, message, false);
        Err(Propagate)
    }

    /// One literal (possibly with variables inside) coerced to `ty`: lists from single values,
    /// input objects with their fields' defaults.
    fn coerce(
        &mut self,
        path: Path<'_>,
        f: &Field,
        what: &std::fmt::Arguments<'_>,
        ty: &Type,
        value: &Node<Lit>,
    ) -> Result<Value, Propagate> {
        match value.as_ref() {
            Lit::Null => {
                if ty.is_non_null() {
                    return self.arg_fail(path, f, format!("null value for non-null {what}"));
                }
                return Ok(Value::Null);
            }
            Lit::Variable(var) => {
                return match self.vars.get(var.as_str()) {
                    Some(v) if v.is_null() && ty.is_non_null() => {
                        self.arg_fail(path, f, format!("null variable value for non-null {what}"))
                    }
                    Some(v) => Ok(v.clone()),
                    None if ty.is_non_null() => {
                        self.arg_fail(path, f, format!("missing variable for non-null {what}"))
                    }
                    None => Ok(Value::Null),
                };
            }
            _ => {}
        }
        let name = match ty {
            Type::List(item_ty) | Type::NonNullList(item_ty) => {
                let items = value.as_list().unwrap_or(std::slice::from_ref(value));
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.coerce(path, f, what, item_ty, item)?);
                }
                return Ok(Value::Array(out));
            }
            Type::Named(name) | Type::NonNullNamed(name) => name,
        };
        let Some(ExtendedType::InputObject(def)) = SCHEMA.types.get(name) else {
            // Scalars and enums: validation checked them; only the representation changes.
            return self.constant(path, f, what, value);
        };
        let Some(fields) = value.as_object() else {
            return self.arg_fail(
                path,
                f,
                format!("could not coerce {what}: {value} to type {name}"),
            );
        };
        if let Some((key, _)) = fields.iter().find(|(k, _)| !def.fields.contains_key(k)) {
            return self.arg_fail(
                path,
                f,
                format!("input object has key {key} not in type {name}"),
            );
        }
        let mut out = Map::new();
        for (field_name, field_def) in &def.fields {
            if let Some((_, v)) = fields.iter().find(|(k, _)| k == field_name) {
                let what = format_args!("input field {name}.{field_name}");
                let v = self.coerce(path, f, &what, &field_def.ty, v)?;
                out.insert(field_name.to_string(), v);
            } else if let Some(default) = &field_def.default_value {
                let what = format_args!("input field {name}.{field_name}");
                let v = self.constant(path, f, &what, default)?;
                out.insert(field_name.to_string(), v);
            } else if field_def.ty.is_non_null() {
                return self.arg_fail(
                    path,
                    f,
                    format!("Missing value for non-null input object field {name}.{field_name}"),
                );
            }
        }
        Ok(Value::Object(out))
    }

    /// A constant (a default, or a scalar literal) as JSON.
    fn constant(
        &mut self,
        path: Path<'_>,
        f: &Field,
        what: &std::fmt::Arguments<'_>,
        value: &Node<Lit>,
    ) -> Result<Value, Propagate> {
        Ok(match value.as_ref() {
            Lit::Null => Value::Null,
            Lit::Enum(v) => Value::String(v.to_string()),
            Lit::String(s) => Value::String(s.clone()),
            Lit::Boolean(b) => Value::Bool(*b),
            Lit::Int(i) => match i.as_str().parse::<Number>() {
                Ok(n) => Value::Number(n),
                Err(_) => return self.arg_fail(path, f, format!("int value overflow in {what}")),
            },
            Lit::Float(x) => match x.as_str().parse::<Number>() {
                Ok(n) => Value::Number(n),
                Err(_) => return self.arg_fail(path, f, format!("float value overflow in {what}")),
            },
            Lit::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.constant(path, f, what, item)?);
                }
                Value::Array(out)
            }
            Lit::Object(fields) => {
                let mut out = Map::new();
                for (k, v) in fields {
                    out.insert(k.to_string(), self.constant(path, f, what, v)?);
                }
                Value::Object(out)
            }
            Lit::Variable(_) => {
                return self.arg_fail(path, f, format!("variable in default value of {what}."));
            }
        })
    }
}

/// Whether a literal refers to the variable `var` anywhere inside.
fn mentions(value: &Lit, var: &Name) -> bool {
    match value {
        Lit::Variable(v) => v == var,
        Lit::List(items) => items.iter().any(|i| mentions(i, var)),
        Lit::Object(fields) => fields.iter().any(|(_, v)| mentions(v, var)),
        _ => false,
    }
}

fn list_item(ty: &Type) -> Option<&Type> {
    match ty {
        Type::List(item) | Type::NonNullList(item) => Some(item),
        Type::Named(_) | Type::NonNullNamed(_) => None,
    }
}

fn not_simulated(ty: &str, field: &str) -> FieldError {
    FieldError {
        message: format!("ION simulator: field {ty}.{field} is not implemented"),
        conflict: false,
    }
}

/// DoesFragmentTypeApply: the object type itself, an interface it implements, a union it is in.
fn applies(object: &str, condition: &str) -> bool {
    if object == condition {
        return true;
    }
    match SCHEMA.types.get(condition) {
        Some(ExtendedType::Interface(_)) => SCHEMA
            .get_object(object)
            .is_some_and(|o| o.implements_interfaces.contains(condition)),
        Some(ExtendedType::Union(u)) => u.members.contains(object),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};

    use serde_json::{Value, json};

    use super::{Ctx, Walker};
    use crate::ion::schema::validate;
    use crate::sandbox::ion::exec::{execute, prepare};
    use crate::sandbox::ion::state::{AttrScope, Kind, State};

    /// A PO with two lines (the second carries an attribute), and the state.
    fn state() -> (State, i64, Vec<i64>) {
        let mut st = State::new("Test Org");
        st.define_attribute(AttrScope::PurchaseOrderLine, "n", "NUMBER", Vec::new());
        let part = st.add_part("P-1", "A");
        let po = st
            .create_purchase_order(&json!({"status": "DRAFT", "description": "d"}))
            .unwrap_or_else(|r| panic!("{r}"));
        let lines = (0..2)
            .map(|k| {
                st.create_line(&json!({
                    "purchaseOrderId": po, "partId": part, "quantity": 2.0 + f64::from(k),
                    "attributes": if k == 1 { json!([{"key": "n", "value": 7}]) } else { json!([]) },
                }))
                .unwrap_or_else(|r| panic!("{r}"))
            })
            .collect();
        (st, po, lines)
    }

    /// The answer's text and JSON, validating the document the way the server does.
    fn run(
        st: &mut State,
        document: &str,
        operation: Option<&str>,
        vars: Value,
    ) -> (String, Value) {
        let document = validate(document).unwrap_or_else(|e| panic!("invalid document: {e:?}"));
        let vars = vars.as_object().cloned().unwrap_or_default();
        let body = match prepare(&document, operation, vars) {
            Ok(mut prepared) => execute(st, &document, &mut prepared).body,
            Err(body) => body,
        };
        let value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        (body, value)
    }

    /// The fast path of variable coercion against apollo's own: wherever it says "unchanged",
    /// apollo hands the value back as it was; and it does say so for ordinary batch input.
    #[test]
    fn values_taken_as_coerced_are_exactly_what_apollo_returns() {
        use apollo_compiler::ExecutableDocument;
        use apollo_compiler::request::coerce_variable_values;
        use apollo_compiler::response::JsonMap;

        use super::{coerced_already, from_bytes_json, to_bytes_json};
        use crate::ion::schema::SCHEMA;

        let line = json!({"purchaseOrderId": 4, "partId": 7, "quantity": 2, "cost": 1.5,
            "attributes": [{"key": "ns_line_id", "value": 12}]});
        // (type, value, whether the fast path takes it)
        let cases = [
            ("Int", json!(5), true),
            ("Int", json!(5_000_000_000_i64), false), // out of i32: apollo's error
            ("Int", json!(1.5), false),
            ("Float", json!(2), true),
            ("Float", json!(2.5), true),
            ("Float", json!("2.5"), false),
            ("ID!", json!("12"), true),
            ("ID!", json!(12), true),
            ("ID!", json!(null), false),
            ("ID", json!(null), true),
            ("String", json!(3), false),
            ("Boolean", json!(true), true),
            ("Purchaseorderstatusenum", json!("ORDERED"), true),
            ("Purchaseorderstatusenum", json!("SHIPPED"), false),
            ("[Int]", json!([1, 2]), true),
            ("[Int]", json!(1), false), // wrapped into a list by apollo
            ("[Int!]!", json!([1, null]), false),
            ("CreatePurchaseOrderLineInput!", line.clone(), true),
            (
                "[CreatePurchaseOrderLineInput!]!",
                json!([line.clone(), line]),
                true,
            ),
            ("CreatePurchaseOrderLineInput!", json!({"partId": 7}), false), // missing non-null
            (
                "CreatePurchaseOrderLineInput!",
                json!({"purchaseOrderId": 1, "nope": 1}),
                false,
            ),
            ("CreateRuleInput", json!({}), false), // a field default is filled in
        ];
        for (ty, value, fast) in cases {
            let doc = format!("query Q($v: {ty}) {{ __typename }}");
            let doc = ExecutableDocument::parse(&SCHEMA, &doc, "case.graphql")
                .unwrap_or_else(|e| panic!("{ty}: {e}"));
            let op = doc.operations.get(None).expect("one operation");
            let def = &op.variables[0];
            assert_eq!(coerced_already(&def.ty, &value), fast, "{ty} {value}");
            let mut raw = JsonMap::new();
            raw.insert("v", to_bytes_json(&value));
            let apollo = coerce_variable_values(&SCHEMA, op, &raw)
                .ok()
                .and_then(|m| m.get("v").map(from_bytes_json));
            if fast {
                assert_eq!(
                    apollo,
                    Some(value),
                    "{ty}: apollo changed what was taken as is"
                );
            } else {
                assert_ne!(apollo, Some(value), "{ty}: needlessly sent to apollo");
            }
        }
    }

    #[test]
    fn aliases_keep_selection_order_and_one_key_selected_twice_merges() {
        let (mut st, po, _) = state();
        let (body, v) = run(
            &mut st,
            "query Q($id: ID!) {
               b: purchaseOrder(id: $id) { status }
               a: purchaseOrder(id: $id) { id }
               b: purchaseOrder(id: $id) { id description }
               purchaseOrder(id: $id) { description: status }
             }",
            None,
            json!({"id": po}),
        );
        assert_eq!(
            body,
            format!(
                r#"{{"data":{{"b":{{"status":"DRAFT","id":{po},"description":"d"}},"a":{{"id":{po}}},"purchaseOrder":{{"description":"DRAFT"}}}}}}"#
            )
        );
        assert!(v.get("errors").is_none());
    }

    /// Attribute rows are answered field by field (`Val::Attr`); what they show must be what
    /// the whole-row JSON (used by filters and `State::fields`) holds.
    #[test]
    fn attribute_rows_answer_the_selected_fields_as_the_row_json_has_them() {
        let (mut st, _, lines) = state();
        let line = lines[1];
        let whole = st
            .fields(Kind::PurchaseOrderLine, line)
            .and_then(|f| f.get("attributes").cloned())
            .expect("attributes of the line");
        let (_, v) = run(
            &mut st,
            "query Q($id: ID!) {
               purchaseOrderLine(id: $id) {
                 attributes { __typename key value type Etag Created Updated id purchaseOrderLineId }
                 only: attributes { value }
               }
             }",
            None,
            json!({"id": line}),
        );
        assert!(v.get("errors").is_none(), "{v}");
        let got = &v["data"]["purchaseOrderLine"];
        let mut expected = whole;
        for row in expected.as_array_mut().expect("rows") {
            row["__typename"] = json!("PurchaseOrderLineAttribute");
        }
        assert_eq!(
            expected.as_array().map(Vec::len),
            Some(1),
            "the line has one row"
        );
        assert_eq!(got["attributes"], expected);
        assert_eq!(got["only"], json!([{"value": 7}]));
    }

    #[test]
    fn fragments_apply_by_type_condition() {
        let (mut st, po, _) = state();
        // `IonType` is the union `User | Part`: on `me` (a User) only the User branch applies.
        let (_, v) = run(
            &mut st,
            "query Q($id: ID!) {
               me { ...Who }
               purchaseOrder(id: $id) { ...Po ... on PurchaseOrder { status } ... { description } }
             }
             fragment Who on IonType { ... on Part { partNumber } ... on User { id name } }
             fragment Po on PurchaseOrder { id }",
            None,
            json!({"id": po}),
        );
        assert_eq!(
            v,
            json!({"data": {
                "me": {"id": 1, "name": "ION API user"},
                "purchaseOrder": {"id": po, "status": "DRAFT", "description": "d"},
            }})
        );
    }

    #[test]
    fn skip_and_include_follow_their_variables() {
        let (mut st, _, _) = state();
        let doc = "query Q($skip: Boolean!, $with: Boolean = false) {
                     me { id @skip(if: $skip) name @include(if: $with) email @include(if: true) }
                   }";
        let (_, v) = run(&mut st, doc, None, json!({"skip": true}));
        assert_eq!(v, json!({"data": {"me": {"email": "api@example.com"}}}));
        let (_, v) = run(&mut st, doc, None, json!({"skip": false, "with": true}));
        assert_eq!(
            v,
            json!({"data": {"me": {"id": 1, "name": "ION API user", "email": "api@example.com"}}})
        );
    }

    #[test]
    fn typename_answers_on_roots_rows_and_built_objects() {
        let (mut st, po, _) = state();
        let (_, v) = run(
            &mut st,
            "{ __typename me { __typename organization { __typename } }
               purchaseOrders { __typename pageInfo { __typename } edges { __typename node { __typename id } } } }",
            None,
            json!({}),
        );
        assert_eq!(
            v,
            json!({"data": {
                "__typename": "Query",
                "me": {"__typename": "User", "organization": {"__typename": "Organization"}},
                "purchaseOrders": {
                    "__typename": "PurchaseOrdersConnection",
                    "pageInfo": {"__typename": "IonPageInfo"},
                    "edges": [{"__typename": "PurchaseOrdersEdge", "node": {"__typename": "PurchaseOrder", "id": po}}],
                },
            }})
        );
        let (_, v) = run(
            &mut st,
            "mutation { __typename createSupplier(input: {name: \"S\"}) { __typename } }",
            None,
            json!({}),
        );
        assert_eq!(
            v,
            json!({"data": {"__typename": "Mutation", "createSupplier": {"__typename": "CreateSupplier"}}})
        );
    }

    #[test]
    fn a_failing_non_null_field_nulls_its_nearest_nullable_parent() {
        let (mut st, po, _) = state();
        // `createdById: Int!` is not simulated: each line (a nullable list item) becomes null,
        // its siblings and the PO survive.
        let (_, v) = run(
            &mut st,
            "query Q($id: ID!) { purchaseOrder(id: $id) { id purchaseOrderLines { id createdById } } }",
            None,
            json!({"id": po}),
        );
        assert_eq!(
            v["data"],
            json!({"purchaseOrder": {"id": po, "purchaseOrderLines": [null, null]}})
        );
        let errors = v["errors"].as_array().expect("errors");
        assert_eq!(errors.len(), 2);
        assert_eq!(
            errors[1],
            json!({
                "message": "ION simulator: field PurchaseOrderLine.createdById is not implemented",
                "locations": [{"line": 1, "column": 73}],
                "path": ["purchaseOrder", "purchaseOrderLines", 1, "createdById"],
            })
        );
        // Through a connection: the edge's nullable `node` takes the null, `cursor` stays.
        let (_, v) = run(
            &mut st,
            "{ purchaseOrders { edges { node { id updatedById } cursor } } }",
            None,
            json!({}),
        );
        assert_eq!(v["data"]["purchaseOrders"]["edges"][0]["node"], Value::Null);
        assert!(v["data"]["purchaseOrders"]["edges"][0]["cursor"].is_string());
        assert_eq!(
            v["errors"][0]["path"],
            json!(["purchaseOrders", "edges", 0, "node", "updatedById"])
        );
        // A nullable field that fails is null itself, and the rest of the answer stands.
        let (_, v) = run(
            &mut st,
            "{ me { id } currencies { pageInfo { count } } }",
            None,
            json!({}),
        );
        assert_eq!(v["data"], json!({"me": {"id": 1}, "currencies": null}));
        assert_eq!(
            v["errors"][0]["message"],
            "ION simulator: Query.currencies is not implemented"
        );
    }

    #[test]
    fn variables_take_their_defaults_and_bad_ones_are_request_errors() {
        let (mut st, po, _) = state();
        let doc = format!(
            "query Q($id: ID = {po}, $first: Int = 1) {{ purchaseOrder(id: $id) {{ id }} purchaseOrders(first: $first) {{ pageInfo {{ count }} }} }}"
        );
        let (_, v) = run(&mut st, &doc, None, json!({}));
        assert_eq!(
            v,
            json!({"data": {"purchaseOrder": {"id": po}, "purchaseOrders": {"pageInfo": {"count": 1}}}})
        );
        // Coercion wraps a single value where the variable is a list.
        let (_, v) = run(
            &mut st,
            "query Q($ids: [ID]) { purchaseOrders(filters: { id: { in: $ids } }) { edges { node { id } } } }",
            None,
            json!({"ids": po}),
        );
        assert_eq!(
            v,
            json!({"data": {"purchaseOrders": {"edges": [{"node": {"id": po}}]}}})
        );
        let (_, v) = run(
            &mut st,
            "query Q($id: ID!) { purchaseOrder(id: $id) { id } }",
            None,
            json!({}),
        );
        assert_eq!(
            v,
            json!({"errors": [{"message": "missing value for non-null variable 'id'"}]})
        );
        let (_, v) = run(
            &mut st,
            "query Q($first: Int) { purchaseOrders(first: $first) { pageInfo { count } } }",
            None,
            json!({"first": "many"}),
        );
        assert!(v.get("data").is_none(), "{v}");
        assert!(
            v["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("variable first"),
            "{v}"
        );
    }

    #[test]
    fn operation_names_pick_one_operation() {
        let (mut st, _, _) = state();
        let doc = "query A { me { id } } query B { me { name } }";
        let (_, v) = run(&mut st, doc, Some("B"), json!({}));
        assert_eq!(v, json!({"data": {"me": {"name": "ION API user"}}}));
        for name in [None, Some("C")] {
            let (_, v) = run(&mut st, doc, name, json!({}));
            assert!(v.get("data").is_none(), "{v}");
            assert!(v["errors"][0]["message"].is_string(), "{v}");
        }
    }

    #[test]
    fn arguments_from_literals_with_variables_inside_and_input_field_defaults() {
        let (mut st, po, lines) = state();
        // A nested input object mixing literals and a variable; a list given as a single value.
        let (_, v) = run(
            &mut st,
            "query Q($v: ID) {
               purchaseOrderLines(filters: { purchaseOrderId: { eq: $v }, attributes: { key: { in: \"n\" } } }) {
                 edges { node { id } }
               }
             }",
            None,
            json!({"v": po}),
        );
        assert_eq!(
            v,
            json!({"data": {"purchaseOrderLines": {"edges": [{"node": {"id": lines[1]}}]}}})
        );
        // One variable in two arguments of a field, and again in a second root field.
        let (_, v) = run(
            &mut st,
            "query Q($n: Int) {
               a: purchaseOrderLines(first: $n, filters: { position: { lte: $n } }) { edges { node { id } } }
               b: purchaseOrderLines(first: $n) { pageInfo { count totalCount } }
             }",
            None,
            json!({"n": 1}),
        );
        assert_eq!(
            v,
            json!({"data": {
                "a": {"edges": [{"node": {"id": lines[0]}}]},
                "b": {"pageInfo": {"count": 1, "totalCount": 2}},
            }})
        );
        // Defaults of input fields (`similarity: Float = 0.5`) and lists from single values, as
        // the resolver receives them.
        let document = validate(
            "query Q($x: ScalarValue) {
               purchaseOrders(filters: { attributes: { value: { fuzzyMatch: { value: $x } } } }, sort: ID_ASC, first: 2) { __typename }
             }",
        )
        .expect("valid");
        let operation = document.operations.get(None).expect("one operation");
        let ctx = Ctx {
            st: RefCell::new(&mut st),
            conflict: Cell::new(false),
        };
        let mut w = Walker {
            ctx: &ctx,
            doc: &document,
            vars: &mut json!({"x": "abc"}).as_object().cloned().unwrap_or_default(),
            errors: Vec::new(),
            out: Vec::new(),
        };
        let field = operation.selection_set.selections[0]
            .as_field()
            .expect("a field");
        let args = w
            .arguments(None, field)
            .unwrap_or_else(|_| panic!("arguments fail: {}", w.errors[0].message));
        assert_eq!(
            args.value,
            json!({
                "filters": {"attributes": {"value": {"fuzzyMatch": {"value": "abc", "similarity": 0.5}}}},
                "sort": ["ID_ASC"],
                "first": 2,
            })
        );
    }

    #[test]
    fn mutations_complete_each_root_field_before_the_next() {
        let (mut st, po, _) = state();
        let part = st.add_part("P-2", "A");
        let line = "purchaseOrderLine { id purchaseOrder { _etag } }";
        let (_, v) = run(
            &mut st,
            &format!(
                "mutation M($i: CreatePurchaseOrderLineInput!) {{ l0: createPurchaseOrderLine(input: $i) {{ {line} }} l1: createPurchaseOrderLine(input: $i) {{ {line} }} }}"
            ),
            None,
            json!({"i": {"purchaseOrderId": po, "partId": part, "quantity": 1}}),
        );
        let l0 = &v["data"]["l0"]["purchaseOrderLine"];
        let l1 = &v["data"]["l1"]["purchaseOrderLine"];
        assert!(l0["id"].as_i64() < l1["id"].as_i64(), "{v}");
        // Each line write bumps the PO's etag: l0's answer shows the etag before l1 ran.
        assert_ne!(
            l0["purchaseOrder"]["_etag"], l1["purchaseOrder"]["_etag"],
            "{v}"
        );
        assert_eq!(
            l1["purchaseOrder"]["_etag"].as_str(),
            Some(st.purchase_orders[&po].meta.etag.as_str())
        );
    }

    #[test]
    fn conflicts_carry_their_code_and_flag_the_execution() {
        let (mut st, po, _) = state();
        let document = validate(
            "mutation D($id: ID!) { gone: deletePurchaseOrder(id: $id, etag: \"stale\") { id } }",
        )
        .expect("valid");
        let vars = json!({"id": po}).as_object().cloned().unwrap_or_default();
        let mut prepared = prepare(&document, None, vars).unwrap_or_else(|e| panic!("{e}"));
        let executed = execute(&mut st, &document, &mut prepared);
        assert!(executed.conflict);
        let v: Value = serde_json::from_str(&executed.body).expect("JSON");
        assert_eq!(v["data"], json!({"gone": null}));
        assert_eq!(v["errors"][0]["extensions"], json!({"code": "CONFLICT"}));
        assert_eq!(v["errors"][0]["path"], json!(["gone"]));
        assert!(
            v["errors"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with("Etag mismatch for PurchaseOrder")
        );
    }

    #[test]
    fn json_leaves_become_objects_where_the_schema_has_objects() {
        let (mut st, po, _) = state();
        let (_, v) = run(
            &mut st,
            "query Q($id: ID!) {
               purchaseOrder(id: $id) { purchaseOrderLines { attributes { key value type } quantity } }
               me { organization { settings { purchaseOrderLines { attributes { key type options } } } } }
             }",
            None,
            json!({"id": po}),
        );
        assert_eq!(
            v,
            json!({"data": {
                "purchaseOrder": {"purchaseOrderLines": [
                    {"attributes": [], "quantity": 2.0},
                    {"attributes": [{"key": "n", "value": 7, "type": "NUMBER"}], "quantity": 3.0},
                ]},
                "me": {"organization": {"settings": {"purchaseOrderLines": {
                    "attributes": [{"key": "n", "type": "NUMBER", "options": []}],
                }}}},
            }})
        );
    }
}
