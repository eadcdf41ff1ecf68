/** A daemon for a benchmark: rules written to a temp folder, silent logs, the throwaway engine's socket. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../src/config';
import { Daemon } from '../src/daemon';
import { createLogger } from '../src/log';
import type { TestEngine } from '../test/integration/engine';

export interface BenchDaemon {
  readonly daemon: Daemon;
  /** Stops the daemon and removes its rules folder. */
  stop(): Promise<void>;
}

/** Builds (not starts) a daemon, so callers can subscribe to it before start(). */
export async function createBenchDaemon(engine: TestEngine, rules: string, env: Record<string, string>, packs?: string): Promise<BenchDaemon> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'de-bench-'));
  await writeFile(path.join(dir, 'rules.ts'), rules);
  // No packs unless asked for: the default PACKS_PATH would be resolved in this temp folder anyway.
  if (packs !== undefined) await writeFile(path.join(dir, 'packs.yml'), packs);
  const config = loadConfig(
    { DOCKER_SOCKET: `unix://${engine.socketPath}`, HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', RULES_PATH: path.join(dir, 'rules.ts'), PACKS_PATH: path.join(dir, 'packs.yml'), LOG_LEVEL: 'silent', ...env },
    dir,
    'bench',
  );
  const daemon = new Daemon({ config, log: createLogger('silent') });
  return {
    daemon,
    async stop() {
      await daemon.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
