//! The TraceQL syntax tree: queries, spanset pipelines, field expressions,
//! scalar filters and metrics queries. Every node that can be the subject of
//! a validation error carries its [`Pos`]; positions never affect equality.

use crate::error::Pos;
use crate::value::Value;

/// A parsed TraceQL query.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// What the query computes.
    pub root: Root,
    /// `with(name=value, ...)` hints, in order.
    pub hints: Vec<Hint>,
}

/// The two kinds of TraceQL query.
#[derive(Clone, Debug, PartialEq)]
pub enum Root {
    /// A search: a pipeline that selects spansets from each trace.
    Search(Pipeline),
    /// A metrics query: time series computed from selected spans.
    Metrics(MetricsQuery),
}

/// One `with(...)` hint.
#[derive(Clone, Debug, PartialEq)]
pub struct Hint {
    /// Hint name, e.g. `sample`.
    pub name: String,
    /// Hint value, e.g. `0.1` or `true`.
    pub value: Value,
}

/// Stages separated by `|`, applied left to right to the spansets of a trace.
#[derive(Clone, Debug, PartialEq)]
pub struct Pipeline {
    /// At least one stage.
    pub stages: Vec<Stage>,
}

/// One stage of a spanset pipeline.
#[derive(Clone, Debug, PartialEq)]
pub enum Stage {
    /// Spanset filters combined with spanset operators.
    Spanset(SpansetExpr),
    /// `count() > 3`, `avg(duration) > 1s`: keeps spansets whose aggregate matches.
    ScalarFilter(ScalarFilter),
    /// `by(expr)`: splits each spanset by the value of `expr`.
    GroupBy(FieldExpr),
    /// `coalesce()`: merges all spansets into one.
    Coalesce,
    /// `select(a, b)`: asks for these fields to be returned with the spans.
    Select(Vec<Field>),
}

/// Spanset filters and the operators between them.
#[derive(Clone, Debug, PartialEq)]
pub enum SpansetExpr {
    /// `{ ... }`
    Filter(SpansetFilter),
    /// A parenthesised pipeline used as an operand, e.g. `({ a } | count() > 1) && { b }`.
    Pipeline(Box<Pipeline>),
    /// `lhs op rhs`
    Op {
        /// The operator.
        op: SpansetOp,
        /// Left operand.
        lhs: Box<SpansetExpr>,
        /// Right operand.
        rhs: Box<SpansetExpr>,
        /// Where the operator is.
        pos: Pos,
    },
}

/// `{ condition }`: the spans of a spanset for which the condition holds.
#[derive(Clone, Debug, PartialEq)]
pub struct SpansetFilter {
    /// The condition; `{}` is `{ true }`.
    pub expr: FieldExpr,
    /// Where the opening brace is.
    pub pos: Pos,
}

/// Operators between spansets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpansetOp {
    /// `&&`: both sides match; returns the spans of both.
    And,
    /// `||`: either side matches; returns the spans of both.
    Or,
    /// `>`: right spans whose parent is a left span.
    Child,
    /// `<`: right spans that are the parent of a left span.
    Parent,
    /// `>>`: right spans with a left ancestor.
    Descendant,
    /// `<<`: right spans with a left descendant.
    Ancestor,
    /// `~`: right spans with a left sibling.
    Sibling,
    /// `!>`: right spans whose parent is not a left span.
    NotChild,
    /// `!<`: right spans that are not the parent of any left span.
    NotParent,
    /// `!>>`: right spans without a left ancestor.
    NotDescendant,
    /// `!<<`: right spans without a left descendant.
    NotAncestor,
    /// `!~`: right spans without a left sibling.
    NotSibling,
    /// `&>`: like `>`, returning the matching spans of both sides.
    UnionChild,
    /// `&<`: like `<`, returning the matching spans of both sides.
    UnionParent,
    /// `&>>`: like `>>`, returning the matching spans of both sides.
    UnionDescendant,
    /// `&<<`: like `<<`, returning the matching spans of both sides.
    UnionAncestor,
    /// `&~`: like `~`, returning the matching spans of both sides.
    UnionSibling,
}

