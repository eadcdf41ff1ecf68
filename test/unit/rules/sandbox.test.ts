import * as path from 'node:path';
import { expect } from 'chai';
import { EMPTY_GROUP as NONE, judgeContainer } from '../../../src/engine/judge';
import { parseWhitelist } from '../../../src/engine/whitelist';
import { buildContainer } from '../../../src/facts/container-facts';
import { loadRuleFile } from '../../../src/rules/loader';
import { BatchingEvaluator } from '../../../src/rules/evaluator';
import { RuleSandbox } from '../../../src/rules/sandbox';
import { RuleLoadError } from '../../../src/rules/transpile';

const fixtures = path.resolve(__dirname, '../../../../test/fixtures/rules');
const options = { whiteList: parseWhitelist([]).whitelist, imageWhiteList: parseWhitelist([]).whitelist, stopOnFirstViolation: false, defaultMode: 'WARN' as const };
const victim = buildContainer({ id: 'abc', params: { Name: '/victim', HostConfig: {} }, metrics: {}, image: 'img', position: 0, checkSource: 'periodic' });

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

  it('accepts a default export and reads per-rule modes', async () => {
    const sandbox = new RuleSandbox({ allowedModules: [], timeoutMs: 200 });
    const file = await loadRuleFile(sandbox, 'rules', path.join(fixtures, 'default-export.ts'), true);
    expect(file.rules.map((r) => [r.name, r.mode])).to.deep.equal([['privileged', 'KILL']]);
    expect(file.info.source).to.include('Privileged');
  });

  it('gives rules no modules, no host environment, and a read-only container', async () => {
    const sandbox = new RuleSandbox({ allowedModules: [], timeoutMs: 200 });
    const file = await loadRuleFile(sandbox, 'rules', path.join(fixtures, 'sandbox-escape.ts'), true);
    const judgement = await judgeContainer(victim, file, NONE, options, new BatchingEvaluator(sandbox));
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
    const sandbox = new RuleSandbox({ allowedModules: [], timeoutMs: 200 });
    const file = await loadRuleFile(sandbox, 'rules', path.join(fixtures, 'timeouts.ts'), true);
    const started = Date.now();
    const judgement = await judgeContainer(victim, file, NONE, options, new BatchingEvaluator(sandbox));
    const elapsed = Date.now() - started;
    expect(judgement.violations.map((v) => v.reason)).to.deep.equal([
      'Exception - rule: spin forever, class: RuleTimeoutError, val: did not return within RULE_TIMEOUT_MS=200 ms',
      'real violation',
      'Exception - rule: async rule, class: TypeError, val: returned a Promise; rules must return a boolean synchronously',
    ]);
    // 200 ms for the endless rule + 120 ms for the slow one, plus slack for a busy machine.
    expect(elapsed).to.be.below(3000);
  });

  it('keeps working after a cut-off (the sandbox stays usable)', async () => {
    const sandbox = new RuleSandbox({ allowedModules: [], timeoutMs: 50 });
    const file = await loadRuleFile(sandbox, 'rules', path.join(fixtures, 'timeouts.ts'), true);
    const evaluator = new BatchingEvaluator(sandbox);
    for (let i = 0; i < 3; i++) {
      const judgement = await judgeContainer(victim, { handle: file.handle, rules: [file.rules[0]!, file.rules[2]!] }, NONE, options, evaluator);
      expect(judgement.violations.map((v) => v.rule)).to.deep.equal(['spin forever', 'real violation']);
    }
  });

  it('tells whether a rule read deferred metrics', async () => {
    const sandbox = new RuleSandbox({ allowedModules: [], timeoutMs: 200 });
    const exported = sandbox.loadModule(
      "exports.rules = [{ name: 'params', rule: (c) => c.position > 5 }, { name: 'metrics', rule: (c) => (c.metrics.memory_stats || {}).usage > 1 }];",
      '/x/rules.js',
    ) as { rules: Array<{ rule: never }> };
    const handle = sandbox.register(exported.rules.map((r) => r.rule));
    const [paramsOnly, withMetrics] = sandbox.evaluate([
      { set: handle, indices: [0], args: [victim], stopOnFirstTruthy: false, watch: ['metrics'] },
      { set: handle, args: [victim], stopOnFirstTruthy: false, watch: ['metrics', 'position'] },
    ]);
    expect(paramsOnly?.read).to.deep.equal([]);
    expect(withMetrics?.read).to.deep.equal(['position', 'metrics']);
  });

  it('batches concurrent evaluations into one sandbox call', async () => {
    const sandbox = new RuleSandbox({ allowedModules: [], timeoutMs: 200 });
    const exported = sandbox.loadModule("exports.rules = [{ name: 'named x', rule: (c) => c.name.startsWith('x') }];", '/x/rules.js') as {
      rules: Array<{ name: string; rule: never }>;
    };
    const fn = exported.rules[0]!.rule;
    const rules = { handle: sandbox.register([fn]), rules: [{ name: 'named x', mode: undefined, fn, index: 0 }] };
    const evaluator = new BatchingEvaluator(sandbox);
    const names = ['x1', 'y1', 'x2', 'y2'];
    const judgements = await Promise.all(
      names.map((name) => judgeContainer(buildContainer({ id: name, params: { Name: `/${name}` }, metrics: {}, image: 'i', position: 0, checkSource: 'periodic' }), rules, NONE, options, evaluator)),
    );
    expect(judgements.map((j) => j.violations.length)).to.deep.equal([1, 0, 1, 0]);
  });
});
