//! A MariaDB SQL lexer that works on byte spans of the statement as the client sent it.
//!
//! The edge looks at every statement (to fingerprint it, find its tables, refuse DDL under
//! safe migrations, rewrite the database's logical name) and forwards it unchanged almost
//! always, so it needs token *positions*, not an AST, and it must not allocate per token.
//! `sqlparser`'s tokenizer yields owned tokens with line/column locations; a hand-written
//! lexer of the ~10 token kinds MariaDB has is ~10× cheaper on a typical OLTP statement
//! (see `benches` note in `sql.rs`) and gives byte spans directly.

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A bare word: a keyword or an unquoted identifier.
    Word,
    /// A `` `quoted` `` identifier.
    QuotedIdent,
    /// A `'string'` or `"string"` literal (MariaDB's default mode).
    String,
    /// A number, `0x1F`, `X'1F'`, `b'101'`.
    Number,
    /// `?`.
    Placeholder,
    /// `@user_var`: session state.
    UserVariable,
    /// `@@system_var`, `@@session.x`: reading one leaves no state.
    SystemVariable,
    /// Any other single character (`(`, `,`, `.`, `=`, `;`, …).
    Punct,
}

/// One token: its kind and its bytes `[start, end)` in the statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

impl Token {
    pub fn text<'a>(&self, sql: &'a [u8]) -> &'a [u8] {
        &sql[self.start..self.end]
    }

    /// A bare word equal to `keyword` (ASCII case-insensitively).
    pub fn is(&self, sql: &[u8], keyword: &str) -> bool {
        self.kind == Kind::Word && self.text(sql).eq_ignore_ascii_case(keyword.as_bytes())
    }

    pub fn is_punct(&self, sql: &[u8], c: u8) -> bool {
        self.kind == Kind::Punct && sql[self.start] == c
    }

    /// The identifier a word or quoted identifier names (quotes removed, doubled
    /// backticks undone).
    pub fn identifier(&self, sql: &[u8]) -> Option<Vec<u8>> {
        match self.kind {
            Kind::Word => Some(self.text(sql).to_vec()),
            Kind::QuotedIdent => {
                let inner = &sql[self.start + 1..self.end.saturating_sub(1).max(self.start + 1)];
                let mut out = Vec::with_capacity(inner.len());
                let mut i = 0;
                while i < inner.len() {
                    out.push(inner[i]);
                    if inner[i] == b'`' && inner.get(i + 1) == Some(&b'`') {
                        i += 1;
                    }
                    i += 1;
                }
                Some(out)
            }
            _ => None,
        }
    }
}

/// The tokens of `sql`, comments and white space left out. `/*! … */` executable comments
/// are read as what they hold (MariaDB runs them). Unterminated quotes run to the end.
pub fn tokens(sql: &[u8]) -> Vec<Token> {
    let mut out = Vec::with_capacity(sql.len() / 4 + 4);
    let mut i = 0;
    while i < sql.len() {
        let c = sql[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => i += 1,
            b'#' => i = skip_line(sql, i),
            b'-' if sql.get(i + 1) == Some(&b'-')
                && sql.get(i + 2).is_none_or(|c| c.is_ascii_whitespace()) =>
            {
                i = skip_line(sql, i)
            }
            b'/' if sql.get(i + 1) == Some(&b'*') => {
                if sql.get(i + 2) == Some(&b'!') || sql.get(i + 2) == Some(&b'M') {
                    // Executable comment: skip the marker and its version digits, lex the
                    // content; the closing `*/` is skipped below.
                    i += 3;
                    if sql.get(i - 1) == Some(&b'M') && sql.get(i) == Some(&b'!') {
                        i += 1;
                    }
                    while i < sql.len() && sql[i].is_ascii_digit() {
                        i += 1;
                    }
                } else {
                    i = match find(sql, i + 2, b"*/") {
                        Some(end) => end + 2,
                        None => sql.len(),
                    };
                }
            }
            b'*' if sql.get(i + 1) == Some(&b'/') => i += 2,
            b'`' => {
                i = skip_quoted(sql, i, b'`', false);
                out.push(Token {
                    kind: Kind::QuotedIdent,
                    start,
                    end: i,
                });
            }
            b'\'' | b'"' => {
                i = skip_quoted(sql, i, c, true);
                out.push(Token {
                    kind: Kind::String,
                    start,
                    end: i,
                });
            }
            b'?' => {
                i += 1;
                out.push(Token {
                    kind: Kind::Placeholder,
                    start,
                    end: i,
                });
            }
            b'@' => {
                i += 1;
                let system = sql.get(i) == Some(&b'@');
                if system {
                    i += 1;
                }
                match sql.get(i) {
                    Some(&q @ (b'`' | b'\'' | b'"')) => i = skip_quoted(sql, i, q, q != b'`'),
                    _ => {
                        while i < sql.len() && (is_word_byte(sql[i]) || sql[i] == b'.') {
                            i += 1;
                        }
                    }
                }
                out.push(Token {
                    kind: if system {
                        Kind::SystemVariable
                    } else {
                        Kind::UserVariable
                    },
                    start,
                    end: i,
                });
            }
            b'0'..=b'9' => {
                i = skip_number(sql, i);
                // `1abc` is an identifier in MariaDB.
                let kind =
                    if i < sql.len() && is_word_byte(sql[i]) && !sql[start..i].contains(&b'.') {
                        while i < sql.len() && is_word_byte(sql[i]) {
                            i += 1;
                        }
                        Kind::Word
                    } else {
                        Kind::Number
                    };
                out.push(Token {
                    kind,
                    start,
                    end: i,
                });
            }
            b'.' if sql.get(i + 1).is_some_and(u8::is_ascii_digit)
                && out
                    .last()
                    .is_none_or(|t: &Token| !matches!(t.kind, Kind::Word | Kind::QuotedIdent)) =>
            {
                i = skip_number(sql, i);
                out.push(Token {
                    kind: Kind::Number,
                    start,
                    end: i,
                });
            }
            _ if is_word_byte(c) => {
                // X'…' and B'…' literals, N'…' national strings, _charset'…' introducers.
                if matches!(c, b'x' | b'X' | b'b' | b'B' | b'n' | b'N')
                    && sql.get(i + 1) == Some(&b'\'')
                {
                    i = skip_quoted(sql, i + 1, b'\'', true);
                    out.push(Token {
                        kind: if matches!(c, b'n' | b'N') {
                            Kind::String
                        } else {
                            Kind::Number
                        },
                        start,
                        end: i,
                    });
                    continue;
                }
                while i < sql.len() && is_word_byte(sql[i]) {
                    i += 1;
                }
                out.push(Token {
                    kind: Kind::Word,
                    start,
                    end: i,
                });
            }
            _ => {
                i += utf8_len(c);
                out.push(Token {
                    kind: Kind::Punct,
                    start,
                    end: i.min(sql.len()),
                });
            }
        }
    }
    out
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xf0..=0xff => 4,
        0xe0..=0xef => 3,
        0xc0..=0xdf => 2,
        _ => 1,
    }
}

