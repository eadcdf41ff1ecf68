/** Free loopback ports for the servers the suite starts (dockerd with TLS, registries). */
import * as net from 'node:net';

/** A port nobody listens on right now on `address` (the server binds it a moment later; callers retry a lost race). */
export function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, address, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
