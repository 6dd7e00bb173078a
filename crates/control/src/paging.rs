//! Page-based pagination: `page` from 1, `per_page` 1..=100 (default 25).

use crate::error::{ControlError, ControlResult};
use dbplane_store::Window;

pub const DEFAULT_PER_PAGE: u64 = 25;
pub const MAX_PER_PAGE: u64 = 100;

/// A validated page request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u64,
    pub per_page: u64,
}

impl PageRequest {
    /// Validates raw query values; out-of-range values are 400s naming the parameter.
    pub fn new(page: Option<u64>, per_page: Option<u64>) -> ControlResult<Self> {
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(DEFAULT_PER_PAGE);
        if page == 0 {
            return Err(ControlError::invalid("page", "must be 1 or greater"));
        }
        if per_page == 0 || per_page > MAX_PER_PAGE {
            return Err(ControlError::invalid(
                "per_page",
                format!("must be between 1 and {MAX_PER_PAGE}"),
            ));
        }
        Ok(Self { page, per_page })
    }

    pub fn window(self) -> Window {
        Window {
            offset: (self.page - 1).saturating_mul(self.per_page),
            limit: self.per_page,
        }
    }

    /// This page of an in-memory list.
    pub fn slice<T: Clone>(self, items: &[T]) -> Vec<T> {
        let window = self.window();
        items
            .iter()
            .skip(window.offset.min(usize::MAX as u64) as usize)
            .take(window.limit as usize)
            .cloned()
            .collect()
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

/// One page of results plus the total behind it.
#[derive(Clone, Debug)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub request: PageRequest,
}

impl<T> Paged<T> {
    pub fn has_next(&self) -> bool {
        self.request.page.saturating_mul(self.request.per_page) < self.total
    }
    pub fn total_pages(&self) -> u64 {
        self.total.div_ceil(self.request.per_page)
    }
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paged<U> {
        Paged {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            request: self.request,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_ranges() {
        assert!(PageRequest::new(Some(0), None).is_err());
        assert!(PageRequest::new(None, Some(101)).is_err());
        assert!(PageRequest::new(None, Some(0)).is_err());
        let request = PageRequest::new(Some(3), Some(10)).unwrap();
        assert_eq!(request.window().offset, 20);
        let items: Vec<u32> = (0..25).collect();
        assert_eq!(request.slice(&items), vec![20, 21, 22, 23, 24]);
        assert!(
            PageRequest::new(Some(9), Some(10))
                .unwrap()
                .slice(&items)
                .is_empty()
        );
    }

    #[test]
    fn next_page_logic() {
        let page = Paged {
            items: vec![1],
            total: 26,
            request: PageRequest::default(),
        };
        assert!(page.has_next());
        assert_eq!(page.total_pages(), 2);
    }
}
