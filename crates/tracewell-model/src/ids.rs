//! Trace, span and tenant identifiers: fixed-size ids with hex parsing and formatting, and validated tenant names.

use std::fmt;
use std::str::FromStr;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{what} must be {hex_len} hex characters, got {got}")]
    Length {
        what: &'static str,
        hex_len: usize,
        got: usize,
    },
    #[error("{what} is not hexadecimal")]
    NotHex { what: &'static str },
    #[error("{what} must not be all zeros")]
    Zero { what: &'static str },
    #[error("tenant id must be 1-{max} characters of A-Z a-z 0-9 _ - . and not '.' or '..', got {0:?}", max = TenantId::MAX_LEN)]
    Tenant(String),
}

macro_rules! fixed_id {
    ($name:ident, $len:expr, $what:expr) => {
        #[doc = concat!("A ", $what, " of ", stringify!($len), " bytes.")]
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            pub const LEN: usize = $len;

            /// Reads an id from raw bytes; `None` when the length is wrong.
            pub fn from_slice(bytes: &[u8]) -> Option<Self> {
                <[u8; $len]>::try_from(bytes).ok().map(Self)
            }

            /// Parses case-insensitive hex of exactly `2 * LEN` characters.
            pub fn from_hex(s: &str) -> Result<Self, IdError> {
                if s.len() != $len * 2 {
                    return Err(IdError::Length {
                        what: $what,
                        hex_len: $len * 2,
                        got: s.len(),
                    });
                }
                let mut out = [0u8; $len];
                hex::decode_to_slice(s, &mut out).map_err(|_| IdError::NotHex { what: $what })?;
                Ok(Self(out))
            }

            pub fn is_zero(&self) -> bool {
                self.0.iter().all(|b| *b == 0)
            }

            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            /// Lowercase hex.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                for b in self.0 {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::from_hex(s)
            }
        }
    };
}

fixed_id!(TraceId, 16, "trace id");
fixed_id!(SpanId, 8, "span id");

impl TraceId {
    /// Parses a trace id as read APIs accept it: 32 hex characters, or 16 (a 64-bit id, left-padded with zeros as
    /// Zipkin and Jaeger clients send them). All-zero ids are refused.
    pub fn parse_lenient(s: &str) -> Result<Self, IdError> {
        let id = if s.len() == 16 {
            let mut padded = String::with_capacity(32);
            padded.push_str("0000000000000000");
            padded.push_str(s);
            Self::from_hex(&padded).map_err(|_| IdError::NotHex { what: "trace id" })?
        } else {
            Self::from_hex(s)?
        };
        if id.is_zero() {
            return Err(IdError::Zero { what: "trace id" });
        }
        Ok(id)
    }
}

/// Why a request's tenant was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantError {
    /// The header is not a valid tenant id.
    #[error("invalid X-Scope-OrgID: {0}")]
    Invalid(String),
    /// A valid id, but not one of the configured tenants.
    #[error("unknown tenant {:?}", .0.as_str())]
    NotAllowed(TenantId),
}

/// The tenant a request writes to or reads from (`X-Scope-OrgID`). Tenant ids become path segments, so they are
/// restricted to a safe alphabet.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct TenantId(String);

impl TenantId {
    pub const MAX_LEN: usize = 64;
    /// The tenant used when a request names none.
    pub const DEFAULT: &'static str = "single-tenant";

    pub fn new(s: &str) -> Result<Self, IdError> {
        let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
        if s.is_empty()
            || s.len() > Self::MAX_LEN
            || s == "."
            || s == ".."
            || !s.chars().all(ok_char)
        {
            return Err(IdError::Tenant(s.chars().take(80).collect()));
        }
        Ok(Self(s.to_owned()))
    }

    /// Header (and gRPC metadata key) naming a request's tenant.
    pub const HEADER: &'static str = "x-scope-orgid";

    /// The tenant of a request from its optional `X-Scope-OrgID` value: absent means the default tenant, and
    /// `allowed` (when not empty) lists the tenants that may read and write.
    pub fn from_header(value: Option<&[u8]>, allowed: &[String]) -> Result<Self, TenantError> {
        let tenant = match value {
            None => Self::default_tenant(),
            Some(raw) => {
                let text = std::str::from_utf8(raw)
                    .map_err(|_| TenantError::Invalid("not UTF-8".into()))?;
                Self::new(text.trim()).map_err(|e| TenantError::Invalid(e.to_string()))?
            }
        };
        if !allowed.is_empty() && !allowed.iter().any(|t| t == tenant.as_str()) {
            return Err(TenantError::NotAllowed(tenant));
        }
        Ok(tenant)
    }

    pub fn default_tenant() -> Self {
        Self(Self::DEFAULT.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_parse_from_hex_of_either_case() {
        let upper = TraceId::from_hex("5B8EFFF798038103D269B633813FC60C").unwrap();
        let lower = TraceId::from_hex("5b8efff798038103d269b633813fc60c").unwrap();
        assert_eq!(upper, lower);
        assert_eq!(upper.to_string(), "5b8efff798038103d269b633813fc60c");
    }

    #[test]
    fn malformed_trace_ids_are_refused_with_a_reason() {
        let cases = [
            ("", "must be 32 hex"),
            ("abc", "must be 32 hex"),
            ("zz8efff798038103d269b633813fc60c", "not hexadecimal"),
            ("00000000000000000000000000000000", "all zeros"),
        ];
        for (input, reason) in cases {
            let err = TraceId::parse_lenient(input).unwrap_err().to_string();
            assert!(err.contains(reason), "{input:?}: {err}");
        }
    }

    #[test]
    fn sixty_four_bit_trace_ids_are_left_padded() {
        let id = TraceId::parse_lenient("978883983d506fa5").unwrap();
        assert_eq!(id.to_string(), "0000000000000000978883983d506fa5");
    }

    #[test]
    fn tenant_ids_are_restricted_to_a_path_safe_alphabet() {
        for ok in ["single-tenant", "team_a", "org.42"] {
            assert!(TenantId::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a b", "ü", &"x".repeat(65)] {
            assert!(TenantId::new(bad).is_err(), "{bad}");
        }
    }
}
