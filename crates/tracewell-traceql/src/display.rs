//! Canonical TraceQL text of the AST. Printing a parsed query and parsing
//! the text again gives an equal AST: operands are parenthesised wherever
//! precedence could otherwise regroup them, intrinsics use their scoped
//! names, floats always carry a decimal point and `{ true }` prints as `{ }`.

use std::fmt::{self, Display, Formatter, Write};

use crate::ast::*;
use crate::lexer::is_attribute_char;
use crate::value::Value;

/// Text of a value as a TraceQL literal.
pub(crate) fn value_text(value: &Value) -> String {
    match value {
        Value::Nil => "nil".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i64::MIN) => "minInt".into(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => float_text(*f),
        Value::Duration(d) => crate::duration::format_duration(*d),
        Value::Str(s) => quote(s, '"'),
        Value::Status(s) => s.keyword().into(),
        Value::Kind(k) => k.keyword().into(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(value_text).collect();
            format!("[{}]", items.join(", "))
        }
    }
}

fn float_text(f: f64) -> String {
    let text = f.to_string();
    if text.contains(['.', 'e', 'E', 'i', 'N']) {
        text
    } else {
        format!("{text}.0")
    }
}

fn quote(s: &str, quote_char: char) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote_char);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push(quote_char);
    out
}

/// Text of an attribute reference, quoting the name when needed.
pub(crate) fn attribute_text(attribute: &Attribute) -> String {
    let mut out = String::new();
    if attribute.parent {
        out.push_str("parent.");
        if attribute.scope != AttributeScope::Unscoped {
            out.push_str(attribute.scope.prefix());
        }
    } else {
        out.push_str(attribute.scope.prefix());
    }
    let name = &attribute.name;
    let needs_quotes = name.is_empty()
        || name.contains('"')
        || !name.chars().all(is_attribute_char)
        || (attribute.scope == AttributeScope::Unscoped
            && !attribute.parent
            && name.starts_with(|c: char| c.is_ascii_digit()))
        || (attribute.parent
            && attribute.scope == AttributeScope::Unscoped
            && (name.starts_with("span.") || name.starts_with("resource.")));
    if needs_quotes {
        out.push('"');
        for c in name.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                c => out.push(c),
            }
        }
        out.push('"');
    } else {
        out.push_str(name);
    }
    out
}

impl Display for Value {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&value_text(self))
    }
}

impl Display for Attribute {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&attribute_text(self))
    }
}

impl Display for Intrinsic {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.canonical())
    }
}

impl Display for Field {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Field::Attribute(a) => a.fmt(f),
            Field::Intrinsic(i) => i.fmt(f),
        }
    }
}

fn is_negative_literal(value: &Value) -> bool {
    match value {
        Value::Int(i) => *i < 0,
        Value::Float(x) => x.is_sign_negative(),
        Value::Duration(d) => *d < 0,
        _ => false,
    }
}

/// Writes an operand, parenthesised unless it is atomic.
fn field_operand(expr: &FieldExpr, f: &mut Formatter<'_>) -> fmt::Result {
    let atomic = match expr {
        FieldExpr::Literal(value, _) => !is_negative_literal(value),
        FieldExpr::Field(..) => true,
        FieldExpr::Unary { .. } | FieldExpr::Binary { .. } => false,
    };
    if atomic {
        expr.fmt(f)
    } else {
        write!(f, "({expr})")
    }
}

impl Display for FieldExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            FieldExpr::Literal(value, _) => f.write_str(&value_text(value)),
            FieldExpr::Field(field, _) => field.fmt(f),
            FieldExpr::Unary { op, expr, .. } => {
                f.write_str(match op {
                    UnaryOp::Neg => "-",
                    UnaryOp::Not => "!",
                })?;
                field_operand(expr, f)
            }
            FieldExpr::Binary { op, lhs, rhs, .. } => {
                field_operand(lhs, f)?;
                write!(f, " {} ", op.symbol())?;
                field_operand(rhs, f)
            }
        }
    }
}

impl Display for SpansetFilter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.expr {
            FieldExpr::Literal(Value::Bool(true), _) => f.write_str("{ }"),
            expr => write!(f, "{{ {expr} }}"),
        }
    }
}

fn spanset_operand(expr: &SpansetExpr, f: &mut Formatter<'_>) -> fmt::Result {
    match expr {
        SpansetExpr::Filter(filter) => filter.fmt(f),
        other => write!(f, "({other})"),
    }
}

impl Display for SpansetExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            SpansetExpr::Filter(filter) => filter.fmt(f),
            SpansetExpr::Pipeline(pipeline) => pipeline.fmt(f),
            SpansetExpr::Op { op, lhs, rhs, .. } => {
                spanset_operand(lhs, f)?;
                write!(f, " {} ", op.symbol())?;
                spanset_operand(rhs, f)
            }
        }
    }
}

