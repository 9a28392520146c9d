// GraphiQL served by Lifeline itself, so the schema can be explored with no internet access (Apollo
// Sandbox at /graphql loads from Apollo's CDN). Queries and mutations go to /graphql over HTTP with
// the headers typed in the Headers tab; subscriptions go over graphql-ws on the same URL, with the
// same headers (names lower-cased) as connectionParams, which is where Lifeline reads
// `authorization` from.
import { createGraphiQLFetcher, type Fetcher, type FetcherReturnType } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import 'graphiql/style.css';
import { getOperationAST } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import './page.css';

interface WorkerUrls {
  editor: string;
  json: string;
  graphql: string;
}

// The build writes the content-hashed worker bundles' URLs on <html data-workers="...">.
const workers = JSON.parse(document.documentElement.dataset.workers ?? '{}') as WorkerUrls;
(globalThis as { MonacoEnvironment?: unknown }).MonacoEnvironment = {
  getWorker(_id: string, label: string) {
    return new Worker(label === 'json' ? workers.json : label === 'graphql' ? workers.graphql : workers.editor);
  },
};

const httpUrl = new URL('/graphql', location.href).href;
const wsUrl = httpUrl.replace(/^http/, 'ws');

// One socket per set of headers: a new token in the Headers tab opens a new connection.
let socket: { key: string; client: Client } | undefined;
function wsClient(headers: Record<string, unknown>): Client {
  const params = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  const key = JSON.stringify(params);
  if (socket?.key !== key) {
    void socket?.client.dispose();
    socket = { key, client: createClient({ url: wsUrl, connectionParams: params, lazy: true }) };
  }
  return socket.client;
}

const http = createGraphiQLFetcher({ url: httpUrl });
const fetcher: Fetcher = (params, options) => {
  const operation = options?.documentAST ? getOperationAST(options.documentAST, params.operationName ?? undefined) : null;
  if (operation?.operation === 'subscription') {
    // Results as sent on the wire (formatted errors), which is what GraphiQL renders.
    return wsClient(options?.headers ?? {}).iterate({ ...params, operationName: params.operationName ?? undefined }) as unknown as FetcherReturnType;
  }
  return http(params, options);
};

const DEFAULT_QUERY = `# Lifeline's schema, explored offline. Docs: the book icon on the left.
#
# Sign in as the demo staff account, then put the token in the Headers tab below:
#   { "authorization": "Bearer <accessToken>" }
# Subscriptions (e.g. subscription { dashboardStatsUpdated { totalUnitsCollected } })
# run over graphql-ws with the same headers.
#
# mutation { login(email: "staff@lifeline.example", password: "staff-password") { accessToken } }

query Availability {
  availability(bloodGroup: O_NEG) {
    units
    hospital { name city }
  }
}
`;

createRoot(document.getElementById('graphiql')!).render(
  <StrictMode>
    <GraphiQL fetcher={fetcher} defaultQuery={DEFAULT_QUERY} defaultEditorToolsVisibility="headers" />
  </StrictMode>,
);
