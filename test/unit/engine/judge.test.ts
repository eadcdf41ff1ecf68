import { expect } from 'chai';
import { judgeContainer, judgeRequest, type Evaluator, type JudgeOptions, type RuleGroup } from '../../../src/engine/judge';
import { parseWhitelist } from '../../../src/engine/whitelist';
import { buildContainer } from '../../../src/facts/container-facts';
import type { Container, ContainerParams, Mode } from '../../../src/rules/api';
import type { LoadedRule } from '../../../src/rules/loader';
import type { EvaluationJob, JobResult, Outcome } from '../../../src/rules/sandbox';

/** Runs rule functions directly (handle = index into `sets`): the judge's semantics without the sandbox. */
const sets: Array<readonly LoadedRule[]> = [];
const plainEvaluator: Evaluator = {
  async evaluate(jobs: readonly EvaluationJob[]): Promise<JobResult[]> {
    return jobs.map((job) => {
      const all = sets[job.set] ?? [];
      const fns = (job.indices ? job.indices.map((i) => all[i]!) : all).map((r) => r.fn);
      const row: Array<Outcome | undefined> = [];
      for (const fn of fns) {
        try {
          const value = Boolean(fn(...job.args));
          row.push({ kind: 'value', value });
          if (value && job.stopOnFirstTruthy) break;
        } catch (err: unknown) {
          row.push({ kind: 'error', errorClass: (err as Error).constructor.name, message: (err as Error).message });
        }
      }
      return { outcomes: row, read: [] };
    });
  },
};

function group(...rules: Array<Omit<LoadedRule, 'index'>>): RuleGroup {
  const indexed = rules.map((r, index) => ({ ...r, index }));
  sets.push(indexed);
  return { handle: sets.length - 1, rules: indexed };
}

function rule(name: string, fn: (c: Container) => unknown, mode?: Mode): Omit<LoadedRule, 'index'> {
  return { name, mode, fn: fn as LoadedRule['fn'] };
}
const NONE = group();

function container(name: string, params: ContainerParams = {}, image = 'busybox:latest'): Container {
  return buildContainer({ id: `id-${name}`, params: { Name: `/${name}`, ...params }, metrics: {}, image, position: 0, checkSource: 'periodic' });
}

function options(overrides: Partial<JudgeOptions> = {}, white: string[] = [], images: string[] = []): JudgeOptions {
  return {
    whiteList: parseWhitelist(white).whitelist,
    imageWhiteList: parseWhitelist(images).whitelist,
    stopOnFirstViolation: true,
    defaultMode: 'WARN',
    ...overrides,
  };
}

const noMemory = rule('must have memory limit', (c) => !c.params.HostConfig?.Memory);
const privileged = rule('no privileged', (c) => c.params.HostConfig?.Privileged === true);
const throwing = rule('broken', (c) => (c.params as { Missing: { x: number } }).Missing.x);

