//! Keys online schema change depends on: a usable unique key per table, and primary
//! keys without TEXT/BLOB columns or prefixes.

use super::{LintCode, LintError, LintOptions};
use crate::model::{IndexKind, IndexPart, IndexTarget, Schema, Table};

pub(super) fn check(schema: &Schema, options: &LintOptions, errors: &mut Vec<LintError>) {
    for table in schema.tables.values() {
        if !has_usable_unique_key(table) {
            errors.push(LintError::new(
                LintCode::NoUniqueKey,
                options,
                &table.name,
                format!(
                    "table {} has no primary key or unique key over not null columns",
                    table.name
                ),
            ));
        }
        let Some(primary_key) = &table.primary_key else {
            continue;
        };
        for part in &primary_key.parts {
            let IndexTarget::Column(name) = &part.target else {
                continue;
            };
            if table
                .column(name)
                .is_some_and(|c| c.data_type.is_text_or_blob())
            {
                errors.push(
                    LintError::new(
                        LintCode::BlobInUniqueKey,
                        options,
                        &table.name,
                        format!(
                            "primary key of table {} contains text or blob column {name}",
                            table.name
                        ),
                    )
                    .column(name),
                );
            }
            if let Some(prefix) = part.prefix {
                errors.push(
                    LintError::new(
                        LintCode::PartialKeyInUniqueKey,
                        options,
                        &table.name,
                        format!(
                            "primary key of table {} uses a prefix of column {name} ({prefix})",
                            table.name
                        ),
                    )
                    .column(name),
                );
            }
        }
    }
}

/// A primary key, or a unique key over whole NOT NULL columns that are not TEXT/BLOB.
fn has_usable_unique_key(table: &Table) -> bool {
    if table.primary_key.is_some() {
        return true;
    }
    let usable_part = |part: &IndexPart| match &part.target {
        IndexTarget::Column(name) => {
            part.prefix.is_none()
                && table
                    .column(name)
                    .is_some_and(|c| !c.nullable && !c.data_type.is_text_or_blob())
        }
        IndexTarget::Expression(_) => false,
    };
    table.indexes.iter().any(|index| {
        index.kind == IndexKind::Unique
            && index.predicate.is_none()
            && !index.parts.is_empty()
            && index.parts.iter().all(usable_part)
    })
}
