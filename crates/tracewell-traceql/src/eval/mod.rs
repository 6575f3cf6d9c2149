//! The storage-neutral evaluator: runs a query's spanset pipeline over one
//! trace given through [`TraceView`] and returns the matching spansets.
//!
//! Semantics follow Tempo: the pipeline starts with one spanset holding
//! every span of the trace; a spanset filter keeps the spans of each
//! spanset that satisfy it (dropping spansets left empty); `&&` and `||`
//! evaluate both sides on the same input and return the spans of both;
//! structural operators return right-hand spans related to some left-hand
//! span (negated forms: related to none; union forms: the related spans of
//! both sides); `by()` splits spansets by a value, `coalesce()` merges them,
//! scalar filters keep spansets whose aggregates satisfy the comparison, and
//! `select()` records fields to return. When an operand yields several
//! spansets (after `by()`), their spans are merged.

mod aggregate;
mod field;
mod tree;

use std::collections::HashMap;

use regex::Regex;

use crate::ast::*;
use crate::error::{ValidationError, ValidationErrorKind};
use crate::pattern::anchored_regex;
use crate::value::Value;
use crate::view::{SpanView, TraceView};
use crate::walk::{for_each_field_expr, for_each_sub_expr};
use field::Ctx;
use tree::Tree;

/// A set of spans of one trace selected by a query.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Spanset {
    /// Indexes of the spans in the trace, sorted and unique.
    pub spans: Vec<usize>,
    /// The value of the last aggregate a scalar filter computed.
    pub scalar: Option<Value>,
    /// Grouping keys (`by(...)`) and aggregate results, named by their
    /// canonical TraceQL text.
    pub attributes: Vec<(String, Value)>,
    /// Fields `select()` asked to return with the spans.
    pub selected: Vec<Field>,
}

impl Spanset {
    fn with_spans(&self, spans: Vec<usize>) -> Spanset {
        Spanset {
            spans,
            scalar: self.scalar.clone(),
            attributes: self.attributes.clone(),
            selected: self.selected.clone(),
        }
    }
}

/// A validated query ready to run over many traces.
#[derive(Debug)]
pub struct Evaluator<'q> {
    query: &'q Query,
    regexes: HashMap<String, Regex>,
}

/// Validates `query` and runs it over `trace`.
///
/// For a metrics query this returns the spans each metrics pipeline
/// selects, merged; use [`Evaluator::metrics_spans`] to keep them apart.
pub fn evaluate<T: TraceView>(query: &Query, trace: &T) -> Result<Vec<Spanset>, ValidationError> {
    Ok(Evaluator::new(query)?.evaluate(trace))
}

