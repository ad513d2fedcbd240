// Shared pieces of the TypeScript SDK interop drivers.
//
// Each driver prints one `PASS <step>` line per step that held and exits 0 only when all did;
// the Rust test that runs it checks both. A failing step throws, which prints the error and
// exits non-zero.

import { parseArgs } from 'node:util';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

// Every wait on the server is bounded; the Rust test has its own, larger deadline.
export const STEP_TIMEOUT_MS = 15_000;

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;

export function passed(step, detail) {
  console.log(`PASS ${step}${detail ? ` (${detail})` : ''}`);
}

export function check(condition, message) {
  if (!condition) {
    throw new Error(`check failed: ${message}`);
  }
}

export function args(withCut) {
  const options = { url: { type: 'string' } };
  if (withCut) options['cut-url'] = { type: 'string' };
  const { values } = parseArgs({ options });
  check(values.url, '--url is required');
  if (withCut) check(values['cut-url'], '--cut-url is required');
  return values;
}

/** A `fetch` that records every exchange (method, URL, status, Last-Event-ID, session id). */
export function recordingFetch() {
  const exchanges = [];
  const doFetch = async (input, init) => {
    const request = new Request(input, init);
    const response = await fetch(input, init);
    exchanges.push({
      method: request.method,
      url: request.url,
      status: response.status,
      lastEventId: request.headers.get('last-event-id'),
      sessionId: request.headers.get('mcp-session-id') ?? response.headers.get('mcp-session-id'),
    });
    return response;
  };
  return { fetch: doFetch, exchanges };
}

/** The concatenated text of content blocks or resource contents. */
export function textOf(contents) {
  return contents
    .map((c) => {
      if (typeof c.text === 'string') return c.text;
      if (c.type === 'resource' && typeof c.resource?.text === 'string') return c.resource.text;
      return '';
    })
    .join('\n');
}

/** A booking time far enough ahead and unlikely to clash with another run's. */
export function futureSlot() {
  const minutes = Date.now() % (60 * 24 * 300);
  const at = new Date(Date.now() + 30 * 24 * 3600 * 1000 + minutes * 60 * 1000);
  at.setUTCSeconds(0, 0);
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Collects notifications/resources/updated; `waitFor(uri)` resolves when one names it. */
export function updateWaiter(client) {
  const uris = [];
  const waiters = [];
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
    uris.push(n.params.uri);
    for (const w of waiters.splice(0)) w();
  });
  const waitFor = (uri) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no notifications/resources/updated for ${uri} within ${STEP_TIMEOUT_MS} ms (saw ${JSON.stringify(uris)})`)),
        STEP_TIMEOUT_MS,
      );
      const poll = () => {
        if (uris.includes(uri)) {
          clearTimeout(timer);
          resolve();
        } else {
          waiters.push(poll);
        }
      };
      poll();
    });
  return { uris, waitFor };
}

/** Calls generate_report with a progress callback; returns the progress values. */
export async function slowToolProgress(client) {
  const seen = [];
  const result = await client.callTool({ name: 'generate_report', arguments: {} }, undefined, {
    onprogress: (p) => seen.push(p.progress),
    timeout: STEP_TIMEOUT_MS,
  });
  check(!result.isError, `generate_report failed: ${textOf(result.content)}`);
  check(seen.length >= 3, `expected at least 3 progress notifications, got ${JSON.stringify(seen)}`);
  check(seen.every((p, i) => i === 0 || p > seen[i - 1]), `progress not strictly increasing: ${JSON.stringify(seen)}`);
  return seen;
}

/**
 * The feature walk every transport does: tools, resources, templates, prompts, a subscription
 * that must fire, and a slow tool that must report progress. Returns the progress values.
 */
export async function exerciseFeatures(client, updates) {
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  for (const wanted of ['get_client', 'create_booking', 'generate_report']) {
    check(names.includes(wanted), `tools/list lacks ${wanted}: ${names}`);
  }
  passed('tools/list', `${tools.length} tools`);

  const everyone = await client.readResource({ uri: 'clients://all' });
  const allText = textOf(everyone.contents);
  const emails = [...new Set(allText.match(EMAIL) ?? [])].sort();
  check(emails.length > 0, `clients://all names no client email: ${allText.slice(0, 300)}`);
  const email = emails[0];
  passed('resources/read clients://all', `${emails.length} clients`);

  const got = await client.callTool({ name: 'get_client', arguments: { email } });
  check(!got.isError, `get_client failed: ${textOf(got.content)}`);
  check(textOf(got.content).includes(email), `get_client(${email}) does not mention the email`);
  passed('tools/call get_client');

  const { resourceTemplates } = await client.listResourceTemplates();
  check(
    resourceTemplates.some((t) => t.uriTemplate === 'clients://{email}'),
    `no clients://{email} template: ${JSON.stringify(resourceTemplates)}`,
  );
  const one = await client.readResource({ uri: `clients://${email}` });
  check(textOf(one.contents).includes(email), `clients://${email} does not mention the email`);
  passed('resources/read template', `clients://${email}`);

  const { prompts } = await client.listPrompts();
  check(prompts.some((p) => p.name === 'client_summary'), 'prompts/list lacks client_summary');
  const prompt = await client.getPrompt({ name: 'client_summary', arguments: { client_email: email } });
  check(prompt.messages.length > 0, 'client_summary returned no messages');
  check(textOf(prompt.messages.map((m) => m.content)).includes(email), 'client_summary does not mention the client');
  passed('prompts/get client_summary');

  await client.subscribeResource({ uri: 'clients://all' });
  const booked = await client.callTool({
    name: 'create_booking',
    arguments: {
      client_email: email,
      starts_at: futureSlot(),
      service: 'Interop check',
      notes: 'booked by the TypeScript SDK interop driver',
    },
  });
  check(!booked.isError, `create_booking failed: ${textOf(booked.content)}`);
  await updates.waitFor('clients://all');
  passed('resources/subscribe + notifications/resources/updated');

  const progress = await slowToolProgress(client);
  passed('progress', `${progress.length} notifications ${JSON.stringify(progress)}`);
  return progress;
}

/** Runs `main`, exiting 1 with the error on failure (and 0 only after `ALL PASSED`). */
export function runMain(main) {
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
}
