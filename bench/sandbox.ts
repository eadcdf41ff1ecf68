/**
 * Per-evaluation overhead of the rule sandbox: 10 container rules on an inspect-shaped container,
 * called directly (baseline), one bounded sandbox call per container, and batched as under load.
 * Usage: npm run bench:sandbox [-- ITERATIONS]
 */
import { performance } from 'node:perf_hooks';
import { buildContainer } from '../src/facts/container-facts';
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

function time(label: string, iterations: number, fn: () => void): number {
  fn();
  const started = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  const usPerOp = ((performance.now() - started) * 1000) / iterations;
  console.log(`${label.padEnd(48)} ${usPerOp.toFixed(2).padStart(9)} µs per container`);
  return usPerOp;
}

function main(): void {
  const iterations = Number(process.argv[2] ?? 20000);
  const containers = Array.from({ length: 100 }, (_, i) => container(i));
  const hostModule: { exports: { rules: Array<{ rule: SandboxFunction }> } } = { exports: { rules: [] } };
  new Function('exports', RULES_SOURCE)(hostModule.exports);
  const hostFns = hostModule.exports.rules.map((r) => r.rule);
  const sandbox = new RuleSandbox({ allowedModules: [], timeoutMs: 200 });
  const sandboxFns = (sandbox.loadModule(RULES_SOURCE, '/bench/rules.js') as { rules: Array<{ rule: SandboxFunction }> }).rules.map((r) => r.rule);
  const set = sandbox.register(sandboxFns);

  let n = 0;
  const base = time('direct calls, no sandbox (baseline)', iterations, () => {
    const c = containers[n++ % 100];
    for (const fn of hostFns) fn(c);
  });
  const single = time('sandbox, one bounded call per container', Math.ceil(iterations / 10), () => {
    sandbox.evaluate([{ set, args: [containers[n++ % 100]], stopOnFirstTruthy: false }]);
  });
  const batchSize = 16;
  const batched = time(`sandbox, batches of ${batchSize} (concurrent requests)`, Math.ceil(iterations / batchSize), () => {
    const jobs = Array.from({ length: batchSize }, () => ({ set, args: [containers[n++ % 100]], stopOnFirstTruthy: false }));
    sandbox.evaluate(jobs);
  }) / batchSize;
  console.log(`batched per container: ${batched.toFixed(2)} µs; overhead over direct: ${(batched - base).toFixed(2)} µs (${(batched / base).toFixed(1)}x)`);
  console.log(`unbatched overhead over direct: ${(single - base).toFixed(2)} µs (time bound: one watchdog thread per bounded call)`);
}

main();
