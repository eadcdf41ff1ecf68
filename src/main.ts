#!/usr/bin/env node
/**
 * The only place that reads process.env and argv, installs signal handlers and exits.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ConfigError, loadConfig } from './config';
import { Daemon } from './daemon';
import { createLogger } from './log';
import { RuleSetLoadError } from './rules/rule-set';

const SHUTDOWN_DEADLINE_MS = 8000;

function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version?: string };
  return manifest.version ?? '0.0.0';
}

const USAGE = `Usage: docker-enforcer [run] [--help] [--version]

Runs the enforcer daemon. Configuration comes from environment variables (see README):
MODE, RUN_PERIODIC, CHECK_INTERVAL_S, DOCKER_SOCKET, RULES_PATH, WHITE_LIST, HTTP_PORT, ...`;

async function main(argv: readonly string[]): Promise<number> {
  const version = packageVersion();
  if (argv.includes('--version') || argv.includes('-v')) {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const command = argv[0] ?? 'run';
  if (command !== 'run') {
    process.stderr.write(`docker-enforcer: unknown command ${JSON.stringify(command)}\n${USAGE}\n`);
    return 2;
  }
  let config;
  try {
    config = loadConfig(process.env, process.cwd(), version);
  } catch (err: unknown) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`docker-enforcer: ${err.message}\n`);
    return 2;
  }
  const log = createLogger(config.logLevel);
  const triggerEnv = Object.fromEntries(config.triggersEnv.flatMap((name) => (process.env[name] === undefined ? [] : [[name, process.env[name] as string]])));
  const daemon = new Daemon({ config, log, triggerEnv });
  try {
    await daemon.start();
  } catch (err: unknown) {
    if (err instanceof RuleSetLoadError) {
      process.stderr.write(`docker-enforcer: ${err.message}\n`);
      log.fatal({ errors: err.errors.map((e) => e.message) }, 'cannot load rules');
    } else {
      log.fatal({ err }, 'start-up failed');
      process.stderr.write(`docker-enforcer: start-up failed: ${(err as Error).message}\n`);
    }
    log.flush();
    await daemon.stop().catch(() => undefined);
    return 1;
  }
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      log.info({ signal }, 'signal received');
      // A second signal, or a shutdown that hangs, must still end the process.
      setTimeout(() => process.exit(1), SHUTDOWN_DEADLINE_MS).unref();
      resolve();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  await daemon.stop();
  log.flush();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`docker-enforcer: unexpected failure: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
