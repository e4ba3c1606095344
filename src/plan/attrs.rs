//! NetSuite field text → ION attribute value (`ScalarValue`), and the tolerant comparison that
//! decides whether ION already holds it.
//!
//! SuiteQL returns every column as text; ION attributes are typed (ion.md §5.1). Converting by
//! the ION type keeps a NUMBER attribute a number and a BOOLEAN a boolean, so ION's own
//! validation never sees `"T"` where it expects `true`.

use serde_json::{Number, Value};

use crate::plan::model::{AttrType, same_amount};

/// Converts one NetSuite field value for an ION attribute of type `ty`.
///
/// `None` or blank text becomes `null` (clears the attribute). A value that does not fit the
/// type is an error naming the value and the type; the caller reports it as a problem and
/// leaves that attribute alone rather than sending something ION would reject.
pub fn convert(text: Option<&str>, ty: AttrType) -> Result<Value, String> {
    let Some(raw) = text else {
        return Ok(Value::Null);
    };
    let t = raw.trim();
    if t.is_empty() {
        return Ok(Value::Null);
    }
    match ty {
        AttrType::Text | AttrType::Select => Ok(Value::String(t.to_string())),
        AttrType::Number => number(t)
            .map(Value::Number)
            .ok_or_else(|| format!("{t:?} is not a number")),
        AttrType::Boolean => match t.to_ascii_lowercase().as_str() {
            "t" | "true" | "y" | "yes" | "1" => Ok(Value::Bool(true)),
            "f" | "false" | "n" | "no" | "0" => Ok(Value::Bool(false)),
            _ => Err(format!("{t:?} is not a boolean (expected T/F)")),
        },
        // BUILTIN.DF on a multi-select returns the display names joined by ", ".
        AttrType::MultiSelect => Ok(Value::Array(
            t.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_string()))
                .collect(),
        )),
    }
}

/// A number as ION will store it: integral values as JSON integers (so `ns_line_id` reads
/// back as `7`, not `7.0`), others as floats. Thousands separators are not accepted: SuiteQL
/// returns plain decimal text, and guessing a locale could silently change a value.
fn number(t: &str) -> Option<Number> {
    if let Ok(i) = t.parse::<i64>() {
        return Some(Number::from(i));
    }
    let f: f64 = t.parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        return Some(Number::from(f as i64));
    }
    Number::from_f64(f)
}

/// Whether ION's current value already equals the value we would write, tolerating the ways
/// the same value comes back: `7` vs `7.0` vs `"7"`, `"T"` vs `true`, surrounding blanks,
/// a missing attribute vs `null`. Too strict a test would re-write (and log an "ION edit") on
/// every reconciliation.
pub fn same_value(ion: Option<&Value>, want: &Value) -> bool {
    let ion = ion.unwrap_or(&Value::Null);
    match (ion, want) {
        (Value::Null, Value::Null) => true,
        (Value::String(s), Value::Null) | (Value::Null, Value::String(s)) => s.trim().is_empty(),
        (Value::Array(a), Value::Null) | (Value::Null, Value::Array(a)) => a.is_empty(),
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => same_amount(x, y),
            _ => a == b,
        },
        (Value::String(s), Value::Number(n)) | (Value::Number(n), Value::String(s)) => {
            match (s.trim().parse::<f64>(), n.as_f64()) {
                (Ok(x), Some(y)) => same_amount(x, y),
                _ => false,
            }
        }
        (Value::String(s), Value::Bool(b)) | (Value::Bool(b), Value::String(s)) => {
            convert(Some(s), AttrType::Boolean) == Ok(Value::Bool(*b))
        }
        (Value::String(a), Value::String(b)) => a.trim() == b.trim(),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_value(Some(x), y))
        }
        (a, b) => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_and_select_pass_through_trimmed() {
        assert_eq!(convert(Some(" Ops "), AttrType::Text), Ok(json!("Ops")));
        assert_eq!(
            convert(Some("J. Buyer"), AttrType::Select),
            Ok(json!("J. Buyer"))
        );
        assert_eq!(convert(None, AttrType::Text), Ok(Value::Null));
        assert_eq!(convert(Some("  "), AttrType::Number), Ok(Value::Null));
    }

    #[test]
    fn numbers() {
        assert_eq!(convert(Some("42"), AttrType::Number), Ok(json!(42)));
        assert_eq!(convert(Some("42.0"), AttrType::Number), Ok(json!(42)));
        assert_eq!(convert(Some("-0.5"), AttrType::Number), Ok(json!(-0.5)));
        assert!(convert(Some("1,234"), AttrType::Number).is_err());
        assert!(convert(Some("NaN"), AttrType::Number).is_err());
        assert!(convert(Some("abc"), AttrType::Number).is_err());
    }

    #[test]
    fn booleans() {
        assert_eq!(convert(Some("T"), AttrType::Boolean), Ok(json!(true)));
        assert_eq!(convert(Some("F"), AttrType::Boolean), Ok(json!(false)));
        assert_eq!(convert(Some("false"), AttrType::Boolean), Ok(json!(false)));
        let err = convert(Some("maybe"), AttrType::Boolean).unwrap_err();
        assert!(err.contains("maybe"));
    }

    #[test]
    fn multiselect_splits_display_text() {
        assert_eq!(
            convert(Some("Red, Green ,Blue"), AttrType::MultiSelect),
            Ok(json!(["Red", "Green", "Blue"]))
        );
        assert_eq!(
            convert(Some("Red"), AttrType::MultiSelect),
            Ok(json!(["Red"]))
        );
    }

    #[test]
    fn tolerant_equality() {
        assert!(same_value(Some(&json!(7.0)), &json!(7)));
        assert!(same_value(Some(&json!("7")), &json!(7)));
        assert!(same_value(Some(&json!("T")), &json!(true)));
        assert!(same_value(None, &Value::Null));
        assert!(same_value(Some(&json!("")), &Value::Null));
        assert!(same_value(Some(&json!(["a", "b"])), &json!(["a", "b"])));
        assert!(!same_value(Some(&json!(["b", "a"])), &json!(["a", "b"])));
        assert!(!same_value(None, &json!("x")));
        assert!(!same_value(Some(&json!(8)), &json!(7)));
        assert!(!same_value(Some(&json!(false)), &json!(true)));
        assert!(!same_value(Some(&json!("x")), &json!("y")));
    }
}
