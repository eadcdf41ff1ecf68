/**
 * The floor for bench:authz: an AuthZ plugin that reads each envelope and allows everything, on
 * plain node:http — what any Node plugin costs before deciding anything.
 * Usage: node dist/bench/noop-plugin.js PORT [SOCKET]  (SOCKET: also serve on that unix socket)
 */
import * as http from 'node:http';

const ACTIVATE = JSON.stringify({ Implements: ['authz'] });
const ALLOW = JSON.stringify({ Allow: true });

const server = http.createServer((req, res) => {
  req.on('data', () => undefined);
  req.on('end', () => {
    const body = req.url === '/Plugin.Activate' ? ACTIVATE : ALLOW;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.argv[2]), '127.0.0.1');
const socketPath = process.argv[3];
const onSocket = socketPath ? http.createServer(server.listeners('request')[0] as http.RequestListener) : undefined;
if (onSocket && socketPath) {
  onSocket.keepAliveTimeout = 65_000;
  onSocket.listen(socketPath);
}
process.on('SIGTERM', () => {
  onSocket?.close();
  server.close(() => process.exit(0));
});
