//! A deserializer over a parsed JSON value that reads a struct only from a JSON object.
//!
//! serde's derived structs also accept a JSON array (fields by position), so `[null, null]`
//! would pass as a body whose fields are all optional. The API documents every request
//! body, and every object nested in one, as a JSON object; this deserializer refuses
//! anything else at every depth, and [`super::JsonBody`] reads every body through it.

use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::Value;

/// A JSON value whose structs must be objects.
pub(super) struct ObjectsOnly(pub Value);

type Error = serde_json::Error;

/// The JSON name of a value's type, for messages.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn visit_object<'de, V: Visitor<'de>>(
    object: serde_json::Map<String, Value>,
    visitor: V,
) -> Result<V::Value, Error> {
    let mut map = MapDeserializer::new(
        object
            .into_iter()
            .map(|(key, value)| (key, ObjectsOnly(value))),
    );
    let value = visitor.visit_map(&mut map)?;
    map.end()?;
    Ok(value)
}

fn visit_array<'de, V: Visitor<'de>>(array: Vec<Value>, visitor: V) -> Result<V::Value, Error> {
    let mut seq = SeqDeserializer::new(array.into_iter().map(ObjectsOnly));
    let value = visitor.visit_seq(&mut seq)?;
    seq.end()?;
    Ok(value)
}

impl<'de> de::Deserializer<'de> for ObjectsOnly {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(value) => visitor.visit_bool(value),
            Value::Number(number) => number.deserialize_any(visitor),
            Value::String(text) => visitor.visit_string(text),
            Value::Array(array) => visit_array(array, visitor),
            Value::Object(object) => visit_object(object, visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(ObjectsOnly(other)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(object) => visit_object(object, visitor),
            other => Err(de::Error::custom(format_args!(
                "must be a JSON object, not {}",
                json_type(&other)
            ))),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        // Enums in bodies are plain strings; serde_json's own rules apply.
        de::Deserializer::deserialize_enum(self.0, name, variants, visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

impl<'de> IntoDeserializer<'de, Error> for ObjectsOnly {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::ObjectsOnly;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Inner {
        size: Option<i64>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Body {
        name: Option<String>,
        flag: Option<bool>,
        list: Option<Vec<String>>,
        inner: Option<Inner>,
    }

    fn read(text: &str) -> Result<Body, String> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        serde_path_to_error::deserialize(ObjectsOnly(value)).map_err(|e| e.to_string())
    }

    #[test]
    fn objects_read_as_before() {
        let body =
            read(r#"{"name":"a","flag":true,"list":["x"],"inner":{"size":3},"extra":1}"#).unwrap();
        assert_eq!(
            body,
            Body {
                name: Some("a".into()),
                flag: Some(true),
                list: Some(vec!["x".into()]),
                inner: Some(Inner { size: Some(3) }),
            }
        );
        assert_eq!(read(r#"{"inner":null}"#).unwrap().inner, None);
    }

    #[test]
    fn arrays_and_scalars_are_not_structs_at_any_depth() {
        assert_eq!(
            read("[null, null]").unwrap_err(),
            "must be a JSON object, not an array"
        );
        assert_eq!(
            read("7").unwrap_err(),
            "must be a JSON object, not a number"
        );
        assert_eq!(
            read(r#"{"inner":[1]}"#).unwrap_err(),
            "inner: must be a JSON object, not an array"
        );
    }

    #[test]
    fn field_types_are_still_checked() {
        assert!(read(r#"{"flag":"yes"}"#).unwrap_err().starts_with("flag: "));
        assert!(
            read(r#"{"inner":{"size":1.5}}"#)
                .unwrap_err()
                .starts_with("inner.size: ")
        );
        assert!(read(r#"{"list":"x"}"#).unwrap_err().starts_with("list: "));
    }
}
