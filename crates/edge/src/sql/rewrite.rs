//! The statement the backend runs: the database's logical name replaced by the branch's
//! physical one where it names a database, and calls of `LAST_INSERT_ID()`, `ROW_COUNT()`,
//! `FOUND_ROWS()` replaced by the values the edge saw on this session (its backend
//! connection may have served other clients since), with the select item keeping its
//! column name (`AS` the text the client wrote), as vtgate does.

use super::lexer::{Kind, Token};
use super::{Analysis, SessionValue};

/// What the session's previous statements left.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionValues {
    pub last_insert_id: u64,
    pub row_count: i64,
    pub found_rows: u64,
}

/// How to rewrite a statement.
pub struct Rewrite<'a> {
    /// The database's name, as clients use it.
    pub logical: &'a [u8],
    /// The branch's database.
    pub physical: &'a [u8],
    /// Answer session-value calls with these (when the session is not pinned).
    pub values: Option<&'a SessionValues>,
}

/// The rewritten statement; `None` when nothing changes (it is forwarded as it is).
pub fn rewrite(sql: &[u8], analysis: &Analysis, how: &Rewrite<'_>) -> Option<Vec<u8>> {
    let tokens = &analysis.tokens;
    // (position, order, replaced length, text): insertions sort after replacements ending
    // at the same place, inner aliases before outer ones.
    let mut edits: Vec<(usize, usize, usize, Vec<u8>)> = Vec::new();
    database_names(sql, tokens, analysis.metadata, how, &mut edits);
    if let Some(values) = how
        .values
        .filter(|_| !analysis.multi && !analysis.previous.is_empty())
    {
        session_values(sql, tokens, &analysis.previous, values, &mut edits);
    }
    if edits.is_empty() {
        return None;
    }
    edits.sort_by_key(|(at, order, _, _)| (*at, *order));
    let mut out = Vec::with_capacity(sql.len() + edits.len() * 16);
    let mut from = 0;
    for (at, _, replaced, text) in edits {
        out.extend_from_slice(&sql[from..at]);
        out.extend_from_slice(&text);
        from = at + replaced;
    }
    out.extend_from_slice(&sql[from..]);
    Some(out)
}

fn database_names(
    sql: &[u8],
    tokens: &[Token],
    metadata: bool,
    how: &Rewrite<'_>,
    edits: &mut Vec<(usize, usize, usize, Vec<u8>)>,
) {
    let show = tokens.first().is_some_and(|t| t.is(sql, "SHOW"));
    for (index, token) in tokens.iter().enumerate() {
        match token.kind {
            Kind::Word | Kind::QuotedIdent => {
                let qualifies = tokens.get(index + 1).is_some_and(|t| t.is_punct(sql, b'.'))
                    && !(index > 0 && tokens[index - 1].is_punct(sql, b'.'));
                let uses = index == 1 && tokens[0].is(sql, "USE");
                let from_clause = show
                    && index > 0
                    && (tokens[index - 1].is(sql, "FROM") || tokens[index - 1].is(sql, "IN"));
                if (qualifies || uses || from_clause)
                    && token.identifier(sql).as_deref() == Some(how.logical)
                {
                    edits.push((
                        token.start,
                        0,
                        token.end - token.start,
                        quote_ident(how.physical),
                    ));
                }
            }
            Kind::String
                if metadata && unquote_string(token.text(sql)).as_deref() == Some(how.logical) =>
            {
                edits.push((
                    token.start,
                    0,
                    token.end - token.start,
                    quote_string(how.physical),
                ));
            }
            _ => {}
        }
    }
}

fn session_values(
    sql: &[u8],
    tokens: &[Token],
    calls: &[super::SessionValueCall],
    values: &SessionValues,
    edits: &mut Vec<(usize, usize, usize, Vec<u8>)>,
) {
    let items = select_items(sql, tokens);
    let mut aliased: Vec<usize> = Vec::new();
    for call in calls {
        let value = match call.value {
            SessionValue::LastInsertId => values.last_insert_id.to_string(),
            SessionValue::RowCount => values.row_count.to_string(),
            SessionValue::FoundRows => values.found_rows.to_string(),
        };
        edits.push((call.start, 0, call.end - call.start, value.into_bytes()));
        for (position, item) in items.iter().enumerate() {
            if item.first <= call.token
                && call.token <= item.last
                && !aliased.contains(&position)
                && !has_alias(sql, tokens, item)
            {
                aliased.push(position);
                let start = tokens[item.first].start;
                let end = tokens[item.last].end;
                let mut alias = b" AS ".to_vec();
                alias.extend_from_slice(&quote_ident(&sql[start..end]));
                // Inner items (smaller) first at the same position.
                edits.push((end, 1 + (end - start), 0, alias));
            }
        }
    }
}

