// A TCP proxy a test controls, to cut one instance off from a server (Redis, PostgreSQL) while
// every other instance still reaches it: a real partition, not a mocked client error.
//
//   cut()       destroys every open connection and refuses new ones (connections are reset, as
//               when a network drops them; the client sees ECONNRESET/ECONNREFUSED-like errors)
//   blackhole() keeps connections open but forwards nothing either way (a silent partition: the
//               client's commands hang until its own timeouts fire)
//   heal()      forwards again; clients reconnect on their own
//
// Listens on 127.0.0.1 only, forwards to a loopback target only.
import net from 'node:net';

export interface TcpProxy {
  /** The port clients should connect to instead of the target's. */
  port: number;
  /** redis://127.0.0.1:<port> style URL for a target URL: the same URL with host and port replaced. */
  urlFor(targetUrl: string): string;
  cut(): void;
  blackhole(): void;
  heal(): void;
  /** 'open' | 'cut' | 'blackhole' */
  state(): 'open' | 'cut' | 'blackhole';
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  if (!['127.0.0.1', 'localhost', '::1'].includes(target.host)) throw new Error(`tcp proxy only forwards to loopback, not ${target.host}`);
  let mode: 'open' | 'cut' | 'blackhole' = 'open';
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();

  const server = net.createServer((client) => {
    if (mode === 'cut') return client.destroy();
    const upstream = net.connect(target.port, target.host);
    const pair = { client, upstream };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    // Data is forwarded by hand (not pipe) so a blackhole can drop it on the floor.
    client.on('data', (chunk) => {
      if (mode === 'open') upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (mode === 'open') client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    urlFor(targetUrl) {
      const u = new URL(targetUrl);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString().replace(/\/$/, '');
    },
    cut() {
      mode = 'cut';
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
    },
    blackhole() {
      mode = 'blackhole';
    },
    heal() {
      mode = 'open';
    },
    state: () => mode,
    close: () =>
      new Promise<void>((resolve) => {
        for (const { client, upstream } of pairs) {
          client.destroy();
          upstream.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
