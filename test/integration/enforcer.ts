/**
 * Starts a real docker-enforcer daemon (in this process) against the throwaway engine, with rule
 * files written to a temp folder, and captures its log lines for assertions.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config';
import { Daemon } from '../../src/daemon';
import { createLogger } from '../../src/log';
import type { TestEngine } from './engine';

export interface RunningEnforcer {
  readonly daemon: Daemon;
  readonly url: string;
  readonly dir: string;
  readonly logs: Array<Record<string, unknown>>;
  stop(): Promise<void>;
  /** Log lines whose `msg` contains `text`. */
  logged(text: string): Array<Record<string, unknown>>;
}

export interface EnforcerFiles {
  readonly rules: string;
  readonly whitelistRules?: string;
  readonly requestRules?: string;
  readonly triggers?: string;
  /** docker-leash policy files (YAML), written as policies.yml and groups.yml. */
  readonly policies?: string;
  readonly groups?: string;
  /** The packs file (YAML), written as packs.yml; without it PACKS_PATH names a file that does not exist. */
  readonly packs?: string;
}

export const RULE_IMPORT = "import type { ContainerRule, WhitelistRule, RequestRule } from 'docker-enforcer';\n";

export async function startEnforcer(
  engine: TestEngine,
  env: Record<string, string>,
  files: EnforcerFiles,
  triggerEnv: Record<string, string> = {},
): Promise<RunningEnforcer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'de-rules-'));
  await writeFile(path.join(dir, 'rules.ts'), RULE_IMPORT + files.rules);
  if (files.whitelistRules) await writeFile(path.join(dir, 'whitelist_rules.ts'), RULE_IMPORT + files.whitelistRules);
  if (files.requestRules) await writeFile(path.join(dir, 'request_rules.ts'), RULE_IMPORT + files.requestRules);
  if (files.triggers) await writeFile(path.join(dir, 'triggers.ts'), files.triggers);
  if (files.policies) await writeFile(path.join(dir, 'policies.yml'), files.policies);
  if (files.groups) await writeFile(path.join(dir, 'groups.yml'), files.groups);
  if (files.packs) await writeFile(path.join(dir, 'packs.yml'), files.packs);
  const config = loadConfig(
    {
      DOCKER_SOCKET: `unix://${engine.socketPath}`,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      CHECK_INTERVAL_S: '3600',
      STOP_TIMEOUT_S: '0',
      LOG_LEVEL: 'debug',
      RULES_PATH: path.join(dir, 'rules.ts'),
      WHITELIST_RULES_PATH: path.join(dir, 'whitelist_rules.ts'),
      REQUEST_RULES_PATH: path.join(dir, 'request_rules.ts'),
      TRIGGERS_PATH: path.join(dir, 'triggers.ts'),
      POLICIES_PATH: path.join(dir, 'policies.yml'),
      GROUPS_PATH: path.join(dir, 'groups.yml'),
      PACKS_PATH: path.join(dir, 'packs.yml'),
      ...env,
    },
    dir,
    'test',
  );
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      }
      callback();
    },
  });
  const daemon = new Daemon({ config, log: createLogger(config.logLevel, sink), triggerEnv });
  try {
    await daemon.start();
  } catch (err: unknown) {
    await daemon.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const address = daemon.address();
  if (!address) throw new Error('enforcer did not listen');
  return {
    daemon,
    url: `http://127.0.0.1:${address.port}`,
    dir,
    logs,
    logged: (text) => logs.filter((line) => String(line['msg'] ?? '').includes(text)),
    async stop() {
      await daemon.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { headers: { accept: 'application/json' } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

export interface DetectionJson {
  id: string;
  name: string;
  violated_rule: string | string[];
  owner: string;
  source: string;
  count: number;
  last_timestamp: string;
  mode: string;
  action: string;
  image?: string;
  labels?: Record<string, string>;
}

export async function detections(enforcer: RunningEnforcer, query = ''): Promise<DetectionJson[]> {
  const { body } = await getJson(`${enforcer.url}/${query}`);
  return body['detections'] as DetectionJson[];
}

/** An AuthZ envelope for `POST /containers/create?name=NAME` with the given HostConfig, as dockerd sends it. */
export function createEnvelope(name: string, hostConfig: Record<string, unknown>, image = 'enforcer-test:busybox'): string {
  const body = { Image: image, HostConfig: { NetworkMode: 'none', ...hostConfig } };
  return JSON.stringify({
    RequestMethod: 'POST',
    RequestUri: `/v1.41/containers/create?name=${name}`,
    RequestHeaders: { 'Content-Type': 'application/json' },
    RequestBody: Buffer.from(JSON.stringify(body)).toString('base64'),
  });
}
