//! Random schema pairs (A, B) for the round-trip property.
//!
//! Generation works on a small spec model that knows which columns each key, check,
//! generated column and view uses, so B can be mutated freely and then repaired into a
//! valid schema (dangling references removed) before it is rendered into a
//! [`Schema`]. proptest drives it with `(seed, tables, mutations)`; shrinking lowers the
//! table and mutation counts, which is what makes a failure readable.

use dbplane_schema::{Dialect, ForeignKeyAction, Schema};

/// SplitMix64: tiny, deterministic, good enough for shapes.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    BigInt,
    SmallInt,
    Varchar(u32),
    Text,
    Decimal(u32, u32),
    DateTime,
    Date,
    Bool,
    Json,
    Double,
    Blob,
    Enum,
}

impl Kind {
    fn is_integer(self) -> bool {
        matches!(self, Kind::Int | Kind::BigInt | Kind::SmallInt)
    }
    fn indexable(self) -> bool {
        !matches!(self, Kind::Text | Kind::Json | Kind::Blob)
    }
}

#[derive(Debug, Clone)]
struct GenColumn {
    name: String,
    kind: Kind,
    nullable: bool,
    default: bool,
    on_update: bool,
    comment: Option<String>,
    /// Generated as `base * 2` from an integer column.
    generated_from: Option<String>,
    collation: Option<&'static str>,
}

#[derive(Debug, Clone)]
struct GenTable {
    name: String,
    id_big: bool,
    has_pk: bool,
    auto_id: bool,
    columns: Vec<GenColumn>,
    indexes: Vec<(String, bool, Vec<String>)>,
    fks: Vec<(String, String, String, ForeignKeyAction)>,
    checks: Vec<String>,
    comment: Option<String>,
    collation: &'static str,
}

#[derive(Debug, Clone)]
struct GenView {
    name: String,
    table: String,
    columns: Vec<String>,
    bound: u32,
}

#[derive(Debug, Clone, Default)]
struct GenSchema {
    tables: Vec<GenTable>,
    views: Vec<GenView>,
    enum_values: Option<Vec<String>>,
    sequence_increment: Option<i64>,
    next_id: u32,
}

const COLLATIONS: &[&str] = &[
    "utf8mb4_unicode_ci",
    "utf8mb4_general_ci",
    "latin1_swedish_ci",
];

impl GenSchema {
    fn fresh(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{}", self.next_id)
    }

    fn random_kind(rng: &mut Rng, dialect: Dialect) -> Kind {
        let kinds = [
            Kind::Int,
            Kind::BigInt,
            Kind::SmallInt,
            Kind::Varchar(*rng.pick(&[10, 40, 100, 300])),
            Kind::Text,
            Kind::Decimal(*rng.pick(&[8, 12]), *rng.pick(&[0, 2])),
            Kind::DateTime,
            Kind::Date,
            Kind::Bool,
            Kind::Json,
            Kind::Double,
            Kind::Blob,
            Kind::Enum,
        ];
        let kind = *rng.pick(&kinds);
        if kind == Kind::Enum && dialect == Dialect::Postgres && rng.chance(50) {
            Kind::Int
        } else {
            kind
        }
    }

    fn random_column(&mut self, rng: &mut Rng, dialect: Dialect, table: &GenTable) -> GenColumn {
        let kind = Self::random_kind(rng, dialect);
        let integer_bases: Vec<&GenColumn> = table
            .columns
            .iter()
            .filter(|c| c.kind.is_integer() && c.generated_from.is_none())
            .collect();
        let generated_from = (kind.is_integer() && !integer_bases.is_empty() && rng.chance(15))
            .then(|| rng.pick(&integer_bases).name.clone());
        let textual = matches!(kind, Kind::Varchar(_) | Kind::Text | Kind::Enum);
        GenColumn {
            name: self.fresh("c"),
            kind,
            nullable: generated_from.is_some() || rng.chance(60),
            default: generated_from.is_none()
                && !matches!(kind, Kind::Text | Kind::Json | Kind::Blob)
                && rng.chance(40),
            on_update: dialect == Dialect::Mariadb && kind == Kind::DateTime && rng.chance(40),
            comment: rng.chance(15).then(|| format!("note {}", rng.below(100))),
            generated_from,
            collation: (dialect == Dialect::Mariadb && textual && rng.chance(20))
                .then_some("utf8mb4_bin"),
        }
    }

