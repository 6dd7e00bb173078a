//! MariaDB character sets and collations: just enough to know which charset a collation
//! belongs to and which collation a bare charset means, so that `CHARSET=utf8mb4` and
//! `COLLATE=utf8mb4_general_ci` compare equal.

/// The character set of a MariaDB collation (`utf8mb4_unicode_ci` → `utf8mb4`).
/// MariaDB names every collation after its charset, except the `utf8_*` aliases of
/// `utf8mb3`.
pub fn charset_of_collation(collation: &str) -> String {
    let lower = collation.to_ascii_lowercase();
    let charset = match lower.split_once('_') {
        Some((charset, _)) => charset.to_owned(),
        None => lower.clone(),
    };
    canonical_charset(&charset)
}

/// The canonical name of a charset (`utf8` → `utf8mb3`, as MariaDB 10.11 reports it).
pub fn canonical_charset(charset: &str) -> String {
    match charset.to_ascii_lowercase().as_str() {
        "utf8" => "utf8mb3".to_owned(),
        other => other.to_owned(),
    }
}

/// The canonical name of a collation (`utf8_general_ci` → `utf8mb3_general_ci`).
pub fn canonical_collation(collation: &str) -> String {
    let lower = collation.to_ascii_lowercase();
    match lower.strip_prefix("utf8_") {
        Some(rest) => format!("utf8mb3_{rest}"),
        None => lower,
    }
}

/// The collation MariaDB 10.11 picks for a bare charset (`SHOW CHARACTER SET`).
pub fn default_collation(charset: &str) -> String {
    let charset = canonical_charset(charset);
    match charset.as_str() {
        "latin1" => "latin1_swedish_ci".to_owned(),
        "binary" => "binary".to_owned(),
        "ucs2" | "utf16" | "utf16le" | "utf32" | "utf8mb3" | "utf8mb4" | "ascii" => {
            format!("{charset}_general_ci")
        }
        other => format!("{other}_general_ci"),
    }
}

/// Bytes per character at most, for VARCHAR length-byte arithmetic.
pub fn max_bytes_per_char(charset: &str) -> u32 {
    match canonical_charset(charset).as_str() {
        "utf8mb4" | "utf16" | "utf16le" | "utf32" => 4,
        "utf8mb3" => 3,
        "ucs2" | "big5" | "gbk" | "sjis" | "cp932" | "euckr" | "gb2312" => 2,
        "ujis" | "eucjpms" => 3,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collations_name_their_charset() {
        assert_eq!(charset_of_collation("utf8mb4_unicode_ci"), "utf8mb4");
        assert_eq!(charset_of_collation("utf8_general_ci"), "utf8mb3");
        assert_eq!(charset_of_collation("binary"), "binary");
        assert_eq!(default_collation("utf8"), "utf8mb3_general_ci");
        assert_eq!(canonical_collation("UTF8_bin"), "utf8mb3_bin");
    }
}
