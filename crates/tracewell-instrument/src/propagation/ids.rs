//! Hexadecimal trace and span ids as the propagation formats write them: digit validation, parsing
//! and the optional whitespace HTTP allows around header values.

/// Spaces and horizontal tabs: the optional whitespace (RFC 9110 `OWS`) around header values.
pub(crate) const OWS: [char; 2] = [' ', '\t'];

/// Which hexadecimal digits a format accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HexCase {
    /// `0-9a-f` only (W3C Trace Context, B3).
    Lower,
    /// `0-9a-f` and `A-F` (Jaeger, whose clients parse ids case-insensitively).
    Any,
}

/// Parses 1 to 32 hexadecimal digits; `None` for no digits, more than 32 or a digit outside `case`.
pub(crate) fn parse_hex(digits: &[u8], case: HexCase) -> Option<u128> {
    if digits.is_empty() || digits.len() > 32 {
        return None;
    }
    digits.iter().try_fold(0u128, |value, &digit| {
        let nibble = match digit {
            b'0'..=b'9' => digit - b'0',
            b'a'..=b'f' => digit - b'a' + 10,
            b'A'..=b'F' if case == HexCase::Any => digit - b'A' + 10,
            _ => return None,
        };
        Some((value << 4) | u128::from(nibble))
    })
}

/// Parses 1 to 16 hexadecimal digits into a 64-bit value.
pub(crate) fn parse_hex_u64(digits: &[u8], case: HexCase) -> Option<u64> {
    if digits.len() > 16 {
        return None;
    }
    parse_hex(digits, case).and_then(|value| u64::try_from(value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lowercase_digits() {
        assert_eq!(parse_hex(b"0", HexCase::Lower), Some(0));
        assert_eq!(parse_hex(b"ff", HexCase::Lower), Some(255));
        assert_eq!(
            parse_hex(b"ffffffffffffffffffffffffffffffff", HexCase::Lower),
            Some(u128::MAX)
        );
        assert_eq!(
            parse_hex(b"0123456789abcdef", HexCase::Lower),
            Some(0x0123_4567_89ab_cdef)
        );
    }

    #[test]
    fn rejects_bad_digits_and_lengths() {
        assert_eq!(parse_hex(b"", HexCase::Any), None);
        assert_eq!(parse_hex(&[b'1'; 33], HexCase::Any), None);
        assert_eq!(parse_hex(b"AB", HexCase::Lower), None);
        assert_eq!(parse_hex(b"AB", HexCase::Any), Some(0xab));
        assert_eq!(parse_hex(b"g1", HexCase::Any), None);
        assert_eq!(parse_hex(b"-1", HexCase::Any), None);
        assert_eq!(parse_hex(" 1".as_bytes(), HexCase::Any), None);
    }

    #[test]
    fn u64_ids_take_at_most_16_digits() {
        assert_eq!(
            parse_hex_u64(b"ffffffffffffffff", HexCase::Lower),
            Some(u64::MAX)
        );
        assert_eq!(parse_hex_u64(b"0ffffffffffffffff", HexCase::Lower), None);
        assert_eq!(parse_hex_u64(b"1", HexCase::Lower), Some(1));
    }
}
