//! Typed TraceQL values and the comparison and arithmetic rules between
//! them: numbers (int, float, duration) compare numerically with each other,
//! strings compare lexicographically, status/kind/bool only compare for
//! equality, and values of unrelated types never match.

use std::cmp::Ordering;

/// A span status, as in OpenTelemetry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// `unset`
    Unset,
    /// `ok`
    Ok,
    /// `error`
    Error,
}

impl Status {
    /// The TraceQL keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            Status::Unset => "unset",
            Status::Ok => "ok",
            Status::Error => "error",
        }
    }
}

/// A span kind, as in OpenTelemetry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `unspecified`
    Unspecified,
    /// `internal`
    Internal,
    /// `server`
    Server,
    /// `client`
    Client,
    /// `producer`
    Producer,
    /// `consumer`
    Consumer,
}

impl Kind {
    /// The TraceQL keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            Kind::Unspecified => "unspecified",
            Kind::Internal => "internal",
            Kind::Server => "server",
            Kind::Client => "client",
            Kind::Producer => "producer",
            Kind::Consumer => "consumer",
        }
    }
}

/// A TraceQL value: a literal in a query or what a span answers.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Absent attribute or the `nil` literal.
    Nil,
    /// `true` / `false`
    Bool(bool),
    /// 64-bit integer.
    Int(i64),
    /// 64-bit float.
    Float(f64),
    /// Nanoseconds.
    Duration(i64),
    /// A string.
    Str(String),
    /// A span status.
    Status(Status),
    /// A span kind.
    Kind(Kind),
    /// An array attribute, or the values of one key over a span's events or
    /// links. `=`, `=~`, `<`… match when any element matches; `!=` and `!~`
    /// match when no element matches the positive operator.
    Array(Vec<Value>),
}

/// The static type of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    /// `nil`
    Nil,
    /// boolean
    Bool,
    /// integer
    Int,
    /// float
    Float,
    /// duration
    Duration,
    /// string
    Str,
    /// status enum
    Status,
    /// kind enum
    Kind,
    /// array
    Array,
}

impl ValueType {
    /// Int, float or duration.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            ValueType::Int | ValueType::Float | ValueType::Duration
        )
    }

    /// A readable name for error messages.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Nil => "nil",
            ValueType::Bool => "boolean",
            ValueType::Int => "integer",
            ValueType::Float => "float",
            ValueType::Duration => "duration",
            ValueType::Str => "string",
            ValueType::Status => "status",
            ValueType::Kind => "kind",
            ValueType::Array => "array",
        }
    }
}

impl Value {
    /// The type of this value.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Nil => ValueType::Nil,
            Value::Bool(_) => ValueType::Bool,
            Value::Int(_) => ValueType::Int,
            Value::Float(_) => ValueType::Float,
            Value::Duration(_) => ValueType::Duration,
            Value::Str(_) => ValueType::Str,
            Value::Status(_) => ValueType::Status,
            Value::Kind(_) => ValueType::Kind,
            Value::Array(_) => ValueType::Array,
        }
    }

    /// `true` for [`Value::Nil`].
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// The value as a float if it is numeric; durations are nanoseconds.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Duration(d) => Some(*d as f64),
            _ => None,
        }
    }

    /// The value as a metrics sample: durations in seconds, other numbers as is.
    pub fn as_sample(&self) -> Option<f64> {
        match self {
            Value::Duration(d) => Some(crate::duration::nanos_to_seconds(*d)),
            other => other.as_f64(),
        }
    }

    /// The value as a boolean, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Ordering of two scalar values of comparable types: numbers with
    /// numbers, strings with strings. `None` for anything else.
    pub fn compare(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
            (Value::Duration(a), Value::Duration(b)) => Some(a.cmp(b)),
            (Value::Str(a), Value::Str(b)) => Some(a.cmp(b)),
            (a, b) => match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => x.partial_cmp(&y),
                _ => None,
            },
        }
    }

    /// Equality with TraceQL's rules: int, float and duration compare
    /// numerically; other types only equal the same type; nil equals nil.
    pub fn equals(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Status(a), Value::Status(b)) => a == b,
            (Value::Kind(a), Value::Kind(b)) => a == b,
            (Value::Array(a), Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.equals(y))
            }
            (a, b) => a.compare(b) == Some(Ordering::Equal),
        }
    }

    /// A key that is equal for values that [`Value::equals`] considers equal
    /// within one type family; used to group spans.
    pub fn group_key(&self) -> String {
        match self {
            Value::Str(s) => format!("s:{s}"),
            other => format!(
                "{}:{}",
                other.value_type().name(),
                crate::display::value_text(other)
            ),
        }
    }
}