impl Display for Aggregate {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.expr {
            Some(expr) => write!(f, "{}({expr})", self.op.name()),
            None => write!(f, "{}()", self.op.name()),
        }
    }
}

fn scalar_operand(expr: &ScalarExpr, f: &mut Formatter<'_>) -> fmt::Result {
    match expr {
        ScalarExpr::Literal(value, _) if is_negative_literal(value) => write!(f, "({expr})"),
        ScalarExpr::Binary { .. } => write!(f, "({expr})"),
        other => other.fmt(f),
    }
}

impl Display for ScalarExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            ScalarExpr::Aggregate(a) => a.fmt(f),
            ScalarExpr::Literal(value, _) => f.write_str(&value_text(value)),
            ScalarExpr::Binary { op, lhs, rhs, .. } => {
                scalar_operand(lhs, f)?;
                write!(f, " {} ", op.symbol())?;
                scalar_operand(rhs, f)
            }
        }
    }
}

impl Display for ScalarFilter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.lhs, self.op.symbol(), self.rhs)
    }
}

fn field_list(fields: &[Field]) -> String {
    fields
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Display for Stage {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Stage::Spanset(SpansetExpr::Pipeline(p)) => write!(f, "({p})"),
            Stage::Spanset(expr) => expr.fmt(f),
            Stage::ScalarFilter(filter) => filter.fmt(f),
            Stage::GroupBy(expr) => write!(f, "by({expr})"),
            Stage::Coalesce => f.write_str("coalesce()"),
            Stage::Select(fields) => write!(f, "select({})", field_list(fields)),
        }
    }
}

impl Display for Pipeline {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (i, stage) in self.stages.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            stage.fmt(f)?;
        }
        Ok(())
    }
}

impl Display for MetricsFunction {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let name = self.kind.name();
        match &self.kind {
            MetricsFunctionKind::Rate | MetricsFunctionKind::CountOverTime => {
                write!(f, "{name}()")?
            }
            MetricsFunctionKind::MinOverTime(field)
            | MetricsFunctionKind::MaxOverTime(field)
            | MetricsFunctionKind::AvgOverTime(field)
            | MetricsFunctionKind::SumOverTime(field)
            | MetricsFunctionKind::HistogramOverTime(field) => write!(f, "{name}({field})")?,
            MetricsFunctionKind::QuantileOverTime { field, quantiles } => {
                write!(f, "{name}({field}")?;
                for q in quantiles {
                    write!(f, ", {}", float_text(*q))?;
                }
                f.write_str(")")?;
            }
            MetricsFunctionKind::Compare {
                filter,
                top_n,
                start,
                end,
            } => write!(f, "{name}({filter}, {top_n}, {start}, {end})")?,
        }
        if !self.by.is_empty() {
            write!(f, " by ({})", field_list(&self.by))?;
        }
        Ok(())
    }
}

impl Display for SecondStage {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            SecondStage::TopK(k, _) => write!(f, " | topk({k})"),
            SecondStage::BottomK(k, _) => write!(f, " | bottomk({k})"),
            SecondStage::Filter { op, value, .. } => {
                write!(f, " {} {}", op.symbol(), value_text(value))
            }
        }
    }
}

impl Display for MetricsPipeline {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} | {}", self.source, self.function)?;
        for stage in &self.stages {
            stage.fmt(f)?;
        }
        Ok(())
    }
}

fn metrics_operand(expr: &MetricsExpr, f: &mut Formatter<'_>) -> fmt::Result {
    match expr {
        MetricsExpr::Scalar(value, _) if !is_negative_literal(value) => expr.fmt(f),
        other => write!(f, "({other})"),
    }
}

impl Display for MetricsExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            MetricsExpr::Pipeline(p) => p.fmt(f),
            MetricsExpr::Scalar(value, _) => f.write_str(&value_text(value)),
            MetricsExpr::Binary { op, lhs, rhs, .. } => {
                metrics_operand(lhs, f)?;
                write!(f, " {} ", op.symbol())?;
                metrics_operand(rhs, f)
            }
        }
    }
}

impl Display for MetricsQuery {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.expr {
            MetricsExpr::Pipeline(p) if !self.stages.is_empty() => write!(f, "({p})")?,
            expr => expr.fmt(f)?,
        }
        for stage in &self.stages {
            stage.fmt(f)?;
        }
        Ok(())
    }
}

impl Display for Root {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Root::Search(p) => p.fmt(f),
            Root::Metrics(m) => m.fmt(f),
        }
    }
}

impl Display for Hint {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name, value_text(&self.value))
    }
}

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.root.fmt(f)?;
        if !self.hints.is_empty() {
            let hints: Vec<String> = self.hints.iter().map(ToString::to_string).collect();
            write!(f, " with({})", hints.join(", "))?;
        }
        Ok(())
    }
}
