//! HTTP header carriers: [`HeaderInjector`] writes propagation fields into an [`http::HeaderMap`] and
//! [`HeaderExtractor`] reads them back, for any OpenTelemetry text-map propagator.

use http::header::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector};

/// Writes propagation fields as HTTP headers.
///
/// Each field replaces every earlier value of its header. A field whose name is not a valid header
/// name, or whose value is not visible ASCII (spaces and tabs allowed), is not written: such a value
/// could not be read back by [`HeaderExtractor`].
#[derive(Debug)]
pub struct HeaderInjector<'a>(pub &'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        let Ok(name) = HeaderName::from_bytes(key.as_bytes()) else {
            return;
        };
        if !value.bytes().all(is_visible_ascii) {
            return;
        }
        let Ok(value) = HeaderValue::from_str(&value) else {
            return;
        };
        self.0.insert(name, value);
    }
}

/// Reads propagation fields from HTTP headers.
///
/// Header names are case-insensitive. A value that is not visible ASCII (spaces and tabs allowed)
/// is treated as absent: [`Extractor::get`] returns the first usable value and
/// [`Extractor::get_all`] every usable value in the order received.
#[derive(Clone, Copy, Debug)]
pub struct HeaderExtractor<'a>(pub &'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get_all(key)
            .iter()
            .find_map(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = self
            .0
            .get_all(key)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        (!values.is_empty()).then_some(values)
    }
}

/// Visible ASCII, space or horizontal tab: the bytes [`HeaderValue::to_str`] accepts.
fn is_visible_ascii(byte: u8) -> bool {
    byte == b'\t' || (0x20..0x7f).contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            let name = HeaderName::from_bytes(name.as_bytes()).expect("test header name");
            let value = HeaderValue::from_bytes(value).expect("test header value");
            headers.append(name, value);
        }
        headers
    }

    #[test]
    fn injector_writes_lowercase_names_and_replaces_values() {
        let mut headers = map(&[("traceparent", b"old"), ("traceparent", b"older")]);
        let mut injector = HeaderInjector(&mut headers);
        injector.set("TraceParent", "new".to_string());
        injector.set("X-B3-TraceId", "abc".to_string());
        let values: Vec<_> = headers.get_all("traceparent").iter().collect();
        assert_eq!(values, vec!["new"]);
        assert_eq!(
            headers.get("x-b3-traceid").map(HeaderValue::as_bytes),
            Some(&b"abc"[..])
        );
    }

    #[test]
    fn injector_skips_invalid_names_and_values() {
        let mut headers = HeaderMap::new();
        let mut injector = HeaderInjector(&mut headers);
        injector.set("bad name", "value".to_string());
        injector.set("", "value".to_string());
        injector.set("good", "line\nbreak".to_string());
        injector.set("also-good", "caf\u{e9}".to_string());
        assert!(headers.is_empty(), "{headers:?}");
    }

    #[test]
    fn extractor_is_case_insensitive() {
        let headers = map(&[("traceparent", b"value")]);
        let extractor = HeaderExtractor(&headers);
        assert_eq!(extractor.get("TRACEPARENT"), Some("value"));
        assert_eq!(extractor.get("TraceParent"), Some("value"));
        assert_eq!(extractor.get_all("TrAcEpArEnT"), Some(vec!["value"]));
        assert_eq!(extractor.get("missing"), None);
        assert_eq!(extractor.get("not a header name"), None);
        assert_eq!(extractor.get_all("missing"), None);
    }

    #[test]
    fn extractor_returns_every_value_in_order() {
        let headers = map(&[
            ("tracestate", b"a=1"),
            ("other", b"x"),
            ("tracestate", b"b=2"),
        ]);
        let extractor = HeaderExtractor(&headers);
        assert_eq!(extractor.get("tracestate"), Some("a=1"));
        assert_eq!(extractor.get_all("tracestate"), Some(vec!["a=1", "b=2"]));
        let mut keys = extractor.keys();
        keys.sort_unstable();
        assert_eq!(keys, vec!["other", "tracestate"]);
    }

    #[test]
    fn extractor_treats_non_ascii_values_as_absent() {
        let headers = map(&[
            ("b3", b"caf\xc3\xa9"),
            ("b3", b"1"),
            ("uber-trace-id", b"\xff"),
        ]);
        let extractor = HeaderExtractor(&headers);
        assert_eq!(extractor.get("b3"), Some("1"));
        assert_eq!(extractor.get_all("b3"), Some(vec!["1"]));
        assert_eq!(extractor.get("uber-trace-id"), None);
        assert_eq!(extractor.get_all("uber-trace-id"), None);
    }

    #[test]
    fn extractor_keeps_spaces_and_tabs() {
        let headers = map(&[("traceparent", b"\t value \t")]);
        assert_eq!(
            HeaderExtractor(&headers).get("traceparent"),
            Some("\t value \t")
        );
    }
}
