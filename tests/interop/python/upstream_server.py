"""A Python SDK (`mcp`) Streamable HTTP server with sessions, used as an upstream behind
Switchyard by the gateway tests (tests/tests/gateway/sdk.rs).

    .venv/bin/python upstream_server.py

Prints `listening on http://127.0.0.1:PORT` once bound; serves /mcp. Tools: `echo`,
`count_with_progress` (progress notifications, then its result). Exits when stdin closes.
"""

import asyncio
import socket
import sys
import threading

import uvicorn
from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("python-sdk-upstream")


@server.tool()
def echo(text: str) -> str:
    """Echoes text."""
    return text


@server.tool()
async def count_with_progress(ctx: Context) -> str:
    """Counts to three with progress."""
    for i in range(1, 4):
        await ctx.report_progress(i, 3)
    return "counted to 3"


def main():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = server.streamable_http_app()
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    userver = uvicorn.Server(config)

    def watch_stdin():
        sys.stdin.read()
        userver.should_exit = True

    threading.Thread(target=watch_stdin, daemon=True).start()
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    asyncio.run(userver.serve(sockets=[sock]))


if __name__ == "__main__":
    main()
