//! Turns the loose query-level tree into the typed AST: decides whether the
//! query is a search or a metrics query, what each pipeline stage is, and
//! rejects constructs in the wrong place (e.g. `count() > 3 && { }`,
//! `{ } | rate() + 5`, a bare `{ } | count()`).

use super::syntax::{Node, TopOp};
use crate::ast::{
    BinaryOp, CmpOp, MetricsExpr, MetricsPipeline, MetricsQuery, Pipeline, Root, ScalarExpr,
    ScalarFilter, SecondStage, SpansetExpr, SpansetOp, Stage,
};
use crate::error::{ParseError, Pos};
use crate::value::{arithmetic, negate, Arith, Value};

type Result<T> = std::result::Result<T, ParseError>;

fn misplaced(node: &Node, expected: &str) -> ParseError {
    ParseError::at(node.start(), expected, node.describe())
}

/// Lowers the whole query.
pub(super) fn root(node: Node) -> Result<Root> {
    if has_metrics(&node) {
        metrics_root(node).map(Root::Metrics)
    } else {
        pipeline(node).map(Root::Search)
    }
}

/// Whether a metrics function occurs outside spanset filters.
fn has_metrics(node: &Node) -> bool {
    match node {
        Node::Metrics(_) => true,
        Node::Neg(inner, _) | Node::Paren(inner, _) => has_metrics(inner),
        Node::Pipe(items) => items.iter().any(has_metrics),
        Node::Binary { lhs, rhs, .. } => has_metrics(lhs) || has_metrics(rhs),
        _ => false,
    }
}

fn has_aggregate(node: &Node) -> bool {
    match node {
        Node::Aggregate(_) => true,
        Node::Neg(inner, _) | Node::Paren(inner, _) => has_aggregate(inner),
        Node::Binary { lhs, rhs, .. } => has_aggregate(lhs) || has_aggregate(rhs),
        _ => false,
    }
}