impl SpansetOp {
    /// The operator as written in TraceQL.
    pub fn symbol(self) -> &'static str {
        match self {
            SpansetOp::And => "&&",
            SpansetOp::Or => "||",
            SpansetOp::Child => ">",
            SpansetOp::Parent => "<",
            SpansetOp::Descendant => ">>",
            SpansetOp::Ancestor => "<<",
            SpansetOp::Sibling => "~",
            SpansetOp::NotChild => "!>",
            SpansetOp::NotParent => "!<",
            SpansetOp::NotDescendant => "!>>",
            SpansetOp::NotAncestor => "!<<",
            SpansetOp::NotSibling => "!~",
            SpansetOp::UnionChild => "&>",
            SpansetOp::UnionParent => "&<",
            SpansetOp::UnionDescendant => "&>>",
            SpansetOp::UnionAncestor => "&<<",
            SpansetOp::UnionSibling => "&~",
        }
    }

    /// `true` for the operators that look at the trace tree.
    pub fn is_structural(self) -> bool {
        !matches!(self, SpansetOp::And | SpansetOp::Or)
    }
}

/// An expression evaluated on one span.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldExpr {
    /// A literal.
    Literal(Value, Pos),
    /// An attribute or intrinsic of the span.
    Field(Field, Pos),
    /// `-x` or `!x`.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// The operand.
        expr: Box<FieldExpr>,
        /// Where the operator is.
        pos: Pos,
    },
    /// `lhs op rhs`.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        lhs: Box<FieldExpr>,
        /// Right operand.
        rhs: Box<FieldExpr>,
        /// Where the operator is.
        pos: Pos,
    },
}

impl FieldExpr {
    /// Where the expression is (for binary and unary expressions, the operator).
    pub fn pos(&self) -> Pos {
        match self {
            FieldExpr::Literal(_, pos) | FieldExpr::Field(_, pos) => *pos,
            FieldExpr::Unary { pos, .. } | FieldExpr::Binary { pos, .. } => *pos,
        }
    }

    /// `true` when the expression reads an attribute or intrinsic.
    pub fn references_span(&self) -> bool {
        match self {
            FieldExpr::Literal(..) => false,
            FieldExpr::Field(..) => true,
            FieldExpr::Unary { expr, .. } => expr.references_span(),
            FieldExpr::Binary { lhs, rhs, .. } => lhs.references_span() || rhs.references_span(),
        }
    }
}

/// Unary operators of field expressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `-`
    Neg,
    /// `!`
    Not,
}

/// Binary operators of field expressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `&&`
    And,
    /// `||`
    Or,
    /// `=`
    Eq,
    /// `!=`
    Neq,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `=~` (anchored)
    Regex,
    /// `!~` (anchored)
    NotRegex,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `^`
    Pow,
}

impl BinaryOp {
    /// The operator as written in TraceQL.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::And => "&&",
            BinaryOp::Or => "||",
            BinaryOp::Eq => "=",
            BinaryOp::Neq => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Lte => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Gte => ">=",
            BinaryOp::Regex => "=~",
            BinaryOp::NotRegex => "!~",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Pow => "^",
        }
    }

    /// `=`, `!=`, `<`, `<=`, `>`, `>=`, `=~`, `!~`.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq
                | BinaryOp::Neq
                | BinaryOp::Lt
                | BinaryOp::Lte
                | BinaryOp::Gt
                | BinaryOp::Gte
                | BinaryOp::Regex
                | BinaryOp::NotRegex
        )
    }

    /// `+`, `-`, `*`, `/`, `%`, `^`.
    pub fn is_arithmetic(self) -> bool {
        matches!(
            self,
            BinaryOp::Add
                | BinaryOp::Sub
                | BinaryOp::Mul
                | BinaryOp::Div
                | BinaryOp::Mod
                | BinaryOp::Pow
        )
    }
}

/// Comparison operators of scalar filters and metrics filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `!=`
    Neq,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `>`
    Gt,
    /// `>=`
    Gte,
}

impl CmpOp {
    /// The operator as written in TraceQL.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Neq => "!=",
            CmpOp::Lt => "<",
            CmpOp::Lte => "<=",
            CmpOp::Gt => ">",
            CmpOp::Gte => ">=",
        }
    }

    /// Whether `ordering` (of lhs against rhs) satisfies the operator.
    pub fn holds(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            CmpOp::Eq => ordering == Equal,
            CmpOp::Neq => ordering != Equal,
            CmpOp::Lt => ordering == Less,
            CmpOp::Lte => ordering != Greater,
            CmpOp::Gt => ordering == Greater,
            CmpOp::Gte => ordering != Less,
        }
    }
}

