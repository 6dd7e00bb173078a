//! Which `SET` statements the edge can replay on any backend connection.
//!
//! Most clients and ORMs set session variables when they connect (`SET NAMES`,
//! `SET autocommit = 0`, `SET SESSION sql_mode = …`). Pinning every such client to one
//! backend connection would end pooling for them; instead the edge remembers the session's
//! settings, and its backend connections are keyed by the settings they carry (vtgate's
//! "settings pool"). What cannot be replayed — user variables, `SET TRANSACTION` (the next
//! transaction only), `GLOBAL`, `PASSWORD`, `DEFAULT ROLE` — pins the session instead.

use super::Workload;
use super::lexer::{Kind, Token};

/// `SET` of session-scoped system variables only.
pub fn is_replayable(sql: &[u8], tokens: &[Token]) -> bool {
    let Some(second) = tokens.get(1) else {
        return false;
    };
    if ["GLOBAL", "PASSWORD", "DEFAULT", "TRANSACTION", "STATEMENT"]
        .iter()
        .any(|word| second.is(sql, word))
    {
        return false;
    }
    if ["NAMES", "CHARACTER", "CHARSET", "ROLE"]
        .iter()
        .any(|word| second.is(sql, word))
    {
        return true;
    }
    if workload(sql, tokens).is_some() {
        return false;
    }
    // Every assignment: [SESSION | LOCAL] name = value, or @@[session.|local.]name = value.
    let mut depth = 0usize;
    let mut at_item_start = true;
    for token in &tokens[1..] {
        if token.is_punct(sql, b'(') {
            depth += 1;
        } else if token.is_punct(sql, b')') {
            depth = depth.saturating_sub(1);
        } else if depth == 0 && token.is_punct(sql, b',') {
            at_item_start = true;
            continue;
        }
        if token.kind == Kind::SystemVariable {
            let name = token.text(sql);
            if name.len() > 9 && name[2..9].eq_ignore_ascii_case(b"global.") {
                return false;
            }
        }
        if at_item_start && token.is(sql, "GLOBAL") {
            return false;
        }
        at_item_start = false;
    }
    true
}

/// `SET [SESSION] workload = 'olap' | olap | 'oltp'`.
pub fn workload(sql: &[u8], tokens: &[Token]) -> Option<Workload> {
    let mut i = 1;
    if tokens.get(i).is_some_and(|t| t.is(sql, "SESSION")) {
        i += 1;
    }
    let name = tokens.get(i)?;
    let named = match name.kind {
        Kind::Word => name.text(sql).eq_ignore_ascii_case(b"workload"),
        Kind::SystemVariable => {
            let text = name.text(sql);
            text.eq_ignore_ascii_case(b"@@workload")
                || text.eq_ignore_ascii_case(b"@@session.workload")
        }
        _ => false,
    };
    if !named || !tokens.get(i + 1)?.is_punct(sql, b'=') || tokens.len() > i + 4 {
        return None;
    }
    let value = tokens.get(i + 2)?;
    if tokens.get(i + 3).is_some_and(|t| !t.is_punct(sql, b';')) {
        return None;
    }
    let text = match value.kind {
        Kind::String => value
            .text(sql)
            .get(1..value.text(sql).len().saturating_sub(1))?,
        Kind::Word => value.text(sql),
        _ => return None,
    };
    if text.eq_ignore_ascii_case(b"olap") {
        Some(Workload::Olap)
    } else if text.eq_ignore_ascii_case(b"oltp") {
        Some(Workload::Oltp)
    } else {
        None
    }
}
