/**
 * What `check` warns about in the plugin specs of the host it runs on: a spec with `TLSConfig` whose
 * `CAFile` is empty makes dockerd skip verifying the plugin's certificate, silently (it forces
 * InsecureSkipVerify), so anyone who can answer on the plugin's address decides every API call.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

export const PLUGIN_SPEC_DIR = '/etc/docker/plugins';

/** One warning per insecure `.json` spec in `dir`; none when the folder does not exist (not a Docker host). */
export function pluginSpecWarnings(dir = PLUGIN_SPEC_DIR): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.json')).sort();
  } catch {
    return [];
  }
  const warnings: string[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    let spec: unknown;
    try {
      spec = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err: unknown) {
      warnings.push(`${file}: not a JSON plugin spec (${(err as Error).message}); dockerd cannot use it`);
      continue;
    }
    if (spec === null || typeof spec !== 'object') continue;
    // dockerd decodes the spec case-insensitively (Go's encoding/json).
    const tls = field(spec as Record<string, unknown>, 'TLSConfig');
    if (tls === undefined || tls === null || typeof tls !== 'object') continue;
    const caFile = field(tls as Record<string, unknown>, 'CAFile');
    if (typeof caFile !== 'string' || caFile.trim() === '') {
      warnings.push(`${file}: TLSConfig without CAFile: dockerd silently skips verifying the plugin's certificate (set CAFile to the CA of the plugin's server certificate)`);
    } else if (field(tls as Record<string, unknown>, 'InsecureSkipVerify') === true) {
      warnings.push(`${file}: TLSConfig.InsecureSkipVerify is true: dockerd does not verify the plugin's certificate`);
    }
  }
  return warnings;
}

function field(object: Record<string, unknown>, name: string): unknown {
  const key = Object.keys(object).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : object[key];
}