/// Something a span answers: an attribute or an intrinsic.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// A custom attribute.
    Attribute(Attribute),
    /// A built-in field.
    Intrinsic(Intrinsic),
}

/// A custom attribute reference such as `span.http.method` or `.foo`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Attribute {
    /// Where the attribute lives.
    pub scope: AttributeScope,
    /// `parent.` prefix: the attribute of the span's parent.
    pub parent: bool,
    /// The key, without scope, quotes or escapes.
    pub name: String,
}

/// Attribute scopes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AttributeScope {
    /// `.key`: the span attribute if present, else the resource attribute.
    Unscoped,
    /// `span.key`
    Span,
    /// `resource.key`
    Resource,
    /// `event.key`: attributes of the span's events.
    Event,
    /// `link.key`: attributes of the span's links.
    Link,
    /// `instrumentation.key`: attributes of the instrumentation scope.
    Instrumentation,
}

impl AttributeScope {
    /// The prefix as written before the key (`.`, `span.`, ...).
    pub fn prefix(self) -> &'static str {
        match self {
            AttributeScope::Unscoped => ".",
            AttributeScope::Span => "span.",
            AttributeScope::Resource => "resource.",
            AttributeScope::Event => "event.",
            AttributeScope::Link => "link.",
            AttributeScope::Instrumentation => "instrumentation.",
        }
    }
}

/// Built-in fields of spans, traces, events, links and instrumentation scopes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Intrinsic {
    /// `span:duration` / `duration`
    Duration,
    /// `span:name` / `name`
    Name,
    /// `span:status` / `status`
    Status,
    /// `span:statusMessage` / `statusMessage`
    StatusMessage,
    /// `span:kind` / `kind`
    Kind,
    /// `span:id` (hex string)
    SpanId,
    /// `span:parentID` (hex string)
    ParentId,
    /// `span:childCount`
    ChildCount,
    /// `trace:id` (hex string)
    TraceId,
    /// `trace:duration` / `traceDuration`
    TraceDuration,
    /// `trace:rootName` / `rootName`
    TraceRootName,
    /// `trace:rootService` / `rootServiceName`
    TraceRootService,
    /// `event:name`
    EventName,
    /// `event:timeSinceStart`
    EventTimeSinceStart,
    /// `link:traceID`
    LinkTraceId,
    /// `link:spanID`
    LinkSpanId,
    /// `instrumentation:name`
    InstrumentationName,
    /// `instrumentation:version`
    InstrumentationVersion,
    /// `nestedSetLeft`
    NestedSetLeft,
    /// `nestedSetRight`
    NestedSetRight,
    /// `nestedSetParent`
    NestedSetParent,
}

impl Intrinsic {
    /// Every intrinsic.
    pub const ALL: [Intrinsic; 21] = [
        Intrinsic::Duration,
        Intrinsic::Name,
        Intrinsic::Status,
        Intrinsic::StatusMessage,
        Intrinsic::Kind,
        Intrinsic::SpanId,
        Intrinsic::ParentId,
        Intrinsic::ChildCount,
        Intrinsic::TraceId,
        Intrinsic::TraceDuration,
        Intrinsic::TraceRootName,
        Intrinsic::TraceRootService,
        Intrinsic::EventName,
        Intrinsic::EventTimeSinceStart,
        Intrinsic::LinkTraceId,
        Intrinsic::LinkSpanId,
        Intrinsic::InstrumentationName,
        Intrinsic::InstrumentationVersion,
        Intrinsic::NestedSetLeft,
        Intrinsic::NestedSetRight,
        Intrinsic::NestedSetParent,
    ];

