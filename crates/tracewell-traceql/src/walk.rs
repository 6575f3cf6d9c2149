//! Visiting every field expression of a query, e.g. to find the regular
//! expressions to compile.

use crate::ast::*;

/// Calls `visit` on every top-level field expression of the query: spanset
/// filter conditions, `by()` expressions and aggregate arguments.
pub fn for_each_field_expr(query: &Query, visit: &mut dyn FnMut(&FieldExpr)) {
    match &query.root {
        Root::Search(pipeline) => pipeline_exprs(pipeline, visit),
        Root::Metrics(metrics) => {
            for pipeline in metrics.expr.pipelines() {
                pipeline_exprs(&pipeline.source, visit);
                if let MetricsFunctionKind::Compare { filter, .. } = &pipeline.function.kind {
                    visit(&filter.expr);
                }
            }
        }
    }
}

fn pipeline_exprs(pipeline: &Pipeline, visit: &mut dyn FnMut(&FieldExpr)) {
    for stage in &pipeline.stages {
        match stage {
            Stage::Spanset(expr) => spanset_exprs(expr, visit),
            Stage::ScalarFilter(filter) => {
                scalar_exprs(&filter.lhs, visit);
                scalar_exprs(&filter.rhs, visit);
            }
            Stage::GroupBy(expr) => visit(expr),
            Stage::Coalesce | Stage::Select(_) => {}
        }
    }
}

fn spanset_exprs(expr: &SpansetExpr, visit: &mut dyn FnMut(&FieldExpr)) {
    match expr {
        SpansetExpr::Filter(filter) => visit(&filter.expr),
        SpansetExpr::Pipeline(pipeline) => pipeline_exprs(pipeline, visit),
        SpansetExpr::Op { lhs, rhs, .. } => {
            spanset_exprs(lhs, visit);
            spanset_exprs(rhs, visit);
        }
    }
}

fn scalar_exprs(expr: &ScalarExpr, visit: &mut dyn FnMut(&FieldExpr)) {
    match expr {
        ScalarExpr::Aggregate(Aggregate { expr: Some(e), .. }) => visit(e),
        ScalarExpr::Binary { lhs, rhs, .. } => {
            scalar_exprs(lhs, visit);
            scalar_exprs(rhs, visit);
        }
        _ => {}
    }
}

/// Calls `visit` on `expr` and every sub-expression.
pub fn for_each_sub_expr(expr: &FieldExpr, visit: &mut dyn FnMut(&FieldExpr)) {
    visit(expr);
    match expr {
        FieldExpr::Unary { expr, .. } => for_each_sub_expr(expr, visit),
        FieldExpr::Binary { lhs, rhs, .. } => {
            for_each_sub_expr(lhs, visit);
            for_each_sub_expr(rhs, visit);
        }
        FieldExpr::Literal(..) | FieldExpr::Field(..) => {}
    }
}
