import type Router from '@koa/router';
import type { IncomingMessage } from 'node:http';
import type { AuthzService } from '../modes/authz';

// dockerd forwards at most 1 MiB of body, base64-encoded inside the envelope: 4 MiB is ample.
const MAX_ENVELOPE_BYTES = 4 * 1024 * 1024;

/** Reads the whole request body, or reports that it exceeded `limit` (the rest is drained). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= limit) chunks.push(chunk as Buffer);
  }
  return size > limit ? 'too-large' : Buffer.concat(chunks);
}

/**
 * Docker's authorization plugin protocol. The envelope is parsed as JSON whatever its Content-Type
 * (dockerd sends application/vnd.docker.plugins.v1.2+json), and every answer is 200 JSON: a plugin
 * error would make dockerd fail the user's call with an opaque message.
 */
export function authzRoutes(service: AuthzService): (router: Router) => void {
  return (router) => {
    router.post('/Plugin.Activate', (ctx) => {
      ctx.type = 'application/json';
      ctx.body = { Implements: ['authz'] };
    });
    router.post('/AuthZPlugin.AuthZReq', async (ctx) => {
      const body = await readBody(ctx.req, MAX_ENVELOPE_BYTES);
      ctx.type = 'application/json';
      ctx.body = body === 'too-large' ? await service.authorize(Buffer.alloc(0), `envelope larger than ${MAX_ENVELOPE_BYTES} bytes`) : await service.authorize(body);
    });
    router.post('/AuthZPlugin.AuthZRes', async (ctx) => {
      await readBody(ctx.req, 0);
      ctx.type = 'application/json';
      ctx.body = { Allow: true };
    });
  };
}
