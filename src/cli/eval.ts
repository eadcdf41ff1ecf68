/**
 * `docker-enforcer eval`: judges a `docker inspect` JSON or an AuthZ envelope offline with the
 * configured rules, so admins can unit-test rules without a Docker host.
 */
import { readFile } from 'node:fs/promises';
import pino from 'pino';
import { Enforcer } from '../actions/enforcer';
import { Stopper } from '../actions/stopper';
import { parseEnvelope } from '../facts/envelope';
import type { Config } from '../config';
import { DockerError, type DockerClient } from '../docker/client';
import { judgeContainer, reasonsOf, type Judgement, type JudgeOptions } from '../engine/judge';
import { buildContainer } from '../facts/container-facts';
import { ContainerInspector } from '../facts/inspector';
import { createMetrics } from '../metrics';
import { AuthzService } from '../modes/authz';
import type { ContainerMetrics, ContainerParams } from '../rules/api';
import { loadRuleSet } from '../rules/rule-set';
import { DetectionStore } from '../store/detections';
import { loadPolicies } from '../policies/loaded';

export interface EvalVerdict {
  readonly subject: string;
  readonly violated: boolean;
  readonly reasons: readonly string[];
  readonly mode: string;
  /** What the daemon would do: stop in KILL mode, warn otherwise, nothing when compliant. */
  readonly wouldDo: 'stop' | 'warn' | 'nothing';
  readonly whitelisted?: string;
}

function judgeOptions(config: Config): JudgeOptions {
  return { whiteList: config.whiteList, imageWhiteList: config.imageWhiteList, stopOnFirstViolation: config.stopOnFirstViolation, defaultMode: config.mode };
}

function verdict(subject: string, judgement: Judgement, killAction: 'stop'): EvalVerdict {
  const violated = judgement.violations.length > 0;
  return {
    subject,
    violated,
    reasons: reasonsOf(judgement),
    mode: judgement.mode,
    wouldDo: !violated ? 'nothing' : judgement.mode === 'KILL' ? killAction : 'warn',
    ...(judgement.whitelisted ? { whitelisted: judgement.whitelisted } : {}),
  };
}

/** `inspect.json` may be `docker inspect` output (an array) or one object; `metrics` is optional. */
export async function evalContainer(config: Config, file: string, metricsFile?: string): Promise<EvalVerdict> {
  const parsed = JSON.parse(await readFile(file, 'utf8')) as unknown;
  const params = (Array.isArray(parsed) ? parsed[0] : parsed) as ContainerParams | undefined;
  if (!params || typeof params !== 'object') throw new Error(`${file}: expected a docker inspect object (or the array docker inspect prints)`);
  const metrics = metricsFile ? (JSON.parse(await readFile(metricsFile, 'utf8')) as ContainerMetrics) : {};
  const rules = await loadRuleSet({ ...config, allowedModules: config.rulesAllowedModules, timeoutMs: config.ruleTimeoutMs });
  try {
    const container = buildContainer({ id: params.Id ?? '', params, metrics, image: params.Config?.Image ?? '', position: 0, checkSource: 'periodic', host: config.hostName });
    const judgement = await judgeContainer(container, rules.containerRules, rules.whitelistRules, judgeOptions(config), rules.evaluator);
    return verdict(container.name || container.id, judgement, 'stop');
  } finally {
    rules.close();
  }
}

