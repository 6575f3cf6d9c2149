//! Durations as people and other tracing systems write them: Go style (`1h30m`, `1.5s`, `250ms`, `10us`, `10µs`,
//! `5ns`) plus days (`7d`). Used by configuration, query parameters and the CLI.

use std::time::Duration;

/// Parses a duration: one or more `<number><unit>` parts, units `ns`, `us`/`µs`, `ms`, `s`, `m`, `h`, `d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    let usage = || format!("{s:?} is not a duration like 250ms, 1.5s, 5m, 1h30m or 7d");
    if s.is_empty() {
        return Err(usage());
    }
    let mut rest = s;
    let mut total_nanos: f64 = 0.0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        if number_len == 0 {
            return Err(usage());
        }
        let value: f64 = rest[..number_len].parse().map_err(|_| usage())?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos_per_unit = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "d" => 86_400e9,
            "" => return Err(format!("{s:?} needs a unit: ns, us, ms, s, m, h or d")),
            other => {
                return Err(format!(
                    "{s:?} has an unknown unit {other:?}; use ns, us, ms, s, m, h or d"
                ))
            }
        };
        rest = &rest[unit_len..];
        total_nanos += value * nanos_per_unit;
    }
    if !total_nanos.is_finite() || total_nanos > u64::MAX as f64 {
        return Err(format!("{s:?} is out of range"));
    }
    Ok(Duration::from_nanos(total_nanos.round() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_style_and_day_durations() {
        let ok = [
            ("250ms", Duration::from_millis(250)),
            ("1.5s", Duration::from_millis(1500)),
            ("1h30m", Duration::from_secs(5400)),
            ("10us", Duration::from_micros(10)),
            ("10µs", Duration::from_micros(10)),
            ("5ns", Duration::from_nanos(5)),
            ("7d", Duration::from_secs(7 * 86400)),
            (" 2m ", Duration::from_secs(120)),
        ];
        for (text, want) in ok {
            assert_eq!(parse_duration(text), Ok(want), "{text}");
        }
        for bad in ["", "5", "abc", "5x", "ms", "1e400s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
