/**
 * The container after `POST /containers/{id}/update`, field by field as dockerd applies it
 * (router postContainerUpdate, then Container.UpdateContainer): only resources and the restart
 * policy change; a numeric or string resource changes when the update's value is not zero; PidsLimit
 * changes when given (API >= 1.40; `0` or below means unlimited and is stored as 0); the blkio device
 * lists change when given (API >= 1.55); KernelMemory is ignored from API 1.42; a restart policy
 * replaces the old one when it has a name. Everything else in the body (Privileged, Binds, …) is
 * ignored by dockerd, so it is ignored here too.
 */
import type { ContainerParams, HostConfig } from '../rules/api';
import { compareApiVersions } from './api-version';

const NON_ZERO_FIELDS = [
  'BlkioWeight',
  'CpuShares',
  'NanoCpus',
  'CpuPeriod',
  'CpuQuota',
  'CpusetCpus',
  'CpusetMems',
  'Memory',
  'MemorySwap',
  'MemoryReservation',
  'CpuRealtimePeriod',
  'CpuRealtimeRuntime',
] as const;

const BLKIO_DEVICE_LISTS = ['BlkioWeightDevice', 'BlkioDeviceReadBps', 'BlkioDeviceWriteBps', 'BlkioDeviceReadIOps', 'BlkioDeviceWriteIOps'] as const;

function isZero(value: unknown): boolean {
  return value === undefined || value === null || value === 0 || value === '';
}

/**
 * `update` is the body decoded as container.UpdateConfig (go-json); `apiVersion` the version the
 * request runs at (its prefix, else the engine's).
 */
export function containerAfterUpdate(current: ContainerParams, update: Record<string, unknown>, apiVersion: string): ContainerParams {
  const before = current.HostConfig ?? {};
  const next: Record<string, unknown> = { ...before };
  for (const field of NON_ZERO_FIELDS) if (!isZero(update[field])) next[field] = update[field];
  if (compareApiVersions(apiVersion, '1.42') < 0 && !isZero(update['KernelMemory'])) next['KernelMemory'] = update['KernelMemory'];
  if (compareApiVersions(apiVersion, '1.40') >= 0 && update['PidsLimit'] !== undefined && update['PidsLimit'] !== null) {
    const limit = update['PidsLimit'] as number;
    next['PidsLimit'] = limit <= 0 ? 0 : limit;
  }
  if (compareApiVersions(apiVersion, '1.55') >= 0) {
    for (const field of BLKIO_DEVICE_LISTS) if (update[field] !== undefined && update[field] !== null) next[field] = update[field];
  }
  const policy = update['RestartPolicy'];
  if (policy !== null && typeof policy === 'object' && !isZero((policy as Record<string, unknown>)['Name'])) {
    // A struct value replaces the old one whole: an absent count is Go's zero.
    const { Name, MaximumRetryCount } = policy as { Name: string; MaximumRetryCount?: number };
    next['RestartPolicy'] = { Name, MaximumRetryCount: MaximumRetryCount ?? 0 };
  }
  return { ...current, HostConfig: next as HostConfig };
}
