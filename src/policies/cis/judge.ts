/**
 * The CIS pack's judge, pure: the packs file's settings (mode, overrides, exclusions) applied to the
 * checks' findings. The check logic is a parameter, so the judge is tested with fakes and the checks
 * (checks.ts) without the file.
 */
import { CIS_CATALOG, cisCheck, type CisCatalogEntry, type CisScope } from './catalog';
import type { CisCheckLogic, CisCheckResult, CisFinding, CisPackConfig, ContainerSubject, ExecSubject, Exclusion, PackMode } from './model';

export interface CisViolation {
  readonly id: string;
  readonly cis: string;
  readonly mode: 'WARN' | 'KILL';
  /** `CIS 5.5 privileged-container: <detail, or the check's title>`. */
  readonly reason: string;
}

/** The slug of `checkId` (a slug or CIS number); unknown ids as they are. */
function slugOf(checkId: string): string {
  return cisCheck(checkId)?.id ?? checkId;
}

/** Informational checks are always off; otherwise the check's override, else the pack's mode. */
export function effectiveMode(config: CisPackConfig, checkId: string): PackMode {
  const check = cisCheck(checkId);
  if (check?.informational) return 'off';
  return config.checkModes.get(slugOf(checkId)) ?? config.mode;
}

function spares(exclusion: Exclusion | undefined, name: string, image: string): boolean {
  if (exclusion === undefined) return false;
  // No name yet (a create without one: dockerd picks it later) matches no name exclusion, as the
  // WHITE_LIST spares no nameless container: `.*` must not spare every anonymous create.
  if (name !== '' && exclusion.names.some((regex) => regex.test(name))) return true;
  return image !== '' && exclusion.images.some((regex) => regex.test(image));
}

/**
 * Whether the container is spared from the check, pack-wide or for that check only. `name` without
 * Docker's leading `/`; `image` as the container names it (Config.Image), matched as text.
 */
export function excluded(config: CisPackConfig, checkId: string, name: string, image: string): boolean {
  const bare = name.replace(/^\//, '');
  return spares(config.exclude, bare, image) || spares(config.excludeChecks.get(slugOf(checkId)), bare, image);
}

const TITLES = new Map(CIS_CATALOG.map((entry) => [entry.id, entry.title]));

const NOT_APPLICABLE: CisFinding = { result: 'not_applicable' };

function logicById(logic: readonly CisCheckLogic[]): Map<string, CisCheckLogic> {
  return new Map(logic.map((check) => [check.id, check]));
}

/**
 * A check that throws (an inspect shaped unlike what it expects) fails rather than stopping the
 * whole judgement: fail-closed, as the rules are, and its mode decides whether that matters.
 */
function findingOf(check: CisCheckLogic | undefined, run: (check: CisCheckLogic) => CisFinding | undefined): CisFinding {
  if (check === undefined) return NOT_APPLICABLE;
  try {
    return run(check) ?? NOT_APPLICABLE;
  } catch (err: unknown) {
    return { result: 'fail', detail: `the check failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** One check of one scope, with everything the settings say about it resolved once. */
interface PlannedCheck {
  readonly entry: CisCatalogEntry;
  readonly logic: CisCheckLogic | undefined;
  readonly mode: PackMode;
  readonly exclusion: Exclusion | undefined;
}

/**
 * The checks of each scope with their logic, mode and exclusion, resolved once per loaded packs
 * file (a create decision judges ~25 checks; looking each up by key every time cost microseconds).
 */
const plans = new WeakMap<CisPackConfig, WeakMap<readonly CisCheckLogic[], Map<CisScope, PlannedCheck[]>>>();

function planFor(config: CisPackConfig, logic: readonly CisCheckLogic[], scope: CisScope): PlannedCheck[] {
  let byLogic = plans.get(config);
  if (!byLogic) plans.set(config, (byLogic = new WeakMap()));
  let byScope = byLogic.get(logic);
  if (!byScope) byLogic.set(logic, (byScope = new Map()));
  let plan = byScope.get(scope);
  if (!plan) {
    const byId = logicById(logic);
    plan = CIS_CATALOG.filter((entry) => entry.scope === scope).map((entry) => ({ entry, logic: byId.get(entry.id), mode: effectiveMode(config, entry.id), exclusion: config.excludeChecks.get(entry.id) }));
    byScope.set(scope, plan);
  }
  return plan;
}

function judgeScope(
  config: CisPackConfig,
  logic: readonly CisCheckLogic[],
  scope: CisScope,
  container: { readonly name: string; readonly image: string } | undefined,
  /** The check's finding in this form; undefined when the check lacks the form. */
  run: (check: CisCheckLogic) => CisFinding | undefined,
  enforcedOnly: boolean,
): CisCheckResult[] {
  const name = container?.name.replace(/^\//, '') ?? '';
  const image = container?.image ?? '';
  const packWide = container !== undefined && spares(config.exclude, name, image);
  const out: CisCheckResult[] = [];
  for (const { entry, logic: check, mode, exclusion } of planFor(config, logic, scope)) {
    if (enforcedOnly && mode === 'off') continue;
    if (container !== undefined && (packWide || spares(exclusion, name, image))) {
      out.push({ id: entry.id, cis: entry.cis, result: 'excluded', mode });
      continue;
    }
    const finding = findingOf(check, run);
    out.push(finding.detail === undefined ? { id: entry.id, cis: entry.cis, result: finding.result, mode } : { id: entry.id, cis: entry.cis, result: finding.result, mode, detail: finding.detail });
  }
  return out;
}

/**
 * One result per container-scope check, in catalogue order. `enforcedOnly`: skip checks whose mode
 * is off (admission needs violations only; the report wants every check).
 */
export function judgeContainerCis(config: CisPackConfig, logic: readonly CisCheckLogic[], subject: ContainerSubject, name: string, image: string, enforcedOnly = false): CisCheckResult[] {
  return judgeScope(config, logic, 'container', { name, image }, (check) => check.container?.(subject), enforcedOnly);
}

/** One result per exec-scope check; exclusions apply by the exec's container. */
export function judgeExecCis(config: CisPackConfig, logic: readonly CisCheckLogic[], subject: ExecSubject, containerName: string, image: string): CisCheckResult[] {
  return judgeScope(config, logic, 'exec', { name: containerName, image }, (check) => check.exec?.(subject), false);
}

/** One result per swarm-scope check; a request names no container, so no exclusion applies. */
export function judgeRequestCis(config: CisPackConfig, logic: readonly CisCheckLogic[], action: string): CisCheckResult[] {
  return judgeScope(config, logic, 'swarm', undefined, (check) => check.request?.(action), false);
}

/** The failing results whose mode is not off: what WARN records and KILL denies or stops. */
export function cisViolations(results: readonly CisCheckResult[]): CisViolation[] {
  const out: CisViolation[] = [];
  for (const result of results) {
    if (result.result !== 'fail' || result.mode === 'off') continue;
    const what = result.detail ?? TITLES.get(result.id) ?? result.id;
    out.push({ id: result.id, cis: result.cis, mode: result.mode, reason: `CIS ${result.cis} ${result.id}: ${what}` });
  }
  return out;
}
