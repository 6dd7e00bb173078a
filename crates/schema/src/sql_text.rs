//! SQL text utilities: a small tokenizer, canonical expression spelling, identifier and
//! string quoting.
//!
//! Expressions (defaults, checks, generated columns, view bodies, index predicates) are
//! kept as text in the model. Servers print them in their own canonical style
//! (MariaDB: `` `a` > 0 ``, PostgreSQL: `(a > 0)`), users write them any way, so
//! [`normalize_expr`] rewrites the *spelling* (case of keywords and functions, identifier
//! quoting, spacing, redundant outer parentheses, a few function aliases) without trying
//! to understand semantics. It never fails: text it cannot tokenize is kept as is.

mod keywords;

use crate::Dialect;

pub(crate) use keywords::is_keyword;

/// One lexical token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    /// A string literal with its quotes, verbatim.
    String(String),
    /// A quoted identifier's content (unescaped).
    QuotedIdentifier(String),
    /// A numeric literal.
    Number(String),
    /// A bare word: keyword, function name or identifier.
    Word(String),
    /// Operators and punctuation.
    Punct(String),
}

/// A token plus whether whitespace preceded it (needed for charset introducers).
#[derive(Debug, Clone)]
pub(crate) struct Lexeme {
    pub(crate) token: Token,
    pub(crate) space_before: bool,
}

const MULTI_CHAR_PUNCT: &[&str] = &[
    "<=>", "->>", "::", "<=", ">=", "<>", "!=", "||", "&&", "->", "<<", ">>", ":=", "!~*", "~~*",
    "!~~", "~~", "!~", "~*", "@>", "<@", "?|", "?&", "#>>", "#>",
];

/// Splits SQL text into lexemes. `"` quotes identifiers on PostgreSQL and strings on
/// MariaDB (its default `sql_mode` has no `ANSI_QUOTES`).
pub(crate) fn tokenize(sql: &str, dialect: Dialect) -> Vec<Lexeme> {
    let chars: Vec<char> = sql.chars().collect();
    let mut lexemes = Vec::new();
    let mut index = 0;
    let mut space_before = false;
    while index < chars.len() {
        let c = chars[index];
        if c.is_whitespace() {
            space_before = true;
            index += 1;
            continue;
        }
        let start = index;
        let token = if c == '\'' || (c == '"' && dialect == Dialect::Mariadb) {
            index = scan_quoted(&chars, index, c, dialect == Dialect::Mariadb);
            Token::String(chars[start..index].iter().collect())
        } else if c == '`' || c == '"' {
            index = scan_quoted(&chars, index, c, false);
            let inner: String = chars[start + 1..index.saturating_sub(1).max(start + 1)]
                .iter()
                .collect();
            let doubled = format!("{c}{c}");
            Token::QuotedIdentifier(inner.replace(&doubled, &c.to_string()))
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(index + 1).is_some_and(|n| n.is_ascii_digit()))
        {
            while index < chars.len()
                && (chars[index].is_ascii_alphanumeric() || chars[index] == '.')
            {
                let exponent_sign = matches!(chars[index], 'e' | 'E')
                    && matches!(chars.get(index + 1), Some('+') | Some('-'));
                index += if exponent_sign { 2 } else { 1 };
            }
            Token::Number(chars[start..index].iter().collect())
        } else if c.is_alphanumeric() || c == '_' || c == '$' || c == '@' {
            while index < chars.len()
                && (chars[index].is_alphanumeric()
                    || chars[index] == '_'
                    || chars[index] == '$'
                    || chars[index] == '@')
            {
                index += 1;
            }
            Token::Word(chars[start..index].iter().collect())
        } else {
            let rest: String = chars[index..chars.len().min(index + 3)].iter().collect();
            let punct = MULTI_CHAR_PUNCT
                .iter()
                .find(|p| rest.starts_with(**p))
                .map(|p| p.to_string())
                .unwrap_or_else(|| c.to_string());
            index += punct.chars().count();
            Token::Punct(punct)
        };
        lexemes.push(Lexeme {
            token,
            space_before,
        });
        space_before = false;
    }
    lexemes
}

