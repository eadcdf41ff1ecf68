import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Enforcer } from '../actions/enforcer';
import { CONFIG_FIELD_NAMES } from '../authz/container-schema';
import { buildRequest, missingBodyReason, parseEnvelope, type AuthzEnvelope } from '../authz/request';
import type { Config } from '../config';
import { DockerError, type DockerClient } from '../docker/client';
import { judgeContainer, judgeRequest, reasonsOf, type Judgement, type JudgeOptions } from '../engine/judge';
import { buildContainer } from '../facts/container-facts';
import type { ContainerInspector } from '../facts/inspector';
import type { Metrics } from '../metrics';
import type { Container, ContainerParams, HostConfig, Request } from '../rules/api';
import type { RuleSet } from '../rules/rule-set';

/** Docker's AuthZ reply. `Err` (a plugin fault) is never used: faults get the default action. */
export interface AuthzReply {
  readonly Allow: boolean;
  readonly Msg?: string;
}

export type AuthzDecision = 'allow' | 'deny' | 'warn' | 'default_allow' | 'default_deny';

export interface AuthzDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly docker: DockerClient;
  readonly inspector: ContainerInspector;
  readonly enforcer: Enforcer;
  readonly judgeOptions: JudgeOptions;
  rules(): RuleSet;
}

interface Outcome {
  readonly decision: AuthzDecision;
  readonly reply: AuthzReply;
  readonly violated: readonly string[];
  readonly request?: Request;
}

/**
 * Decides AuthZReq calls: request rules for every call, container rules for container create and
 * update (the container as it would be). Never throws: anything unexpected gets the default action
 * (DEFAULT_ACTION_ALLOW), so dockerd never sees a plugin error.
 */
export class AuthzService {
  constructor(private readonly deps: AuthzDeps) {}

