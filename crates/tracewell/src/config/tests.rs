use super::*;

fn file(text: &str) -> anyhow::Result<FileConfig> {
    toml::from_str(text).map_err(|e| anyhow::anyhow!(e.message().to_owned()))
}

#[test]
fn defaults_apply_when_nothing_is_given() {
    let config = build(ServeArgs::default(), FileConfig::default()).unwrap();
    assert_eq!(config.addrs.otlp_grpc.port(), 4317);
    assert_eq!(config.addrs.otlp_http.port(), 4318);
    assert_eq!(config.addrs.zipkin.port(), 9411);
    assert_eq!(config.addrs.http.port(), 16686);
    assert_eq!(config.store.data_dir, PathBuf::from("tracewell-data"));
    assert_eq!(config.ingest.max_request_bytes, 16 << 20);
    assert_eq!(config.store.retention, Duration::from_secs(7 * 86400));
    assert_eq!(
        config.query.max_concurrent,
        tracewell_query::default_max_concurrent_queries()
    );
    assert!(config.query.max_concurrent >= 4);
    assert_eq!(config.query.retry_after, config.ingest.retry_after);
    assert_eq!(
        config.ingest.span_limits.max_span_future,
        Some(Duration::from_secs(15 * 60))
    );
    assert_eq!(
        config.ingest.span_limits.max_span_age,
        Some(config.store.retention)
    );
    assert_eq!(config.store.max_rollup_series, 10_000);
}

#[test]
fn limits_come_from_flags_or_the_file_and_zero_turns_time_bounds_off() {
    let args = ServeArgs {
        max_concurrent_queries: Some(3),
        max_span_future: Some("1m".into()),
        retry_after: Some("5s".into()),
        ..Default::default()
    };
    let from_file = file(
        "max_concurrent_queries = 9\nmax_span_age = '2h'\nmax_rollup_series = 50\nretention = '30d'",
    )
    .unwrap();
    let config = build(args, from_file).unwrap();
    assert_eq!(config.query.max_concurrent, 3);
    assert_eq!(config.query.retry_after, Duration::from_secs(5));
    let limits = config.ingest.span_limits;
    assert_eq!(limits.max_span_future, Some(Duration::from_secs(60)));
    assert_eq!(limits.max_span_age, Some(Duration::from_secs(7200)));
    assert_eq!(config.store.max_rollup_series, 50);

    // The age bound follows the retention unless given.
    let config = build(ServeArgs::default(), file("retention = '30d'").unwrap()).unwrap();
    let day = Duration::from_secs(86400);
    assert_eq!(config.ingest.span_limits.max_span_age, Some(30 * day));

    for off in ["0", "0s", " 0 "] {
        let args = ServeArgs {
            max_span_future: Some(off.into()),
            max_span_age: Some(off.into()),
            ..Default::default()
        };
        let limits = build(args, FileConfig::default())
            .unwrap()
            .ingest
            .span_limits;
        assert_eq!(
            (limits.max_span_future, limits.max_span_age),
            (None, None),
            "{off:?}"
        );
    }
}

#[test]
fn flags_win_over_the_file_and_the_file_over_defaults() {
    let args = ServeArgs {
        data_dir: Some("from-flag".into()),
        retention: Some("2d".into()),
        ..Default::default()
    };
    let file = file("data_dir = 'from-file'\nretention = '3d'\nhead_max_bytes = '1MiB'\nmax_request_bytes = 1024").unwrap();
    let config = build(args, file).unwrap();
    assert_eq!(config.store.data_dir, PathBuf::from("from-flag"));
    assert_eq!(config.store.retention, Duration::from_secs(2 * 86400));
    assert_eq!(config.store.head_max_bytes, 1 << 20);
    assert_eq!(config.ingest.max_request_bytes, 1024);
}

#[test]
fn unknown_file_keys_are_refused_by_name() {
    let err = file("data_dirr = 'x'").unwrap_err().to_string();
    assert!(err.contains("data_dirr"), "{err}");
}

