/**
 * Runs triggers off the main thread, so a trigger that spins, blocks or hangs can never delay a
 * stop or an AuthZ reply. The synchronous part of each call is bounded by the sandbox's time bound,
 * the asynchronous part by a timer; either way the result is reported back and the others run on.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { instantiateRules, type LoadedRule } from '../rules/loader';
import { RuleSandbox } from '../rules/sandbox';
import { RuleLoadError } from '../rules/rule-load-error';
import type { RunMessage, TriggerWorkerData, WorkerMessage } from './protocol';

const data = workerData as TriggerWorkerData;
const port = parentPort!;
const post = (message: WorkerMessage): void => port.postMessage(message);

function isTimeout(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
}

function describe(err: unknown): string {
  const error = err as { name?: unknown; message?: unknown } | null;
  return error && typeof error === 'object' ? `${String(error.name ?? 'Error')}: ${String(error.message ?? '')}` : String(err);
}

async function runOne(sandbox: RuleSandbox, trigger: LoadedRule, verdict: unknown): Promise<void> {
  const started = Date.now();
  const report = (result: 'ok' | 'error' | 'timeout', message?: string): void => post({ type: 'result', trigger: trigger.name, result, message, ms: Date.now() - started });
  let value: unknown;
  try {
    value = sandbox.callBounded(trigger.fn, [verdict], data.timeoutMs);
  } catch (err: unknown) {
    report(isTimeout(err) ? 'timeout' : 'error', isTimeout(err) ? `did not return within TRIGGER_TIMEOUT_MS=${data.timeoutMs} ms` : describe(err));
    return;
  }
  if (value === null || typeof value !== 'object' || typeof (value as { then?: unknown }).then !== 'function') {
    report('ok');
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const remaining = Math.max(1, data.timeoutMs - (Date.now() - started));
  const outcome = await Promise.race([
    Promise.resolve(value as Promise<unknown>).then(
      () => 'ok' as const,
      (err: unknown) => describe(err),
    ),
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), remaining);
    }),
  ]);
  clearTimeout(timer);
  if (outcome === 'ok') report('ok');
  else if (outcome === 'timeout') report('timeout', `did not settle within TRIGGER_TIMEOUT_MS=${data.timeoutMs} ms`);
  else report('error', outcome);
}

function main(): void {
  const sandbox = new RuleSandbox({
    allowedModules: data.allowedModules,
    timeoutMs: data.timeoutMs,
    env: data.env,
    onConsole: (level, args) => post({ type: 'console', level, args: args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a) ?? String(a))) }),
  });
  let triggers: readonly LoadedRule[];
  try {
    triggers = instantiateRules(sandbox, data.file).rules;
  } catch (err: unknown) {
    post({ type: 'load-error', message: err instanceof RuleLoadError ? err.message : describe(err) });
    return;
  }
  post({ type: 'ready', names: triggers.map((t) => t.name) });
  port.on('message', (message: RunMessage) => {
    if (message.type !== 'run') return;
    const verdict = Object.freeze(message.verdict);
    void Promise.all(triggers.map((trigger) => runOne(sandbox, trigger, verdict))).then(() => post({ type: 'done' }));
  });
}

main();
