//! The shape of one trace as the evaluator uses it: a forest built from the
//! parent links a [`TraceView`] reports, robust to missing parents and
//! cycles, with nested-set numbers and the structural relations between
//! two sets of spans.
//!
//! A span whose parent is missing is the top of its own fragment: relations
//! hold inside fragments and never across a missing parent, and siblings
//! need a common parent that is present.

use crate::ast::SpansetOp;
use crate::view::TraceView;

pub(crate) struct Tree {
    pub parent: Vec<Option<usize>>,
    pub children: Vec<Vec<usize>>,
    /// Pre-order of the forest.
    preorder: Vec<usize>,
    pub left: Vec<i64>,
    pub right: Vec<i64>,
}

impl Tree {
    /// The tree of a trace of one span.
    pub fn single() -> Tree {
        Tree {
            parent: vec![None],
            children: vec![Vec::new()],
            preorder: vec![0],
            left: vec![1],
            right: vec![2],
        }
    }

    pub fn build<T: TraceView>(trace: &T) -> Tree {
        let n = trace.span_count();
        let raw: Vec<Option<usize>> = (0..n)
            .map(|i| trace.parent(i).filter(|&p| p < n && p != i))
            .collect();
        let mut raw_children = vec![Vec::new(); n];
        for (i, p) in raw.iter().enumerate() {
            if let Some(p) = p {
                raw_children[*p].push(i);
            }
        }
        let mut tree = Tree {
            parent: vec![None; n],
            children: vec![Vec::new(); n],
            preorder: Vec::with_capacity(n),
            left: vec![0; n],
            right: vec![0; n],
        };
        let mut visited = vec![false; n];
        let mut counter: i64 = 1;
        let roots: Vec<usize> = (0..n).filter(|&i| raw[i].is_none()).collect();
        // Spans only reachable through a cycle become fragment tops afterwards.
        let all = roots.into_iter().chain(0..n);
        for root in all {
            if visited[root] {
                continue;
            }
            visited[root] = true;
            tree.left[root] = counter;
            counter += 1;
            tree.preorder.push(root);
            let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
            while let Some((node, next)) = stack.pop() {
                if let Some(&child) = raw_children[node].get(next) {
                    stack.push((node, next + 1));
                    if visited[child] {
                        continue;
                    }
                    visited[child] = true;
                    tree.parent[child] = Some(node);
                    tree.children[node].push(child);
                    tree.left[child] = counter;
                    counter += 1;
                    tree.preorder.push(child);
                    stack.push((child, 0));
                } else {
                    tree.right[node] = counter;
                    counter += 1;
                }
            }
        }
        tree
    }

    /// `nestedSetParent`: the left number of the parent, -1 for tops.
    pub fn nested_parent(&self, span: usize) -> i64 {
        self.parent
            .get(span)
            .copied()
            .flatten()
            .map_or(-1, |p| self.left[p])
    }

    /// For every span, whether one of its ancestors is in `set`.
    fn has_ancestor_in(&self, set: &[bool]) -> Vec<bool> {
        let mut out = vec![false; self.parent.len()];
        for &node in &self.preorder {
            if let Some(p) = self.parent[node] {
                out[node] = out[p] || set[p];
            }
        }
        out
    }

    /// For every span, whether one of its descendants is in `set`.
    fn has_descendant_in(&self, set: &[bool]) -> Vec<bool> {
        let mut out = vec![false; self.parent.len()];
        for &node in self.preorder.iter().rev() {
            if let Some(p) = self.parent[node] {
                if set[node] || out[node] {
                    out[p] = true;
                }
            }
        }
        out
    }

    /// For every span, whether a sibling other than itself is in `set`.
    fn has_sibling_in(&self, set: &[bool]) -> Vec<bool> {
        let n = self.parent.len();
        let mut per_parent = vec![0usize; n];
        for (parent, &member) in self.parent.iter().zip(set) {
            if let (Some(p), true) = (parent, member) {
                per_parent[*p] += 1;
            }
        }
        (0..n)
            .map(|node| match self.parent[node] {
                Some(p) => per_parent[p] > usize::from(set[node]),
                None => false,
            })
            .collect()
    }

    fn has_parent_in(&self, set: &[bool]) -> Vec<bool> {
        self.parent
            .iter()
            .map(|p| p.is_some_and(|p| set[p]))
            .collect()
    }

    fn has_child_in(&self, set: &[bool]) -> Vec<bool> {
        self.children
            .iter()
            .map(|children| children.iter().any(|&c| set[c]))
            .collect()
    }

    /// The spans a structural operator returns for left spans `lhs` and
    /// right spans `rhs`, sorted.
    pub fn relate(&self, op: SpansetOp, lhs: &[usize], rhs: &[usize]) -> Vec<usize> {
        let n = self.parent.len();
        let mut in_l = vec![false; n];
        let mut in_r = vec![false; n];
        lhs.iter().filter(|&&i| i < n).for_each(|&i| in_l[i] = true);
        rhs.iter().filter(|&&i| i < n).for_each(|&i| in_r[i] = true);

        // `right_ok[r]`: r relates to some left span; `left_ok[l]`: l
        // relates to some right span (for the union forms).
        let (right_ok, left_ok, negate, union) = match op {
            SpansetOp::Child | SpansetOp::NotChild | SpansetOp::UnionChild => (
                self.has_parent_in(&in_l),
                self.has_child_in(&in_r),
                op == SpansetOp::NotChild,
                op == SpansetOp::UnionChild,
            ),
            SpansetOp::Parent | SpansetOp::NotParent | SpansetOp::UnionParent => (
                self.has_child_in(&in_l),
                self.has_parent_in(&in_r),
                op == SpansetOp::NotParent,
                op == SpansetOp::UnionParent,
            ),
            SpansetOp::Descendant | SpansetOp::NotDescendant | SpansetOp::UnionDescendant => (
                self.has_ancestor_in(&in_l),
                self.has_descendant_in(&in_r),
                op == SpansetOp::NotDescendant,
                op == SpansetOp::UnionDescendant,
            ),
            SpansetOp::Ancestor | SpansetOp::NotAncestor | SpansetOp::UnionAncestor => (
                self.has_descendant_in(&in_l),
                self.has_ancestor_in(&in_r),
                op == SpansetOp::NotAncestor,
                op == SpansetOp::UnionAncestor,
            ),
            SpansetOp::Sibling | SpansetOp::NotSibling | SpansetOp::UnionSibling => (
                self.has_sibling_in(&in_l),
                self.has_sibling_in(&in_r),
                op == SpansetOp::NotSibling,
                op == SpansetOp::UnionSibling,
            ),
            SpansetOp::And | SpansetOp::Or => return Vec::new(),
        };
        (0..n)
            .filter(|&i| {
                let from_right = in_r[i] && (right_ok[i] != negate);
                let from_left = union && in_l[i] && left_ok[i];
                from_right || from_left
            })
            .collect()
    }
}