    /// The canonical spelling, e.g. `span:name`.
    pub fn canonical(self) -> &'static str {
        match self {
            Intrinsic::Duration => "span:duration",
            Intrinsic::Name => "span:name",
            Intrinsic::Status => "span:status",
            Intrinsic::StatusMessage => "span:statusMessage",
            Intrinsic::Kind => "span:kind",
            Intrinsic::SpanId => "span:id",
            Intrinsic::ParentId => "span:parentID",
            Intrinsic::ChildCount => "span:childCount",
            Intrinsic::TraceId => "trace:id",
            Intrinsic::TraceDuration => "trace:duration",
            Intrinsic::TraceRootName => "trace:rootName",
            Intrinsic::TraceRootService => "trace:rootService",
            Intrinsic::EventName => "event:name",
            Intrinsic::EventTimeSinceStart => "event:timeSinceStart",
            Intrinsic::LinkTraceId => "link:traceID",
            Intrinsic::LinkSpanId => "link:spanID",
            Intrinsic::InstrumentationName => "instrumentation:name",
            Intrinsic::InstrumentationVersion => "instrumentation:version",
            Intrinsic::NestedSetLeft => "nestedSetLeft",
            Intrinsic::NestedSetRight => "nestedSetRight",
            Intrinsic::NestedSetParent => "nestedSetParent",
        }
    }

    /// The unscoped spellings TraceQL still accepts (`name`, `rootName`, ...).
    pub fn from_unscoped(word: &str) -> Option<Intrinsic> {
        Some(match word {
            "duration" => Intrinsic::Duration,
            "name" => Intrinsic::Name,
            "status" => Intrinsic::Status,
            "statusMessage" => Intrinsic::StatusMessage,
            "kind" => Intrinsic::Kind,
            "childCount" => Intrinsic::ChildCount,
            "rootName" => Intrinsic::TraceRootName,
            "rootServiceName" => Intrinsic::TraceRootService,
            "traceDuration" => Intrinsic::TraceDuration,
            "nestedSetLeft" => Intrinsic::NestedSetLeft,
            "nestedSetRight" => Intrinsic::NestedSetRight,
            "nestedSetParent" => Intrinsic::NestedSetParent,
            _ => return None,
        })
    }

    /// `scope:name` spellings.
    pub fn from_scoped(scope: IntrinsicScope, word: &str) -> Option<Intrinsic> {
        Some(match (scope, word) {
            (IntrinsicScope::Trace, "duration") => Intrinsic::TraceDuration,
            (IntrinsicScope::Trace, "rootName") => Intrinsic::TraceRootName,
            (IntrinsicScope::Trace, "rootService") => Intrinsic::TraceRootService,
            (IntrinsicScope::Trace, "id") => Intrinsic::TraceId,
            (IntrinsicScope::Span, "duration") => Intrinsic::Duration,
            (IntrinsicScope::Span, "name") => Intrinsic::Name,
            (IntrinsicScope::Span, "kind") => Intrinsic::Kind,
            (IntrinsicScope::Span, "status") => Intrinsic::Status,
            (IntrinsicScope::Span, "statusMessage") => Intrinsic::StatusMessage,
            (IntrinsicScope::Span, "id") => Intrinsic::SpanId,
            (IntrinsicScope::Span, "parentID") => Intrinsic::ParentId,
            (IntrinsicScope::Span, "childCount") => Intrinsic::ChildCount,
            (IntrinsicScope::Event, "name") => Intrinsic::EventName,
            (IntrinsicScope::Event, "timeSinceStart") => Intrinsic::EventTimeSinceStart,
            (IntrinsicScope::Link, "traceID") => Intrinsic::LinkTraceId,
            (IntrinsicScope::Link, "spanID") => Intrinsic::LinkSpanId,
            (IntrinsicScope::Instrumentation, "name") => Intrinsic::InstrumentationName,
            (IntrinsicScope::Instrumentation, "version") => Intrinsic::InstrumentationVersion,
            _ => return None,
        })
    }

    /// The names accepted after `scope:`, for error messages.
    pub fn names_in(scope: IntrinsicScope) -> &'static str {
        match scope {
            IntrinsicScope::Trace => "duration, rootName, rootService or id",
            IntrinsicScope::Span => {
                "duration, name, kind, status, statusMessage, id, parentID or childCount"
            }
            IntrinsicScope::Event => "name or timeSinceStart",
            IntrinsicScope::Link => "traceID or spanID",
            IntrinsicScope::Instrumentation => "name or version",
        }
    }

    /// The type of the intrinsic's values.
    pub fn value_type(self) -> crate::value::ValueType {
        use crate::value::ValueType;
        match self {
            Intrinsic::Duration | Intrinsic::TraceDuration | Intrinsic::EventTimeSinceStart => {
                ValueType::Duration
            }
            Intrinsic::Status => ValueType::Status,
            Intrinsic::Kind => ValueType::Kind,
            Intrinsic::ChildCount
            | Intrinsic::NestedSetLeft
            | Intrinsic::NestedSetRight
            | Intrinsic::NestedSetParent => ValueType::Int,
            Intrinsic::Name
            | Intrinsic::StatusMessage
            | Intrinsic::SpanId
            | Intrinsic::ParentId
            | Intrinsic::TraceId
            | Intrinsic::TraceRootName
            | Intrinsic::TraceRootService
            | Intrinsic::EventName
            | Intrinsic::LinkTraceId
            | Intrinsic::LinkSpanId
            | Intrinsic::InstrumentationName
            | Intrinsic::InstrumentationVersion => ValueType::Str,
        }
    }
}

