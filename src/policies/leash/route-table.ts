/**
 * Which checks of which policy apply to an action, resolved for every action at load: within a
 * policy the most specific key present wins (the action, else its namespace, else `any`), so a
 * request costs one map lookup instead of a walk over keys.
 */
import { ACTIONS, NAMESPACES, namespaceOf } from '../../facts/routes';
import type { LookupFact } from '../policy-facts';
import { ANY_KEY, type Check, type Policy, type PolicyRule, type RouteTable } from './model';

/**
 * leash named the archive route three times, once per method; routes.ts has one action for them.
 * (ours) Each leash name applies to its own method only, and before `containersArchive`: granting
 * `containersGetFilesystemArchive` (docker cp out of a container) must not grant writing into one.
 */
export const METHOD_ALIASES: Readonly<Record<string, { readonly action: string; readonly method: string }>> = {
  containersGetInfoAboutFiles: { action: 'containersArchive', method: 'HEAD' },
  containersGetFilesystemArchive: { action: 'containersArchive', method: 'GET' },
  containersExtractArchiveToDirectory: { action: 'containersArchive', method: 'PUT' },
};

const SPLIT_ACTIONS: ReadonlySet<string> = new Set(Object.values(METHOD_ALIASES).map((alias) => alias.action));

function needsOf(checks: readonly Check[]): LookupFact[] {
  return [...new Set(checks.flatMap((check) => check.needs))];
}

/** Each policy's checks under the first of `keys` it has (most specific first). */
function rulesUnder(policies: readonly Policy[], keys: readonly string[]): PolicyRule[] {
  const rules: PolicyRule[] = [];
  for (const policy of policies) {
    const key = keys.find((k) => policy.rules.has(k));
    if (key === undefined) continue;
    const checks = policy.rules.get(key) ?? [];
    rules.push({ policy, key, checks, needs: needsOf(checks) });
  }
  return rules;
}

export function buildRouteTable(policies: readonly Policy[]): RouteTable {
  const byRoute = new Map<string, readonly PolicyRule[]>();
  for (const action of ACTIONS) byRoute.set(action, rulesUnder(policies, [action, namespaceOf(action) ?? ANY_KEY, ANY_KEY]));
  for (const [alias, { action, method }] of Object.entries(METHOD_ALIASES)) {
    byRoute.set(`${action} ${method}`, rulesUnder(policies, [alias, action, namespaceOf(action) ?? ANY_KEY, ANY_KEY]));
  }
  const byNamespace = new Map<string, readonly PolicyRule[]>();
  for (const namespace of NAMESPACES) byNamespace.set(namespace, rulesUnder(policies, [namespace, ANY_KEY]));
  return { byRoute, byNamespace, otherwise: rulesUnder(policies, [ANY_KEY]) };
}

/** The rules for one request, in policy order (membership not yet considered). */
export function rulesFor(table: RouteTable, action: string, method: string, namespace: string): readonly PolicyRule[] {
  if (SPLIT_ACTIONS.has(action)) {
    const split = table.byRoute.get(`${action} ${method}`);
    if (split !== undefined) return split;
  }
  return table.byRoute.get(action) ?? table.byNamespace.get(namespace) ?? table.otherwise;
}
