//! The query level of the grammar: spanset filters, pipeline functions,
//! metrics functions, numbers and the operators between them, read into a
//! loose [`Node`] tree that [`super::lower`] turns into the AST.

use super::field::{keyword_literal, LEVEL_ADD, LEVEL_BOOL, LEVEL_CMP, LEVEL_MUL, LEVEL_POW};
use super::Parser;
use crate::ast::{
    Aggregate, AggregateOp, BinaryOp, CmpOp, Field, FieldExpr, Hint, MetricsFunction,
    MetricsFunctionKind, SpansetFilter, SpansetOp,
};
use crate::error::{ParseError, Pos};
use crate::token::TokenKind;
use crate::value::{negate, Value};

/// Operators at the query level.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum TopOp {
    /// `&&`
    And,
    /// `||`
    Or,
    /// `= != < <= > >=`; `<` and `>` may also be structural.
    Cmp(CmpOp),
    /// The other structural operators.
    Structural(SpansetOp),
    /// `+ - * / % ^`
    Arith(BinaryOp),
}

/// A loosely typed query-level tree.
#[derive(Clone, Debug)]
pub(super) enum Node {
    Filter(SpansetFilter),
    Aggregate(Aggregate),
    GroupBy(FieldExpr, Pos),
    Select(Vec<Field>, Pos),
    Coalesce(Pos),
    Metrics(MetricsFunction),
    TopK(i64, Pos),
    BottomK(i64, Pos),
    Number(Value, Pos),
    Neg(Box<Node>, Pos),
    Paren(Box<Node>, Pos),
    Pipe(Vec<Node>),
    Binary {
        op: TopOp,
        lhs: Box<Node>,
        rhs: Box<Node>,
        pos: Pos,
    },
}

impl Node {
    /// Where the node starts in the text.
    pub(super) fn start(&self) -> Pos {
        match self {
            Node::Filter(f) => f.pos,
            Node::Aggregate(a) => a.pos,
            Node::Metrics(m) => m.pos,
            Node::GroupBy(_, pos)
            | Node::Select(_, pos)
            | Node::Coalesce(pos)
            | Node::TopK(_, pos)
            | Node::BottomK(_, pos)
            | Node::Number(_, pos)
            | Node::Neg(_, pos)
            | Node::Paren(_, pos) => *pos,
            Node::Pipe(items) => items.first().map(Node::start).unwrap_or_default(),
            Node::Binary { lhs, .. } => lhs.start(),
        }
    }

    /// A short description for error messages.
    pub(super) fn describe(&self) -> String {
        match self {
            Node::Filter(_) => "a spanset filter".into(),
            Node::Aggregate(a) => format!("aggregate {}()", a.op.name()),
            Node::GroupBy(..) => "by()".into(),
            Node::Select(..) => "select()".into(),
            Node::Coalesce(_) => "coalesce()".into(),
            Node::Metrics(m) => format!("metrics function {}()", m.kind.name()),
            Node::TopK(..) => "topk()".into(),
            Node::BottomK(..) => "bottomk()".into(),
            Node::Number(..) | Node::Neg(..) => "a number".into(),
            Node::Paren(inner, _) => inner.describe(),
            Node::Pipe(_) => "a pipeline".into(),
            Node::Binary { op, .. } => match op {
                TopOp::And | TopOp::Or | TopOp::Structural(_) => "a spanset expression".into(),
                TopOp::Cmp(_) => "a comparison".into(),
                TopOp::Arith(_) => "an arithmetic expression".into(),
            },
        }
    }
}

