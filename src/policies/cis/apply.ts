/**
 * Where the CIS pack meets the rest of the pipeline, pure: a container's failing checks become
 * violations of its judgement (so AuthZ, events and periodic treat them as they treat rules: KILL
 * denies or stops, WARN records), and exec or swarm requests' failing checks a source verdict.
 */
import type { SourceVerdict } from '../../engine/decide';
import type { Judgement, Violation } from '../../engine/judge';
import { CIS_CATALOG } from './catalog';
import { cisViolations } from './judge';
import type { CisCheckResult } from './model';

export const CIS_SOURCE = 'cis-docker';

/** The judgement with the pack's failing checks added as violations (a whitelisted container is spared, as from rules). */
export function addCisViolations(judgement: Judgement, results: readonly CisCheckResult[]): Judgement {
  if (judgement.whitelisted) return judgement;
  const added: Violation[] = cisViolations(results).map((v) => ({ rule: `${CIS_SOURCE} ${v.cis}`, mode: v.mode, reason: v.reason }));
  if (added.length === 0) return judgement;
  const mode = judgement.mode === 'KILL' || added.some((v) => v.mode === 'KILL') ? 'KILL' : judgement.mode;
  return { ...judgement, violations: [...judgement.violations, ...added], mode };
}

/** Failing checks of a request (exec, swarm) as source verdicts, one per mode. */
export function cisRequestVerdicts(results: readonly CisCheckResult[]): SourceVerdict[] {
  const violations = cisViolations(results);
  return (['KILL', 'WARN'] as const)
    .map((mode) => ({ source: CIS_SOURCE, allow: false, mode, reasons: violations.filter((v) => v.mode === mode).map((v) => v.reason) }))
    .filter((verdict) => verdict.reasons.length > 0);
}

/** Every container-scope check answered `excluded`: what /report shows for a whitelisted container. */
export function allExcluded(results: readonly CisCheckResult[]): CisCheckResult[] {
  return results.map((r) => ({ ...r, result: 'excluded' as const }));
}

/** The container-scope checks of the catalogue, for the report's columns. */
export const CONTAINER_CHECKS = CIS_CATALOG.filter((check) => check.scope === 'container');