/// Returns the index just past the closing quote (or the end of input).
fn scan_quoted(chars: &[char], start: usize, quote: char, backslash_escapes: bool) -> usize {
    let mut index = start + 1;
    while index < chars.len() {
        let c = chars[index];
        if backslash_escapes && c == '\\' {
            index += 2;
            continue;
        }
        if c == quote {
            if chars.get(index + 1) == Some(&quote) {
                index += 2;
                continue;
            }
            return index + 1;
        }
        index += 1;
    }
    chars.len()
}

/// The canonical spelling of an expression for `dialect`.
pub(crate) fn normalize_expr(sql: &str, dialect: Dialect) -> String {
    let lexemes = tokenize(sql, dialect);
    let mut tokens: Vec<Lexeme> = Vec::with_capacity(lexemes.len());
    for (position, lexeme) in lexemes.iter().enumerate() {
        let next_is_paren = matches!(
            lexemes.get(position + 1).map(|l| &l.token),
            Some(Token::Punct(p)) if p == "("
        );
        let after_dot =
            matches!(tokens.last().map(|l| &l.token), Some(Token::Punct(p)) if p == ".");
        let token = match &lexeme.token {
            Token::Word(word) => {
                let lower = word.to_ascii_lowercase();
                if next_is_paren && !after_dot {
                    Token::Word(function_alias(&lower, dialect).to_owned())
                } else if is_keyword(&lower) || dialect == Dialect::Postgres {
                    Token::Word(lower)
                } else {
                    Token::Word(word.clone())
                }
            }
            Token::QuotedIdentifier(name) if can_unquote(name, dialect) => {
                Token::Word(name.clone())
            }
            other => other.clone(),
        };
        tokens.push(Lexeme {
            token,
            space_before: lexeme.space_before,
        });
    }
    rewrite_time_functions(&mut tokens, dialect);
    if dialect == Dialect::Postgres {
        strip_text_casts(&mut tokens);
    }
    strip_outer_parens(&mut tokens);
    render(&tokens, dialect)
}

fn function_alias(name: &str, dialect: Dialect) -> &str {
    match (dialect, name) {
        (Dialect::Mariadb, "now" | "localtimestamp" | "localtime") => "current_timestamp",
        (Dialect::Mariadb, "current_date") => "curdate",
        (Dialect::Mariadb, "current_time") => "curtime",
        (Dialect::Mariadb, "lcase") => "lower",
        (Dialect::Mariadb, "ucase") => "upper",
        _ => name,
    }
}

/// MariaDB prints `current_timestamp()`, with parentheses; PostgreSQL prints `now()`
/// and `CURRENT_TIMESTAMP` for the same value, which we spell `current_timestamp`.
fn rewrite_time_functions(tokens: &mut Vec<Lexeme>, dialect: Dialect) {
    let mut index = 0;
    while index < tokens.len() {
        let word = match &tokens[index].token {
            Token::Word(word) => word.clone(),
            _ => {
                index += 1;
                continue;
            }
        };
        let next_is_paren =
            matches!(tokens.get(index + 1).map(|l| &l.token), Some(Token::Punct(p)) if p == "(");
        match dialect {
            Dialect::Mariadb => {
                let alias = match word.as_str() {
                    "current_timestamp" | "localtimestamp" | "localtime" => "current_timestamp",
                    "current_date" => "curdate",
                    "current_time" => "curtime",
                    _ => "",
                };
                if !alias.is_empty() && !next_is_paren {
                    tokens[index].token = Token::Word(alias.to_owned());
                    let paren = |p: &str| Lexeme {
                        token: Token::Punct(p.to_owned()),
                        space_before: false,
                    };
                    tokens.insert(index + 1, paren("("));
                    tokens.insert(index + 2, paren(")"));
                }
            }
            Dialect::Postgres => {
                let empty_call = next_is_paren
                    && matches!(tokens.get(index + 2).map(|l| &l.token), Some(Token::Punct(p)) if p == ")");
                if word == "now" && empty_call {
                    tokens[index].token = Token::Word("current_timestamp".to_owned());
                    tokens.drain(index + 1..index + 3);
                }
            }
        }
        index += 1;
    }
}