impl<'q> Evaluator<'q> {
    /// Validates the query and compiles its regular expressions.
    pub fn new(query: &'q Query) -> Result<Evaluator<'q>, ValidationError> {
        query.validate()?;
        let mut regexes = HashMap::new();
        let mut failure = None;
        for_each_field_expr(query, &mut |expr| {
            for_each_sub_expr(expr, &mut |sub| {
                if let FieldExpr::Binary {
                    op: BinaryOp::Regex | BinaryOp::NotRegex,
                    rhs,
                    ..
                } = sub
                {
                    if let FieldExpr::Literal(Value::Str(pattern), pos) = &**rhs {
                        if regexes.contains_key(pattern) {
                            return;
                        }
                        match anchored_regex(pattern) {
                            Ok(regex) => {
                                regexes.insert(pattern.clone(), regex);
                            }
                            Err(e) => failure = Some((pattern.clone(), e.to_string(), *pos)),
                        }
                    }
                }
            });
        });
        if let Some((pattern, reason, pos)) = failure {
            return Err(ValidationError::at(
                pos,
                ValidationErrorKind::InvalidRegex { pattern, reason },
            ));
        }
        Ok(Evaluator { query, regexes })
    }

    /// The query being evaluated.
    pub fn query(&self) -> &Query {
        self.query
    }

    /// Runs the query over one trace. Search queries return their result
    /// spansets; metrics queries the spans their pipelines select.
    pub fn evaluate<T: TraceView>(&self, trace: &T) -> Vec<Spanset> {
        match &self.query.root {
            Root::Search(pipeline) => self.run(pipeline, trace),
            Root::Metrics(_) => {
                let merged = merge_spans(self.metrics_spans(trace).iter());
                if merged.is_empty() {
                    Vec::new()
                } else {
                    vec![Spanset {
                        spans: merged,
                        ..Spanset::default()
                    }]
                }
            }
        }
    }

    /// For a metrics query, the spans each metrics pipeline selects, in the
    /// order of [`MetricsExpr::pipelines`]; empty for a search query.
    pub fn metrics_spans<T: TraceView>(&self, trace: &T) -> Vec<Vec<usize>> {
        let Root::Metrics(metrics) = &self.query.root else {
            return Vec::new();
        };
        metrics
            .expr
            .pipelines()
            .into_iter()
            .map(|p| merge_spans(self.run(&p.source, trace).iter().map(|s| &s.spans)))
            .collect()
    }

    /// Runs any pipeline of the query over a trace.
    pub fn run<T: TraceView>(&self, pipeline: &Pipeline, trace: &T) -> Vec<Spanset> {
        let tree = Tree::build(trace);
        let ctx = Ctx {
            trace,
            tree: &tree,
            regexes: &self.regexes,
        };
        let all = Spanset {
            spans: (0..trace.span_count()).collect(),
            ..Spanset::default()
        };
        run_pipeline(&ctx, pipeline, vec![all])
    }

    /// `filter` for evaluation on single spans, or `None` when one of its fields is not span-local (see
    /// [`is_span_local_field`]). Regular expressions are those of the query: `filter` must belong to it.
    pub fn span_local<'e>(&'e self, filter: &'e SpansetFilter) -> Option<SpanLocalFilter<'e>> {
        let mut local = true;
        for_each_field(&filter.expr, &mut |f| local &= is_span_local_field(f));
        local.then(|| SpanLocalFilter {
            regexes: &self.regexes,
            expr: &filter.expr,
            tree: Tree::single(),
        })
    }

    /// Whether span `index` of `trace` satisfies `filter` (for example the
    /// selection filter of `compare()`).
    pub fn span_matches<T: TraceView>(
        &self,
        filter: &SpansetFilter,
        trace: &T,
        index: usize,
    ) -> bool {
        let tree = Tree::build(trace);
        let ctx = Ctx {
            trace,
            tree: &tree,
            regexes: &self.regexes,
        };
        index < trace.span_count() && ctx.matches(index, &filter.expr)
    }

    /// For each of `spans` (indexes into `trace`), whether it satisfies
    /// `filter`, with the trace's structure built once for all of them (as
    /// `compare()` needs for the spans its pipeline selects). Indexes out
    /// of range never match.
    pub fn spans_matching<T: TraceView>(
        &self,
        filter: &SpansetFilter,
        trace: &T,
        spans: &[usize],
    ) -> Vec<bool> {
        if spans.is_empty() {
            return Vec::new();
        }
        let tree = Tree::build(trace);
        let ctx = Ctx {
            trace,
            tree: &tree,
            regexes: &self.regexes,
        };
        let count = trace.span_count();
        spans
            .iter()
            .map(|&index| index < count && ctx.matches(index, &filter.expr))
            .collect()
    }
}

/// Whether `field` is a property of the span itself: not its place in the trace (`span:childCount`, nested-set
/// numbers, `parent.` attributes) nor a property of the whole trace (`trace:duration`, `trace:rootName`,
/// `trace:rootService`).
pub fn is_span_local_field(field: &Field) -> bool {
    match field {
        Field::Intrinsic(i) => !matches!(
            i,
            Intrinsic::ChildCount
                | Intrinsic::NestedSetLeft
                | Intrinsic::NestedSetRight
                | Intrinsic::NestedSetParent
                | Intrinsic::TraceDuration
                | Intrinsic::TraceRootName
                | Intrinsic::TraceRootService
        ),
        Field::Attribute(a) => !a.parent,
    }
}

/// Calls `visit` on every field `expr` reads.
pub fn for_each_field(expr: &FieldExpr, visit: &mut dyn FnMut(&Field)) {
    for_each_sub_expr(expr, &mut |e| {
        if let FieldExpr::Field(field, _) = e {
            visit(field);
        }
    });
}

/// A spanset filter whose every field is span-local (see [`is_span_local_field`]), evaluated one span at a time
/// without the span's trace, e.g. over stored columns. It answers as the evaluator does for the same span in any
/// trace.
pub struct SpanLocalFilter<'e> {
    regexes: &'e HashMap<String, Regex>,
    expr: &'e FieldExpr,
    tree: Tree,
}

impl SpanLocalFilter<'_> {
    /// Whether `span` satisfies the filter.
    pub fn matches<S: SpanView>(&self, span: &S) -> bool {
        let trace = OneSpan(span);
        let ctx = Ctx {
            trace: &trace,
            tree: &self.tree,
            regexes: self.regexes,
        };
        ctx.matches(0, self.expr)
    }
}