fn top_infix(kind: &TokenKind) -> Option<(TopOp, u8)> {
    let cmp = |op| Some((TopOp::Cmp(op), LEVEL_CMP));
    let structural = |op| Some((TopOp::Structural(op), LEVEL_CMP));
    let arith = |op, level| Some((TopOp::Arith(op), level));
    match kind {
        TokenKind::And => Some((TopOp::And, LEVEL_BOOL)),
        TokenKind::Or => Some((TopOp::Or, LEVEL_BOOL)),
        TokenKind::Eq => cmp(CmpOp::Eq),
        TokenKind::Neq => cmp(CmpOp::Neq),
        TokenKind::Lt => cmp(CmpOp::Lt),
        TokenKind::Lte => cmp(CmpOp::Lte),
        TokenKind::Gt => cmp(CmpOp::Gt),
        TokenKind::Gte => cmp(CmpOp::Gte),
        TokenKind::Desc => structural(SpansetOp::Descendant),
        TokenKind::Ance => structural(SpansetOp::Ancestor),
        TokenKind::Tilde => structural(SpansetOp::Sibling),
        TokenKind::NotChild => structural(SpansetOp::NotChild),
        TokenKind::NotParent => structural(SpansetOp::NotParent),
        TokenKind::NotDesc => structural(SpansetOp::NotDescendant),
        TokenKind::NotAnce => structural(SpansetOp::NotAncestor),
        TokenKind::Nre => structural(SpansetOp::NotSibling),
        TokenKind::UnionChild => structural(SpansetOp::UnionChild),
        TokenKind::UnionParent => structural(SpansetOp::UnionParent),
        TokenKind::UnionDesc => structural(SpansetOp::UnionDescendant),
        TokenKind::UnionAnce => structural(SpansetOp::UnionAncestor),
        TokenKind::UnionSibl => structural(SpansetOp::UnionSibling),
        TokenKind::Add => arith(BinaryOp::Add, LEVEL_ADD),
        TokenKind::Sub => arith(BinaryOp::Sub, LEVEL_ADD),
        TokenKind::Mul => arith(BinaryOp::Mul, LEVEL_MUL),
        TokenKind::Div => arith(BinaryOp::Div, LEVEL_MUL),
        TokenKind::Mod => arith(BinaryOp::Mod, LEVEL_MUL),
        TokenKind::Pow => arith(BinaryOp::Pow, LEVEL_POW),
        _ => None,
    }
}

/// Level of prefix `-` between query-level operands: tighter than anything.
const LEVEL_UMINUS: u8 = 7;
const LEVEL_PIPE: u8 = 0;

const START_EXPECTED: &str =
    "a spanset filter '{', '(', a number, or a pipeline, aggregate or metrics function";

fn starts_node(kind: &TokenKind) -> bool {
    matches!(
        kind,
        TokenKind::LBrace
            | TokenKind::LParen
            | TokenKind::Sub
            | TokenKind::Int(_)
            | TokenKind::Float(_)
            | TokenKind::Duration(_)
            | TokenKind::Ident(_)
    )
}

impl Parser {
    pub(super) fn root(&mut self) -> Result<Node, ParseError> {
        if self.peek_kind() == &TokenKind::Eof {
            return Err(self.error("a query such as '{ }'"));
        }
        self.node(LEVEL_PIPE)
    }

    fn node(&mut self, min_level: u8) -> Result<Node, ParseError> {
        self.enter()?;
        let mut chained = 1;
        let result = self.node_inner(min_level, &mut chained);
        self.leave(chained);
        result
    }

