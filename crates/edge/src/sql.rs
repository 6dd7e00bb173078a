//! What the edge needs to know of a statement, from its tokens (`lexer.rs`): its kind, a
//! fingerprint (literals replaced, white space and comments dropped, lists collapsed), the
//! tables it names, whether it leaves state in the session that pins the client to its
//! backend connection, and the rewrite of the database's logical name to the branch's
//! physical one.

mod fingerprint;
pub mod lexer;
mod rewrite;
mod settings;

pub use fingerprint::fingerprint;
pub use rewrite::{Rewrite, SessionValues, rewrite};

use lexer::Kind;
pub use lexer::Token;

/// What a statement does, as far as routing and pinning care.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatementKind {
    Read,
    Write,
    /// Changes the schema (refused under safe migrations).
    Ddl,
    /// `CREATE/DROP TEMPORARY TABLE`: session state, not schema.
    TemporaryTable,
    /// `USE <db>` with the name as the client wrote it.
    Use(Vec<u8>),
    Set,
    Begin,
    Commit,
    Rollback,
    Lock,
    Unlock,
    Show,
    /// `PREPARE`, `EXECUTE`, `DEALLOCATE` (SQL-level prepared statements).
    Prepared,
    Load,
    Other,
}

/// A table a statement names: `db.name` or `name`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableRef {
    pub database: Option<Vec<u8>>,
    pub name: Vec<u8>,
}

/// Everything [`analyze`] finds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Analysis {
    pub kind: StatementKind,
    pub fingerprint: String,
    pub tables: Vec<TableRef>,
    /// The statement leaves state only its backend connection has (user variables, user
    /// locks, `SQL_CALC_FOUND_ROWS`, …).
    pub pins: bool,
    /// Calls that read what the session's previous statements left (`LAST_INSERT_ID()`,
    /// `ROW_COUNT()`, `FOUND_ROWS()`): the edge answers them from what it saw, so they
    /// need no particular backend connection.
    pub previous: Vec<SessionValueCall>,
    /// The statement reads schema metadata (`information_schema`, `SHOW`, `DATABASE()`):
    /// its results name the branch's physical database and are rewritten.
    pub metadata: bool,
    /// More than one statement (separated by `;`).
    pub multi: bool,
    /// One of the statements changes the schema.
    pub any_ddl: bool,
    /// A `SET` of session system variables only, which the edge can replay on any backend
    /// connection (so it keys the session's connections instead of pinning one).
    pub setting: bool,
    /// PlanetScale's `SET workload = 'olap' | 'oltp'`, answered by the edge.
    pub workload: Option<Workload>,
    /// The statement's tokens (for [`rewrite`]).
    pub tokens: Vec<Token>,
}

/// A value of the session's previous statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionValue {
    LastInsertId,
    RowCount,
    FoundRows,
}

/// Where a statement calls one of [`SessionValue`]'s functions (`[start, end)` bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionValueCall {
    pub value: SessionValue,
    /// Index of the function name's token.
    pub token: usize,
    pub start: usize,
    pub end: usize,
}

/// PlanetScale's workloads: OLTP reads are limited in rows, OLAP ones are not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    Oltp,
    Olap,
}

const DDL_VERBS: &[&str] = &["CREATE", "ALTER", "DROP", "RENAME", "TRUNCATE"];
/// Words after which a table name comes.
const TABLE_LEADS: &[&str] = &["FROM", "JOIN", "INTO", "UPDATE", "TABLE", "TABLES"];
/// Functions that leave state on their backend connection (user-level locks).
const PINNING_FUNCTIONS: &[&str] = &[
    "GET_LOCK",
    "RELEASE_LOCK",
    "RELEASE_ALL_LOCKS",
    "IS_USED_LOCK",
];
/// Keywords written upper case in fingerprints (identifiers keep their case).
pub(crate) const KEYWORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "IS",
    "NULL",
    "INSERT",
    "INTO",
    "VALUES",
    "VALUE",
    "UPDATE",
    "SET",
    "DELETE",
    "REPLACE",
    "JOIN",
    "LEFT",
    "RIGHT",
    "INNER",
    "OUTER",
    "ON",
    "AS",
    "ORDER",
    "BY",
    "GROUP",
    "HAVING",
    "LIMIT",
    "OFFSET",
    "DESC",
    "ASC",
    "DISTINCT",
    "BETWEEN",
    "LIKE",
    "CREATE",
    "ALTER",
    "DROP",
    "TABLE",
    "INDEX",
    "UNION",
    "ALL",
    "EXISTS",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "FOR",
    "DUPLICATE",
    "KEY",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "START",
    "TRANSACTION",
    "WITH",
    "SHOW",
    "USE",
];

