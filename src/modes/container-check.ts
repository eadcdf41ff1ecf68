import type { Logger } from 'pino';
import type { Enforcer } from '../actions/enforcer';
import type { Stopper } from '../actions/stopper';
import { DockerError } from '../docker/client';
import { judgeContainer, type JudgeOptions } from '../engine/judge';
import type { FactsRequest, ContainerInspector } from '../facts/inspector';
import type { Metrics } from '../metrics';
import type { ActionTaken } from '../rules/api';
import type { RuleSet } from '../rules/rule-set';

export type CheckOutcome = ActionTaken | 'compliant' | 'skipped' | 'failed';

export interface ContainerCheckDeps {
  readonly inspector: ContainerInspector;
  readonly enforcer: Enforcer;
  readonly stopper: Stopper;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly judgeOptions: JudgeOptions;
  rules(): RuleSet;
}

/**
 * One container, end to end: facts -> judge -> action. Shared by periodic and event checks.
 * A container that vanished or could not be fetched is logged and skipped, never fatal.
 */
export async function checkContainer(deps: ContainerCheckDeps, request: FactsRequest): Promise<CheckOutcome> {
  if (deps.stopper.isStopping(request.id)) return 'skipped';
  const log = deps.log;
  let container;
  try {
    container = await deps.inspector.container(request);
  } catch (err: unknown) {
    if (err instanceof DockerError && err.notFound) {
      log.debug({ containerId: request.id, source: request.checkSource }, 'container vanished before it could be checked');
      return 'skipped';
    }
    log.warn({ err, containerId: request.id, source: request.checkSource }, 'cannot fetch container details; skipping it this time');
    return 'failed';
  }
  const rules = deps.rules();
  const deferred = request.withMetrics === 'lazy' && !deps.inspector.metricsDisabled ? (['metrics'] as const) : [];
  let judgement = await judgeContainer(container, rules.containerRules, rules.whitelistRules, deps.judgeOptions, rules.evaluator, deferred);
  if (judgement.deferredRead.includes('metrics')) {
    // Some rule reads metrics: judge again with a real stats sample (only those checks pay for it).
    try {
      container = await deps.inspector.container({ ...request, withMetrics: true, refresh: false });
    } catch (err: unknown) {
      log.warn({ err, containerId: request.id, source: request.checkSource }, 'cannot fetch container metrics; skipping it this time');
      return 'failed';
    }
    judgement = await judgeContainer(container, rules.containerRules, rules.whitelistRules, deps.judgeOptions, rules.evaluator);
  }
  deps.metrics.containersChecked.inc({ source: request.checkSource });
  if (judgement.whitelisted) log.debug({ containerId: container.id, name: container.name, by: judgement.whitelisted }, 'container is on a global whitelist');
  // A stop may have started while we were fetching (an event and a scan at once): do not repeat it.
  if (deps.stopper.isStopping(request.id)) return 'skipped';
  return deps.enforcer.handleContainer(container, judgement) ?? 'compliant';
}
