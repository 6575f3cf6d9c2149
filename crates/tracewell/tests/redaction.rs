//! Redaction rules against the real binary (`--redaction`): attributes are dropped, masked and hashed per
//! tenant before anything is written (the secret values appear in no file of the data directory), the
//! changes are counted in /metrics, an edit to the rules applies without restart, and a broken file stops
//! start-up with an error naming the rule.

mod common;

use std::path::Path;

use common::traces::{export_request_of, http_client, kv_str, now_unix_nano, SpanShape};
use common::Server;
use serde_json::Value;

const RULES: &str = r#"
hash_key_env = "TRACEWELL_REDACTION_KEY"

[all]
drop = ["*password*"]
hash = ["enduser.id"]
[[all.mask]]
pattern = "email"
[[all.mask]]
pattern = "token"
keys = ["url.full"]

[tenants.shop]
drop = ["customer.address"]
"#;

/// Posts one span with `attributes` for `tenant`; returns its trace id.
async fn post(server: &Server, tenant: &str, attributes: &[(&str, &str)]) -> String {
    let attributes: Vec<_> = attributes.iter().map(|(k, v)| kv_str(k, v)).collect();
    let (request, sent) = export_request_of(1, 1, now_unix_nano(), Vec::new(), |_| SpanShape {
        name: "checkout".into(),
        kind: 2,
        duration_nanos: 1_000_000,
        attributes: attributes.clone(),
    });
    let response = http_client()
        .post(server.otlp_http_url())
        .header("content-type", "application/x-protobuf")
        .header("X-Scope-OrgID", tenant)
        .body(prost::Message::encode_to_vec(&request))
        .send()
        .await
        .expect("export request");
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    sent[0].trace_id.clone()
}

/// The span attributes of a stored one-span trace, as key → string value.
async fn attributes_of(server: &Server, tenant: &str, trace_id: &str) -> Vec<(String, String)> {
    let response = http_client()
        .get(server.url(&format!("/api/v1/traces/{trace_id}")))
        .header("X-Scope-OrgID", tenant)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| {
            (
                kv["key"].as_str().unwrap().to_owned(),
                kv["value"]["stringValue"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn value<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Whether any file under `dir` contains `needle`.
fn any_file_contains(dir: &Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().flatten().any(|entry| {
        let path = entry.path();
        if path.is_dir() {
            any_file_contains(&path, needle)
        } else {
            std::fs::read(&path)
                .map(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
                .unwrap_or(false)
        }
    })
}

#[tokio::test]
async fn attributes_are_redacted_per_tenant_before_they_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("redaction.toml");
    std::fs::write(&rules, RULES).unwrap();
    let data = dir.path().join("data");
    let server = Server::start_with_env(
        &data,
        &[
            "--redaction",
            rules.to_str().unwrap(),
            "--tenant-overrides-interval",
            "100ms",
        ],
        &[("TRACEWELL_REDACTION_KEY", "k3y")],
    )
    .await;

    let secrets = [
        ("db.password", "hunter2-secret"),
        ("customer.address", "12 Acacia Avenue"),
        ("enduser.id", "user-4242"),
        ("note", "mail ada.lovelace@example.com please"),
        (
            "url.full",
            "https://shop.example/cb?code=1&access_token=tok-abcdef123456",
        ),
    ];
    let shop = post(&server, "shop", &secrets).await;
    let other = post(&server, "other", &secrets).await;
    let again = post(&server, "shop", &[("enduser.id", "user-4242")]).await;

    let shop_attrs = attributes_of(&server, "shop", &shop).await;
    assert_eq!(value(&shop_attrs, "db.password"), None, "{shop_attrs:?}");
    assert_eq!(value(&shop_attrs, "customer.address"), None);
    assert_eq!(value(&shop_attrs, "note"), Some("mail [email] please"));
    assert_eq!(
        value(&shop_attrs, "url.full"),
        Some("https://shop.example/cb?code=1&access_token=[token]")
    );
    let hashed = value(&shop_attrs, "enduser.id").unwrap();
    assert_eq!(hashed.len(), 32, "{hashed}");
    assert_ne!(hashed, "user-4242");
    // The same user hashes the same way: traces stay joinable by user.
    let again_attrs = attributes_of(&server, "shop", &again).await;
    assert_eq!(value(&again_attrs, "enduser.id"), Some(hashed));

    // Another tenant gets the [all] rules only.
    let other_attrs = attributes_of(&server, "other", &other).await;
    assert_eq!(value(&other_attrs, "db.password"), None);
    assert_eq!(
        value(&other_attrs, "customer.address"),
        Some("12 Acacia Avenue")
    );

    // Nothing unredacted reached the disk (the WAL holds every request as written).
    for secret in [
        "hunter2-secret",
        "user-4242",
        "ada.lovelace@example.com",
        "tok-abcdef123456",
    ] {
        assert!(
            !any_file_contains(&data, secret.as_bytes()),
            "{secret} was written to {}",
            data.display()
        );
    }
    assert!(
        any_file_contains(&data, b"12 Acacia Avenue"),
        "the other tenant's address is kept"
    );
    assert_eq!(
        server
            .metric(r#"tracewell_redacted_attributes_total{action="drop"}"#)
            .await,
        3.0
    );
    assert_eq!(
        server
            .metric(r#"tracewell_redacted_attributes_total{action="hash"}"#)
            .await,
        3.0
    );
    assert_eq!(
        server
            .metric(r#"tracewell_redacted_attributes_total{action="mask"}"#)
            .await,
        4.0
    );

    // An edit applies without restart: the other tenant now loses `note` as well.
    std::fs::write(
        &rules,
        format!("{RULES}\n[tenants.other]\ndrop = [\"note\"]\n"),
    )
    .unwrap();
    let srv = &server;
    server
        .eventually("the edited rules applied", || async move {
            let id = post(srv, "other", &[("note", "plain")]).await;
            value(&attributes_of(srv, "other", &id).await, "note").is_none()
        })
        .await;
}

#[test]
fn a_broken_rules_file_stops_start_up_naming_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("redaction.toml");
    std::fs::write(&rules, "[tenants.shop]\nmask = [{ pattern = \"([a-z\" }]\n").unwrap();
    let stderr = common::serve_fails(
        &dir.path().join("data"),
        &["--redaction".as_ref(), rules.as_os_str()],
    );
    assert!(
        stderr.contains("[tenants.shop] mask 1: pattern \"([a-z\" is not a regex"),
        "{stderr}"
    );
    // Hash rules without a key are refused rather than hashed guessably.
    std::fs::write(&rules, "[all]\nhash = [\"user.id\"]\n").unwrap();
    let stderr = common::serve_fails(
        &dir.path().join("data"),
        &["--redaction".as_ref(), rules.as_os_str()],
    );
    assert!(stderr.contains("hash rules need a secret key"), "{stderr}");
}
