//! Applying a tenant's [`RuleSet`] to an OTLP export request, in place: attributes of resources, scopes,
//! spans, span events and links. A key that matches a `drop` glob loses its attribute; one that matches a
//! `hash` glob has its value replaced by a keyed hash (HMAC-SHA256, the first 16 bytes in hex), so equal
//! values stay equal and joinable; string values under keys a mask covers have every match replaced. Values
//! inside arrays are masked one by one; a key-value list's entries are matched as `parent.child`. The span
//! status message is masked as the key `otel.status_description`. Logs requests get the same treatment
//! (resource, scope and record attributes), and a record's body is masked as the key `body`.

use std::borrow::Cow;

use hmac::{Hmac, KeyInit, Mac};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use sha2::Sha256;

use super::rules::{Replace, RuleSet};

/// The key under which a span's status message is masked.
pub const STATUS_MESSAGE_KEY: &str = "otel.status_description";
/// The key under which a log record's body is masked.
pub const LOG_BODY_KEY: &str = "body";

/// What redaction changed in one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RedactionReport {
    pub dropped: u64,
    pub hashed: u64,
    pub masked: u64,
}

impl RedactionReport {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl RuleSet {
    /// Redacts every attribute of `req` this rule set covers.
    pub fn apply(&self, req: &mut ExportTraceServiceRequest) -> RedactionReport {
        let mut report = RedactionReport::default();
        for rs in &mut req.resource_spans {
            if let Some(resource) = &mut rs.resource {
                self.attributes(&mut resource.attributes, &mut report);
            }
            for ss in &mut rs.scope_spans {
                if let Some(scope) = &mut ss.scope {
                    self.attributes(&mut scope.attributes, &mut report);
                }
                for span in &mut ss.spans {
                    self.attributes(&mut span.attributes, &mut report);
                    for event in &mut span.events {
                        self.attributes(&mut event.attributes, &mut report);
                    }
                    for link in &mut span.links {
                        self.attributes(&mut link.attributes, &mut report);
                    }
                    if let Some(status) = &mut span.status {
                        if !status.message.is_empty()
                            && self.mask_string(STATUS_MESSAGE_KEY, &mut status.message)
                        {
                            report.masked += 1;
                        }
                    }
                }
            }
        }
        report
    }

    /// Redacts every attribute of a logs request this rule set covers; a record's body is masked as the key
    /// [`LOG_BODY_KEY`] (the entries of a key-value list body as `body.<key>`).
    pub fn apply_logs(&self, req: &mut ExportLogsServiceRequest) -> RedactionReport {
        let mut report = RedactionReport::default();
        for rl in &mut req.resource_logs {
            if let Some(resource) = &mut rl.resource {
                self.attributes(&mut resource.attributes, &mut report);
            }
            for sl in &mut rl.scope_logs {
                if let Some(scope) = &mut sl.scope {
                    self.attributes(&mut scope.attributes, &mut report);
                }
                for record in &mut sl.log_records {
                    self.attributes(&mut record.attributes, &mut report);
                    if let Some(body) = &mut record.body {
                        if self.mask_value(LOG_BODY_KEY, body, &mut report) {
                            report.masked += 1;
                        }
                    }
                }
            }
        }
        report
    }

    fn attributes(&self, attributes: &mut Vec<KeyValue>, report: &mut RedactionReport) {
        let before = attributes.len();
        attributes.retain(|kv| !self.drop.matches(&kv.key));
        report.dropped += (before - attributes.len()) as u64;
        for kv in attributes.iter_mut() {
            let Some(value) = kv.value.as_mut() else {
                continue;
            };
            if self.hash.matches(&kv.key) {
                if let Some(hashed) = self.hash_value(value) {
                    value.value = Some(Value::StringValue(hashed));
                    report.hashed += 1;
                }
                continue;
            }
            if self.mask_value(&kv.key, value, report) {
                report.masked += 1;
            }
        }
    }

    /// Masks a value under `key`; nested list entries that are dropped or hashed are counted in `report`.
    fn mask_value(&self, key: &str, value: &mut AnyValue, report: &mut RedactionReport) -> bool {
        match value.value.as_mut() {
            Some(Value::StringValue(s)) => self.mask_string(key, s),
            Some(Value::ArrayValue(array)) => {
                let mut changed = false;
                for item in &mut array.values {
                    changed |= self.mask_value(key, item, report);
                }
                changed
            }
            Some(Value::KvlistValue(list)) => {
                let mut nested: Vec<KeyValue> = std::mem::take(&mut list.values)
                    .into_iter()
                    .map(|mut kv| {
                        kv.key = format!("{key}.{}", kv.key);
                        kv
                    })
                    .collect();
                self.attributes(&mut nested, report);
                list.values = nested
                    .into_iter()
                    .map(|mut kv| {
                        kv.key.drain(..key.len() + 1);
                        kv
                    })
                    .collect();
                false
            }
            _ => false,
        }
    }

