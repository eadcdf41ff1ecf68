/**
 * Full periodic scans of N idle containers on a throwaway engine, params-only and params + metrics,
 * against the floor: the same Docker calls made directly with the same parallelism.
 * Usage: npm run bench:scan [-- N [ROUNDS]]
 */
import { performance } from 'node:perf_hooks';
import { mapLimit } from '../src/util/concurrency';
import { startTestEngine, type TestEngine } from '../test/integration/engine';
import { createBenchDaemon } from './bench-daemon';

const CONCURRENCY = 100;

const PARAMS_RULES = `export const rules = [
  { name: 'must have memory limit', rule: (c) => !c.params.HostConfig.Memory, mode: 'WARN' },
  { name: 'no privileged', rule: (c) => c.params.HostConfig.Privileged === true },
  { name: 'no more than 1000', rule: (c) => c.position >= 1000 },
];`;
const METRICS_RULES = `export const rules = [
  { name: 'memory usage above 1 GiB', rule: (c) => (c.metrics.memory_stats?.usage ?? 0) > 1024 ** 3 },
  { name: 'cpu above 90%', rule: (c) => {
      const cpu = c.metrics.cpu_stats, pre = c.metrics.precpu_stats;
      if (!cpu || !pre || !cpu.system_cpu_usage || !pre.system_cpu_usage) return false;
      const d = (cpu.cpu_usage?.total_usage ?? 0) - (pre.cpu_usage?.total_usage ?? 0);
      const s = cpu.system_cpu_usage - pre.system_cpu_usage;
      return s > 0 && (d / s) * (cpu.online_cpus ?? 1) * 100 > 90;
  } },
];`;

async function median(rounds: number, fn: () => Promise<void>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    await fn();
    times.push((performance.now() - started) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function floor(engine: TestEngine, withStats: boolean): Promise<void> {
  const list = await engine.docker.listContainers();
  await mapLimit(list, CONCURRENCY, async (c) => {
    const container = engine.docker.getContainer(c.Id);
    await Promise.all([container.inspect(), withStats ? container.stats({ stream: false }) : Promise.resolve()]);
  });
}

async function enforcerScan(engine: TestEngine, rules: string, cacheParams: boolean, rounds: number, packs?: string): Promise<number> {
  const bench = await createBenchDaemon(
    engine,
    rules,
    {
      CHECK_INTERVAL_S: '3600',
      CACHE_PARAMS: cacheParams ? 'True' : 'False',
      SCAN_CONCURRENCY: String(CONCURRENCY),
    },
    packs,
  );
  const daemon = bench.daemon;
  await daemon.start();
  try {
    await daemon.scanNow('warm-up');
    return await median(rounds, async () => {
      await daemon.scanNow('bench');
    });
  } finally {
    await bench.stop();
  }
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 100);
  const rounds = Number(process.argv[3] ?? 3);
  const engine = await startTestEngine();
  try {
    const created = performance.now();
    await mapLimit(Array.from({ length: count }, (_, i) => i), 8, (i) => engine.runContainer({ name: `bench-${i}` }));
    console.log(`started ${count} idle containers in ${((performance.now() - created) / 1000).toFixed(1)} s; ${rounds} rounds each, median shown`);

    const floorParams = await median(rounds, () => floor(engine, false));
    const paramsNoCache = await enforcerScan(engine, PARAMS_RULES, false, rounds);
    const paramsCached = await enforcerScan(engine, PARAMS_RULES, true, rounds);
    // The CIS pack on every container, every check WARN (the shipped setting): judged and recorded each scan.
    const withPack = await enforcerScan(engine, PARAMS_RULES, true, rounds, 'cis-docker:\n  mode: WARN\n');
    // The same checks for the report only (mode off): judging without recording what they find.
    const reportOnly = await enforcerScan(engine, PARAMS_RULES, true, rounds, 'cis-docker:\n  mode: off\n');
    const floorMetrics = await median(rounds, () => floor(engine, true));
    const metrics = await enforcerScan(engine, METRICS_RULES, true, rounds);

    const row = (label: string, seconds: number, base: number): void =>
      console.log(`${label.padEnd(44)} ${seconds.toFixed(3).padStart(8)} s   ${(seconds / base).toFixed(2)}x floor`);
    console.log(`\n${count} containers, ${CONCURRENCY} Docker requests in flight`);
    row('floor: list + inspect each', floorParams, floorParams);
    row('enforcer params-only scan (no cache)', paramsNoCache, floorParams);
    row('enforcer params-only scan (CACHE_PARAMS)', paramsCached, floorParams);
    row('  + cis-docker pack (every check WARN)', withPack, floorParams);
    console.log(`${'  the pack adds'.padEnd(44)} ${((withPack / paramsCached - 1) * 100).toFixed(1).padStart(7)} % to the params-only scan`);
    row('  + cis-docker pack, mode off (report only)', reportOnly, floorParams);
    console.log(`${'  judging for the report adds'.padEnd(44)} ${((reportOnly / paramsCached - 1) * 100).toFixed(1).padStart(7)} % to the params-only scan`);
    row('floor: list + inspect + stats each', floorMetrics, floorMetrics);
    row('enforcer params + metrics scan', metrics, floorMetrics);
    console.log(`\nbench process RSS after the runs: ${(process.memoryUsage().rss / 1024 / 1024).toFixed(1)} MiB (daemon + harness in one process)`);
  } finally {
    await engine.removeAllContainers();
    await engine.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