    fn add_table(&mut self, rng: &mut Rng, dialect: Dialect) {
        let mut table = GenTable {
            name: self.fresh("t"),
            id_big: rng.chance(50),
            has_pk: rng.chance(90),
            auto_id: rng.chance(40),
            columns: Vec::new(),
            indexes: Vec::new(),
            fks: Vec::new(),
            checks: Vec::new(),
            comment: rng.chance(20).then(|| "a table".to_owned()),
            collation: COLLATIONS[rng.below(COLLATIONS.len())],
        };
        for _ in 0..1 + rng.below(5) {
            let column = self.random_column(rng, dialect, &table);
            table.columns.push(column);
        }
        self.tables.push(table);
        let index = self.tables.len() - 1;
        if rng.chance(50) {
            self.add_index(rng, index);
        }
        if rng.chance(40) {
            self.add_fk(rng, index);
        }
        if rng.chance(30) {
            self.add_check(rng, index);
        }
    }

    fn add_index(&mut self, rng: &mut Rng, table: usize) {
        let name = self.fresh("ix");
        let t = &mut self.tables[table];
        let candidates: Vec<String> = t
            .columns
            .iter()
            .filter(|c| c.kind.indexable())
            .map(|c| c.name.clone())
            .collect();
        if candidates.is_empty() {
            return;
        }
        let mut columns = vec![rng.pick(&candidates).clone()];
        if rng.chance(30) {
            let second = rng.pick(&candidates).clone();
            if !columns.contains(&second) {
                columns.push(second);
            }
        }
        t.indexes.push((name, rng.chance(25), columns));
    }

    fn add_fk(&mut self, rng: &mut Rng, table: usize) {
        let targets: Vec<usize> = (0..self.tables.len())
            .filter(|i| self.tables[*i].has_pk)
            .collect();
        if targets.is_empty() {
            return;
        }
        let target = *rng.pick(&targets);
        let (target_name, big) = (self.tables[target].name.clone(), self.tables[target].id_big);
        let column = self.fresh("r");
        let name = self.fresh("fk");
        let action = *rng.pick(&[
            ForeignKeyAction::Cascade,
            ForeignKeyAction::SetNull,
            ForeignKeyAction::Restrict,
            ForeignKeyAction::NoAction,
        ]);
        let t = &mut self.tables[table];
        t.columns.push(GenColumn {
            name: column.clone(),
            kind: if big { Kind::BigInt } else { Kind::Int },
            nullable: true,
            default: false,
            on_update: false,
            comment: None,
            generated_from: None,
            collation: None,
        });
        t.fks.push((name, column, target_name, action));
    }

    fn add_check(&mut self, rng: &mut Rng, table: usize) {
        let t = &mut self.tables[table];
        // MariaDB refuses checks on columns of cascading foreign keys.
        let fk_columns: Vec<String> = t.fks.iter().map(|fk| fk.1.clone()).collect();
        let candidates: Vec<String> = t
            .columns
            .iter()
            .filter(|c| {
                c.kind.is_integer()
                    && c.generated_from.is_none()
                    && !c.default
                    && !fk_columns.contains(&c.name)
            })
            .map(|c| c.name.clone())
            .collect();
        if !candidates.is_empty() {
            let column = rng.pick(&candidates).clone();
            if !t.checks.contains(&column) {
                t.checks.push(column);
            }
        }
    }

    fn add_view(&mut self, rng: &mut Rng) {
        if self.tables.is_empty() {
            return;
        }
        let table = rng.pick(&self.tables).clone();
        let mut columns: Vec<String> = table
            .columns
            .iter()
            .filter(|_| rng.chance(60))
            .map(|c| c.name.clone())
            .collect();
        if table.has_pk || columns.is_empty() {
            columns.insert(0, "id".to_owned());
        }
        let name = self.fresh("v");
        self.views.push(GenView {
            name,
            table: table.name,
            columns,
            bound: rng.below(100) as u32,
        });
    }
}

#[path = "mutate.rs"]
mod mutate;
#[path = "render.rs"]
mod render;

use render::render;

/// A random pair `(A, B)`: A with `tables` tables, B after `mutations` mutations of A.
pub fn schema_pair(
    seed: u64,
    tables: usize,
    mutations: usize,
    dialect: Dialect,
) -> (Schema, Schema) {
    let mut rng = Rng::new(seed);
    let mut a = GenSchema::default();
    for _ in 0..tables {
        a.add_table(&mut rng, dialect);
    }
    for _ in 0..rng.below(3) {
        a.add_view(&mut rng);
    }
    if dialect == Dialect::Postgres && rng.chance(40) {
        a.enum_values = Some(vec!["a".into(), "b".into()]);
        a.sequence_increment = Some(1);
    }
    a.repair(dialect);
    let mut b = a.clone();
    for _ in 0..mutations {
        b.mutate(&mut rng, dialect);
    }
    b.repair(dialect);
    (render(&a, dialect), render(&b, dialect))
}
