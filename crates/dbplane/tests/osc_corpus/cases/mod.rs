//! The corpus: small tables with the types, charsets, keys and names users have, one ALTER
//! each. Every case runs through the real deploy-request path (see `harness.rs`).
//!
//! A case names its table's columns, how the writers insert a row `n` (`row`, whose first
//! value is the unique integer `id` every case table has) and update one (`set(k)`), the
//! ALTER the branch gets, and optionally the writers' session (SQL mode, time zone). What
//! must come out is decided by MariaDB's own `ALTER TABLE` on a twin (the oracle), except
//! for changes the deploy checks must refuse up front.

mod keys;
mod numbers;
mod temporal;
mod text;

use crate::harness::ident;

/// What the deploy must do.
#[derive(Clone, Copy, Debug)]
pub enum Expect {
    /// What the oracle does: cut over with equal rows when MariaDB's `ALTER` keeps every
    /// row, fail with the table untouched when it refuses them.
    Oracle,
    /// Refused at check time, the checks' message naming this.
    Refused(&'static str),
}

#[derive(Clone, Debug)]
pub struct Case {
    pub name: &'static str,
    /// The table's name when it matters (default `c<index>`).
    pub table: Option<&'static str>,
    /// What goes between the parentheses of `CREATE TABLE`.
    pub columns: &'static str,
    /// Table options after them.
    pub options: &'static str,
    /// The columns `row` gives values for.
    pub insert: &'static str,
    /// `( … )` values of row `n` (its `id` is `n`).
    pub row: fn(u64) -> String,
    /// `a = …, b = …` for the `k`-th update.
    pub set: fn(u64) -> String,
    /// The clauses of the branch's `ALTER TABLE`.
    pub alter: &'static str,
    pub sql_mode: Option<&'static str>,
    pub time_zone: Option<&'static str>,
    pub expect: Expect,
    /// A text the deploy's statement must contain (a rename must be a `CHANGE COLUMN`).
    pub ddl_contains: Option<&'static str>,
    /// The writers never change `id` (it is not the row's identity on its own).
    pub fixed_ids: bool,
    /// Write in the revert window and revert: the old table must equal a never-altered
    /// twin (for changes whose rows convert both ways).
    pub revert: bool,
}

/// A case with the defaults: the server's SQL mode and time zone, the oracle decides.
pub fn case(
    name: &'static str,
    columns: &'static str,
    insert: &'static str,
    row: fn(u64) -> String,
    set: fn(u64) -> String,
    alter: &'static str,
) -> Case {
    Case {
        name,
        table: None,
        columns,
        options: "",
        insert,
        row,
        set,
        alter,
        sql_mode: None,
        time_zone: None,
        expect: Expect::Oracle,
        ddl_contains: None,
        fixed_ids: false,
        revert: false,
    }
}

impl Case {
    pub fn options(mut self, options: &'static str) -> Self {
        self.options = options;
        self
    }

    pub fn sql_mode(mut self, mode: &'static str) -> Self {
        self.sql_mode = Some(mode);
        self
    }

    pub fn time_zone(mut self, zone: &'static str) -> Self {
        self.time_zone = Some(zone);
        self
    }

    pub fn refused(mut self, reason: &'static str) -> Self {
        self.expect = Expect::Refused(reason);
        self
    }

    pub fn ddl_contains(mut self, text: &'static str) -> Self {
        self.ddl_contains = Some(text);
        self
    }

    pub fn fixed_ids(mut self) -> Self {
        self.fixed_ids = true;
        self
    }

    pub fn revert(mut self) -> Self {
        self.revert = true;
        self
    }

    pub fn table(mut self, name: &'static str) -> Self {
        self.table = Some(name);
        self
    }

    pub fn table_name(&self, index: usize) -> String {
        self.table
            .map(String::from)
            .unwrap_or_else(|| format!("c{index}"))
    }

    pub fn create(&self, name: &str) -> String {
        format!(
            "CREATE TABLE {} ({}) {}",
            ident(name),
            self.columns,
            self.options
        )
    }

    /// `SET SESSION …` assignments of the writers (and of the seed).
    pub fn session_settings(&self) -> String {
        let mode = self
            .sql_mode
            .map(|m| format!("'{m}'"))
            .unwrap_or_else(|| "@@GLOBAL.sql_mode".into());
        let zone = self
            .time_zone
            .map(|z| format!("'{z}'"))
            .unwrap_or_else(|| "@@GLOBAL.time_zone".into());
        format!("sql_mode = {mode}, time_zone = {zone}")
    }
}

/// Every case.
pub fn all() -> Vec<Case> {
    let mut cases = Vec::new();
    cases.extend(temporal::cases());
    cases.extend(numbers::cases());
    cases.extend(text::cases());
    cases.extend(keys::cases());
    cases
}

/// A date in 2026 that moves with `n` (months 1–12, days 1–28).
pub fn date(n: u64) -> String {
    format!("2026-{:02}-{:02}", n % 12 + 1, n % 28 + 1)
}

/// A time of day that moves with `n`.
pub fn clock(n: u64) -> String {
    format!("{:02}:{:02}:{:02}", n % 24, n * 7 % 60, n * 13 % 60)
}
