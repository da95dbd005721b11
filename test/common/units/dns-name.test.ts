// Unit tests of the DNS-1123 subdomain check (Lease names).
import { describe, expect, it } from 'vitest';
import { isDns1123Subdomain } from '../../../common/units/dns-name.ts';

describe('isDns1123Subdomain', () => {
  it.each(['a', 'my-app', 'my.app-1', '0abc', 'a'.repeat(253)])('accepts %j', (s) => {
    expect(isDns1123Subdomain(s)).toBe(true);
  });
  it.each(['', 'My-App', 'my_app', '-a', 'a-', 'a..b', '.a', 'a.', 'a'.repeat(254), 'a/b'])(
    'rejects %j',
    (s) => {
      expect(isDns1123Subdomain(s)).toBe(false);
    },
  );
});
