// The ceiling: a raw Node `http` server that reads each request body and answers with the
// exact status, headers and bytes of a recorded Lifeline response (no GraphQL, no cache, no I/O).
//   node --import tsx bench/lib/ceiling-server.ts <spec.json>   → prints "LISTENING <port>"
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Spec {
  status: number;
  headers: Record<string, string>;
  bodyBase64: string;
}

const spec = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as Spec;
const body = Buffer.from(spec.bodyBase64, 'base64');
const headers: Record<string, string | number> = {};
for (const [key, value] of Object.entries(spec.headers)) {
  // Framing headers are the server's business; the request id is per request, as in Lifeline.
  if (!['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'date', 'x-request-id'].includes(key)) headers[key] = value;
}
headers['content-length'] = body.length;

const server = createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(spec.status, { ...headers, 'x-request-id': randomUUID() });
    res.end(body);
  });
});
process.on('SIGTERM', () => process.exit(0));
setTimeout(() => process.exit(2), Number(process.env.BENCH_CHILD_MAX_LIFETIME_MS) || 600_000).unref();
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTENING ${(server.address() as AddressInfo).port}\n`);
});
