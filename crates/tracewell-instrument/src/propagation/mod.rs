//! Context propagation: W3C Trace Context Level 2, B3, Jaeger and AWS X-Ray propagators, HTTP header
//! carriers, and propagator selection by `OTEL_PROPAGATORS` names.
//!
//! Every propagator here returns the incoming context unchanged when it finds nothing valid, so in
//! a composite (applied in order, each extraction starting from the previous one's result) a later
//! propagator never wipes what an earlier one found; a later one that does find a trace context
//! replaces the earlier one's.

mod b3;
mod carrier;
mod ids;
mod jaeger;
mod w3c;
mod xray;

use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry_sdk::propagation::BaggagePropagator;

pub use b3::{
    B3Encoding, B3Propagator, B3_FLAGS_HEADER, B3_PARENT_SPAN_ID_HEADER, B3_SAMPLED_HEADER,
    B3_SINGLE_HEADER, B3_SPAN_ID_HEADER, B3_TRACE_ID_HEADER,
};
pub use carrier::{HeaderExtractor, HeaderInjector};
pub use jaeger::{JaegerPropagator, UBER_BAGGAGE_PREFIX, UBER_TRACE_ID_HEADER};
pub use w3c::{
    parse_traceparent, parse_traceresponse, parse_tracestate, parse_tracestate_members,
    traceresponse_header, TraceparentError, TracestateError, W3cTraceContextPropagator,
    TRACEPARENT_HEADER, TRACERESPONSE_HEADER, TRACESTATE_HEADER,
};
pub use xray::{
    parse_xray_trace_header, XrayPropagator, XrayTraceHeaderError, XRAY_TRACE_ID_HEADER,
};

/// The propagator names `OTEL_PROPAGATORS` accepts here.
pub const PROPAGATOR_NAMES: [&str; 7] = [
    "tracecontext",
    "baggage",
    "b3",
    "b3multi",
    "jaeger",
    "xray",
    "none",
];

/// Why a list of propagator names was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PropagationError {
    #[error(
        "unknown propagator {0:?}: expected tracecontext, baggage, b3, b3multi, jaeger, xray or none"
    )]
    UnknownPropagator(String),
    #[error("propagator \"none\" cannot be combined with other propagators")]
    NoneWithOthers,
}

/// W3C Trace Context then W3C Baggage: the `OTEL_PROPAGATORS` default `tracecontext,baggage`.
pub fn default_propagator() -> TextMapCompositePropagator {
    TextMapCompositePropagator::new(vec![
        Box::new(W3cTraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ])
}

/// Builds the propagator an `OTEL_PROPAGATORS` value names
/// (<https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/>).
///
/// Names are comma-separated, trimmed and case-sensitive: `tracecontext` ([`W3cTraceContextPropagator`]),
/// `baggage` (the SDK's [`BaggagePropagator`]), `b3` (B3 single header), `b3multi` (B3 multiple
/// headers), `jaeger` ([`JaegerPropagator`]), `xray` ([`XrayPropagator`], AWS X-Ray) and `none`.
/// They are applied in the order given; repeated names count once and empty items are skipped. An
/// empty (or blank) value means the default `tracecontext,baggage`, as the specification treats empty
/// variables as unset. `none` alone means no propagation; the specification does not say what `none`
/// listed with other names means, and such a contradictory list is refused with
/// [`PropagationError::NoneWithOthers`] rather than guessing which part was meant. An unknown name is
/// refused with [`PropagationError::UnknownPropagator`]; the specification asks SDKs to warn and
/// ignore the setting, which callers do by logging the error and using [`default_propagator`].
pub fn propagator_from_names(names: &str) -> Result<TextMapCompositePropagator, PropagationError> {
    let mut selected: Vec<&str> = Vec::new();
    for name in names
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        if !PROPAGATOR_NAMES.contains(&name) {
            return Err(PropagationError::UnknownPropagator(name.to_string()));
        }
        if !selected.contains(&name) {
            selected.push(name);
        }
    }
    if selected.is_empty() {
        return Ok(default_propagator());
    }
    if selected.contains(&"none") {
        if selected.len() > 1 {
            return Err(PropagationError::NoneWithOthers);
        }
        return Ok(TextMapCompositePropagator::new(Vec::new()));
    }
    let propagators = selected
        .into_iter()
        .filter_map(|name| -> Option<Box<dyn TextMapPropagator + Send + Sync>> {
            match name {
                "tracecontext" => Some(Box::new(W3cTraceContextPropagator::new())),
                "baggage" => Some(Box::new(BaggagePropagator::new())),
                "b3" => Some(Box::new(B3Propagator::with_encoding(
                    B3Encoding::SingleHeader,
                ))),
                "b3multi" => Some(Box::new(B3Propagator::with_encoding(
                    B3Encoding::MultipleHeader,
                ))),
                "jaeger" => Some(Box::new(JaegerPropagator::new())),
                "xray" => Some(Box::new(XrayPropagator::new())),
                _ => None,
            }
        })
        .collect();
    Ok(TextMapCompositePropagator::new(propagators))
}
