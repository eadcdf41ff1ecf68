/**
 * Who a policy applies to. A member names a group of groups.yml. (ours) When no group has that name,
 * `*` means every caller and `Anonymous` the caller without a TLS identity, as they do inside a
 * group: the reference's third rule set lists `Anonymous` as a member while its groups file names
 * that group `anonymous`, and a policies file without a groups file can still say `members: ["*"]`.
 * Any other name is an undefined group (an error at load).
 */
import { ANONYMOUS } from '../policy-facts';
import type { Audience } from './model';

export const EVERYONE = '*';

export function isKnownMember(member: string, groups: ReadonlyMap<string, readonly string[]>): boolean {
  return groups.has(member) || member === EVERYONE || member === ANONYMOUS;
}

export function audienceOf(members: readonly string[], groups: ReadonlyMap<string, readonly string[]>): Audience {
  const users = new Set<string>();
  let everyone = false;
  const add = (user: string): void => {
    if (user === EVERYONE) everyone = true;
    else users.add(user);
  };
  for (const member of members) {
    const group = groups.get(member);
    if (group !== undefined) group.forEach(add);
    else add(member);
  }
  return { everyone, users };
}

export function includes(audience: Audience, user: string): boolean {
  return audience.everyone || audience.users.has(user);
}
