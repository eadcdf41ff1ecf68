/**
 * User: the user a create or exec create runs as must match one of the regexes; other requests
 * (no run-as user) pass. leash's User page writes entries as `+^$USER$` / `-^root$`: a `+` entry (or
 * one without a sign) allows, a `-` entry that matches denies whatever else matches (ours). With
 * `-` entries only, a user none of them matches passes (ours).
 * (ours) An empty run-as user is root (the facts resolve it to the image's default, '' only when
 * the image sets none either), so it is matched as `root`: `-^root$` catches it.
 */
import type { CheckResult } from '../model';
import type { CheckDefinition } from './definition';
import { compileRegexList, matchesOne, type ItemProblem, type RegexList } from './regex-list';

export interface UserRules {
  readonly allowed: RegexList;
  readonly denied: RegexList;
  /** No `+` (or unsigned) entry: anything not denied passes. */
  readonly onlyDenials: boolean;
}

const NO_RUN_AS_USER: CheckResult = { pass: true, reason: 'User: no run-as user' };
const ALLOWED_USER: CheckResult = { pass: true, reason: 'User: an allowed run-as user' };

function runAsName(user: string): string {
  return user === '' ? 'root' : user;
}

export const user: CheckDefinition<UserRules> = {
  name: 'User',
  needs: ['runAsUser'],
  argument: 'list',
  listOf: 'regular expressions (optionally +allowed / -denied)',
  compile: (items) => {
    const allowedItems: number[] = [];
    const deniedItems: number[] = [];
    items.forEach((item, i) => (item.startsWith('-') ? deniedItems : allowedItems).push(i));
    const unsigned = (item: string): string => (item.startsWith('+') || item.startsWith('-') ? item.slice(1) : item);
    const allowed = compileRegexList(allowedItems.map((i) => unsigned(items[i]!)));
    const denied = compileRegexList(deniedItems.map((i) => unsigned(items[i]!)));
    if (!allowed.ok || !denied.ok) {
      const problems: ItemProblem[] = [];
      const renumber = (from: readonly number[], list: typeof allowed): void => {
        if (!list.ok) for (const p of list.problems) problems.push({ item: p.item === undefined ? undefined : from[p.item], message: p.message });
      };
      renumber(allowedItems, allowed);
      renumber(deniedItems, denied);
      return { ok: false, problems: problems.sort((a, b) => (a.item ?? 0) - (b.item ?? 0)) };
    }
    return { ok: true, value: { allowed: allowed.value, denied: denied.value, onlyDenials: allowedItems.length === 0 } };
  },
  run: (rules, facts) => {
    if (facts.runAsUser === undefined) return NO_RUN_AS_USER;
    const name = runAsName(facts.runAsUser);
    const denied = rules.denied.forUser(facts.user);
    if (denied.regexes.length > 0 && matchesOne(denied.regexes, name)) {
      return { pass: false, reason: `User: ${JSON.stringify(name)} matches a denied user (${denied.shown})` };
    }
    if (rules.onlyDenials) return ALLOWED_USER;
    const allowed = rules.allowed.forUser(facts.user);
    if (matchesOne(allowed.regexes, name)) return ALLOWED_USER;
    return { pass: false, reason: `User: ${JSON.stringify(name)} matches none of ${allowed.shown}` };
  },
};