  /** Decides one AuthZReq envelope; `problem` says why the envelope could not even be read. */
  async authorize(body: Buffer, problem?: string): Promise<AuthzReply> {
    const started = process.hrtime.bigint();
    let outcome: Outcome;
    try {
      outcome = problem ? this.defaultAction(`malformed AuthZ request: ${problem}`) : await this.decide(body);
    } catch (err: unknown) {
      this.deps.log.error({ err }, 'authz request failed unexpectedly; answering with the default action');
      outcome = this.defaultAction(faultProblem(err));
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.deps.metrics.authzRequests.inc({ decision: outcome.decision });
    this.deps.metrics.authzDuration.observe(seconds);
    if (this.deps.config.logAuthzRequests) this.logDecision(outcome, seconds);
    return outcome.reply;
  }

  /**
   * The default action's reply (DEFAULT_ACTION_ALLOW) to a request that could not be decided. Only
   * reads the config: it is the last resort when deciding itself failed, so it must not fail too.
   */
  defaultReply(problem: string): AuthzReply {
    return this.deps.config.defaultActionAllow ? { Allow: true } : { Allow: false, Msg: `${problem}; denied as default action` };
  }

  private async decide(body: Buffer): Promise<Outcome> {
    const envelope = parseEnvelope(body);
    if (!envelope.ok) return this.defaultAction(`malformed AuthZ request: ${envelope.problem}`);
    const built = buildRequest(envelope.value);
    if (!built.ok) return this.defaultAction(`malformed AuthZ request: ${built.problem}`);
    const request = built.value;
    const requestJson = built.json;
    // One request is judged with one rule set, even if a reload swaps it meanwhile.
    const rules = this.deps.rules();

    // Request rules and container rules are judged concurrently, so they share one sandbox batch
    // (one round trip to the rule worker) instead of paying for two.
    const [requestJudgement, containerCheck] = await Promise.all([
      judgeRequest(request, rules.requestRules, this.deps.judgeOptions, rules.evaluator, requestJson),
      this.containerFor(request, envelope.value).then(async (container) =>
        container === undefined || container === 'default' ? container : { container, judgement: await this.judge(container, rules) },
      ),
    ]);
    if (requestJudgement.violations.length > 0) {
      const denied = requestJudgement.mode === 'KILL';
      this.deps.enforcer.handleRequest(request, requestJudgement, denied ? 'denied' : 'warned');
      this.logViolation(request, requestJudgement, denied, '');
      if (denied) return this.deny(request, reasonsOf(requestJudgement));
    }

    const missing = this.deps.config.authzRequireBody ? missingBodyReason(request, envelope.value) : undefined;
    if (missing) {
      const denied = this.deps.config.mode === 'KILL';
      this.deps.log.warn({ method: request.method, uri: request.uri, action: request.action, denied }, missing);
      if (denied) return this.deny(request, [`${missing}; denied (AUTHZ_REQUIRE_BODY)`]);
    }

    if (containerCheck === 'default') return this.defaultAction(`cannot inspect the container of ${request.method} ${request.path}`, request);
    if (containerCheck && containerCheck.judgement.violations.length > 0) {
      const { container, judgement } = containerCheck;
      const denied = judgement.mode === 'KILL';
      this.deps.enforcer.handleContainer(container, judgement, denied ? 'denied' : 'warned');
      this.logViolation(request, judgement, denied, container.name);
      if (denied) return this.deny(request, reasonsOf(judgement));
      return { decision: 'warn', reply: { Allow: true }, violated: reasonsOf(judgement), request };
    }
    const warned = requestJudgement.violations.length > 0 || missing !== undefined;
    return { decision: warned ? 'warn' : 'allow', reply: { Allow: true }, violated: reasonsOf(requestJudgement), request };
  }

  /** The container a create or update would produce, in inspect shape; undefined for other calls. */
  private async containerFor(request: Request, envelope: AuthzEnvelope): Promise<Container | undefined | 'default'> {
    const owner = envelope.User;
    if (request.action === 'containersCreate' && request.method === 'POST') {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const name = typeof request.query['name'] === 'string' ? request.query['name'] : '';
      const config: Record<string, unknown> = {};
      for (const key of CONFIG_FIELD_NAMES) if (key in body) config[key] = body[key];
      const params: ContainerParams = {
        Name: name === '' ? '' : `/${name}`,
        Config: config,
        HostConfig: isObject(body['HostConfig']) ? (body['HostConfig'] as HostConfig) : {},
      };
      return this.authzContainer('', params, owner);
    }
    if (request.action === 'containersUpdate' && request.method === 'POST') {
      const id = decodeURIComponent(request.path.split('/')[2] ?? '');
      let current: ContainerParams;
      try {
        current = await this.deps.docker.inspect(id);
      } catch (err: unknown) {
        // dockerd answers 404 itself; anything else means we cannot tell what the update would do.
        if (err instanceof DockerError && err.notFound) return undefined;
        this.deps.log.error({ err, container: id }, 'cannot inspect the container being updated');
        return 'default';
      }
      const params: ContainerParams = { ...current, HostConfig: applyUpdate(current.HostConfig ?? {}, (request.body ?? {}) as Record<string, unknown>) };
      return this.authzContainer(current.Id ?? id, params, owner);
    }
    return undefined;
  }

  /** A Container for AuthZ checks: no metrics, position deferred (see judge()). */
  private async authzContainer(id: string, params: ContainerParams, owner: string): Promise<Container> {
    return buildContainer({ id, params, metrics: {}, image: await this.deps.inspector.imageName(params), position: 0, checkSource: 'authz', owner });
  }

  /** Judges with `position` deferred: the running-container count is fetched only if a rule reads it. */
  private async judge(container: Container, rules: RuleSet): Promise<Judgement> {
    const { judgeOptions } = this.deps;
    const first = await judgeContainer(container, rules.containerRules, rules.whitelistRules, judgeOptions, rules.evaluator, ['position']);
    if (!first.deferredRead.includes('position')) return first;
    const running = (await this.deps.docker.listRunning()).filter((c) => c.id !== container.id).length;
    const positioned = buildContainer({ ...container, position: running, listedName: container.name });
    return judgeContainer(positioned, rules.containerRules, rules.whitelistRules, judgeOptions, rules.evaluator);
  }

  private deny(request: Request, reasons: readonly string[]): Outcome {
    return { decision: 'deny', reply: { Allow: false, Msg: reasons.join(', ') }, violated: reasons, request };
  }

  private defaultAction(problem: string, request?: Request): Outcome {
    const allow = this.deps.config.defaultActionAllow;
    this.deps.log.warn({ problem, allow }, 'answering an AuthZ request with the default action (DEFAULT_ACTION_ALLOW)');
    return {
      decision: allow ? 'default_allow' : 'default_deny',
      reply: this.defaultReply(problem),
      violated: [],
      request,
    };
  }

  private logViolation(request: Request, judgement: Judgement, denied: boolean, container: string): void {
    this.deps.log.warn(
      { method: request.method, uri: request.uri, action: request.action, user: request.user || '[unknown]', container, rules: reasonsOf(judgement), mode: judgement.mode },
      denied ? 'authorization denied: rules violated' : 'rules violated; allowed in WARN mode',
    );
  }

  /** One JSON line per decision (LOG_AUTHZ_REQUESTS): no Env values, no headers. */
  private logDecision(outcome: Outcome, seconds: number): void {
    const request = outcome.request;
    this.deps.log.info(
      {
        decisionId: randomUUID(),
        user: request?.user || '[unknown]',
        method: request?.method ?? null,
        uri: request?.uri ?? null,
        action: request?.action ?? null,
        allow: outcome.reply.Allow,
        decision: outcome.decision,
        violated: outcome.violated,
        latencyMs: Number((seconds * 1000).toFixed(3)),
      },
      'authz decision',
    );
  }
}

/** What the default-action reply says when deciding failed unexpectedly. */
export function faultProblem(err: unknown): string {
  return `authorization plugin error: ${(err as Error)?.message ?? String(err)}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** dockerd's update semantics: zero values leave a setting unchanged; a restart policy with a name replaces it. */
export function applyUpdate(current: HostConfig, update: Record<string, unknown>): HostConfig {
  const next: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(update)) {
    if (key === 'RestartPolicy') {
      if (isObject(value) && typeof value['Name'] === 'string' && value['Name'] !== '') next[key] = value;
      continue;
    }
    if (value === null || value === 0 || value === '' || (Array.isArray(value) && value.length === 0)) continue;
    next[key] = value;
  }
  return next as HostConfig;
}
