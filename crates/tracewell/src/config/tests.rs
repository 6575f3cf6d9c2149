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
}
