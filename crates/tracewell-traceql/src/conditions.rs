//! Pushdown hints for storage engines: span conditions every span a query
//! returns must satisfy, so that a scan can skip data in which no span can
//! match.
//!
//! The extraction is conservative. It only looks at pipeline stages that
//! are a single spanset filter (every returned span passed through such a
//! stage), and only at the comparisons of a field with a literal that are
//! joined by top-level `&&` inside that filter. Conditions under `||`, `!`,
//! arithmetic, structural operators or parenthesised pipelines are left
//! out. A trace in which no span satisfies all conditions cannot produce a
//! result. Skipping individual spans is only safe for queries without
//! structural operators ([`Query::is_structural`]), which need the whole
//! tree.

use crate::ast::*;
use crate::value::Value;

/// One condition `field op value` that every returned span satisfies.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// The attribute or intrinsic.
    pub field: Field,
    /// A comparison: `=`, `!=`, `<`, `<=`, `>`, `>=`, `=~` or `!~`. `= nil`
    /// means "absent" and `!= nil` "present".
    pub op: BinaryOp,
    /// The literal compared with; a pattern for `=~`/`!~` (anchored).
    pub value: Value,
}

impl Query {
    /// Conditions every span returned by the query satisfies; see the
    /// [module documentation](crate::conditions) for what is included.
    /// For metrics queries this covers the spans of the single metrics
    /// pipeline (none for arithmetic over several pipelines).
    pub fn conditions(&self) -> Vec<Condition> {
        let pipeline = match &self.root {
            Root::Search(pipeline) => pipeline,
            Root::Metrics(metrics) => match metrics.expr.pipelines()[..] {
                [single] => &single.source,
                _ => return Vec::new(),
            },
        };
        let mut out = Vec::new();
        for stage in &pipeline.stages {
            if let Stage::Spanset(SpansetExpr::Filter(filter)) = stage {
                conjuncts(&filter.expr, &mut out);
            }
        }
        out
    }

    /// Whether the query uses a structural operator anywhere.
    pub fn is_structural(&self) -> bool {
        match &self.root {
            Root::Search(pipeline) => pipeline_structural(pipeline),
            Root::Metrics(metrics) => metrics
                .expr
                .pipelines()
                .iter()
                .any(|p| pipeline_structural(&p.source)),
        }
    }
}

fn pipeline_structural(pipeline: &Pipeline) -> bool {
    pipeline.stages.iter().any(|stage| match stage {
        Stage::Spanset(expr) => spanset_structural(expr),
        _ => false,
    })
}

fn spanset_structural(expr: &SpansetExpr) -> bool {
    match expr {
        SpansetExpr::Filter(_) => false,
        SpansetExpr::Pipeline(p) => pipeline_structural(p),
        SpansetExpr::Op { op, lhs, rhs, .. } => {
            op.is_structural() || spanset_structural(lhs) || spanset_structural(rhs)
        }
    }
}

fn flip(op: BinaryOp) -> Option<BinaryOp> {
    Some(match op {
        BinaryOp::Eq => BinaryOp::Eq,
        BinaryOp::Neq => BinaryOp::Neq,
        BinaryOp::Lt => BinaryOp::Gt,
        BinaryOp::Lte => BinaryOp::Gte,
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::Gte => BinaryOp::Lte,
        _ => return None,
    })
}

fn conjuncts(expr: &FieldExpr, out: &mut Vec<Condition>) {
    match expr {
        FieldExpr::Binary {
            op: BinaryOp::And,
            lhs,
            rhs,
            ..
        } => {
            conjuncts(lhs, out);
            conjuncts(rhs, out);
        }
        FieldExpr::Binary { op, lhs, rhs, .. } if op.is_comparison() => {
            let condition = match (&**lhs, &**rhs) {
                (FieldExpr::Field(field, _), FieldExpr::Literal(value, _)) => Some(Condition {
                    field: field.clone(),
                    op: *op,
                    value: value.clone(),
                }),
                (FieldExpr::Literal(value, _), FieldExpr::Field(field, _)) => {
                    flip(*op).map(|op| Condition {
                        field: field.clone(),
                        op,
                        value: value.clone(),
                    })
                }
                _ => None,
            };
            out.extend(condition);
        }
        FieldExpr::Field(field, _) => out.push(Condition {
            field: field.clone(),
            op: BinaryOp::Eq,
            value: Value::Bool(true),
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::parse;

    fn conditions(query: &str) -> Vec<String> {
        parse(query)
            .expect("query parses")
            .conditions()
            .into_iter()
            .map(|c| format!("{} {} {}", c.field, c.op.symbol(), c.value))
            .collect()
    }

    #[test]
    fn top_level_conjuncts_of_filter_stages() {
        assert_eq!(
            conditions(
                r#"{ .a = 1 && (span.b > 2 && 3 > duration) } | by(.x) | { name =~ "x.*" }"#
            ),
            vec![
                ".a = 1",
                "span.b > 2",
                "span:duration < 3",
                r#"span:name =~ "x.*""#
            ]
        );
        assert_eq!(
            conditions("{ span.x != nil && .flag }"),
            vec!["span.x != nil", ".flag = true"]
        );
    }

    #[test]
    fn nothing_under_or_not_or_structure() {
        assert!(conditions("{ .a = 1 || .b = 2 }").is_empty());
        assert!(conditions("{ !(.a = 1) }").is_empty());
        assert!(conditions("{ .a = 1 } >> { .b = 2 }").is_empty());
        assert!(conditions("{ .a + 1 = 2 }").is_empty());
        assert!(conditions("({ .a = 1 } | rate()) / ({ } | rate())").is_empty());
        assert_eq!(conditions("{ .a = 1 } | rate() by (.b)"), vec![".a = 1"]);
    }
}
