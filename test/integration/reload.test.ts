import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { createEnvelope, getJson, RULE_IMPORT, startEnforcer, type RunningEnforcer } from './enforcer';
import { testEngine } from './setup';

const NO_PRIVILEGED = `export const rules: ContainerRule[] = [{ name: 'no privileged containers', rule: (c) => c.params.HostConfig?.Privileged === true }];`;
const MEMORY = `export const rules: ContainerRule[] = [{ name: 'must have memory limit', rule: (c) => !c.params.HostConfig?.Memory }];`;


interface Reply {
  status: number;
  body: { Allow?: boolean; Msg?: string };
}

describe('safe hot reload', function () {
  this.timeout(120_000);
  let enforcer: RunningEnforcer | undefined;
  afterEach(async () => {
    await enforcer?.stop();
    enforcer = undefined;
  });

  async function lastReload(): Promise<Record<string, unknown> | null> {
    return (await getJson(`${enforcer!.url}/rules`)).body['last_reload'] as Record<string, unknown> | null;
  }

  it('swaps in a good file during a burst of AuthZ requests, and keeps the old rules when the new file is broken', async () => {
    enforcer = await startEnforcer(testEngine(), { MODE: 'KILL', RUN_PERIODIC: 'False' }, { rules: NO_PRIVILEGED });
    const replies: Reply[] = [];
    let burst = true;
    const WORKERS = 8;
    const workers = Array.from({ length: WORKERS }, async () => {
      while (burst) {
        const response = await fetch(`${enforcer!.url}/AuthZPlugin.AuthZReq`, { method: 'POST', body: createEnvelope('reload-probe', {}) });
        replies.push({ status: response.status, body: (await response.json()) as Reply['body'] });
      }
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(replies.length).to.be.greaterThan(0);
      expect(replies.every((r) => r.body.Allow === true)).to.equal(true);

      await writeFile(path.join(enforcer.dir, 'rules.ts'), RULE_IMPORT + MEMORY);
      await testEngine().waitFor(async () => (await lastReload())?.['result'] === 'success', 10_000, 'the reload to succeed');
      const afterGood = replies.length;
      await testEngine().waitFor(async () => replies.length > afterGood + 20, 10_000, 'more replies');
      // Each worker may have had one request in flight under the old rules when the swap happened.
      expect(replies.slice(afterGood + WORKERS).every((r) => r.body.Allow === false && r.body.Msg === 'must have memory limit')).to.equal(true);

      await writeFile(path.join(enforcer.dir, 'rules.ts'), `${RULE_IMPORT}export const rules: ContainerRule[] = [\n  { name: 'broken', rule: (c) => c.params. },\n];\n`);
      await testEngine().waitFor(async () => (await lastReload())?.['result'] === 'failure', 10_000, 'the broken reload to be refused');
      const afterBroken = replies.length;
      await testEngine().waitFor(async () => replies.length > afterBroken + 20, 10_000, 'more replies');
      expect(replies.slice(afterBroken).every((r) => r.body.Msg === 'must have memory limit')).to.equal(true);
    } finally {
      burst = false;
      await Promise.all(workers);
    }
    // Every request got a whole answer: HTTP 200 and either the old rules' or the new rules' verdict.
    expect(replies.every((r) => r.status === 200 && (r.body.Allow === true || r.body.Msg === 'must have memory limit'))).to.equal(true);
    const status = await lastReload();
    expect(String((status?.['errors'] as string[])[0])).to.match(new RegExp(`${path.join(enforcer!.dir, 'rules.ts').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3:\\d+: syntax error`));
    const rules = await getJson(`${enforcer!.url}/rules`);
    expect((rules.body['rules'] as Array<{ name: string }>).map((r) => r.name)).to.deep.equal(['must have memory limit']);
    const metrics = await (await fetch(`${enforcer!.url}/metrics`)).text();
    expect(metrics).to.match(/^docker_enforcer_rule_reloads_total\{result="success"\} [1-9]/m);
    expect(metrics).to.match(/^docker_enforcer_rule_reloads_total\{result="failure"\} [1-9]/m);
  });

  it('reloads on SIGHUP without a restart', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'de-hup-'));
    await writeFile(path.join(dir, 'rules.ts'), RULE_IMPORT + NO_PRIVILEGED);
    const port = 21_000 + (process.pid % 9_000);
    const child = spawn(process.execPath, [path.resolve(__dirname, '../../src/main.js')], {
      cwd: dir,
      env: { PATH: process.env['PATH'] ?? '', RULES_PATH: 'rules.ts', HTTP_HOST: '127.0.0.1', HTTP_PORT: String(port), RELOAD_ON_CHANGE: 'False', RUN_PERIODIC: 'False', DOCKER_SOCKET: `unix://${testEngine().socketPath}` },
      stdio: 'ignore',
    });
    try {
      const names = async (): Promise<string[]> => ((await getJson(`http://127.0.0.1:${port}/rules`)).body['rules'] as Array<{ name: string }>).map((r) => r.name);
      await testEngine().waitFor(async () => (await names()).length === 1, 15_000, 'the daemon to serve');
      await writeFile(path.join(dir, 'rules.ts'), RULE_IMPORT + MEMORY);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await names()).to.deep.equal(['no privileged containers']);
      child.kill('SIGHUP');
      await testEngine().waitFor(async () => (await names())[0] === 'must have memory limit', 10_000, 'SIGHUP to reload the rules');
      expect(child.exitCode).to.equal(null);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
