/** Mocha root hooks: one throwaway engine for the whole integration run. */
import { startTestEngine, type TestEngine } from './engine';

let engine: TestEngine | undefined;

export function testEngine(): TestEngine {
  if (!engine) throw new Error('the test engine is not running (run the integration suite with --require dist/test/integration/setup.js)');
  return engine;
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    this.timeout(120_000);
    engine = await startTestEngine();
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    await engine?.stop();
    engine = undefined;
  },
};
