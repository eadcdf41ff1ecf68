/**
 * AuthZ plugin mode: envelope -> facts (facts/request.ts) -> request rules and container rules judge
 * -> one decision (engine/decide.ts) -> act once (reply, detections, triggers, metrics, one log line).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Enforcer } from '../actions/enforcer';
import type { Config } from '../config';
import { DockerError, type DockerClient } from '../docker/client';
import { decide, type Decision, type DecisionInput } from '../engine/decide';
import { judgeContainer, judgeRequest, type Judgement, type JudgeOptions } from '../engine/judge';
import { buildContainer } from '../facts/container-facts';
import { containerAfterLegacyStart, containersFromCreate, readContainerWrapper } from '../facts/container-create';
import { containerAfterUpdate } from '../facts/container-update';
import { parseEnvelope } from '../facts/envelope';
import type { ContainerInspector } from '../facts/inspector';
import { redactRequest, redactUri } from '../facts/redact';
import { bindDevice, policyFacts, type SubjectLookups } from '../facts/subjects';
import { judgePolicies, neededLookups, type PolicyVerdict } from '../policies/leash/judge';
import type { LoadedPolicies } from '../policies/loaded';
import { ANONYMOUS, type PolicyFacts } from '../policies/policy-facts';
import { requestFacts, type RequestFacts } from '../facts/request';
import { formValue } from '../facts/request-uri';
import { runsBelow } from '../facts/api-version';
import type { Metrics } from '../metrics';
import type { Container, ContainerParams, Request } from '../rules/api';
import type { RuleSet } from '../rules/rule-set';
import { errorMessage } from '../util/errors';
import { imageTrustFact, trustSourceVerdict, verifyChecks, type GateOutcome } from '../policies/image-trust/gate';
import { trustChecks } from '../policies/image-trust/targets';
import type { ImageTrustVerifier } from '../policies/image-trust/verifier';
import type { TrustDecisions } from '../store/trust-decisions';
import { BINDING_ACTIONS, exposes, isOwnContainer, knowsOwnContainer, namesPlugin, protectedTarget, selfProtectionVerdict, type ProtectedTarget, type SelfProtectionSettings } from '../policies/self-protection';
import type { SourceVerdict as SelfVerdict } from '../engine/decide';
import type { SourceVerdict } from '../engine/decide';
import { containerName } from '../facts/container-facts';
import { addCisViolations, cisRequestVerdicts } from '../policies/cis/apply';
import { CIS_CHECKS } from '../policies/cis/checks';
import { effectiveMode, judgeContainerCis, judgeExecCis, judgeRequestCis } from '../policies/cis/judge';
import type { CisPackConfig } from '../policies/cis/model';
import type { LoadedPacks } from '../policies/cis/packs-file';

/** Docker's AuthZ reply. `Err` (a plugin fault) is never used: dockerd would fail the call with an opaque message. */
export interface AuthzReply {
  readonly Allow: boolean;
  readonly Msg?: string;
}

export type { DecisionLabel as AuthzDecision } from '../engine/decide';

/**
 * Who calls the plugin. `host`: the calling host's name, from the client certificate of the
 * AUTHZ_TLS_PORT listener; absent for local callers (HTTP_PORT, AUTHZ_SOCKET), whose host is HOST_NAME.
 */
export interface AuthzCaller {
  readonly host?: string | undefined;
}

const HEALTHCHECK_CACHE_MS = 30_000;
const HEALTHCHECK_CACHE_LIMIT = 1024;

/** How a create without an image is named (the original's value). */
export const UNDEFINED_IMAGE = 'UNDEFINED';

export interface AuthzDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly docker: DockerClient;
  readonly inspector: ContainerInspector;
  readonly enforcer: Enforcer;
  readonly judgeOptions: JudgeOptions;
  /** Everything enforced right now, as one snapshot (rules and policies swap together on reload). */
  snapshot(): { readonly rules: RuleSet; readonly policies: LoadedPolicies | undefined; readonly packs?: LoadedPacks | undefined };
  /** The engine's API version when known (what a request without a version prefix runs at). */
  engineApiVersion?(): string | undefined;
  /** The image-trust gate (TRUSTED_REGISTRIES); absent = no gate. */
  readonly imageTrust?: { readonly verifier: ImageTrustVerifier; readonly decisions: TrustDecisions };
  /** What the enforcer knows of itself right now (SELF_PROTECTION); absent = nothing to protect. */
  selfProtection?(): SelfProtectionSettings;
}

