// The flags that name where things are: per-service URLs and selectors.
import { describe, expect, it } from '@jest/globals';
import { parseSelectors, parseUrls } from './options.js';

describe('--url', () => {
  it('takes where the traffic enters by default (keyed by no name) and any target by name', () => {
    expect(parseUrls(['http://127.0.0.1:5000/', 'ledger=https://ledger.example:8443'])).toEqual({
      '': 'http://127.0.0.1:5000',
      ledger: 'https://ledger.example:8443',
    });
  });
  it.each(['notaurl', 'ftp://shop', 'order-service=', 'Bad_Name=http://x:1', 'http://'])(
    'refuses %j',
    (value) => {
      expect(() => parseUrls([value])).toThrow(/--url must be http\(s\):\/\/host:port/);
    },
  );
});

describe('--selector', () => {
  it("is the target's when it names no service, and a service's when it does", () => {
    expect(parseSelectors(['app.kubernetes.io/name=ledger'])).toEqual({
      target: 'app.kubernetes.io/name=ledger',
      perService: {},
    });
    expect(parseSelectors(['app=ledger'])).toEqual({ target: 'app=ledger', perService: {} });
    expect(parseSelectors(['order-service=app=orders,tier in (web)', 'postgresql=!canary'])).toEqual({
      perService: { 'order-service': 'app=orders,tier in (web)', postgresql: '!canary' },
    });
  });
  it('refuses what is not a selector', () => {
    expect(() => parseSelectors(['order-service=app in web'])).toThrow(/is not a label selector/);
  });
});
