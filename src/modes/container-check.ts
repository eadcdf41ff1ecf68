import type { Logger } from 'pino';
import type { Enforcer } from '../actions/enforcer';
import type { Stopper } from '../actions/stopper';
import { DockerError } from '../docker/client';
import { judgeContainer, type JudgeOptions } from '../engine/judge';
import type { FactsRequest, ContainerInspector } from '../facts/inspector';
import type { Metrics } from '../metrics';
import type { ActionTaken } from '../rules/api';
import type { RuleSet } from '../rules/rule-set';
import type { DockerClient } from '../docker/client';
import type { Judgement } from '../engine/judge';
import { IMAGE_TRUST_PREFIX, IMAGE_TRUST_SOURCE, imageTrustFact } from '../policies/image-trust/gate';
import type { ImageTrustVerifier, TrustVerdict } from '../policies/image-trust/verifier';
import type { Container, Mode } from '../rules/api';
import type { TrustDecisions } from '../store/trust-decisions';
import { addCisViolations, allExcluded } from '../policies/cis/apply';
import { CIS_CHECKS } from '../policies/cis/checks';
import { judgeContainerCis } from '../policies/cis/judge';
import type { LoadedPacks } from '../policies/cis/packs-file';
import type { CisReport } from '../store/cis-report';

export type CheckOutcome = ActionTaken | 'compliant' | 'skipped' | 'failed';

/** What to check; `position` may be a function, called only if some rule reads `c.position`. */
export interface CheckRequest extends Omit<FactsRequest, 'position'> {
  readonly position: number | (() => Promise<number>);
}

export interface ContainerCheckDeps {
  readonly inspector: ContainerInspector;
  readonly enforcer: Enforcer;
  readonly stopper: Stopper;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly judgeOptions: JudgeOptions;
  rules(): RuleSet;
  /** Built-in packs in force (PACKS_PATH), from the same snapshot as the rules. */
  packs?(): LoadedPacks | undefined;
  /** Where the CIS results of each check go (GET /report). */
  readonly cisReport?: CisReport;
  /** The image-trust gate (TRUSTED_REGISTRIES); absent = no gate. */
  readonly imageTrust?: { readonly verifier: ImageTrustVerifier; readonly decisions: TrustDecisions; readonly docker: Pick<DockerClient, 'inspect'> };
}

/**
 * One container, end to end: facts -> judge -> action. Shared by periodic and event checks.
 * A container that vanished or could not be fetched is logged and skipped, never fatal.
 */
export async function checkContainer(deps: ContainerCheckDeps, request: CheckRequest): Promise<CheckOutcome> {
  if (deps.stopper.isStopping(request.id)) return 'skipped';
  const log = deps.log;
  // Slow facts start deferred: a stats sample (~1-2 s) and, for events, the position (a container
  // listing). The container is judged without them, and only facts some rule read are fetched
  // before judging again. Each round fetches at least one more fact, so this ends.
  const pending = new Set<'metrics' | 'position'>();
  if (request.withMetrics === 'lazy' && !deps.inspector.metricsDisabled) pending.add('metrics');
  if (typeof request.position === 'function') pending.add('position');
  let position: number | undefined = typeof request.position === 'number' ? request.position : undefined;
  let params = request.params;
  const factsRequest = (refresh: boolean): FactsRequest => ({
    ...request,
    refresh,
    params,
    position: position ?? 0,
    withMetrics: request.withMetrics === true || (request.withMetrics === 'lazy' && !pending.has('metrics')),
  });
  let container: Container;
  let judgement: Judgement;
  let trust: TrustVerdict | undefined;
  const rules = deps.rules();
  for (let round = 0; ; round++) {
    try {
      container = await deps.inspector.container(factsRequest(round === 0 ? (request.refresh ?? false) : false));
    } catch (err: unknown) {
      if (err instanceof DockerError && err.notFound) {
        log.debug({ containerId: request.id, source: request.checkSource }, 'container vanished before it could be checked');
        return 'skipped';
      }
      log.warn({ err, containerId: request.id, source: request.checkSource }, 'cannot fetch container details; skipping it this time');
      return 'failed';
    }
    params = container.params;
    if (deps.imageTrust) {
      trust ??= await verifyRunningImage(deps.imageTrust, container);
      container = { ...container, imageTrust: imageTrustFact(trust) };
    }
    judgement = await judgeContainer(container, rules.containerRules, rules.whitelistRules, deps.judgeOptions, rules.evaluator, [...pending]);
    const needed = judgement.deferredRead.filter((fact): fact is 'metrics' | 'position' => pending.has(fact as 'metrics'));
    if (needed.length === 0) break;
    for (const fact of needed) pending.delete(fact);
    if (needed.includes('position') && typeof request.position === 'function') position = await request.position();
  }
  if (trust && deps.imageTrust) judgement = withTrustVerdict(judgement, trust, deps.judgeOptions.defaultMode, deps, request.checkSource);
  judgement = withCisPack(deps, container, judgement, request.checkSource);
  deps.metrics.containersChecked.inc({ source: request.checkSource });
  if (judgement.whitelisted) log.debug({ containerId: container.id, name: container.name, by: judgement.whitelisted }, 'container is on a global whitelist');
  // A stop may have started while we were fetching (an event and a scan at once): do not repeat it.
  if (deps.stopper.isStopping(request.id)) return 'skipped';
  return deps.enforcer.handleContainer(container, judgement) ?? 'compliant';
}

