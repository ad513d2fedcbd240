"""The official Python SDK's Streamable HTTP client against a Switchyard `demo` node.

    python driver_streamable_http.py --url http://127.0.0.1:P/mcp --cut-url http://127.0.0.1:Q/mcp

`--cut-url` reaches the same node through a proxy that cuts the first response stream right
after its first progress notification: the SDK must reconnect with `Last-Event-ID` by itself
and receive every remaining event exactly once.
"""

from __future__ import annotations

import anyio
import mcp_types as types
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.message import ClientMessageMetadata

from interop_common import (
    STEP_TIMEOUT,
    HttpLog,
    UpdateWaiter,
    check,
    dump,
    exercise_features,
    parse_args,
    passed,
    text_of,
)

HANDSHAKE_VERSIONS = {"2025-03-26", "2025-06-18", "2025-11-25"}


async def features_and_termination(url: str) -> list[float]:
    log = HttpLog()
    updates = UpdateWaiter()
    async with log.client() as http:
        transport = streamable_http_client(url, http_client=http)
        async with Client(
            transport, mode="legacy", message_handler=updates.handler, cache=None
        ) as client:
            check(
                client.protocol_version in HANDSHAKE_VERSIONS,
                f"negotiated {client.protocol_version}",
            )
            version = client.protocol_version
            passed("initialize", f"protocol {version}")
            progress = await exercise_features(client, updates)
            session_ids = {e["session_id"] for e in log.exchanges if e["session_id"]}
            check(len(session_ids) == 1, f"expected one session id, saw {session_ids}")
            (session_id,) = session_ids
        # Leaving the client terminates the session with DELETE.
        deletes = [e for e in log.exchanges if e["method"] == "DELETE"]
        check(deletes, f"the SDK sent no DELETE: {dump(log.exchanges)}")
        check(200 <= deletes[-1]["status"] < 300, f"DELETE answered {deletes[-1]}")
        passed("DELETE", f"status {deletes[-1]['status']}")

        after = await http.post(
            url,
            json={"jsonrpc": "2.0", "id": 99, "method": "tools/list"},
            headers={
                "Accept": "application/json, text/event-stream",
                "Mcp-Session-Id": session_id,
                "MCP-Protocol-Version": version,
            },
        )
        check(after.status_code == 404, f"request on a deleted session got {after.status_code}")
        passed("deleted session answers 404")
    return progress


async def resumption(cut_url: str, expected: list[float]) -> None:
    log = HttpLog()
    async with log.client() as http:
        transport = streamable_http_client(cut_url, http_client=http)
        async with Client(transport, mode="legacy", cache=None) as client:
            ids: list[str] = []
            progress: list[float] = []

            async def on_token(token: str) -> None:
                ids.append(token)

            async def on_progress(p: float, total: float | None, message: str | None) -> None:
                progress.append(p)

            with anyio.fail_after(STEP_TIMEOUT * 2):
                result = await client.session.send_request(
                    types.CallToolRequest(
                        params=types.CallToolRequestParams(name="generate_report", arguments={})
                    ),
                    types.CallToolResult,
                    metadata=ClientMessageMetadata(on_resumption_token_update=on_token),
                    progress_callback=on_progress,
                )
            check(not result.is_error, f"generate_report failed: {text_of(result.content)}")
            resumed = [
                e for e in log.exchanges if e["method"] == "GET" and e["last_event_id"]
            ]
            check(resumed, f"the stream was never resumed with Last-Event-ID: {dump(log.exchanges)}")
            check(
                all(e["status"] == 200 for e in resumed),
                f"a resumption GET failed: {dump(resumed)}",
            )
            check(
                progress == expected,
                f"after resumption saw progress {progress}, an uncut call saw {expected}",
            )
            check(len(set(ids)) == len(ids), f"an event id was delivered twice: {ids}")
            passed(
                "resumption",
                f"{len(resumed)} GET with Last-Event-ID, progress {progress}, {len(ids)} unique ids",
            )


async def main() -> None:
    args = parse_args(with_cut=True)
    expected = await features_and_termination(args.url)
    await resumption(args.cut_url, expected)
    print("ALL PASSED", flush=True)


if __name__ == "__main__":
    anyio.run(main)