fn skip_line(sql: &[u8], i: usize) -> usize {
    match sql[i..].iter().position(|&c| c == b'\n') {
        Some(end) => i + end + 1,
        None => sql.len(),
    }
}

fn find(sql: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    sql.get(from..)?
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|at| from + at)
}

/// Past the closing quote of a quoted token starting at `i`; doubled quotes and (for
/// strings) backslash escapes stay inside.
fn skip_quoted(sql: &[u8], i: usize, quote: u8, backslash: bool) -> usize {
    let mut j = i + 1;
    while j < sql.len() {
        match sql[j] {
            b'\\' if backslash => j += 2,
            c if c == quote => {
                if sql.get(j + 1) == Some(&quote) {
                    j += 2;
                } else {
                    return j + 1;
                }
            }
            _ => j += 1,
        }
    }
    sql.len()
}

fn skip_number(sql: &[u8], i: usize) -> usize {
    let mut j = i;
    if sql[j] == b'0' && matches!(sql.get(j + 1), Some(b'x' | b'X' | b'b' | b'B')) {
        j += 2;
        while j < sql.len() && sql[j].is_ascii_hexdigit() {
            j += 1;
        }
        return j;
    }
    while j < sql.len() && (sql[j].is_ascii_digit() || sql[j] == b'.') {
        j += 1;
    }
    if j < sql.len() && matches!(sql[j], b'e' | b'E') {
        let mut k = j + 1;
        if k < sql.len() && matches!(sql[k], b'+' | b'-') {
            k += 1;
        }
        if k < sql.len() && sql[k].is_ascii_digit() {
            j = k;
            while j < sql.len() && sql[j].is_ascii_digit() {
                j += 1;
            }
        }
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str) -> Vec<(Kind, &str)> {
        tokens(sql.as_bytes())
            .into_iter()
            .map(|t| (t.kind, std::str::from_utf8(t.text(sql.as_bytes())).unwrap()))
            .collect()
    }

    #[test]
    fn statements_split_into_tokens() {
        assert_eq!(
            kinds(
                "SELECT `a``b`, 'it''s \\' x', \"d\", 1.5e3, 0x1F, X'ab', @v, @@s, ? FROM shop.t -- c\n# d\n/* e */"
            ),
            vec![
                (Kind::Word, "SELECT"),
                (Kind::QuotedIdent, "`a``b`"),
                (Kind::Punct, ","),
                (Kind::String, "'it''s \\' x'"),
                (Kind::Punct, ","),
                (Kind::String, "\"d\""),
                (Kind::Punct, ","),
                (Kind::Number, "1.5e3"),
                (Kind::Punct, ","),
                (Kind::Number, "0x1F"),
                (Kind::Punct, ","),
                (Kind::Number, "X'ab'"),
                (Kind::Punct, ","),
                (Kind::UserVariable, "@v"),
                (Kind::Punct, ","),
                (Kind::SystemVariable, "@@s"),
                (Kind::Punct, ","),
                (Kind::Placeholder, "?"),
                (Kind::Word, "FROM"),
                (Kind::Word, "shop"),
                (Kind::Punct, "."),
                (Kind::Word, "t"),
            ]
        );
        assert_eq!(
            kinds("/*!40101 SET x = 1 */; ü.1e"),
            vec![
                (Kind::Word, "SET"),
                (Kind::Word, "x"),
                (Kind::Punct, "="),
                (Kind::Number, "1"),
                (Kind::Punct, ";"),
                (Kind::Word, "ü"),
                (Kind::Punct, "."),
                (Kind::Word, "1e"),
            ]
        );
        let quoted = tokens(b"`we``ird`");
        assert_eq!(quoted[0].identifier(b"`we``ird`").unwrap(), b"we`ird");
    }

    #[test]
    fn unterminated_input_ends_cleanly() {
        for sql in [
            "'abc",
            "`abc",
            "/* never closed",
            "@`x",
            "0x",
            "x'",
            "\\",
            "-",
        ] {
            let _ = tokens(sql.as_bytes());
        }
    }
}