    /// Replaces every match of the masks covering `key` in `s`; returns whether `s` changed.
    fn mask_string(&self, key: &str, s: &mut String) -> bool {
        let mut changed = false;
        for mask in self.masks.iter().filter(|m| m.keys.matches(key)) {
            for replace in &mask.replaces {
                if let Cow::Owned(new) = replace_all(replace, s) {
                    *s = new;
                    changed = true;
                }
            }
        }
        changed
    }

    /// The keyed hash of a value's text, or `None` for an empty value.
    fn hash_value(&self, value: &AnyValue) -> Option<String> {
        let text = match value.value.as_ref()? {
            Value::StringValue(s) => Cow::Borrowed(s.as_str()),
            Value::IntValue(i) => Cow::Owned(i.to_string()),
            Value::StringValueStrindex(i) => Cow::Owned(i.to_string()),
            Value::BoolValue(b) => Cow::Owned(b.to_string()),
            Value::DoubleValue(d) => Cow::Owned(d.to_string()),
            Value::BytesValue(b) => Cow::Owned(hex::encode(b)),
            Value::ArrayValue(_) | Value::KvlistValue(_) => {
                Cow::Owned(format!("{:?}", value.value.as_ref()?))
            }
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.hash_key).ok()?;
        mac.update(text.as_bytes());
        let digest = mac.finalize().into_bytes();
        Some(hex::encode(&digest[..16]))
    }
}

fn replace_all<'a>(replace: &Replace, s: &'a str) -> Cow<'a, str> {
    if !replace.luhn {
        return replace.regex.replace_all(s, replace.replacement.as_str());
    }
    let mut changed = false;
    let out = replace.regex.replace_all(s, |caps: &regex::Captures<'_>| {
        let matched = &caps[0];
        if luhn_valid(matched) {
            changed = true;
            let mut expanded = String::new();
            caps.expand(&replace.replacement, &mut expanded);
            expanded
        } else {
            matched.to_owned()
        }
    });
    if changed {
        Cow::Owned(out.into_owned())
    } else {
        Cow::Borrowed(s)
    }
}

