//! A validator for the subset of JSON Schema (OpenAPI 3.0 flavour) that the
//! contract uses.
//!
//! Supported keywords: `type`, `nullable`, `required`, `enum`, `properties`,
//! `additionalProperties`, `items`, `oneOf`, `anyOf`, `allOf`. Everything else
//! (`format`, `default`, ...) is ignored. Extra object properties are allowed
//! unless `additionalProperties` says otherwise, because PlanetScale adds
//! fields over time.

use std::fmt;

use serde_json::{Map, Value};

/// One way a JSON value breaks a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where the problem is, as a path from the root `$`, e.g. `$.data[0].expires_at`.
    pub location: String,
    /// What is wrong there.
    pub message: String,
}

impl Violation {
    /// A violation at `location`.
    pub fn new(location: impl Into<String>, message: impl Into<String>) -> Violation {
        Violation {
            location: location.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// Checks `value` against `schema`, returning every violation found.
pub fn validate_schema(schema: &Value, value: &Value) -> Result<(), Vec<Violation>> {
    let mut out = Vec::new();
    check(schema, value, "$", &mut out);
    if out.is_empty() { Ok(()) } else { Err(out) }
}

/// The JSON type of a value, with integers told apart from other numbers.
pub(super) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn check(schema: &Value, value: &Value, loc: &str, out: &mut Vec<Violation>) {
    let schema = match schema {
        Value::Object(schema) => schema,
        Value::Bool(false) => {
            out.push(Violation::new(loc, "no value is allowed here"));
            return;
        }
        // `true` (or anything else) accepts every value.
        _ => return,
    };

    if value.is_null() {
        if schema.get("nullable") == Some(&Value::Bool(true)) {
            return;
        }
        if schema.contains_key("type") {
            out.push(Violation::new(loc, "null is not allowed (not nullable)"));
            return;
        }
        // An untyped schema: only composed branches (if any) can object.
    }

    if let Some(expected) = schema.get("type")
        && !type_matches(expected, value)
    {
        out.push(Violation::new(
            loc,
            format!(
                "expected type {}, got {}",
                type_name(expected),
                kind_of(value)
            ),
        ));
        // Nothing below makes sense for a value of the wrong type.
        return;
    }

    if let Some(Value::Array(allowed)) = schema.get("enum")
        && !value.is_null()
        && !allowed.contains(value)
    {
        out.push(Violation::new(
            loc,
            format!("{value} is not one of {}", Value::Array(allowed.clone())),
        ));
    }

    match value {
        Value::Object(object) => check_object(schema, object, loc, out),
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(item_schema, item, &format!("{loc}[{i}]"), out);
                }
            }
        }
        _ => {}
    }

    if let Some(Value::Array(branches)) = schema.get("allOf") {
        for branch in branches {
            check(branch, value, loc, out);
        }
    }
    for keyword in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = schema.get(keyword) {
            check_any(keyword, branches, value, loc, out);
        }
    }
}

fn check_object(
    schema: &Map<String, Value>,
    object: &Map<String, Value>,
    loc: &str,
    out: &mut Vec<Violation>,
) {
    if let Some(Value::Array(required)) = schema.get("required") {
        for name in required.iter().filter_map(Value::as_str) {
            if !object.contains_key(name) {
                out.push(Violation::new(
                    child(loc, name),
                    "required property is missing",
                ));
            }
        }
    }
    let properties = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties");
    for (key, value) in object {
        let child_loc = child(loc, key);
        match properties.and_then(|p| p.get(key)) {
            Some(property_schema) => check(property_schema, value, &child_loc, out),
            None => match additional {
                Some(Value::Bool(false)) => {
                    out.push(Violation::new(child_loc, "property is not allowed"));
                }
                Some(extra_schema) => check(extra_schema, value, &child_loc, out),
                None => {}
            },
        }
    }
}

/// `anyOf` / `oneOf`: valid when at least one branch validates.
fn check_any(
    keyword: &str,
    branches: &[Value],
    value: &Value,
    loc: &str,
    out: &mut Vec<Violation>,
) {
    let mut closest: Option<Vec<Violation>> = None;
    for branch in branches {
        let mut found = Vec::new();
        check(branch, value, loc, &mut found);
        if found.is_empty() {
            return;
        }
        if closest.as_ref().is_none_or(|c| found.len() < c.len()) {
            closest = Some(found);
        }
    }
    let hint = closest
        .and_then(|c| c.into_iter().next())
        .map(|v| format!("; closest branch fails with {v}"))
        .unwrap_or_default();
    out.push(Violation::new(
        loc,
        format!(
            "matches none of the {} {keyword} branches{hint}",
            branches.len()
        ),
    ));
}

