/** The enforcer registered with the throwaway dockerd as a TCP AuthZ plugin (a spec file), and unregistered. */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { rawDocker } from './raw-docker';
import type { TestEngine } from './engine';
import { testEngine } from './setup';

export interface TcpPlugin {
  readonly name: string;
  /** The HTTP_PORT the enforcer must listen on. */
  readonly port: number;
  /** Writes the spec, switches dockerd to the plugin and waits until calls go through it (start the enforcer first). */
  register(): Promise<void>;
  /** Switches dockerd back to no plugin and removes the spec. */
  unregister(): Promise<void>;
}

/** A plugin name and port unique to this test process and `label`; registered with `engine` (the suite's shared one by default). */
export function tcpPlugin(label: string, portOffset: number, engine: () => TestEngine = testEngine): TcpPlugin {
  const name = `de-${label}-${process.pid}`;
  const spec = `/etc/docker/plugins/${name}.spec`;
  const port = 30_000 + ((process.pid + portOffset) % 20_000);
  return {
    name,
    port,
    async register() {
      await mkdir('/etc/docker/plugins', { recursive: true });
      await writeFile(spec, `tcp://127.0.0.1:${port}\n`);
      await engine().writeDaemonConfig({ 'authorization-plugins': [name] });
      await engine().waitFor(async () => (await rawDocker('GET', '/_ping', undefined, { socketPath: engine().socketPath })).status === 200, 20_000, 'dockerd to answer through the plugin');
    },
    async unregister() {
      await engine().writeDaemonConfig({});
      await rm(spec, { force: true });
    },
  };
}
