//! Evaluating field expressions on one span: resolving attributes and
//! intrinsics, and TraceQL's operator semantics (nil means absent,
//! mismatched types never match, arrays match on any element).

use std::collections::HashMap;

use regex::Regex;

use super::tree::Tree;
use crate::ast::{AttributeScope, BinaryOp, Field, FieldExpr, Intrinsic, UnaryOp};
use crate::value::{arithmetic, negate, Arith, Value};
use crate::view::{SpanView, TraceView};

/// What evaluation of one trace needs.
pub(crate) struct Ctx<'a, T: TraceView> {
    pub trace: &'a T,
    pub tree: &'a Tree,
    pub regexes: &'a HashMap<String, Regex>,
}

impl<T: TraceView> Ctx<'_, T> {
    /// The value of `field` on span `index`; `Nil` when absent.
    pub fn field(&self, index: usize, field: &Field) -> Value {
        let Some(span) = self.trace.span(index) else {
            return Value::Nil;
        };
        match field {
            Field::Intrinsic(intrinsic) => match intrinsic {
                Intrinsic::ChildCount => self
                    .tree
                    .children
                    .get(index)
                    .map_or(Value::Nil, |c| Value::Int(c.len() as i64)),
                Intrinsic::NestedSetLeft => Value::Int(self.tree.left[index]),
                Intrinsic::NestedSetRight => Value::Int(self.tree.right[index]),
                Intrinsic::NestedSetParent => Value::Int(self.tree.nested_parent(index)),
                other => span.intrinsic(*other),
            },
            Field::Attribute(attribute) => {
                let target = if attribute.parent {
                    match self
                        .tree
                        .parent
                        .get(index)
                        .copied()
                        .flatten()
                        .and_then(|p| self.trace.span(p))
                    {
                        Some(parent) => parent,
                        None => return Value::Nil,
                    }
                } else {
                    span
                };
                let found = match attribute.scope {
                    AttributeScope::Unscoped => target
                        .attribute(AttributeScope::Span, &attribute.name)
                        .or_else(|| target.attribute(AttributeScope::Resource, &attribute.name)),
                    scope => target.attribute(scope, &attribute.name),
                };
                found.unwrap_or(Value::Nil)
            }
        }
    }

    /// Whether the condition holds for span `index`.
    pub fn matches(&self, index: usize, expr: &FieldExpr) -> bool {
        self.eval(index, expr) == Value::Bool(true)
    }

    pub fn eval(&self, index: usize, expr: &FieldExpr) -> Value {
        match expr {
            FieldExpr::Literal(value, _) => value.clone(),
            FieldExpr::Field(field, _) => self.field(index, field),
            FieldExpr::Unary { op, expr, .. } => {
                let value = self.eval(index, expr);
                match op {
                    UnaryOp::Neg => negate(&value),
                    UnaryOp::Not => value.as_bool().map_or(Value::Nil, |b| Value::Bool(!b)),
                }
            }
            FieldExpr::Binary { op, lhs, rhs, .. } => self.binary(index, *op, lhs, rhs),
        }
    }

    fn binary(&self, index: usize, op: BinaryOp, lhs: &FieldExpr, rhs: &FieldExpr) -> Value {
        match op {
            BinaryOp::And => {
                if self.eval(index, lhs) != Value::Bool(true) {
                    return Value::Bool(false);
                }
                Value::Bool(self.eval(index, rhs) == Value::Bool(true))
            }
            BinaryOp::Or => {
                if self.eval(index, lhs) == Value::Bool(true) {
                    return Value::Bool(true);
                }
                Value::Bool(self.eval(index, rhs) == Value::Bool(true))
            }
            BinaryOp::Eq | BinaryOp::Neq if is_nil_literal(lhs) || is_nil_literal(rhs) => {
                if is_nil_literal(lhs) && is_nil_literal(rhs) {
                    return Value::Bool(false);
                }
                let other = if is_nil_literal(lhs) { rhs } else { lhs };
                let absent = self.eval(index, other).is_nil();
                Value::Bool(if op == BinaryOp::Eq { absent } else { !absent })
            }
            BinaryOp::Add => self.arith(index, Arith::Add, lhs, rhs),
            BinaryOp::Sub => self.arith(index, Arith::Sub, lhs, rhs),
            BinaryOp::Mul => self.arith(index, Arith::Mul, lhs, rhs),
            BinaryOp::Div => self.arith(index, Arith::Div, lhs, rhs),
            BinaryOp::Mod => self.arith(index, Arith::Mod, lhs, rhs),
            BinaryOp::Pow => self.arith(index, Arith::Pow, lhs, rhs),
            BinaryOp::Regex | BinaryOp::NotRegex => {
                let value = self.eval(index, lhs);
                let regex = match rhs {
                    FieldExpr::Literal(Value::Str(pattern), _) => self.regexes.get(pattern),
                    _ => None,
                };
                let Some(regex) = regex else {
                    return Value::Bool(false);
                };
                let positive = |v: &Value| matches!(v, Value::Str(s) if regex.is_match(s));
                Value::Bool(match (&value, op) {
                    (Value::Array(items), BinaryOp::Regex) => items.iter().any(positive),
                    (Value::Array(items), _) => items
                        .iter()
                        .all(|v| matches!(v, Value::Str(_)) && !positive(v)),
                    (Value::Str(_), BinaryOp::Regex) => positive(&value),
                    (Value::Str(_), _) => !positive(&value),
                    _ => false,
                })
            }
            BinaryOp::Eq
            | BinaryOp::Neq
            | BinaryOp::Lt
            | BinaryOp::Lte
            | BinaryOp::Gt
            | BinaryOp::Gte => {
                let l = self.eval(index, lhs);
                let r = self.eval(index, rhs);
                Value::Bool(compare_values(op, &l, &r))
            }
        }
    }

    fn arith(&self, index: usize, op: Arith, lhs: &FieldExpr, rhs: &FieldExpr) -> Value {
        arithmetic(op, &self.eval(index, lhs), &self.eval(index, rhs))
    }
}

