/** A DockerClient for unit tests: an idle engine with nothing running; each test overrides what it exercises. */
import type { DockerClient } from '../../src/docker/client';

export function fakeDocker(overrides: Partial<DockerClient> = {}): DockerClient {
  return {
    ping: async () => undefined,
    apiVersion: async () => '1.41',
    listRunning: async () => [],
    inspect: async () => ({}),
    stats: async () => ({}),
    imageTags: async () => [],
    imageUser: async () => '',
    imageInspect: async (ref) => ({ id: ref, repoDigests: [] }),
    volumeInspect: async () => ({ driver: 'local', options: {} }),
    execContainer: async () => 'c1',
    stop: async () => 'stopped',
    events: async () => {
      throw new Error('no events here');
    },
    ...overrides,
  };
}
