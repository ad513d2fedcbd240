// The official TypeScript SDK's HTTP+SSE (2024-11-05) client against a Switchyard `demo` node.
//
//   node sse.mjs --url http://127.0.0.1:P/sse
//
// That transport has no resumption; everything else the Streamable HTTP driver checks is
// checked here. Closing the client closes the `GET /sse` stream, which ends the session: a
// later `POST /messages?sessionId=…` must answer 404.

import { setTimeout as sleep } from 'node:timers/promises';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';

import {
  STEP_TIMEOUT_MS,
  args,
  check,
  exerciseFeatures,
  passed,
  recordingFetch,
  runMain,
  updateWaiter,
} from './common.mjs';

runMain(async () => {
  const { url } = args(false);
  const log = recordingFetch();
  const transport = new SSEClientTransport(new URL(url), { fetch: log.fetch });
  const client = new Client({ name: 'switchyard-interop-ts', version: '1.0.0' });
  const updates = updateWaiter(client);
  await client.connect(transport);
  passed('initialize', `server ${client.getServerVersion()?.name ?? '?'}`);

  await exerciseFeatures(client, updates);

  const posts = log.exchanges.filter((e) => e.method === 'POST');
  check(posts.length > 0, 'no POST went to the messages endpoint');
  check(
    posts.every((e) => e.status >= 200 && e.status < 300),
    `every POST /messages should answer 2xx: ${JSON.stringify(posts)}`,
  );
  const endpoint = posts[0].url;
  check(new URL(endpoint).searchParams.get('sessionId'), `no sessionId in ${endpoint}`);
  passed('POST /messages answers 2xx', endpoint);

  await client.close();

  // The stream is closed; the session must go away (the node notices the disconnect
  // asynchronously, so poll with a deadline).
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  const statuses = [];
  for (;;) {
    const answer = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    await answer.body?.cancel();
    statuses.push(answer.status);
    if (answer.status === 404) break;
    check(answer.status >= 200 && answer.status < 300, `after close, POST ${endpoint} answered ${answer.status}`);
    check(Date.now() < deadline, `the closed session still answers after ${STEP_TIMEOUT_MS} ms: ${statuses}`);
    await sleep(100);
  }
  passed('closed session answers 404', `after ${statuses.length} tries`);
});