interface ContainerCheck {
  readonly container: Container;
  readonly judgement: Judgement;
}

interface PolicyJudgement {
  readonly verdict: PolicyVerdict;
  readonly facts: PolicyFacts;
}

interface Judged {
  readonly decision: Decision;
  /** The calling host (HOST_NAME for local callers). */
  readonly host: string;
  /** The caller is another host (AUTHZ_TLS_PORT). */
  readonly remote: boolean;
  readonly facts?: RequestFacts;
  readonly requestJudgement?: Judgement;
  readonly containerChecks: readonly ContainerCheck[];
  readonly policy?: PolicyJudgement;
  readonly trust?: GateOutcome;
  readonly self?: { readonly verdict: SelfVerdict; readonly subject: string };
  readonly cis?: readonly SourceVerdict[];
}

/** What `explain` tells beyond the reply (eval --request). */
export interface Explained {
  readonly reply: AuthzReply;
  readonly decision: Decision;
  readonly policy?: PolicyVerdict;
}

/**
 * Decides AuthZReq calls: request rules for every call; container rules for what a create, an
 * update or a legacy start would produce. Never throws and never answers with a plugin error.
 */
export class AuthzService {
  private readonly healthchecks = new Map<string, { readonly value: boolean | undefined; readonly until: number }>();

  constructor(private readonly deps: AuthzDeps) {}

  /** Decides one AuthZReq envelope; `problem` says why the envelope could not even be read. */
  async authorize(body: Buffer, problem?: string, caller?: AuthzCaller): Promise<AuthzReply> {
    return (await this.explain(body, problem, caller)).reply;
  }