/// Whether the digits of `s` (spaces and dashes ignored) pass the Luhn check card numbers carry.
fn luhn_valid(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() < 13 {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::span::Event;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

    use super::*;
    use crate::redact::RedactionRules;

    fn s(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue {
                value: Some(Value::StringValue(value.into())),
            }),
            ..Default::default()
        }
    }

    fn string_of<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a str> {
        attrs.iter().find(|kv| kv.key == key).and_then(|kv| {
            match kv.value.as_ref()?.value.as_ref()? {
                Value::StringValue(s) => Some(s.as_str()),
                _ => None,
            }
        })
    }

    fn rules(text: &str) -> std::sync::Arc<RuleSet> {
        RedactionRules::parse(text, Path::new("r.toml"), |_| None)
            .unwrap()
            .for_tenant("shop")
            .unwrap()
            .clone()
    }

    fn request(span: Span, resource: Vec<KeyValue>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: resource,
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans: vec![span],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn drops_hashes_and_masks_where_the_rules_say() {
        let set = rules(
            "hash_key = 'k1'\n[all]\ndrop = ['*password*', 'http.request.header.authorization']\n\
             hash = ['enduser.id']\n[[all.mask]]\npattern = 'email'\n[[all.mask]]\npattern = 'card'\n\
             keys = ['payment.*']\n[[all.mask]]\npattern = 'token'\nkeys = ['url.*']\n",
        );
        let span = Span {
            attributes: vec![
                s("db.password", "hunter2"),
                s("http.request.header.authorization", "Bearer abc"),
                s("enduser.id", "user-42"),
                s("user.note", "mail ada@example.com or bob@shop.co.uk"),
                s("payment.card", "card 4111 1111 1111 1111 ok"),
                s("payment.ref", "order 1234567890123"),
                s("http.note", "4111 1111 1111 1111"),
                s(
                    "url.full",
                    "https://shop/x?id=7&access_token=eyJhbGciOi.x.y&lang=en",
                ),
            ],
            events: vec![Event {
                name: "exception".into(),
                attributes: vec![s("exception.message", "no account for ada@example.com")],
                ..Default::default()
            }],
            status: Some(Status {
                message: "charge failed for ada@example.com".into(),
                code: 2,
            }),
            ..Default::default()
        };
        let mut req = request(
            span,
            vec![s("admin.password", "x"), s("service.name", "shop")],
        );
        let report = set.apply(&mut req);
        let rs = &req.resource_spans[0];
        let span = &rs.scope_spans[0].spans[0];
        let attrs = &span.attributes;
        assert_eq!(string_of(attrs, "db.password"), None);
        assert_eq!(string_of(attrs, "http.request.header.authorization"), None);
        let hashed = string_of(attrs, "enduser.id").unwrap();
        assert_eq!(hashed.len(), 32);
        assert_ne!(hashed, "user-42");
        assert_eq!(
            string_of(attrs, "user.note"),
            Some("mail [email] or [email]")
        );
        assert_eq!(string_of(attrs, "payment.card"), Some("card [card] ok"));
        // Not a valid card number (Luhn), so kept.
        assert_eq!(string_of(attrs, "payment.ref"), Some("order 1234567890123"));
        // The card mask covers payment.* only.
        assert_eq!(string_of(attrs, "http.note"), Some("4111 1111 1111 1111"));
        assert_eq!(
            string_of(attrs, "url.full"),
            Some("https://shop/x?id=7&access_token=[token]&lang=en")
        );
        assert_eq!(
            string_of(&span.events[0].attributes, "exception.message"),
            Some("no account for [email]")
        );
        assert_eq!(
            span.status.as_ref().unwrap().message,
            "charge failed for [email]"
        );
        let resource = &rs.resource.as_ref().unwrap().attributes;
        assert_eq!(string_of(resource, "admin.password"), None);
        assert_eq!(string_of(resource, "service.name"), Some("shop"));
        assert_eq!(
            report,
            RedactionReport {
                dropped: 3,
                hashed: 1,
                masked: 5
            }
        );
    }

    #[test]
    fn equal_values_hash_equal_and_the_key_changes_the_hash() {
        let hash_of = |key: &str, value: &str| {
            let set = rules(&format!("hash_key = '{key}'\n[all]\nhash = ['user.id']\n"));
            let mut req = request(
                Span {
                    attributes: vec![s("user.id", value)],
                    ..Default::default()
                },
                vec![],
            );
            set.apply(&mut req);
            string_of(
                &req.resource_spans[0].scope_spans[0].spans[0].attributes,
                "user.id",
            )
            .unwrap()
            .to_owned()
        };
        assert_eq!(hash_of("k1", "u-1"), hash_of("k1", "u-1"));
        assert_ne!(hash_of("k1", "u-1"), hash_of("k1", "u-2"));
        assert_ne!(hash_of("k1", "u-1"), hash_of("k2", "u-1"));
    }

    #[test]
    fn arrays_and_nested_lists_are_redacted_by_their_keys() {
        let set = rules(
            "[all]\ndrop = ['http.headers.cookie']\n[[all.mask]]\npattern = 'email'\n\
             keys = ['recipients', 'http.headers.*']\n",
        );
        let list = KeyValue {
            key: "http.headers".into(),
            value: Some(AnyValue {
                value: Some(Value::KvlistValue(KeyValueList {
                    values: vec![s("cookie", "sid=1"), s("from", "ada@example.com")],
                })),
            }),
            ..Default::default()
        };
        let array = KeyValue {
            key: "recipients".into(),
            value: Some(AnyValue {
                value: Some(Value::ArrayValue(ArrayValue {
                    values: vec![
                        AnyValue {
                            value: Some(Value::StringValue("a@b.io".into())),
                        },
                        AnyValue {
                            value: Some(Value::IntValue(3)),
                        },
                    ],
                })),
            }),
            ..Default::default()
        };
        let mut req = request(
            Span {
                attributes: vec![list, array],
                ..Default::default()
            },
            vec![],
        );
        let report = set.apply(&mut req);
        let attrs = &req.resource_spans[0].scope_spans[0].spans[0].attributes;
        let Some(Value::KvlistValue(list)) = attrs[0].value.as_ref().unwrap().value.as_ref() else {
            panic!("a list")
        };
        assert_eq!(list.values.len(), 1);
        assert_eq!(string_of(&list.values, "from"), Some("[email]"));
        let Some(Value::ArrayValue(array)) = attrs[1].value.as_ref().unwrap().value.as_ref() else {
            panic!("an array")
        };
        assert_eq!(
            array.values[0].value,
            Some(Value::StringValue("[email]".into()))
        );
        assert_eq!(report.dropped, 1);
        assert_eq!(report.masked, 2);
    }

    #[test]
    fn log_records_are_redacted_like_spans_and_their_body_too() {
        use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
        let set = rules("[all]\ndrop = ['*password*']\n[[all.mask]]\npattern = 'email'\n");
        let mut req = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    log_records: vec![LogRecord {
                        body: Some(AnyValue {
                            value: Some(Value::StringValue("reset sent to ada@example.com".into())),
                        }),
                        attributes: vec![s("db.password", "x"), s("user", "bob@example.com")],
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let report = set.apply_logs(&mut req);
        let record = &req.resource_logs[0].scope_logs[0].log_records[0];
        assert_eq!(
            record.body.as_ref().unwrap().value,
            Some(Value::StringValue("reset sent to [email]".into()))
        );
        assert_eq!(string_of(&record.attributes, "db.password"), None);
        assert_eq!(string_of(&record.attributes, "user"), Some("[email]"));
        assert_eq!(
            report,
            RedactionReport {
                dropped: 1,
                hashed: 0,
                masked: 2
            }
        );
    }

    #[test]
    fn luhn_accepts_card_numbers_only() {
        assert!(luhn_valid("4111 1111 1111 1111"));
        assert!(luhn_valid("5500-0000-0000-0004"));
        assert!(!luhn_valid("4111 1111 1111 1112"));
        assert!(!luhn_valid("12345"));
    }
}
