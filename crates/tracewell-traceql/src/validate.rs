//! Validation of parsed queries: operand types, regular expressions,
//! aggregate arguments, metrics function arguments and second stages —
//! the checks Tempo makes after parsing, each reported with a position.

use crate::ast::*;
use crate::error::{Pos, ValidationError, ValidationErrorKind as Kind};
use crate::pattern::anchored_regex;
use crate::value::{Value, ValueType};

type Result<T> = std::result::Result<T, ValidationError>;

/// The static type of a field expression: known, or that of an attribute
/// (unknown until evaluation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    Known(ValueType),
    Dynamic,
}

impl Ty {
    fn is(self, accept: impl Fn(ValueType) -> bool) -> bool {
        match self {
            Ty::Dynamic => true,
            Ty::Known(t) => accept(t),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Ty::Dynamic => "attribute",
            Ty::Known(t) => t.name(),
        }
    }
}

fn err(pos: Pos, kind: Kind) -> ValidationError {
    ValidationError::at(pos, kind)
}

fn mismatch(pos: Pos, message: String) -> ValidationError {
    err(pos, Kind::TypeMismatch(message))
}

impl Query {
    /// Checks that the query can run. Parsing accepts some queries that
    /// TraceQL rejects afterwards, such as `{ 1 = "a" }` or
    /// `quantile_over_time(duration, 2)`.
    pub fn validate(&self) -> Result<()> {
        match &self.root {
            Root::Search(pipeline) => validate_pipeline(pipeline),
            Root::Metrics(metrics) => {
                validate_metrics_expr(&metrics.expr, false)?;
                if !metrics.stages.is_empty() {
                    if let Some(pos) = compare_pos(&metrics.expr) {
                        return Err(err(
                            pos,
                            Kind::InvalidCompare(
                                "cannot be followed by topk, bottomk or comparisons".into(),
                            ),
                        ));
                    }
                }
                metrics.stages.iter().try_for_each(validate_second_stage)
            }
        }
    }
}

fn compare_pos(expr: &MetricsExpr) -> Option<Pos> {
    expr.pipelines()
        .into_iter()
        .find_map(|p| match p.function.kind {
            MetricsFunctionKind::Compare { .. } => Some(p.function.pos),
            _ => None,
        })
}

fn validate_pipeline(pipeline: &Pipeline) -> Result<()> {
    for stage in &pipeline.stages {
        match stage {
            Stage::Spanset(expr) => validate_spanset(expr)?,
            Stage::ScalarFilter(filter) => {
                validate_scalar(&filter.lhs)?;
                validate_scalar(&filter.rhs)?;
            }
            Stage::GroupBy(expr) => {
                if !expr.references_span() {
                    return Err(err(
                        expr.pos(),
                        Kind::NoSpanReference(format!("by({expr})")),
                    ));
                }
                infer(expr)?;
            }
            Stage::Coalesce => {}
            Stage::Select(fields) => {
                for field in fields {
                    check_field_supported(field, Pos::default())?;
                }
            }
        }
    }
    Ok(())
}

fn validate_spanset(expr: &SpansetExpr) -> Result<()> {
    match expr {
        SpansetExpr::Filter(filter) => validate_filter(filter),
        SpansetExpr::Pipeline(pipeline) => validate_pipeline(pipeline),
        SpansetExpr::Op { lhs, rhs, .. } => {
            validate_spanset(lhs)?;
            validate_spanset(rhs)
        }
    }
}

fn validate_filter(filter: &SpansetFilter) -> Result<()> {
    let ty = infer(&filter.expr)?;
    if !ty.is(|t| t == ValueType::Bool) {
        return Err(err(
            filter.expr.pos(),
            Kind::NotACondition(format!("{} of type {}", filter.expr, ty.name())),
        ));
    }
    Ok(())
}

fn validate_scalar(expr: &ScalarExpr) -> Result<()> {
    match expr {
        ScalarExpr::Aggregate(aggregate) => validate_aggregate(aggregate),
        ScalarExpr::Literal(value, pos) => {
            if value.value_type().is_numeric() {
                Ok(())
            } else {
                Err(mismatch(*pos, format!("{value} is not a number")))
            }
        }
        ScalarExpr::Binary { lhs, rhs, .. } => {
            validate_scalar(lhs)?;
            validate_scalar(rhs)
        }
    }
}

