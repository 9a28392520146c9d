// The operation limits of HTTP hold over WebSocket too: depth, aliases and cost.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startInstance, type Instance } from '../helpers/app.js';
import { useSeededDatabase } from '../helpers/fixtures.js';

const db = useSeededDatabase();
let instance: Instance;
beforeAll(async () => {
  instance = await startInstance({ databaseUrl: db().url });
});

function run(query: string): Promise<{ errors?: { message: string }[]; data?: unknown }> {
  const client = createClient({ url: instance.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
  return new Promise((resolve, reject) => {
    let result: { data?: unknown } | undefined;
    client.subscribe(
      { query },
      {
        next: (v) => (result = v as { data?: unknown }),
        error: (errors) => {
          void client.dispose();
          Array.isArray(errors) ? resolve({ errors: errors as { message: string }[] }) : reject(errors);
        },
        complete: () => {
          void client.dispose();
          resolve(result ?? {});
        },
      },
    );
  });
}

test('too deep, too many aliases and too costly are refused over WebSocket as over HTTP', async () => {
  const deep = `{ donor(id: "1") { ${'donations { nodes { donor { '.repeat(6)} id ${'} } }'.repeat(6)} } }`;
  expect((await run(deep)).errors?.[0]?.message).toMatch(/deep/);
  const aliases = `{ ${Array.from({ length: 40 }, (_, i) => `a${i}: hospitals { id }`).join(' ')} }`;
  expect((await run(aliases)).errors?.[0]?.message).toMatch(/aliases/);
  const costly = '{ donors(first: 100) { nodes { donations(first: 100) { nodes { donor { donations(first: 100) { nodes { id } } } } } } } }';
  expect((await run(costly)).errors?.[0]?.message).toMatch(/cost/i);
  // A normal query still works.
  expect((await run('{ hospital(id: "1") { id } }')).data).toEqual({ hospital: { id: '1' } });
});
