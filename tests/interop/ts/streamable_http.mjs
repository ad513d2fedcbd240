// The official TypeScript SDK's Streamable HTTP client against a Switchyard `demo` node.
//
//   node streamable_http.mjs --url http://127.0.0.1:P/mcp --cut-url http://127.0.0.1:Q/mcp
//
// `--cut-url` reaches the same node through a proxy that cuts the first response stream right
// after its first progress notification: the SDK must reconnect with `Last-Event-ID` by itself
// and receive every remaining event exactly once.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';

import {
  STEP_TIMEOUT_MS,
  args,
  check,
  exerciseFeatures,
  passed,
  recordingFetch,
  runMain,
  textOf,
  updateWaiter,
} from './common.mjs';

const HANDSHAKE_VERSIONS = ['2025-03-26', '2025-06-18', '2025-11-25'];

async function featuresAndTermination(url) {
  const log = recordingFetch();
  const transport = new StreamableHTTPClientTransport(new URL(url), { fetch: log.fetch });
  const client = new Client({ name: 'switchyard-interop-ts', version: '1.0.0' });
  const updates = updateWaiter(client);
  await client.connect(transport);
  const version = transport.protocolVersion;
  check(HANDSHAKE_VERSIONS.includes(version), `negotiated ${version}`);
  passed('initialize', `protocol ${version}`);

  const progress = await exerciseFeatures(client, updates);

  const sessionId = transport.sessionId;
  check(sessionId, 'no Mcp-Session-Id was issued');
  await transport.terminateSession();
  const deletes = log.exchanges.filter((e) => e.method === 'DELETE');
  check(deletes.length === 1, `expected one DELETE: ${JSON.stringify(log.exchanges)}`);
  check(deletes[0].status >= 200 && deletes[0].status < 300, `DELETE answered ${deletes[0].status}`);
  passed('DELETE', `status ${deletes[0].status}`);
  await client.close();

  const after = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-session-id': sessionId,
      'mcp-protocol-version': version,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'tools/list' }),
  });
  await after.body?.cancel();
  check(after.status === 404, `request on a deleted session got ${after.status}`);
  passed('deleted session answers 404');
  return progress;
}

async function resumption(cutUrl, expected) {
  const log = recordingFetch();
  const transport = new StreamableHTTPClientTransport(new URL(cutUrl), {
    fetch: log.fetch,
    reconnectionOptions: {
      initialReconnectionDelay: 100,
      maxReconnectionDelay: 1000,
      reconnectionDelayGrowFactor: 1.5,
      maxRetries: 3,
    },
  });
  const client = new Client({ name: 'switchyard-interop-ts', version: '1.0.0' });
  const errors = [];
  await client.connect(transport);
  transport.onerror = (e) => errors.push(String(e));

  const ids = [];
  const progress = [];
  const result = await client.request(
    { method: 'tools/call', params: { name: 'generate_report', arguments: {} } },
    CallToolResultSchema,
    {
      onprogress: (p) => progress.push(p.progress),
      onresumptiontoken: (id) => ids.push(id),
      timeout: STEP_TIMEOUT_MS * 2,
    },
  );
  check(!result.isError, `generate_report failed: ${textOf(result.content)}`);
  const resumed = log.exchanges.filter((e) => e.method === 'GET' && e.lastEventId);
  check(
    resumed.length > 0,
    `the stream was never resumed with Last-Event-ID: ${JSON.stringify(log.exchanges)} (transport errors: ${errors})`,
  );
  check(resumed.every((e) => e.status === 200), `a resumption GET failed: ${JSON.stringify(resumed)}`);
  check(
    JSON.stringify(progress) === JSON.stringify(expected),
    `after resumption saw progress ${JSON.stringify(progress)}, an uncut call saw ${JSON.stringify(expected)}`,
  );
  check(new Set(ids).size === ids.length, `an event id was delivered twice: ${JSON.stringify(ids)}`);
  passed(
    'resumption',
    `${resumed.length} GET with Last-Event-ID, progress ${JSON.stringify(progress)}, ${ids.length} unique ids`,
  );
  await transport.terminateSession();
  await client.close();
}

runMain(async () => {
  const { url, 'cut-url': cutUrl } = args(true);
  const expected = await featuresAndTermination(url);
  await resumption(cutUrl, expected);
});
