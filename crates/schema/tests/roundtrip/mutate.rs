//! Mutations that turn A into B, and the repair pass that removes what they left
//! dangling.

use super::{COLLATIONS, GenSchema, Kind, Rng};
use dbplane_schema::{Dialect, ForeignKeyAction};

impl GenSchema {
    pub(super) fn mutate(&mut self, rng: &mut Rng, dialect: Dialect) {
        let table_count = self.tables.len();
        let pick_table = |rng: &mut Rng| rng.below(table_count);
        match rng.below(20) {
            0 => self.add_table(rng, dialect),
            1 if table_count > 0 => {
                self.tables.remove(pick_table(rng));
            }
            2 | 3 if table_count > 0 => {
                let t = pick_table(rng);
                let column = self.random_column(rng, dialect, &self.tables[t].clone());
                let columns = &mut self.tables[t].columns;
                let position = if dialect == Dialect::Mariadb {
                    rng.below(columns.len() + 1)
                } else {
                    columns.len()
                };
                columns.insert(position, column);
            }
            4 | 5 if table_count > 0 => {
                let t = pick_table(rng);
                let columns = &mut self.tables[t].columns;
                if !columns.is_empty() {
                    columns.remove(rng.below(columns.len()));
                }
            }
            6..=9 if table_count > 0 => {
                let t = pick_table(rng);
                self.modify_column(rng, t, dialect)
            }
            10 if table_count > 0 => {
                let t = pick_table(rng);
                self.add_index(rng, t)
            }
            11 if table_count > 0 => {
                let indexes = &mut self.tables[pick_table(rng)].indexes;
                if !indexes.is_empty() {
                    indexes.remove(rng.below(indexes.len()));
                }
            }
            12 if table_count > 0 => {
                let t = pick_table(rng);
                self.add_fk(rng, t)
            }
            13 if table_count > 0 => {
                let t = pick_table(rng);
                let fks = &mut self.tables[t].fks;
                if !fks.is_empty() {
                    fks.remove(rng.below(fks.len()));
                }
            }
            14 if table_count > 0 => {
                let t = pick_table(rng);
                if rng.chance(50) {
                    self.add_check(rng, t);
                } else {
                    self.tables[t].checks.clear();
                }
            }
            15 => match rng.below(3) {
                0 => self.add_view(rng),
                1 if !self.views.is_empty() => {
                    self.views.remove(rng.below(self.views.len()));
                }
                _ if !self.views.is_empty() => {
                    let v = rng.below(self.views.len());
                    self.views[v].bound += 1;
                }
                _ => {}
            },
            16 if table_count > 0 => {
                let t = &mut self.tables[pick_table(rng)];
                if rng.chance(50) {
                    t.comment = if t.comment.is_some() {
                        None
                    } else {
                        Some("changed".to_owned())
                    };
                } else {
                    t.collation = *rng.pick(COLLATIONS);
                }
            }
            17 if table_count > 0 && dialect == Dialect::Mariadb => {
                let columns = &mut self.tables[pick_table(rng)].columns;
                if columns.len() > 1 {
                    let (a, b) = (rng.below(columns.len()), rng.below(columns.len()));
                    columns.swap(a, b);
                }
            }
            18 if table_count > 0 => {
                let t = &mut self.tables[pick_table(rng)];
                if rng.chance(50) {
                    t.auto_id = !t.auto_id;
                } else {
                    t.has_pk = !t.has_pk;
                }
            }
            19 => {
                if rng.chance(50) {
                    let values = self
                        .enum_values
                        .get_or_insert_with(|| vec!["a".into(), "b".into()]);
                    let next = format!("x{}", values.len());
                    let position = rng.below(values.len() + 1);
                    values.insert(position, next);
                } else {
                    self.sequence_increment = Some(1 + rng.below(5) as i64);
                }
            }
            _ => {}
        }
    }