    fn node_inner(&mut self, min_level: u8, chained: &mut usize) -> Result<Node, ParseError> {
        let mut lhs = self.node_prefix()?;
        loop {
            if self.peek_kind() == &TokenKind::Pipe {
                if min_level > LEVEL_PIPE {
                    break;
                }
                self.advance();
                if !starts_node(self.peek_kind()) {
                    return Err(
                        self.error(format!("a pipeline stage after '|' ({START_EXPECTED})"))
                    );
                }
                self.enter()?;
                *chained += 1;
                let rhs = self.node(LEVEL_PIPE + 1)?;
                lhs = match lhs {
                    Node::Pipe(mut items) => {
                        items.push(rhs);
                        Node::Pipe(items)
                    }
                    other => Node::Pipe(vec![other, rhs]),
                };
                continue;
            }
            let Some((op, level)) = top_infix(self.peek_kind()) else {
                break;
            };
            if level < min_level {
                break;
            }
            let token = self.advance();
            if !starts_node(self.peek_kind()) {
                return Err(self.error(format!("an operand after '{}'", token.kind.symbol())));
            }
            self.enter()?;
            *chained += 1;
            let next_min = if op == TopOp::Arith(BinaryOp::Pow) {
                level
            } else {
                level + 1
            };
            let rhs = self.node(next_min)?;
            lhs = Node::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
                pos: token.pos,
            };
        }
        Ok(lhs)
    }

    fn node_prefix(&mut self) -> Result<Node, ParseError> {
        let token = self.peek().clone();
        match token.kind {
            TokenKind::LBrace => Ok(Node::Filter(self.spanset_filter()?)),
            TokenKind::LParen => {
                self.advance();
                let inner = self.node(LEVEL_PIPE)?;
                self.expect(&TokenKind::RParen, "an operator, '|' or ')'")?;
                Ok(Node::Paren(Box::new(inner), token.pos))
            }
            TokenKind::Sub => {
                self.advance();
                if !starts_node(self.peek_kind()) {
                    return Err(self.error("an operand after '-'"));
                }
                let operand = self.node(LEVEL_UMINUS + 1)?;
                if let Node::Number(value, _) = &operand {
                    let negated = negate(value);
                    if !negated.is_nil() {
                        return Ok(Node::Number(negated, token.pos));
                    }
                }
                Ok(Node::Neg(Box::new(operand), token.pos))
            }
            TokenKind::Int(i) => {
                self.advance();
                Ok(Node::Number(Value::Int(i), token.pos))
            }
            TokenKind::Float(f) => {
                self.advance();
                Ok(Node::Number(Value::Float(f), token.pos))
            }
            TokenKind::Duration(d) => {
                self.advance();
                Ok(Node::Number(Value::Duration(d), token.pos))
            }
            TokenKind::Ident(ref word) => self.function(word.clone(), token.pos),
            _ => Err(self.error(START_EXPECTED)),
        }
    }

    /// `{ }` or `{ expr }`.
    #[inline(never)]
    pub(super) fn spanset_filter(&mut self) -> Result<SpansetFilter, ParseError> {
        let pos = self.expect(&TokenKind::LBrace, "'{' to start a spanset filter")?;
        if self.peek_kind() == &TokenKind::RBrace {
            self.advance();
            return Ok(SpansetFilter {
                expr: FieldExpr::Literal(Value::Bool(true), pos),
                pos,
            });
        }
        let expr = self.field_expr(0)?;
        self.expect(&TokenKind::RBrace, "an operator or '}'")?;
        Ok(SpansetFilter { expr, pos })
    }

    fn open(&mut self, name: &str) -> Result<(), ParseError> {
        self.expect(&TokenKind::LParen, &format!("'(' after '{name}'"))?;
        Ok(())
    }

    fn close(&mut self) -> Result<(), ParseError> {
        self.expect(&TokenKind::RParen, "')'")?;
        Ok(())
    }

    #[inline(never)]
    fn function(&mut self, word: String, pos: Pos) -> Result<Node, ParseError> {
        let aggregate = match word.as_str() {
            "count" => Some(AggregateOp::Count),
            "avg" => Some(AggregateOp::Avg),
            "min" => Some(AggregateOp::Min),
            "max" => Some(AggregateOp::Max),
            "sum" => Some(AggregateOp::Sum),
            _ => None,
        };
        if let Some(op) = aggregate {
            self.advance();
            self.open(&word)?;
            let expr = if op == AggregateOp::Count {
                None
            } else {
                if self.peek_kind() == &TokenKind::RParen {
                    return Err(self.error(format!("a field to aggregate in {word}()")));
                }
                Some(self.field_expr(0)?)
            };
            self.close()?;
            return Ok(Node::Aggregate(Aggregate { op, expr, pos }));
        }
        let simple = |kind| Some(kind);
        let metrics = match word.as_str() {
            "rate" => simple(MetricsFunctionKind::Rate),
            "count_over_time" => simple(MetricsFunctionKind::CountOverTime),
            _ => None,
        };
        if let Some(kind) = metrics {
            self.advance();
            self.open(&word)?;
            self.close()?;
            let by = self.metrics_by()?;
            return Ok(Node::Metrics(MetricsFunction { kind, by, pos }));
        }
        match word.as_str() {
            "by" => {
                self.advance();
                self.open(&word)?;
                if self.peek_kind() == &TokenKind::RParen {
                    return Err(self.error("a field to group by"));
                }
                let expr = self.field_expr(0)?;
                self.close()?;
                Ok(Node::GroupBy(expr, pos))
            }
            "select" => {
                self.advance();
                self.open(&word)?;
                let fields = self.field_list()?;
                self.close()?;
                Ok(Node::Select(fields, pos))
            }
            "coalesce" => {
                self.advance();
                self.open(&word)?;
                self.close()?;
                Ok(Node::Coalesce(pos))
            }
            "min_over_time"
            | "max_over_time"
            | "avg_over_time"
            | "sum_over_time"
            | "histogram_over_time" => {
                self.advance();
                self.open(&word)?;
                let field = self.field_ref()?;
                self.close()?;
                let kind = match word.as_str() {
                    "min_over_time" => MetricsFunctionKind::MinOverTime(field),
                    "max_over_time" => MetricsFunctionKind::MaxOverTime(field),
                    "avg_over_time" => MetricsFunctionKind::AvgOverTime(field),
                    "sum_over_time" => MetricsFunctionKind::SumOverTime(field),
                    _ => MetricsFunctionKind::HistogramOverTime(field),
                };
                let by = self.metrics_by()?;
                Ok(Node::Metrics(MetricsFunction { kind, by, pos }))
            }
            "quantile_over_time" => {
                self.advance();
                self.open(&word)?;
                let field = self.field_ref()?;
                let mut quantiles = Vec::new();
                self.expect(&TokenKind::Comma, "',' and at least one quantile")?;
                loop {
                    match *self.peek_kind() {
                        TokenKind::Int(i) => quantiles.push(i as f64),
                        TokenKind::Float(f) => quantiles.push(f),
                        _ => return Err(self.error("a quantile (a number such as .99)")),
                    }
                    self.advance();
                    if self.peek_kind() != &TokenKind::Comma {
                        break;
                    }
                    self.advance();
                }
                self.expect(&TokenKind::RParen, "',' or ')'")?;
                let by = self.metrics_by()?;
                Ok(Node::Metrics(MetricsFunction {
                    kind: MetricsFunctionKind::QuantileOverTime { field, quantiles },
                    by,
                    pos,
                }))
            }
            "compare" => {
                self.advance();
                self.open(&word)?;
                let filter = self.spanset_filter()?;
                let mut numbers = Vec::new();
                while self.peek_kind() == &TokenKind::Comma {
                    self.advance();
                    match *self.peek_kind() {
                        TokenKind::Int(i) => numbers.push(i),
                        _ => return Err(self.error("an integer argument of compare()")),
                    }
                    self.advance();
                }
                let (top_n, start, end) = match numbers[..] {
                    [] => (10, 0, 0),
                    [top_n] => (top_n, 0, 0),
                    [top_n, start, end] => (top_n, start, end),
                    _ => {
                        return Err(ParseError::at(
                            pos,
                            "compare({filter}), compare({filter}, topN) or compare({filter}, topN, start, end)",
                            format!("compare() with {} numbers", numbers.len()),
                        ))
                    }
                };
                self.close()?;
                let by = self.metrics_by()?;
                if !by.is_empty() {
                    return Err(ParseError::at(pos, "compare() without by()", "by()"));
                }
                Ok(Node::Metrics(MetricsFunction {
                    kind: MetricsFunctionKind::Compare {
                        filter,
                        top_n,
                        start,
                        end,
                    },
                    by,
                    pos,
                }))
            }
            "topk" | "bottomk" => {
                self.advance();
                self.open(&word)?;
                let k = match *self.peek_kind() {
                    TokenKind::Int(k) => k,
                    _ => return Err(self.error(format!("an integer k in {word}(k)"))),
                };
                self.advance();
                self.close()?;
                Ok(if word == "topk" {
                    Node::TopK(k, pos)
                } else {
                    Node::BottomK(k, pos)
                })
            }
            _ => Err(self.error(START_EXPECTED)),
        }
    }

    /// Optional `by (a, b)` after a metrics function.
    fn metrics_by(&mut self) -> Result<Vec<Field>, ParseError> {
        if !self.is_word("by") {
            return Ok(Vec::new());
        }
        self.advance();
        self.open("by")?;
        let fields = self.field_list()?;
        self.close()?;
        Ok(fields)
    }

    /// Any number of `with(name=value, ...)` clauses.
    pub(super) fn hints(&mut self) -> Result<Vec<Hint>, ParseError> {
        let mut hints = Vec::new();
        while self.is_word("with") {
            self.advance();
            self.open("with")?;
            loop {
                let name = match self.peek_kind() {
                    TokenKind::Ident(name) => name.clone(),
                    _ => return Err(self.error("a hint name")),
                };
                self.advance();
                self.expect(&TokenKind::Eq, "'=' after the hint name")?;
                let value = match self.peek_kind() {
                    TokenKind::Str(s) => Value::Str(s.clone()),
                    TokenKind::Int(i) => Value::Int(*i),
                    TokenKind::Float(f) => Value::Float(*f),
                    TokenKind::Duration(d) => Value::Duration(*d),
                    TokenKind::Ident(word) => match keyword_literal(word) {
                        Some(value) if !value.is_nil() => value,
                        _ => return Err(self.error("a hint value")),
                    },
                    _ => return Err(self.error("a hint value")),
                };
                self.advance();
                hints.push(Hint { name, value });
                if self.peek_kind() != &TokenKind::Comma {
                    break;
                }
                self.advance();
            }
            self.expect(&TokenKind::RParen, "',' or ')'")?;
        }
        Ok(hints)
    }
}
