import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { SAVE_CODE_CACHE, saveBundleCodeCache } from './bundle-code-cache.js';

const slot = globalThis as { [SAVE_CODE_CACHE]?: () => void };
afterEach(() => {
  delete slot[SAVE_CODE_CACHE];
});

describe('saveBundleCodeCache', () => {
  it("calls what the bundle's loader left, under the name the loader uses", () => {
    const save = jest.fn();
    // scripts/service-loader.mjs names it so.
    (globalThis as Record<symbol, unknown>)[Symbol.for('chaos-platform.save-code-cache')] = save;
    saveBundleCodeCache();
    expect(save).toHaveBeenCalledTimes(1);
  });

  it('does nothing outside the bundle', () => {
    expect(() => saveBundleCodeCache()).not.toThrow();
  });
});