/// Analyzes one statement (or a `;`-separated batch: the first statement's kind wins,
/// every statement's tables count).
pub fn analyze(sql: &[u8]) -> Analysis {
    let tokens = lexer::tokens(sql);
    let kind = kind_of(sql, &tokens);
    let mut tables = Vec::new();
    let mut pins = matches!(
        kind,
        StatementKind::Lock | StatementKind::Prepared | StatementKind::TemporaryTable
    );
    let mut previous = Vec::new();
    let mut metadata = matches!(kind, StatementKind::Show);
    let mut statements = 0;
    let mut previous_was_end = true;
    for (index, token) in tokens.iter().enumerate() {
        if token.is_punct(sql, b';') {
            previous_was_end = true;
            continue;
        }
        if previous_was_end {
            statements += 1;
            previous_was_end = false;
        }
        match token.kind {
            Kind::UserVariable => pins = true,
            Kind::Word => {
                let text = token.text(sql);
                let called = tokens.get(index + 1).is_some_and(|t| t.is_punct(sql, b'('));
                if called {
                    match session_value_call(sql, &tokens, index) {
                        Some(Some(call)) => previous.push(call),
                        // LAST_INSERT_ID(expr) sets the value on the backend connection.
                        Some(None) => pins = true,
                        None => {}
                    }
                    if PINNING_FUNCTIONS
                        .iter()
                        .any(|f| text.eq_ignore_ascii_case(f.as_bytes()))
                    {
                        pins = true;
                    }
                }
                if text.eq_ignore_ascii_case(b"SQL_CALC_FOUND_ROWS") {
                    pins = true;
                }
                if text.eq_ignore_ascii_case(b"information_schema")
                    || ((text.eq_ignore_ascii_case(b"DATABASE")
                        || text.eq_ignore_ascii_case(b"SCHEMA"))
                        && called)
                {
                    metadata = true;
                }
                if TABLE_LEADS
                    .iter()
                    .any(|lead| text.eq_ignore_ascii_case(lead.as_bytes()))
                {
                    collect_tables(sql, &tokens[index + 1..], &mut tables);
                }
            }
            Kind::QuotedIdent
                if token
                    .identifier(sql)
                    .is_some_and(|name| name.eq_ignore_ascii_case(b"information_schema")) =>
            {
                metadata = true;
            }
            _ => {}
        }
    }
    tables.sort();
    tables.dedup();
    let multi = statements > 1;
    let mut any_ddl = kind == StatementKind::Ddl;
    if multi {
        // Every statement of a batch counts: a later SET or DDL matters as much as the first.
        for start in statement_starts(sql, &tokens).into_iter().skip(1) {
            match kind_of(sql, &tokens[start..]) {
                StatementKind::Ddl => any_ddl = true,
                StatementKind::Set
                | StatementKind::Use(_)
                | StatementKind::Lock
                | StatementKind::Prepared
                | StatementKind::TemporaryTable => pins = true,
                _ => {}
            }
        }
    }
    let pins = pins || (multi && kind == StatementKind::Set);
    let setting =
        kind == StatementKind::Set && !multi && !pins && settings::is_replayable(sql, &tokens);
    let workload = if kind == StatementKind::Set && !multi {
        settings::workload(sql, &tokens)
    } else {
        None
    };
    // A SET the edge cannot replay on another connection leaves state on this one.
    let pins = pins || (kind == StatementKind::Set && !setting && workload.is_none());
    Analysis {
        fingerprint: fingerprint(sql, &tokens),
        kind,
        tables,
        pins,
        previous,
        metadata,
        multi,
        any_ddl,
        setting,
        workload,
        tokens,
    }
}

