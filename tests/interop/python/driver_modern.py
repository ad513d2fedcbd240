"""The official Python SDK's modern (2026-07-28, stateless) client against a Switchyard `demo` node.

    python driver_modern.py --url http://127.0.0.1:P/mcp

`Client(mode="auto")` probes `server/discover` and adopts the modern era. Everything after is
stateless: every request carries its `_meta`, no session id is ever minted, no GET or DELETE is
sent. The walk: tools, resources, the template, the prompt, a `subscriptions/listen` stream that
hears of a booking made through another client, `cancel_booking` whose confirmation (an
elicitation) the SDK's multi round-trip driver answers, progress, and per-request logging.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import anyio
import httpx2
import mcp_types as types
from mcp.client import Client
from mcp.client.context import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client
from mcp.client.subscriptions import ResourceUpdated

from interop_common import (
    EMAIL,
    STEP_TIMEOUT,
    check,
    dump,
    future_slot,
    parse_args,
    passed,
    text_of,
)

MODERN = "2026-07-28"


def slot(offset_days: int) -> str:
    """`future_slot()` moved by whole days, for several bookings in one run."""
    at = datetime.strptime(future_slot(), "%Y-%m-%dT%H:%M:%SZ") + timedelta(days=offset_days)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


class WireLog:
    """Every HTTP exchange: method, status, the request's MCP headers, the session header of
    either side, and the JSON-RPC method of the body."""

    def __init__(self) -> None:
        self.exchanges: list[dict[str, Any]] = []

    async def on_response(self, response: httpx2.Response) -> None:
        request = response.request
        try:
            body = json.loads(request.content or b"{}")
        except (ValueError, httpx2.RequestNotRead):
            body = {}
        self.exchanges.append(
            {
                "method": request.method,
                "status": response.status_code,
                "rpc": body.get("method") if isinstance(body, dict) else None,
                "params": body.get("params") if isinstance(body, dict) else None,
                "version": request.headers.get("mcp-protocol-version"),
                "mcp_method": request.headers.get("mcp-method"),
                "mcp_name": request.headers.get("mcp-name"),
                "session_sent": request.headers.get("mcp-session-id"),
                "session_got": response.headers.get("mcp-session-id"),
            }
        )

    def client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            timeout=httpx2.Timeout(30.0, read=300.0),
            event_hooks={"response": [self.on_response]},
        )

    def calls(self, rpc: str, name: str | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in self.exchanges
            if e["rpc"] == rpc and (name is None or (e["params"] or {}).get("name") == name)
        ]


class Confirmations:
    """An elicitation callback that confirms, and counts what it was asked."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    async def __call__(
        self, context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        self.messages.append(params.message)
        return types.ElicitResult(action="accept", content={"confirm": True})


def modern_client(url: str, http: httpx2.AsyncClient, **kwargs: Any) -> Client:
    return Client(streamable_http_client(url, http_client=http), mode="auto", cache=None, **kwargs)


