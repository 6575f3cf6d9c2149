//! The tenant of a request, from the `X-Scope-OrgID` header (HTTP) or metadata (gRPC).

use tracewell_model::{TenantError, TenantId};

use crate::error::IngestError;

/// Header (and gRPC metadata key) naming the tenant.
pub const TENANT_HEADER: &str = TenantId::HEADER;

/// Reads the tenant from an optional header value; absent means the default tenant. `allowed` (when not empty)
/// lists the tenants that may write.
pub fn tenant_from_header(
    value: Option<&[u8]>,
    allowed: &[String],
) -> Result<TenantId, IngestError> {
    TenantId::from_header(value, allowed).map_err(|error| match error {
        TenantError::Invalid(reason) => IngestError::BadTenant(reason),
        TenantError::NotAllowed(tenant) => IngestError::UnknownTenant(tenant.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_header_cases() {
        let allowed = vec!["acme".to_string()];
        type Case<'a> = (Option<&'a [u8]>, &'a [String], Result<&'a str, &'a str>);
        let cases: [Case; 6] = [
            (None, &[], Ok("single-tenant")),
            (Some(b"acme"), &[], Ok("acme")),
            (Some(b" acme "), &[], Ok("acme")),
            (Some(b"a/b"), &[], Err("tenant id")),
            (Some(b"other"), &allowed, Err("unknown tenant")),
            (Some(b"acme"), &allowed, Ok("acme")),
        ];
        for (value, allowed, expected) in cases {
            match (tenant_from_header(value, allowed), expected) {
                (Ok(t), Ok(want)) => assert_eq!(t.as_str(), want),
                (Err(e), Err(want)) => assert!(e.to_string().contains(want), "{e}"),
                (got, want) => panic!("{value:?}: got {got:?}, want {want:?}"),
            }
        }
    }
}
