/**
 * leash policy judging: µs per judgePolicies call on the main thread, for the realistic config that
 * bench:authz uses too (policy-pair.ts: 3 rule sets, 5 groups, 20 checks) and a mix of requests
 * (allowed and denied creates with names and binds, lists, logs, exec, defaults, anonymous).
 * Printed, never asserted.
 * Usage: npm run build && node dist/bench/policies.js [ITERATIONS]
 */
import { performance } from 'node:perf_hooks';
import { judgePolicies, neededLookups } from '../src/policies/leash/judge';
import { parsePolicyTexts } from '../src/policies/leash/load';
import type { PolicyConfig } from '../src/policies/leash/model';
import { ANONYMOUS, type PolicyFacts } from '../src/policies/policy-facts';
import { facts as request } from '../test/unit/policies/leash/helpers';
import { BENCH_GROUPS, BENCH_POLICIES } from './policy-pair';

function load(): PolicyConfig {
  const result = parsePolicyTexts({ policies: { path: 'policies.yml', text: BENCH_POLICIES }, groups: { path: 'groups.yml', text: BENCH_GROUPS } });
  if (result.errors || !result.config) throw new Error(`bench config does not load:\n${(result.errors ?? []).join('\n')}`);
  return result.config;
}

const create = (user: string, name: string, binds: string[], extra: Partial<PolicyFacts> = {}): PolicyFacts =>
  request({ user, action: 'containersCreate', method: 'POST', containerNames: [name], imageNames: ['registry.example.com/app:1'], bindSources: binds, volumeNames: [`${user}-data`], runAsUser: user, ...extra });

const SCENARIOS: ReadonlyArray<{ name: string; host: string; facts: PolicyFacts }> = [
  { name: 'create allowed (6 checks, 2 binds)', host: 'wks01', facts: create('alice', 'alice-web', ['/home/alice/src', '/tmp/cache']) },
  { name: 'create denied (bind, name)', host: 'wks02', facts: create('bob', 'alice-web', ['/etc', '/home/bob/.ssh/id_rsa']) },
  { name: 'create by another user', host: 'wks03', facts: create('carol', 'carol-db', ['/srv/data/carol/pg']) },
  { name: 'stop (namespace key)', host: 'wks01', facts: request({ user: 'dave', action: 'containersStop', method: 'POST', containerNames: ['dave-web'] }) },
  { name: 'exec create', host: 'wks01', facts: request({ user: 'alice', action: 'execCreate', namespace: 'exec', method: 'POST', containerNames: ['alice-web'], runAsUser: 'alice' }) },
  { name: 'developer logs (two policies)', host: 'laptop-erin', facts: request({ user: 'erin', action: 'containersLogs', containerNames: ['bob-web'] }) },
  { name: 'list by default ReadOnly', host: 'wks01', facts: request({ user: 'zed' }) },
  { name: 'admin on a server', host: 'srv01', facts: create('rda', 'anything', ['/']) },
  { name: 'monitoring on a server', host: 'srv02', facts: request({ user: 'xymon_1', action: 'info', namespace: 'system' }) },
  { name: 'anonymous elsewhere', host: 'build-7', facts: request({ user: ANONYMOUS, action: 'imagesPush', namespace: 'images', method: 'POST' }) },
];

function measure(config: PolicyConfig, host: string, facts: PolicyFacts, iterations: number): number {
  let allowed = 0;
  const started = performance.now();
  for (let i = 0; i < iterations; i++) if (judgePolicies(config, host, facts).allow) allowed++;
  const elapsed = performance.now() - started;
  if (allowed < 0) console.log(allowed); // keeps the loop's result observable
  return (elapsed * 1000) / iterations;
}

function main(): void {
  const iterations = Number(process.argv[2] ?? 200_000);
  const config = load();
  const checks = config.ruleSets.flatMap((r) => r.policies.flatMap((p) => [...p.rules.values()].flat())).length;
  console.log(`leash policies: ${config.ruleSets.length} rule sets, ${config.groups.size} groups, ${checks} checks; ${iterations} calls per scenario`);
  for (const { facts, host } of SCENARIOS) measure(config, host, facts, 20_000); // warm-up: JIT and the $USER caches
  let total = 0;
  for (const { name, host, facts } of SCENARIOS) {
    const us = measure(config, host, facts, iterations);
    total += us;
    const verdict = judgePolicies(config, host, facts);
    console.log(`  ${name.padEnd(36)} ${us.toFixed(3).padStart(7)} µs/judge  ${verdict.allow ? 'allow' : 'deny '} (${verdict.decidedBy})`);
  }
  console.log(`  ${'mean over scenarios'.padEnd(36)} ${(total / SCENARIOS.length).toFixed(3).padStart(7)} µs/judge`);
  const lookupsStarted = performance.now();
  for (let i = 0; i < iterations; i++) neededLookups(config, 'wks01', SCENARIOS[0]!.facts);
  console.log(`  ${'neededLookups (create)'.padEnd(36)} ${(((performance.now() - lookupsStarted) * 1000) / iterations).toFixed(3).padStart(7)} µs/call`);
}

main();