  /** `authorize`, also telling what decided (the policy rule set, policy and checks). */
  async explain(body: Buffer, problem?: string, caller?: AuthzCaller): Promise<Explained> {
    const started = process.hrtime.bigint();
    const remote = caller?.host !== undefined;
    const host = caller?.host ?? this.deps.config.hostName;
    let judged: Judged;
    try {
      judged = problem !== undefined ? this.notARequest(problem, host, remote) : await this.judge(body, host, remote);
    } catch (err: unknown) {
      this.deps.log.error({ err }, 'authz decision failed unexpectedly; judged as a fault');
      judged = { decision: this.decide({ faults: [errorMessage(err)] }), host, remote, containerChecks: [] };
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.act(judged, seconds);
    return { reply: replyOf(judged.decision), decision: judged.decision, ...(judged.policy ? { policy: judged.policy.verdict } : {}) };
  }

  /**
   * The reply when deciding itself failed (the handler's last resort): a fault, so denied in KILL
   * mode and allowed in WARN mode, never the default action. Only reads the config: it cannot fail.
   */
  faultReply(problem: string): AuthzReply {
    return replyOf(this.decide({ faults: [problem] }));
  }

  private decide(input: Omit<DecisionInput, 'mode' | 'defaultActionAllow' | 'allowUnknownActions' | 'requireBody'>): Decision {
    const { config } = this.deps;
    return decide({ mode: config.mode, defaultActionAllow: config.defaultActionAllow, allowUnknownActions: config.authzAllowUnknown, requireBody: config.authzRequireBody, ...input });
  }

  private notARequest(problem: string, host: string, remote: boolean): Judged {
    return { decision: this.decide({ envelopeProblem: `malformed AuthZ request: ${problem}` }), host, remote, containerChecks: [] };
  }

  private async judge(body: Buffer, host: string, remote: boolean): Promise<Judged> {
    const envelope = parseEnvelope(body);
    if (!envelope.ok) return this.notARequest(envelope.problem, host, remote);
    // Another host's engine API version is not this engine's: its unprefixed requests run at the fallback.
    const facts = requestFacts(envelope.value, { engineApiVersion: remote ? undefined : this.deps.engineApiVersion?.(), host });
    // One request is judged with one snapshot, even if a reload swaps it meanwhile.
    const { rules, policies, packs } = this.deps.snapshot();
    const faults: string[] = [];
    // Verified before any rule runs: container rules read the create's verdict as c.imageTrust, and
    // request and container rules must still reach the rule host in one batch (waiting for the
    // verdict inside the container checks split them into two round trips: ~100 µs per create).
    const trustOutcome = this.deps.imageTrust ? await this.verifyImages(facts) : undefined;
    // Started now, awaited after the rules: its lookups overlap theirs (it never rejects).
    // The enforcer and its folders are on this machine, not on another caller's host.
    const selfPending = remote ? Promise.resolve(undefined) : this.selfProtection(facts);
    // Request and container rules are asked for together so they share one evaluation batch.
    const [requestJudgement, containerChecks, policy] = await Promise.all([
      this.judgeRequestRules(facts, rules).catch((err: unknown) => {
        faults.push(`request rules: ${errorMessage(err)}`);
        return undefined;
      }),
      this.containerChecks(facts, rules, faults, trustOutcome),
      this.judgePolicies(facts, policies).catch((err: unknown) => {
        faults.push(`policies: ${errorMessage(err)}`);
        return undefined;
      }),
    ]);
    const trustVerdict = trustOutcome ? trustSourceVerdict(trustOutcome) : undefined;
    const self = await selfPending;
    const cis = packs?.cis;
    const judgedContainers = cis ? await this.withCisAdmission(cis, containerChecks) : containerChecks;
    const cisVerdicts = cis ? await this.cisRequestVerdicts(cis, facts).catch((err: unknown) => {
      faults.push(`cis-docker: ${errorMessage(err)}`);
      return [];
    }) : [];
    const decision = this.decide({
      action: facts.request.action,
      method: facts.request.method,
      path: facts.request.path,
      faults,
      unreadable: facts.unreadable,
      missingBody: facts.missingBody,
      judgements: [...(requestJudgement ? [requestJudgement] : []), ...judgedContainers.map((check) => check.judgement)],
      verdicts: [
        ...(policy ? [{ source: 'policies', allow: policy.verdict.allow, ...(policy.verdict.mode ? { mode: policy.verdict.mode } : {}), reasons: policy.verdict.reasons }] : []),
        ...(trustVerdict ? [trustVerdict] : []),
        ...(self ? [self.verdict] : []),
        ...cisVerdicts,
      ],
    });
    return { decision, host, remote, facts, requestJudgement, containerChecks: judgedContainers, ...(policy ? { policy } : {}), ...(trustOutcome ? { trust: trustOutcome } : {}), ...(cisVerdicts.length > 0 ? { cis: cisVerdicts } : {}), ...(self ? { self } : {}) };
  }

  /**
   * Self-protection's verdict (SELF_PROTECTION): dockerd is asked what the request names only for
   * the protected actions. A lookup that fails (other than "no such object") is judged as touching
   * the enforcer: its protection must not depend on MODE or on dockerd answering in time.
   */
  private async selfProtection(facts: RequestFacts): Promise<Judged['self']> {
    const settings = this.deps.config.selfProtection ? this.deps.selfProtection?.() : undefined;
    if (!settings) return undefined;
    const target = protectedTarget(facts);
    const binds = settings.protectedPaths.length > 0 && BINDING_ACTIONS.has(facts.request.action);
    if (!target && !binds) return undefined;
    let resolvesToSelf = false;
    let bindSources: readonly string[] = [];
    let unresolved: string | undefined;
    try {
      if (target) resolvesToSelf = await this.resolvesToSelf(target, settings);
      if (binds) bindSources = (await policyFacts(facts, new Set(['bindSources']), this.lookups)).bindSources;
    } catch (err: unknown) {
      unresolved = errorMessage(err);
    }
    const verdict = selfProtectionVerdict(facts, { ...settings, resolvesToSelf, bindSources, ...(unresolved !== undefined ? { unresolved } : {}) });
    if (!verdict) return undefined;
    const exposing = bindSources.find((source) => settings.protectedPaths.some((folder) => exposes(source, folder)));
    return { verdict, subject: target?.ref || exposing || facts.request.action };
  }

  /** Whether dockerd resolves the target's reference (name, id, id prefix; an exec's container) to the enforcer's own. */
  private async resolvesToSelf(target: ProtectedTarget, settings: SelfProtectionSettings): Promise<boolean> {
    const { docker } = this.deps;
    if (target.kind === 'plugin') {
      // Only a managed plugin has an id; a name is compared as dockerd compares names (pure).
      if (target.newPlugin || settings.pluginNames.length === 0 || !/^[0-9a-f]+$/.test(target.ref) || !docker.pluginName) return false;
      const name = await this.orMissing(docker.pluginName(target.ref));
      return name !== undefined && namesPlugin(name, settings.pluginNames);
    }
    if (!knowsOwnContainer(settings)) return false;
    const ref = target.kind === 'exec' ? await this.orMissing(docker.execContainer(target.ref)) : target.ref;
    if (ref === undefined) return false;
    if (ref === settings.selfContainerId) return true;
    const params = await this.orMissing(docker.inspect(ref));
    return params !== undefined && isOwnContainer(params.Id, params.Name, settings);
  }

  /**
   * The CIS pack's admission checks on each container the request would produce (create, update,
   * legacy start), added to its judgement: KILL checks deny, WARN checks record — as rules do.
   */
  private async withCisAdmission(cis: CisPackConfig, checks: readonly ContainerCheck[]): Promise<ContainerCheck[]> {
    return Promise.all(
      checks.map(async (check) => {
        const { params, name, image } = check.container;
        // 5.27 passes on the image's own HEALTHCHECK, as it does at runtime: asked only when it matters.
        const test = params.Config?.Healthcheck?.Test;
        const inherits = !test || test.length === 0;
        const imageHealthcheck = inherits && effectiveMode(cis, 'healthcheck-missing') !== 'off' ? await this.imageHealthcheck(image) : undefined;
        const results = judgeContainerCis(cis, CIS_CHECKS, { form: 'admission', params, ...(imageHealthcheck !== undefined ? { imageHealthcheck } : {}) }, name, image, true);
        return { container: check.container, judgement: addCisViolations(check.judgement, results) };
      }),
    );
  }

  /**
   * Whether an image defines a health check; undefined when it cannot be told (the check then reads
   * the body alone). Remembered briefly: asking dockerd on every create costs a round trip, and a
   * re-tag that changes the answer only moves a WARN/KILL on 5.27, which a scan then corrects.
   */
  private async imageHealthcheck(image: string): Promise<boolean | undefined> {
    if (image === '' || image === UNDEFINED_IMAGE) return undefined;
    const now = Date.now();
    const known = this.healthchecks.get(image);
    if (known && known.until > now) return known.value;
    let value: boolean | undefined;
    try {
      value = (await this.deps.docker.imageInspect(image)).healthcheck;
    } catch {
      return undefined;
    }
    if (this.healthchecks.size >= HEALTHCHECK_CACHE_LIMIT) this.healthchecks.clear();
    this.healthchecks.set(image, { value, until: now + HEALTHCHECK_CACHE_MS });
    return value;
  }

  /** The pack's exec (5.23, 5.24) and swarm (5.1) checks, as source verdicts. */
  private async cisRequestVerdicts(cis: CisPackConfig, facts: RequestFacts): Promise<SourceVerdict[]> {
    const { action, vars, body } = facts.request;
    if (action === 'execCreate') {
      const exec = (body ?? {}) as { User?: unknown; Privileged?: unknown };
      // The container's name and image, for the pack's exclusions.
      const params = await this.orMissing(this.deps.docker.inspect(vars['name'] ?? ''));
      if (!params) return [];
      const subject = { form: 'admission' as const, user: typeof exec.User === 'string' ? exec.User : '', privileged: exec.Privileged === true };
      return cisRequestVerdicts(judgeExecCis(cis, CIS_CHECKS, subject, containerName(params), params.Config?.Image ?? ''));
    }
    return cisRequestVerdicts(judgeRequestCis(cis, CIS_CHECKS, action));
  }

  /** The image-trust gate's verdicts on what the request names (undefined: no gate, or nothing to verify). */
  private async verifyImages(facts: RequestFacts): Promise<GateOutcome | undefined> {
    const gate = this.deps.imageTrust;
    if (!gate) return undefined;
    const checks = trustChecks(facts);
    if (checks.length === 0) return undefined;
    return verifyChecks({ verifier: gate.verifier, docker: this.deps.docker }, checks);
  }

  /**
   * The docker-leash policies' answer (none when no policy file exists): the facts their checks read
   * are gathered first — dockerd asked only for what those checks need — then judged, pure.
   */
  private async judgePolicies(facts: RequestFacts, policies: LoadedPolicies | undefined): Promise<PolicyJudgement | undefined> {
    if (!policies) return undefined;
    const { config } = policies;
    const { action, namespace, method, host } = facts.request;
    const needed = neededLookups(config, host, { user: facts.request.user === '' ? ANONYMOUS : facts.request.user, action, namespace, method });
    const policyFactsOf = await policyFacts(facts, needed, this.lookups);
    return { verdict: judgePolicies(config, host, policyFactsOf), facts: policyFactsOf };
  }

  /** dockerd's view of what a request names indirectly; "no such object" is an answer, anything else a fault. */
  private readonly lookups: SubjectLookups = {
    containerName: (ref) => this.orMissing(this.deps.docker.inspect(ref).then((params) => params.Name ?? '')),
    containerUser: (ref) => this.orMissing(this.deps.docker.inspect(ref).then((params) => params.Config?.User ?? '')),
    execContainer: (id) => this.orMissing(this.deps.docker.execContainer(id)),
    volumeBindSource: (name) => this.orMissing(this.deps.docker.volumeInspect(name)).then((volume) => (volume ? bindDevice(volume.driver, volume.options) : undefined)),
    imageUser: (ref) => this.orMissing(this.deps.docker.imageUser(ref)),
  };

  private async orMissing<T>(lookup: Promise<T>): Promise<T | undefined> {
    try {
      return await lookup;
    } catch (err: unknown) {
      if (err instanceof DockerError && err.notFound) return undefined;
      throw err;
    }
  }

  /**
   * Request rules, with `r.container` deferred: the container a path names is looked up (one inspect)
   * only when a rule reads it, then the rules run again with it.
   */
  private async judgeRequestRules(facts: RequestFacts, rules: RuleSet): Promise<Judgement> {
    const { judgeOptions } = this.deps;
    const target = namesExistingContainer(facts) ? facts.request.vars['name'] : undefined;
    const first = await judgeRequest(facts.request, rules.requestRules, judgeOptions, rules.evaluator, target === undefined ? [] : ['container']);
    if (target === undefined || !first.deferredRead.includes('container')) return first;
    let container: Request['container'];
    try {
      const params = await this.deps.docker.inspect(target);
      container = { id: params.Id ?? '', name: (params.Name ?? '').replace(/^\//, '') };
    } catch (err: unknown) {
      if (!(err instanceof DockerError && err.notFound)) throw new Error(`cannot inspect container ${JSON.stringify(target)}: ${errorMessage(err)}`, { cause: err });
      container = null;
    }
    return judgeRequest({ ...facts.request, container }, rules.requestRules, judgeOptions, rules.evaluator);
  }

  /** The container(s) the request would produce, judged; failures are added to `faults`. */
  private async containerChecks(facts: RequestFacts, rules: RuleSet, faults: string[], trust: GateOutcome | undefined): Promise<ContainerCheck[]> {
    let views: ContainerParams[];
    let id = '';
    try {
      const planned = await this.plannedContainers(facts);
      if (!planned) return [];
      ({ views, id } = planned);
    } catch (err: unknown) {
      faults.push(errorMessage(err));
      return [];
    }
    const { user: owner, host } = facts.request;
    const imageTrust = this.deps.imageTrust ? { imageTrust: imageTrustFact(trust?.runVerdict) } : {};
    const checks = await Promise.all(
      views.map(async (params) => {
        try {
          // The original's value for a create that names no image (IMAGE_WHITE_LIST=UNDEFINED spares it).
          const image = (await this.deps.inspector.imageName(params)) || UNDEFINED_IMAGE;
          const container = buildContainer({ id, params, metrics: {}, image, position: 0, checkSource: 'authz', owner, host, ...imageTrust });
          return { container, judgement: await this.judgeContainer(container, rules) };
        } catch (err: unknown) {
          faults.push(`container rules: ${errorMessage(err)}`);
          return undefined;
        }
      }),
    );
    return checks.filter((check): check is ContainerCheck => check !== undefined);
  }

  /** What a create, an update or a legacy start would make of the container; undefined for other calls. */
  private async plannedContainers(facts: RequestFacts): Promise<{ views: ContainerParams[]; id: string } | undefined> {
    const { request, route } = facts;
    if (route.action === 'containersCreate') {
      return { views: containersFromCreate(facts.wrapper ?? readContainerWrapper(undefined), formValue(facts.target.query, 'name')), id: '' };
    }
    const legacyStart = route.action === 'containersStart' && facts.wrapper !== undefined && runsBelow(route.apiVersion, '1.24');
    if (route.action !== 'containersUpdate' && !legacyStart) return undefined;
    const name = request.vars['name'] ?? '';
    let current: ContainerParams;
    try {
      current = await this.deps.docker.inspect(name);
    } catch (err: unknown) {
      // dockerd answers 404 itself; anything else means we cannot tell what the call would do.
      if (err instanceof DockerError && err.notFound) return undefined;
      throw new Error(`cannot inspect container ${JSON.stringify(name)}: ${errorMessage(err)}`, { cause: err });
    }
    const id = current.Id ?? name;
    if (legacyStart) return { views: [containerAfterLegacyStart(current, facts.wrapper!)], id };
    const update = request.body !== null && typeof request.body === 'object' ? (request.body as Record<string, unknown>) : {};
    return { views: [containerAfterUpdate(current, update, facts.effectiveApiVersion)], id };
  }

  /** Judges with `position` deferred: the running-container count is fetched only if a rule reads it. */
  private async judgeContainer(container: Container, rules: RuleSet): Promise<Judgement> {
    const { judgeOptions } = this.deps;
    const first = await judgeContainer(container, rules.containerRules, rules.whitelistRules, judgeOptions, rules.evaluator, ['position']);
    if (!first.deferredRead.includes('position')) return first;
    const running = (await this.deps.docker.listRunning()).filter((c) => c.id !== container.id).length;
    const positioned = buildContainer({ ...container, position: running, listedName: container.name });
    return judgeContainer(positioned, rules.containerRules, rules.whitelistRules, judgeOptions, rules.evaluator);
  }

  /** Counts the policy answer; a denial (or a would-be denial in WARN mode) is a detection and fires triggers. */
  private actOnPolicy(policy: PolicyJudgement, request: Request | undefined, host: string): void {
    const { verdict, facts } = policy;
    const mode = verdict.mode ?? this.deps.config.mode;
    const ruleSet = verdict.ruleSet ? String(verdict.ruleSet.index) : 'none';
    this.deps.metrics.policyDecisions.inc({ rule_set: ruleSet, result: verdict.allow ? 'allow' : mode === 'KILL' ? 'deny' : 'would_deny' });
    if (verdict.allow) return;
    this.deps.enforcer.handlePolicyDenial({
      request,
      subject: subjectOf(facts),
      user: facts.user,
      host,
      image: facts.imageNames[0] ?? '',
      reasons: verdict.reasons,
      mode,
      action: mode === 'KILL' ? 'denied' : 'warned',
    });
  }

  /** A failing exec or swarm check is a detection and fires triggers (container checks are recorded with the container). */
  private actOnCis(verdicts: readonly SourceVerdict[], request: Request | undefined, decision: Decision, host: string): void {
    for (const verdict of verdicts) {
      const mode = verdict.mode ?? this.deps.config.mode;
      this.deps.enforcer.handlePolicyDenial({
        request,
        subject: request?.vars['name'] ?? request?.action ?? '',
        user: request?.user || ANONYMOUS,
        host,
        image: '',
        reasons: verdict.reasons,
        mode,
        action: mode === 'KILL' && !decision.allow ? 'denied' : 'warned',
        source: 'cis-docker',
      });
    }
  }

  /** Records the trust verdicts on /recent; an untrusted one is a detection and fires triggers. */
  private actOnTrust(outcome: GateOutcome, request: Request | undefined, decision: Decision, host: string): void {
    const gate = this.deps.imageTrust;
    if (!gate) return;
    const mode = this.deps.config.mode;
    for (const verdict of outcome.verdicts) {
      const action = verdict.trusted ? 'allowed' : decision.allow ? 'warned' : 'denied';
      gate.decisions.record(verdict, 'authz', action);
    }
    const untrusted = trustSourceVerdict(outcome);
    if (!untrusted || untrusted.allow) return;
    const image = outcome.verdicts.find((v) => !v.trusted)?.image ?? '';
    this.deps.enforcer.handlePolicyDenial({
      request,
      subject: image || (request?.action ?? ''),
      user: request?.user || ANONYMOUS,
      host,
      image,
      reasons: untrusted.reasons,
      mode,
      action: decision.allow ? 'warned' : 'denied',
      source: 'image trust',
    });
  }

  /** Acts once on the decision: detections and triggers, metrics, logs. */
  private act(judged: Judged, seconds: number): void {
    const { decision, facts, requestJudgement, containerChecks, host } = judged;
    const { metrics, log, enforcer } = this.deps;
    const request = facts ? redactRequest(facts.request) : undefined;
    const taken = decision.allow ? 'warned' : 'denied';
    if (request && requestJudgement && requestJudgement.violations.length > 0) enforcer.handleRequest(request, requestJudgement, requestJudgement.mode === 'KILL' ? taken : 'warned');
    // Two views of one create (old and new engines) are one subject: record the first that violates.
    const violating = containerChecks.find((check) => check.judgement.violations.length > 0);
    if (violating) enforcer.handleContainer(violating.container, violating.judgement, violating.judgement.mode === 'KILL' ? taken : 'warned');
    if (judged.policy) this.actOnPolicy(judged.policy, request, host);
    if (judged.trust) this.actOnTrust(judged.trust, request, decision, host);
    if (judged.self && !judged.self.verdict.allow) {
      const { verdict, subject } = judged.self;
      enforcer.handlePolicyDenial({ request, subject, user: request?.user || ANONYMOUS, host, image: '', reasons: verdict.reasons, mode: 'KILL', action: 'denied', source: 'self-protection' });
    }
    if (judged.cis) this.actOnCis(judged.cis, request, decision, host);
    for (const kind of decision.unjudgeable) metrics.authzUnjudgeable.inc({ kind });
    metrics.authzRequests.inc({ decision: decision.label, host });
    metrics.authzDuration.observe(seconds);
    const summary = { method: request?.method ?? null, uri: request ? redactUri(request.uri) : null, action: request?.action ?? null, user: request?.user || '[unknown]', host };
    if (decision.unjudgeable.length > 0 || decision.label === 'default_allow' || decision.label === 'default_deny') {
      log.warn({ ...summary, allow: decision.allow, kinds: decision.unjudgeable, reasons: decision.reasons }, decision.allow ? 'request cannot be judged as dockerd will run it; allowed (WARN mode or default action)' : 'request cannot be judged as dockerd will run it; denied');
    } else if (decision.reasons.length > 0) {
      log.warn({ ...summary, container: violating?.container.name ?? '', rules: decision.reasons }, decision.allow ? 'rules violated; allowed in WARN mode' : 'authorization denied: rules violated');
    }
    if (this.deps.config.logAuthzRequests) {
      log.info({ decisionId: randomUUID(), ...summary, allow: decision.allow, decision: decision.label, violated: decision.reasons, latencyMs: Number((seconds * 1000).toFixed(3)) }, 'authz decision');
    }
  }
}

/** Routes whose `{name}` is an existing container (create, list and prune name none). */
function namesExistingContainer(facts: RequestFacts): boolean {
  const { namespace, action, vars } = facts.request;
  return vars['name'] !== undefined && (namespace === 'containers' || action === 'execCreate');
}

/** What a policy denial is recorded under: the container, image or volume it acts on, else the action. */
function subjectOf(facts: PolicyFacts): string {
  return facts.containerNames.find((name) => name !== '') ?? facts.imageNames[0] ?? facts.volumeNames.find((name) => name !== '') ?? facts.action;
}

function replyOf(decision: Decision): AuthzReply {
  return decision.allow ? { Allow: true } : { Allow: false, Msg: decision.msg ?? 'denied' };
}

export type { Request };