/** The verdict on the image a container runs, by the container's immutable image id. */
async function verifyRunningImage(gate: NonNullable<ContainerCheckDeps['imageTrust']>, container: Container): Promise<TrustVerdict> {
  let imageId = container.params.Image;
  let configImage = container.params.Config?.Image ?? container.image;
  if (!imageId) {
    // Params disabled (DISABLE_PARAMS): the gate still needs the image id.
    const params = await gate.docker.inspect(container.id);
    imageId = params.Image ?? '';
    configImage = params.Config?.Image ?? configImage;
  }
  return gate.verifier.containerImage(imageId, configImage);
}

/**
 * An untrusted image is a violation `image trust: …` in MODE, unless a global whitelist spared the
 * container. A registry that gave no answer is not: stopping every running container while a
 * registry is down would turn an outage into a bigger one (admission, in AuthZ, stays fail-closed).
 */
function withTrustVerdict(judgement: Judgement, trust: TrustVerdict, mode: Mode, deps: ContainerCheckDeps, source: CheckRequest['checkSource']): Judgement {
  if (trust.trusted || judgement.whitelisted) return judgement;
  if (trust.unavailable) {
    deps.log.warn({ image: trust.image, reason: trust.reason, source }, 'image trust could not be verified; the container is left alone until the registry answers');
    deps.imageTrust?.decisions.record(trust, source, 'unverified');
    return judgement;
  }
  deps.imageTrust?.decisions.record(trust, source, mode === 'KILL' ? 'stopped' : 'warned');
  const violation = { rule: IMAGE_TRUST_SOURCE, mode, reason: `${IMAGE_TRUST_PREFIX}${trust.reason ?? 'not trusted'}` };
  return { ...judgement, violations: [...judgement.violations, violation], mode: judgement.mode === 'KILL' || mode === 'KILL' ? 'KILL' : judgement.mode };
}

/**
 * The CIS pack's runtime checks on `docker inspect`: results for /report, failing checks as
 * violations in their own modes. Without params (DISABLE_PARAMS) there is nothing to judge.
 */
function withCisPack(deps: ContainerCheckDeps, container: Container, judgement: Judgement, source: CheckRequest['checkSource']): Judgement {
  const cis = deps.packs?.()?.cis;
  if (!cis || Object.keys(container.params).length === 0) return judgement;
  const results = judgeContainerCis(cis, CIS_CHECKS, { form: 'runtime', params: container.params }, container.name, container.image);
  deps.cisReport?.record({ containerId: container.id, name: container.name, image: container.image, time: new Date(), source, results: judgement.whitelisted ? allExcluded(results) : results });
  return addCisViolations(judgement, results);
}
