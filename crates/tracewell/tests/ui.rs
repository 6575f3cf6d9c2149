//! The embedded web UI against a running server: the bundle and the UI's own routes are served from the
//! binary, API paths never fall through to it, and large compact traces are gzipped on request.
//! `ui_in_a_real_browser` drives Chromium through every page with `ui/e2e/run.mjs`;
//! `ui_asks_for_a_token_when_the_server_requires_one` runs `ui/e2e/auth.mjs` against a server with `--auth-tokens`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Server;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[tokio::test]
async fn bundle_and_ui_routes_are_served_from_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let http = reqwest::Client::new();

    let index = std::fs::read_to_string(repo_root().join("ui/dist/index.html")).unwrap();
    for path in [
        "/",
        "/search?service=x",
        "/trace/4bf92f3577b34da6a3ce929d0e0e4736",
        "/map",
    ] {
        let r = http.get(server.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
        assert_eq!(r.headers()["cache-control"], "no-cache");
        assert_eq!(r.text().await.unwrap(), index, "{path} serves index.html");
    }

    let asset = std::fs::read_dir(repo_root().join("ui/dist/assets"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.ends_with(".js"))
        .expect("a built script");
    let r = http
        .get(server.url(&format!("/assets/{asset}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert!(r.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    let expected = std::fs::read(repo_root().join("ui/dist/assets").join(&asset)).unwrap();
    assert_eq!(r.bytes().await.unwrap().to_vec(), expected);

    let r = http
        .get(server.url("/assets/missing-0000.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = http
        .get(server.url("/api/v1/no-such-endpoint"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("/api/v1/no-such-endpoint"));
    let r = http.post(server.url("/trace/x")).send().await.unwrap();
    assert_eq!(r.status(), 405);
}

#[tokio::test]
async fn large_compact_traces_are_gzipped_when_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let trace = "00112233445566778899aabbccddeeff";
    let spans: Vec<serde_json::Value> = (1..=1500u32)
        .map(|i| {
            serde_json::json!({
                "traceId": trace, "spanId": format!("{i:016x}"),
                "parentSpanId": if i == 1 { String::new() } else { format!("{:016x}", i / 2) },
                "name": format!("operation {}", i % 7), "kind": 2,
                "startTimeUnixNano": (1_700_000_000_000_000_000u64 + u64::from(i) * 1000).to_string(),
                "endTimeUnixNano": (1_700_000_000_000_000_000u64 + u64::from(i) * 2000).to_string()
            })
        })
        .collect();
    let body = serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "big"}}]},
        "scopeSpans": [{"spans": spans}]
    }]});
    let http = reqwest::Client::builder().no_gzip().build().unwrap();
    let r = http
        .post(server.otlp_http_url())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let url = server.url(&format!("/api/v1/traces/{trace}?format=compact"));
    let plain = http.get(&url).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.bytes().await.unwrap();
    assert!(plain.len() > 32 * 1024, "{} bytes", plain.len());

    let zipped = http
        .get(&url)
        .header("accept-encoding", "br;q=1, gzip;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    let zipped = zipped.bytes().await.unwrap();
    assert!(
        zipped.len() * 4 < plain.len(),
        "{} vs {}",
        zipped.len(),
        plain.len()
    );
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&zipped[..]),
        &mut unzipped,
    )
    .unwrap();
    assert_eq!(unzipped, plain.to_vec());

    let refused = http
        .get(&url)
        .header("accept-encoding", "gzip;q=0")
        .send()
        .await
        .unwrap();
    assert!(refused.headers().get("content-encoding").is_none());
}

/// Checks that Node and Chromium are there and `ui/node_modules` is installed (`npm ci` when it is missing);
/// returns the Chromium path.
fn browser_prerequisites() -> String {
    let ui = repo_root().join("ui");
    let node_ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        node_ok,
        "Node.js is required for the browser test (apt-get install nodejs npm)"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "Chromium is required for the browser test: apt-get install chromium (or set CHROMIUM)"
    );
    if !ui.join("node_modules/playwright-core").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&ui)
            .status()
            .expect("run npm ci");
        assert!(status.success(), "npm ci in ui/ failed");
    }
    chromium
}

/// Runs a browser script of `ui/e2e/` against `server` with extra arguments; fails with its output.
async fn run_browser_script(script: &str, server: &Server, extra: &[&str]) {
    let chromium = browser_prerequisites();
    let output = tokio::process::Command::new("node")
        .arg(script)
        .arg("--base")
        .arg(format!("http://{}", server.http))
        .arg("--otlp")
        .arg(format!("http://{}", server.otlp_http))
        .args(extra)
        .env("CHROMIUM", &chromium)
        .current_dir(repo_root().join("ui"))
        .output()
        .await
        .expect("run the browser test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "browser checks failed:\n{stdout}\n{stderr}"
    );
}

/// Runs `ui/e2e/run.mjs` (Node with `playwright-core`, Debian's `chromium`) against a fresh server:
/// search, trace page, span panel, links, service map, RED panel and SQL console. Screenshots land in
/// `target/ui-screenshots/`. `npm ci` runs first when `ui/node_modules` is missing.
#[tokio::test]
async fn ui_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    run_browser_script("e2e/run.mjs", &server, &[]).await;
}

/// Runs `ui/e2e/auth.mjs` against a server started with `--auth-tokens`: the UI asks for a token on the first
/// 401, refuses a wrong one with the server's message, and shows the tenant's traces with a read token.
#[tokio::test]
async fn ui_asks_for_a_token_when_the_server_requires_one() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.toml");
    std::fs::write(
        &tokens,
        r#"
[[token]]
name = "ui-ingest"
token = "ui-write-token-0123456789"
tenant = "web"
scopes = ["write"]

[[token]]
name = "ui-reader"
token = "ui-read-token-0123456789"
tenant = "web"
scopes = ["read"]
"#,
    )
    .unwrap();
    let server = Server::start(
        &dir.path().join("data"),
        &["--auth-tokens", tokens.to_str().unwrap()],
    )
    .await;
    run_browser_script(
        "e2e/auth.mjs",
        &server,
        &[
            "--write-token",
            "ui-write-token-0123456789",
            "--read-token",
            "ui-read-token-0123456789",
        ],
    )
    .await;
}
