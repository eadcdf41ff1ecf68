/**
 * The CIS pack's cost on an AuthZ create decision, part of bench:authz: AuthzService in this
 * process decides the captured create envelope with no packs and with `cis-docker` on (every check
 * WARN: each is judged and the failures recorded, so the decision is still an allow). Docker is a
 * fake that answers image inspects (5.27 asks whether the image has a HEALTHCHECK). The floor is the
 * same service without the pack, alternated with it; figures are printed, never asserted.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { parsePacks } from '../src/policies/cis/packs-file';
import type { RuleSet } from '../src/rules/rule-set';
import { comparisonHeading, compareDecisions, imageOnlyDocker, servicePair } from './decision-pair';

export async function cisBench(envelope: string, containerRules: string, requestRules: string): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'de-bench-cis-'));
  const rulesToClose: RuleSet[] = [];
  try {
    await writeFile(path.join(dir, 'rules.ts'), containerRules);
    await writeFile(path.join(dir, 'request_rules.ts'), requestRules);
    await writeFile(path.join(dir, 'no-rules.ts'), 'export const rules = [];\n');
    await writeFile(path.join(dir, 'no-request-rules.ts'), 'export const requestRules = [];\n');
    const packsPath = path.join(dir, 'packs.yml');
    const parsed = parsePacks('cis-docker:\n  mode: WARN\n', packsPath);
    if (!parsed.cis || parsed.errors.length > 0) throw new Error(`the bench packs file did not load: ${parsed.errors.join('; ')}`);
    const packs = { cis: parsed.cis, file: { path: packsPath, present: true, source: '', loadedAt: new Date().toISOString() } };
    const image = (JSON.parse(Buffer.from((JSON.parse(envelope) as { RequestBody: string }).RequestBody, 'base64').toString('utf8')) as { Image?: string }).Image ?? '';
    const docker = imageOnlyDocker(new Map([[image, { id: `sha256:${'0'.repeat(64)}`, repoDigests: [], healthcheck: false }]]));
    const body = Buffer.from(envelope);
    // The same create made compliant with every enforced check: the pack's judging cost alone,
    // without the detections a failing create records.
    const compliantBody = withHostConfig(envelope, { SecurityOpt: ['label=type:container_t', 'no-new-privileges'], PidsLimit: 100 }, { Healthcheck: { Test: ['CMD', 'true'] } });
    const env = { MODE: 'KILL', LOG_LEVEL: 'error', WHITELIST_RULES_PATH: path.join(dir, 'whitelist_rules.ts') };
    console.log('CIS pack (cis-docker, every check WARN) on an AuthZ create decision, AuthzService in this process, no pack vs the pack;');
    console.log('  µs per decision, median of 16 alternated rounds of 400 sequential decisions; [range of the per-round added]:');
    console.log(comparisonHeading());
    for (const [label, rulesFile, requestRulesFile, envelopeBody] of [
      ['10 container + 5 request rules', 'rules.ts', 'request_rules.ts', body],
      ['no rules, the captured create', 'no-rules.ts', 'no-request-rules.ts', body],
      ['no rules, a compliant create', 'no-rules.ts', 'no-request-rules.ts', compliantBody],
    ] as const) {
      const pair = await servicePair({ ...env, RULES_PATH: path.join(dir, rulesFile), REQUEST_RULES_PATH: path.join(dir, requestRulesFile) }, docker, { packs });
      rulesToClose.push(pair.rules);
      await compareDecisions(label, pair, envelopeBody, 16, 400);
    }
    console.log('  (the captured create fails 5.3, 5.26, 5.27 and 5.29: four WARN violations recorded per decision)');
    console.log('');
  } finally {
    for (const rules of rulesToClose) rules.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The envelope with fields of its create body's HostConfig and Config replaced (Content-Length with them). */
function withHostConfig(envelope: string, hostConfig: Record<string, unknown>, config: Record<string, unknown>): Buffer {
  const parsed = JSON.parse(envelope) as { RequestBody: string; RequestHeaders?: Record<string, string> };
  const body = JSON.parse(Buffer.from(parsed.RequestBody, 'base64').toString('utf8')) as { HostConfig?: Record<string, unknown> } & Record<string, unknown>;
  const bytes = Buffer.from(JSON.stringify({ ...body, ...config, HostConfig: { ...body.HostConfig, ...hostConfig } }));
  return Buffer.from(JSON.stringify({ ...parsed, RequestBody: bytes.toString('base64'), RequestHeaders: { ...parsed.RequestHeaders, 'Content-Length': String(bytes.length) } }));
}