fn is_scalar_side(node: &Node) -> bool {
    match node {
        Node::Number(..) | Node::Aggregate(_) => true,
        Node::Neg(inner, _) => is_scalar_side(inner),
        Node::Paren(inner, _) => !matches!(**inner, Node::Pipe(_)) && is_scalar_side(inner),
        Node::Binary {
            op: TopOp::Arith(_),
            lhs,
            rhs,
            ..
        } => is_scalar_side(lhs) || is_scalar_side(rhs),
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// Search pipelines
// ---------------------------------------------------------------------------

fn pipeline(node: Node) -> Result<Pipeline> {
    let items = match node {
        Node::Pipe(items) => items,
        other => vec![other],
    };
    let mut stages = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        if i == 0 {
            if let Node::Coalesce(_) = item {
                return Err(misplaced(
                    &item,
                    "a pipeline that does not start with coalesce()",
                ));
            }
        }
        stages.push(stage(item)?);
    }
    Ok(Pipeline { stages })
}

fn stage(node: Node) -> Result<Stage> {
    match node {
        Node::GroupBy(expr, _) => Ok(Stage::GroupBy(expr)),
        Node::Select(fields, _) => Ok(Stage::Select(fields)),
        Node::Coalesce(_) => Ok(Stage::Coalesce),
        Node::Aggregate(_) => Err(misplaced(
            &node,
            "a comparison after the aggregate, such as count() > 1",
        )),
        Node::Binary {
            op: TopOp::Cmp(op),
            lhs,
            rhs,
            pos,
        } => {
            if is_scalar_side(&lhs) || is_scalar_side(&rhs) {
                scalar_filter(op, *lhs, *rhs, pos).map(Stage::ScalarFilter)
            } else {
                let node = Node::Binary {
                    op: TopOp::Cmp(op),
                    lhs,
                    rhs,
                    pos,
                };
                spanset(node).map(Stage::Spanset)
            }
        }
        other => spanset(other).map(Stage::Spanset),
    }
}

fn scalar_filter(op: CmpOp, lhs: Node, rhs: Node, pos: Pos) -> Result<ScalarFilter> {
    if !has_aggregate(&lhs) && !has_aggregate(&rhs) {
        return Err(ParseError::at(
            lhs.start(),
            "an aggregate such as count() or avg(duration) in the comparison",
            "a comparison of constants",
        ));
    }
    Ok(ScalarFilter {
        op,
        lhs: scalar(lhs)?,
        rhs: scalar(rhs)?,
        pos,
    })
}

fn scalar(node: Node) -> Result<ScalarExpr> {
    match node {
        Node::Aggregate(a) => Ok(ScalarExpr::Aggregate(a)),
        Node::Number(value, pos) => Ok(ScalarExpr::Literal(value, pos)),
        Node::Paren(inner, _) if !matches!(*inner, Node::Pipe(_)) => scalar(*inner),
        Node::Neg(inner, pos) => {
            let inner = scalar(*inner)?;
            Ok(ScalarExpr::Binary {
                op: BinaryOp::Sub,
                lhs: Box::new(ScalarExpr::Literal(Value::Int(0), pos)),
                rhs: Box::new(inner),
                pos,
            })
        }
        Node::Binary {
            op: TopOp::Arith(op),
            lhs,
            rhs,
            pos,
        } => Ok(ScalarExpr::Binary {
            op,
            lhs: Box::new(scalar(*lhs)?),
            rhs: Box::new(scalar(*rhs)?),
            pos,
        }),
        other => Err(misplaced(
            &other,
            "an aggregate, a number or arithmetic on them",
        )),
    }
}

fn spanset(node: Node) -> Result<SpansetExpr> {
    match node {
        Node::Filter(filter) => Ok(SpansetExpr::Filter(filter)),
        Node::Paren(inner, _) => {
            let mut inner = pipeline(*inner)?;
            if inner.stages.len() == 1 && matches!(inner.stages[0], Stage::Spanset(_)) {
                if let Some(Stage::Spanset(expr)) = inner.stages.pop() {
                    return Ok(expr);
                }
            }
            Ok(SpansetExpr::Pipeline(Box::new(inner)))
        }
        Node::Binary { op, lhs, rhs, pos } => {
            let op = match op {
                TopOp::And => SpansetOp::And,
                TopOp::Or => SpansetOp::Or,
                TopOp::Cmp(CmpOp::Gt) => SpansetOp::Child,
                TopOp::Cmp(CmpOp::Lt) => SpansetOp::Parent,
                TopOp::Structural(op) => op,
                TopOp::Cmp(other) => {
                    return Err(ParseError::at(
                        pos,
                        "a spanset operator (&&, ||, >, >>, <, <<, ~ or their !/& forms)",
                        format!("'{}'", other.symbol()),
                    ))
                }
                TopOp::Arith(other) => {
                    return Err(ParseError::at(
                        pos,
                        "a spanset operator (&&, ||, >, >>, <, <<, ~ or their !/& forms)",
                        format!("'{}'", other.symbol()),
                    ))
                }
            };
            Ok(SpansetExpr::Op {
                op,
                lhs: Box::new(spanset_operand(*lhs)?),
                rhs: Box::new(spanset_operand(*rhs)?),
                pos,
            })
        }
        other => Err(misplaced(
            &other,
            "a spanset filter, a parenthesised pipeline or a pipeline stage",
        )),
    }
}

fn spanset_operand(node: Node) -> Result<SpansetExpr> {
    match node {
        Node::Filter(_) | Node::Paren(..) | Node::Binary { .. } => spanset(node),
        other => Err(misplaced(
            &other,
            "a spanset filter or a parenthesised pipeline as operand of a spanset operator",
        )),
    }
}

// ---------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------

fn metrics_root(node: Node) -> Result<MetricsQuery> {
    let (expr, stages) = match node {
        Node::Pipe(items) => {
            let split = items.iter().position(has_metrics).unwrap_or(0);
            if split == 0 {
                // `(a | rate()) + (b | rate()) | topk(5)`
                let mut items = items.into_iter();
                let head = items.next().ok_or_else(|| {
                    ParseError::at(Pos::default(), "a metrics query", "an empty pipeline")
                })?;
                let (head, mut stages) = peel_filters(head)?;
                let expr = metrics_expr(head)?;
                for item in items {
                    stages.extend(second_stage(item)?);
                }
                (expr, stages)
            } else {
                let pipeline = metrics_pipeline(items, split)?;
                (MetricsExpr::Pipeline(Box::new(pipeline)), Vec::new())
            }
        }
        other => {
            let (core, stages) = peel_filters(other)?;
            (metrics_expr(core)?, stages)
        }
    };
    // A single pipeline keeps its own stages.
    let (expr, stages) = match expr {
        MetricsExpr::Pipeline(mut pipeline) if !stages.is_empty() => {
            pipeline.stages.extend(stages);
            (MetricsExpr::Pipeline(pipeline), Vec::new())
        }
        MetricsExpr::Scalar(_, pos) => {
            return Err(ParseError::at(
                pos,
                "a metrics pipeline such as ({ } | rate())",
                "a constant",
            ))
        }
        expr => (expr, stages),
    };
    Ok(MetricsQuery { expr, stages })
}

/// `items[..split]` select spans, `items[split]` is the metrics function
/// (possibly followed by filters), the rest are second stages.
fn metrics_pipeline(items: Vec<Node>, split: usize) -> Result<MetricsPipeline> {
    let mut items = items.into_iter();
    let source: Vec<Node> = items.by_ref().take(split).collect();
    let source = pipeline(Node::Pipe(source))?;
    let function_node = items
        .next()
        .ok_or_else(|| ParseError::at(Pos::default(), "a metrics function", "end of query"))?;
    let (function_node, mut stages) = peel_filters(function_node)?;
    let function = match function_node {
        Node::Metrics(function) => function,
        other => {
            return Err(misplaced(
                &other,
                "a metrics function such as rate(); arithmetic on metrics needs parentheses: ({ } | rate()) * 2",
            ))
        }
    };
    for item in items {
        stages.extend(second_stage(item)?);
    }
    Ok(MetricsPipeline {
        source,
        function,
        stages,
    })
}

/// Splits trailing comparisons with constants off a node:
/// `rate() > 1 < 5` is `rate()` with filters `> 1`, `< 5`.
fn peel_filters(node: Node) -> Result<(Node, Vec<SecondStage>)> {
    let mut filters = Vec::new();
    let mut node = node;
    loop {
        match node {
            Node::Binary {
                op: TopOp::Cmp(op),
                lhs,
                rhs,
                pos,
            } => {
                let value = constant(&rhs)?;
                filters.push(SecondStage::Filter { op, value, pos });
                node = *lhs;
            }
            other => {
                filters.reverse();
                return Ok((other, filters));
            }
        }
    }
}

fn second_stage(node: Node) -> Result<Vec<SecondStage>> {
    let (core, filters) = peel_filters(node)?;
    let first = match core {
        Node::TopK(k, pos) => SecondStage::TopK(k, pos),
        Node::BottomK(k, pos) => SecondStage::BottomK(k, pos),
        other => {
            return Err(misplaced(
                &other,
                "topk(k), bottomk(k) or a comparison after a metrics function",
            ))
        }
    };
    let mut stages = vec![first];
    stages.extend(filters);
    Ok(stages)
}

fn metrics_expr(node: Node) -> Result<MetricsExpr> {
    match node {
        Node::Paren(inner, _) => match *inner {
            Node::Pipe(items) => {
                let split = items.iter().position(has_metrics);
                match split {
                    Some(split) if split > 0 => {
                        metrics_pipeline(items, split).map(|p| MetricsExpr::Pipeline(Box::new(p)))
                    }
                    _ => Err(misplaced(
                        &Node::Pipe(items),
                        "a spanset pipeline followed by a metrics function",
                    )),
                }
            }
            other => {
                let (core, stages) = peel_filters(other)?;
                if !stages.is_empty() {
                    return Err(misplaced(&core, "a metrics pipeline before the comparison"));
                }
                metrics_expr(core)
            }
        },
        Node::Number(value, pos) => metrics_scalar(value, pos),
        Node::Neg(inner, pos) => {
            let inner = metrics_expr(*inner)?;
            match inner {
                MetricsExpr::Scalar(value, _) => metrics_scalar(negate(&value), pos),
                other => Ok(MetricsExpr::Binary {
                    op: BinaryOp::Mul,
                    lhs: Box::new(MetricsExpr::Scalar(Value::Int(-1), pos)),
                    rhs: Box::new(other),
                    pos,
                }),
            }
        }
        Node::Binary {
            op: TopOp::Arith(op),
            lhs,
            rhs,
            pos,
        } => {
            let arith = match op {
                BinaryOp::Add => Arith::Add,
                BinaryOp::Sub => Arith::Sub,
                BinaryOp::Mul => Arith::Mul,
                BinaryOp::Div => Arith::Div,
                other => {
                    return Err(ParseError::at(
                        pos,
                        "'+', '-', '*' or '/' between metrics queries",
                        format!("'{}'", other.symbol()),
                    ))
                }
            };
            let lhs = metrics_expr(*lhs)?;
            let rhs = metrics_expr(*rhs)?;
            if let (MetricsExpr::Scalar(a, _), MetricsExpr::Scalar(b, _)) = (&lhs, &rhs) {
                let folded = arithmetic(arith, a, b);
                if folded.is_nil() {
                    return Err(ParseError::at(
                        pos,
                        "constant arithmetic without overflow or division by zero",
                        format!("'{}'", op.symbol()),
                    ));
                }
                return Ok(MetricsExpr::Scalar(folded, pos));
            }
            Ok(MetricsExpr::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
                pos,
            })
        }
        Node::Pipe(_) | Node::Metrics(_) => Err(misplaced(
            &node,
            "a parenthesised metrics pipeline as operand: ({ } | rate())",
        )),
        other => Err(misplaced(
            &other,
            "a parenthesised metrics pipeline or a number",
        )),
    }
}

