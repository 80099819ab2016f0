// Suite files' traffic settings: the client's retries are bounded and named when wrong.
import { describe, expect, it } from '@jest/globals';
import { parseSuite } from './suite.js';

const suite = (traffic: string) =>
  `version: 1\n${traffic}\nexperiments:\n  - { type: pod-kill, service: order-service }\n`;

describe('a suite with client retries', () => {
  it.each([
    ['retries: 0', { retries: 0 }],
    ['retries: 10\nretryBackoff: 20ms', { retries: 10, retryBackoff: '20ms' }],
    ['retryBackoff: 100', { retryBackoff: 100 }],
  ])('accepts %j', (traffic, expected) => {
    expect(parseSuite(suite(traffic), 'suite.yaml')).toMatchObject(expected);
  });

  it.each([
    ['retries: 11', /^suite\.yaml: retries must be <= 10 \(got 11\)$/],
    ['retries: -1', /^suite\.yaml: retries must be >= 0 \(got -1\)$/],
    ['retries: 1.5', /^suite\.yaml: retries must be integer \(got 1\.5\)$/],
    ['retryBackoff: soon', /^suite\.yaml: retryBackoff must look like 300ms, 30s, 2m or 1h \(got 'soon'\)$/],
    ['retryBackoff: 6s', /^suite\.yaml: retryBackoff must be at most 5\.0 s \(got '6s'\)$/],
  ])('refuses %j, naming the field', (traffic, message) => {
    expect(() => parseSuite(suite(traffic), 'suite.yaml')).toThrow(message);
  });
});
