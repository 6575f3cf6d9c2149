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

/// Formats a duration for people in at most its two largest units (`7d`, `1d12h`, `1h30m`, `15m`, `2s`,
/// `250ms`); smaller parts are left out, so the text reads back through [`parse_duration`] as at most the duration.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return match d.subsec_millis() {
            0 if d.subsec_nanos() == 0 => "0s".to_owned(),
            0 => format!("{}ns", d.subsec_nanos()),
            ms => format!("{ms}ms"),
        };
    }
    const UNITS: [(u64, &str); 4] = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];
    let Some(first) = UNITS.iter().position(|(n, _)| secs >= *n) else {
        return format!("{secs}s");
    };
    let (n, unit) = UNITS[first];
    let mut out = format!("{}{unit}", secs / n);
    if let Some((next, next_unit)) = UNITS.get(first + 1) {
        let rest = secs % n / next;
        if rest > 0 {
            out.push_str(&format!("{rest}{next_unit}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_format_in_their_two_largest_units() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(5), "5ns"),
            (Duration::from_millis(250), "250ms"),
            (Duration::from_millis(2500), "2s"),
            (Duration::from_secs(15 * 60), "15m"),
            (Duration::from_secs(5400), "1h30m"),
            (Duration::from_secs(7 * 86400), "7d"),
            (Duration::from_secs(36 * 3600 + 59), "1d12h"),
            (Duration::from_secs(3 * 3600 + 5), "3h"),
        ];
        for (d, want) in cases {
            assert_eq!(format_duration(d), want, "{d:?}");
            assert!(parse_duration(want).unwrap() <= d, "{want}");
        }
    }

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
