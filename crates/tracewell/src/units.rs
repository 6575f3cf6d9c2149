//! Human units in configuration: durations (`500ms`, `30s`, `5m`, `2h`, `7d`) and sizes (`512`, `64KiB`,
//! `16MiB`, `1GiB`, also `KB`/`MB`/`GB` as powers of 1000).

pub use tracewell_model::{parse_duration, parse_size};

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
