// A TypeScript SDK v1 Streamable HTTP server with sessions, used as an upstream behind
// Switchyard by the gateway tests (tests/tests/gateway/sdk.rs).
//
//   node upstream_server.mjs
//
// Prints `listening on http://127.0.0.1:PORT` once bound; serves /mcp. Tools: `echo`,
// `count_with_progress` (three progress notifications, then its result), `ask_sampling`
// (a sampling request to the client on the request's stream), `touch_greeting` (a
// resources/updated and a tools/list_changed on the request's stream); a resource
// `sdk://greeting`;
// a prompt `greet`. Exits when its stdin closes.

import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

function build() {
  const server = new McpServer({ name: 'ts-sdk-upstream', version: '1.0.0' });
  server.registerTool(
    'echo',
    { description: 'Echoes text', inputSchema: { text: z.string() } },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  );
  server.registerTool(
    'count_with_progress',
    { description: 'Counts to three with progress', inputSchema: {} },
    async (_args, extra) => {
      const token = extra._meta?.progressToken;
      for (let i = 1; i <= 3; i++) {
        if (token !== undefined) {
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken: token, progress: i, total: 3 },
          });
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      return { content: [{ type: 'text', text: 'counted to 3' }] };
    },
  );
  server.registerTool(
    'ask_sampling',
    { description: 'Asks the client to sample', inputSchema: {} },
    async (_args, extra) => {
      const answer = await server.server.createMessage(
        {
          messages: [{ role: 'user', content: { type: 'text', text: 'say hi' } }],
          maxTokens: 10,
        },
        { relatedRequestId: extra.requestId },
      );
      return { content: [{ type: 'text', text: `sampled: ${answer.content.text}` }] };
    },
  );
  server.registerTool(
    'touch_greeting',
    { description: 'Announces that sdk://greeting and the tool list changed', inputSchema: {} },
    async (_args, extra) => {
      await extra.sendNotification({
        method: 'notifications/resources/updated',
        params: { uri: 'sdk://greeting' },
      });
      await extra.sendNotification({ method: 'notifications/tools/list_changed' });
      return { content: [{ type: 'text', text: 'touched' }] };
    },
  );
  server.registerResource(
    'greeting',
    'sdk://greeting',
    { mimeType: 'text/plain' },
    async (uri) => ({ contents: [{ uri: uri.href, text: 'hello from the TS SDK' }] }),
  );
  server.registerPrompt(
    'greet',
    { description: 'Greets someone', argsSchema: { who: z.string() } },
    ({ who }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Greet ${who}` } }] }),
  );
  return server;
}

const transports = new Map();

async function body(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const text = Buffer.concat(chunks).toString();
  return text ? JSON.parse(text) : undefined;
}

const httpServer = http.createServer(async (req, res) => {
  try {
    if (!req.url.startsWith('/mcp')) {
      res.writeHead(404).end();
      return;
    }
    const sid = req.headers['mcp-session-id'];
    const parsed = req.method === 'POST' ? await body(req) : undefined;
    let transport = sid ? transports.get(sid) : undefined;
    if (!transport) {
      if (sid || req.method !== 'POST' || parsed?.method !== 'initialize') {
        res.writeHead(sid ? 404 : 400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } }));
        return;
      }
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => transports.set(id, transport),
      });
      transport.onclose = () => {
        if (transport.sessionId) transports.delete(transport.sessionId);
      };
      await build().connect(transport);
    }
    await transport.handleRequest(req, res, parsed);
  } catch (e) {
    console.error(e);
    if (!res.headersSent) res.writeHead(500).end();
  }
});

httpServer.listen(0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${httpServer.address().port}`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
