/**
 * Two AuthzServices over one rule set and one Docker, differing only in what is measured (an extra
 * dependency such as the image-trust gate, or something more in the enforced snapshot such as a
 * pack), compared decision by decision in this process: the added cost of one feature per AuthZ
 * decision, against the same service without it as the floor.
 */
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { Enforcer } from '../src/actions/enforcer';
import { Stopper } from '../src/actions/stopper';
import { loadConfig } from '../src/config';
import { DockerError, type DockerClient, type ImageIdentity } from '../src/docker/client';
import { ContainerInspector } from '../src/facts/inspector';
import { createMetrics } from '../src/metrics';
import { AuthzService, type AuthzDeps } from '../src/modes/authz';
import type { LoadedPacks } from '../src/policies/cis/packs-file';
import { loadRuleSet, type RuleSet } from '../src/rules/rule-set';
import { DetectionStore } from '../src/store/detections';
import { percentile } from './load';

const log = pino({ level: 'silent' });

export interface ServicePair {
  readonly off: AuthzService;
  readonly on: AuthzService;
  readonly rules: RuleSet;
}

/** What the `on` service has beyond the `off` one. */
export interface Extra {
  readonly deps?: Pick<AuthzDeps, 'imageTrust'>;
  readonly packs?: LoadedPacks;
}

function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

/** dockerd as an AuthZ create sees it: only image inspect answers, from a fixed table of local images. */
export function imageOnlyDocker(images: ReadonlyMap<string, ImageIdentity>): DockerClient {
  const unused = (operation: string) => async (): Promise<never> => {
    throw new Error(`this bench does not expect docker ${operation}`);
  };
  return {
    ping: async () => undefined,
    apiVersion: async () => '1.41',
    listRunning: async () => [],
    inspect: unused('inspect'),
    stats: async () => ({}),
    imageTags: async () => [],
    imageUser: async () => '',
    imageInspect: async (ref) => {
      const image = images.get(ref);
      if (!image) throw new DockerError('image_inspect', `no such image: ${ref}`, 404);
      return image;
    },
    volumeInspect: async () => ({ driver: 'local', options: {} }),
    execContainer: unused('exec inspect'),
    stop: unused('stop'),
    events: unused('events'),
  };
}

/** Two services wired as the daemon wires them (rules from `env`'s files), `on` with `extra`. */
export async function servicePair(env: Record<string, string>, docker: DockerClient, extra: Extra): Promise<ServicePair> {
  const config = loadConfig(env, '/', 'bench');
  const rules = await loadRuleSet({ ...config, allowedModules: config.rulesAllowedModules, timeoutMs: config.ruleTimeoutMs });
  const make = (withExtra: boolean): AuthzService => {
    const metrics = createMetrics('bench');
    const enforcer = new Enforcer({ log, metrics, store: new DetectionStore({ capacity: 100 }), stopper: new Stopper(docker, 0, log, metrics) });
    const inspector = new ContainerInspector({ docker, log, cacheParams: false, disableParams: false, disableMetrics: true, cacheTrusted: () => false });
    const judgeOptions = { whiteList: config.whiteList, imageWhiteList: config.imageWhiteList, stopOnFirstViolation: config.stopOnFirstViolation, defaultMode: config.mode };
    return new AuthzService({
      config,
      log,
      metrics,
      docker,
      inspector,
      enforcer,
      judgeOptions,
      snapshot: () => ({ rules, policies: undefined, packs: withExtra ? extra.packs : undefined }),
      engineApiVersion: () => '1.41',
      ...(withExtra ? extra.deps : {}),
    });
  };
  return { off: make(false), on: make(true), rules };
}

/** One pass of `count` sequential decisions: median wall time per decision and this process's CPU per decision, in µs. */
async function decide(service: AuthzService, body: Buffer, count: number): Promise<{ wallUs: number; cpuUs: number }> {
  const walls: number[] = [];
  const cpuBefore = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const reply = await service.authorize(body);
    walls.push((performance.now() - started) * 1000);
    if (!reply.Allow) throw new Error(`the bench create was denied: ${reply.Msg ?? ''}`);
  }
  const cpu = process.cpuUsage(cpuBefore);
  return { wallUs: median(walls), cpuUs: (cpu.user + cpu.system) / count };
}

/**
 * Off and on, alternated in rounds (which goes first swapped each round) so drift hits both
 * alike; the added cost is the median of the per-round differences. CPU is this process only.
 * With rules, a decision also waits for two answers from the rule host (another process), and on
 * a 2-core machine any extra work here shifts how those interleave: 25 µs of busy-waiting put into
 * the off path showed as about +140 µs wall and +60 µs CPU. Hence a no-rules row too, which
 * isolates the feature's own cost. Prints one row.
 */
export async function compareDecisions(label: string, pair: ServicePair, body: Buffer, rounds: number, perRound: number): Promise<void> {
  await decide(pair.off, body, perRound);
  await decide(pair.on, body, perRound);
  const off: Array<{ wallUs: number; cpuUs: number }> = [];
  const on: Array<{ wallUs: number; cpuUs: number }> = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      off.push(await decide(pair.off, body, perRound));
      on.push(await decide(pair.on, body, perRound));
    } else {
      on.push(await decide(pair.on, body, perRound));
      off.push(await decide(pair.off, body, perRound));
    }
  }
  const row = (key: 'wallUs' | 'cpuUs'): string => {
    const offUs = median(off.map((r) => r[key]));
    const onUs = median(on.map((r) => r[key]));
    const added = on.map((r, i) => r[key] - off[i]![key]);
    return `${offUs.toFixed(1).padStart(7)} ${onUs.toFixed(1).padStart(7)} ${median(added).toFixed(1).padStart(7)} ${(onUs / offUs).toFixed(2).padStart(6)} [${Math.min(...added).toFixed(0)}, ${Math.max(...added).toFixed(0)}]`;
  };
  console.log(`  ${label.padEnd(32)} wall p50 ${row('wallUs')}   CPU ${row('cpuUs')}`);
}

/** The heading that goes with compareDecisions' rows. */
export function comparisonHeading(): string {
  const heading = `${'off'.padStart(7)} ${'on'.padStart(7)} ${'added'.padStart(7)} ${'on/off'.padStart(6)}`;
  return `  ${''.padEnd(32)}          ${heading}              ${heading}`;
}
