/**
 * The thread rule code runs in. The main thread sends batches of evaluations and bounds each call
 * from outside: it reads which call is running from shared memory and terminates this thread when
 * one overruns, so a spinning rule never blocks the event loop that answers dockerd.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { instantiateRules } from './loader';
import { RuleLoadError } from './rule-load-error';
import { RuleSandbox, type KnownCall } from './sandbox';
import { printable } from '../util/errors';
import type { FromRuleWorker, LoadedFileEntries, RuleWorkerData, ToRuleWorker } from './worker-protocol';

const data = workerData as RuleWorkerData;
const port = parentPort!;
const post = (message: FromRuleWorker): void => port.postMessage(message);

/** This thread's id (Linux: /proc/thread-self -> PID/task/TID), for its CPU time; undefined elsewhere. */
function threadId(): number | undefined {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) ? tid : undefined;
  } catch {
    return undefined;
  }
}

const TID = threadId();

/** This thread's CPU time in ms (clock ticks of 10 ms), 0 where /proc cannot tell. */
function cpuMs(): number {
  try {
    const fields = readFileSync('/proc/thread-self/stat', 'utf8').replace(/^.*\) /, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

// A promise a rule returned (a violation already) may reject later, outside any call: that must not
// end the worker (Node's default for an unhandled rejection) and with it every check in flight.
process.on('unhandledRejection', () => undefined);

function main(): void {
  const sandbox = new RuleSandbox({
    allowedModules: data.allowedModules,
    timeoutMs: data.timeoutMs,
    onConsole: data.forwardConsole ? (level, args) => post({ type: 'console', level, args: args.map(printable) }) : undefined,
  });
  sandbox.attachProgress(new Int32Array(data.progress));
  const files: LoadedFileEntries[] = [];
  const errors: Array<{ location: string; detail: string }> = [];
  for (const file of data.files) {
    try {
      const loaded = instantiateRules(sandbox, file);
      files.push({ handle: loaded.handle, rules: loaded.rules.map(({ name, mode, index }) => ({ name, mode, index })) });
    } catch (err: unknown) {
      if (err instanceof RuleLoadError) errors.push({ location: err.location, detail: err.detail });
      else errors.push({ location: file.path, detail: `failed while loading: ${(err as Error)?.message ?? String(err)}` });
    }
  }
  if (errors.length > 0) {
    post({ type: 'load-error', errors });
    return;
  }
  port.on('message', (message: ToRuleWorker) => {
    if (message.type !== 'evaluate') return;
    let outcome: { json: string; deferred: number[] };
    try {
      outcome = sandbox.evaluateBounded(message.batch, message.jobs, JSON.parse(message.marks) as KnownCall[], { budgetMs: message.budgetMs, defer: message.defer, cpuMs });
    } catch (err: unknown) {
      // No result for this batch: its checks fail (a fault, denied in KILL mode), the worker goes on.
      post({ type: 'failed', batch: message.batch, message: printable(err instanceof Error ? err.message : err) });
      return;
    }
    post({ type: 'result', batch: message.batch, results: outcome.json, deferred: outcome.deferred });
  });
  post({ type: 'ready', files, tid: TID });
}

main();
