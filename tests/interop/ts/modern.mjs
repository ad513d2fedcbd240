// The official TypeScript SDK v2 client (@modelcontextprotocol/client) in its modern
// (2026-07-28, stateless) mode against a Switchyard `demo` node.
//
//   node modern.mjs --url http://127.0.0.1:P/mcp
//
// `versionNegotiation: { mode: 'auto' }` probes `server/discover` and adopts the modern era.
// Everything after is stateless: every request carries its `_meta`, no session id is ever
// minted, no GET or DELETE is sent. The walk: tools, resources, the template, the prompt, a
// `subscriptions/listen` stream that hears of a booking made through another client,
// `cancel_booking` whose confirmation (an elicitation) the SDK answers as a multi round-trip
// request, and progress.

import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

import { STEP_TIMEOUT_MS, args, check, futureSlot, passed, runMain, textOf } from './common.mjs';

const MODERN = '2026-07-28';
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;

/** A `fetch` that records every exchange: method, status, MCP headers, the JSON-RPC body. */
function wireLog() {
  const exchanges = [];
  const doFetch = async (input, init) => {
    const request = new Request(input, init);
    let body = null;
    if (typeof init?.body === 'string') {
      try {
        body = JSON.parse(init.body);
      } catch {
        body = null;
      }
    }
    const response = await fetch(input, init);
    exchanges.push({
      method: request.method,
      status: response.status,
      rpc: body?.method ?? null,
      params: body?.params ?? null,
      version: request.headers.get('mcp-protocol-version'),
      mcpMethod: request.headers.get('mcp-method'),
      sessionSent: request.headers.get('mcp-session-id'),
      sessionGot: response.headers.get('mcp-session-id'),
    });
    return response;
  };
  const calls = (rpc, name) =>
    exchanges.filter((e) => e.rpc === rpc && (name === undefined || e.params?.name === name));
  return { fetch: doFetch, exchanges, calls };
}

async function connect(url, log, options = {}) {
  const client = new Client(
    { name: 'switchyard-interop-ts-modern', version: '1.0.0' },
    { versionNegotiation: { mode: 'auto' }, ...options },
  );
  const transport = new StreamableHTTPClientTransport(new URL(url), { fetch: log.fetch });
  await client.connect(transport);
  return client;
}

