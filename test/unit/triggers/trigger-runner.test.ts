import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import pino from 'pino';
import type { ViolationReport } from '../../../src/actions/enforcer';
import { NO_VIOLATION } from '../../../src/engine/judge';
import { createMetrics } from '../../../src/metrics';
import { TriggerRunner } from '../../../src/triggers/trigger-runner';

const report: ViolationReport = {
  kind: 'container',
  subject: { id: 'abc', name: 'web' },
  reasons: ['r'],
  judgement: { ...NO_VIOLATION, mode: 'KILL' },
  action: 'stopped',
  source: 'periodic',
  time: new Date(0),
};

describe('trigger runner', () => {
  it('bounds its queue: what does not fit is dropped and counted, never silently', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'de-trig-'));
    const file = path.join(dir, 'triggers.ts');
    await writeFile(file, "export const triggers = [{ name: 'slow', trigger: () => { const end = Date.now() + 100; while (Date.now() < end) { /* busy */ } } }];");
    const metrics = createMetrics('test');
    const runner = new TriggerRunner({ path: file, allowedModules: [], timeoutMs: 1000, env: {}, log: pino({ level: 'silent' }), metrics, maxPending: 2 });
    try {
      await runner.start();
      for (let i = 0; i < 10; i++) runner.fire(report);
      await runner.idle();
      const text = await metrics.registry.metrics();
      expect(text).to.match(/^docker_enforcer_trigger_dropped_total 8$/m);
      expect(text).to.match(/^docker_enforcer_trigger_runs_total\{trigger="slow",result="ok"\} 2$/m);
    } finally {
      await runner.stop(100);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runs nothing and loads nothing when the triggers file is absent', async () => {
    const runner = new TriggerRunner({ path: '/nonexistent/triggers.ts', allowedModules: [], timeoutMs: 1000, env: {}, log: pino({ level: 'silent' }), metrics: createMetrics('t') });
    await runner.start();
    runner.fire(report);
    await runner.idle();
    expect(runner.info()?.present).to.equal(false);
    await runner.stop(10);
  });
});
