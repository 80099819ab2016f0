import { describe, expect, it } from '@jest/globals';
import { UsageError } from '../errors.js';
import { prng } from '../prng.js';
import { compileBody, compileTemplate, MissingFieldError, type RenderContext } from './template.js';

const ctx = (seq = 0, seed = 1): RenderContext => ({ seq, random: prng(seed) });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('compileTemplate', () => {
  it('keeps text without placeholders as it is', () => {
    expect(compileTemplate('/orders?x={y}', 'p').render(ctx())).toBe('/orders?x={y}');
    expect(compileTemplate('', 'p').render(ctx())).toBe('');
  });

  it('renders {{seq}}, {{uuid}}, {{int A B}} and {{pick ...}} among text', () => {
    const template = compileTemplate(
      '/items/{{seq}}/{{ uuid }}?n={{int -2 3}}&c={{pick red "light blue"}}',
      'p',
    );
    const random = prng(9);
    const ints = new Set<string>();
    const colours = new Set<string>();
    for (let seq = 0; seq < 400; seq++) {
      const match = /^\/items\/(\d+)\/([^?]+)\?n=(-?\d+)&c=(.*)$/.exec(template.render({ seq, random }));
      expect(match?.[1]).toBe(String(seq));
      expect(match?.[2]).toMatch(UUID);
      ints.add(match?.[3] ?? '');
      colours.add(match?.[4] ?? '');
    }
    expect([...ints].sort()).toEqual(['-1', '-2', '0', '1', '2', '3']);
    expect([...colours].sort()).toEqual(['light blue', 'red']);
  });

  it('repeats its values for the same seed and not for another', () => {
    const template = compileTemplate('{{uuid}} {{int 1 1000000}} {{pick a b c d e f g}}', 'p');
    expect(template.render(ctx(0, 5))).toBe(template.render(ctx(0, 5)));
    expect(template.render(ctx(0, 5))).not.toBe(template.render(ctx(0, 6)));
  });

  it('takes quoted items with spaces, quotes and backslashes', () => {
    const template = compileTemplate('{{pick "say \\"hi\\"" "a\\\\b"}}', 'p');
    const seen = new Set(Array.from({ length: 50 }, (_, i) => template.render(ctx(0, i))));
    expect([...seen].sort()).toEqual(['a\\b', 'say "hi"']);
  });

  it.each([
    ['/{{foo}}', 'p: unknown placeholder {{foo}}'],
    ['/{{seq', 'p: unclosed placeholder {{seq'],
    ['{{}}', 'p: an empty placeholder in {{}}'],
    ['{{uuid 4}}', 'p: uuid takes no arguments in {{uuid 4}}'],
    ['{{int 1}}', 'p: int takes two integers, such as {{int 1 5}} in {{int 1}}'],
    ['{{int a b}}', 'p: int takes two integers, such as {{int 1 5}} in {{int a b}}'],
    ['{{int 1.5 2}}', 'p: int takes two integers, such as {{int 1 5}} in {{int 1.5 2}}'],
    ['{{int 5 1}}', "p: int's first bound must not exceed its second in {{int 5 1}}"],
    ['{{int 1 99999999999999999}}', 'p: int takes integers within ±2^53 in {{int 1 99999999999999999}}'],
    ['{{pick}}', 'p: pick takes one or more items, such as {{pick a b "c d"}} in {{pick}}'],
    ['{{pick "a b}}', 'p: an unclosed quote in {{pick "a b}}'],
    ['{{pick "a"b}}', 'p: a quote must end its item in {{pick "a"b}}'],
    ['{{pick a"b}}', 'p: a quote inside an item in {{pick a"b}}'],
    ['/orders/{{response.id}}', 'p: response fields exist only in a read-back in {{response.id}}'],
    ['{{request.path}}', 'p: request fields exist only in a read-back in {{request.path}}'],
  ])('refuses %s', (text, message) => {
    expect(() => compileTemplate(text, 'p')).toThrow(new UsageError(message));
  });

  it.each([
    ['{{response..id}}', 'r: an empty segment in its path in {{response..id}}'],
    ['{{response.id x}}', 'r: response.id takes no arguments in {{response.id x}}'],
    [
      '{{response.headers}}',
      'r: response.headers takes one header name, such as response.headers.location in {{response.headers}}',
    ],
    ['{{request.body}}', 'r: unknown placeholder (request has path and body.<path>) in {{request.body}}'],
    ['{{responses.id}}', 'r: unknown placeholder {{responses.id}}'],
  ])('refuses %s in a read-back', (text, message) => {
    expect(() => compileTemplate(text, 'r', 'readBack')).toThrow(new UsageError(message));
  });
});

