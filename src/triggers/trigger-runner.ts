import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { ViolationReport } from '../actions/enforcer';
import type { Metrics } from '../metrics';
import type { Verdict } from '../rules/api';
import { readRuleSource, type RuleFileInfo } from '../rules/loader';
import { RuleLoadError } from '../rules/rule-load-error';
import { boundedCopy } from '../util/bounded';
import type { TriggerWorkerData, WorkerMessage } from './protocol';

export interface TriggerRunnerOptions {
  readonly path: string;
  readonly allowedModules: readonly string[];
  readonly timeoutMs: number;
  /** Variables triggers may read from `process.env` (TRIGGERS_ENV), with their values. */
  readonly env: Readonly<Record<string, string>>;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Verdicts waiting or running at most; beyond that new ones are dropped (counted and logged). */
  readonly maxPending?: number;
}

const DEFAULT_MAX_PENDING = 1000;

/** Characters of keys and strings a verdict's subject keeps (it waits in a queue of up to 1,000). */
export const MAX_SUBJECT_CHARS = 16_384;

/** A verdict as triggers see it: plain data (it crosses into a worker thread), its subject cut to MAX_SUBJECT_CHARS. */
export function toVerdict(report: ViolationReport): Verdict {
  return {
    subject: boundedCopy(report.subject, MAX_SUBJECT_CHARS).value as Verdict['subject'],
    kind: report.kind,
    reasons: [...report.reasons],
    mode: report.judgement.mode,
    action: report.action,
    checkSource: report.source,
    time: report.time.toISOString(),
  };
}

/**
 * Fires the triggers of `triggers/triggers.ts` once per violation, in a worker thread: they never
 * delay a stop or an AuthZ reply. The queue is bounded; drops are counted, never silent.
 */
export class TriggerRunner {
  private worker: Worker | undefined;
  private names: readonly string[] = [];
  private fileInfo: RuleFileInfo | undefined;
  private pending = 0;
  private lastDropLog = 0;
  private readonly idleWaiters: Array<() => void> = [];

  constructor(private readonly options: TriggerRunnerOptions) {}

  /** Loads the triggers file in the worker; throws RuleLoadError naming the file on any problem. */
  async start(): Promise<void> {
    const file = await readRuleSource('triggers', this.options.path, false);
    const data: TriggerWorkerData = { file, allowedModules: this.options.allowedModules, timeoutMs: this.options.timeoutMs, env: this.options.env };
    const worker = new Worker(path.join(__dirname, 'worker.js'), { workerData: data });
    const names = await new Promise<readonly string[]>((resolve, reject) => {
      worker.once('error', (err) => reject(new RuleLoadError(file.path, `trigger worker failed: ${err.message}`)));
      worker.on('message', (message: WorkerMessage) => {
        if (message.type === 'ready') resolve(message.names);
        else if (message.type === 'load-error') reject(new RuleLoadError(file.path, message.message.replace(`${file.path}: `, '')));
        else this.onMessage(message);
      });
    }).catch(async (err: unknown) => {
      await worker.terminate();
      throw err;
    });
    worker.on('error', (err) => this.options.log.error({ err }, 'trigger worker failed; triggers are off until restart'));
    worker.unref();
    this.worker = worker;
    this.names = names;
    this.fileInfo = { kind: 'triggers', path: file.path, present: file.present, loadedAt: file.loadedAt, source: file.source, names: [...names] };
    this.options.metrics.rulesLoaded.set({ kind: 'trigger' }, names.length);
  }

  info(): RuleFileInfo | undefined {
    return this.fileInfo;
  }

  /** Hands a violation to the triggers; returns at once. */
  fire(report: ViolationReport): void {
    if (!this.worker || this.names.length === 0) return;
    const maxPending = this.options.maxPending ?? DEFAULT_MAX_PENDING;
    if (this.pending >= maxPending) {
      this.options.metrics.triggerDropped.inc();
      // One line per second at most: a burst must not flood the log either.
      if (Date.now() - this.lastDropLog > 1000) {
        this.lastDropLog = Date.now();
        this.options.log.warn({ pending: this.pending, maxPending }, 'trigger queue full; dropping violations (docker_enforcer_trigger_dropped_total)');
      }
      return;
    }
    this.pending += 1;
    try {
      this.worker.postMessage({ type: 'run', verdict: toVerdict(report) });
    } catch (err: unknown) {
      this.pending -= 1;
      this.options.log.error({ err }, 'cannot hand a violation to the triggers');
    }
  }

  /** Resolves when no verdict is waiting or running (tests, shutdown). */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async stop(drainMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise((resolve) => (timer = setTimeout(resolve, drainMs)))]);
    clearTimeout(timer);
    await this.worker?.terminate();
    this.worker = undefined;
  }

  private onMessage(message: WorkerMessage): void {
    const { log, metrics } = this.options;
    if (message.type === 'result') {
      metrics.triggerRuns.inc({ trigger: message.trigger, result: message.result });
      if (message.result !== 'ok') {
        metrics.triggerErrors.inc({ trigger: message.trigger });
        log.warn({ trigger: message.trigger, result: message.result, error: message.message, ms: message.ms }, 'trigger failed');
      }
      return;
    }
    if (message.type === 'done') {
      this.pending = Math.max(0, this.pending - 1);
      if (this.pending === 0) this.idleWaiters.splice(0).forEach((resolve) => resolve());
      return;
    }
    if (message.type === 'console') {
      const level = ['debug', 'info', 'warn', 'error'].includes(message.level) ? (message.level as 'debug') : 'info';
      log[level]({ module: 'triggers', args: message.args }, 'trigger console output');
    }
  }
}
