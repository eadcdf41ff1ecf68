/**
 * The DockerClient of the server profile (DOCKER_SOCKET=none): the enforcer judges calls from
 * dockerds on other hosts and has no engine of its own to ask. Every call fails with a DockerError
 * that is not "no such object", so whatever needed to look at the calling host (a container's name
 * behind an id, a local image, the running-container count) is a fault: denied in KILL mode with a
 * reason saying why, never guessed.
 */
import type { Readable } from 'node:stream';
import type { ContainerMetrics, ContainerParams } from '../rules/api';
import type { DockerEndpoint } from '../config';
import { DockerError, DockerodeClient, type DockerCallObserver, type EventsOptions, type ContainerSummary, type DockerClient, type DockerOperation, type ImageIdentity, type StopResult } from './client';

export const NO_ENGINE = 'no Docker engine here (DOCKER_SOCKET=none)';

function unavailable(operation: DockerOperation, what: string): Promise<never> {
  return Promise.reject(new DockerError(operation, `${NO_ENGINE}: ${what} cannot be looked up on the calling host`, undefined));
}

export class NoEngineClient implements DockerClient {
  ping(): Promise<void> {
    return unavailable('ping', 'the engine');
  }

  apiVersion(): Promise<string> {
    return unavailable('version', 'the engine\'s API version');
  }

  listRunning(): Promise<ContainerSummary[]> {
    return unavailable('list', 'the running containers (c.position)');
  }

  inspect(id: string): Promise<ContainerParams> {
    return unavailable('inspect', `container ${JSON.stringify(id)}`);
  }

  stats(id: string): Promise<ContainerMetrics> {
    return unavailable('stats', `the stats of container ${JSON.stringify(id)}`);
  }

  imageTags(imageId: string): Promise<string[]> {
    return unavailable('image_inspect', `image ${JSON.stringify(imageId)}`);
  }

  imageUser(ref: string): Promise<string> {
    return unavailable('image_inspect', `image ${JSON.stringify(ref)}`);
  }

  imageInspect(ref: string): Promise<ImageIdentity> {
    return unavailable('image_inspect', `image ${JSON.stringify(ref)}`);
  }

  volumeInspect(name: string): Promise<{ readonly driver: string; readonly options: Readonly<Record<string, string>> }> {
    return unavailable('volume_inspect', `volume ${JSON.stringify(name)}`);
  }

  execContainer(execId: string): Promise<string> {
    return unavailable('exec_inspect', `exec instance ${JSON.stringify(execId)}`);
  }

  pluginName(ref: string): Promise<string> {
    return unavailable('plugin_inspect', `plugin ${JSON.stringify(ref)}`);
  }

  stop(id: string, _graceS: number): Promise<StopResult> {
    return unavailable('stop', `container ${JSON.stringify(id)}`);
  }

  events(_options: EventsOptions): Promise<Readable> {
    return unavailable('events', 'the event stream');
  }
}

/** The client for DOCKER_SOCKET: dockerode on an engine, or NoEngineClient for `none`. */
export function createDockerClient(endpoint: DockerEndpoint, timeoutMs: number, observe?: DockerCallObserver): DockerClient {
  return endpoint.kind === 'none' ? new NoEngineClient() : new DockerodeClient(endpoint, timeoutMs, observe);
}
