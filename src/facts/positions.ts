import type { ContainerSummary } from '../docker/client';
import { mapLimit } from '../util/concurrency';

/**
 * 0-based positions among running containers, oldest first. The container list gives creation
 * times in whole seconds; containers created within the same second are ordered by their precise
 * `Created` (RFC 3339 with nanoseconds, from inspect), fetched only for those ties.
 */
export async function resolvePositions(
  listed: readonly ContainerSummary[],
  preciseCreated: (id: string) => Promise<string | undefined>,
  concurrency = 16,
): Promise<Map<string, number>> {
  const bySecond = new Map<number, ContainerSummary[]>();
  for (const summary of listed) bySecond.set(summary.created, [...(bySecond.get(summary.created) ?? []), summary]);
  const tied = [...bySecond.values()].filter((group) => group.length > 1).flat();
  const precise = new Map<string, string>();
  await mapLimit(tied, concurrency, async (summary) => {
    const created = await preciseCreated(summary.id).catch(() => undefined);
    if (created) precise.set(summary.id, created);
  });
  const ordered = [...listed].sort(
    (a, b) => a.created - b.created || comparePrecise(precise.get(a.id), precise.get(b.id)) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  return new Map(ordered.map((summary, index) => [summary.id, index]));
}

/** RFC 3339 timestamps of the same second compare by their fraction; pad it so "…5Z" < "…45Z" works. */
function comparePrecise(a: string | undefined, b: string | undefined): number {
  if (a === undefined || b === undefined) return 0;
  const fa = fraction(a);
  const fb = fraction(b);
  return fa < fb ? -1 : fa > fb ? 1 : 0;
}

function fraction(timestamp: string): string {
  const match = /\.(\d+)/.exec(timestamp);
  return (match?.[1] ?? '').padEnd(9, '0');
}
