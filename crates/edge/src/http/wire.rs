//! The HTTP API's JSON, as PlanetScale's `psdb.v1alpha1.Database` service encodes it
//! (protobuf's JSON mapping): lowerCamelCase names, 64-bit integers as strings, bytes as
//! base64, zero values left out.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `Execute`'s request. The session is whatever the last response carried (the driver
/// sends it back untouched, `null` at first).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecuteRequest {
    #[serde(default)]
    pub query: String,
    #[serde(default)]
    pub session: Option<Value>,
}

/// `CreateSession`'s and `CloseSession`'s request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRequest {
    #[serde(default)]
    pub session: Option<Value>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecuteResponse {
    pub session: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<QueryResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<RpcError>,
    /// Seconds the statement took at the edge.
    pub timing: f64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateSessionResponse {
    /// The branch's id.
    pub branch: String,
    pub user: User,
    pub session: Value,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub username: String,
    pub role: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CloseSessionResponse {
    pub session: Value,
}

/// Vitess's `query.QueryResult`.
#[derive(Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct QueryResult {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
    #[serde(skip_serializing_if = "is_zero", serialize_with = "as_string")]
    pub rows_affected: u64,
    #[serde(skip_serializing_if = "is_zero", serialize_with = "as_string")]
    pub insert_id: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<Row>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub info: String,
}

/// Vitess's `query.Field`.
#[derive(Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Field {
    pub name: String,
    /// Vitess's type name; absent for `NULL_TYPE` (the enum's zero).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub table: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub org_table: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub database: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub org_name: String,
    #[serde(skip_serializing_if = "is_zero32")]
    pub column_length: u32,
    #[serde(skip_serializing_if = "is_zero32")]
    pub charset: u32,
    #[serde(skip_serializing_if = "is_zero32")]
    pub decimals: u32,
    #[serde(skip_serializing_if = "is_zero32")]
    pub flags: u32,
}

/// A row: each value's length (-1 for NULL) and the values end to end, base64.
#[derive(Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    #[serde(serialize_with = "lengths_as_strings")]
    pub lengths: Vec<i64>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub values: String,
}

/// Vitess's `vtrpc.RPCError`: an SQL error inside a successful HTTP exchange.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RpcError {
    pub code: &'static str,
    pub message: String,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

fn is_zero32(value: &u32) -> bool {
    *value == 0
}

fn as_string<S: serde::Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

fn lengths_as_strings<S: serde::Serializer>(
    lengths: &[i64],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = serializer.serialize_seq(Some(lengths.len()))?;
    for length in lengths {
        seq.serialize_element(&length.to_string())?;
    }
    seq.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_strings_and_zeros_are_left_out() {
        let result = QueryResult {
            fields: vec![Field {
                name: "id".into(),
                kind: Some("INT64"),
                charset: 63,
                ..Field::default()
            }],
            rows_affected: 0,
            insert_id: 7,
            rows: vec![Row {
                lengths: vec![1, -1],
                values: "MQ==".into(),
            }],
            info: String::new(),
        };
        assert_eq!(
            serde_json::to_value(&result).unwrap(),
            serde_json::json!({
                "fields": [{"name": "id", "type": "INT64", "charset": 63}],
                "insertId": "7",
                "rows": [{"lengths": ["1", "-1"], "values": "MQ=="}],
            })
        );
    }
}
