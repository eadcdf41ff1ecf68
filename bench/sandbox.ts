/**
 * Per-evaluation overhead of the rule sandbox: 10 container rules on an inspect-shaped container,
 * called directly (baseline), through the sandbox in this thread (JSON in, frozen, JSON out), and
 * through the rule worker as the daemon does it: one check at a time (round trip), and 16 at once
 * (batched, as under load).
 * Usage: npm run bench:sandbox [-- ITERATIONS]
 */
import { performance } from 'node:perf_hooks';
import { buildContainer } from '../src/facts/container-facts';
import { WorkerEvaluator } from '../src/rules/evaluator';
import { RuleSandbox, type SandboxFunction } from '../src/rules/sandbox';

const RULES_SOURCE = `
exports.rules = [
  { name: 'memory', rule: (c) => !c.params.HostConfig.Memory },
  { name: 'privileged', rule: (c) => c.params.HostConfig.Privileged === true },
  { name: 'host network', rule: (c) => c.params.HostConfig.NetworkMode === 'host' },
  { name: 'pid host', rule: (c) => c.params.HostConfig.PidMode === 'host' },
  { name: 'docker socket', rule: (c) => (c.params.HostConfig.Binds || []).some((b) => b.startsWith('/var/run/docker.sock')) },
  { name: 'restart policy', rule: (c) => c.params.HostConfig.RestartPolicy.Name === '' },
  { name: 'team label', rule: (c) => !(c.params.Config.Labels || {})['team'] },
  { name: 'root user', rule: (c) => c.params.Config.User === 'root' },
  { name: 'cap sys admin', rule: (c) => (c.params.HostConfig.CapAdd || []).includes('SYS_ADMIN') },
  { name: 'no more than 50', rule: (c) => c.position >= 50 },
];`;

function container(i: number) {
  return buildContainer({
    id: `${i}`.padStart(64, 'a'),
    params: {
      Name: `/c${i}`,
      Config: { Image: 'busybox', User: '', Labels: { team: 'a', 'com.example.x': 'y' }, Env: ['A=1'] },
      HostConfig: { Memory: 1 << 26, Privileged: false, NetworkMode: 'none', PidMode: '', Binds: ['/data:/data'], RestartPolicy: { Name: 'always' }, CapAdd: null },
    },
    metrics: {},
    image: 'busybox',
    position: i % 60,
    checkSource: 'periodic',
  });
}

async function time(label: string, iterations: number, perOp: number, fn: () => unknown): Promise<number> {
  await fn();
  const started = performance.now();
  for (let i = 0; i < iterations; i++) await fn();
  const usPerContainer = ((performance.now() - started) * 1000) / iterations / perOp;
  console.log(`${label.padEnd(56)} ${usPerContainer.toFixed(2).padStart(9)} µs per container`);
  return usPerContainer;
}

async function main(): Promise<void> {
  const iterations = Number(process.argv[2] ?? 20000);
  const containers = Array.from({ length: 100 }, (_, i) => container(i));
  const hostModule: { exports: { rules: Array<{ rule: SandboxFunction }> } } = { exports: { rules: [] } };
  new Function('exports', RULES_SOURCE)(hostModule.exports);
  const hostFns = hostModule.exports.rules.map((r) => r.rule);
  const sandbox = new RuleSandbox({ allowedModules: [], timeoutMs: 200 });
  const sandboxFns = (sandbox.loadModule(RULES_SOURCE, '/bench/rules.js') as { rules: Array<{ rule: SandboxFunction }> }).rules.map((r) => r.rule);
  const set = sandbox.register(sandboxFns);
  const source = { kind: 'rules' as const, path: '/bench/rules.js', present: true, loadedAt: new Date().toISOString(), source: RULES_SOURCE, code: RULES_SOURCE };
  const { evaluator, files } = await WorkerEvaluator.start({ files: [source], allowedModules: [], timeoutMs: 200 });
  const workerSet = files[0]!.handle;

  let n = 0;
  const base = await time('direct calls, no sandbox (baseline)', iterations, 1, () => {
    const c = containers[n++ % 100];
    for (const fn of hostFns) fn(c);
  });
  const inThread = await time('sandbox in this thread, unbounded', iterations, 1, () => sandbox.evaluate(1, [{ set, args: [containers[n++ % 100]], stopOnFirstTruthy: false }]));
  const single = await time('rule worker, one check at a time (round trip)', Math.ceil(iterations / 4), 1, () =>
    evaluator.evaluate([{ set: workerSet, args: [containers[n++ % 100]], stopOnFirstTruthy: false }]),
  );
  const concurrent = 16;
  const batched = await time(`rule worker, ${concurrent} checks at once (batched)`, Math.ceil(iterations / concurrent), concurrent, () =>
    Promise.all(Array.from({ length: concurrent }, () => evaluator.evaluate([{ set: workerSet, args: [containers[n++ % 100]], stopOnFirstTruthy: false }]))),
  );
  evaluator.close();
  console.log(`sandbox cost over direct calls: in thread ${(inThread - base).toFixed(2)} µs; worker round trip ${(single - base).toFixed(2)} µs; worker batched ${(batched - base).toFixed(2)} µs per container`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