fn type_matches(expected: &Value, value: &Value) -> bool {
    match expected {
        Value::String(t) => single_type_matches(t, value),
        // JSON Schema allows a list of types; accept any of them.
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .any(|t| single_type_matches(t, value)),
        _ => true,
    }
}

fn single_type_matches(expected: &str, value: &Value) -> bool {
    match expected {
        // Strict: `1.0` is not an integer, because Go clients (the PlanetScale
        // CLI and Terraform provider) refuse to decode it into an int.
        "integer" => kind_of(value) == "integer",
        "number" => value.is_number(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "null" => value.is_null(),
        // An unknown type name is the contract's problem, not the value's.
        _ => true,
    }
}

fn type_name(expected: &Value) -> String {
    match expected {
        Value::String(t) => t.clone(),
        other => other.to_string(),
    }
}

/// The location of property `key` under `loc`: `$.name`, or `$["a b"]` when
/// the key is not a plain identifier.
fn child(loc: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && !key.starts_with(|c: char| c.is_ascii_digit())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        format!("{loc}.{key}")
    } else {
        format!("{loc}[{}]", Value::String(key.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn locations(violations: &[Violation]) -> Vec<&str> {
        violations.iter().map(|v| v.location.as_str()).collect()
    }

    #[test]
    fn enum_is_not_applied_to_null() {
        let schema = json!({"type": "string", "nullable": true, "enum": ["a", "b"]});
        assert_eq!(validate_schema(&schema, &Value::Null), Ok(()));
        assert!(validate_schema(&schema, &json!("c")).is_err());
    }

    #[test]
    fn additional_properties_schema_applies_to_unlisted_keys() {
        let schema = json!({
            "type": "object",
            "properties": {"fixed": {"type": "string"}},
            "additionalProperties": {"type": "integer"}
        });
        let ok = json!({"fixed": "x", "a": 1, "b-c": 2});
        assert_eq!(validate_schema(&schema, &ok), Ok(()));
        let v = validate_schema(&schema, &json!({"fixed": "x", "b-c": "2"})).unwrap_err();
        assert_eq!(locations(&v), ["$[\"b-c\"]"]);

        let closed = json!({"type": "object", "additionalProperties": false});
        let v = validate_schema(&closed, &json!({"x": 1})).unwrap_err();
        assert_eq!(locations(&v), ["$.x"]);
        let open = json!({"type": "object", "additionalProperties": true});
        assert_eq!(validate_schema(&open, &json!({"x": 1})), Ok(()));
    }

    #[test]
    fn composition_keywords() {
        let one_of = json!({"oneOf": [{"type": "string"}, {"type": "integer"}]});
        assert_eq!(validate_schema(&one_of, &json!("s")), Ok(()));
        assert_eq!(validate_schema(&one_of, &json!(3)), Ok(()));
        let v = validate_schema(&one_of, &json!(true)).unwrap_err();
        assert_eq!(v.len(), 1);
        assert!(
            v[0].message
                .starts_with("matches none of the 2 oneOf branches"),
            "{}",
            v[0]
        );

        let any_of = json!({"anyOf": [
            {"type": "object", "required": ["a"]},
            {"type": "object", "required": ["b"]}
        ]});
        assert_eq!(validate_schema(&any_of, &json!({"b": 1})), Ok(()));
        assert!(validate_schema(&any_of, &json!({"c": 1})).is_err());

        let all_of = json!({"allOf": [
            {"type": "object", "required": ["a"]},
            {"type": "object", "properties": {"b": {"type": "boolean"}}}
        ]});
        assert_eq!(
            validate_schema(&all_of, &json!({"a": 1, "b": true})),
            Ok(())
        );
        let v = validate_schema(&all_of, &json!({"b": 1})).unwrap_err();
        assert_eq!(locations(&v), ["$.a", "$.b"]);
    }

    #[test]
    fn null_handling_for_untyped_and_nullable_schemas() {
        assert_eq!(validate_schema(&json!({}), &Value::Null), Ok(()));
        assert_eq!(validate_schema(&json!(true), &Value::Null), Ok(()));
        assert!(validate_schema(&json!(false), &json!(1)).is_err());
        let nullable_obj = json!({"type": "object", "nullable": true, "required": ["a"]});
        assert_eq!(validate_schema(&nullable_obj, &Value::Null), Ok(()));
        let strict = json!({"type": "array", "items": {"type": "string"}});
        let v = validate_schema(&strict, &json!(["a", null])).unwrap_err();
        assert_eq!(locations(&v), ["$[1]"]);
    }

    #[test]
    fn violation_display() {
        let v = Violation::new("$.a", "boom");
        assert_eq!(v.to_string(), "$.a: boom");
        assert_eq!(kind_of(&json!(1.5)), "number");
        assert_eq!(kind_of(&json!(-3)), "integer");
    }
}
