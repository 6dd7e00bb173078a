//! Quoting names and values into SQL text, for MariaDB and PostgreSQL: the one place the
//! platform does it. Bind values instead wherever the protocol allows it (parameters of a
//! prepared statement, `PREPARE … FROM @q` with a bound `@q`); quote only what cannot be
//! bound — identifiers, and literals inside DDL.
//!
//! MariaDB literals escape the backslash as well as the quote: the platform's sessions run
//! without `NO_BACKSLASH_ESCAPES` (the server default). PostgreSQL literals assume
//! `standard_conforming_strings = on` (the default since 9.1): only the quote is doubled.

/// `` `a``b` ``: any text as a MariaDB identifier.
pub fn mariadb_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `` `db`.`name` ``.
pub fn mariadb_qualified(db: &str, name: &str) -> String {
    format!("{}.{}", mariadb_ident(db), mariadb_ident(name))
}

/// `'it''s a \\ back'`: any text as a MariaDB string literal.
pub fn mariadb_string(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

/// `"a""b"`: any text as a PostgreSQL identifier.
pub fn postgres_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `'it''s'`: any text as a PostgreSQL string literal.
pub fn postgres_string(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_and_values_stay_whole() {
        assert_eq!(mariadb_ident("a`b"), "`a``b`");
        assert_eq!(mariadb_qualified("d`", "t;\n"), "`d```.`t;\n`");
        assert_eq!(mariadb_string(r"it's \ ok"), r"'it''s \\ ok'");
        assert_eq!(postgres_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(postgres_string(r"it's \ ok"), r"'it''s \ ok'");
    }
}