async def walk(url: str) -> None:
    log = WireLog()
    confirmations = Confirmations()
    logged: list[Any] = []

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logged.append(params)

    async with log.client() as http, log.client() as other_http:
        async with modern_client(
            url, http, elicitation_callback=confirmations, logging_callback=on_log
        ) as client:
            check(client.protocol_version == MODERN, f"negotiated {client.protocol_version}")
            check(
                client.server_info is not None and client.server_info.name == "switchyard-demo",
                f"server info {client.server_info}",
            )
            discover = log.calls("server/discover")
            check(
                discover and discover[0]["status"] == 200,
                f"no successful server/discover probe: {dump(log.exchanges)}",
            )
            check(not log.calls("initialize"), f"a modern client sent initialize: {dump(log.exchanges)}")
            passed("server/discover", f"protocol {client.protocol_version}")

            tools = (await client.list_tools()).tools
            names = {t.name for t in tools}
            for wanted in ("get_client", "create_booking", "cancel_booking", "generate_report"):
                check(wanted in names, f"tools/list lacks {wanted}: {sorted(names)}")
            passed("tools/list", f"{len(tools)} tools")

            everyone = await client.read_resource("clients://all")
            emails = sorted(set(EMAIL.findall(text_of(everyone.contents))))
            check(emails, "clients://all names no client email")
            email = emails[0]
            passed("resources/read clients://all", f"{len(emails)} clients")

            got = await client.call_tool("get_client", {"email": email})
            check(not got.is_error, f"get_client failed: {text_of(got.content)}")
            check(email in text_of(got.content), "get_client does not mention the email")
            passed("tools/call get_client")

            templates = (await client.list_resource_templates()).resource_templates
            check(
                any(t.uri_template == "clients://{email}" for t in templates),
                f"no clients://{{email}} template: {[t.uri_template for t in templates]}",
            )
            one = await client.read_resource(f"clients://{email}")
            check(email in text_of(one.contents), f"clients://{email} does not mention the email")
            passed("resources/read template", f"clients://{email}")

            prompt = await client.get_prompt("client_summary", {"client_email": email})
            prompt_text = "\n".join(text_of([m.content]) for m in prompt.messages)
            check(email in prompt_text, "client_summary does not mention the client")
            passed("prompts/get client_summary")

            # A listener on this client; the booking is made by a different client (its own
            # HTTP connection pool), so the notice can only come through the node.
            async with client.listen(resource_subscriptions=["clients://all"]) as sub:
                check(
                    sub.honored.resource_subscriptions == ["clients://all"],
                    f"acknowledged filter {sub.honored}",
                )
                async with modern_client(url, other_http) as other:
                    booked = await other.call_tool(
                        "create_booking",
                        {
                            "client_email": email,
                            "starts_at": slot(0),
                            "service": "Modern interop check",
                        },
                    )
                check(not booked.is_error, f"create_booking failed: {text_of(booked.content)}")
                with anyio.fail_after(STEP_TIMEOUT):
                    event = await sub.__anext__()
                check(
                    event == ResourceUpdated(uri="clients://all"),
                    f"expected an update of clients://all, got {event}",
                )
            passed("subscriptions/listen + notifications/resources/updated")

            booking = (booked.structured_content or {}).get("booking", {})
            booking_id = booking.get("id")
            check(isinstance(booking_id, int), f"no booking id in {booked.structured_content}")
            cancelled = await client.call_tool("cancel_booking", {"booking_id": booking_id})
            check(not cancelled.is_error, f"cancel_booking failed: {text_of(cancelled.content)}")
            check(
                (cancelled.structured_content or {}).get("cancelled") is True,
                f"not cancelled: {cancelled.structured_content}",
            )
            check(
                len(confirmations.messages) == 1 and f"#{booking_id}" in confirmations.messages[0],
                f"the elicitation callback saw {confirmations.messages}",
            )
            rounds = log.calls("tools/call", "cancel_booking")
            check(
                len(rounds) == 2 and all(r["status"] == 200 for r in rounds),
                f"expected two cancel_booking POSTs (input_required, retry): {dump(rounds)}",
            )
            retry = rounds[1]["params"] or {}
            check(
                retry.get("inputResponses", {}).get("confirm", {}).get("action") == "accept",
                f"the retry did not carry the answer: {dump(retry)}",
            )
            passed("elicitation as a multi round-trip request", f"booking {booking_id} cancelled")

            seen: list[float] = []

            async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                seen.append(progress)

            report = await client.call_tool("generate_report", {}, progress_callback=on_progress)
            check(not report.is_error, f"generate_report failed: {text_of(report.content)}")
            check(len(seen) >= 3 and seen == sorted(seen), f"progress {seen}")
            passed("progress", f"{len(seen)} notifications")

            check(not logged, f"log messages arrived without a log level: {logged}")
        passed("no log messages without a log level")

        async with modern_client(url, http, log_level="info", logging_callback=on_log) as client:
            await client.call_tool(
                "create_booking",
                {"client_email": email, "starts_at": slot(1), "service": "Logged"},
            )
            check(logged, "a client asking for info logs got none")
        passed("log messages with a log level", f"{len(logged)} messages")

    check(
        all(e["method"] == "POST" for e in log.exchanges),
        f"a modern client sent something else than POST: {dump(log.exchanges)}",
    )
    check(
        not any(e["session_sent"] or e["session_got"] for e in log.exchanges),
        f"a session id went over the wire: {dump(log.exchanges)}",
    )
    check(
        all(e["version"] == MODERN and e["mcp_method"] == e["rpc"] for e in log.exchanges),
        f"a request without the modern headers: {dump(log.exchanges)}",
    )
    passed("stateless wire", f"{len(log.exchanges)} POSTs, no session, no GET or DELETE")


async def main() -> None:
    args = parse_args(with_cut=False)
    await walk(args.url)
    print("ALL PASSED", flush=True)


if __name__ == "__main__":
    anyio.run(main)
