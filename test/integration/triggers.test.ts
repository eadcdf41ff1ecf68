import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { createEnvelope, startEnforcer, type RunningEnforcer } from './enforcer';
import { testEngine } from './setup';

const RULES = `export const rules: ContainerRule[] = [
  { name: 'must have memory limit', rule: (c) => !c.params.HostConfig?.Memory },
  { name: 'no privileged containers', rule: (c) => c.params.HostConfig?.Privileged === true },
];`;

/** A trigger file that appends one JSON line per verdict to `out`, through the allowed node:fs. */
function recordingTriggers(out: string): string {
  return `import type { Trigger } from 'docker-enforcer';
declare const require: (name: string) => { appendFileSync(file: string, text: string): void };
export const triggers: Trigger[] = [
  { name: 'record', trigger: (v) => {
      const subject = v.subject as { name?: string; action?: string };
      require('fs').appendFileSync(${JSON.stringify(out)}, JSON.stringify({ source: v.checkSource, kind: v.kind, action: v.action, reasons: v.reasons, name: subject.name ?? subject.action }) + '\\n');
  } },
];`;
}

const HANGING_TRIGGERS = `export const triggers = [
  { name: 'never settles', trigger: () => new Promise(() => undefined) },
  { name: 'spins', trigger: () => { while (true) { /* stuck */ } } },
];`;

// The README's webhook example, with node:http instead of node:https for a loopback server.
const WEBHOOK_TRIGGER = `import type { Trigger } from 'docker-enforcer';
declare const require: (name: string) => any;
declare const process: { env: Record<string, string | undefined> };

export const triggers: Trigger[] = [
  {
    name: 'webhook',
    trigger: (v) =>
      new Promise<void>((resolve, reject) => {
        const subject = v.subject as { name?: string; uri?: string };
        const text = \`\${subject.name ?? subject.uri}: \${v.action} \${JSON.stringify(v.reasons)} (\${v.mode}, \${v.checkSource})\`;
        const request = require('http').request(process.env.WEBHOOK_URL, { method: 'POST', headers: { 'content-type': 'application/json' } }, (response: any) => {
          response.resume();
          response.on('end', resolve);
        });
        request.on('error', reject);
        request.end(JSON.stringify({ text }));
      }),
  },
];`;

async function lines(file: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}


describe('triggers', function () {
  this.timeout(120_000);
  let enforcer: RunningEnforcer | undefined;
  let dir = '';
  let out = '';

  beforeEach(async () => {
    dir = path.join(os.tmpdir(), `de-triggers-${process.pid}-${Date.now()}`);
    await mkdir(dir, { recursive: true });
    out = path.join(dir, 'verdicts.jsonl');
  });

  afterEach(async () => {
    await enforcer?.stop();
    enforcer = undefined;
    await testEngine().removeAllContainers();
    await rm(dir, { recursive: true, force: true });
  });

  it('fires exactly once per violation in periodic, event and AuthZ checks', async () => {
    const engine = testEngine();
    await engine.runContainer({ name: 'periodic-violator' });
    enforcer = await startEnforcer(
      engine,
      { MODE: 'KILL', RUN_START_EVENTS: 'True', TRIGGERS_ALLOWED_MODULES: 'node:fs' },
      { rules: RULES, triggers: recordingTriggers(out) },
    );
    // The first connection of the event stream runs one full scan: that is the periodic check.
    await engine.waitFor(async () => (await lines(out)).some((l) => l['name'] === 'periodic-violator'), 15_000, 'the periodic verdict');
    await engine.runContainer({ name: 'event-violator' });
    await engine.waitFor(async () => (await lines(out)).some((l) => l['name'] === 'event-violator'), 15_000, 'the event verdict');
    const reply = await fetch(`${enforcer.url}/AuthZPlugin.AuthZReq`, { method: 'POST', body: createEnvelope('authz-violator', { Privileged: true, Memory: 1 << 26 }) });
    expect(await reply.json()).to.deep.equal({ Allow: false, Msg: 'no privileged containers' });
    await enforcer.daemon.triggersIdle();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const recorded = await lines(out);
    expect(recorded.map((l) => [l['name'], l['source'], l['action']])).to.deep.equal([
      ['periodic-violator', 'periodic', 'stopped'],
      ['event-violator', 'event', 'stopped'],
      ['authz-violator', 'authz', 'denied'],
    ]);
  });

  it('never delays a stop or an AuthZ denial, and counts hanging triggers as timed out', async () => {
    const engine = testEngine();
    await engine.runContainer({ name: 'stop-me' });
    enforcer = await startEnforcer(engine, { MODE: 'KILL', TRIGGER_TIMEOUT_MS: '1500' }, { rules: RULES, triggers: HANGING_TRIGGERS });
    const started = Date.now();
    await enforcer.daemon.scanNow();
    await engine.waitFor(async () => !(await engine.isRunning('stop-me')), 10_000, 'stop-me to be stopped');
    const stopMs = Date.now() - started;
    const askedAt = Date.now();
    const reply = await fetch(`${enforcer.url}/AuthZPlugin.AuthZReq`, { method: 'POST', body: createEnvelope('deny-me', { Privileged: true, Memory: 1 << 26 }) });
    const denyMs = Date.now() - askedAt;
    expect(((await reply.json()) as { Allow: boolean }).Allow).to.equal(false);
    // Generous bounds: both are far below the 1.5 s the triggers hold on to.
    expect(stopMs, 'ms to stop').to.be.below(1500);
    expect(denyMs, 'ms to deny').to.be.below(500);
    await enforcer.daemon.triggersIdle();
    const metrics = await (await fetch(`${enforcer.url}/metrics`)).text();
    expect(metrics).to.match(/^docker_enforcer_trigger_runs_total\{trigger="never settles",result="timeout"\} 2$/m);
    expect(metrics).to.match(/^docker_enforcer_trigger_runs_total\{trigger="spins",result="timeout"\} 2$/m);
    expect(metrics).to.match(/^docker_enforcer_trigger_errors_total\{trigger="spins"\} 2$/m);
    expect(enforcer.logged('trigger failed').length).to.equal(4);
  });

  it('posts JSON to a webhook URL taken from TRIGGERS_ENV (the README example, over http)', async () => {
    const received: unknown[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({ method: req.method, type: req.headers['content-type'], body: JSON.parse(body) as unknown });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
    try {
      const engine = testEngine();
      await engine.runContainer({ name: 'webhook-violator' });
      enforcer = await startEnforcer(engine, { MODE: 'WARN', TRIGGERS_ALLOWED_MODULES: 'node:http', TRIGGERS_ENV: 'WEBHOOK_URL' }, { rules: RULES, triggers: WEBHOOK_TRIGGER }, { WEBHOOK_URL: url });
      await enforcer.daemon.scanNow();
      await enforcer.daemon.triggersIdle();
      expect(received).to.deep.equal([
        { method: 'POST', type: 'application/json', body: { text: 'webhook-violator: warned ["must have memory limit"] (WARN, periodic)' } },
      ]);
    } finally {
      server.close();
    }
  });

  it('fails start-up on a broken triggers file, naming it', async () => {
    const file = path.join(dir, 'bad.ts');
    await writeFile(file, 'export const triggers = [{ name: "x", trigger: 42 }];');
    const error = await startEnforcer(testEngine(), { TRIGGERS_PATH: file }, { rules: RULES }).then(
      (started) => {
        enforcer = started;
        return undefined;
      },
      (err: unknown) => err as Error,
    );
    expect(error?.message).to.include(`${file}: triggers[0].trigger must be a function`);
  });
});