/// Scopes of `scope:intrinsic` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntrinsicScope {
    /// `trace:`
    Trace,
    /// `span:`
    Span,
    /// `event:`
    Event,
    /// `link:`
    Link,
    /// `instrumentation:`
    Instrumentation,
}

impl IntrinsicScope {
    /// The scope word before the colon.
    pub fn word(self) -> &'static str {
        match self {
            IntrinsicScope::Trace => "trace",
            IntrinsicScope::Span => "span",
            IntrinsicScope::Event => "event",
            IntrinsicScope::Link => "link",
            IntrinsicScope::Instrumentation => "instrumentation",
        }
    }
}

/// `lhs op rhs` over aggregates of a spanset, e.g. `count() > 3`.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalarFilter {
    /// The comparison.
    pub op: CmpOp,
    /// Left side.
    pub lhs: ScalarExpr,
    /// Right side.
    pub rhs: ScalarExpr,
    /// Where the comparison operator is.
    pub pos: Pos,
}

/// Arithmetic over aggregates and numeric literals.
#[derive(Clone, Debug, PartialEq)]
pub enum ScalarExpr {
    /// `count()`, `avg(duration)`, ...
    Aggregate(Aggregate),
    /// A number or duration.
    Literal(Value, Pos),
    /// `lhs op rhs` with `op` one of `+ - * / % ^`.
    Binary {
        /// The operator (arithmetic only).
        op: BinaryOp,
        /// Left operand.
        lhs: Box<ScalarExpr>,
        /// Right operand.
        rhs: Box<ScalarExpr>,
        /// Where the operator is.
        pos: Pos,
    },
}

impl ScalarExpr {
    /// `true` when the expression contains an aggregate.
    pub fn has_aggregate(&self) -> bool {
        match self {
            ScalarExpr::Aggregate(_) => true,
            ScalarExpr::Literal(..) => false,
            ScalarExpr::Binary { lhs, rhs, .. } => lhs.has_aggregate() || rhs.has_aggregate(),
        }
    }
}

/// An aggregate over the spans of a spanset.
#[derive(Clone, Debug, PartialEq)]
pub struct Aggregate {
    /// Which aggregate.
    pub op: AggregateOp,
    /// The field aggregated; `None` for `count()`.
    pub expr: Option<FieldExpr>,
    /// Where the function name is.
    pub pos: Pos,
}

/// Aggregate functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AggregateOp {
    /// `count()`
    Count,
    /// `avg(x)`
    Avg,
    /// `min(x)`
    Min,
    /// `max(x)`
    Max,
    /// `sum(x)`
    Sum,
}

impl AggregateOp {
    /// The function name.
    pub fn name(self) -> &'static str {
        match self {
            AggregateOp::Count => "count",
            AggregateOp::Avg => "avg",
            AggregateOp::Min => "min",
            AggregateOp::Max => "max",
            AggregateOp::Sum => "sum",
        }
    }
}

/// A metrics query: an expression over metrics pipelines, then optional
/// second stages applied to the result.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricsQuery {
    /// The metrics expression.
    pub expr: MetricsExpr,
    /// `| topk(n)`, `| bottomk(n)`, `> 10` applied to the whole expression.
    /// Empty when `expr` is a single pipeline: its stages live in the pipeline.
    pub stages: Vec<SecondStage>,
}

/// Arithmetic over metrics pipelines and scalar constants.
#[derive(Clone, Debug, PartialEq)]
pub enum MetricsExpr {
    /// `{...} | rate() by (...) | topk(5)`.
    Pipeline(Box<MetricsPipeline>),
    /// A constant operand (integer or float).
    Scalar(Value, Pos),
    /// `lhs op rhs` with `op` one of `+ - * /`.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        lhs: Box<MetricsExpr>,
        /// Right operand.
        rhs: Box<MetricsExpr>,
        /// Where the operator is.
        pos: Pos,
    },
}

