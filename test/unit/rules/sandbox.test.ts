import * as path from 'node:path';
import { expect } from 'chai';
import { EMPTY_GROUP as NONE, judgeContainer } from '../../../src/engine/judge';
import { parseWhitelist } from '../../../src/engine/whitelist';
import { buildContainer } from '../../../src/facts/container-facts';
import { instantiateRules, loadRuleFile, readRuleSource } from '../../../src/rules/loader';
import { CRASH_ERROR_CLASS, WorkerEvaluator } from '../../../src/rules/evaluator';
import { RuleSandbox, parseResults, serializeJobs } from '../../../src/rules/sandbox';
import { RuleLoadError } from '../../../src/rules/rule-load-error';
import type { RuleGroup } from '../../../src/engine/judge';

const fixtures = path.resolve(__dirname, '../../../../test/fixtures/rules');
const options = { whiteList: parseWhitelist([]).whitelist, imageWhiteList: parseWhitelist([]).whitelist, stopOnFirstViolation: false, defaultMode: 'WARN' as const };
const victim = buildContainer({ id: 'abc', params: { Name: '/victim', HostConfig: {} }, metrics: {}, image: 'img', position: 0, checkSource: 'periodic' });

const started: WorkerEvaluator[] = [];

/** A rule file loaded into a rule worker, as the daemon loads it. */
async function inWorker(file: string, timeoutMs = 200): Promise<{ rules: RuleGroup; evaluator: WorkerEvaluator }> {
  const source = await readRuleSource('rules', file, true);
  const { evaluator, files } = await WorkerEvaluator.start({ files: [source], allowedModules: [], timeoutMs });
  started.push(evaluator);
  return { rules: { handle: files[0]!.handle, rules: files[0]!.rules }, evaluator };
}

async function inlineRules(code: string, timeoutMs = 200): Promise<{ rules: RuleGroup; evaluator: WorkerEvaluator }> {
  const source = { kind: 'rules' as const, path: '/x/rules.js', present: true, loadedAt: '', source: code, code };
  const { evaluator, files } = await WorkerEvaluator.start({ files: [source], allowedModules: [], timeoutMs });
  started.push(evaluator);
  return { rules: { handle: files[0]!.handle, rules: files[0]!.rules }, evaluator };
}

async function loadError(file: string): Promise<RuleLoadError> {
  try {
    await loadRuleFile(new RuleSandbox({ allowedModules: [], timeoutMs: 200 }), 'rules', file, true);
  } catch (err: unknown) {
    if (err instanceof RuleLoadError) return err;
    throw err;
  }
  throw new Error('expected a RuleLoadError');
}

