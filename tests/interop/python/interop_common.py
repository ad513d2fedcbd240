"""Shared pieces of the Python SDK interop drivers.

Each driver prints one `PASS <step>` line per step that held and exits 0 only when all did;
the Rust test that runs it checks both. A failing step raises, which prints a traceback and
exits non-zero.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx2
import mcp_types as types

# Every wait on the server is bounded; the Rust test has its own, larger deadline.
STEP_TIMEOUT = 15.0

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def passed(step: str, detail: str = "") -> None:
    print(f"PASS {step}" + (f" ({detail})" if detail else ""), flush=True)


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def parse_args(with_cut: bool) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="the endpoint (…/mcp or …/sse)")
    if with_cut:
        parser.add_argument(
            "--cut-url",
            required=True,
            help="the same node's /mcp behind a proxy that cuts one SSE response mid-stream",
        )
    return parser.parse_args()


class HttpLog:
    """Records every HTTP exchange an httpx2 client makes (method, URL, status, headers)."""

    def __init__(self) -> None:
        self.exchanges: list[dict[str, Any]] = []

    async def on_response(self, response: httpx2.Response) -> None:
        request = response.request
        self.exchanges.append(
            {
                "method": request.method,
                "url": str(request.url),
                "status": response.status_code,
                "last_event_id": request.headers.get("last-event-id"),
                "session_id": request.headers.get("mcp-session-id")
                or response.headers.get("mcp-session-id"),
            }
        )

    def client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            timeout=httpx2.Timeout(30.0, read=300.0),
            event_hooks={"response": [self.on_response]},
        )


def text_of(contents: list[Any]) -> str:
    """The concatenated text of content blocks or resource contents."""
    parts = []
    for c in contents:
        if isinstance(c, types.TextContent):
            parts.append(c.text)
        elif isinstance(c, types.TextResourceContents):
            parts.append(c.text)
        elif isinstance(c, types.EmbeddedResource) and isinstance(
            c.resource, types.TextResourceContents
        ):
            parts.append(c.resource.text)
    return "\n".join(parts)


def future_slot() -> str:
    """A booking time far enough ahead and unlikely to clash with another run's."""
    now = datetime.now(timezone.utc)
    minutes = int(time.time() * 1000) % (60 * 24 * 300)
    slot = (now + timedelta(days=30, minutes=minutes)).replace(second=0, microsecond=0)
    return slot.strftime("%Y-%m-%dT%H:%M:%SZ")


async def exercise_features(client: Any, updates: "UpdateWaiter") -> list[float]:
    """The feature walk every transport does: tools, resources, templates, prompts, a
    subscription that must fire, and a slow tool that must report progress.

    Returns the progress values the slow tool reported.
    """
    tools = (await client.list_tools()).tools
    names = {t.name for t in tools}
    for wanted in ("get_client", "create_booking", "generate_report"):
        check(wanted in names, f"tools/list lacks {wanted}: {sorted(names)}")
    passed("tools/list", f"{len(tools)} tools")

    everyone = await client.read_resource("clients://all")
    all_text = text_of(everyone.contents)
    emails = sorted(set(EMAIL.findall(all_text)))
    check(emails, f"clients://all names no client email: {all_text[:300]!r}")
    email = emails[0]
    passed("resources/read clients://all", f"{len(emails)} clients")

    got = await client.call_tool("get_client", {"email": email})
    check(not got.is_error, f"get_client failed: {text_of(got.content)}")
    check(email in text_of(got.content), f"get_client({email}) does not mention the email")
    passed("tools/call get_client")

    templates = (await client.list_resource_templates()).resource_templates
    check(
        any(t.uri_template == "clients://{email}" for t in templates),
        f"no clients://{{email}} template: {[t.uri_template for t in templates]}",
    )
    one = await client.read_resource(f"clients://{email}")
    check(email in text_of(one.contents), f"clients://{email} does not mention the email")
    passed("resources/read template", f"clients://{email}")

    prompts = (await client.list_prompts()).prompts
    check(any(p.name == "client_summary" for p in prompts), "prompts/list lacks client_summary")
    prompt = await client.get_prompt("client_summary", {"client_email": email})
    check(prompt.messages, "client_summary returned no messages")
    prompt_text = "\n".join(text_of([m.content]) for m in prompt.messages)
    check(email in prompt_text, "client_summary does not mention the client")
    passed("prompts/get client_summary")

    await client.subscribe_resource("clients://all")
    booked = await client.call_tool(
        "create_booking",
        {
            "client_email": email,
            "starts_at": future_slot(),
            "service": "Interop check",
            "notes": "booked by the Python SDK interop driver",
        },
    )
    check(not booked.is_error, f"create_booking failed: {text_of(booked.content)}")
    await updates.wait_for("clients://all")
    passed("resources/subscribe + notifications/resources/updated")

    progress = await slow_tool_progress(client)
    passed("progress", f"{len(progress)} notifications {progress}")
    return progress


async def slow_tool_progress(client: Any) -> list[float]:
    """Calls generate_report with a progress callback; returns the progress values."""
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    result = await client.call_tool("generate_report", {}, progress_callback=on_progress)
    check(not result.is_error, f"generate_report failed: {text_of(result.content)}")
    check(len(seen) >= 3, f"expected at least 3 progress notifications, got {seen}")
    check(seen == sorted(seen), f"progress went backwards: {seen}")
    check(len(set(seen)) == len(seen), f"a progress notification repeated: {seen}")
    return seen


class UpdateWaiter:
    """Collects notifications/resources/updated and waits for a URI with a deadline."""

    def __init__(self) -> None:
        import anyio

        self._anyio = anyio
        self.uris: list[str] = []
        self._changed = anyio.Event()

    async def handler(self, message: Any) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            self.uris.append(message.params.uri)
            self._changed.set()
            self._changed = self._anyio.Event()
        elif isinstance(message, Exception):
            print(f"transport reported: {message!r}", file=sys.stderr, flush=True)

    async def wait_for(self, uri: str) -> None:
        with self._anyio.fail_after(STEP_TIMEOUT):
            while uri not in self.uris:
                await self._changed.wait()


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=1, default=str)
