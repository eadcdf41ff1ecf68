/**
 * Docker -> facts: builds the `Container` a rule sees from inspect and stats data.
 * Fetching lives in ContainerInspector; the shaping functions here are pure.
 */
import type { CheckSource, Container, ContainerMetrics, ContainerParams } from '../rules/api';

export const UNKNOWN_OWNER = '[unknown]';

/** Freezes the whole object graph so a rule cannot change what the next rule sees. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as Record<string, unknown>)) deepFreeze(child);
  }
  return value;
}

export interface ContainerFacts {
  readonly id: string;
  readonly params: ContainerParams;
  readonly metrics: ContainerMetrics;
  readonly image: string;
  readonly position: number;
  readonly checkSource: CheckSource;
  readonly owner?: string;
  /** Fallback when params are disabled: the name from the container list. */
  readonly listedName?: string;
}

export function containerName(params: ContainerParams, fallback = ''): string {
  return (typeof params.Name === 'string' ? params.Name : fallback).replace(/^\//, '');
}

export function buildContainer(facts: ContainerFacts): Container {
  const container: Container = {
    id: facts.id,
    name: containerName(facts.params, facts.listedName),
    image: facts.image,
    params: facts.params,
    metrics: facts.metrics,
    position: facts.position,
    checkSource: facts.checkSource,
    owner: facts.owner && facts.owner !== '' ? facts.owner : UNKNOWN_OWNER,
  };
  return deepFreeze(container);
}
