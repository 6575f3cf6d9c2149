//! Field expressions: what goes inside `{ }`, `by(...)` and aggregates —
//! literals, attributes, intrinsics, and unary/binary operators with
//! TraceQL's precedence.

use super::Parser;
use crate::ast::{BinaryOp, Field, FieldExpr, Intrinsic, UnaryOp};
use crate::error::ParseError;
use crate::token::TokenKind;
use crate::value::{negate, Kind, Status, Value};

/// Precedence levels, loosest first.
pub(super) const LEVEL_BOOL: u8 = 1;
pub(super) const LEVEL_CMP: u8 = 2;
pub(super) const LEVEL_ADD: u8 = 3;
pub(super) const LEVEL_NOT: u8 = 4;
pub(super) const LEVEL_MUL: u8 = 5;
pub(super) const LEVEL_POW: u8 = 6;

fn infix(kind: &TokenKind) -> Option<(BinaryOp, u8)> {
    Some(match kind {
        TokenKind::And => (BinaryOp::And, LEVEL_BOOL),
        TokenKind::Or => (BinaryOp::Or, LEVEL_BOOL),
        TokenKind::Eq => (BinaryOp::Eq, LEVEL_CMP),
        TokenKind::Neq => (BinaryOp::Neq, LEVEL_CMP),
        TokenKind::Lt => (BinaryOp::Lt, LEVEL_CMP),
        TokenKind::Lte => (BinaryOp::Lte, LEVEL_CMP),
        TokenKind::Gt => (BinaryOp::Gt, LEVEL_CMP),
        TokenKind::Gte => (BinaryOp::Gte, LEVEL_CMP),
        TokenKind::Re => (BinaryOp::Regex, LEVEL_CMP),
        TokenKind::Nre => (BinaryOp::NotRegex, LEVEL_CMP),
        TokenKind::Add => (BinaryOp::Add, LEVEL_ADD),
        TokenKind::Sub => (BinaryOp::Sub, LEVEL_ADD),
        TokenKind::Mul => (BinaryOp::Mul, LEVEL_MUL),
        TokenKind::Div => (BinaryOp::Div, LEVEL_MUL),
        TokenKind::Mod => (BinaryOp::Mod, LEVEL_MUL),
        TokenKind::Pow => (BinaryOp::Pow, LEVEL_POW),
        _ => return None,
    })
}

/// The literal a bare word stands for inside a field expression.
pub(super) fn keyword_literal(word: &str) -> Option<Value> {
    Some(match word {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "nil" => Value::Nil,
        "ok" => Value::Status(Status::Ok),
        "error" => Value::Status(Status::Error),
        "unset" => Value::Status(Status::Unset),
        "unspecified" => Value::Kind(Kind::Unspecified),
        "internal" => Value::Kind(Kind::Internal),
        "server" => Value::Kind(Kind::Server),
        "client" => Value::Kind(Kind::Client),
        "producer" => Value::Kind(Kind::Producer),
        "consumer" => Value::Kind(Kind::Consumer),
        "minInt" => Value::Int(i64::MIN),
        "maxInt" => Value::Int(i64::MAX),
        _ => return None,
    })
}

fn starts_operand(kind: &TokenKind) -> bool {
    matches!(
        kind,
        TokenKind::LParen
            | TokenKind::Sub
            | TokenKind::Not
            | TokenKind::Int(_)
            | TokenKind::Float(_)
            | TokenKind::Duration(_)
            | TokenKind::Str(_)
            | TokenKind::Ident(_)
            | TokenKind::Attr(_)
            | TokenKind::ScopeColon(_)
    )
}

impl Parser {
    /// Parses a field expression whose operators bind at least as tightly as `min_level`.
    pub(super) fn field_expr(&mut self, min_level: u8) -> Result<FieldExpr, ParseError> {
        self.enter()?;
        let mut chained = 1;
        let result = self.field_expr_inner(min_level, &mut chained);
        self.leave(chained);
        result
    }