/** A booking time `days` after `futureSlot()`. */
function slot(days) {
  const at = new Date(Date.parse(futureSlot()) + days * 24 * 3600 * 1000);
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function withTimeout(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

runMain(async () => {
  const { url } = args(false);
  const log = wireLog();

  const asked = [];
  const client = await connect(url, log, { capabilities: { elicitation: {} } });
  client.setRequestHandler('elicitation/create', async (request) => {
    asked.push(request.params.message);
    return { action: 'accept', content: { confirm: true } };
  });
  check(client.getProtocolEra() === 'modern', `era ${client.getProtocolEra()}`);
  check(client.getNegotiatedProtocolVersion() === MODERN, `negotiated ${client.getNegotiatedProtocolVersion()}`);
  check(client.getServerVersion()?.name === 'switchyard-demo', `server ${JSON.stringify(client.getServerVersion())}`);
  check(log.calls('server/discover').some((e) => e.status === 200), `no server/discover probe: ${JSON.stringify(log.exchanges)}`);
  check(log.calls('initialize').length === 0, 'a modern client sent initialize');
  passed('server/discover', `protocol ${client.getNegotiatedProtocolVersion()}`);

  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  for (const wanted of ['get_client', 'create_booking', 'cancel_booking', 'generate_report']) {
    check(names.includes(wanted), `tools/list lacks ${wanted}: ${names}`);
  }
  passed('tools/list', `${tools.length} tools`);

  const everyone = await client.readResource({ uri: 'clients://all' });
  const emails = [...new Set(textOf(everyone.contents).match(EMAIL) ?? [])].sort();
  check(emails.length > 0, 'clients://all names no client email');
  const email = emails[0];
  passed('resources/read clients://all', `${emails.length} clients`);

  const got = await client.callTool({ name: 'get_client', arguments: { email } });
  check(!got.isError, `get_client failed: ${textOf(got.content)}`);
  check(textOf(got.content).includes(email), 'get_client does not mention the email');
  passed('tools/call get_client');

  const { resourceTemplates } = await client.listResourceTemplates();
  check(
    resourceTemplates.some((t) => t.uriTemplate === 'clients://{email}'),
    `no clients://{email} template: ${JSON.stringify(resourceTemplates)}`,
  );
  const one = await client.readResource({ uri: `clients://${email}` });
  check(textOf(one.contents).includes(email), `clients://${email} does not mention the email`);
  passed('resources/read template', `clients://${email}`);

  const prompt = await client.getPrompt({ name: 'client_summary', arguments: { client_email: email } });
  check(textOf(prompt.messages.map((m) => m.content)).includes(email), 'client_summary does not mention the client');
  passed('prompts/get client_summary');

  // The listener on this client; the booking is made by another client.
  const updates = [];
  let wake = () => {};
  client.setNotificationHandler('notifications/resources/updated', (n) => {
    updates.push(n.params.uri);
    wake();
  });
  const sub = await client.listen({ resourceSubscriptions: ['clients://all'] });
  check(
    JSON.stringify(sub.honoredFilter.resourceSubscriptions) === JSON.stringify(['clients://all']),
    `acknowledged filter ${JSON.stringify(sub.honoredFilter)}`,
  );
  const other = await connect(url, log);
  const booked = await other.callTool({
    name: 'create_booking',
    arguments: { client_email: email, starts_at: slot(0), service: 'Modern interop check (TS)' },
  });
  check(!booked.isError, `create_booking failed: ${textOf(booked.content)}`);
  await other.close();
  await withTimeout(
    new Promise((resolve) => {
      wake = () => updates.includes('clients://all') && resolve();
      wake();
    }),
    'notifications/resources/updated on the listen stream',
  );
  await sub.close();
  passed('subscriptions/listen + notifications/resources/updated');

  const bookingId = booked.structuredContent?.booking?.id;
  check(Number.isInteger(bookingId), `no booking id in ${JSON.stringify(booked.structuredContent)}`);
  const cancelled = await client.callTool({ name: 'cancel_booking', arguments: { booking_id: bookingId } });
  check(!cancelled.isError, `cancel_booking failed: ${textOf(cancelled.content)}`);
  check(cancelled.structuredContent?.cancelled === true, `not cancelled: ${JSON.stringify(cancelled.structuredContent)}`);
  check(asked.length === 1 && asked[0].includes(`#${bookingId}`), `the elicitation handler saw ${JSON.stringify(asked)}`);
  const rounds = log.calls('tools/call', 'cancel_booking');
  check(
    rounds.length === 2 && rounds.every((r) => r.status === 200),
    `expected two cancel_booking POSTs (input_required, retry): ${JSON.stringify(rounds)}`,
  );
  check(
    rounds[1].params?.inputResponses?.confirm?.action === 'accept',
    `the retry did not carry the answer: ${JSON.stringify(rounds[1].params)}`,
  );
  passed('elicitation as a multi round-trip request', `booking ${bookingId} cancelled`);

  const progress = [];
  const report = await client.callTool({ name: 'generate_report', arguments: {} }, {
    onprogress: (p) => progress.push(p.progress),
    timeout: STEP_TIMEOUT_MS,
  });
  check(!report.isError, `generate_report failed: ${textOf(report.content)}`);
  check(
    progress.length >= 3 && progress.every((p, i) => i === 0 || p > progress[i - 1]),
    `progress ${JSON.stringify(progress)}`,
  );
  passed('progress', `${progress.length} notifications`);
  await client.close();

  const posts = log.exchanges;
  check(posts.every((e) => e.method === 'POST'), `something else than POST: ${JSON.stringify(posts)}`);
  check(!posts.some((e) => e.sessionSent || e.sessionGot), `a session id went over the wire: ${JSON.stringify(posts)}`);
  const requests = posts.filter((e) => e.rpc && !e.rpc.startsWith('notifications/'));
  check(
    requests.every((e) => e.version === MODERN && e.mcpMethod === e.rpc),
    `a request without the modern headers: ${JSON.stringify(requests)}`,
  );
  passed('stateless wire', `${posts.length} POSTs, no session, no GET or DELETE`);
});