fn validate_aggregate(aggregate: &Aggregate) -> Result<()> {
    let Some(expr) = &aggregate.expr else {
        return Ok(());
    };
    if !expr.references_span() {
        return Err(err(
            aggregate.pos,
            Kind::NoSpanReference(aggregate.to_string()),
        ));
    }
    let ty = infer(expr)?;
    if !ty.is(ValueType::is_numeric) {
        return Err(err(
            aggregate.pos,
            Kind::NonNumericAggregate {
                function: format!("{}()", aggregate.op.name()),
                field: format!("{expr} of type {}", ty.name()),
            },
        ));
    }
    Ok(())
}

fn check_field_supported(field: &Field, pos: Pos) -> Result<()> {
    match field {
        Field::Attribute(a) if a.parent => Err(err(
            pos,
            Kind::Unsupported(format!("parent attributes such as {a}")),
        )),
        _ => Ok(()),
    }
}

/// Infers the type of a field expression, rejecting invalid operands.
fn infer(expr: &FieldExpr) -> Result<Ty> {
    match expr {
        FieldExpr::Literal(value, _) => Ok(Ty::Known(value.value_type())),
        FieldExpr::Field(field, pos) => {
            check_field_supported(field, *pos)?;
            Ok(match field {
                Field::Attribute(_) => Ty::Dynamic,
                Field::Intrinsic(i) => Ty::Known(i.value_type()),
            })
        }
        FieldExpr::Unary {
            op,
            expr: operand,
            pos,
        } => {
            let ty = infer(operand)?;
            match op {
                UnaryOp::Neg if ty.is(ValueType::is_numeric) => Ok(ty),
                UnaryOp::Not if ty.is(|t| t == ValueType::Bool) => Ok(Ty::Known(ValueType::Bool)),
                UnaryOp::Neg => Err(mismatch(
                    *pos,
                    format!("cannot negate {operand} of type {}", ty.name()),
                )),
                UnaryOp::Not => Err(mismatch(
                    *pos,
                    format!("cannot apply ! to {operand} of type {}", ty.name()),
                )),
            }
        }
        FieldExpr::Binary { op, lhs, rhs, pos } => infer_binary(*op, lhs, rhs, *pos),
    }
}

fn is_literal_nil(expr: &FieldExpr) -> bool {
    matches!(expr, FieldExpr::Literal(Value::Nil, _))
}

fn compatible(a: Ty, b: Ty) -> bool {
    match (a, b) {
        (Ty::Dynamic, _) | (_, Ty::Dynamic) => true,
        (Ty::Known(x), Ty::Known(y)) => x == y || (x.is_numeric() && y.is_numeric()),
    }
}

fn infer_binary(op: BinaryOp, lhs: &FieldExpr, rhs: &FieldExpr, pos: Pos) -> Result<Ty> {
    let l = infer(lhs)?;
    let r = infer(rhs)?;
    let bool_ty = Ty::Known(ValueType::Bool);
    let describe = || {
        format!(
            "{lhs} {} {rhs} ({} and {})",
            op.symbol(),
            l.name(),
            r.name()
        )
    };
    match op {
        BinaryOp::And | BinaryOp::Or => {
            if l.is(|t| t == ValueType::Bool) && r.is(|t| t == ValueType::Bool) {
                Ok(bool_ty)
            } else {
                Err(mismatch(
                    pos,
                    format!("{} needs booleans: {}", op.symbol(), describe()),
                ))
            }
        }
        BinaryOp::Eq | BinaryOp::Neq if is_literal_nil(lhs) || is_literal_nil(rhs) => {
            // `x != nil` is an existence check and always valid; `x = nil`
            // cannot hold for intrinsics or resource.service.name.
            let other = if is_literal_nil(lhs) { rhs } else { lhs };
            if op == BinaryOp::Neq {
                return Ok(bool_ty);
            }
            match other {
                FieldExpr::Field(Field::Intrinsic(i), _) => {
                    Err(err(pos, Kind::IntrinsicNil(i.canonical().to_string())))
                }
                FieldExpr::Field(Field::Attribute(a), _)
                    if a.scope == AttributeScope::Resource
                        && a.name == "service.name"
                        && !a.parent =>
                {
                    Err(err(pos, Kind::IntrinsicNil(a.to_string())))
                }
                _ => Ok(bool_ty),
            }
        }
        BinaryOp::Eq | BinaryOp::Neq => {
            if compatible(l, r) {
                Ok(bool_ty)
            } else {
                Err(mismatch(pos, describe()))
            }
        }
        BinaryOp::Lt | BinaryOp::Lte | BinaryOp::Gt | BinaryOp::Gte => {
            let orderable = |t: ValueType| t.is_numeric() || t == ValueType::Str;
            if compatible(l, r) && l.is(orderable) && r.is(orderable) {
                Ok(bool_ty)
            } else {
                Err(mismatch(pos, describe()))
            }
        }
        BinaryOp::Regex | BinaryOp::NotRegex => {
            if !l.is(|t| t == ValueType::Str) {
                return Err(mismatch(
                    pos,
                    format!("{} needs a string: {}", op.symbol(), describe()),
                ));
            }
            match rhs {
                FieldExpr::Literal(Value::Str(pattern), _) => match anchored_regex(pattern) {
                    Ok(_) => Ok(bool_ty),
                    Err(e) => Err(err(
                        rhs.pos(),
                        Kind::InvalidRegex {
                            pattern: pattern.clone(),
                            reason: e.to_string(),
                        },
                    )),
                },
                _ if !r.is(|t| t == ValueType::Str) => Err(mismatch(
                    pos,
                    format!("{} needs a string pattern: {}", op.symbol(), describe()),
                )),
                _ => Err(err(pos, Kind::RegexNotLiteral(op.symbol().to_string()))),
            }
        }
        BinaryOp::Add
        | BinaryOp::Sub
        | BinaryOp::Mul
        | BinaryOp::Div
        | BinaryOp::Mod
        | BinaryOp::Pow => {
            if !(l.is(ValueType::is_numeric) && r.is(ValueType::is_numeric)) {
                return Err(mismatch(
                    pos,
                    format!("{} needs numbers: {}", op.symbol(), describe()),
                ));
            }
            Ok(match (l, r) {
                (Ty::Known(ValueType::Int), Ty::Known(ValueType::Int)) => Ty::Known(ValueType::Int),
                (Ty::Known(_), Ty::Known(_)) => Ty::Known(ValueType::Float),
                _ => Ty::Dynamic,
            })
        }
    }
}

