//! Extractors every handler shares: the request's [`Tenant`] (from `X-Scope-OrgID`, or from the bearer token
//! when authentication is on, checked against the allowed tenants) and its query [`Params`], so a handler
//! names what it needs in its signature instead of parsing it in its body.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tracewell_model::TenantId;

use crate::native::Params;
use crate::params::tenant;
use crate::{ApiError, ApiState};

/// The tenant a request reads; refused with 400 (malformed) or 403 (not allowed).
pub(crate) struct Tenant(pub TenantId);

impl FromRequestParts<ApiState> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        tenant(&parts.headers, &state.allowed_tenants).map(Tenant)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Params::parse(parts.uri.query().map(str::to_owned))
    }
}
