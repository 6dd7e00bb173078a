//! Column types: one enum for both dialects, parsed from what the catalogs print
//! (`int(11) unsigned`, `character varying(20)`) and rendered back canonically.
//!
//! Parsing never fails: a type we do not understand becomes [`DataType::Other`], which
//! lint reports as `UNSUPPORTED_FEATURE` and diff treats as opaque text.

use crate::Dialect;
mod spelling;

use spelling::{is_plain_type_name, split_type, unquote_type_name};

use crate::sql_text::{quote_identifier, quote_string, split_quoted_list};

/// Integer widths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IntegerKind {
    /// 1 byte (`tinyint`; MariaDB `bool`).
    Tiny,
    /// 2 bytes.
    Small,
    /// 3 bytes (MariaDB).
    Medium,
    /// 4 bytes.
    Int,
    /// 8 bytes.
    Big,
}

/// Sizes of MariaDB TEXT/BLOB types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LobSize {
    /// `TINYTEXT` / `TINYBLOB`.
    Tiny,
    /// `TEXT` / `BLOB`.
    Regular,
    /// `MEDIUMTEXT` / `MEDIUMBLOB`.
    Medium,
    /// `LONGTEXT` / `LONGBLOB`.
    Long,
}

impl LobSize {
    fn prefix(self) -> &'static str {
        match self {
            LobSize::Tiny => "tiny",
            LobSize::Regular => "",
            LobSize::Medium => "medium",
            LobSize::Long => "long",
        }
    }
}

/// A column type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DataType {
    /// Integers. Display widths (`int(11)`) carry no meaning and are dropped.
    Integer {
        /// Width.
        kind: IntegerKind,
        /// MariaDB `UNSIGNED`.
        unsigned: bool,
    },
    /// PostgreSQL `boolean` (MariaDB's `bool` is `tinyint`).
    Boolean,
    /// `decimal(p,s)` / `numeric(p,s)`; `None` precision is PostgreSQL's unconstrained
    /// numeric.
    Decimal {
        /// Total digits.
        precision: Option<u32>,
        /// Digits after the point.
        scale: Option<u32>,
        /// MariaDB `UNSIGNED`.
        unsigned: bool,
    },
    /// 4-byte float (`float`, `real`).
    Float {
        /// MariaDB `UNSIGNED`.
        unsigned: bool,
    },
    /// 8-byte float (`double`, `double precision`).
    Double {
        /// MariaDB `UNSIGNED`.
        unsigned: bool,
    },
    /// `bit(n)`.
    Bit(u32),
    /// `char(n)`.
    Char(u32),
    /// `varchar(n)`; `None` is PostgreSQL's unbounded `character varying`.
    Varchar(Option<u32>),
    /// MariaDB `binary(n)`.
    Binary(u32),
    /// MariaDB `varbinary(n)`.
    Varbinary(u32),
    /// TEXT types (PostgreSQL `text` is [`LobSize::Long`]).
    Text(LobSize),
    /// MariaDB BLOB types.
    Blob(LobSize),
    /// PostgreSQL `bytea`.
    Bytea,
    /// MariaDB `enum(...)`.
    Enum(Vec<String>),
    /// MariaDB `set(...)`.
    Set(Vec<String>),
    /// `date`.
    Date,
    /// `time(p)`; precision `None` is the default.
    Time {
        /// Fractional digits.
        precision: Option<u32>,
        /// PostgreSQL `with time zone`.
        with_time_zone: bool,
    },
    /// MariaDB `datetime(p)`.
    DateTime {
        /// Fractional digits.
        precision: Option<u32>,
    },
    /// `timestamp(p)`.
    Timestamp {
        /// Fractional digits.
        precision: Option<u32>,
        /// PostgreSQL `with time zone`.
        with_time_zone: bool,
    },
    /// MariaDB `year`.
    Year,
    /// PostgreSQL `interval`.
    Interval,
    /// `json` (MariaDB: an alias of `longtext` with a `json_valid` check).
    Json,
    /// PostgreSQL `jsonb`.
    Jsonb,
    /// `uuid`.
    Uuid,
    /// MariaDB `inet4` / PostgreSQL `inet`.
    Inet,
    /// MariaDB `inet6`.
    Inet6,
    /// Geometry types by name (`geometry`, `point`, ...).
    Geometry(String),
    /// PostgreSQL array of an element type.
    Array(Box<DataType>),
    /// A user-defined type by name (PostgreSQL enum types).
    Named(String),
    /// A type this engine does not model, verbatim.
    Other(String),
}