/// A trace of one span, for span-local evaluation.
struct OneSpan<'s, S>(&'s S);

impl<S: SpanView> TraceView for OneSpan<'_, S> {
    type Span = S;

    fn span_count(&self) -> usize {
        1
    }

    fn span(&self, index: usize) -> Option<&S> {
        (index == 0).then_some(self.0)
    }

    fn parent(&self, _: usize) -> Option<usize> {
        None
    }
}

fn merge_spans<'a>(sets: impl Iterator<Item = &'a Vec<usize>>) -> Vec<usize> {
    let mut spans: Vec<usize> = sets.flatten().copied().collect();
    spans.sort_unstable();
    spans.dedup();
    spans
}

fn run_pipeline<T: TraceView>(
    ctx: &Ctx<'_, T>,
    pipeline: &Pipeline,
    input: Vec<Spanset>,
) -> Vec<Spanset> {
    let mut sets = input;
    for stage in &pipeline.stages {
        if sets.is_empty() {
            break;
        }
        sets = match stage {
            Stage::Spanset(expr) => sets
                .iter()
                .flat_map(|s| spanset_expr(ctx, expr, s))
                .collect(),
            Stage::ScalarFilter(filter) => sets
                .into_iter()
                .filter_map(|s| aggregate::scalar_filter(ctx, filter, s))
                .collect(),
            Stage::GroupBy(expr) => sets.iter().flat_map(|s| group_by(ctx, expr, s)).collect(),
            Stage::Coalesce => {
                let spans = merge_spans(sets.iter().map(|s| &s.spans));
                vec![Spanset {
                    spans,
                    ..Spanset::default()
                }]
            }
            Stage::Select(fields) => sets
                .into_iter()
                .map(|mut s| {
                    for field in fields {
                        if !s.selected.contains(field) {
                            s.selected.push(field.clone());
                        }
                    }
                    s
                })
                .collect(),
        };
    }
    sets.retain(|s| !s.spans.is_empty());
    sets
}

fn group_by<T: TraceView>(ctx: &Ctx<'_, T>, expr: &FieldExpr, input: &Spanset) -> Vec<Spanset> {
    let name = format!("by({expr})");
    let mut groups: Vec<(String, Spanset)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for &span in &input.spans {
        let value = ctx.eval(span, expr);
        let key = value.group_key();
        let slot = *index.entry(key.clone()).or_insert_with(|| {
            let mut group = input.with_spans(Vec::new());
            group.attributes.push((name.clone(), value));
            groups.push((key, group));
            groups.len() - 1
        });
        groups[slot].1.spans.push(span);
    }
    groups.into_iter().map(|(_, g)| g).collect()
}

/// The spans an operand selects from `input`, merged over its spansets.
fn operand_spans<T: TraceView>(
    ctx: &Ctx<'_, T>,
    expr: &SpansetExpr,
    input: &Spanset,
) -> Vec<usize> {
    let sets = spanset_expr(ctx, expr, input);
    merge_spans(sets.iter().map(|s| &s.spans))
}

fn spanset_expr<T: TraceView>(
    ctx: &Ctx<'_, T>,
    expr: &SpansetExpr,
    input: &Spanset,
) -> Vec<Spanset> {
    match expr {
        SpansetExpr::Filter(filter) => {
            let spans: Vec<usize> = input
                .spans
                .iter()
                .copied()
                .filter(|&i| ctx.matches(i, &filter.expr))
                .collect();
            if spans.is_empty() {
                Vec::new()
            } else {
                vec![input.with_spans(spans)]
            }
        }
        SpansetExpr::Pipeline(pipeline) => run_pipeline(ctx, pipeline, vec![input.clone()]),
        SpansetExpr::Op { op, lhs, rhs, .. } => {
            let l = operand_spans(ctx, lhs, input);
            let r = operand_spans(ctx, rhs, input);
            let spans = match op {
                SpansetOp::And if !l.is_empty() && !r.is_empty() => {
                    merge_spans([&l, &r].into_iter())
                }
                SpansetOp::Or => merge_spans([&l, &r].into_iter()),
                SpansetOp::And => Vec::new(),
                structural => {
                    if r.is_empty() {
                        Vec::new()
                    } else {
                        ctx.tree.relate(*structural, &l, &r)
                    }
                }
            };
            if spans.is_empty() {
                Vec::new()
            } else {
                vec![input.with_spans(spans)]
            }
        }
    }
}
