//! A branch schema: `{"data": [{name, raw, html}]}`, one item per table or view.

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
