import { describe, expect, it } from '@jest/globals';
import { idempotencyKey } from './uuid.js';

describe('idempotencyKey', () => {
  // 10,000 keys: forty refills of its random bytes.
  const keys = Array.from({ length: 10_000 }, () => idempotencyKey());

  it('gives version 4, variant 10 UUIDs in lower case (RFC 9562)', () => {
    for (const key of keys)
      expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('never repeats one, and every random digit takes all sixteen values', () => {
    expect(new Set(keys).size).toBe(keys.length);
    for (let at = 0; at < 36; at++) {
      if ([8, 13, 14, 18, 23].includes(at)) continue;
      const seen = new Set(keys.map((key) => key[at]));
      expect(seen.size).toBe(at === 19 ? 4 : 16);
    }
  });
});