describe('rule sandbox and loader', () => {
  after(() => started.forEach((evaluator) => evaluator.close()));

  it('names file, line and column of a syntax error', async () => {
    const err = await loadError(path.join(fixtures, 'syntax-error.ts'));
    expect(err.message).to.match(/syntax-error\.ts:4:\d+: syntax error: Expression expected/);
  });

  it('names a missing required file', async () => {
    const err = await loadError(path.join(fixtures, 'missing.ts'));
    expect(err.message).to.include('missing.ts: file not found');
  });

  it('lists every malformed entry', async () => {
    const err = await loadError(path.join(fixtures, 'bad-shape.ts'));
    expect(err.message).to.include('rules[0].name must be a non-empty string');
    expect(err.message).to.include('rules[0].rule must be a function');
    expect(err.message).to.include("rules[1].mode must be 'WARN' or 'KILL'");
  });

  it('refuses a file with more entries than a running call can be reported for', () => {
    const code = "exports.rules = Array.from({ length: 65536 }, (_, i) => ({ name: 'r' + i, rule: () => false }));";
    const source = { kind: 'rules' as const, path: '/x/huge.js', present: true, loadedAt: '', source: code, code };
    expect(() => instantiateRules(new RuleSandbox({ allowedModules: [], timeoutMs: 200 }), source)).to.throw(RuleLoadError, /rules has 65536 entries; at most 65535 are supported/);
  });

  it('accepts a default export and reads per-rule modes', async () => {
    const sandbox = new RuleSandbox({ allowedModules: [], timeoutMs: 200 });
    const file = await loadRuleFile(sandbox, 'rules', path.join(fixtures, 'default-export.ts'), true);
    expect(file.rules.map((r) => [r.name, r.mode])).to.deep.equal([['privileged', 'KILL']]);
    expect(file.info.source).to.include('Privileged');
  });

  it('gives rules no modules, no host environment, and a read-only container', async () => {
    const { rules, evaluator } = await inWorker(path.join(fixtures, 'sandbox-escape.ts'));
    const judgement = await judgeContainer(victim, rules, NONE, options, evaluator);
    const reasons = judgement.violations.map((v) => v.reason);
    // vm2 gives the sandbox a `require` that loads nothing and a `process` stub with an empty env.
    expect(reasons).to.have.length(2);
    expect(reasons[0]).to.match(/^Exception - rule: require fs, class: \w*Error, val: Cannot find module 'fs'/);
    expect(reasons[1]).to.match(/^Exception - rule: mutate params, class: TypeError/);
    expect(victim.params.Name).to.equal('/victim');
  });

  it('lets an admin allow a module explicitly', async () => {
    const sandbox = new RuleSandbox({ allowedModules: ['node:path'], timeoutMs: 200 });
    const exported = sandbox.loadModule(
      "exports.rules = [{ name: 'path', rule: () => require('path').basename('/a/b') === 'b' }, { name: 'fs', rule: () => require('fs') }];",
      '/x/rules.js',
    ) as { rules: Array<{ rule: () => boolean }> };
    expect(exported.rules[0]!.rule()).to.equal(true);
    expect(() => exported.rules[1]!.rule()).to.throw(/Cannot find module 'fs'/);
  });

  it('cuts off an endless rule, keeps a slow one, and still finds the real violation', async () => {
    const { rules, evaluator } = await inWorker(path.join(fixtures, 'timeouts.ts'));
    const startedAt = Date.now();
    // The event loop stays free while a rule spins: it runs in the rule worker.
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    const judgement = await judgeContainer(victim, rules, NONE, options, evaluator);
    clearInterval(ticker);
    const elapsed = Date.now() - startedAt;
    expect(judgement.violations.map((v) => v.reason)).to.deep.equal([
      'Exception - rule: spin forever, class: RuleTimeoutError, val: did not return within RULE_TIMEOUT_MS=200 ms',
      'real violation',
      'Exception - rule: promise rule, class: TypeError, val: returned a Promise; rules must return a boolean synchronously',
    ]);
    // Never cut before its bound: 200 ms for the endless rule (it spins on the CPU) + 120 ms for the slow one.
    expect(elapsed).to.be.at.least(300);
    expect(elapsed).to.be.below(3000);
    expect(ticks).to.be.at.least(10);
  });

  it('refuses async functions and generators as rules at load time, naming each', async () => {
    const error = await inlineRules(
      "exports.rules = [{ name: 'a', rule: async () => false }, { name: 'ok', rule: () => false }, { name: 'g', rule: function* () { yield 1; } }, { name: 'ag', rule: async function* () {} }];",
    ).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(error?.message).to.include('rules[0].rule is an async function').and.include('rules[2].rule is a generator').and.include('rules[3].rule is an async generator');
    expect(error?.message).to.not.include('rules[1]');
  });

  it('survives what a promise a rule returned does later, and rules cannot schedule timers', async () => {
    const { rules, evaluator } = await inlineRules(
      `exports.rules = [
        { name: 'rejects later', rule: () => Promise.reject(new Error('boom')) },
        { name: 'no timers', rule: () => typeof setTimeout !== 'undefined' || typeof setInterval !== 'undefined' || typeof setImmediate !== 'undefined' },
      ];`,
    );
    for (let i = 0; i < 3; i++) {
      const [result] = await evaluator.evaluate([{ set: rules.handle, args: [victim], stopOnFirstTruthy: false }]);
      expect(result!.outcomes).to.deep.equal([
        { kind: 'error', errorClass: 'TypeError', message: 'returned a Promise; rules must return a boolean synchronously' },
        { kind: 'value', value: false },
      ]);
    }
  });

  it('keeps working after a cut-off (a fresh worker takes over)', async () => {
    const { rules, evaluator } = await inWorker(path.join(fixtures, 'timeouts.ts'), 50);
    for (let i = 0; i < 3; i++) {
      // 'spin forever' and 'real violation' only (indices 0 and 2 of the file).
      const [result] = await evaluator.evaluate([{ set: rules.handle, indices: [0, 2], args: [victim], stopOnFirstTruthy: false }]);
      expect(result!.outcomes).to.deep.equal([
        { kind: 'error', errorClass: 'RuleTimeoutError', message: 'did not return within RULE_TIMEOUT_MS=50 ms' },
        { kind: 'value', value: true },
      ]);
    }
  });

  it('tells whether a rule read deferred metrics', async () => {
    const sandbox = new RuleSandbox({ allowedModules: [], timeoutMs: 200 });
    const exported = sandbox.loadModule(
      "exports.rules = [{ name: 'params', rule: (c) => c.position > 5 }, { name: 'metrics', rule: (c) => (c.metrics.memory_stats || {}).usage > 1 }];",
      '/x/rules.js',
    ) as { rules: Array<{ rule: never }> };
    const handle = sandbox.register(exported.rules.map((r) => r.rule));
    const [paramsOnly, withMetrics] = sandbox.evaluate(1, [
      { set: handle, indices: [0], args: [victim], stopOnFirstTruthy: false, watch: ['metrics'] },
      { set: handle, args: [victim], stopOnFirstTruthy: false, watch: ['metrics', 'position'] },
    ]);
    expect(paramsOnly?.read).to.deep.equal([]);
    expect(withMetrics?.read).to.deep.equal(['position', 'metrics']);
  });

  it('judges a batch by its own input when reading the input takes longer than a call\'s budget', () => {
    const sandbox = new RuleSandbox({ allowedModules: [], timeoutMs: 200 });
    const exported = sandbox.loadModule("exports.rules = [{ name: 'bad', rule: (r) => r.bad === true }];", '/x/rules.js') as { rules: Array<{ rule: never }> };
    const handle = sandbox.register(exported.rules.map((r) => r.rule));
    const run = { budgetMs: 5, defer: true, cpuMs: () => 0 };
    const small = sandbox.evaluateBounded(1, serializeJobs([{ set: handle, args: [{ bad: false }], stopOnFirstTruthy: false }]), [], run);
    expect(parseResults(small.json)[0]!.outcomes).to.deep.equal([{ kind: 'value', value: false }]);
    // Parsing and freezing 300,000 objects takes far more than 5 ms; the outcome must be this batch's.
    const padding = Array.from({ length: 300_000 }, (_, i) => ({ i }));
    const large = sandbox.evaluateBounded(2, serializeJobs([{ set: handle, args: [{ bad: true, padding }], stopOnFirstTruthy: false }]), [], run);
    expect(large.deferred).to.deep.equal([]);
    expect(parseResults(large.json)[0]!.outcomes).to.deep.equal([{ kind: 'value', value: true }]);
  });

  it('continues an interrupted run where it stopped: each call gets a whole budget and only the interrupted one runs again', () => {
    const sandbox = new RuleSandbox({ allowedModules: [], timeoutMs: 200 });
    const exported = sandbox.loadModule(
      "let calls = 0; exports.count = () => calls; exports.rules = [{ name: 'slowish', rule: (r) => { calls++; const end = Date.now() + 2; while (Date.now() < end); return r.n % 3 === 0; } }];",
      '/x/rules.js',
    ) as { count: () => number; rules: Array<{ rule: never }> };
    const handle = sandbox.register(exported.rules.map((r) => r.rule));
    const jobs = Array.from({ length: 60 }, (_, n) => ({ set: handle, args: [{ n }], stopOnFirstTruthy: false }));
    // 60 calls of ~2 ms against a 25 ms budget per run: several interrupted runs, each continued.
    const { json, deferred } = sandbox.evaluateBounded(3, serializeJobs(jobs), [], { budgetMs: 25, defer: true, cpuMs: () => 0 });
    expect(deferred).to.deep.equal([]);
    expect(parseResults(json).map((row) => row.outcomes)).to.deep.equal(jobs.map((_, n) => [{ kind: 'value', value: n % 3 === 0 }]));
    expect(exported.count()).to.be.at.least(60).and.below(60 + 10);
  });

  it('batches concurrent evaluations into one worker round trip', async () => {
    const { rules, evaluator } = await inlineRules("exports.rules = [{ name: 'named x', rule: (c) => c.name.startsWith('x') }];");
    const names = ['x1', 'y1', 'x2', 'y2'];
    const judgements = await Promise.all(
      names.map((name) => judgeContainer(buildContainer({ id: name, params: { Name: `/${name}` }, metrics: {}, image: 'i', position: 0, checkSource: 'periodic' }), rules, NONE, options, evaluator)),
    );
    expect(judgements.map((j) => j.violations.length)).to.deep.equal([1, 0, 1, 0]);
  });

  it('judges a rule that exhausts the worker heap as a violation, and keeps evaluating', async function () {
    this.timeout(30_000);
    const { rules, evaluator } = await inlineRules(
      `exports.rules = [
        { name: 'hog', rule: (c) => { if (c.name !== 'hog') return false; const all = []; for (;;) all.push(new Array(1e6).fill(c.name)); } },
        { name: 'named x', rule: (c) => c.name.startsWith('x') },
      ];`,
      20_000,
    );
    const container = (name: string) => buildContainer({ id: name, params: { Name: `/${name}` }, metrics: {}, image: 'i', position: 0, checkSource: 'periodic' });
    const [hog, other] = await Promise.all([judgeContainer(container('hog'), rules, NONE, options, evaluator), judgeContainer(container('x1'), rules, NONE, options, evaluator)]);
    expect(hog.violations.map((v) => v.error?.errorClass)).to.deep.equal([CRASH_ERROR_CLASS]);
    expect(hog.violations[0]!.reason).to.match(/Exception - rule: hog, class: RuleWorkerCrash, val: the rule worker died during this call/);
    expect(other.violations.map((v) => v.reason)).to.deep.equal(['named x']);
    const after = await judgeContainer(container('x2'), rules, NONE, options, evaluator);
    expect(after.violations.map((v) => v.reason)).to.deep.equal(['named x']);
  });
});
