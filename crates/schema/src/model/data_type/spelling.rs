//! Splitting catalog type strings into name, arguments and modifiers.

/// Splits `name(args) rest` into its three parts; multi-word names
/// (`character varying`, `double precision`, `timestamp(3) with time zone`) keep their
/// words.
pub(super) fn split_type(text: &str) -> (String, Option<String>, String) {
    let Some(open) = text.find('(') else {
        return split_multiword(text);
    };
    let name = text[..open].trim().to_owned();
    let mut depth = 0usize;
    let mut in_quote = false;
    let mut close = None;
    let bytes = text.as_bytes();
    let mut index = open;
    while index < bytes.len() {
        let byte = bytes[index];
        if in_quote {
            if byte == b'\'' {
                if bytes.get(index + 1) == Some(&b'\'') {
                    index += 1;
                } else {
                    in_quote = false;
                }
            } else if byte == b'\\' {
                index += 1;
            }
        } else if byte == b'\'' {
            in_quote = true;
        } else if byte == b'(' {
            depth += 1;
        } else if byte == b')' {
            depth -= 1;
            if depth == 0 {
                close = Some(index);
                break;
            }
        }
        index += 1;
    }
    let Some(close) = close else {
        return (text.to_owned(), None, String::new());
    };
    let args = text[open + 1..close].to_owned();
    let rest = text[close + 1..].trim().to_owned();
    (name, Some(args), rest)
}

const MULTIWORD_TYPES: &[&str] = &[
    "character varying",
    "double precision",
    "timestamp",
    "time",
    "bit varying",
];

fn split_multiword(text: &str) -> (String, Option<String>, String) {
    let lower = text.to_ascii_lowercase();
    for name in MULTIWORD_TYPES {
        if lower == *name || lower.starts_with(&format!("{name} ")) {
            return (
                text[..name.len()].to_owned(),
                None,
                text[name.len()..].trim().to_owned(),
            );
        }
    }
    match text.split_once(char::is_whitespace) {
        Some((name, rest)) => (name.to_owned(), None, rest.trim().to_owned()),
        None => (text.to_owned(), None, String::new()),
    }
}

pub(super) fn is_plain_type_name(text: &str) -> bool {
    let unquoted = unquote_type_name(text);
    !unquoted.is_empty()
        && !text.contains('(')
        && (text.starts_with('"')
            || unquoted
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

pub(super) fn unquote_type_name(text: &str) -> String {
    let text = text.strip_prefix("public.").unwrap_or(text);
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => text.to_owned(),
    }
}
