#!/usr/bin/env node
/**
 * The only place that reads process.env and argv, installs signal handlers and exits.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ConfigError, loadConfig } from './config';
import { Daemon } from './daemon';
import { createLogger } from './log';
import { checkRuleFiles } from './cli/check';
import { pluginSpecWarnings } from './cli/plugin-specs';
import { describeRequestVerdict, evalContainer, evalRequest } from './cli/eval';
import { dryRunScan, formatTable, PacksLoadError, REPORT_FORMATS, type ReportFormat } from './cli/scan';
import { formatReportJunit, formatReportTable, hasKillFailure } from './policies/cis/report';
import { RuleSetLoadError } from './rules/rule-set';

const SHUTDOWN_DEADLINE_MS = 8000;

function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version?: string };
  return manifest.version ?? '0.0.0';
}

const USAGE: Record<string, string> = {
  '': `Usage: docker-enforcer [command] [--help] [--version]

Commands:
  run                 the daemon (default): periodic scans, events, AuthZ plugin, HTTP API
  check               type-check and load every rule, request-rule, whitelist and trigger file, and validate the policy files
  scan --dry-run      judge every running container once and print what would happen
  scan --report FMT   the CIS compliance report of one scan: table, json or junit
  eval                judge a docker inspect JSON or an AuthZ envelope offline

Configuration comes from environment variables (see README): MODE, RUN_PERIODIC,
CHECK_INTERVAL_S, DOCKER_SOCKET, RULES_PATH, WHITE_LIST, HTTP_PORT, ...`,
  run: `Usage: docker-enforcer run

Runs the daemon with the configuration from the environment (see README). SIGTERM/SIGINT stop it.`,
  check: `Usage: docker-enforcer check

Type-checks the files at RULES_PATH, WHITELIST_RULES_PATH, REQUEST_RULES_PATH and TRIGGERS_PATH
against the docker-enforcer rule-author types and loads them in the sandbox.
On a Docker host it also warns (stderr) about plugin specs in /etc/docker/plugins/*.json whose
TLSConfig has no CAFile: dockerd then silently skips verifying the plugin's certificate.
Exit 0 with a summary; 1 with file:line:col messages; 2 on configuration errors.`,
  scan: `Usage: docker-enforcer scan --dry-run [--json]
       docker-enforcer scan --report table|json|junit

Connects to DOCKER_SOCKET, judges every running container once like a periodic scan (rules and the
packs file at PACKS_PATH) and acts on nothing.
--dry-run prints a table (container, image, violated rules, what WARN/KILL would do).
  Exit 0 when every container is compliant; 1 when violations exist; 2 on errors.
--report prints the CIS compliance report: a table (container, failed checks, score), JSON (the
  shape of GET /report) or JUnit XML (one testsuite per check, one testcase per container).
  Exit 0 when no failing check is in KILL; 1 when one is; 2 on errors (a broken packs file).`,
  eval: `Usage: docker-enforcer eval --container INSPECT.json [--metrics STATS.json] [--json]
       docker-enforcer eval --request ENVELOPE.json [--host NAME] [--json]

Judges a container (docker inspect output) or an AuthZ envelope with the configured rules, offline.
--host judges the envelope as a call from that host's dockerd over AUTHZ_TLS_PORT (its certificate's
CN): the policy rule set for that host, r.host and c.host; the default is HOST_NAME.
Exit 0 when compliant or allowed; 1 on a violation or denial; 2 on bad input.`,
};

function option(argv: readonly string[], name: string): string | undefined {
  const index = argv.indexOf(name);
  return index === -1 ? undefined : argv[index + 1];
}

function readConfig(version: string): ReturnType<typeof loadConfig> | undefined {
  try {
    return loadConfig(process.env, process.cwd(), version);
  } catch (err: unknown) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`docker-enforcer: ${err.message}\n`);
    return undefined;
  }
}

async function check(version: string): Promise<number> {
  const config = readConfig(version);
  if (!config) return 2;
  const result = await checkRuleFiles(config);
  // Warnings only: the exit code still says whether the rule files are sound.
  for (const warning of pluginSpecWarnings()) process.stderr.write(`warning: ${warning}\n`);
  for (const problem of result.problems) process.stderr.write(`${problem}\n`);
  if (result.problems.length > 0) {
    process.stderr.write(`docker-enforcer check: ${result.problems.length} problem(s)\n`);
    return 1;
  }
  for (const file of result.files) {
    process.stdout.write(`${file.kind.padEnd(16)} ${file.present ? `${file.names.length} loaded` : 'not present'}  ${file.path}\n`);
  }
  process.stdout.write('docker-enforcer check: ok\n');
  return 0;
}

async function evaluate(argv: readonly string[], version: string): Promise<number> {
  const config = readConfig(version);
  if (!config) return 2;
  const containerFile = option(argv, '--container');
  const requestFile = option(argv, '--request');
  if ((containerFile === undefined) === (requestFile === undefined)) {
    process.stderr.write(`docker-enforcer eval: give exactly one of --container FILE or --request FILE\n${USAGE['eval']}\n`);
    return 2;
  }
  const asJson = argv.includes('--json');
  try {
    if (containerFile !== undefined) {
      const verdict = await evalContainer(config, containerFile, option(argv, '--metrics'));
      process.stdout.write(asJson ? `${JSON.stringify(verdict)}\n` : `${verdict.subject}: ${verdict.violated ? `violates ${verdict.reasons.join(', ')} [${verdict.mode}] -> would ${verdict.wouldDo}` : verdict.whitelisted ? `whitelisted (${verdict.whitelisted})` : 'compliant'}\n`);
      return verdict.violated ? 1 : 0;
    }
    const host = option(argv, '--host');
    const verdict = await evalRequest(config, requestFile as string, host);
    process.stdout.write(asJson ? `${JSON.stringify(verdict)}\n` : describeRequestVerdict(verdict));
    return verdict.allow ? 0 : 1;
  } catch (err: unknown) {
    process.stderr.write(`docker-enforcer eval: ${(err as Error).message}\n`);
    return 2;
  }
}

async function scan(argv: readonly string[], version: string): Promise<number> {
  const reportIndex = argv.indexOf('--report');
  const format = reportIndex === -1 ? undefined : argv[reportIndex + 1];
  if (reportIndex !== -1 && !REPORT_FORMATS.includes(format as ReportFormat)) {
    process.stderr.write(`docker-enforcer scan: --report takes one of ${REPORT_FORMATS.join(', ')}${format === undefined ? '' : `, not ${JSON.stringify(format)}`}\n${USAGE['scan']}\n`);
    return 2;
  }
  if (reportIndex === -1 && !argv.includes('--dry-run')) {
    process.stderr.write(`docker-enforcer scan: give --dry-run or --report (the daemon acts; this command only reports)\n${USAGE['scan']}\n`);
    return 2;
  }
  const config = readConfig(version);
  if (!config) return 2;
  if (config.serverProfile) {
    process.stderr.write('docker-enforcer scan: DOCKER_SOCKET=none has no engine to scan; run scan on a host with dockerd\n');
    return 2;
  }
  try {
    const { rows, failed, report } = await dryRunScan(config);
    if (failed > 0) process.stderr.write(`docker-enforcer scan: ${failed} container(s) could not be checked\n`);
    if (format !== undefined) {
      if (report.pack === null) process.stderr.write(`docker-enforcer scan: no cis-docker pack in ${config.packsPath}: the report is empty\n`);
      const text = format === 'json' ? `${JSON.stringify(report)}\n` : format === 'junit' ? formatReportJunit(report) : `${formatReportTable(report)}\n`;
      process.stdout.write(text);
      return hasKillFailure(report) ? 1 : failed > 0 ? 2 : 0;
    }
    process.stdout.write(argv.includes('--json') ? `${JSON.stringify(rows)}\n` : `${formatTable(rows)}\n`);
    return rows.some((r) => r.wouldDo !== 'nothing') ? 1 : failed > 0 ? 2 : 0;
  } catch (err: unknown) {
    if (err instanceof PacksLoadError) {
      for (const problem of err.errors) process.stderr.write(`${problem}\n`);
      process.stderr.write(`docker-enforcer scan: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`docker-enforcer scan: ${(err as Error).message}\n`);
    return 2;
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const version = packageVersion();
  if (argv.includes('--version') || argv.includes('-v')) {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  const command = argv[0] !== undefined && !argv[0].startsWith('-') ? argv[0] : 'run';
  if (!(command in USAGE) || command === '') {
    process.stderr.write(`docker-enforcer: unknown command ${JSON.stringify(command)}\n${USAGE['']}\n`);
    return 2;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE[argv[0] === command ? command : '']}\n`);
    return 0;
  }
  if (command === 'check') return check(version);
  if (command === 'eval') return evaluate(argv.slice(1), version);
  if (command === 'scan') return scan(argv.slice(1), version);
  return runDaemon(version);
}

async function runDaemon(version: string): Promise<number> {
  const config = readConfig(version);
  if (!config) return 2;
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
  // SIGHUP reloads the rules: validated completely first, swapped at once, the old ones kept on error.
  process.on('SIGHUP', () => void daemon.reload('SIGHUP'));
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
