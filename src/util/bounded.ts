/**
 * A copy of plain data cut to a size budget: long strings are shortened, and objects and arrays
 * stop taking entries once the budget is spent (a `…` entry says how many were left out). For
 * data that leaves the decision path and waits somewhere (the trigger queue): a create body can carry
 * a megabyte of labels, and a thousand of them queued would be a gigabyte.
 */
export interface Budget {
  /** Characters left to spend on keys and strings. */
  chars: number;
  /** Set when anything was cut. */
  cut: boolean;
}

const MAX_STRING = 1024;
const MAX_DEPTH = 32;
export const OMITTED_KEY = '…';

function copy(value: unknown, budget: Budget, depth: number): unknown {
  if (typeof value === 'string') {
    const max = Math.max(0, Math.min(MAX_STRING, budget.chars));
    budget.chars -= Math.min(value.length, max);
    if (value.length <= max) return value;
    budget.cut = true;
    return `${value.slice(0, max)}…`;
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) {
    budget.cut = true;
    return OMITTED_KEY;
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      if (budget.chars <= 0) {
        budget.cut = true;
        out.push(`${OMITTED_KEY} ${value.length - i} more items`);
        break;
      }
      out.push(copy(value[i], budget, depth + 1));
    }
    return out;
  }
  const out: Record<string, unknown> = {};
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (budget.chars <= 0) {
      budget.cut = true;
      out[OMITTED_KEY] = `${keys.length - i} more entries`;
      break;
    }
    budget.chars -= key.length;
    Object.defineProperty(out, key, { value: copy((value as Record<string, unknown>)[key], budget, depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** `value` cut to about `maxChars` characters of keys and strings. */
export function boundedCopy<T>(value: T, maxChars: number): { value: T; cut: boolean } {
  const budget: Budget = { chars: maxChars, cut: false };
  const result = copy(value, budget, 0) as T;
  return { value: result, cut: budget.cut };
}
