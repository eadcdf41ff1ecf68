/**
 * Docker -> facts: builds the `Container` a rule sees from inspect and stats data.
 * Fetching lives in ContainerInspector; the shaping functions here are pure.
 */
import type { CheckSource, Container, ContainerMetrics, ContainerParams, ImageTrust } from '../rules/api';

export const UNKNOWN_OWNER = '[unknown]';

export interface ContainerFacts {
  readonly id: string;
  readonly params: ContainerParams;
  readonly metrics: ContainerMetrics;
  readonly image: string;
  readonly position: number;
  readonly checkSource: CheckSource;
  readonly owner?: string;
  /** The host the container is on (HOST_NAME, or the calling host's certificate CN in AuthZ). */
  readonly host?: string;
  /** Fallback when params are disabled: the name from the container list. */
  readonly listedName?: string;
  readonly imageTrust?: ImageTrust | null;
}

export function containerName(params: ContainerParams, fallback = ''): string {
  return (typeof params.Name === 'string' ? params.Name : fallback).replace(/^\//, '');
}

/**
 * Not frozen here: rules never see this object, only a frozen copy made inside the sandbox (the data
 * crosses as JSON), and freezing inspect data on this side cost ~7 µs per AuthZ create.
 */
export function buildContainer(facts: ContainerFacts): Container {
  return {
    id: facts.id,
    name: containerName(facts.params, facts.listedName),
    image: facts.image,
    params: facts.params,
    metrics: facts.metrics,
    position: facts.position,
    checkSource: facts.checkSource,
    owner: facts.owner && facts.owner !== '' ? facts.owner : UNKNOWN_OWNER,
    host: facts.host ?? '',
    ...(facts.imageTrust !== undefined ? { imageTrust: facts.imageTrust } : {}),
  };
}
