//! Dependency ordering between named objects (tables referenced by foreign keys, views
//! reading tables and views).
//!
//! Orders are deterministic: among objects free to go, the smallest name goes first. A
//! cycle does not stop the order; its smallest member goes first and callers break the
//! cycle themselves (for tables, by adding some foreign keys afterwards).

use std::collections::{BTreeMap, BTreeSet};

/// Orders `dependencies`' keys so that each comes after the keys it depends on.
/// Dependencies on names outside the key set are ignored, as are self-dependencies.
pub(crate) fn topological_order(dependencies: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut remaining: BTreeMap<&str, BTreeSet<&str>> = dependencies
        .iter()
        .map(|(name, deps)| {
            let deps = deps
                .iter()
                .map(String::as_str)
                .filter(|dep| *dep != name && dependencies.contains_key(*dep))
                .collect();
            (name.as_str(), deps)
        })
        .collect();
    let mut dependents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, deps) in &remaining {
        for dep in deps {
            dependents.entry(*dep).or_default().push(name);
        }
    }
    let mut ready: BTreeSet<&str> = remaining
        .iter()
        .filter(|(_, deps)| deps.is_empty())
        .map(|(name, _)| *name)
        .collect();
    let mut order = Vec::with_capacity(remaining.len());
    while !remaining.is_empty() {
        let next = match ready.pop_first() {
            Some(next) => next,
            // A cycle: release its smallest member.
            None => match remaining.keys().next() {
                Some(first) => *first,
                None => break,
            },
        };
        if remaining.remove(next).is_none() {
            continue;
        }
        order.push(next.to_owned());
        for dependent in dependents.get(next).into_iter().flatten() {
            if let Some(deps) = remaining.get_mut(dependent) {
                deps.remove(next);
                if deps.is_empty() {
                    ready.insert(dependent);
                }
            }
        }
    }
    order
}

/// The strongly connected components with more than one member (the cycles), each
/// sorted, in order of their smallest member. Self-loops are not cycles here.
pub(crate) fn cycles(dependencies: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Iterative Tarjan, so a long chain cannot overflow the stack.
    let names: Vec<&String> = dependencies.keys().collect();
    let position: BTreeMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, name)| (name.as_str(), i))
        .collect();
    let edges: Vec<Vec<usize>> = names
        .iter()
        .map(|name| {
            dependencies[*name]
                .iter()
                .filter_map(|dep| position.get(dep.as_str()).copied())
                .collect()
        })
        .collect();
    let count = names.len();
    let mut index = vec![usize::MAX; count];
    let mut low = vec![0; count];
    let mut on_stack = vec![false; count];
    let mut stack = Vec::new();
    let mut next_index = 0;
    let mut components = Vec::new();
    for root in 0..count {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        while let Some((node, edge)) = work.pop() {
            if edge == 0 {
                index[node] = next_index;
                low[node] = next_index;
                next_index += 1;
                stack.push(node);
                on_stack[node] = true;
            }
            if let Some(&target) = edges[node].get(edge) {
                work.push((node, edge + 1));
                if index[target] == usize::MAX {
                    work.push((target, 0));
                } else if on_stack[target] {
                    low[node] = low[node].min(index[target]);
                }
                continue;
            }
            if low[node] == index[node] {
                let mut component = Vec::new();
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    component.push(names[member].clone());
                    if member == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    components.push(component);
                }
            }
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[node]);
            }
        }
    }
    components.sort();
    components
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
        edges
            .iter()
            .map(|(name, deps)| {
                (
                    name.to_string(),
                    deps.iter().map(|d| d.to_string()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn dependencies_come_first_and_cycles_do_not_stall() {
        let g = graph(&[("a", &["b"]), ("b", &["c"]), ("c", &[]), ("d", &["d"])]);
        assert_eq!(topological_order(&g), ["c", "b", "a", "d"]);
        let g = graph(&[("a", &["b"]), ("b", &["a"]), ("c", &["a"])]);
        assert_eq!(topological_order(&g), ["a", "b", "c"]);
        assert_eq!(cycles(&g), vec![vec!["a".to_string(), "b".to_string()]]);
        assert!(cycles(&graph(&[("a", &["a"])])).is_empty());
    }
}
