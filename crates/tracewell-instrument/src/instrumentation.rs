//! [`Instrumentation`]: the tracer and propagator that the HTTP and messaging integrations use, either
//! the global ones installed by [`crate::init`] or those of one [`crate::Telemetry`] (several services
//! in one process).

use std::sync::Arc;

use opentelemetry::global::BoxedTracer;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::Context;

use crate::Telemetry;

/// A tracer plus the propagator to carry its context across processes.
#[derive(Clone)]
pub struct Instrumentation {
    tracer: Arc<BoxedTracer>,
    propagator: Option<Arc<dyn TextMapPropagator + Send + Sync>>,
}

impl std::fmt::Debug for Instrumentation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instrumentation")
            .field("propagator", &self.propagator)
            .finish_non_exhaustive()
    }
}

impl Instrumentation {
    /// The global tracer provider's tracer and the global propagator (looked up on each use, so
    /// [`crate::init`] may run after this is created for the propagator, but not for the tracer).
    pub fn global() -> Self {
        Instrumentation {
            tracer: Arc::new(opentelemetry::global::tracer("tracewell-instrument")),
            propagator: None,
        }
    }

    /// `telemetry`'s tracer and propagator.
    pub fn from_telemetry(telemetry: &Telemetry) -> Self {
        Self::new(
            telemetry.tracer("tracewell-instrument"),
            telemetry.propagator(),
        )
    }

    /// Any tracer and propagator.
    pub fn new<T, S>(tracer: T, propagator: Arc<dyn TextMapPropagator + Send + Sync>) -> Self
    where
        T: opentelemetry::trace::Tracer<Span = S> + Send + Sync + 'static,
        S: opentelemetry::trace::Span + Send + Sync + 'static,
    {
        Instrumentation {
            tracer: Arc::new(BoxedTracer::new(Box::new(tracer))),
            propagator: Some(propagator),
        }
    }

    pub fn tracer(&self) -> &BoxedTracer {
        &self.tracer
    }

    /// Writes `cx`'s span context (and baggage, with a baggage propagator) into `injector`.
    pub fn inject(&self, cx: &Context, injector: &mut dyn Injector) {
        match &self.propagator {
            Some(p) => p.inject_context(cx, injector),
            None => {
                opentelemetry::global::get_text_map_propagator(|p| p.inject_context(cx, injector))
            }
        }
    }

    /// The context carried by `extractor`, on top of an empty context (a malformed or missing header
    /// gives a context without a remote parent: the trace restarts).
    pub fn extract(&self, extractor: &dyn Extractor) -> Context {
        let empty = Context::new();
        match &self.propagator {
            Some(p) => p.extract_with_context(&empty, extractor),
            None => opentelemetry::global::get_text_map_propagator(|p| {
                p.extract_with_context(&empty, extractor)
            }),
        }
    }
}

impl From<&Telemetry> for Instrumentation {
    fn from(telemetry: &Telemetry) -> Self {
        Self::from_telemetry(telemetry)
    }
}
