import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { RuleHostEvaluator } from '../../../src/rules/host-evaluator';
import { MEMORY_ERROR_CLASS, type WorkerEvaluatorOptions } from '../../../src/rules/evaluator';
import type { EvaluationJob } from '../../../src/rules/sandbox';

const RULES = `exports.rules = [
  { name: 'named x', rule: (c) => c.name.startsWith('x') },
  { name: 'array buffer bomb', rule: (c) => { if (c.name !== 'bomb') return false; const a = new Uint8Array(2 ** 31); a.fill(1); return a[7] === 1; } },
  { name: 'spin', rule: (c) => { if (c.name !== 'spin') return false; for (;;) {} } },
];`;

const started: RuleHostEvaluator[] = [];

async function host(overrides: Partial<WorkerEvaluatorOptions> = {}): Promise<{ evaluator: RuleHostEvaluator; handle: number }> {
  const source = { kind: 'rules' as const, path: '/x/rules.js', present: true, loadedAt: '', source: RULES, code: RULES };
  const { evaluator, files } = await RuleHostEvaluator.start({ files: [source], allowedModules: [], timeoutMs: 200, ...overrides });
  started.push(evaluator);
  return { evaluator, handle: files[0]!.handle };
}

const job = (handle: number, name: string): EvaluationJob => ({ set: handle, args: [{ name }], stopOnFirstTruthy: false });

describe('the rule host process', function () {
  this.timeout(60_000);
  after(() => started.forEach((evaluator) => evaluator.close()));

  it('evaluates in a separate process, in an empty environment', async () => {
    const { evaluator, handle } = await host();
    expect(evaluator.hostPid).to.be.a('number').and.not.equal(process.pid);
    // Only what node's IPC channel itself needs.
    const environment = readFileSync(`/proc/${evaluator.hostPid}/environ`, 'utf8').split('\0').filter(Boolean);
    expect(environment.filter((entry) => !entry.startsWith('NODE_CHANNEL_'))).to.deep.equal([]);
    const [x, y] = await evaluator.evaluate([job(handle, 'x1'), job(handle, 'y1')]);
    expect(x!.outcomes.map((o) => o?.kind === 'value' && o.value)).to.deep.equal([true, false, false]);
    expect(y!.outcomes.map((o) => o?.kind === 'value' && o.value)).to.deep.equal([false, false, false]);
  });

  it('cuts off a rule that allocates outside the V8 heap (ArrayBuffers) and keeps evaluating', async () => {
    // A generous time bound, so the memory guard (not the clock) is what stops it.
    const { evaluator, handle } = await host({ rssLimitBytes: 600 * 1024 * 1024, timeoutMs: 20_000 });
    const before = process.memoryUsage().rss;
    const [bomb] = await evaluator.evaluate([job(handle, 'bomb')]);
    const outcome = bomb!.outcomes[1]!;
    expect(outcome.kind === 'error' && outcome.errorClass).to.equal(MEMORY_ERROR_CLASS);
    const [after] = await evaluator.evaluate([job(handle, 'x2')]);
    expect(after!.outcomes[0]).to.deep.equal({ kind: 'value', value: true });
    // This process never held the memory: the host did.
    expect(process.memoryUsage().rss - before).to.be.lessThan(200 * 1024 * 1024);
  });

  it('kills a host that grows past its ceiling: what was in flight fails, a fresh host takes over', async () => {
    const { evaluator, handle } = await host({ rssLimitBytes: 8 * 1024 ** 3, hostRssCeilingBytes: 500 * 1024 * 1024, timeoutMs: 20_000 });
    const firstPid = evaluator.hostPid;
    const failure = await evaluator.evaluate([job(handle, 'bomb')]).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(failure?.message).to.match(/the rule host stopped: resident size \d+ MiB above 500 MiB/);
    const [after] = await evaluator.evaluate([job(handle, 'x3')]);
    expect(after!.outcomes[0]).to.deep.equal({ kind: 'value', value: true });
    expect(evaluator.hostPid).to.not.equal(firstPid);
  });

  it('kills a host that stops answering (frozen), and the next evaluation gets a fresh one', async () => {
    const { evaluator, handle } = await host();
    const pid = evaluator.hostPid!;
    const pending = evaluator.evaluate([job(handle, 'x4')]);
    process.kill(pid, 'SIGSTOP');
    const failure = await pending.then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(failure?.message).to.match(/no sign of life/);
    const [after] = await evaluator.evaluate([job(handle, 'x5')]);
    expect(after!.outcomes[0]).to.deep.equal({ kind: 'value', value: true });
  });

  it('still cuts off a spinning rule inside the host', async () => {
    const { evaluator, handle } = await host({ timeoutMs: 100 });
    const [spin] = await evaluator.evaluate([job(handle, 'spin')]);
    expect(spin!.outcomes[2]).to.deep.equal({ kind: 'error', errorClass: 'RuleTimeoutError', message: 'did not return within RULE_TIMEOUT_MS=100 ms' });
  });
});