#[test]
fn invalid_values_are_refused_naming_the_key() {
    let cases = [
        (
            ServeArgs {
                retention: Some("forever".into()),
                ..Default::default()
            },
            "retention",
        ),
        (
            ServeArgs {
                max_request_bytes: Some("0".into()),
                ..Default::default()
            },
            "max_request_bytes",
        ),
        (
            ServeArgs {
                head_max_bytes: Some("12 parsecs".into()),
                ..Default::default()
            },
            "head_max_bytes",
        ),
        (
            ServeArgs {
                allowed_tenants: Some(vec!["a/b".into()]),
                ..Default::default()
            },
            "allowed_tenants",
        ),
        (
            ServeArgs {
                maintenance_interval: Some("0s".into()),
                ..Default::default()
            },
            "maintenance_interval",
        ),
        (
            ServeArgs {
                max_concurrent_queries: Some(0),
                ..Default::default()
            },
            "max_concurrent_queries",
        ),
        (
            ServeArgs {
                max_span_future: Some("soon".into()),
                ..Default::default()
            },
            "max_span_future",
        ),
        (
            ServeArgs {
                max_span_age: Some("-1d".into()),
                ..Default::default()
            },
            "max_span_age",
        ),
        (
            ServeArgs {
                max_rollup_series: Some(0),
                ..Default::default()
            },
            "max_rollup_series",
        ),
    ];
    for (args, key) in cases {
        let err = build(args, FileConfig::default()).unwrap_err().to_string();
        assert!(err.contains(key), "{key}: {err}");
    }
}

#[test]
fn unknown_tracewell_environment_variables_are_refused_by_name() {
    let keys = ["PATH", "TRACEWELL_DATA_DIR", "TRACEWELL_DATADIR"].map(String::from);
    let err = check_env(keys.into_iter()).unwrap_err().to_string();
    assert!(err.contains("TRACEWELL_DATADIR"), "{err}");
    assert!(check_env(["TRACEWELL_LOG".to_string()].into_iter()).is_ok());
    let limits = [
        "TRACEWELL_MAX_CONCURRENT_QUERIES",
        "TRACEWELL_MAX_SPAN_FUTURE",
        "TRACEWELL_MAX_SPAN_AGE",
        "TRACEWELL_MAX_ROLLUP_SERIES",
        "TRACEWELL_TRACEQL_MAX_TRACES",
    ];
    assert!(check_env(limits.map(String::from).into_iter()).is_ok());
}

#[test]
fn auth_and_tls_files_come_from_flags_or_the_file() {
    let file =
        file("auth_tokens = 'tokens.toml'\ntls_cert = 'file.pem'\ntls_key = 'key.pem'").unwrap();
    let args = ServeArgs {
        tls_cert: Some("flag.pem".into()),
        tls_client_ca: Some("ca.pem".into()),
        ..Default::default()
    };
    let config = build(args, file).unwrap();
    assert_eq!(config.auth_tokens, Some(PathBuf::from("tokens.toml")));
    let tls = config.tls.unwrap();
    assert_eq!(tls.cert, PathBuf::from("flag.pem"));
    assert_eq!(tls.key, PathBuf::from("key.pem"));
    assert_eq!(tls.client_ca, Some(PathBuf::from("ca.pem")));
    let plain = build(ServeArgs::default(), FileConfig::default()).unwrap();
    assert!(plain.auth_tokens.is_none() && plain.tls.is_none());
}

#[test]
fn tls_files_are_refused_when_incomplete() {
    let cases = [
        (Some("c.pem"), None, None, "tls_key"),
        (None, Some("k.pem"), None, "tls_cert"),
        (None, None, Some("ca.pem"), "tls_client_ca"),
    ];
    for (cert, key, ca, named) in cases {
        let args = ServeArgs {
            tls_cert: cert.map(PathBuf::from),
            tls_key: key.map(PathBuf::from),
            tls_client_ca: ca.map(PathBuf::from),
            ..Default::default()
        };
        let err = build(args, FileConfig::default()).unwrap_err().to_string();
        assert!(err.contains(named), "{named}: {err}");
    }
}

#[test]
fn tenant_overrides_are_loaded_from_the_file_key_and_refused_naming_tenant_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("overrides.toml");
    std::fs::write(&path, "[tenants.shop]\nmax_spans_per_trace = 7\n").unwrap();
    let text = format!(
        "tenant_overrides = {:?}\ntenant_overrides_interval = '2s'",
        path.display().to_string()
    );
    let config = build(ServeArgs::default(), file(&text).unwrap()).unwrap();
    assert_eq!(config.tenant_overrides, Some(path.clone()));
    assert_eq!(config.tenant_overrides_interval, Duration::from_secs(2));
    assert_eq!(config.store.max_spans_per_trace_for("shop"), 7);
    assert_eq!(config.store.max_spans_per_trace_for("other"), 50_000);

    std::fs::write(&path, "[tenants.shop]\nmax_spans_per_trace = 0\n").unwrap();
    let error = build(ServeArgs::default(), file(&text).unwrap()).unwrap_err();
    assert!(
        error
            .to_string()
            .contains(r#"tenant "shop", max_spans_per_trace: must be greater than 0"#),
        "{error}"
    );
}
