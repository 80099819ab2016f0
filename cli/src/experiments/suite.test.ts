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
    ['retries: 11', /^suite\.yaml: retries must be <= 10$/],
    ['retries: -1', /^suite\.yaml: retries must be >= 0$/],
    ['retries: 1.5', /^suite\.yaml: retries must be integer$/],
    ['retryBackoff: soon', /^suite\.yaml: retryBackoff must match pattern/],
  ])('refuses %j, naming the field', (traffic, message) => {
    expect(() => parseSuite(suite(traffic), 'suite.yaml')).toThrow(message);
  });
});
