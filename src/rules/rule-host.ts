/**
 * The rule host: a child process of the daemon that runs the rule workers (evaluator.ts). Whatever a
 * rule does to it — an allocation V8 cannot recover from aborts a whole process, not only a worker —
 * ends here, and the daemon (which answers dockerd) starts a fresh host. It talks only over IPC and
 * says it is alive every HEARTBEAT_MS, so a wedged host is noticed and killed.
 */
import { WorkerEvaluator } from './evaluator';
import { RuleSetLoadError } from './rule-load-error';
import type { FromRuleHost, ToRuleHost } from './host-protocol';
import { errorMessage, printable } from '../util/errors';

export const HEARTBEAT_MS = 250;

const send = (message: FromRuleHost): void => {
  if (process.connected) process.send!(message);
};

let evaluator: WorkerEvaluator | undefined;

async function start(message: Extract<ToRuleHost, { type: 'start' }>): Promise<void> {
  try {
    const started = await WorkerEvaluator.start({
      files: message.files,
      allowedModules: message.allowedModules,
      timeoutMs: message.timeoutMs,
      ...(message.rssLimitBytes !== undefined ? { rssLimitBytes: message.rssLimitBytes } : {}),
      onConsole: message.forwardConsole ? (level, args) => send({ type: 'console', level, args: args.map(printable) }) : undefined,
      onRestart: (reason, detail) => send({ type: 'restart', reason, detail }),
    });
    evaluator = started.evaluator;
    send({ type: 'ready', files: started.files });
  } catch (err: unknown) {
    const errors = err instanceof RuleSetLoadError ? err.errors.map((e) => ({ location: e.location, detail: e.detail })) : [{ location: 'rule host', detail: errorMessage(err) }];
    send({ type: 'load-error', errors });
  }
}

process.on('message', (message: ToRuleHost) => {
  switch (message.type) {
    case 'start':
      void start(message);
      return;
    case 'evaluate':
      if (!evaluator) return send({ type: 'failed', id: message.id, message: 'the rule host has no rules loaded' });
      evaluator.evaluateSerialized(message.jobs).then(
        (results) => send({ type: 'result', id: message.id, results }),
        (err: unknown) => send({ type: 'failed', id: message.id, message: errorMessage(err) }),
      );
      return;
    case 'close':
      evaluator?.close();
      process.disconnect();
  }
});

// The daemon went away (or closed this rule set): nothing left to do.
process.on('disconnect', () => process.exit(0));
setInterval(() => send({ type: 'alive' }), HEARTBEAT_MS);