/** Offline Docker: nothing is running, nothing can be inspected (an update is answered with the default action). */
const OFFLINE_DOCKER: DockerClient = {
  ping: async () => undefined,
  apiVersion: async () => '',
  listRunning: async () => [],
  inspect: async (id) => {
    throw new DockerError('inspect', `no Docker engine in eval mode (container ${id})`, undefined);
  },
  stats: async () => ({}),
  imageTags: async () => [],
  imageUser: async (ref) => {
    throw new DockerError('image_inspect', `no Docker engine in eval mode (image ${ref})`, undefined);
  },
  imageInspect: async (ref) => {
    throw new DockerError('image_inspect', `no Docker engine in eval mode (image ${ref})`, undefined);
  },
  volumeInspect: async (name) => {
    throw new DockerError('volume_inspect', `no Docker engine in eval mode (volume ${name})`, undefined);
  },
  execContainer: async (id) => {
    throw new DockerError('exec_inspect', `no Docker engine in eval mode (exec ${id})`, undefined);
  },
  stop: async () => 'gone',
  events: async () => {
    throw new DockerError('events', 'no Docker engine in eval mode', undefined);
  },
};

export interface RequestVerdict {
  readonly request: string;
  readonly allow: boolean;
  readonly msg?: string;
  /** What the docker-leash policies said, when policy files exist: the rule set, policy and checks that decided. */
  readonly policies?: {
    readonly allow: boolean;
    readonly decidedBy: string;
    readonly ruleSet?: string;
    readonly policy?: number;
    readonly reasons: readonly string[];
  };
}

/** Decides an AuthZ envelope exactly as the daemon's AuthZ plugin would (request rules, container rules at create). */
export async function evalRequest(config: Config, file: string, host?: string): Promise<RequestVerdict> {
  const body = await readFile(file);
  const envelope = parseEnvelope(body);
  const log = pino({ level: 'silent' });
  const metrics = createMetrics(config.version);
  const store = new DetectionStore({ capacity: 10 });
  const enforcer = new Enforcer({ log, metrics, store, stopper: new Stopper(OFFLINE_DOCKER, 0, log, metrics) });
  const rules = await loadRuleSet({ ...config, allowedModules: config.rulesAllowedModules, timeoutMs: config.ruleTimeoutMs });
  const inspector = new ContainerInspector({ docker: OFFLINE_DOCKER, log, cacheParams: false, disableParams: false, disableMetrics: true, cacheTrusted: () => false });
  const loadedPolicies = await loadPolicies(config.policiesPath, config.groupsPath);
  if (loadedPolicies.errors.length > 0) {
    rules.close();
    throw new Error(`invalid policy files:\n  - ${loadedPolicies.errors.join('\n  - ')}`);
  }
  const service = new AuthzService({ config, log, metrics, docker: OFFLINE_DOCKER, inspector, enforcer, judgeOptions: judgeOptions(config), snapshot: () => ({ rules, policies: loadedPolicies.policies }) });
  const { reply, policy } = await service.explain(body, undefined, host !== undefined ? { host } : undefined).finally(() => rules.close());
  const request = envelope.ok ? `${envelope.value.RequestMethod} ${envelope.value.RequestURI}` : file;
  const policies = policy
    ? { allow: policy.allow, decidedBy: policy.decidedBy, ...(policy.ruleSet ? { ruleSet: `${policy.ruleSet.index} (${policy.ruleSet.name})` } : {}), ...(policy.policy !== undefined ? { policy: policy.policy } : {}), reasons: policy.reasons }
    : undefined;
  return { request, allow: reply.Allow, ...(reply.Msg ? { msg: reply.Msg } : {}), ...(policies ? { policies } : {}) };
}

/** The eval --request answer as text: the decision, then what the policies said. */
export function describeRequestVerdict(verdict: RequestVerdict): string {
  const lines = [`${verdict.request}: ${verdict.allow ? 'allowed' : `denied: ${verdict.msg ?? ''}`}`];
  const policies = verdict.policies;
  if (policies) {
    const where = [policies.ruleSet ? `rule set ${policies.ruleSet}` : 'no rule set', policies.policy !== undefined ? `policy ${policies.policy}` : undefined].filter(Boolean).join(', ');
    lines.push(`  policies: ${policies.allow ? 'allow' : 'deny'} (decided by ${policies.decidedBy}; ${where})`);
    for (const reason of policies.reasons) lines.push(`    ${reason}`);
  }
  return `${lines.join('\n')}\n`;
}