describe('judge', () => {
  const cases: Array<{ what: string; c: Container; rules: Array<Omit<LoadedRule, 'index'>>; opts: JudgeOptions; reasons: string[]; mode?: Mode }> = [
    { what: 'compliant container', c: container('a', { HostConfig: { Memory: 1 } }), rules: [noMemory, privileged], opts: options(), reasons: [] },
    { what: 'a violation', c: container('a'), rules: [noMemory], opts: options(), reasons: ['must have memory limit'], mode: 'WARN' },
    {
      what: 'stop on first violation',
      c: container('a', { HostConfig: { Privileged: true } }),
      rules: [noMemory, privileged],
      opts: options(),
      reasons: ['must have memory limit'],
    },
    {
      what: 'all violations when STOP_ON_FIRST_VIOLATION is off',
      c: container('a', { HostConfig: { Privileged: true } }),
      rules: [noMemory, privileged],
      opts: options({ stopOnFirstViolation: false }),
      reasons: ['must have memory limit', 'no privileged'],
    },
    {
      what: 'a throwing rule is a violation and does not stop the loop',
      c: container('a'),
      rules: [throwing, noMemory, privileged],
      opts: options(),
      reasons: ["Exception - rule: broken, class: TypeError, val: Cannot read properties of undefined (reading 'x')", 'must have memory limit'],
    },
    { what: 'global name whitelist', c: container('docker-enforcer'), rules: [noMemory], opts: options({}, ['docker-enforcer']), reasons: [] },
    { what: 'global image whitelist', c: container('a', {}, 'trusted/app:1'), rules: [noMemory], opts: options({}, [], ['trusted/.*']), reasons: [] },
    {
      what: 'per-rule name whitelist skips only that rule',
      c: container('db', { HostConfig: { Privileged: true } }),
      rules: [noMemory, privileged],
      opts: options({}, ['db|must have memory limit']),
      reasons: ['no privileged'],
    },
    {
      what: 'per-rule image whitelist',
      c: container('a', {}, 'busybox'),
      rules: [noMemory],
      opts: options({}, [], ['busy.*|must have memory limit']),
      reasons: [],
    },
    { what: 'image whitelist entry busybox spares docker.io/library/busybox:latest', c: container('a', {}, 'docker.io/library/busybox:latest'), rules: [noMemory], opts: options({}, [], ['busybox']), reasons: [] },
    { what: 'image whitelist entry busybox spares index.docker.io/library/busybox:1.36', c: container('a', {}, 'index.docker.io/library/busybox:1.36'), rules: [noMemory], opts: options({}, [], ['busybox']), reasons: [] },
    { what: 'image whitelist entry busybox:1.36 does not spare busybox', c: container('a', {}, 'busybox'), rules: [noMemory], opts: options({}, [], ['busybox:1.36']), reasons: ['must have memory limit'] },
    {
      what: 'image whitelist entry registry.example.com/app does not spare registryXexample.com/app',
      c: container('a', {}, 'registryXexample.com/app'),
      rules: [noMemory],
      opts: options({}, [], ['registry.example.com/app']),
      reasons: ['must have memory limit'],
    },
    {
      what: 'per-rule image whitelist by reference',
      c: container('a', { HostConfig: { Privileged: true } }, 'index.docker.io/library/busybox'),
      rules: [noMemory, privileged],
      opts: options({ stopOnFirstViolation: false }, [], ['docker.io/library/busybox:latest|must have memory limit']),
      reasons: ['no privileged'],
    },
    { what: 'rule mode overrides MODE', c: container('a'), rules: [rule('r', () => true, 'KILL')], opts: options(), reasons: ['r'], mode: 'KILL' },
    { what: 'MODE applies to rules without a mode', c: container('a'), rules: [rule('r', () => true)], opts: options({ defaultMode: 'KILL' }), reasons: ['r'], mode: 'KILL' },
    {
      what: 'a per-rule WARN stays WARN under global KILL',
      c: container('a'),
      rules: [rule('r', () => true, 'WARN')],
      opts: options({ defaultMode: 'KILL' }),
      reasons: ['r'],
      mode: 'WARN',
    },
  ];

  for (const testCase of cases) {
    it(testCase.what, async () => {
      const judgement = await judgeContainer(testCase.c, group(...testCase.rules), NONE, testCase.opts, plainEvaluator);
      expect(judgement.violations.map((v) => v.reason)).to.deep.equal(testCase.reasons);
      if (testCase.mode) expect(judgement.mode).to.equal(testCase.mode);
    });
  }

  it('custom whitelist rules skip a rule for a container and get the rule name', async () => {
    const seen: string[] = [];
    const custom = rule('spare labelled', ((c: Container, ruleName: string) => {
      seen.push(ruleName);
      return c.params.Config?.Labels?.['enforcer.skip'] === ruleName;
    }) as never);
    const c = container('a', { Config: { Labels: { 'enforcer.skip': 'must have memory limit' } }, HostConfig: { Privileged: true } });
    const judgement = await judgeContainer(c, group(noMemory, privileged), group(custom), options({ stopOnFirstViolation: false }), plainEvaluator);
    expect(judgement.violations.map((v) => v.rule)).to.deep.equal(['no privileged']);
    expect(seen).to.deep.equal(['must have memory limit', 'no privileged']);
  });

  it('a throwing custom whitelist rule is reported and the next one is tried', async () => {
    const broken = rule('broken wl', (() => {
      throw new Error('nope');
    }) as never);
    const sparing = rule('spare all', (() => true) as never);
    const judgement = await judgeContainer(container('a'), group(noMemory), group(broken, sparing), options(), plainEvaluator);
    expect(judgement.violations).to.deep.equal([]);
    expect(judgement.whitelistErrors).to.deep.equal([{ rule: 'broken wl', errorClass: 'Error', message: 'nope' }]);
  });

  it('a rule the evaluator reported no outcome for is a violation, not a pass', async () => {
    const silent: Evaluator = { evaluate: async (jobs) => jobs.map(() => ({ outcomes: [{ kind: 'value', value: false }], read: [] })) };
    const judgement = await judgeRequest({ method: 'POST' }, group(rule('first', () => false, 'KILL'), rule('second', () => true, 'KILL')), options(), silent);
    expect(judgement.mode).to.equal('KILL');
    expect(judgement.violations.map((v) => v.reason)).to.deep.equal(['Exception - rule: second, class: RuleNotEvaluated, val: no outcome was reported for this rule']);
    const none: Evaluator = { evaluate: async () => [] };
    const unjudged = await judgeContainer(container('a'), group(noMemory, privileged), NONE, options({ stopOnFirstViolation: false }), none);
    expect(unjudged.violations.map((v) => v.error?.errorClass)).to.deep.equal(['RuleNotEvaluated', 'RuleNotEvaluated']);
  });

  it('request rules run without whitelists', async () => {
    const judgement = await judgeRequest({ method: 'POST' }, group(rule('no posts', ((r: { method: string }) => r.method === 'POST') as never)), options({}, ['.*']), plainEvaluator);
    expect(judgement.violations.map((v) => v.reason)).to.deep.equal(['no posts']);
  });
});
