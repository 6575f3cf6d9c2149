//! Duration literals: parsing `250ms`, `1.5s`, `1h30m`, `2d` into nanoseconds
//! and printing nanoseconds back in the shortest compound form.
//!
//! TraceQL accepts both Go-style durations (`ns`, `us`/`µs`, `ms`, `s`, `m`,
//! `h`, with fractions) and Prometheus-style ones (`d`, `w`, `y`); Tracewell
//! accepts any sequence of `<number><unit>` pairs over the union of the units.

const NANOS_PER_SECOND: i128 = 1_000_000_000;

/// Units, longest spelling first so that `ms` wins over `m`.
const UNITS: &[(&str, i128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", NANOS_PER_SECOND),
    ("m", 60 * NANOS_PER_SECOND),
    ("h", 3_600 * NANOS_PER_SECOND),
    ("d", 86_400 * NANOS_PER_SECOND),
    ("w", 7 * 86_400 * NANOS_PER_SECOND),
    ("y", 365 * 86_400 * NANOS_PER_SECOND),
];

/// Why a duration literal is not valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DurationError {
    /// Not of the form `<number><unit>...`.
    Malformed,
    /// Does not fit in 64 bits of nanoseconds.
    OutOfRange,
}

/// Parses a duration literal into nanoseconds.
pub(crate) fn parse_duration(text: &str) -> Result<i64, DurationError> {
    let mut rest = text;
    let mut total: i128 = 0;
    if rest.is_empty() {
        return Err(DurationError::Malformed);
    }
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after_int) = rest.split_at(int_len);
        let (frac_part, after_number) = match after_int.strip_prefix('.') {
            Some(after_dot) => {
                let frac_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
                after_dot.split_at(frac_len)
            }
            None => ("", after_int),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(DurationError::Malformed);
        }
        let (unit, scale) = UNITS
            .iter()
            .find(|(unit, _)| after_number.starts_with(unit))
            .ok_or(DurationError::Malformed)?;
        rest = &after_number[unit.len()..];

        let whole: i128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| DurationError::OutOfRange)?
        };
        let mut part = whole.checked_mul(*scale).ok_or(DurationError::OutOfRange)?;
        // Fractions beyond nanosecond precision are dropped.
        let mut divisor: i128 = 1;
        let mut fraction: i128 = 0;
        for digit in frac_part.bytes().take(18) {
            fraction = fraction * 10 + i128::from(digit - b'0');
            divisor *= 10;
        }
        part += fraction * scale / divisor;
        total = total.checked_add(part).ok_or(DurationError::OutOfRange)?;
        if total > i128::from(i64::MAX) {
            return Err(DurationError::OutOfRange);
        }
    }
    i64::try_from(total).map_err(|_| DurationError::OutOfRange)
}

/// Prints nanoseconds as a duration literal that parses back to the same
/// value, e.g. `1h30m`, `1s500ms`, `-5s`, `0s`.
pub(crate) fn format_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    if nanos < 0 {
        out.push('-');
    }
    let mut rest = i128::from(nanos).abs();
    const PARTS: &[(&str, i128)] = &[
        ("h", 3_600 * NANOS_PER_SECOND),
        ("m", 60 * NANOS_PER_SECOND),
        ("s", NANOS_PER_SECOND),
        ("ms", 1_000_000),
        ("us", 1_000),
        ("ns", 1),
    ];
    for (unit, scale) in PARTS {
        let count = rest / scale;
        if count > 0 {
            out.push_str(&count.to_string());
            out.push_str(unit);
            rest -= count * scale;
        }
    }
    out
}

/// Nanoseconds as seconds, the unit of duration-valued metrics.
pub(crate) fn nanos_to_seconds(nanos: i64) -> f64 {
    nanos as f64 / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_and_prometheus_units() {
        assert_eq!(parse_duration("250ms"), Ok(250_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration("10ns"), Ok(10));
        assert_eq!(parse_duration("3us"), Ok(3_000));
        assert_eq!(parse_duration("3µs"), Ok(3_000));
        assert_eq!(parse_duration("2d"), Ok(172_800_000_000_000));
        assert_eq!(parse_duration("1w"), Ok(604_800_000_000_000));
        assert_eq!(parse_duration(".5s"), Ok(500_000_000));
    }

    #[test]
    fn rejects_malformed_and_huge() {
        assert_eq!(parse_duration(""), Err(DurationError::Malformed));
        assert_eq!(parse_duration("5"), Err(DurationError::Malformed));
        assert_eq!(parse_duration("1m5"), Err(DurationError::Malformed));
        assert_eq!(parse_duration("s"), Err(DurationError::Malformed));
        assert_eq!(parse_duration("."), Err(DurationError::Malformed));
        assert_eq!(
            parse_duration("99999999999999999999999h"),
            Err(DurationError::OutOfRange)
        );
        assert_eq!(parse_duration("300y"), Err(DurationError::OutOfRange));
    }

    #[test]
    fn formats_round_trip() {
        for nanos in [
            1,
            999,
            1_000,
            1_500_000_000,
            5_400_000_000_000,
            -5_000_000_000,
            i64::MAX,
            i64::MIN + 1,
        ] {
            let text = format_duration(nanos);
            let parsed = match text.strip_prefix('-') {
                Some(abs) => parse_duration(abs).map(|n| -n),
                None => parse_duration(&text),
            };
            assert_eq!(parsed, Ok(nanos), "{text}");
        }
        assert_eq!(format_duration(5_400_000_000_000), "1h30m");
        assert_eq!(format_duration(0), "0s");
    }
}