fn can_unquote(name: &str, dialect: Dialect) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let simple = first_ok && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let case_ok = dialect == Dialect::Mariadb || !name.chars().any(|c| c.is_ascii_uppercase());
    simple && case_ok && !is_keyword(&name.to_ascii_lowercase())
}

/// PostgreSQL prints string comparisons with casts to `text` the user never wrote
/// (`(title)::text <> ''::text`). They change nothing for a string operand, so they are
/// dropped, and so are the parentheses left around a single token.
fn strip_text_casts(tokens: &mut Vec<Lexeme>) {
    let word = |tokens: &[Lexeme], index: usize, expected: &str| matches!(tokens.get(index).map(|l| &l.token), Some(Token::Word(w)) if w == expected);
    let mut index = 0;
    while index < tokens.len() {
        if matches!(&tokens[index].token, Token::Punct(p) if p == "::") {
            let length = if word(tokens, index + 1, "text")
                || word(tokens, index + 1, "bpchar")
                || word(tokens, index + 1, "varchar")
            {
                2
            } else if word(tokens, index + 1, "character") && word(tokens, index + 2, "varying") {
                3
            } else {
                0
            };
            if length > 0 {
                tokens.drain(index..index + length);
                continue;
            }
        }
        index += 1;
    }
    let mut index = 0;
    while index + 2 < tokens.len() {
        let opens = matches!(&tokens[index].token, Token::Punct(p) if p == "(");
        let closes = matches!(&tokens[index + 2].token, Token::Punct(p) if p == ")");
        let single = matches!(
            tokens[index + 1].token,
            Token::Word(_) | Token::QuotedIdentifier(_) | Token::Number(_) | Token::String(_)
        );
        // After a word the parentheses belong to a call or a list (`in (1)`).
        let after_call = index > 0
            && matches!(
                &tokens[index - 1].token,
                Token::Word(_) | Token::QuotedIdentifier(_)
            );
        if opens && closes && single && !after_call {
            tokens.remove(index + 2);
            tokens.remove(index);
            continue;
        }
        index += 1;
    }
}

/// Removes parentheses that wrap the whole expression.
fn strip_outer_parens(tokens: &mut Vec<Lexeme>) {
    loop {
        let wrapped = tokens.len() >= 2
            && matches!(&tokens[0].token, Token::Punct(p) if p == "(")
            && matches!(&tokens[tokens.len() - 1].token, Token::Punct(p) if p == ")")
            && matching_close(tokens, 0) == Some(tokens.len() - 1);
        if !wrapped {
            return;
        }
        tokens.pop();
        tokens.remove(0);
    }
}

/// The index of the `)` matching the `(` at `open`.
pub(crate) fn matching_close(tokens: &[Lexeme], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (index, lexeme) in tokens.iter().enumerate().skip(open) {
        match &lexeme.token {
            Token::Punct(p) if p == "(" => depth += 1,
            Token::Punct(p) if p == ")" => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(index);
                }
            }
            _ => {}
        }
    }
    None
}

fn render(tokens: &[Lexeme], dialect: Dialect) -> String {
    let mut out = String::new();
    let mut previous: Option<&Token> = None;
    for (index, lexeme) in tokens.iter().enumerate() {
        let token = &lexeme.token;
        let text = match token {
            Token::String(raw) => raw.clone(),
            Token::QuotedIdentifier(name) => quote_identifier(name, dialect),
            Token::Number(n) | Token::Word(n) | Token::Punct(n) => n.clone(),
        };
        if let Some(previous) = previous
            && needs_space(previous, token, lexeme.space_before, tokens, index)
        {
            out.push(' ');
        }
        out.push_str(&text);
        previous = Some(token);
    }
    out
}

