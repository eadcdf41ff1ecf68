import type { Logger } from 'pino';
import type { DockerClient } from '../docker/client';
import type { ContainerInspector } from '../facts/inspector';
import { resolvePositions } from '../facts/positions';
import type { PeriodicRunStatus } from '../http/deps';
import type { ContainerParams } from '../rules/api';
import type { Metrics } from '../metrics';
import { mapLimit } from '../util/concurrency';
import { checkContainer, type CheckOutcome, type ContainerCheckDeps } from './container-check';

export interface PeriodicOptions {
  readonly docker: DockerClient;
  readonly inspector: ContainerInspector;
  readonly check: ContainerCheckDeps;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly intervalS: number;
  readonly immediateStart: boolean;
  readonly concurrency: number;
  /** Metrics are fetched only for containers whose rules read `c.metrics` (see checkContainer). */
  readonly withMetrics: boolean;
  /** false: no schedule, scans only on demand (resyncs of events mode). */
  readonly schedule: boolean;
}

export interface ScanSummary {
  readonly containers: number;
  readonly outcomes: Readonly<Record<CheckOutcome, number>>;
  readonly seconds: number;
}

const RETRY_INITIAL_MS = 1000;

/**
 * The periodic audit: every CHECK_INTERVAL_S, list running containers, fetch params and a stats
 * sample with bounded parallelism, judge and act. Runs never overlap; a scan that fails because
 * dockerd is unreachable is retried with backoff (capped at the interval) instead of waiting a
 * whole interval.
 */
export class PeriodicScanner {
  private interval: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAttempt = 0;
  private running: Promise<ScanSummary | undefined> | undefined;
  private lastRunStart: Date | null = null;
  private lastRunEnd: Date | null = null;
  private lastRunSeconds: number | null = null;
  private stopped = false;

  constructor(private readonly options: PeriodicOptions) {}

  start(): void {
    if (!this.options.schedule) return;
    this.interval = setInterval(() => void this.tick('schedule'), this.options.intervalS * 1000);
    if (this.options.immediateStart) void this.tick('start-up');
  }

  /** Stops scheduling and waits for the scan under way (its stops are drained by the daemon). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.interval);
    clearTimeout(this.retryTimer);
    await this.running;
  }

  status(): PeriodicRunStatus {
    return { lastRunStart: this.lastRunStart, lastRunEnd: this.lastRunEnd, lastRunSeconds: this.lastRunSeconds };
  }

  /** Runs a scan now unless one is under way (then returns undefined). Used by the schedule and by resyncs. */
  tick(reason: string): Promise<ScanSummary | undefined> {
    if (this.stopped) return Promise.resolve(undefined);
    if (this.running) {
      this.options.metrics.scansSkipped.inc();
      this.options.log.warn({ reason }, 'previous scan has not finished; skipping this one (consider raising CHECK_INTERVAL_S)');
      return Promise.resolve(undefined);
    }
    // A scan never rejects: whatever goes wrong is logged and the next tick runs as usual.
    this.running = this.scan(reason)
      .catch((err: unknown) => {
        this.options.metrics.scans.inc({ result: 'failed' });
        this.options.log.error({ err, reason }, 'scan failed unexpectedly');
        return undefined;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async scan(reason: string): Promise<ScanSummary | undefined> {
    const { docker, log, metrics } = this.options;
    const started = new Date();
    this.lastRunStart = started;
    const timer = metrics.scanDuration.startTimer();
    log.debug({ reason }, 'scan started');
    let listed;
    try {
      listed = await docker.listRunning();
    } catch (err: unknown) {
      metrics.scans.inc({ result: 'failed' });
      timer();
      this.scheduleRetry(err);
      return undefined;
    }
    this.retryAttempt = 0;
    // Inspect everything first: positions need the precise creation times, and the checks reuse them.
    const params = new Map<string, ContainerParams>();
    await mapLimit(listed, this.options.concurrency, async (summary) => {
      const fetched = await this.options.inspector.params(summary.id).catch(() => undefined);
      if (fetched) params.set(summary.id, fetched);
    });
    const positions = await resolvePositions(listed, async (id) => params.get(id)?.Created);
    const outcomes = await mapLimit(listed, this.options.concurrency, (summary) =>
      checkContainer(this.options.check, {
        id: summary.id,
        position: positions.get(summary.id) ?? 0,
        checkSource: 'periodic',
        withMetrics: this.options.withMetrics ? 'lazy' : false,
        listedName: summary.name,
        listedImage: summary.image,
        // A container whose inspect failed above is tried once more by the check, which logs why.
        params: params.get(summary.id),
      }),
    );
    const live = new Set(listed.map((c) => c.id));
    this.options.inspector.prune(live);
    this.options.check.cisReport?.prune(live);
    const seconds = timer();
    const end = new Date();
    this.lastRunEnd = end;
    this.lastRunSeconds = seconds;
    metrics.scans.inc({ result: 'completed' });
    metrics.lastScan.set(end.getTime() / 1000);
    const counts = countOutcomes(outcomes);
    log.info({ reason, containers: listed.length, ...counts, seconds: Number(seconds.toFixed(3)) }, 'scan finished');
    return { containers: listed.length, outcomes: counts, seconds };
  }

  private scheduleRetry(err: unknown): void {
    const delay = Math.min(this.options.intervalS * 1000, RETRY_INITIAL_MS * 2 ** this.retryAttempt);
    this.retryAttempt += 1;
    this.options.log.error({ err, retryInMs: delay }, 'scan failed: cannot list containers; retrying');
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.tick('retry'), delay);
  }
}

function countOutcomes(outcomes: readonly CheckOutcome[]): Record<CheckOutcome, number> {
  const counts: Record<CheckOutcome, number> = { compliant: 0, warned: 0, stopped: 0, denied: 0, skipped: 0, failed: 0 };
  for (const outcome of outcomes) counts[outcome] += 1;
  return counts;
}
