use super::*;

const GOOD: &str = r#"
[[token]]
name = "shop-ingest"
token = "shop-ingest-secret-0001"
tenant = "shop"
scopes = ["write"]

[[token]]
name = "shop-read"
# sha256("shop-read-secret-00002")
token_sha256 = "SHA"
tenant = "shop"
scopes = ["read", "admin"]

[[token]]
name = "bank-all"
token = "bank-all-secret-000003"
tenant = "bank"
scopes = ["write", "read"]
"#;

fn sha(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn good() -> Authenticator {
    Authenticator::parse(&GOOD.replace("SHA", &sha("shop-read-secret-00002"))).unwrap()
}

fn bearer_of(secret: &str) -> Vec<u8> {
    format!("Bearer {secret}").into_bytes()
}

fn check(
    auth: &Authenticator,
    authorization: Option<&[u8]>,
    tenants: &[&str],
    scope: Scope,
) -> Result<(String, String), AuthError> {
    auth.check(
        "test",
        authorization,
        tenants.iter().map(|t| t.as_bytes()),
        scope,
    )
    .map(|t| (t.name().to_owned(), t.tenant().to_string()))
}

#[test]
fn a_good_file_loads_every_token_with_its_tenant_and_scopes() {
    let auth = good();
    let summary: Vec<(&str, &str, Vec<Scope>)> = auth
        .tokens()
        .iter()
        .map(|t| (t.name(), t.tenant().as_str(), t.scopes().collect()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("shop-ingest", "shop", vec![Scope::Write]),
            ("shop-read", "shop", vec![Scope::Read, Scope::Admin]),
            ("bank-all", "bank", vec![Scope::Write, Scope::Read]),
        ]
    );
}

#[test]
fn clear_and_hashed_secrets_authenticate_with_their_tenant() {
    let auth = good();
    let ok = |secret: &str, scope| check(&auth, Some(&bearer_of(secret)), &[], scope);
    assert_eq!(
        ok("shop-ingest-secret-0001", Scope::Write).unwrap(),
        ("shop-ingest".into(), "shop".into())
    );
    assert_eq!(
        ok("shop-read-secret-00002", Scope::Read).unwrap(),
        ("shop-read".into(), "shop".into())
    );
    assert_eq!(ok("bank-all-secret-000003", Scope::Read).unwrap().1, "bank");
    // The scheme is case-insensitive and surrounding spaces do not matter.
    let lower = b"bearer   bank-all-secret-000003 ".to_vec();
    assert!(check(&auth, Some(&lower), &[], Scope::Write).is_ok());
}

/// Authorization value, tenant headers, scope needed, expected reason, unauthenticated (else forbidden).
type Refusal<'a> = (Option<&'a [u8]>, &'a [&'a str], Scope, &'a str, bool);

#[test]
fn refusals_say_why() {
    let auth = good();
    let cases: Vec<Refusal> = vec![
        (None, &[], Scope::Read, "missing", true),
        (
            Some(b"Basic dXNlcjpwYXNz"),
            &[],
            Scope::Read,
            "not_bearer",
            true,
        ),
        (Some(b"Bearer"), &[], Scope::Read, "invalid", true),
        (
            Some(b"Bearer wrong-secret-0000000"),
            &[],
            Scope::Read,
            "invalid",
            true,
        ),
        // a prefix of a real secret is no secret
        (
            Some(b"Bearer shop-ingest-secret-000"),
            &[],
            Scope::Write,
            "invalid",
            true,
        ),
        (
            Some(b"Bearer shop-ingest-secret-0001"),
            &[],
            Scope::Read,
            "scope",
            false,
        ),
        (
            Some(b"Bearer shop-read-secret-00002"),
            &[],
            Scope::Write,
            "scope",
            false,
        ),
        (
            Some(b"Bearer shop-read-secret-00002"),
            &["bank"],
            Scope::Read,
            "tenant_mismatch",
            false,
        ),
        (
            Some(b"Bearer shop-read-secret-00002"),
            &["shop", "bank"],
            Scope::Read,
            "tenant_mismatch",
            false,
        ),
    ];
    for (authorization, tenants, scope, reason, unauthenticated) in cases {
        let error = check(&auth, authorization, tenants, scope).unwrap_err();
        assert_eq!(error.reason(), reason, "{authorization:?}: {error}");
        assert_eq!(error.is_unauthenticated(), unauthenticated, "{error}");
        let expected = if unauthenticated {
            tonic::Code::Unauthenticated
        } else {
            tonic::Code::PermissionDenied
        };
        assert_eq!(error.grpc_status().code(), expected);
    }
    let error = check(
        &auth,
        Some(b"Bearer shop-read-secret-00002"),
        &["bank"],
        Scope::Read,
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        r#"X-Scope-OrgID names tenant "bank", but the token is for tenant "shop""#
    );
    let error = check(
        &auth,
        Some(b"Bearer shop-ingest-secret-0001"),
        &[],
        Scope::Read,
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        r#"token "shop-ingest" lacks the read scope"#
    );
}

#[test]
fn a_tenant_header_naming_the_tokens_tenant_is_accepted() {
    let auth = good();
    let found = check(
        &auth,
        Some(b"Bearer shop-read-secret-00002"),
        &[" shop "],
        Scope::Read,
    );
    assert_eq!(found.unwrap().1, "shop");
}

