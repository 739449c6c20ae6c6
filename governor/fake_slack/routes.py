"""HTTP for the Web API host: /api/<method>, the upload URL, response_urls, /_fake/ controls.

Why a thin layer: Slack's semantics live in ``web_api`` and friends, which know nothing
of HTTP; this module only turns requests into arguments (query string, form or JSON
body, as slack_sdk's sync and async clients send them) and answers back. ``/_fake/`` is
not Slack: it lets another process read the log and push envelopes (the subprocess mode).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from governor.fake_slack import files, webhooks
from governor.fake_slack.response_urls import ResponseUrls
from governor.fake_slack.socket_mode import NoConnection, SocketModeServer
from governor.fake_slack.web_api import UNAVAILABLE_PAGE, Reply, WebApi

MAX_BODY = 64 * 1024 * 1024


def web_app(api: WebApi, socket: SocketModeServer, responses: ResponseUrls) -> web.Application:
    @web.middleware
    async def outage(request: web.Request, handler: Any) -> web.StreamResponse:
        mode = api.faults.down
        if mode == "refuse":
            # The port is closed; a connection kept alive from before is cut as well.
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=503)
        if mode is not None and not request.path.startswith(("/api/", "/_fake/")):
            return web.Response(status=503, text=UNAVAILABLE_PAGE, content_type="text/html")
        response: web.StreamResponse = await handler(request)
        return response

    async def api_method(request: web.Request) -> web.StreamResponse:
        params: dict[str, Any] = dict(request.query)
        body_error = None
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = json.loads(await request.text())
                except json.JSONDecodeError:
                    body, body_error = {}, "invalid_json"
                if isinstance(body, dict):
                    params.update(body)
                else:
                    body_error = "json_not_object"
            else:
                form = await request.post()
                params.update({k: v for k, v in form.items() if isinstance(v, str)})
        reply = api.call(
            request.match_info["method"],
            params,
            request.headers.get("Authorization"),
            body_error=body_error,
        )
        return _respond(reply)

    async def upload(request: web.Request) -> web.StreamResponse:
        if request.content_type == "multipart/form-data":
            content = await _first_file(request)
        else:
            content = await request.read()
        if not files.receive_upload(api.ctx, request.match_info["key"], content):
            return web.Response(status=404, text="file not found")
        return web.Response(text=f"OK - {len(content)}")

    async def response_url(request: web.Request) -> web.StreamResponse:
        try:
            body = json.loads(await request.text())
        except json.JSONDecodeError:
            return web.Response(status=400, text="invalid_payload")
        kind = request.path.split("/")[1]
        key, secret = request.match_info["key"], request.match_info["secret"]
        if not responses.receive(kind, key, secret, body):
            return web.Response(status=404, text="no_service")
        return web.Response(text="ok")

    async def control_log(_request: web.Request) -> web.StreamResponse:
        return web.json_response(api.ctx.log.snapshot())

    async def control_push(request: web.Request) -> web.StreamResponse:
        envelope = await request.json()
        try:
            number = await socket.push(envelope)
        except NoConnection as error:
            return web.json_response({"ok": False, "error": str(error)}, status=409)
        return web.json_response({"ok": True, "connection_id": number})

    app = web.Application(middlewares=[outage], client_max_size=MAX_BODY)
    app.router.add_route("*", "/api/{method}", api_method)
    app.router.add_post(files.UPLOAD_PATH + "{key}", upload)
    for kind in ("actions", "commands"):
        app.router.add_post(f"/{kind}/{{team}}/{{key}}/{{secret}}", response_url)
    app.router.add_post(webhooks.WEBHOOK_PATH, _webhook(api))
    app.router.add_get("/_fake/log", control_log)
    app.router.add_post("/_fake/push", control_push)
    return app


def _webhook(api: WebApi) -> Any:
    async def webhook(request: web.Request) -> web.StreamResponse:
        try:
            body = json.loads(await request.text())
        except json.JSONDecodeError:
            return web.Response(status=400, text="invalid_payload")
        status, text = webhooks.receive(api.ctx, request.match_info["secret"], body)
        return web.Response(status=status, text=text)

    return webhook


def socket_app(socket: SocketModeServer) -> web.Application:
    app = web.Application()
    app.router.add_get("/link/", socket.handle)
    app.router.add_get("/link", socket.handle)
    return app


async def _first_file(request: web.Request) -> bytes:
    form = await request.post()
    for value in form.values():
        if isinstance(value, web.FileField):
            return value.file.read()
    return b""


def _respond(reply: Reply) -> web.StreamResponse:
    if isinstance(reply.body, str):
        return web.Response(
            status=reply.status, text=reply.body, content_type="text/html", headers=reply.headers
        )
    return web.json_response(reply.body, status=reply.status, headers=reply.headers)
