//! Fingerprints: the statement with its literals replaced, so that statements differing
//! only in values aggregate together.

use super::KEYWORDS;
use super::lexer::{Kind, Token};

/// Literals as `?`, keywords upper case, one space between tokens (none around `.`),
/// `IN (?, ?, …)` and repeated `VALUES` rows collapsed.
pub fn fingerprint(sql: &[u8], tokens: &[Token]) -> String {
    let mut out = String::with_capacity(sql.len().min(1024));
    let mut i = 0;
    let mut previous_dot = true;
    while i < tokens.len() {
        let token = tokens[i];
        // `( ?, ?, … )` → `(?+)`.
        if token.is_punct(sql, b'(') && is_literal_list(sql, &tokens[i..]) {
            let close = tokens[i..]
                .iter()
                .position(|t| t.is_punct(sql, b')'))
                .map_or(tokens.len(), |p| i + p);
            push_spaced(&mut out, "(?+)", previous_dot);
            previous_dot = false;
            i = close + 1;
            // VALUES (…), (…), … → one row.
            while tokens.get(i).is_some_and(|t| t.is_punct(sql, b','))
                && tokens.get(i + 1).is_some_and(|t| t.is_punct(sql, b'('))
                && is_literal_list(sql, &tokens[i + 1..])
            {
                let close = tokens[i + 1..]
                    .iter()
                    .position(|t| t.is_punct(sql, b')'))
                    .map_or(tokens.len(), |p| i + 1 + p);
                i = close + 1;
            }
            continue;
        }
        let text = token.text(sql);
        let piece: std::borrow::Cow<'_, str> = match token.kind {
            Kind::String | Kind::Number | Kind::Placeholder => "?".into(),
            Kind::Word => {
                let word = String::from_utf8_lossy(text);
                if KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(&word)) {
                    word.to_ascii_uppercase().into()
                } else {
                    word
                }
            }
            _ => String::from_utf8_lossy(text),
        };
        let is_dot = token.is_punct(sql, b'.');
        if is_dot {
            out.push('.');
        } else {
            push_spaced(&mut out, &piece, previous_dot);
        }
        previous_dot = is_dot;
        i += 1;
    }
    // A trailing `;` says nothing.
    while out.ends_with(';') || out.ends_with(' ') {
        out.pop();
    }
    out
}

fn push_spaced(out: &mut String, piece: &str, glued: bool) {
    if !out.is_empty() && !glued {
        out.push(' ');
    }
    out.push_str(piece);
}

/// Whether `tokens` starts with `(` followed by literals separated by commas and `)`.
fn is_literal_list(sql: &[u8], tokens: &[Token]) -> bool {
    let mut i = 1;
    let mut any = false;
    loop {
        match tokens.get(i) {
            Some(t) if matches!(t.kind, Kind::String | Kind::Number | Kind::Placeholder) => {
                any = true;
                i += 1;
            }
            Some(t)
                if t.is(sql, "NULL")
                    || t.is(sql, "DEFAULT")
                    || t.is(sql, "TRUE")
                    || t.is(sql, "FALSE") =>
            {
                any = true;
                i += 1;
            }
            Some(t) if t.is_punct(sql, b'-') => i += 1,
            _ => return false,
        }
        match tokens.get(i) {
            Some(t) if t.is_punct(sql, b',') => i += 1,
            Some(t) if t.is_punct(sql, b')') => return any,
            _ => return false,
        }
    }
}