#[test]
fn failures_and_accepted_requests_are_counted() {
    let auth = good();
    let mut registry = Registry::default();
    auth.register_metrics(&mut registry);
    let _ = check(&auth, None, &[], Scope::Read);
    let _ = check(&auth, None, &[], Scope::Read);
    let _ = check(
        &auth,
        Some(b"Bearer shop-ingest-secret-0001"),
        &[],
        Scope::Write,
    );
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    assert!(
        text.contains(r#"tracewell_auth_failures_total{listener="test",reason="missing"} 2"#),
        "{text}"
    );
    assert!(
        text.contains(r#"tracewell_auth_requests_total{token="shop-ingest"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"tracewell_auth_requests_total{token="bank-all"} 0"#),
        "{text}"
    );
    assert!(!text.contains("secret"), "{text}");
}

#[test]
fn bad_files_are_refused_naming_the_token_and_the_problem() {
    let entry = |fields: &str| format!("[[token]]\n{fields}\n");
    let base = "name = \"a\"\ntoken = \"0123456789abcdef\"\ntenant = \"shop\"\nscopes = [\"read\"]";
    let cases: Vec<(String, &str)> = vec![
        ("".into(), "no tokens"),
        ("[[tokens]]\nname = \"x\"".into(), "unknown field `tokens`"),
        (
            entry(&format!("{base}\nexpires = \"never\"")),
            "unknown field `expires`",
        ),
        (
            entry("name = \"a\"\ntoken = \"0123456789abcdef\"\nscopes = [\"read\"]"),
            "missing field `tenant`",
        ),
        (
            entry(&base.replace("name = \"a\"", "name = \" \"")),
            "token #1 has an empty name",
        ),
        (
            entry(&base.replace("token = \"0123456789abcdef\"\n", "")),
            "token \"a\" has neither `token` nor `token_sha256`",
        ),
        (
            entry(&format!("{base}\ntoken_sha256 = \"{}\"", sha("x"))),
            "token \"a\" has both",
        ),
        (
            entry(&base.replace("0123456789abcdef", "short")),
            "token \"a\" is shorter than 16 characters",
        ),
        (
            entry(&base.replace("0123456789abcdef", "0123456789 abcdef")),
            "printable ASCII",
        ),
        (
            entry(&base.replace("token = \"0123456789abcdef\"", "token_sha256 = \"abc\"")),
            "token_sha256 of token \"a\" is not 64 hex digits",
        ),
        (
            entry(&base.replace("tenant = \"shop\"", "tenant = \"\"")),
            "token \"a\" has an empty tenant",
        ),
        (
            entry(&base.replace("tenant = \"shop\"", "tenant = \"a/b\"")),
            "token \"a\": invalid tenant: tenant id must be",
        ),
        (
            entry(&base.replace("[\"read\"]", "[]")),
            "token \"a\" has no scopes",
        ),
        (
            entry(&base.replace("[\"read\"]", "[\"read\", \"delete\"]")),
            "token \"a\" has unknown scope \"delete\"",
        ),
        (
            format!(
                "{}{}",
                entry(base),
                entry(&base.replace("0123456789abcdef", "fedcba9876543210"))
            ),
            "two tokens are named \"a\"",
        ),
        (
            format!(
                "{}{}",
                entry(base),
                entry(&base.replace("name = \"a\"", "name = \"b\""))
            ),
            "tokens \"a\" and \"b\" have the same secret",
        ),
        (
            // the same secret, once in clear and once as its digest
            format!(
                "{}{}",
                entry(base),
                entry(&base.replace("name = \"a\"", "name = \"b\"").replace(
                    "token = \"0123456789abcdef\"",
                    &format!("token_sha256 = \"{}\"", sha("0123456789abcdef"))
                ))
            ),
            "tokens \"a\" and \"b\" have the same secret",
        ),
    ];
    for (text, expected) in cases {
        let error = Authenticator::parse(&text).unwrap_err().to_string();
        assert!(error.contains(expected), "{text}\n→ {error}");
    }
    assert!(Authenticator::parse(&entry(base)).is_ok());
}

#[test]
fn a_missing_file_is_refused_naming_it() {
    let error = Authenticator::load(Path::new("/nonexistent/tokens.toml"))
        .unwrap_err()
        .to_string();
    assert!(error.contains("/nonexistent/tokens.toml"), "{error}");
}

#[test]
fn surfaces_decide_what_each_path_needs() {
    use Access::{Need, Open};
    let cases = [
        (Surface::Ingest, "/v1/traces", Need(Scope::Write)),
        (Surface::Ingest, "/api/v2/spans", Need(Scope::Write)),
        (
            Surface::Ingest,
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            Need(Scope::Write),
        ),
        (Surface::Query, "/api/v1/search", Need(Scope::Read)),
        (Surface::Query, "/api/traces/abc", Need(Scope::Read)),
        (Surface::Query, "/api/v1/tail", Need(Scope::Read)),
        (Surface::Query, "/api", Need(Scope::Read)),
        (Surface::Query, "/mcp", Need(Scope::Read)),
        (Surface::Query, "/", Open),
        (Surface::Query, "/search", Open),
        (Surface::Query, "/apis-overview", Open),
        (Surface::Query, "/assets/index-abc.js", Open),
        (Surface::Query, "/metrics", Open),
        (Surface::Query, "/healthz", Open),
        (Surface::Query, "/readyz", Open),
        (Surface::Tempo, "/api/search", Need(Scope::Read)),
        (Surface::Tempo, "/api/echo", Need(Scope::Read)),
        (
            Surface::Tempo,
            "/tempopb.StreamingQuerier/Search",
            Need(Scope::Read),
        ),
        (Surface::Tempo, "/readyz", Open),
        (Surface::Tempo, "/metrics", Open),
    ];
    for (surface, path, expected) in cases {
        assert_eq!(surface.access(path), expected, "{surface:?} {path}");
    }
}