    fn field_expr_inner(
        &mut self,
        min_level: u8,
        chained: &mut usize,
    ) -> Result<FieldExpr, ParseError> {
        let mut lhs = self.field_prefix()?;
        while let Some((op, level)) = infix(self.peek_kind()) {
            if level < min_level {
                break;
            }
            let pos = self.advance().pos;
            if !starts_operand(self.peek_kind()) {
                return Err(self.error(format!("a value after '{}'", op.symbol())));
            }
            self.enter()?;
            *chained += 1;
            let next_min = if op == BinaryOp::Pow {
                level
            } else {
                level + 1
            };
            let rhs = self.field_expr(next_min)?;
            lhs = FieldExpr::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
                pos,
            };
        }
        Ok(lhs)
    }

    fn field_prefix(&mut self) -> Result<FieldExpr, ParseError> {
        let token = self.peek().clone();
        match token.kind {
            TokenKind::Sub | TokenKind::Not => {
                self.advance();
                let (op, operand_level) = if token.kind == TokenKind::Sub {
                    (UnaryOp::Neg, LEVEL_ADD + 1)
                } else {
                    (UnaryOp::Not, LEVEL_NOT + 1)
                };
                if !starts_operand(self.peek_kind()) {
                    return Err(self.error(format!("a value after '{}'", token.kind.symbol())));
                }
                let expr = self.field_expr(operand_level)?;
                if op == UnaryOp::Neg {
                    if let FieldExpr::Literal(
                        value @ (Value::Int(_) | Value::Float(_) | Value::Duration(_)),
                        _,
                    ) = &expr
                    {
                        let negated = negate(value);
                        if !negated.is_nil() {
                            return Ok(FieldExpr::Literal(negated, token.pos));
                        }
                    }
                }
                Ok(FieldExpr::Unary {
                    op,
                    expr: Box::new(expr),
                    pos: token.pos,
                })
            }
            TokenKind::LParen => {
                self.advance();
                let expr = self.field_expr(0)?;
                self.expect(&TokenKind::RParen, "an operator or ')'")?;
                Ok(expr)
            }
            TokenKind::Int(i) => {
                self.advance();
                Ok(FieldExpr::Literal(Value::Int(i), token.pos))
            }
            TokenKind::Float(f) => {
                self.advance();
                Ok(FieldExpr::Literal(Value::Float(f), token.pos))
            }
            TokenKind::Duration(d) => {
                self.advance();
                Ok(FieldExpr::Literal(Value::Duration(d), token.pos))
            }
            TokenKind::Str(s) => {
                self.advance();
                Ok(FieldExpr::Literal(Value::Str(s), token.pos))
            }
            TokenKind::Ident(ref word) => {
                if let Some(value) = keyword_literal(word) {
                    self.advance();
                    return Ok(FieldExpr::Literal(value, token.pos));
                }
                let field = self.field_ref()?;
                Ok(FieldExpr::Field(field, token.pos))
            }
            TokenKind::Attr(_) | TokenKind::ScopeColon(_) => {
                let field = self.field_ref()?;
                Ok(FieldExpr::Field(field, token.pos))
            }
            _ => Err(self.error("a value, attribute or intrinsic")),
        }
    }

    /// An attribute or intrinsic reference.
    pub(super) fn field_ref(&mut self) -> Result<Field, ParseError> {
        let token = self.peek().clone();
        match token.kind {
            TokenKind::Attr(attribute) => {
                self.advance();
                Ok(Field::Attribute(attribute))
            }
            TokenKind::ScopeColon(scope) => {
                self.advance();
                let name = match self.peek_kind() {
                    TokenKind::Ident(name) => Intrinsic::from_scoped(scope, name),
                    _ => None,
                };
                match name {
                    Some(intrinsic) => {
                        self.advance();
                        Ok(Field::Intrinsic(intrinsic))
                    }
                    None => Err(self.error(format!(
                        "an intrinsic after '{}:' ({})",
                        scope.word(),
                        Intrinsic::names_in(scope)
                    ))),
                }
            }
            TokenKind::Ident(word) => match Intrinsic::from_unscoped(&word) {
                Some(intrinsic) => {
                    self.advance();
                    Ok(Field::Intrinsic(intrinsic))
                }
                None => Err(self.error(
                    "an attribute (such as span.key, resource.key or .key) or an intrinsic",
                )),
            },
            _ => Err(self.error("an attribute or intrinsic")),
        }
    }

    /// `a, b, c` of attributes and intrinsics, at least one.
    pub(super) fn field_list(&mut self) -> Result<Vec<Field>, ParseError> {
        let mut fields = vec![self.field_ref()?];
        while self.peek_kind() == &TokenKind::Comma {
            self.advance();
            fields.push(self.field_ref()?);
        }
        Ok(fields)
    }
}
