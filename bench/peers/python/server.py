"""The official MCP Python SDK (mcp 2.x) serving one tool, echo(text), over Streamable HTTP in
session mode (the SDK's defaults: a session per initialize, SSE answers), on uvicorn.

    python server.py [PORT]     # default 0 (a free port); prints `listening on http://127.0.0.1:PORT`

The session cap (10,000 by default) is lifted so the idle-stream measurement can go past it;
access logs are off, as for every server in the benchmark.
"""

from __future__ import annotations

import socket
import sys

import anyio
import uvicorn
from mcp.server.mcpserver import MCPServer

mcp = MCPServer("bench-peer-python", log_level="WARNING")


@mcp.tool()
def echo(text: str) -> str:
    """Returns its text argument."""
    return text


async def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    app = mcp.streamable_http_app(max_sessions=None)
    # proto=IPPROTO_TCP as asyncio's own listeners have it: asyncio sets TCP_NODELAY only on
    # accepted sockets whose proto says TCP; with proto 0, SSE answers on a reused connection
    # wait ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(4096)
    config = uvicorn.Config(app, log_level="warning", access_log=False, backlog=4096)
    server = uvicorn.Server(config)
    print(f"listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    await server.serve(sockets=[sock])


if __name__ == "__main__":
    anyio.run(main)
