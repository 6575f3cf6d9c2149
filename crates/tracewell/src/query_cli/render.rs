//! Human output of `tracewell query`: aligned tables and an indented span tree.

use std::collections::HashMap;
use std::fmt::Write;

use serde_json::Value;

/// Left-aligned columns separated by two spaces.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

/// Nanoseconds as a short human duration.
pub fn duration(nanos: f64) -> String {
    match nanos {
        n if n >= 1e9 => format!("{:.2}s", n / 1e9),
        n if n >= 1e6 => format!("{:.2}ms", n / 1e6),
        n if n >= 1e3 => format!("{:.1}µs", n / 1e3),
        n => format!("{n:.0}ns"),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn list(values: &Value) -> String {
    values
        .as_array()
        .map(|a| a.iter().map(|v| format!("{}\n", text(v))).collect())
        .unwrap_or_default()
}

pub fn search_table(answer: &Value) -> String {
    let traces = answer["traces"].as_array().cloned().unwrap_or_default();
    if traces.is_empty() {
        return "no traces match\n".into();
    }
    let rows: Vec<Vec<String>> = traces
        .iter()
        .map(|t| {
            let root = match (t["rootService"].as_str(), t["rootOperation"].as_str()) {
                (Some(s), Some(o)) => format!("{s}: {o}"),
                _ => "(root span not received)".into(),
            };
            let start: u64 = t["startTimeUnixNano"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            vec![
                text(&t["traceId"]),
                tracewell_model::format_rfc3339(start / 1_000_000 * 1_000_000),
                duration(t["durationNano"].as_f64().unwrap_or(0.0)),
                text(&t["spanCount"]),
                text(&t["errorCount"]),
                root,
            ]
        })
        .collect();
    let mut out = table(
        &["TRACE ID", "START", "DURATION", "SPANS", "ERRORS", "ROOT"],
        &rows,
    );
    if answer["limitHit"].as_bool() == Some(true) {
        out.push_str("(more traces match; raise --limit or narrow the search)\n");
    }
    out
}

/// TraceQL results: the search table, then per trace its span sets' spans.
pub fn traceql_table(answer: &Value) -> String {
    let mut out = search_table(answer);
    for t in answer["traces"].as_array().into_iter().flatten() {
        for set in t["spanSets"].as_array().into_iter().flatten() {
            let groups: Vec<String> = set["attributes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| format!("{}={}", text(&a["key"]), a["value"]))
                .collect();
            out.push_str(&format!(
                "{}: {} span(s) matched{}\n",
                text(&t["traceId"]),
                text(&set["matched"]),
                if groups.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", groups.join(", "))
                }
            ));
            for s in set["spans"].as_array().into_iter().flatten() {
                out.push_str(&format!(
                    "  {} {}: {} {}\n",
                    text(&s["spanId"]),
                    text(&s["service"]),
                    text(&s["name"]),
                    duration(s["durationNano"].as_f64().unwrap_or(0.0)),
                ));
            }
        }
    }
    if let Some(cut) = answer["cut"].as_str() {
        out.push_str(&format!("({cut})\n"));
    }
    out
}

pub fn sql_table(answer: &Value) -> String {
    let header: Vec<String> = answer["columns"]
        .as_array()
        .map(|c| c.iter().map(|c| text(&c["name"])).collect())
        .unwrap_or_default();
    let rows: Vec<Vec<String>> = answer["rows"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    r.as_array()
                        .map(|r| r.iter().map(text).collect())
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut out = table(&header, &rows);
    let _ = writeln!(out, "({} rows)", rows.len());
    if answer["truncated"].as_bool() == Some(true) {
        out.push_str("(result cut at the server's row limit; add LIMIT or aggregate)\n");
    }
    out
}

/// One span of an OTLP JSON trace, for the tree.
struct Node {
    id: String,
    parent: String,
    service: String,
    name: String,
    start: u64,
    end: u64,
    error: bool,
}

fn nodes(answer: &Value) -> Vec<Node> {
    let mut out = Vec::new();
    for rs in answer["resourceSpans"].as_array().into_iter().flatten() {
        let service = rs["resource"]["attributes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["key"] == "service.name")
            .map(|a| text(&a["value"]["stringValue"]))
            .unwrap_or_default();
        for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
            for s in ss["spans"].as_array().into_iter().flatten() {
                let num = |k: &str| text(&s[k]).parse::<u64>().unwrap_or(0);
                out.push(Node {
                    id: text(&s["spanId"]),
                    parent: text(&s["parentSpanId"]),
                    service: service.clone(),
                    name: text(&s["name"]),
                    start: num("startTimeUnixNano"),
                    end: num("endTimeUnixNano"),
                    error: s["status"]["code"].as_i64() == Some(2),
                });
            }
        }
    }
    out.sort_by_key(|n| n.start);
    out
}

pub fn trace_tree(answer: &Value) -> String {
    let spans = nodes(answer);
    let Some(t0) = spans.iter().map(|s| s.start).min() else {
        return "trace has no spans\n".into();
    };
    let ids: std::collections::HashSet<&str> = spans.iter().map(|s| s.id.as_str()).collect();
    let mut children: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        if s.parent.is_empty() || !ids.contains(s.parent.as_str()) {
            roots.push(i);
        } else {
            children.entry(s.parent.as_str()).or_default().push(i);
        }
    }
    let mut rows = Vec::new();
    let mut stack: Vec<(usize, usize)> = roots.into_iter().rev().map(|i| (i, 0)).collect();
    while let Some((i, depth)) = stack.pop() {
        let s = &spans[i];
        rows.push(vec![
            format!(
                "{}{}{}",
                "  ".repeat(depth),
                s.name,
                if s.error { " !" } else { "" }
            ),
            s.service.clone(),
            format!("+{}", duration((s.start - t0) as f64)),
            duration(s.end.saturating_sub(s.start) as f64),
            s.id.clone(),
        ]);
        if let Some(kids) = children.get(s.id.as_str()) {
            stack.extend(kids.iter().rev().map(|&k| (k, depth + 1)));
        }
    }
    let mut out = table(&["SPAN", "SERVICE", "OFFSET", "DURATION", "SPAN ID"], &rows);
    let _ = writeln!(out, "({} spans; ! marks errors)", spans.len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_durations_read_well() {
        let t = table(&["A", "BB"], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(t, "A    BB\nxyz  1\n");
        assert_eq!(duration(1_500_000.0), "1.50ms");
        assert_eq!(duration(2.5e9), "2.50s");
    }
}
