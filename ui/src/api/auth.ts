// Bearer tokens. A server started with --auth-tokens answers 401 without a token; the UI then asks for one
// (app.tsx), keeps it in localStorage and sends it as `Authorization: Bearer <token>` with every API call,
// including the live tail (read with fetch, so headers go along). The token decides the tenant, so with a token
// the tenant field's X-Scope-OrgID is not sent.

/** Fired on `window` when the server answers 401; `detail` is its message. */
export const UNAUTHORIZED_EVENT = 'tracewell:unauthorized';

/** The headers that say who is asking: the token when there is one, else the tenant, else nothing. */
export function authHeaders(token: string, tenant: string): Record<string, string> {
  const t = token.trim();
  if (t) return { Authorization: `Bearer ${t}` };
  if (tenant) return { 'X-Scope-OrgID': tenant };
  return {};
}