/// Token indexes where the statements of a batch start.
fn statement_starts(sql: &[u8], tokens: &[Token]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut at_start = true;
    for (index, token) in tokens.iter().enumerate() {
        if token.is_punct(sql, b';') {
            at_start = true;
        } else if at_start {
            starts.push(index);
            at_start = false;
        }
    }
    starts
}

/// `KILL [HARD | SOFT] [CONNECTION | QUERY] <id>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kill {
    pub query_only: bool,
    pub id: u32,
}

/// The statement as a `KILL`, when it is one the edge must answer (the id is the one the
/// edge gave the client, not a MariaDB thread id).
pub fn kill(sql: &[u8], tokens: &[Token]) -> Option<Kill> {
    let mut rest = tokens.iter().filter(|t| !t.is_punct(sql, b';'));
    if !rest.next()?.is(sql, "KILL") {
        return None;
    }
    let mut query_only = false;
    let mut token = rest.next()?;
    if token.is(sql, "HARD") || token.is(sql, "SOFT") {
        token = rest.next()?;
    }
    if token.is(sql, "QUERY") {
        query_only = true;
        token = rest.next()?;
    } else if token.is(sql, "CONNECTION") {
        token = rest.next()?;
    }
    if token.kind != Kind::Number || rest.next().is_some() {
        return None;
    }
    let id = std::str::from_utf8(token.text(sql)).ok()?.parse().ok()?;
    Some(Kill { query_only, id })
}

/// `LAST_INSERT_ID()`, `ROW_COUNT()`, `FOUND_ROWS()` at `index` (a word followed by `(`):
/// `Some(Some(call))` without arguments (the edge can answer it from what it saw),
/// `Some(None)` with arguments, `None` for other functions.
fn session_value_call(
    sql: &[u8],
    tokens: &[Token],
    index: usize,
) -> Option<Option<SessionValueCall>> {
    let text = tokens[index].text(sql);
    let value = if text.eq_ignore_ascii_case(b"LAST_INSERT_ID") {
        SessionValue::LastInsertId
    } else if text.eq_ignore_ascii_case(b"ROW_COUNT") {
        SessionValue::RowCount
    } else if text.eq_ignore_ascii_case(b"FOUND_ROWS") {
        SessionValue::FoundRows
    } else {
        return None;
    };
    // Qualified (`t.last_insert_id(`) is not the built-in.
    if index > 0 && tokens[index - 1].is_punct(sql, b'.') {
        return None;
    }
    let close = tokens.get(index + 2)?;
    if !close.is_punct(sql, b')') {
        return Some(None);
    }
    Some(Some(SessionValueCall {
        value,
        token: index,
        start: tokens[index].start,
        end: close.end,
    }))
}

fn kind_of(sql: &[u8], tokens: &[Token]) -> StatementKind {
    let word = |i: usize| tokens.get(i).filter(|t| t.kind == Kind::Word);
    let Some(first) = word(0) else {
        return StatementKind::Other;
    };
    let is = |i: usize, keyword: &str| word(i).is_some_and(|t| t.is(sql, keyword));
    if first.is(sql, "SELECT")
        || first.is(sql, "WITH")
        || first.is(sql, "VALUES")
        || first.is(sql, "TABLE")
    {
        return StatementKind::Read;
    }
    if ["INSERT", "UPDATE", "DELETE", "REPLACE"]
        .iter()
        .any(|k| first.is(sql, k))
    {
        return StatementKind::Write;
    }
    if DDL_VERBS.iter().any(|k| first.is(sql, k)) {
        // CREATE [OR REPLACE] TEMPORARY TABLE, DROP TEMPORARY TABLE.
        let temporary =
            is(1, "TEMPORARY") || (is(1, "OR") && is(2, "REPLACE") && is(3, "TEMPORARY"));
        return if temporary {
            StatementKind::TemporaryTable
        } else {
            StatementKind::Ddl
        };
    }
    if first.is(sql, "USE") {
        return match tokens.get(1).and_then(|t| t.identifier(sql)) {
            Some(name) => StatementKind::Use(name),
            None => StatementKind::Other,
        };
    }
    if first.is(sql, "SET") {
        // SET STATEMENT var = value FOR <statement>: the variables last one statement.
        if is(1, "STATEMENT")
            && let Some(at) = tokens.iter().position(|t| t.is(sql, "FOR"))
        {
            return kind_of(sql, &tokens[at + 1..]);
        }
        return StatementKind::Set;
    }
    if first.is(sql, "BEGIN")
        || (first.is(sql, "START") && is(1, "TRANSACTION"))
        || first.is(sql, "XA")
    {
        return StatementKind::Begin;
    }
    if first.is(sql, "COMMIT") {
        return StatementKind::Commit;
    }
    if first.is(sql, "ROLLBACK") {
        return StatementKind::Rollback;
    }
    if first.is(sql, "LOCK") {
        return StatementKind::Lock;
    }
    if first.is(sql, "UNLOCK") {
        return StatementKind::Unlock;
    }
    if first.is(sql, "SHOW")
        || first.is(sql, "DESCRIBE")
        || first.is(sql, "DESC")
        || first.is(sql, "EXPLAIN")
    {
        return StatementKind::Show;
    }
    if first.is(sql, "PREPARE") || first.is(sql, "EXECUTE") || first.is(sql, "DEALLOCATE") {
        return StatementKind::Prepared;
    }
    if first.is(sql, "LOAD") {
        return StatementKind::Load;
    }
    StatementKind::Other
}

