//! Which of the archive's entries can be restored as soon as one table's rows are in:
//! its indexes, and the primary-key, unique and exclusion constraints that own one (named
//! like their index). Building them while other tables still load keeps both cores busy,
//! as a parallel `pg_restore` does; everything else (foreign keys, which need the other
//! table's key; triggers; checks; sequence values) waits for the end.
//!
//! A table's key constraints are built one after another (each `ALTER TABLE` locks the
//! table), then its plain indexes side by side (`CREATE INDEX` locks share), each on a
//! slot of its own, so a slot freed anywhere goes to the next build.
//!
//! The entries are lines of `pg_restore -l` (`<id>; <catalog oid> <oid> <type> <schema>
//! <tag> <owner>`, `;` starting a comment), given back to `pg_restore -L`.

use std::collections::HashMap;

use super::super::ManifestTable;

/// The archive's entries, split.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct PostDataPlan {
    /// Per table, the lines to restore once its rows are in.
    pub(super) tables: HashMap<String, TableBuilds>,
    /// Every other entry line, to restore at the end.
    pub(super) rest: Vec<String>,
}

/// One table's early entries.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct TableBuilds {
    /// Primary-key, unique and exclusion constraints: first, one at a time.
    pub(super) constraints: Vec<String>,
    /// Plain indexes: then, each on its own.
    pub(super) indexes: Vec<String>,
}

/// Splits the entry lines of `toc` by the tables' index names. An entry that does not
/// match exactly (an owner or a name with a space, say) goes to the end, which is only
/// slower.
pub(super) fn plan(toc: &str, tables: &[ManifestTable]) -> PostDataPlan {
    // "<type> <schema> <tag> " (the owner cut off) -> table.
    let mut keys: HashMap<String, &str> = HashMap::new();
    for table in tables {
        for index in &table.indexes {
            keys.insert(format!("INDEX public {index}"), &table.name);
            keys.insert(
                format!("CONSTRAINT public {} {index}", table.name),
                &table.name,
            );
        }
    }
    let mut plan = PostDataPlan::default();
    for line in toc.lines() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with(';') {
            continue;
        }
        let head = entry_description(line)
            .and_then(|description| description.rsplit_once(' '))
            .map(|(head, _owner)| head);
        let Some((head, table)) = head.and_then(|head| Some((head, keys.get(head)?))) else {
            plan.rest.push(line.to_string());
            continue;
        };
        let builds = plan.tables.entry((*table).to_string()).or_default();
        match head.starts_with("CONSTRAINT ") {
            true => builds.constraints.push(line.to_string()),
            false => builds.indexes.push(line.to_string()),
        }
    }
    plan
}

/// `<type> <schema> <tag> <owner>` of an entry line.
fn entry_description(line: &str) -> Option<&str> {
    let (_id, rest) = line.split_once("; ")?;
    let mut words = rest.splitn(3, ' ');
    let (_catalog, _oid) = (words.next()?, words.next()?);
    words.next()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, indexes: &[&str]) -> ManifestTable {
        ManifestTable {
            name: name.to_string(),
            rows: 0,
            object: None,
            parts: Vec::new(),
            columns: Vec::new(),
            indexes: indexes.iter().map(|index| index.to_string()).collect(),
        }
    }

    #[test]
    fn a_tables_indexes_and_key_constraints_follow_its_rows() {
        let toc = ";\n; Archive created at 2026-11-29\n;\n\
            215; 1259 16385 TABLE public customers owner_1\n\
            3350; 0 0 SEQUENCE SET public customers_id_seq owner_1\n\
            3357; 2606 16393 CONSTRAINT public customers customers_pkey owner_1\n\
            3358; 2606 16394 CONSTRAINT public customers customers_balance_check owner_1\n\
            3355; 1259 16400 INDEX public orders_by_customer owner_1\n\
            3356; 2606 16401 CONSTRAINT public orders orders_pkey owner_1\n\
            3360; 2606 16405 FK CONSTRAINT public orders orders_customer_id_fkey owner_1\n\
            3361; 2620 16406 TRIGGER public orders stamp owner_1\n";
        let plan = plan(
            toc,
            &[
                table("customers", &["customers_pkey"]),
                table("orders", &["orders_pkey", "orders_by_customer"]),
            ],
        );
        assert_eq!(
            plan.tables["customers"].constraints,
            ["3357; 2606 16393 CONSTRAINT public customers customers_pkey owner_1"]
        );
        assert!(plan.tables["customers"].indexes.is_empty());
        assert_eq!(
            plan.tables["orders"],
            TableBuilds {
                constraints: vec![
                    "3356; 2606 16401 CONSTRAINT public orders orders_pkey owner_1".to_string()
                ],
                indexes: vec![
                    "3355; 1259 16400 INDEX public orders_by_customer owner_1".to_string()
                ],
            }
        );
        assert_eq!(plan.rest.len(), 5);
        assert!(plan.rest.iter().any(|line| line.contains("FK CONSTRAINT")));
        assert!(plan.rest.iter().any(|line| line.contains("balance_check")));
    }
}