fn metrics_scalar(value: Value, pos: Pos) -> Result<MetricsExpr> {
    match value {
        Value::Int(_) | Value::Float(_) => Ok(MetricsExpr::Scalar(value, pos)),
        Value::Duration(_) => Err(ParseError::at(
            pos,
            "an integer or float operand (durations are not metrics operands)",
            "a duration",
        )),
        _ => Err(ParseError::at(pos, "a number", "an invalid constant")),
    }
}

/// A constant for metrics comparisons: folded numbers and durations.
fn constant(node: &Node) -> Result<Value> {
    match node {
        Node::Number(value, _) => Ok(value.clone()),
        Node::Paren(inner, _) => constant(inner),
        Node::Neg(inner, pos) => {
            let value = negate(&constant(inner)?);
            if value.is_nil() {
                return Err(ParseError::at(*pos, "a negatable constant", "an overflow"));
            }
            Ok(value)
        }
        Node::Binary {
            op: TopOp::Arith(op),
            lhs,
            rhs,
            pos,
        } => {
            let arith = match op {
                BinaryOp::Add => Arith::Add,
                BinaryOp::Sub => Arith::Sub,
                BinaryOp::Mul => Arith::Mul,
                BinaryOp::Div => Arith::Div,
                other => {
                    return Err(ParseError::at(
                        *pos,
                        "'+', '-', '*' or '/' in a constant",
                        format!("'{}'", other.symbol()),
                    ))
                }
            };
            let a = constant(lhs)?;
            let b = constant(rhs)?;
            if matches!(a, Value::Duration(_)) || matches!(b, Value::Duration(_)) {
                return Err(ParseError::at(
                    *pos,
                    "arithmetic on numbers only",
                    "a duration operand",
                ));
            }
            let folded = arithmetic(arith, &a, &b);
            if folded.is_nil() {
                return Err(ParseError::at(
                    *pos,
                    "constant arithmetic without overflow or division by zero",
                    format!("'{}'", op.symbol()),
                ));
            }
            Ok(folded)
        }
        other => Err(misplaced(other, "a constant to compare the metrics with")),
    }
}
