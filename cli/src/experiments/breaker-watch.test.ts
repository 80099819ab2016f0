import { describe, expect, it } from '@jest/globals';
import { BreakerWatch, breakerStates } from './breaker-watch.js';

describe('breaker watch', () => {
  it("reads order-service's circuit_breaker_state per downstream", () => {
    const metrics = [
      '# HELP circuit_breaker_state Circuit breaker state per downstream: 0 closed, 1 half-open, 2 open',
      '# TYPE circuit_breaker_state gauge',
      'circuit_breaker_state{downstream="inventory-service"} 2',
      'circuit_breaker_state{downstream="notification-service"} 0',
      'circuit_breaker_opens_total{downstream="inventory-service"} 3',
    ].join('\n');
    expect(breakerStates(metrics)).toEqual(
      new Map([
        ['inventory-service', 2],
        ['notification-service', 0],
      ]),
    );
  });

  it('opens when any replica reports an open breaker, closes when every replica seen open is closed again', () => {
    const watch = new BreakerWatch('http://127.0.0.1:1');
    const closed = new Map([['inventory-service', 0]]);
    const open = new Map([['inventory-service', 2]]);
    const halfOpen = new Map([['inventory-service', 1]]);
    watch.observe('a', closed, 100);
    watch.observe('a', open, 200);
    watch.observe('b', open, 300);
    watch.observe('a', halfOpen, 400);
    watch.observe('a', closed, 500);
    expect(watch.openedAt).toBe(200);
    expect(watch.closedAt).toBeUndefined();
    watch.observe('b', closed, 600);
    expect(watch.closedAt).toBe(600);
  });
});
