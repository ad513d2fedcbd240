// The official MCP TypeScript SDK (v1) serving one tool, echo(text), over Streamable HTTP in
// session mode, the way the SDK's own examples do it: one McpServer + transport per session,
// kept in a map by session id; the SDK's defaults otherwise (SSE answers to POSTs).
//
//   node server.mjs [PORT]     # default 0 (a free port); prints `listening on http://127.0.0.1:PORT`
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";

import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

const transports = new Map();

function newServer() {
  const server = new McpServer({ name: "bench-peer-ts", version: "1.0.0" });
  server.registerTool(
    "echo",
    { description: "Returns its text argument", inputSchema: { text: z.string() } },
    async ({ text }) => ({ content: [{ type: "text", text }] }),
  );
  return server;
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch (e) {
        reject(e);
      }
    });
    req.on("error", reject);
  });
}

function fail(res, status, message) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32000, message } }));
}

const http = createServer(async (req, res) => {
  try {
    if (!req.url.startsWith("/mcp")) return fail(res, 404, "Not Found");
    const sid = req.headers["mcp-session-id"];
    if (req.method === "POST") {
      const body = await readJson(req);
      let transport = sid ? transports.get(sid) : undefined;
      if (!transport && !sid && isInitializeRequest(body)) {
        transport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => transports.set(id, transport),
        });
        transport.onclose = () => {
          if (transport.sessionId) transports.delete(transport.sessionId);
        };
        await newServer().connect(transport);
      }
      if (!transport) return fail(res, sid ? 404 : 400, "Bad Request: no valid session");
      return await transport.handleRequest(req, res, body);
    }
    const transport = sid && transports.get(sid);
    if (!transport) return fail(res, sid ? 404 : 400, "Bad Request: no valid session");
    return await transport.handleRequest(req, res);
  } catch (e) {
    if (!res.headersSent) fail(res, 500, String(e));
  }
});

http.keepAliveTimeout = 120_000;
http.headersTimeout = 121_000;
http.requestTimeout = 0;
http.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  process.stdout.write(`listening on http://127.0.0.1:${http.address().port}\n`);
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(0));