fn needs_space(
    previous: &Token,
    token: &Token,
    space_before: bool,
    tokens: &[Lexeme],
    index: usize,
) -> bool {
    let punct = |t: &Token, set: &[&str]| matches!(t, Token::Punct(p) if set.contains(&p.as_str()));
    if punct(previous, &["(", ".", "::", "["]) || punct(token, &[")", ",", ".", "::", "]"]) {
        return false;
    }
    if punct(token, &["(", "["]) {
        // A call or subscript glues to its name; a keyword does not (`in (`, `and (`).
        return match previous {
            Token::Word(word) => is_keyword(word) && !is_function_keyword(word),
            Token::QuotedIdentifier(_) => false,
            _ => true,
        };
    }
    if let (Token::Word(word), Token::String(_)) = (previous, token) {
        // Charset introducers and typed literals: `_utf8mb4'x'`, `b'101'`, `x'ff'`.
        if !space_before && (word.starts_with('_') || word.len() == 1) {
            return false;
        }
    }
    if punct(previous, &["-", "+", "~", "!"]) && is_unary(tokens, index - 1) {
        return false;
    }
    true
}

/// Whether the sign at `index` is unary: nothing, an operator, `(`, `,` or a keyword
/// before it.
fn is_unary(tokens: &[Lexeme], index: usize) -> bool {
    if index == 0 {
        return true;
    }
    match &tokens[index - 1].token {
        Token::Punct(p) => p != ")" && p != "]",
        Token::Word(word) => is_keyword(word),
        _ => false,
    }
}

/// Keywords that are called like functions and glue to their parenthesis.
fn is_function_keyword(word: &str) -> bool {
    matches!(
        word,
        "current_timestamp"
            | "curdate"
            | "curtime"
            | "cast"
            | "convert"
            | "coalesce"
            | "nullif"
            | "if"
            | "char"
            | "values"
            | "row"
            | "array"
            | "mod"
            | "left"
            | "right"
            | "replace"
            | "insert"
            | "date"
            | "time"
            | "timestamp"
            | "year"
            | "binary"
            | "default"
            | "substring"
            | "trim"
            | "position"
            | "extract"
    )
}

/// Quotes an identifier: always on MariaDB (canonical DDL), only where needed on
/// PostgreSQL.
pub(crate) fn quote_identifier(name: &str, dialect: Dialect) -> String {
    match dialect {
        Dialect::Mariadb => crate::quote::mariadb_ident(name),
        Dialect::Postgres => {
            if can_unquote(name, dialect) {
                name.to_owned()
            } else {
                crate::quote::postgres_ident(name)
            }
        }
    }
}

/// A string literal for `dialect` (MariaDB also escapes backslashes).
pub(crate) fn quote_string(value: &str, dialect: Dialect) -> String {
    match dialect {
        Dialect::Mariadb => crate::quote::mariadb_string(value),
        Dialect::Postgres => crate::quote::postgres_string(value),
    }
}

/// The value of a quoted string literal (`'it''s'` → `it's`), or `None` if `raw` is not
/// one literal.
pub(crate) fn unquote_string(raw: &str, dialect: Dialect) -> Option<String> {
    let inner = raw.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut value = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                // Only a doubled quote may appear inside.
                if chars.next() != Some('\'') {
                    return None;
                }
                value.push('\'');
            }
            '\\' if dialect == Dialect::Mariadb => match chars.next()? {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                'r' => value.push('\r'),
                '0' => value.push('\0'),
                'Z' => value.push('\x1a'),
                'b' => value.push('\x08'),
                '%' => value.push_str("\\%"),
                '_' => value.push_str("\\_"),
                other => value.push(other),
            },
            other => value.push(other),
        }
    }
    Some(value)
}

/// Splits `'a','b,c','it''s'` (an ENUM/SET value list) into its values.
pub(crate) fn split_quoted_list(list: &str) -> Vec<String> {
    tokenize(list, Dialect::Mariadb)
        .into_iter()
        .filter_map(|lexeme| match lexeme.token {
            Token::String(raw) => unquote_string(&raw, Dialect::Mariadb),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests;