fn is_nil_literal(expr: &FieldExpr) -> bool {
    matches!(expr, FieldExpr::Literal(Value::Nil, _))
}

/// `l op r` for `= != < <= > >=`, with arrays on either side.
pub(crate) fn compare_values(op: BinaryOp, l: &Value, r: &Value) -> bool {
    match (l, r) {
        (Value::Array(items), scalar) if !matches!(scalar, Value::Array(_)) => {
            array_compare(op, items, |item| compare_scalars(op, item, scalar))
        }
        (scalar, Value::Array(items)) if !matches!(scalar, Value::Array(_)) => {
            array_compare(op, items, |item| compare_scalars(op, scalar, item))
        }
        _ => compare_scalars(op, l, r),
    }
}

/// Positive operators match when any element does; `!=` when every
/// element differs.
fn array_compare(op: BinaryOp, items: &[Value], test: impl Fn(&Value) -> bool) -> bool {
    if op == BinaryOp::Neq {
        items.iter().all(test)
    } else {
        items.iter().any(test)
    }
}

fn comparable(l: &Value, r: &Value) -> bool {
    l.value_type() == r.value_type() || (l.value_type().is_numeric() && r.value_type().is_numeric())
}

fn compare_scalars(op: BinaryOp, l: &Value, r: &Value) -> bool {
    if l.is_nil() || r.is_nil() || !comparable(l, r) {
        return false;
    }
    match op {
        BinaryOp::Eq => l.equals(r),
        BinaryOp::Neq => !l.equals(r),
        _ => {
            let Some(ordering) = l.compare(r) else {
                return false;
            };
            match op {
                BinaryOp::Lt => ordering.is_lt(),
                BinaryOp::Lte => ordering.is_le(),
                BinaryOp::Gt => ordering.is_gt(),
                BinaryOp::Gte => ordering.is_ge(),
                _ => false,
            }
        }
    }
}
