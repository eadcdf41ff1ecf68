/**
 * Events mode latency: M violating containers are started on a throwaway engine; for each, the time
 * from its start (State.StartedAt) to the enforcer sending the stop request, and to Docker's `die`
 * event. Once with params-only rules, once with a metrics rule (which waits for a stats sample).
 * Usage: npm run bench:events [-- M]
 */
import type { Container } from '../src/rules/api';
import { mapLimit } from '../src/util/concurrency';
import { startTestEngine, type TestEngine } from '../test/integration/engine';
import { createBenchDaemon } from './bench-daemon';

const PARAMS_RULES = `export const rules = [
  { name: 'must have memory limit', rule: (c) => !c.params.HostConfig.Memory },
  { name: 'no privileged', rule: (c) => c.params.HostConfig.Privileged === true },
];`;
const METRICS_RULES = `export const rules = [
  { name: 'memory use above 1 GiB, or no limit', rule: (c) => (c.metrics.memory_stats?.usage ?? 0) > 1024 ** 3 || !c.params.HostConfig.Memory },
];`;

function nanosOf(rfc3339: string): bigint {
  const match = /^(.*?)(?:\.(\d+))?Z$/.exec(rfc3339);
  const seconds = BigInt(Math.floor(Date.parse(`${match?.[1] ?? rfc3339}Z`) / 1000));
  return seconds * 1_000_000_000n + BigInt((match?.[2] ?? '').padEnd(9, '0').slice(0, 9) || '0');
}

function percentiles(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
  return `p50 ${at(50).toFixed(1)} ms  p95 ${at(95).toFixed(1)} ms  p99 ${at(99).toFixed(1)} ms  max ${at(100).toFixed(1)} ms`;
}

async function run(engine: TestEngine, label: string, rules: string, count: number): Promise<void> {
  const bench = await createBenchDaemon(engine, rules, { RUN_PERIODIC: 'False', RUN_START_EVENTS: 'True', MODE: 'KILL', STOP_TIMEOUT_S: '0' });
  const daemon = bench.daemon;
  const stopRequested = new Map<string, bigint>();
  daemon.violations.onViolation((report) => {
    if (report.action === 'stopped') stopRequested.set((report.subject as Container).id, BigInt(Date.now()) * 1_000_000n);
  });
  await daemon.start();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const dies = new Map<string, bigint>();
  const startSeen = new Map<string, bigint>();
  const events = await engine.docker.getEvents({ filters: JSON.stringify({ type: ['container'], event: ['die', 'start'] }) });
  let pending = '';
  events.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      const event = JSON.parse(line) as { id: string; timeNano: number; Action: string };
      if (event.Action === 'start') startSeen.set(event.id, BigInt(Date.now()) * 1_000_000n);
      else dies.set(event.id, BigInt(event.timeNano));
    }
  });
  try {
    const ids = await mapLimit(Array.from({ length: count }, (_, i) => i), 8, (i) => engine.runContainer({ name: `${label.replace(/\W+/g, "-")}-${i}` }));
    await engine.waitFor(async () => ids.every((id) => dies.has(id)), 60_000, 'every container to die').catch((err: unknown) => {
      throw new Error(`${(err as Error).message}: ${stopRequested.size} stop requests, ${dies.size} die events`);
    });
    const toStop: number[] = [];
    const toDie: number[] = [];
    const ownLatency: number[] = [];
    for (const id of ids) {
      const info = await engine.docker.getContainer(id).inspect();
      const startedAt = nanosOf(info.State.StartedAt);
      const stop = stopRequested.get(id);
      if (stop !== undefined) toStop.push(Number(stop - startedAt) / 1e6);
      const seen = startSeen.get(id);
      if (stop !== undefined && seen !== undefined) ownLatency.push(Number(stop - seen) / 1e6);
      toDie.push(Number(dies.get(id)! - startedAt) / 1e6);
    }
    console.log(`${label} (${count} containers, ${toStop.length} stop requests)`);
    console.log(`  start -> stop request sent: ${percentiles(toStop)}`);
    console.log(`  start -> die event:         ${percentiles(toDie)}`);
    console.log(`  start event delivered -> stop request sent (the enforcer's own share): ${percentiles(ownLatency)}`);
  } finally {
    (events as unknown as { destroy(): void }).destroy();
    await bench.stop();
    await engine.removeAllContainers();
  }
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 50);
  const engine = await startTestEngine();
  try {
    await run(engine, 'params-only rules', PARAMS_RULES, count);
    await run(engine, 'metrics rule', METRICS_RULES, count);
    console.log('(stop request times are wall-clock; StartedAt is dockerd\'s clock on the same host)');
  } finally {
    await engine.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
