/**
 * A list of regexes over names (ContainerName, ImageName, VolumeName, User), `$USER` templated.
 * (ours) A regex matches from the start of the name, as leash's Python `re.match` did: `foo-` means
 * `^foo-` (an admin's copied `foo-` keeps granting what it granted, no more); write `.*foo` to
 * match anywhere and `$` to pin the end.
 */
import { PerUserCache, parseTemplate, renderRegexSource, type UserTemplate } from './user-template';

/** Stands for a user name when a template is validated at load. */
const SAMPLE_USER = 'user';

export interface NamePattern {
  /** As written in the file. */
  readonly written: string;
  readonly template: UserTemplate;
}

export interface RegexList {
  readonly patterns: readonly NamePattern[];
  /** The regexes for one caller (sources with the user substituted, for reasons). */
  forUser(user: string): CompiledRegexes;
}

export interface CompiledRegexes {
  readonly regexes: readonly RegExp[];
  /** `^alice-, ^bar-`: what a reason shows. */
  readonly shown: string;
}

export type Compiled<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problems: readonly ItemProblem[] };

/** A problem with the argument list (`item` undefined) or with one entry of it. */
export interface ItemProblem {
  readonly item?: number;
  readonly message: string;
}

/** `source` matched from the start of the text (see above). */
export function anchored(source: string): RegExp {
  return new RegExp(`^(?:${source})`);
}

/** V8's message without its restatement of the pattern (`Invalid regular expression: /x/: Unterminated group`). */
export function regexError(source: string): string | undefined {
  try {
    new RegExp(source);
    anchored(source);
    return undefined;
  } catch (err: unknown) {
    const message = err instanceof Error ? err.message : String(err);
    return message.slice(message.lastIndexOf(': ') + 2);
  }
}

/** `undefined` when the regex (rendered for a sample user) compiles, else why not. */
export function invalidRegex(written: string, template: UserTemplate = parseTemplate(written)): string | undefined {
  const detail = regexError(renderRegexSource(template, SAMPLE_USER));
  return detail === undefined ? undefined : `invalid regular expression "${written}": ${detail}`;
}

function compileFor(patterns: readonly NamePattern[], user: string): CompiledRegexes {
  const sources = patterns.map((p) => renderRegexSource(p.template, user));
  return { regexes: sources.map(anchored), shown: sources.join(', ') };
}

/** Builds the list from patterns already validated (`invalidRegex`). */
export function regexList(patterns: readonly NamePattern[]): RegexList {
  if (!patterns.some((p) => p.template.hasUser)) {
    const fixed = compileFor(patterns, '');
    return { patterns, forUser: () => fixed };
  }
  const cache = new PerUserCache((user) => compileFor(patterns, user));
  return { patterns, forUser: (user) => cache.get(user) };
}

/** Compiles a list argument of regexes, every bad one reported. */
export function compileRegexList(items: readonly string[]): Compiled<RegexList> {
  const problems: ItemProblem[] = [];
  const patterns = items.map((written, item) => {
    const template = parseTemplate(written);
    const invalid = invalidRegex(written, template);
    if (invalid) problems.push({ item, message: invalid });
    return { written, template };
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: regexList(patterns) };
}

/** Whether `name` matches one of the regexes. */
export function matchesOne(regexes: readonly RegExp[], name: string): boolean {
  for (const regex of regexes) if (regex.test(name)) return true;
  return false;
}

/**
 * ContainerName, ImageName, VolumeName: every name the request carries must match one regex; a
 * request naming none passes (the check has nothing to restrict). Returns why not, or undefined.
 */
export function unmatchedName(list: RegexList, names: readonly string[], user: string): string | undefined {
  if (names.length === 0) return undefined;
  const { regexes, shown } = list.forUser(user);
  for (const name of names) {
    if (!matchesOne(regexes, name)) return `${JSON.stringify(name)} matches none of ${shown}`;
  }
  return undefined;
}
