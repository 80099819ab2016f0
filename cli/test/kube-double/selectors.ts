// Label and field selectors. The label grammar and its error messages follow the parser in
// k8s.io/apimachinery/pkg/labels/selector.go (Lexer, Parser.parse / parseRequirement /
// parseOperator / parseValues), including the "unable to parse requirement: ..." wrapping; a
// malformed selector is answered 400 BadRequest by the apiserver's parameter decoding.
import { badRequest } from './status.js';

export type Labels = Record<string, string>;
type Operator = 'exists' | '!' | '=' | '==' | '!=' | 'in' | 'notin' | 'gt' | 'lt';
export interface Requirement {
  key: string;
  operator: Operator;
  values: string[];
}
export type Selector = Requirement[];

type Token =
  | { kind: 'id'; lit: string }
  | { kind: 'eos' | ',' | '(' | ')' | '!' | '=' | '==' | '!=' | 'in' | 'notin' | 'gt' | 'lt'; lit: string };

// selector.go: these characters end an identifier.
const special = new Set([' ', '\t', '\n', ',', '(', ')', '=', '!', '<', '>']);

class Lexer {
  private tokens: Token[] = [];
  private position = 0;
  constructor(text: string) {
    let i = 0;
    while (i < text.length) {
      const ch = text[i] as string;
      if (/\s/.test(ch)) {
        i++;
        continue;
      }
      const two = text.slice(i, i + 2);
      if (two === '==' || two === '!=') {
        this.tokens.push({ kind: two, lit: two });
        i += 2;
      } else if (ch === '=' || ch === '!' || ch === ',' || ch === '(' || ch === ')') {
        this.tokens.push({ kind: ch, lit: ch });
        i++;
      } else if (ch === '>' || ch === '<') {
        this.tokens.push({ kind: ch === '>' ? 'gt' : 'lt', lit: ch });
        i++;
      } else {
        let j = i;
        while (j < text.length && !special.has(text[j] as string)) j++;
        const lit = text.slice(i, j);
        // "in" and "notin" are keywords, but plain identifiers inside a value list (Values context).
        this.tokens.push(lit === 'in' || lit === 'notin' ? { kind: lit, lit } : { kind: 'id', lit });
        i = j;
      }
    }
  }
  lookahead(values = false): Token {
    return this.asContext(this.tokens[this.position] ?? { kind: 'eos', lit: '' }, values);
  }
  consume(values = false): Token {
    const token = this.lookahead(values);
    this.position++;
    return token;
  }
  private asContext(token: Token, values: boolean): Token {
    return values && (token.kind === 'in' || token.kind === 'notin') ? { kind: 'id', lit: token.lit } : token;
  }
}

/** labels.Parse: throws ApiError 400 with the parser's message on malformed input. */
export function parseLabelSelector(text: string): Selector {
  try {
    return parse(new Lexer(text));
  } catch (error) {
    throw badRequest((error as Error).message);
  }
}

function parse(lexer: Lexer): Selector {
  const requirements: Requirement[] = [];
  for (;;) {
    const next = lexer.lookahead();
    if (next.kind === 'eos') return requirements;
    if (next.kind !== 'id' && next.kind !== '!') {
      throw new Error(`found '${next.lit}', expected: !, identifier, or 'end of string'`);
    }
    try {
      requirements.push(parseRequirement(lexer));
    } catch (error) {
      throw new Error(`unable to parse requirement: ${(error as Error).message}`);
    }
    const after = lexer.consume(true);
    if (after.kind === 'eos') return requirements;
    if (after.kind !== ',') throw new Error(`found '${after.lit}', expected: ',' or 'end of string'`);
    const following = lexer.lookahead();
    if (following.kind !== 'id' && following.kind !== '!') {
      throw new Error(`found '${following.lit}', expected: identifier after ','`);
    }
  }
}

