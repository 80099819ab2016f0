// Label selectors as the Kubernetes labels package parses and matches them
// (k8s.io/apimachinery/pkg/labels/selector.go): equality (=, ==, !=) and set-based (in, notin,
// exists, !exists) requirements, ANDed. Used to match PodDisruptionBudgets to pods and to turn a
// selector string into the matchLabels / matchExpressions form Chaos Mesh takes.
import { UsageError } from '../../errors.js';

export interface Requirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

const KEY = '[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?';
const VALUE = '([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?';

/** Splits on commas outside parentheses. */
function terms(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

const SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s+\\(([^)]*)\\)$`);
const EQUALITY = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`);
const ABSENT = new RegExp(`^!\\s*(${KEY})$`);
const PRESENT = new RegExp(`^(${KEY})$`);
const VALUE_ONLY = new RegExp(`^${VALUE}$`);

function requirement(term: string, text: string): Requirement {
  const set = SET.exec(term);
  if (set) {
    const values = (set[4] ?? '').split(',').map((v) => v.trim());
    if (values.some((v) => !VALUE_ONLY.test(v))) throw bad(text);
    return { key: set[1] as string, operator: set[3] === 'in' ? 'In' : 'NotIn', values };
  }
  const equality = EQUALITY.exec(term);
  if (equality)
    return {
      key: equality[1] as string,
      operator: equality[3] === '!=' ? 'NotIn' : 'In',
      values: [equality[4] ?? ''],
    };
  const absent = ABSENT.exec(term);
  if (absent) return { key: absent[1] as string, operator: 'DoesNotExist', values: [] };
  const present = PRESENT.exec(term);
  if (present) return { key: present[1] as string, operator: 'Exists', values: [] };
  throw bad(text);
}

export function parseSelector(text: string): Requirement[] {
  const requirements = terms(text).map((term) => requirement(term, text));
  if (requirements.length === 0) throw bad(text);
  return requirements;
}

const bad = (text: string) =>
  new UsageError(
    `'${text}' is not a label selector (e.g. app.kubernetes.io/name=order-service or tier in (web,api))`,
  );

export function matches(requirements: readonly Requirement[], labels: Record<string, string>): boolean {
  return requirements.every(({ key, operator, values }) => {
    const has = Object.hasOwn(labels, key);
    if (operator === 'In') return has && values.includes(labels[key] as string);
    if (operator === 'NotIn') return !has || !values.includes(labels[key] as string);
    return operator === 'Exists' ? has : !has;
  });
}

/** A metav1.LabelSelector (matchLabels ANDed with matchExpressions) as requirements. */
export function fromLabelSelector(selector: LabelSelector | undefined): Requirement[] {
  return [
    ...Object.entries(selector?.matchLabels ?? {}).map(([key, value]) => ({
      key,
      operator: 'In' as const,
      values: [value],
    })),
    ...(selector?.matchExpressions ?? []).map((e) => ({
      key: e.key,
      operator: e.operator as Requirement['operator'],
      values: e.values ?? [],
    })),
  ];
}

/** The matchLabels / matchExpressions form of a selector string. */
export function toLabelSelector(requirements: readonly Requirement[]): LabelSelector {
  const matchLabels: Record<string, string> = {};
  const matchExpressions: Array<{ key: string; operator: string; values?: string[] }> = [];
  for (const r of requirements) {
    if (r.operator === 'In' && r.values.length === 1 && !(r.key in matchLabels))
      matchLabels[r.key] = r.values[0] as string;
    else
      matchExpressions.push({
        key: r.key,
        operator: r.operator,
        ...(r.values.length ? { values: r.values } : {}),
      });
  }
  return {
    ...(Object.keys(matchLabels).length ? { matchLabels } : {}),
    ...(matchExpressions.length ? { matchExpressions } : {}),
  };
}
