/**
 * WHITE_LIST / IMAGE_WHITE_LIST semantics of the original: comma-separated entries, each a regex
 * that must match the whole name; `REGEX|rule name` (split at the first `|`) applies to one rule only.
 */
export interface Whitelist {
  /** The entries as configured (after trimming), for /config. */
  readonly entries: readonly string[];
  readonly global: readonly RegExp[];
  /** Rule name -> regexes that spare a container from that rule only. */
  readonly perRule: ReadonlyMap<string, readonly RegExp[]>;
}

export const EMPTY_WHITELIST: Whitelist = { entries: [], global: [], perRule: new Map() };

function compileAnchored(source: string): RegExp {
  // Python's re.match("^" + entry + "$") is a full match; the group keeps `a|b`-free entries intact.
  return new RegExp(`^(?:${source})$`);
}

export function parseWhitelist(entries: readonly string[]): { whitelist: Whitelist; errors: string[] } {
  const errors: string[] = [];
  const global: RegExp[] = [];
  const perRule = new Map<string, RegExp[]>();
  for (const entry of entries) {
    const separator = entry.indexOf('|');
    const source = separator === -1 ? entry : entry.slice(0, separator);
    let regex: RegExp;
    try {
      regex = compileAnchored(source);
    } catch (err: unknown) {
      errors.push(`entry ${JSON.stringify(entry)} is not a valid regular expression (${(err as Error).message})`);
      continue;
    }
    if (separator === -1) {
      global.push(regex);
      continue;
    }
    const ruleName = entry.slice(separator + 1);
    perRule.set(ruleName, [...(perRule.get(ruleName) ?? []), regex]);
  }
  return { whitelist: { entries: [...entries], global, perRule }, errors };
}

export function matchesAny(regexes: readonly RegExp[] | undefined, value: string): boolean {
  return regexes !== undefined && regexes.some((regex) => regex.test(value));
}

/** True when `value` is on the global list. */
export function isGloballyWhitelisted(list: Whitelist, value: string): boolean {
  return matchesAny(list.global, value);
}

/** True when `value` is on the list for rule `ruleName`. */
export function isWhitelistedForRule(list: Whitelist, value: string, ruleName: string): boolean {
  return matchesAny(list.perRule.get(ruleName), value);
}