/// Tables named after a lead word: `a`, `db.a`, `a AS x, b` (a comma list only right
/// after the lead, as in `FROM a, b`).
fn collect_tables(sql: &[u8], after: &[Token], tables: &mut Vec<TableRef>) {
    let mut i = 0;
    loop {
        // IGNORE, LOW_PRIORITY and the like before the name.
        while after.get(i).is_some_and(|t| {
            t.is(sql, "IGNORE")
                || t.is(sql, "LOW_PRIORITY")
                || t.is(sql, "IF")
                || t.is(sql, "NOT")
                || t.is(sql, "EXISTS")
        }) {
            i += 1;
        }
        let Some(first) = after.get(i).filter(|t| is_name(t)) else {
            return;
        };
        if first.kind == Kind::Word && is_reserved(first.text(sql)) {
            return;
        }
        let Some(first_name) = first.identifier(sql) else {
            return;
        };
        if after.get(i + 1).is_some_and(|t| t.is_punct(sql, b'.')) {
            let Some(second) = after.get(i + 2).filter(|t| is_name(t)) else {
                return;
            };
            tables.push(TableRef {
                database: Some(first_name),
                name: second.identifier(sql).unwrap_or_default(),
            });
            i += 3;
        } else {
            tables.push(TableRef {
                database: None,
                name: first_name,
            });
            i += 1;
        }
        // An alias, then a comma for another table.
        if after.get(i).is_some_and(|t| t.is(sql, "AS")) {
            i += 2;
        } else if after
            .get(i)
            .is_some_and(|t| is_name(t) && !(t.kind == Kind::Word && is_reserved(t.text(sql))))
        {
            i += 1;
        }
        if after.get(i).is_some_and(|t| t.is_punct(sql, b',')) {
            i += 1;
            continue;
        }
        return;
    }
}

fn is_name(token: &Token) -> bool {
    matches!(token.kind, Kind::Word | Kind::QuotedIdent)
}

/// Words that end a table list rather than name a table or an alias.
fn is_reserved(word: &[u8]) -> bool {
    const WORDS: &[&str] = &[
        "WHERE",
        "SET",
        "VALUES",
        "VALUE",
        "SELECT",
        "JOIN",
        "LEFT",
        "RIGHT",
        "INNER",
        "CROSS",
        "NATURAL",
        "STRAIGHT_JOIN",
        "ON",
        "USING",
        "ORDER",
        "GROUP",
        "HAVING",
        "LIMIT",
        "UNION",
        "FOR",
        "LOCK",
        "WINDOW",
        "PARTITION",
        "FORCE",
        "USE",
        "IGNORE",
        "READ",
        "WRITE",
        "DUAL",
        "LIKE",
        "INTO",
        "AS",
        "OUTER",
        "DEFAULT",
        "RETURNING",
        "ADD",
        "DROP",
        "MODIFY",
        "CHANGE",
        "RENAME",
        "ENGINE",
        "TO",
        "WITH",
    ];
    WORDS
        .iter()
        .any(|w| word.eq_ignore_ascii_case(w.as_bytes()))
}

#[cfg(test)]
mod tests;