impl MetricsExpr {
    /// The pipelines of the expression, left to right.
    pub fn pipelines(&self) -> Vec<&MetricsPipeline> {
        match self {
            MetricsExpr::Pipeline(p) => vec![p],
            MetricsExpr::Scalar(..) => Vec::new(),
            MetricsExpr::Binary { lhs, rhs, .. } => {
                let mut out = lhs.pipelines();
                out.extend(rhs.pipelines());
                out
            }
        }
    }
}

/// A spanset pipeline turned into time series by a metrics function.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricsPipeline {
    /// Selects the spans.
    pub source: Pipeline,
    /// Turns them into series.
    pub function: MetricsFunction,
    /// Applied to the series, in order.
    pub stages: Vec<SecondStage>,
}

/// A metrics function with its grouping.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricsFunction {
    /// Which function, with its arguments.
    pub kind: MetricsFunctionKind,
    /// `by (a, b)` grouping; empty for none.
    pub by: Vec<Field>,
    /// Where the function name is.
    pub pos: Pos,
}

/// Metrics functions and their arguments.
#[derive(Clone, Debug, PartialEq)]
pub enum MetricsFunctionKind {
    /// `rate()`: matching spans per second.
    Rate,
    /// `count_over_time()`
    CountOverTime,
    /// `min_over_time(field)`
    MinOverTime(Field),
    /// `max_over_time(field)`
    MaxOverTime(Field),
    /// `avg_over_time(field)`
    AvgOverTime(Field),
    /// `sum_over_time(field)`
    SumOverTime(Field),
    /// `quantile_over_time(field, q...)`
    QuantileOverTime {
        /// The field.
        field: Field,
        /// Quantiles in `[0, 1]`.
        quantiles: Vec<f64>,
    },
    /// `histogram_over_time(field)`
    HistogramOverTime(Field),
    /// `compare({filter}, topN, start, end)`
    Compare {
        /// Selection filter: matching spans are the selection, others the baseline.
        filter: SpansetFilter,
        /// Values returned per attribute (default 10).
        top_n: i64,
        /// Selection window start, Unix nanoseconds (0: none).
        start: i64,
        /// Selection window end, Unix nanoseconds (0: none).
        end: i64,
    },
}

impl MetricsFunctionKind {
    /// The function name.
    pub fn name(&self) -> &'static str {
        match self {
            MetricsFunctionKind::Rate => "rate",
            MetricsFunctionKind::CountOverTime => "count_over_time",
            MetricsFunctionKind::MinOverTime(_) => "min_over_time",
            MetricsFunctionKind::MaxOverTime(_) => "max_over_time",
            MetricsFunctionKind::AvgOverTime(_) => "avg_over_time",
            MetricsFunctionKind::SumOverTime(_) => "sum_over_time",
            MetricsFunctionKind::QuantileOverTime { .. } => "quantile_over_time",
            MetricsFunctionKind::HistogramOverTime(_) => "histogram_over_time",
            MetricsFunctionKind::Compare { .. } => "compare",
        }
    }

    /// The field the function reads, if any.
    pub fn field(&self) -> Option<&Field> {
        match self {
            MetricsFunctionKind::MinOverTime(f)
            | MetricsFunctionKind::MaxOverTime(f)
            | MetricsFunctionKind::AvgOverTime(f)
            | MetricsFunctionKind::SumOverTime(f)
            | MetricsFunctionKind::HistogramOverTime(f)
            | MetricsFunctionKind::QuantileOverTime { field: f, .. } => Some(f),
            MetricsFunctionKind::Rate
            | MetricsFunctionKind::CountOverTime
            | MetricsFunctionKind::Compare { .. } => None,
        }
    }
}

/// Operations on series after the metrics function.
#[derive(Clone, Debug, PartialEq)]
pub enum SecondStage {
    /// `| topk(k)`: per point, the k series with the largest values.
    TopK(i64, Pos),
    /// `| bottomk(k)`: per point, the k series with the smallest values.
    BottomK(i64, Pos),
    /// `> 10`: keeps the points that satisfy the comparison. Durations
    /// compare as seconds.
    Filter {
        /// The comparison.
        op: CmpOp,
        /// Integer, float or duration.
        value: Value,
        /// Where the operator is.
        pos: Pos,
    },
}
