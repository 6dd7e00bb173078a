//! Column defaults: literals and expressions in one spelling per type.
//!
//! Catalogs print defaults differently from how they were written: MariaDB pads decimals
//! (`1.50`) and quotes strings; PostgreSQL adds casts (`'x'::character varying`,
//! `'-1'::integer`). A default that is a single literal becomes
//! [`ColumnDefault::Literal`] with its bare value, canonical for the column's type.

use crate::model::{Column, ColumnDefault, DataType};
use crate::sql_text::{Token, normalize_expr, tokenize, unquote_string};
use crate::{Dialect, Expr};

pub(super) fn normalize_default(
    default: Option<&ColumnDefault>,
    column: &Column,
    dialect: Dialect,
) -> Option<ColumnDefault> {
    let Some(default) = default else {
        // MariaDB gives a NOT NULL datetime with ON UPDATE but no default the zero date.
        let zero_default = dialect == Dialect::Mariadb
            && !column.nullable
            && column.on_update.is_some()
            && matches!(
                column.data_type,
                DataType::DateTime { .. } | DataType::Timestamp { .. }
            );
        return zero_default.then(|| ColumnDefault::Literal(zero_datetime(&column.data_type)));
    };
    let normalized = match default {
        ColumnDefault::Null => ColumnDefault::Null,
        ColumnDefault::Literal(value) => ColumnDefault::Literal(value.clone()),
        ColumnDefault::Expression(expr) => expression_default(&expr.sql, dialect),
    };
    match normalized {
        // DEFAULT NULL on a nullable column is what no default means.
        ColumnDefault::Null if column.nullable => None,
        ColumnDefault::Literal(value) => Some(ColumnDefault::Literal(canonical_literal(
            &value,
            &column.data_type,
        ))),
        other => Some(other),
    }
}

/// `0000-00-00 00:00:00` with the column's fractional digits.
fn zero_datetime(data_type: &DataType) -> String {
    let precision = match data_type {
        DataType::DateTime { precision } | DataType::Timestamp { precision, .. } => {
            precision.unwrap_or(0)
        }
        _ => 0,
    };
    if precision == 0 {
        "0000-00-00 00:00:00".to_owned()
    } else {
        format!("0000-00-00 00:00:00.{}", "0".repeat(precision as usize))
    }
}

/// Classifies an expression default: `NULL`, one literal (possibly cast), or an
/// expression in canonical spelling.
fn expression_default(sql: &str, dialect: Dialect) -> ColumnDefault {
    let normalized = normalize_expr(sql, dialect);
    if normalized.eq_ignore_ascii_case("null") {
        return ColumnDefault::Null;
    }
    let lexemes = tokenize(&normalized, dialect);
    let tokens: Vec<&Token> = lexemes.iter().map(|lexeme| &lexeme.token).collect();
    // `'x'`, `'x'::some type`, `5`, `-5`, `true`.
    let literal_end = match tokens.first() {
        Some(Token::Punct(sign)) if sign == "-" || sign == "+" => {
            if let Some(Token::Number(number)) = tokens.get(1)
                && tokens.len() == 2
            {
                let value = if sign == "-" {
                    format!("-{number}")
                } else {
                    number.clone()
                };
                return ColumnDefault::Literal(value);
            }
            None
        }
        Some(Token::Number(number)) if tokens.len() == 1 => {
            return ColumnDefault::Literal(number.clone());
        }
        Some(Token::Word(word)) if tokens.len() == 1 && (word == "true" || word == "false") => {
            return ColumnDefault::Literal(word.clone());
        }
        Some(Token::String(raw)) => unquote_string(raw, dialect).map(|value| (value, 1)),
        _ => None,
    };
    if let Some((value, consumed)) = literal_end {
        let rest = &tokens[consumed..];
        let only_cast = rest.is_empty()
            || (dialect == Dialect::Postgres
                && matches!(rest.first(), Some(Token::Punct(p)) if p == "::")
                && rest[1..].iter().all(|token| {
                    matches!(token, Token::Word(_) | Token::QuotedIdentifier(_) | Token::Number(_))
                        || matches!(token, Token::Punct(p) if p == "(" || p == ")" || p == "," || p == "." || p == "[" || p == "]")
                }));
        if only_cast {
            return ColumnDefault::Literal(value);
        }
    }
    ColumnDefault::Expression(Expr::new(normalized))
}

