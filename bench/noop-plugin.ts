/**
 * The floor for bench:authz: an AuthZ plugin that reads each envelope and allows everything, on
 * plain node:http — what any Node plugin costs before deciding anything.
 * Usage: node dist/bench/noop-plugin.js PORT [SOCKET]  (SOCKET: also serve on that unix socket)
 */
import * as http from 'node:http';
import type { ListenOptions } from 'node:net';

const ACTIVATE = JSON.stringify({ Implements: ['authz'] });
const ALLOW = JSON.stringify({ Allow: true });

const allowEverything: http.RequestListener = (req, res) => {
  req.on('data', () => undefined);
  req.on('end', () => {
    const body = req.url === '/Plugin.Activate' ? ACTIVATE : ALLOW;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
};

function serve(address: ListenOptions): http.Server {
  const server = http.createServer(allowEverything);
  server.keepAliveTimeout = 65_000;
  return server.listen(address);
}

const servers = [serve({ port: Number(process.argv[2]), host: '127.0.0.1' })];
if (process.argv[3]) servers.push(serve({ path: process.argv[3] }));
process.on('SIGTERM', () => {
  // Idle keep-alive connections would hold close() open for keepAliveTimeout.
  for (const server of servers) {
    server.close();
    server.closeAllConnections();
  }
  process.exit(0);
});
