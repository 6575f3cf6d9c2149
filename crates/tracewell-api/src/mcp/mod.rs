//! The Model Context Protocol endpoint for agents: `/mcp` on the query port, Streamable HTTP transport.
//!
//! - `POST /mcp` takes one JSON-RPC 2.0 message (or a batch) and answers with `application/json`. Methods:
//!   `initialize` (opens a session, answered with an `Mcp-Session-Id` header), `ping`, `tools/list`,
//!   `tools/call`; notifications (`notifications/initialized`, ...) are accepted with 202.
//! - `DELETE /mcp` ends a session; `GET /mcp` is 405 (the server sends no unsolicited messages).
//! - Tenancy is `X-Scope-OrgID`, as on every read API. Every tool is read-only (`tools.rs`).
//!
//! The transport is small and written here rather than taken from an SDK: it is four methods over one POST
//! handler, and the protocol's JSON shapes are checked by tests with the reference Python client.

mod tools;

use std::collections::VecDeque;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use parking_lot::Mutex;
use serde_json::{json, Value};

use crate::params::tenant;
use crate::ApiState;

/// Protocol revisions this server speaks, newest first.
const PROTOCOL_VERSIONS: &[&str] = &["2025-06-18", "2025-03-26", "2024-11-05"];
const SESSION_HEADER: &str = "mcp-session-id";
/// Sessions remembered at most; the oldest is forgotten first.
const MAX_SESSIONS: usize = 10_000;
/// Largest request body accepted.
const MAX_BODY: usize = 1 << 20;

/// Open MCP sessions.
#[derive(Debug, Default)]
pub struct Sessions {
    ids: Mutex<VecDeque<String>>,
}

impl Sessions {
    fn open(&self) -> String {
        let id = hex::encode(rand::random::<[u8; 16]>());
        let mut ids = self.ids.lock();
        if ids.len() >= MAX_SESSIONS {
            ids.pop_front();
        }
        ids.push_back(id.clone());
        id
    }

    fn known(&self, id: &str) -> bool {
        self.ids.lock().iter().any(|s| s == id)
    }

    fn close(&self, id: &str) -> bool {
        let mut ids = self.ids.lock();
        let before = ids.len();
        ids.retain(|s| s != id);
        ids.len() != before
    }
}

pub(crate) fn routes() -> Router<ApiState> {
    Router::new().route(
        "/mcp",
        post(handle).delete(end_session).get(|| async {
            (
                StatusCode::METHOD_NOT_ALLOWED,
                "this server sends no unsolicited messages; POST requests",
            )
        }),
    )
}

fn rpc_error(id: Value, code: i64, message: impl Into<String>) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message.into()}})
}

fn http_error(status: StatusCode, message: &str) -> Response {
    (status, Json(rpc_error(Value::Null, -32600, message))).into_response()
}

async fn end_session(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    match headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()) {
        Some(id) if state.mcp.close(id) => StatusCode::OK.into_response(),
        Some(_) => http_error(StatusCode::NOT_FOUND, "unknown session"),
        None => http_error(StatusCode::BAD_REQUEST, "Mcp-Session-Id header missing"),
    }
}

async fn handle(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if body.len() > MAX_BODY {
        return http_error(StatusCode::PAYLOAD_TOO_LARGE, "request larger than 1 MiB");
    }
    let tenant = match tenant(&headers, &state.allowed_tenants) {
        Ok(t) => t,
        Err(e) => return http_error(e.status(), &e.to_string()),
    };
    let message: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(rpc_error(Value::Null, -32700, format!("parse error: {e}"))),
            )
                .into_response()
        }
    };
    let session = headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok());
    let messages = match &message {
        Value::Array(list) if !list.is_empty() => list.clone(),
        Value::Array(_) => return http_error(StatusCode::BAD_REQUEST, "empty batch"),
        one => vec![one.clone()],
    };
    let initializing = messages.iter().any(|m| m["method"] == "initialize");
    if !initializing {
        match session {
            None => {
                return http_error(
                    StatusCode::BAD_REQUEST,
                    "Mcp-Session-Id header missing; initialize first",
                )
            }
            Some(id) if !state.mcp.known(id) => {
                return http_error(
                    StatusCode::NOT_FOUND,
                    "unknown or ended session; initialize again",
                )
            }
            Some(_) => {}
        }
    }
    let mut new_session = None;
    let mut replies = Vec::new();
    for m in messages {
        let id = m.get("id").cloned();
        let method = m
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if m.get("jsonrpc") != Some(&json!("2.0")) || method.is_empty() {
            // Responses from the client (we send no requests) and malformed messages.
            if let Some(id) = id.filter(|_| m.get("result").is_none() && m.get("error").is_none()) {
                replies.push(rpc_error(id, -32600, "not a JSON-RPC 2.0 request"));
            }
            continue;
        }
        let Some(id) = id else {
            continue; // a notification
        };
        let params = m.get("params").cloned().unwrap_or(Value::Null);
        let reply = match method.as_str() {
            "initialize" => {
                new_session = Some(state.mcp.open());
                let asked = params["protocolVersion"].as_str().unwrap_or_default();
                let version = PROTOCOL_VERSIONS
                    .iter()
                    .find(|v| **v == asked)
                    .unwrap_or(&PROTOCOL_VERSIONS[0]);
                json!({"jsonrpc": "2.0", "id": id, "result": {
                    "protocolVersion": version,
                    "capabilities": {"tools": {"listChanged": false}},
                    "serverInfo": {"name": "tracewell", "title": "Tracewell", "version": env!("CARGO_PKG_VERSION")},
                    "instructions": tools::INSTRUCTIONS,
                }})
            }
            "ping" => json!({"jsonrpc": "2.0", "id": id, "result": {}}),
            "tools/list" => json!({"jsonrpc": "2.0", "id": id, "result": {"tools": tools::list()}}),
            "tools/call" => {
                let name = params["name"].as_str().unwrap_or_default();
                let args = params.get("arguments").cloned().unwrap_or(json!({}));
                match tools::call(&state, &tenant, name, &args).await {
                    Some(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
                    None => rpc_error(id, -32602, format!("unknown tool {name:?}")),
                }
            }
            other => rpc_error(id, -32601, format!("method {other:?} not found")),
        };
        replies.push(reply);
    }
    let mut response = if replies.is_empty() {
        StatusCode::ACCEPTED.into_response()
    } else if message.is_array() {
        Json(Value::Array(replies)).into_response()
    } else {
        Json(replies.remove(0)).into_response()
    };
    if let Some(id) = new_session.and_then(|id| HeaderValue::from_str(&id).ok()) {
        response.headers_mut().insert(SESSION_HEADER, id);
    }
    response
}