impl DataType {
    /// `int`.
    pub const INT: DataType = DataType::Integer {
        kind: IntegerKind::Int,
        unsigned: false,
    };
    /// `bigint`.
    pub const BIGINT: DataType = DataType::Integer {
        kind: IntegerKind::Big,
        unsigned: false,
    };

    /// Parses a catalog type string of `dialect`. Never fails.
    pub fn parse(text: &str, dialect: Dialect) -> DataType {
        let trimmed = text.trim();
        let lower = trimmed.to_ascii_lowercase();
        if dialect == Dialect::Postgres
            && let Some(element) = lower.strip_suffix("[]")
        {
            let element_text = &trimmed[..element.len()];
            return DataType::Array(Box::new(DataType::parse(element_text, dialect)));
        }
        // Split "name(args) modifiers" without touching quoted enum values.
        let (name, args, rest) = split_type(trimmed);
        let name_lower = name.to_ascii_lowercase();
        let rest_lower = rest.to_ascii_lowercase();
        let unsigned = rest_lower.split_whitespace().any(|word| word == "unsigned");
        let numbers: Vec<u32> = args
            .as_deref()
            .map(|a| a.split(',').filter_map(|n| n.trim().parse().ok()).collect())
            .unwrap_or_default();
        let first = numbers.first().copied();
        let integer = |kind| DataType::Integer { kind, unsigned };
        let with_tz = rest_lower.contains("with time zone");
        let parsed = match name_lower.as_str() {
            "tinyint" | "int1" => integer(IntegerKind::Tiny),
            "bool" | "boolean" if dialect == Dialect::Mariadb => integer(IntegerKind::Tiny),
            "bool" | "boolean" => DataType::Boolean,
            "smallint" | "int2" => integer(IntegerKind::Small),
            "mediumint" | "int3" | "middleint" => integer(IntegerKind::Medium),
            "int" | "integer" | "int4" => integer(IntegerKind::Int),
            "bigint" | "int8" => integer(IntegerKind::Big),
            "decimal" | "numeric" | "dec" | "fixed" => DataType::Decimal {
                precision: first,
                scale: numbers.get(1).copied(),
                unsigned,
            },
            "float" if numbers.len() >= 2 => DataType::Other(lower.clone()),
            "float" if dialect == Dialect::Postgres && first.is_some_and(|p| p > 24) => {
                DataType::Double { unsigned }
            }
            "float" if first.is_some_and(|p| p > 24) => DataType::Double { unsigned },
            "float" | "float4" | "real" if dialect == Dialect::Postgres || name_lower != "real" => {
                DataType::Float { unsigned }
            }
            "double" | "float8" | "real" => DataType::Double { unsigned },
            "double precision" => DataType::Double { unsigned },
            "bit" => DataType::Bit(first.unwrap_or(1)),
            "char" | "character" | "bpchar" => DataType::Char(first.unwrap_or(1)),
            "varchar" | "character varying" => DataType::Varchar(first),
            "binary" => DataType::Binary(first.unwrap_or(1)),
            "varbinary" => DataType::Varbinary(first.unwrap_or(0)),
            "tinytext" => DataType::Text(LobSize::Tiny),
            "text" if dialect == Dialect::Postgres => DataType::Text(LobSize::Long),
            "text" => DataType::Text(LobSize::Regular),
            "mediumtext" => DataType::Text(LobSize::Medium),
            "longtext" => DataType::Text(LobSize::Long),
            "tinyblob" => DataType::Blob(LobSize::Tiny),
            "blob" => DataType::Blob(LobSize::Regular),
            "mediumblob" => DataType::Blob(LobSize::Medium),
            "longblob" => DataType::Blob(LobSize::Long),
            "bytea" => DataType::Bytea,
            "enum" if dialect == Dialect::Mariadb => {
                DataType::Enum(split_quoted_list(args.as_deref().unwrap_or("")))
            }
            "set" if dialect == Dialect::Mariadb => {
                DataType::Set(split_quoted_list(args.as_deref().unwrap_or("")))
            }
            "date" => DataType::Date,
            "time" | "timetz" => DataType::Time {
                precision: first,
                with_time_zone: with_tz || name_lower == "timetz",
            },
            "datetime" => DataType::DateTime { precision: first },
            "timestamp" | "timestamptz" => DataType::Timestamp {
                precision: first,
                with_time_zone: with_tz || name_lower == "timestamptz",
            },
            "year" => DataType::Year,
            "interval" if args.is_none() && rest.is_empty() => DataType::Interval,
            "json" => DataType::Json,
            "jsonb" => DataType::Jsonb,
            "uuid" => DataType::Uuid,
            "inet" | "inet4" => DataType::Inet,
            "inet6" => DataType::Inet6,
            "geometry" | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring"
            | "multipolygon" | "geometrycollection"
                if dialect == Dialect::Mariadb =>
            {
                DataType::Geometry(name_lower.clone())
            }
            _ => DataType::Other(trimmed.to_owned()),
        };
        // Modifiers other than unsigned/zerofill/time zones are outside the model.
        let known_rest = rest_lower.split_whitespace().all(|word| {
            matches!(
                word,
                "unsigned" | "signed" | "with" | "without" | "time" | "zone"
            )
        });
        if !known_rest || rest_lower.contains("zerofill") {
            return DataType::Other(trimmed.to_owned());
        }
        if dialect == Dialect::Postgres
            && matches!(parsed, DataType::Other(_))
            && is_plain_type_name(trimmed)
        {
            return DataType::Named(unquote_type_name(trimmed));
        }
        parsed
    }

