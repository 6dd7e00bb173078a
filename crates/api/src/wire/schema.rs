//! A branch schema: `{"data": [{name, raw, html}]}`, one item per table or view; and the
//! deploy request and branch diffs, pages of items of the same shape.

use crate::extract::Pagination;
use crate::wire::list::{ListEnvelope, Totals};
use dbplane_control::Paged;
use serde::Serialize;

#[derive(Serialize)]
pub struct SchemaResponse {
    pub data: Vec<SchemaItem>,
}

#[derive(Serialize)]
pub struct SchemaItem {
    name: String,
    raw: String,
    html: String,
}

impl SchemaItem {
    /// `raw` is the object's `CREATE` statement.
    pub fn new(name: String, raw: String) -> Self {
        Self {
            html: format!("<pre>{}</pre>", escape_html(&raw)),
            name,
            raw,
        }
    }
}

/// A page of diff items, `raw` being each object's `CREATE` statement as a unified diff
/// (`GET .../deploy-requests/{number}/diff`, `GET .../branches/{branch}/diff`).
pub fn diff_page(
    pagination: &Pagination,
    items: Vec<(String, String)>,
) -> ListEnvelope<SchemaItem> {
    let paged = Paged {
        total: items.len() as u64,
        items: pagination.request.slice(&items),
        request: pagination.request,
    };
    ListEnvelope::new(pagination, paged, Totals::Omit, |(name, raw)| {
        SchemaItem::new(name, raw)
    })
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_the_escaped_statement() {
        let item = SchemaItem::new(
            "t".into(),
            "CREATE TABLE `t` (`a` varchar(3) DEFAULT '<&>\"')".into(),
        );
        assert_eq!(
            item.html,
            "<pre>CREATE TABLE `t` (`a` varchar(3) DEFAULT &#39;&lt;&amp;&gt;&quot;&#39;)</pre>"
        );
        assert_eq!(
            item.raw,
            "CREATE TABLE `t` (`a` varchar(3) DEFAULT '<&>\"')"
        );
    }
}

/// One lint error, with every field of the spec's lint error object.
#[derive(Serialize)]
pub struct LintErrorResponse {
    lint_error: &'static str,
    subject_type: String,
    keyspace_name: String,
    table_name: String,
    error_description: String,
    docs_url: String,
    column_name: String,
    foreign_key_column_names: Vec<String>,
    auto_increment_column_names: Vec<String>,
    charset_name: String,
    engine_name: String,
    vindex_name: String,
    json_path: String,
    check_constraint_name: String,
    enum_value: String,
    partitioning_type: String,
    partition_name: String,
}

impl From<dbplane_schema::lint::LintError> for LintErrorResponse {
    fn from(error: dbplane_schema::lint::LintError) -> Self {
        Self {
            lint_error: error.lint_error.as_str(),
            subject_type: error.subject_type,
            keyspace_name: error.keyspace_name,
            table_name: error.table_name,
            error_description: error.error_description,
            docs_url: error.docs_url,
            column_name: error.column_name,
            foreign_key_column_names: error.foreign_key_column_names,
            auto_increment_column_names: error.auto_increment_column_names,
            charset_name: error.charset_name,
            engine_name: error.engine_name,
            vindex_name: error.vindex_name,
            json_path: error.json_path,
            check_constraint_name: error.check_constraint_name,
            enum_value: error.enum_value,
            partitioning_type: error.partitioning_type,
            partition_name: error.partition_name,
        }
    }
}