/// A select-list item: tokens `first..=last`.
#[derive(Debug)]
struct Item {
    first: usize,
    last: usize,
}

/// The items of every select list in the statement (subqueries included).
fn select_items(sql: &[u8], tokens: &[Token]) -> Vec<Item> {
    const ENDS: &[&str] = &[
        "FROM",
        "INTO",
        "WHERE",
        "GROUP",
        "HAVING",
        "ORDER",
        "LIMIT",
        "UNION",
        "FOR",
        "LOCK",
        "WINDOW",
        "EXCEPT",
        "INTERSECT",
        "RETURNING",
    ];
    // Open lists: (paren depth, first token of the current item).
    let mut open: Vec<(usize, Option<usize>)> = Vec::new();
    let mut items = Vec::new();
    let mut depth = 0usize;
    let close = |items: &mut Vec<Item>, start: Option<usize>, end: usize| {
        if let Some(first) = start.filter(|&first| first < end) {
            items.push(Item {
                first,
                last: end - 1,
            });
        }
    };
    for (index, token) in tokens.iter().enumerate() {
        let at_list = open.last().is_some_and(|(d, _)| *d == depth);
        if token.is_punct(sql, b'(') {
            if at_list {
                let (_, start) = open.last_mut().expect("open list");
                start.get_or_insert(index);
            }
            depth += 1;
            continue;
        }
        if token.is_punct(sql, b')') || token.is_punct(sql, b';') {
            if at_list {
                let (_, start) = open.pop().expect("open list");
                close(&mut items, start, index);
            }
            depth = depth.saturating_sub(usize::from(token.is_punct(sql, b')')));
            continue;
        }
        if at_list {
            if token.is_punct(sql, b',') {
                let (_, start) = open.last_mut().expect("open list");
                close(&mut items, start.take(), index);
                continue;
            }
            if ENDS.iter().any(|end| token.is(sql, end)) {
                let (_, start) = open.pop().expect("open list");
                close(&mut items, start, index);
                continue;
            }
            let (_, start) = open.last_mut().expect("open list");
            if start.is_none() && is_select_modifier(sql, token) {
                continue;
            }
            start.get_or_insert(index);
        }
        if token.is(sql, "SELECT") {
            open.push((depth, None));
        }
    }
    while let Some((_, start)) = open.pop() {
        close(&mut items, start, tokens.len());
    }
    items
}

fn is_select_modifier(sql: &[u8], token: &Token) -> bool {
    [
        "DISTINCT",
        "ALL",
        "DISTINCTROW",
        "HIGH_PRIORITY",
        "STRAIGHT_JOIN",
        "SQL_NO_CACHE",
        "SQL_CACHE",
        "SQL_BUFFER_RESULT",
        "SQL_SMALL_RESULT",
        "SQL_BIG_RESULT",
    ]
    .iter()
    .any(|word| token.is(sql, word))
}

/// `expr AS alias` or `expr alias`.
fn has_alias(sql: &[u8], tokens: &[Token], item: &Item) -> bool {
    if item.last == item.first {
        return false;
    }
    let last = &tokens[item.last];
    let before = &tokens[item.last - 1];
    if before.is(sql, "AS") {
        return true;
    }
    let names = matches!(last.kind, Kind::QuotedIdent | Kind::Word | Kind::String);
    let ends_expression = matches!(
        before.kind,
        Kind::Word
            | Kind::QuotedIdent
            | Kind::Number
            | Kind::String
            | Kind::SystemVariable
            | Kind::UserVariable
    ) || before.is_punct(sql, b')');
    names && ends_expression && !before.is_punct(sql, b'.')
}

fn quote_ident(name: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 2);
    out.push(b'`');
    for &b in name {
        out.push(b);
        if b == b'`' {
            out.push(b'`');
        }
    }
    out.push(b'`');
    out
}

fn quote_string(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 2);
    out.push(b'\'');
    for &b in value {
        match b {
            b'\'' => out.extend_from_slice(b"''"),
            b'\\' => out.extend_from_slice(b"\\\\"),
            _ => out.push(b),
        }
    }
    out.push(b'\'');
    out
}

/// The value of a quoted string literal (backslash escapes taken as the escaped byte).
fn unquote_string(raw: &[u8]) -> Option<Vec<u8>> {
    let quote = *raw.first()?;
    let inner = raw.get(1..raw.len().checked_sub(1)?)?;
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        match inner[i] {
            b'\\' => {
                out.push(*inner.get(i + 1)?);
                i += 2;
            }
            c if c == quote => {
                out.push(c);
                i += 2;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(out)
}