    /// The canonical SQL spelling for `dialect`.
    pub fn render(&self, dialect: Dialect) -> String {
        let unsigned_suffix = |unsigned: bool| {
            if unsigned && dialect == Dialect::Mariadb {
                " unsigned"
            } else {
                ""
            }
        };
        let precision = |p: &Option<u32>| p.map(|p| format!("({p})")).unwrap_or_default();
        let postgres = dialect == Dialect::Postgres;
        match self {
            DataType::Integer { kind, unsigned } => {
                let name = match (kind, postgres) {
                    (IntegerKind::Tiny, false) => "tinyint",
                    (IntegerKind::Tiny | IntegerKind::Small, true) => "smallint",
                    (IntegerKind::Small, false) => "smallint",
                    (IntegerKind::Medium, false) => "mediumint",
                    (IntegerKind::Medium | IntegerKind::Int, true) => "integer",
                    (IntegerKind::Int, false) => "int",
                    (IntegerKind::Big, _) => "bigint",
                };
                format!("{name}{}", unsigned_suffix(*unsigned))
            }
            DataType::Boolean if postgres => "boolean".to_owned(),
            DataType::Boolean => "tinyint(1)".to_owned(),
            DataType::Decimal {
                precision,
                scale,
                unsigned,
            } => {
                let name = if postgres { "numeric" } else { "decimal" };
                let args = match (precision, scale) {
                    (Some(p), Some(s)) => format!("({p},{s})"),
                    (Some(p), None) => format!("({p})"),
                    _ => String::new(),
                };
                format!("{name}{args}{}", unsigned_suffix(*unsigned))
            }
            DataType::Float { unsigned } if postgres => {
                let _ = unsigned;
                "real".to_owned()
            }
            DataType::Float { unsigned } => format!("float{}", unsigned_suffix(*unsigned)),
            DataType::Double { .. } if postgres => "double precision".to_owned(),
            DataType::Double { unsigned } => format!("double{}", unsigned_suffix(*unsigned)),
            DataType::Bit(n) => format!("bit({n})"),
            DataType::Char(n) if postgres => format!("character({n})"),
            DataType::Char(n) => format!("char({n})"),
            DataType::Varchar(Some(n)) if postgres => format!("character varying({n})"),
            DataType::Varchar(None) if postgres => "character varying".to_owned(),
            DataType::Varchar(n) => format!("varchar({})", n.unwrap_or(255)),
            DataType::Binary(n) => format!("binary({n})"),
            DataType::Varbinary(n) => format!("varbinary({n})"),
            DataType::Text(_) if postgres => "text".to_owned(),
            DataType::Text(size) => format!("{}text", size.prefix()),
            DataType::Blob(_) if postgres => "bytea".to_owned(),
            DataType::Blob(size) => format!("{}blob", size.prefix()),
            DataType::Bytea if postgres => "bytea".to_owned(),
            DataType::Bytea => "longblob".to_owned(),
            DataType::Enum(values) => format!("enum({})", quoted_list(values)),
            DataType::Set(values) => format!("set({})", quoted_list(values)),
            DataType::Date => "date".to_owned(),
            DataType::Time {
                precision: p,
                with_time_zone,
            } => {
                if postgres {
                    let zone = if *with_time_zone { "with" } else { "without" };
                    format!("time{} {zone} time zone", precision(p))
                } else {
                    format!("time{}", precision(p))
                }
            }
            DataType::DateTime { precision: p } if postgres => {
                format!("timestamp{} without time zone", precision(p))
            }
            DataType::DateTime { precision: p } => format!("datetime{}", precision(p)),
            DataType::Timestamp {
                precision: p,
                with_time_zone,
            } => {
                if postgres {
                    let zone = if *with_time_zone { "with" } else { "without" };
                    format!("timestamp{} {zone} time zone", precision(p))
                } else {
                    format!("timestamp{}", precision(p))
                }
            }
            DataType::Year => "year".to_owned(),
            DataType::Interval => "interval".to_owned(),
            DataType::Json => "json".to_owned(),
            DataType::Jsonb if postgres => "jsonb".to_owned(),
            DataType::Jsonb => "json".to_owned(),
            DataType::Uuid => "uuid".to_owned(),
            DataType::Inet if postgres => "inet".to_owned(),
            DataType::Inet => "inet4".to_owned(),
            DataType::Inet6 => "inet6".to_owned(),
            DataType::Geometry(name) => name.clone(),
            DataType::Array(element) => format!("{}[]", element.render(dialect)),
            DataType::Named(name) => quote_identifier(name, dialect),
            DataType::Other(text) => text.clone(),
        }
    }

