/**
 * AUTHZ_ALLOWED_PEERS: addresses and CIDR ranges allowed to call the plugin endpoints over TCP.
 * IPv4-mapped IPv6 peers (`::ffff:127.0.0.1`, what a dual-stack socket reports) count as IPv4.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

export interface PeerList {
  /** As configured, for /config. */
  readonly entries: readonly string[];
  readonly list: BlockList;
}

export function parsePeerList(entries: readonly string[]): { peers: PeerList; errors: string[] } {
  const list = new BlockList();
  const errors: string[] = [];
  for (const entry of entries) {
    const [address = '', prefixText] = entry.split('/');
    const type = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
    const prefix = prefixText === undefined ? undefined : Number(prefixText);
    const maxPrefix = type === 'ipv4' ? 32 : 128;
    if (type === undefined || (prefix !== undefined && (!Number.isInteger(prefix) || prefix < 0 || prefix > maxPrefix || !/^\d+$/.test(prefixText!)))) {
      errors.push(`${JSON.stringify(entry)} is not an IP address or CIDR range (e.g. 127.0.0.0/8, ::1, 10.0.0.5)`);
      continue;
    }
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, prefix, type);
  }
  return { peers: { entries: [...entries], list }, errors };
}

/** Whether `address` (a socket's remoteAddress) may call the plugin. */
export function isAllowedPeer(peers: PeerList, address: string | undefined): boolean {
  if (address === undefined) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const ip = mapped ? mapped[1]! : address;
  if (isIPv4(ip)) return peers.list.check(ip, 'ipv4');
  if (isIPv6(ip)) return peers.list.check(ip, 'ipv6');
  return false;
}
