import { describe, expect, it } from 'vitest';
import { authHeaders } from '../src/api/auth';

describe('authHeaders', () => {
  it('sends the token as a bearer token, and no tenant: the token decides it', () => {
    expect(authHeaders('s3cret-token', 'shop')).toEqual({ Authorization: 'Bearer s3cret-token' });
    expect(authHeaders('  s3cret-token \n', '')).toEqual({ Authorization: 'Bearer s3cret-token' });
  });
  it('sends the tenant without a token', () => {
    expect(authHeaders('', 'shop')).toEqual({ 'X-Scope-OrgID': 'shop' });
    expect(authHeaders('   ', 'shop')).toEqual({ 'X-Scope-OrgID': 'shop' });
  });
  it('sends nothing without either', () => {
    expect(authHeaders('', '')).toEqual({});
  });
});
