/** What loadConfig reports for an environment: every problem, or none. */
import { ConfigError, loadConfig } from '../../src/config';

export function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env, '/srv', 'test');
  } catch (err: unknown) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}
