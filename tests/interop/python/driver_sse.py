"""The official Python SDK's HTTP+SSE (2024-11-05) client against a Switchyard `demo` node.

    python driver_sse.py --url http://127.0.0.1:P/sse

That transport has no resumption; everything else the Streamable HTTP driver checks is
checked here. Closing the client closes the `GET /sse` stream, which ends the session: a
later `POST /messages?sessionId=…` must answer 404.
"""

from __future__ import annotations

from typing import Any

import anyio
import httpx2
from mcp.client import Client
from mcp.client.sse import sse_client

from interop_common import (
    STEP_TIMEOUT,
    HttpLog,
    UpdateWaiter,
    check,
    dump,
    exercise_features,
    parse_args,
    passed,
)


async def main() -> None:
    args = parse_args(with_cut=False)
    log = HttpLog()
    updates = UpdateWaiter()
    session_ids: list[str] = []

    def factory(
        headers: dict[str, str] | None = None,
        timeout: httpx2.Timeout | None = None,
        auth: Any = None,
    ) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            headers=headers,
            timeout=timeout or httpx2.Timeout(30.0, read=300.0),
            auth=auth,
            event_hooks={"response": [log.on_response]},
        )

    transport = sse_client(
        args.url, httpx_client_factory=factory, on_session_created=session_ids.append
    )
    async with Client(
        transport, mode="legacy", message_handler=updates.handler, cache=None
    ) as client:
        passed("initialize", f"protocol {client.protocol_version}")
        check(len(session_ids) == 1, f"expected one session id from the endpoint event: {session_ids}")
        await exercise_features(client, updates)
        posts = [e for e in log.exchanges if e["method"] == "POST"]
        check(posts, "no POST went to the messages endpoint")
        check(
            all(200 <= e["status"] < 300 for e in posts),
            f"every POST /messages should answer 2xx: {dump(posts)}",
        )
        endpoint = posts[0]["url"]
        passed("POST /messages answers 2xx", endpoint)

    # The stream is closed; the session must go away (the node notices the disconnect
    # asynchronously, so poll with a deadline).
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    statuses: list[int] = []
    async with httpx2.AsyncClient(timeout=5.0) as http:
        with anyio.fail_after(STEP_TIMEOUT):
            while True:
                answer = await http.post(endpoint, json=ping)
                statuses.append(answer.status_code)
                if answer.status_code == 404:
                    break
                check(
                    200 <= answer.status_code < 300,
                    f"after close, POST {endpoint} answered {answer.status_code}",
                )
                await anyio.sleep(0.1)
    passed("closed session answers 404", f"after {len(statuses)} tries")
    print("ALL PASSED", flush=True)


if __name__ == "__main__":
    anyio.run(main)