/// The canonical text of a literal for a column type: numbers without padding or sign
/// noise, booleans as `true`/`false` (PostgreSQL) or `1`/`0` (MariaDB `tinyint`).
pub(crate) fn canonical_literal(value: &str, data_type: &DataType) -> String {
    match data_type {
        DataType::Boolean => match value.trim().to_ascii_lowercase().as_str() {
            "t" | "true" | "1" | "yes" | "on" | "y" => "true".to_owned(),
            "f" | "false" | "0" | "no" | "off" | "n" => "false".to_owned(),
            _ => value.to_owned(),
        },
        data_type if data_type.is_numeric() => {
            let lower = value.trim().to_ascii_lowercase();
            match lower.as_str() {
                "true" => "1".to_owned(),
                "false" => "0".to_owned(),
                _ => canonical_number(&lower).unwrap_or_else(|| value.to_owned()),
            }
        }
        _ => value.to_owned(),
    }
}

/// `+001.500` → `1.5`, `-0` → `0`, `1e3` kept (exponents are left alone).
fn canonical_number(text: &str) -> Option<String> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let (integer, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if fraction.contains('.') {
        return None;
    }
    let integer = integer.trim_start_matches('0');
    let fraction = fraction.trim_end_matches('0');
    let integer = if integer.is_empty() { "0" } else { integer };
    let mut out = String::new();
    if negative && (integer != "0" || !fraction.is_empty()) {
        out.push('-');
    }
    out.push_str(integer);
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::IntegerKind;

    fn column(data_type: DataType) -> Column {
        Column::new("c", data_type)
    }

    #[test]
    fn defaults_meet_across_spellings() {
        let decimal = column(DataType::Decimal {
            precision: Some(10),
            scale: Some(2),
            unsigned: false,
        });
        let from_server = ColumnDefault::Expression(Expr::new("1.50"));
        let from_user = ColumnDefault::Literal("1.5".into());
        assert_eq!(
            normalize_default(Some(&from_server), &decimal, Dialect::Mariadb),
            normalize_default(Some(&from_user), &decimal, Dialect::Mariadb)
        );
        let varchar = column(DataType::Varchar(Some(20)));
        assert_eq!(
            normalize_default(
                Some(&ColumnDefault::Expression(Expr::new(
                    "'it''s'::character varying"
                ))),
                &varchar,
                Dialect::Postgres
            ),
            Some(ColumnDefault::Literal("it's".into()))
        );
        let int = column(DataType::Integer {
            kind: IntegerKind::Int,
            unsigned: false,
        });
        assert_eq!(
            normalize_default(
                Some(&ColumnDefault::Expression(Expr::new("'-1'::integer"))),
                &int,
                Dialect::Postgres
            ),
            Some(ColumnDefault::Literal("-1".into()))
        );
        assert_eq!(
            normalize_default(
                Some(&ColumnDefault::Expression(Expr::new("NULL"))),
                &int,
                Dialect::Mariadb
            ),
            None
        );
        assert_eq!(
            normalize_default(
                Some(&ColumnDefault::Expression(Expr::new("CURRENT_TIMESTAMP"))),
                &int,
                Dialect::Mariadb
            ),
            Some(ColumnDefault::Expression(Expr::new("current_timestamp()")))
        );
        assert_eq!(canonical_number("+001.500").as_deref(), Some("1.5"));
        assert_eq!(canonical_number("-0.0").as_deref(), Some("0"));
    }
}
