/**
 * BindMount: every host path the request binds must be allowed by leash's `+path` / `-path` list.
 *  - `+` allows, `-` disallows; a path no entry covers is disallowed.
 *  - An entry not ending in `/` is a prefix glob: `/foo` covers `/foo*` (`/foo`, `/foobar`, `/foo/x`),
 *    so `+/home/$USER` also covers `/home/$USER2`; write `+/home/$USER/` to mean the directory.
 *  - An entry ending in `/` covers that directory and everything below it.
 *  - (ours) The longest matching entry decides (`-/` then `+/home/$USER/` allows the home only);
 *    a directory entry outweighs the glob of the same path, and at equal weight `-` wins.
 *  - Entries are normalised like the facts' bind sources (`..`, `.`, `//` resolved), after `$USER`
 *    is substituted; `'$USER` is the literal text. Bind sources are normalised again here (cheap,
 *    and a bind source that escaped the facts' normalisation must not walk around the list).
 *  - A user name that cannot stand in a path (`..`, containing `/`) fails a list that uses `$USER`.
 */
import type { CheckResult } from '../model';
import type { CheckDefinition } from './definition';
import type { Compiled, ItemProblem } from './regex-list';
import { PerUserCache, parseTemplate, renderText, type UserTemplate } from './user-template';

export interface BindEntry {
  readonly allow: boolean;
  /** As written, sign included. */
  readonly written: string;
  readonly template: UserTemplate;
}

/** One entry for one caller. */
export interface ResolvedBindEntry {
  readonly allow: boolean;
  /** Normalised, without a trailing `/` (but `/` for the root). */
  readonly path: string;
  readonly directory: boolean;
  /** What a covered source starts with: `path/` for a directory (`/` for the root), `path` for a glob. */
  readonly prefix: string;
  /** Longer is more specific. */
  readonly weight: number;
}

export interface BindMountRules {
  readonly entries: readonly BindEntry[];
  /** Entries for one caller, most specific first; undefined when the user name cannot stand in a path. */
  forUser(user: string): readonly ResolvedBindEntry[] | undefined;
}

/** `/a/./b//c/../d/` -> `/a/b/d`; undefined for a relative path. */
export function normalisePath(path: string): string | undefined {
  if (!path.startsWith('/')) return undefined;
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  return `/${out.join('/')}`;
}

// Only what normalisation would change: `//`, a `.` or `..` segment, a trailing `/`.
const NEEDS_NORMALISING = /\/\/|\/\.\.?(\/|$)|.\/$/;

function normalisedSource(source: string): string | undefined {
  if (!source.startsWith('/')) return undefined;
  return NEEDS_NORMALISING.test(source) ? normalisePath(source) : source;
}

// `/foo/`, `/foo/.` and `/foo/..` name directories; `/foo` is a prefix.
const NAMES_DIRECTORY = /(^|\/)\.{0,2}$/;

function resolveEntry(entry: BindEntry, user: string): ResolvedBindEntry | undefined {
  const text = renderText(entry.template, user);
  const path = normalisePath(text);
  if (path === undefined) return undefined;
  const directory = path === '/' || NAMES_DIRECTORY.test(text);
  const prefix = directory && path !== '/' ? `${path}/` : path;
  return { allow: entry.allow, path, directory, prefix, weight: prefix.length };
}

function covers(entry: ResolvedBindEntry, source: string): boolean {
  return source.startsWith(entry.prefix) || (entry.directory && source === entry.path);
}

function mostSpecificFirst(a: ResolvedBindEntry, b: ResolvedBindEntry): number {
  return b.weight - a.weight || Number(a.allow) - Number(b.allow);
}

function usableInPath(user: string): boolean {
  return user !== '' && user !== '.' && user !== '..' && !user.includes('/') && !user.includes('\0');
}

function resolveAll(entries: readonly BindEntry[], user: string): readonly ResolvedBindEntry[] | undefined {
  const resolved: ResolvedBindEntry[] = [];
  for (const entry of entries) {
    const one = resolveEntry(entry, user);
    if (one === undefined) return undefined;
    resolved.push(one);
  }
  return resolved.sort(mostSpecificFirst);
}

function bindMountRules(entries: readonly BindEntry[]): BindMountRules {
  if (!entries.some((e) => e.template.hasUser)) {
    const fixed = resolveAll(entries, '');
    return { entries, forUser: () => fixed };
  }
  const cache = new PerUserCache((user) => (usableInPath(user) ? resolveAll(entries, user) : undefined));
  return { entries, forUser: (user) => cache.get(user) };
}

/** Whether the most specific entry covering `source` allows it (none covers: disallowed). */
export function isAllowedSource(entries: readonly ResolvedBindEntry[], source: string): boolean {
  const path = normalisedSource(source);
  if (path === undefined) return false;
  for (const entry of entries) if (covers(entry, path)) return entry.allow;
  return false;
}

function compile(items: readonly string[]): Compiled<BindMountRules> {
  const problems: ItemProblem[] = [];
  const entries: BindEntry[] = [];
  items.forEach((written, item) => {
    const sign = written[0];
    if (sign !== '+' && sign !== '-') {
      problems.push({ item, message: `BindMount entry "${written}" must start with + (allowed) or - (disallowed)` });
      return;
    }
    const template = parseTemplate(written.slice(1));
    if (!renderText(template, 'user').startsWith('/')) {
      problems.push({ item, message: `BindMount entry "${written}" is not an absolute path` });
      return;
    }
    entries.push({ allow: sign === '+', written, template });
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: bindMountRules(entries) };
}

const NO_BINDS: CheckResult = { pass: true, reason: 'BindMount: no bind mount' };
const ALL_ALLOWED: CheckResult = { pass: true, reason: 'BindMount: every bind source is allowed' };

export const bindMount: CheckDefinition<BindMountRules> = {
  name: 'BindMount',
  needs: ['bindSources'],
  argument: 'list',
  listOf: '"+path" / "-path" entries',
  compile,
  run: (rules, facts) => {
    if (facts.bindSources.length === 0) return NO_BINDS;
    const entries = rules.forUser(facts.user);
    if (entries === undefined) {
      return { pass: false, reason: `BindMount: the user name ${JSON.stringify(facts.user)} cannot stand for $USER in a path` };
    }
    let refused: string[] | undefined;
    for (const source of facts.bindSources) {
      if (!isAllowedSource(entries, source)) (refused ??= []).push(source);
    }
    if (refused === undefined) return ALL_ALLOWED;
    return { pass: false, reason: `BindMount: ${refused.join(', ')} ${refused.length === 1 ? 'is' : 'are'} not under an allowed path` };
  },
};