fn validate_metrics_expr(expr: &MetricsExpr, in_math: bool) -> Result<()> {
    match expr {
        MetricsExpr::Pipeline(pipeline) => {
            validate_pipeline(&pipeline.source)?;
            validate_function(&pipeline.function, in_math)?;
            if !pipeline.stages.is_empty() {
                if let MetricsFunctionKind::Compare { .. } = pipeline.function.kind {
                    return Err(err(
                        pipeline.function.pos,
                        Kind::InvalidCompare(
                            "cannot be followed by topk, bottomk or comparisons".into(),
                        ),
                    ));
                }
            }
            pipeline.stages.iter().try_for_each(validate_second_stage)
        }
        MetricsExpr::Scalar(..) => Ok(()),
        MetricsExpr::Binary { lhs, rhs, .. } => {
            validate_metrics_expr(lhs, true)?;
            validate_metrics_expr(rhs, true)
        }
    }
}

fn validate_function(function: &MetricsFunction, in_math: bool) -> Result<()> {
    let pos = function.pos;
    for field in &function.by {
        check_field_supported(field, pos)?;
    }
    if let Some(field) = function.kind.field() {
        check_field_supported(field, pos)?;
        if let Field::Intrinsic(i) = field {
            if !i.value_type().is_numeric() {
                return Err(err(
                    pos,
                    Kind::NonNumericAggregate {
                        function: format!("{}()", function.kind.name()),
                        field: format!("{field} of type {}", i.value_type().name()),
                    },
                ));
            }
        }
    }
    match &function.kind {
        MetricsFunctionKind::QuantileOverTime { quantiles, .. } => {
            if let Some(q) = quantiles.iter().find(|q| !(0.0..=1.0).contains(*q)) {
                return Err(err(pos, Kind::QuantileOutOfRange(*q)));
            }
        }
        MetricsFunctionKind::Compare {
            filter,
            top_n,
            start,
            end,
        } => {
            if in_math {
                return Err(err(
                    pos,
                    Kind::InvalidCompare("cannot be used in arithmetic".into()),
                ));
            }
            validate_filter(filter)?;
            if !(1..=1000).contains(top_n) {
                return Err(err(
                    pos,
                    Kind::InvalidCompare(format!("topN must be in 1..=1000, found {top_n}")),
                ));
            }
            if (*start == 0) != (*end == 0) {
                return Err(err(
                    pos,
                    Kind::InvalidCompare("start and end must both be given or both be 0".into()),
                ));
            }
            if *start > *end {
                return Err(err(
                    pos,
                    Kind::InvalidCompare("start must not be after end".into()),
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

fn validate_second_stage(stage: &SecondStage) -> Result<()> {
    match stage {
        SecondStage::TopK(k, pos) if *k < 1 => Err(err(*pos, Kind::InvalidK("topk", *k))),
        SecondStage::BottomK(k, pos) if *k < 1 => Err(err(*pos, Kind::InvalidK("bottomk", *k))),
        _ => Ok(()),
    }
}
