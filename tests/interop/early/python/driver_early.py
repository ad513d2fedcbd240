"""An early official Python SDK (mcp 1.8.1) Streamable HTTP client against a Switchyard
`demo` node (or a cluster's balancer).

    python driver_early.py --url http://127.0.0.1:P/mcp

mcp 1.8.x asks for 2024-11-05 on `/mcp` and accepts nothing else back; the server must echo
it and serve the session under the 2025-03-26 Streamable HTTP rules. Prints one `PASS <step>`
line per step that held and exits 0 only when all did.
"""

from __future__ import annotations

import argparse
import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import anyio
import mcp.types as types
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client

STEP_TIMEOUT = 15.0
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def passed(step: str, detail: str = "") -> None:
    print(f"PASS {step}" + (f" ({detail})" if detail else ""), flush=True)


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def text_of(contents: list[Any]) -> str:
    return "\n".join(getattr(c, "text", "") for c in contents)


def future_slot() -> str:
    now = datetime.now(timezone.utc)
    minutes = int(time.time() * 1000) % (60 * 24 * 300)
    slot = (now + timedelta(days=30, minutes=minutes)).replace(second=0, microsecond=0)
    return slot.strftime("%Y-%m-%dT%H:%M:%SZ")


class Notifications:
    """resources/updated URIs and progress values, as the session's message handler."""

    def __init__(self) -> None:
        self.updated: list[str] = []
        self.progress: list[float] = []
        self._changed = anyio.Event()

    async def handler(self, message: Any) -> None:
        if isinstance(message, types.ServerNotification):
            n = message.root
            if isinstance(n, types.ResourceUpdatedNotification):
                self.updated.append(str(n.params.uri))
            elif isinstance(n, types.ProgressNotification):
                self.progress.append(n.params.progress)
            self._changed.set()
            self._changed = anyio.Event()

    async def wait_for_update(self, uri: str) -> None:
        with anyio.fail_after(STEP_TIMEOUT):
            while uri not in self.updated:
                await self._changed.wait()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    url = parser.parse_args().url
    seen = Notifications()
    async with streamablehttp_client(url) as (read, write, _session_id):
        async with ClientSession(read, write, message_handler=seen.handler) as session:
            with anyio.fail_after(STEP_TIMEOUT):
                init = await session.initialize()
            check(
                init.protocolVersion == "2024-11-05",
                f"the server answered {init.protocolVersion}",
            )
            passed("initialize", f"protocol {init.protocolVersion}")

            tools = (await session.list_tools()).tools
            names = {t.name for t in tools}
            for wanted in ("get_client", "create_booking", "generate_report"):
                check(wanted in names, f"tools/list lacks {wanted}: {sorted(names)}")
            passed("tools/list", f"{len(tools)} tools")

            everyone = await session.read_resource("clients://all")
            emails = sorted(set(EMAIL.findall(text_of(everyone.contents))))
            check(emails, "clients://all names no client email")
            email = emails[0]
            passed("resources/read clients://all", f"{len(emails)} clients")

            got = await session.call_tool("get_client", {"email": email})
            check(not got.isError, f"get_client failed: {text_of(got.content)}")
            check(email in text_of(got.content), "get_client does not mention the email")
            passed("tools/call get_client")

            await session.subscribe_resource("clients://all")
            booked = await session.call_tool(
                "create_booking",
                {
                    "client_email": email,
                    "starts_at": future_slot(),
                    "service": "Early interop check",
                    "notes": "booked by the mcp 1.8.1 interop driver",
                },
            )
            check(not booked.isError, f"create_booking failed: {text_of(booked.content)}")
            await seen.wait_for_update("clients://all")
            passed("resources/subscribe + notifications/resources/updated")

            request = types.ClientRequest(
                types.CallToolRequest(
                    method="tools/call",
                    params=types.CallToolRequestParams(
                        name="generate_report",
                        arguments={},
                        _meta=types.RequestParams.Meta(progressToken="early-report"),
                    ),
                )
            )
            with anyio.fail_after(STEP_TIMEOUT * 2):
                result = await session.send_request(request, types.CallToolResult)
            check(not result.isError, f"generate_report failed: {text_of(result.content)}")
            progress = seen.progress
            check(len(progress) >= 3, f"expected at least 3 progress notifications: {progress}")
            check(progress == sorted(set(progress)), f"progress repeated or went back: {progress}")
            passed("progress", f"{len(progress)} notifications {progress}")
    print("ALL PASSED", flush=True)


if __name__ == "__main__":
    anyio.run(main)