/// Arithmetic operators over values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

/// Applies an arithmetic operator. Integers stay integers (with checked
/// overflow and division), durations added to or subtracted from durations
/// stay durations, everything else numeric becomes a float. Non-numeric
/// operands, overflow and integer division by zero give `nil`.
pub(crate) fn arithmetic(op: Arith, lhs: &Value, rhs: &Value) -> Value {
    match (lhs, rhs) {
        (Value::Int(a), Value::Int(b)) => {
            let result = match op {
                Arith::Add => a.checked_add(*b),
                Arith::Sub => a.checked_sub(*b),
                Arith::Mul => a.checked_mul(*b),
                Arith::Div => a.checked_div(*b),
                Arith::Mod => a.checked_rem(*b),
                Arith::Pow => u32::try_from(*b).ok().and_then(|e| a.checked_pow(e)),
            };
            result.map_or(Value::Nil, Value::Int)
        }
        (Value::Duration(a), Value::Duration(b)) if matches!(op, Arith::Add | Arith::Sub) => {
            let result = match op {
                Arith::Add => a.checked_add(*b),
                _ => a.checked_sub(*b),
            };
            result.map_or(Value::Nil, Value::Duration)
        }
        _ => match (lhs.as_f64(), rhs.as_f64()) {
            (Some(a), Some(b)) => Value::Float(match op {
                Arith::Add => a + b,
                Arith::Sub => a - b,
                Arith::Mul => a * b,
                Arith::Div => a / b,
                Arith::Mod => a % b,
                Arith::Pow => a.powf(b),
            }),
            _ => Value::Nil,
        },
    }
}

/// Negates a numeric value; `nil` for anything else or on overflow.
pub(crate) fn negate(value: &Value) -> Value {
    match value {
        Value::Int(i) => i.checked_neg().map_or(Value::Nil, Value::Int),
        Value::Float(f) => Value::Float(-f),
        Value::Duration(d) => d.checked_neg().map_or(Value::Nil, Value::Duration),
        _ => Value::Nil,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_across_types() {
        assert!(Value::Int(2).equals(&Value::Float(2.0)));
        assert_eq!(
            Value::Int(1).compare(&Value::Float(1.5)),
            Some(Ordering::Less)
        );
        assert_eq!(
            Value::Duration(5).compare(&Value::Int(4)),
            Some(Ordering::Greater)
        );
        assert!(!Value::Int(1).equals(&Value::Str("1".into())));
        assert_eq!(
            Value::Status(Status::Ok).compare(&Value::Status(Status::Ok)),
            None
        );
    }

    #[test]
    fn arithmetic_keeps_integers_and_never_panics() {
        assert_eq!(
            arithmetic(Arith::Div, &Value::Int(1), &Value::Int(2)),
            Value::Int(0)
        );
        assert_eq!(
            arithmetic(Arith::Div, &Value::Int(1), &Value::Int(0)),
            Value::Nil
        );
        assert_eq!(
            arithmetic(Arith::Mod, &Value::Int(i64::MIN), &Value::Int(-1)),
            Value::Nil
        );
        assert_eq!(
            arithmetic(Arith::Add, &Value::Int(i64::MAX), &Value::Int(1)),
            Value::Nil
        );
        assert_eq!(
            arithmetic(Arith::Pow, &Value::Int(2), &Value::Int(-1)),
            Value::Nil
        );
        assert_eq!(
            arithmetic(Arith::Div, &Value::Float(1.0), &Value::Int(2)),
            Value::Float(0.5)
        );
        assert_eq!(
            arithmetic(Arith::Add, &Value::Duration(1), &Value::Duration(2)),
            Value::Duration(3)
        );
        assert_eq!(
            arithmetic(Arith::Add, &Value::Str("a".into()), &Value::Int(1)),
            Value::Nil
        );
        assert_eq!(negate(&Value::Int(i64::MIN)), Value::Nil);
    }
}
