//! What a view's `SELECT` refers to: the relations it reads and the columns it names.
//!
//! Diff needs the relations to order views after what they read; lint needs both to
//! report views that became invalid. The body is parsed with `sqlparser`; a body it
//! cannot parse yields `None`, and callers then assume nothing (no ordering constraint
//! beyond names mentioned, no lint error) rather than guessing.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr as SqlExpr, ObjectName, Query, Select, SelectItem, Statement, TableFactor, Visit, Visitor,
};
use sqlparser::dialect::{MySqlDialect, PostgreSqlDialect};
use sqlparser::parser::Parser;

use crate::Dialect;

/// The references of one view body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ViewReferences {
    /// Relations (tables or views) read, by name, without database qualifier.
    pub(crate) relations: BTreeSet<String>,
    /// Column references: `(relation it resolves to, column)`; `None` when unqualified.
    pub(crate) columns: Vec<(Option<String>, String)>,
    /// Whether some columns come from sources we cannot see into (derived tables, table
    /// functions, CTEs): unqualified columns then cannot be checked.
    pub(crate) has_opaque_sources: bool,
    /// Aliases of select items (`... AS x`), which unqualified names may refer to.
    pub(crate) select_aliases: HashSet<String>,
    /// The view's output column names, when all are known (no `*`).
    pub(crate) output_columns: Option<Vec<String>>,
    /// Whether the body uses `JSON_TABLE`.
    pub(crate) uses_json_table: bool,
}

/// Parses a view body; `None` if it does not parse as one query.
pub(crate) fn analyze(definition: &str, dialect: Dialect) -> Option<ViewReferences> {
    let statements = match dialect {
        Dialect::Mariadb => Parser::parse_sql(&MySqlDialect {}, definition),
        Dialect::Postgres => Parser::parse_sql(&PostgreSqlDialect {}, definition),
    }
    .ok()?;
    let [Statement::Query(query)] = statements.as_slice() else {
        return None;
    };
    let mut collector = Collector::default();
    let _ = query.visit(&mut collector);
    let mut references = ViewReferences {
        has_opaque_sources: !collector.opaque_names.is_empty() || collector.opaque_sources,
        select_aliases: collector.select_aliases,
        uses_json_table: collector.uses_json_table,
        output_columns: output_columns(query),
        ..ViewReferences::default()
    };
    for relation in &collector.relations {
        if !collector.opaque_names.contains(relation) {
            references.relations.insert(relation.clone());
        }
    }
    for (qualifier, column) in collector.columns {
        let resolved = match qualifier {
            None => None,
            Some(qualifier) => {
                if collector.opaque_names.contains(&qualifier) {
                    continue;
                }
                Some(
                    collector
                        .aliases
                        .get(&qualifier)
                        .cloned()
                        .unwrap_or(qualifier),
                )
            }
        };
        references.columns.push((resolved, column));
    }
    Some(references)
}

fn output_columns(query: &Query) -> Option<Vec<String>> {
    let sqlparser::ast::SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    select
        .projection
        .iter()
        .map(|item| match item {
            SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.clone()),
            SelectItem::UnnamedExpr(SqlExpr::Identifier(ident)) => Some(ident.value.clone()),
            SelectItem::UnnamedExpr(SqlExpr::CompoundIdentifier(parts)) => {
                parts.last().map(|ident| ident.value.clone())
            }
            _ => None,
        })
        .collect()
}

#[derive(Default)]
struct Collector {
    relations: Vec<String>,
    aliases: HashMap<String, String>,
    opaque_names: HashSet<String>,
    opaque_sources: bool,
    columns: Vec<(Option<String>, String)>,
    select_aliases: HashSet<String>,
    uses_json_table: bool,
}

fn last_part(name: &ObjectName) -> Option<String> {
    name.0
        .last()
        .and_then(|part| part.as_ident())
        .map(|ident| ident.value.clone())
}

impl Visitor for Collector {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.opaque_names.insert(cte.alias.name.value.clone());
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<()> {
        for item in &select.projection {
            if let SelectItem::ExprWithAlias { alias, .. } = item {
                self.select_aliases.insert(alias.value.clone());
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        match factor {
            TableFactor::Table {
                name, alias, args, ..
            } => {
                if args.is_some() {
                    self.opaque_sources = true;
                    if let Some(alias) = alias {
                        self.opaque_names.insert(alias.name.value.clone());
                    }
                } else if let Some(table) = last_part(name) {
                    self.relations.push(table.clone());
                    if let Some(alias) = alias {
                        self.aliases.insert(alias.name.value.clone(), table);
                    }
                }
            }
            TableFactor::JsonTable { alias, .. } => {
                self.uses_json_table = true;
                self.opaque_sources = true;
                if let Some(alias) = alias {
                    self.opaque_names.insert(alias.name.value.clone());
                }
            }
            TableFactor::Derived { alias, .. } => {
                self.opaque_sources = true;
                if let Some(alias) = alias {
                    self.opaque_names.insert(alias.name.value.clone());
                }
            }
            _ => self.opaque_sources = true,
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &SqlExpr) -> ControlFlow<()> {
        match expr {
            SqlExpr::Identifier(ident) if ident.quote_style != Some('\'') => {
                self.columns.push((None, ident.value.clone()));
            }
            SqlExpr::CompoundIdentifier(parts) if parts.len() >= 2 => {
                let column = parts[parts.len() - 1].value.clone();
                let qualifier = parts[parts.len() - 2].value.clone();
                self.columns.push((Some(qualifier), column));
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mariadb_view_bodies_name_their_sources() {
        let refs = analyze(
            "select `t`.`a` AS `a`,`x`.`b` AS `b` from `t` join `db`.`u` `x` on `t`.`id` = `x`.`id` where c > 1",
            Dialect::Mariadb,
        )
        .expect("parses");
        assert_eq!(refs.relations.iter().collect::<Vec<_>>(), ["t", "u"]);
        assert!(refs.columns.contains(&(Some("u".into()), "b".into())));
        assert!(refs.columns.contains(&(None, "c".into())));
        assert_eq!(refs.output_columns, Some(vec!["a".into(), "b".into()]));
    }

    #[test]
    fn postgres_ctes_and_subqueries_are_opaque() {
        let refs = analyze(
            "with w as (select a from t) select w.a, s.z from w, (select 1 as z) s",
            Dialect::Postgres,
        )
        .expect("parses");
        assert_eq!(refs.relations.iter().collect::<Vec<_>>(), ["t"]);
        assert!(refs.has_opaque_sources);
        assert!(!refs.columns.iter().any(|(q, _)| q.as_deref() == Some("w")));
        assert!(analyze("not sql at all", Dialect::Postgres).is_none());
    }
}