    fn modify_column(&mut self, rng: &mut Rng, table: usize, dialect: Dialect) {
        let t = &mut self.tables[table];
        if t.columns.is_empty() {
            return;
        }
        let i = rng.below(t.columns.len());
        let name = t.columns[i].name.clone();
        let is_fk_column = t.fks.iter().any(|fk| fk.1 == name);
        let is_base = t
            .columns
            .iter()
            .any(|c| c.generated_from.as_deref() == Some(name.as_str()));
        let column = &mut t.columns[i];
        match rng.below(6) {
            0 if !is_fk_column && !is_base => {
                column.kind = Self::random_kind(rng, dialect);
                column.collation = None;
                if matches!(column.kind, Kind::Text | Kind::Json | Kind::Blob) {
                    column.default = false;
                }
            }
            1 if !is_fk_column && !is_base => {
                if let Kind::Varchar(n) = column.kind {
                    column.kind =
                        Kind::Varchar(*rng.pick(&[n + 5, n.saturating_sub(5).max(1), 60, 500]));
                }
            }
            2 if column.generated_from.is_none() => column.nullable = !column.nullable,
            3 if column.generated_from.is_none()
                && !matches!(column.kind, Kind::Text | Kind::Json | Kind::Blob) =>
            {
                column.default = !column.default
            }
            4 => {
                column.comment = if column.comment.is_some() {
                    None
                } else {
                    Some("c".into())
                }
            }
            _ if dialect == Dialect::Mariadb
                && matches!(column.kind, Kind::Varchar(_) | Kind::Text | Kind::Enum) =>
            {
                column.collation = if column.collation.is_some() {
                    None
                } else {
                    Some("utf8mb4_bin")
                };
            }
            _ => {}
        }
    }

    /// Removes every reference that the mutations left dangling.
    pub(super) fn repair(&mut self, dialect: Dialect) {
        let tables_snapshot = self.tables.clone();
        let enum_exists = dialect == Dialect::Mariadb || self.enum_values.is_some();
        for t in &mut self.tables {
            for column in &mut t.columns {
                if column.kind == Kind::Enum && !enum_exists {
                    column.kind = Kind::Int;
                }
            }
            let snapshot = t.columns.clone();
            let find = |name: &str| snapshot.iter().find(|c| c.name == name);
            for column in &mut t.columns {
                if let Some(base) = &column.generated_from {
                    let ok = find(base)
                        .is_some_and(|b| b.kind.is_integer() && b.generated_from.is_none());
                    if !ok || !column.kind.is_integer() {
                        column.generated_from = None;
                    }
                }
                if column.generated_from.is_some() {
                    column.nullable = true;
                    column.default = false;
                    column.on_update = false;
                }
                if column.kind != Kind::DateTime || dialect == Dialect::Postgres {
                    column.on_update = false;
                }
                if !matches!(column.kind, Kind::Varchar(_) | Kind::Text | Kind::Enum) {
                    column.collation = None;
                }
            }
            let snapshot = t.columns.clone();
            let find = |name: &str| snapshot.iter().find(|c| c.name == name);
            t.indexes.retain(|(_, _, columns)| {
                columns
                    .iter()
                    .all(|c| find(c).is_some_and(|c| c.kind.indexable()))
            });
            let fk_columns: Vec<String> = t.fks.iter().map(|fk| fk.1.clone()).collect();
            t.checks.retain(|c| {
                !fk_columns.contains(c)
                    && find(c).is_some_and(|c| {
                        c.kind.is_integer() && c.generated_from.is_none() && !c.default
                    })
            });
            t.fks.retain(|(_, column, target, _)| {
                let Some(target) = tables_snapshot.iter().find(|x| x.name == *target) else {
                    return false;
                };
                let Some(column) = find(column) else {
                    return false;
                };
                let wanted = if target.id_big {
                    Kind::BigInt
                } else {
                    Kind::Int
                };
                target.has_pk && column.kind == wanted && column.generated_from.is_none()
            });
            for (_, column, _, action) in &t.fks {
                if let Some(c) = t.columns.iter_mut().find(|c| c.name == *column)
                    && *action == ForeignKeyAction::SetNull
                {
                    c.nullable = true;
                }
            }
            if !t.has_pk {
                t.auto_id = false;
            }
        }
        // Tables whose primary key went away can no longer be referenced.
        let keyed: Vec<String> = self
            .tables
            .iter()
            .filter(|t| t.has_pk)
            .map(|t| t.name.clone())
            .collect();
        let names: Vec<String> = self.tables.iter().map(|t| t.name.clone()).collect();
        for t in &mut self.tables {
            t.fks
                .retain(|fk| keyed.contains(&fk.2) && names.contains(&fk.2));
        }
        let tables = self.tables.clone();
        self.views.retain_mut(|view| {
            let Some(table) = tables.iter().find(|t| t.name == view.table) else {
                return false;
            };
            view.columns
                .retain(|c| c == "id" || table.columns.iter().any(|x| x.name == *c));
            !view.columns.is_empty()
        });
    }
}