describe('read-back templates', () => {
  const answer = {
    id: 'o-1',
    total: 12.5,
    paid: false,
    items: [{ id: 'i-1' }, { id: 'i-2', tags: ['x'] }],
    nothing: null,
  };
  const readBackCtx = (body: unknown = answer): RenderContext => ({
    seq: 3,
    random: prng(1),
    response: { headers: { location: '/orders/o-1', 'set-cookie': ['a=1', 'b=2'] }, body: () => body },
    request: { path: '/orders', body: () => ({ product: { id: 'PROD-001' } }) },
  });

  it('takes fields of the answer (array indexes too), its headers and the request as sent', () => {
    const template = compileTemplate(
      '/x/{{response.id}}/{{response.items.1.id}}/{{response.total}}/{{response.paid}}/{{response.items.1.tags}}' +
        '?l={{response.headers.Location}}&c={{response.headers.set-cookie}}&p={{request.path}}&b={{request.body.product.id}}&s={{seq}}',
      'r',
      'readBack',
    );
    expect(template.usesResponseBody).toBe(true);
    expect(template.render(readBackCtx())).toBe(
      '/x/o-1/i-2/12.5/false/["x"]?l=/orders/o-1&c=a=1, b=2&p=/orders&b=PROD-001&s=3',
    );
  });

  it('does not need the answer’s body for headers and the request alone', () => {
    expect(
      compileTemplate('{{response.headers.location}}{{request.body.a}}', 'r', 'readBack').usesResponseBody,
    ).toBe(false);
  });

  it.each([
    ['{{response.missing}}', "the answer's body has no missing"],
    ['{{response.nothing}}', "the answer's body has no nothing"],
    ['{{response.items.5.id}}', "the answer's body has no items.5.id"],
    ['{{response.id.length}}', "the answer's body has no id.length"],
    ['{{response.toString}}', "the answer's body has no toString"],
    ['{{response.headers.etag}}', 'the answer has no etag header'],
    ['{{request.body.product.name}}', "the request's body has no product.name"],
  ])('fails %s with a reason, for that read-back alone', (text, reason) => {
    const template = compileTemplate(text, 'r', 'readBack');
    expect(() => template.render(readBackCtx())).toThrow(new MissingFieldError(reason));
  });
});

describe('compileBody', () => {
  it('renders a JSON body: string leaves are templates, a lone {{int}} or {{seq}} is a number', () => {
    const body = compileBody(
      {
        product_id: '{{pick PROD-001 PROD-002}}',
        quantity: '{{int 1 5}}',
        seq: '{{seq}}',
        label: 'n{{seq}}',
        'odd "key"': ['{{pick "a \\"quoted\\" word"}}', 1.5, true, null, { deep: '{{seq}}' }],
        plain: 'no placeholders',
      },
      'body',
    );
    expect(body.json).toBe(true);
    const parsed = JSON.parse(body.render(ctx(7)));
    expect(parsed).toEqual({
      product_id: expect.stringMatching(/^PROD-00[12]$/),
      quantity: expect.any(Number),
      seq: 7,
      label: 'n7',
      'odd "key"': ['a "quoted" word', 1.5, true, null, { deep: 7 }],
      plain: 'no placeholders',
    });
    expect(parsed.quantity).toBeGreaterThanOrEqual(1);
    expect(parsed.quantity).toBeLessThanOrEqual(5);
  });

  it('renders a string body as a template, not JSON', () => {
    const body = compileBody('id={{seq}}&x={{pick a}}', 'body');
    expect(body.json).toBe(false);
    expect(body.render(ctx(2))).toBe('id=2&x=a');
    expect(compileBody([], 'body').render(ctx())).toBe('[]');
    expect(compileBody(42, 'body').render(ctx())).toBe('42');
  });

  it('names the leaf that holds a bad placeholder', () => {
    expect(() => compileBody({ items: [{ id: '{{foo}}' }] }, 'traffic.requests[0].body')).toThrow(
      new UsageError('traffic.requests[0].body.items[0].id: unknown placeholder {{foo}}'),
    );
    expect(() => compileBody({ n: Number.POSITIVE_INFINITY }, 'b')).toThrow(
      new UsageError('b.n: Infinity is not JSON'),
    );
  });
});