function parseRequirement(lexer: Lexer): Requirement {
  let negated = false;
  if (lexer.lookahead().kind === '!') {
    lexer.consume();
    negated = true;
  }
  const key = lexer.consume();
  if (key.kind !== 'id') throw new Error(`found '${key.lit}', expected: identifier`);
  const next = lexer.lookahead();
  if (next.kind === 'eos' || next.kind === ',') {
    return { key: key.lit, operator: negated ? '!' : 'exists', values: [] };
  }
  if (negated) throw new Error(`found '${next.lit}', expected: ',' or 'end of string'`);
  const op = lexer.consume();
  if (!['in', 'notin', '=', '==', '!=', 'gt', 'lt'].includes(op.kind)) {
    throw new Error(`found '${op.lit}', expected: in, notin, =, ==, !=, gt, lt`);
  }
  const operator = op.kind as Operator;
  if (operator === 'in' || operator === 'notin')
    return { key: key.lit, operator, values: parseValues(lexer) };
  const value = lexer.lookahead(true);
  if (value.kind === 'eos' || value.kind === ',') return { key: key.lit, operator, values: [''] };
  lexer.consume(true);
  if (value.kind !== 'id') throw new Error(`found '${value.lit}', expected: identifier`);
  if ((operator === 'gt' || operator === 'lt') && !/^-?\d+$/.test(value.lit)) {
    throw new Error(`for 'Gt', 'Lt' operators, the value must be an integer`);
  }
  return { key: key.lit, operator, values: [value.lit] };
}

function parseValues(lexer: Lexer): string[] {
  const open = lexer.consume(true);
  if (open.kind !== '(') throw new Error(`found '${open.lit}' expected: '('`);
  const first = lexer.lookahead(true);
  if (first.kind === ')') {
    lexer.consume(true);
    return [''];
  }
  if (first.kind !== 'id' && first.kind !== ',') {
    throw new Error(`found '${first.lit}', expected: ',', ')' or identifier`);
  }
  const values = new Set<string>();
  for (;;) {
    const token = lexer.consume(true);
    if (token.kind === 'id') {
      values.add(token.lit);
      const after = lexer.lookahead(true);
      if (after.kind === ',') continue;
      if (after.kind === ')') break;
      throw new Error(`found '${after.lit}', expected: ',' or ')'`);
    }
    if (token.kind === ',') {
      if (values.size === 0) values.add('');
      if (lexer.lookahead(true).kind === ')') {
        values.add('');
        break;
      }
      continue;
    }
    throw new Error(`found '${token.lit}', expected: ',' or ')'`);
  }
  const close = lexer.consume(true);
  if (close.kind !== ')') throw new Error(`found '${first.lit}', expected: ')'`);
  return [...values];
}

/** Requirement.Matches in selector.go: != and notin also match objects without the key. */
export function matches(selector: Selector, labels: Labels = {}): boolean {
  return selector.every(({ key, operator, values }) => {
    const has = Object.hasOwn(labels, key);
    const value = labels[key] ?? '';
    switch (operator) {
      case 'exists':
        return has;
      case '!':
        return !has;
      case '=':
      case '==':
      case 'in':
        return has && values.includes(value);
      case '!=':
      case 'notin':
        return !has || !values.includes(value);
      case 'gt':
        return has && /^-?\d+$/.test(value) && Number(value) > Number(values[0]);
      case 'lt':
        return has && /^-?\d+$/.test(value) && Number(value) < Number(values[0]);
    }
    return false;
  });
}

export interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

/**
 * metav1.LabelSelectorAsSelector: an empty selector matches everything, a missing one nothing
 * (policy/v1 PodDisruptionBudget documents that an empty selector selects every pod).
 */
export function fromLabelSelector(selector: LabelSelector | undefined): Selector | undefined {
  if (!selector) return undefined;
  const requirements: Requirement[] = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => ({
    key,
    operator: '=',
    values: [value],
  }));
  for (const e of selector.matchExpressions ?? []) {
    const operator = ({ In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' } as const)[
      e.operator as 'In'
    ];
    if (!operator) throw badRequest(`"${e.operator}" is not a valid label selector operator`);
    requirements.push({ key: e.key, operator, values: e.values ?? [] });
  }
  return requirements;
}

/** Field selectors: the apiserver supports metadata.name / metadata.namespace for every resource. */
export function parseFieldSelector(
  text: string,
  supported: (field: string) => boolean,
): Array<{ field: string; negate: boolean; value: string }> {
  if (!text) return [];
  return text.split(',').map((term) => {
    const match = /^([^=!]+)(==|=|!=)(.*)$/.exec(term.trim());
    if (!match) throw badRequest(`invalid selector: '${text}'; can't understand '${term}'`);
    const [, field = '', op, value = ''] = match;
    if (!supported(field)) throw badRequest(`field label not supported: ${field}`);
    return { field, negate: op === '!=', value };
  });
}
