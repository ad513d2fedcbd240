// An early official TypeScript SDK (1.10.2) Streamable HTTP client against a Switchyard `demo`
// node (or a cluster's balancer).
//
//   node early.mjs --url http://127.0.0.1:P/mcp
//
// SDK 1.10.x asks for 2024-11-05 on /mcp and accepts nothing else back: the server must echo
// it and serve the session under the 2025-03-26 Streamable HTTP rules. Prints one
// `PASS <step>` line per step that held and exits 0 only when all did.

import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

const STEP_TIMEOUT_MS = 15_000;
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;

function passed(step, detail) {
  console.log(`PASS ${step}${detail ? ` (${detail})` : ''}`);
}

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

const textOf = (contents) => contents.map((c) => (typeof c.text === 'string' ? c.text : '')).join('\n');

function futureSlot() {
  const minutes = Date.now() % (60 * 24 * 300);
  const at = new Date(Date.now() + 30 * 24 * 3600 * 1000 + minutes * 60 * 1000);
  at.setUTCSeconds(0, 0);
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

async function main() {
  const { values } = parseArgs({ options: { url: { type: 'string' } } });
  check(values.url, '--url is required');
  const transport = new StreamableHTTPClientTransport(new URL(values.url));
  const client = new Client({ name: 'switchyard-interop-early-ts', version: '1.0.0' });
  const updated = [];
  let onUpdate = () => {};
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
    updated.push(n.params.uri);
    onUpdate();
  });
  // connect() throws when the server answers a version the SDK does not support.
  await client.connect(transport);
  const version = client.getServerVersion();
  check(version, 'no server info after initialize');
  passed('initialize', `protocol 2024-11-05 accepted, server ${version.name}`);

  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  for (const wanted of ['get_client', 'create_booking', 'generate_report']) {
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

  await client.subscribeResource({ uri: 'clients://all' });
  const arrived = new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no notifications/resources/updated within ${STEP_TIMEOUT_MS} ms (saw ${JSON.stringify(updated)})`)),
      STEP_TIMEOUT_MS,
    );
    onUpdate = () => {
      if (updated.includes('clients://all')) {
        clearTimeout(timer);
        resolve();
      }
    };
  });
  const booked = await client.callTool({
    name: 'create_booking',
    arguments: {
      client_email: email,
      starts_at: futureSlot(),
      service: 'Early interop check',
      notes: 'booked by the SDK 1.10.2 interop driver',
    },
  });
  check(!booked.isError, `create_booking failed: ${textOf(booked.content)}`);
  await arrived;
  passed('resources/subscribe + notifications/resources/updated');

  const progress = [];
  const result = await client.callTool({ name: 'generate_report', arguments: {} }, undefined, {
    onprogress: (p) => progress.push(p.progress),
    timeout: STEP_TIMEOUT_MS * 2,
  });
  check(!result.isError, `generate_report failed: ${textOf(result.content)}`);
  check(progress.length >= 3, `expected at least 3 progress notifications: ${JSON.stringify(progress)}`);
  check(progress.every((p, i) => i === 0 || p > progress[i - 1]), `progress not increasing: ${JSON.stringify(progress)}`);
  passed('progress', `${progress.length} notifications ${JSON.stringify(progress)}`);

  await transport.terminateSession();
  await client.close();
}

main().then(
  () => {
    console.log('ALL PASSED');
    process.exit(0);
  },
  (error) => {
    console.error(error?.stack ?? String(error));
    process.exit(1);
  },
);
