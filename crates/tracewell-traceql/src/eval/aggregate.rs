//! Aggregates over a spanset (`count`, `avg`, `min`, `max`, `sum`) and
//! scalar filters comparing them.

use super::field::Ctx;
use super::Spanset;
use crate::ast::{Aggregate, AggregateOp, BinaryOp, ScalarExpr, ScalarFilter};
use crate::value::{arithmetic, Arith, Value};
use crate::view::TraceView;

/// Keeps `set` when the filter holds, recording the aggregates it computed.
pub(super) fn scalar_filter<T: TraceView>(
    ctx: &Ctx<'_, T>,
    filter: &ScalarFilter,
    mut set: Spanset,
) -> Option<Spanset> {
    let mut computed = Vec::new();
    let l = scalar(ctx, &filter.lhs, &set, &mut computed);
    let r = scalar(ctx, &filter.rhs, &set, &mut computed);
    if l.is_nil() || r.is_nil() {
        return None;
    }
    let holds = l.compare(&r).is_some_and(|o| filter.op.holds(o));
    if !holds {
        return None;
    }
    if let Some((_, value)) = computed.last() {
        set.scalar = Some(value.clone());
    }
    for (name, value) in computed {
        match set.attributes.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => set.attributes.push((name, value)),
        }
    }
    Some(set)
}

fn scalar<T: TraceView>(
    ctx: &Ctx<'_, T>,
    expr: &ScalarExpr,
    set: &Spanset,
    computed: &mut Vec<(String, Value)>,
) -> Value {
    match expr {
        ScalarExpr::Literal(value, _) => value.clone(),
        ScalarExpr::Aggregate(aggregate) => {
            let value = aggregate_value(ctx, aggregate, set);
            computed.push((aggregate.to_string(), value.clone()));
            value
        }
        ScalarExpr::Binary { op, lhs, rhs, .. } => {
            let l = scalar(ctx, lhs, set, computed);
            let r = scalar(ctx, rhs, set, computed);
            let arith = match op {
                BinaryOp::Add => Arith::Add,
                BinaryOp::Sub => Arith::Sub,
                BinaryOp::Mul => Arith::Mul,
                BinaryOp::Div => Arith::Div,
                BinaryOp::Mod => Arith::Mod,
                BinaryOp::Pow => Arith::Pow,
                _ => return Value::Nil,
            };
            arithmetic(arith, &l, &r)
        }
    }
}

/// The aggregate over the spans of `set`; spans without a numeric value are
/// skipped, and `nil` results when none has one.
pub(super) fn aggregate_value<T: TraceView>(
    ctx: &Ctx<'_, T>,
    aggregate: &Aggregate,
    set: &Spanset,
) -> Value {
    let Some(expr) = &aggregate.expr else {
        return Value::Int(set.spans.len() as i64);
    };
    let values = set
        .spans
        .iter()
        .map(|&i| ctx.eval(i, expr))
        .filter(|v| v.value_type().is_numeric());
    match aggregate.op {
        AggregateOp::Count => Value::Int(set.spans.len() as i64),
        AggregateOp::Sum => sum(values).0,
        AggregateOp::Avg => {
            let (total, count) = sum(values);
            if count == 0 {
                return Value::Nil;
            }
            match total {
                Value::Duration(d) => Value::Duration(d / count as i64),
                other => other
                    .as_f64()
                    .map_or(Value::Nil, |t| Value::Float(t / count as f64)),
            }
        }
        AggregateOp::Min => values
            .reduce(|a, b| {
                if b.compare(&a).is_some_and(|o| o.is_lt()) {
                    b
                } else {
                    a
                }
            })
            .unwrap_or(Value::Nil),
        AggregateOp::Max => values
            .reduce(|a, b| {
                if b.compare(&a).is_some_and(|o| o.is_gt()) {
                    b
                } else {
                    a
                }
            })
            .unwrap_or(Value::Nil),
    }
}

/// Sum and count of numeric values. Integer overflow falls back to a float sum.
fn sum(values: impl Iterator<Item = Value>) -> (Value, usize) {
    let mut total: Option<Value> = None;
    let mut float_total = 0.0;
    let mut count = 0;
    for value in values {
        float_total += value.as_f64().unwrap_or(0.0);
        count += 1;
        total = Some(match total {
            None => value,
            Some(acc) => {
                let next = arithmetic(Arith::Add, &acc, &value);
                if next.is_nil() {
                    Value::Float(float_total)
                } else {
                    next
                }
            }
        });
    }
    (total.unwrap_or(Value::Nil), count)
}
