//! The list envelope: `{type:"list", current_page, next_page, next_page_url, prev_page,
//! prev_page_url, data}` plus `per_page`, and `total_count`/`total_pages` for the
//! operations whose schema has them.

use crate::extract::Pagination;
use dbplane_control::Paged;
use serde::Serialize;

#[derive(Serialize)]
pub struct ListEnvelope<T> {
    #[serde(rename = "type")]
    kind: &'static str,
    current_page: u64,
    per_page: u64,
    next_page: Option<u64>,
    next_page_url: Option<String>,
    prev_page: Option<u64>,
    prev_page_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_pages: Option<u64>,
    data: Vec<T>,
}

/// Whether the operation's schema carries `total_count`/`total_pages`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Totals {
    Include,
    Omit,
}

impl<T> ListEnvelope<T> {
    pub fn new<U>(
        pagination: &Pagination,
        paged: Paged<U>,
        totals: Totals,
        render: impl FnMut(U) -> T,
    ) -> Self {
        let page = paged.request.page;
        let per_page = paged.request.per_page;
        let url = |target: u64| {
            format!(
                "{}{}?page={target}&per_page={per_page}",
                pagination.base_url, pagination.path
            )
        };
        let next_page = paged.has_next().then_some(page + 1);
        let prev_page = (page > 1).then(|| page - 1);
        let (total_count, total_pages) = match totals {
            Totals::Include => (Some(paged.total), Some(paged.total_pages())),
            Totals::Omit => (None, None),
        };
        Self {
            kind: "list",
            current_page: page,
            per_page,
            next_page,
            next_page_url: next_page.map(url),
            prev_page,
            prev_page_url: prev_page.map(url),
            total_count,
            total_pages,
            data: paged.items.into_iter().map(render).collect(),
        }
    }
}