    /// Whether values of this type carry a character set and collation (MariaDB).
    pub fn has_collation(&self) -> bool {
        matches!(
            self,
            DataType::Char(_)
                | DataType::Varchar(_)
                | DataType::Text(_)
                | DataType::Enum(_)
                | DataType::Set(_)
        )
    }

    /// TEXT or BLOB: cannot be fully indexed on MariaDB.
    pub fn is_text_or_blob(&self) -> bool {
        matches!(
            self,
            DataType::Text(_) | DataType::Blob(_) | DataType::Json | DataType::Bytea
        )
    }

    /// Numeric types, whose literal defaults are numbers.
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            DataType::Integer { .. }
                | DataType::Decimal { .. }
                | DataType::Float { .. }
                | DataType::Double { .. }
                | DataType::Year
        )
    }
}

fn quoted_list(values: &[String]) -> String {
    values
        .iter()
        .map(|value| quote_string(value, Dialect::Mariadb))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mariadb_spellings_parse_to_one_type() {
        let m = Dialect::Mariadb;
        assert_eq!(DataType::parse("int(11)", m), DataType::INT);
        assert_eq!(DataType::parse("INT", m), DataType::INT);
        assert_eq!(DataType::parse("tinyint(1)", m), DataType::parse("bool", m));
        assert_eq!(
            DataType::parse("int(10) unsigned", m),
            DataType::Integer {
                kind: IntegerKind::Int,
                unsigned: true
            }
        );
        assert_eq!(
            DataType::parse("enum('a','b,c','it''s')", m),
            DataType::Enum(vec!["a".into(), "b,c".into(), "it's".into()])
        );
        assert_eq!(DataType::parse("datetime(3)", m).render(m), "datetime(3)");
        assert!(matches!(
            DataType::parse("int(11) zerofill", m),
            DataType::Other(_)
        ));
        assert!(matches!(
            DataType::parse("frobnicate", m),
            DataType::Other(_)
        ));
    }

    #[test]
    fn postgres_spellings_parse_to_one_type() {
        let p = Dialect::Postgres;
        assert_eq!(DataType::parse("integer", p), DataType::parse("int4", p));
        assert_eq!(
            DataType::parse("character varying(20)", p),
            DataType::Varchar(Some(20))
        );
        assert_eq!(
            DataType::parse("timestamp(3) with time zone", p),
            DataType::Timestamp {
                precision: Some(3),
                with_time_zone: true
            }
        );
        assert_eq!(
            DataType::parse("text[]", p),
            DataType::Array(Box::new(DataType::Text(LobSize::Long)))
        );
        assert_eq!(DataType::parse("mood", p), DataType::Named("mood".into()));
        assert_eq!(
            DataType::parse("double precision", p).render(p),
            "double precision"
        );
        assert_eq!(DataType::parse("real", p).render(p), "real");
    }
}
