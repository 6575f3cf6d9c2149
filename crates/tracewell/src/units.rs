//! Human units in configuration: durations (`500ms`, `30s`, `5m`, `2h`, `7d`) and sizes (`512`, `64KiB`,
//! `16MiB`, `1GiB`, also `KB`/`MB`/`GB` as powers of 1000).

pub use tracewell_model::parse_duration;

/// Parses a byte size: a plain number of bytes or a number with a unit.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let value: u64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a size like 1048576, 64KiB, 16MiB or 1GiB"))?;
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        other => {
            return Err(format!(
                "{s:?} has an unknown unit {other:?}; use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB"
            ))
        }
    };
    value
        .checked_mul(multiplier)
        .ok_or_else(|| format!("{s:?} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_every_unit_and_refuse_garbage() {
        let ok = [
            ("500ms", 0.5),
            ("30s", 30.0),
            ("5m", 300.0),
            ("2h", 7200.0),
            ("7d", 604800.0),
            ("1.5s", 1.5),
        ];
        for (input, secs) in ok {
            assert_eq!(
                parse_duration(input).unwrap().as_secs_f64(),
                secs,
                "{input}"
            );
        }
        for bad in ["", "10", "ten s", "5 fortnights", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes_parse_with_binary_and_decimal_units() {
        let ok = [
            ("512", 512),
            ("64KiB", 65536),
            ("16MiB", 16 << 20),
            ("1GiB", 1 << 30),
            ("2MB", 2_000_000),
        ];
        for (input, bytes) in ok {
            assert_eq!(parse_size(input).unwrap(), bytes, "{input}");
        }
        for bad in ["", "MiB", "12 parsecs", "99999999999TiB", "-5"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
