"""Local fake providers on 127.0.0.1 speaking the documented wire formats.

Each fake is a real HTTP server in a thread; the connectors' real client code talks to it
through the configurable base URLs. ``script`` queues canned answers (errors, 429s) that are
served before the normal behaviour resumes; ``requests`` records what the client sent.
"""

from __future__ import annotations

import base64
import itertools
import json
import socketserver
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


DROPPED = Answer(0, None)
"""Scripted to take a request and close the connection without answering."""


class FakeServer:
    """Base of the fakes: routes requests to :meth:`handle` unless an answer is scripted."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.scripted: list[Answer] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                return

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                recorded = Recorded(self.command, parts.path, query, dict(self.headers), body)
                with fake.lock:
                    fake.requests.append(recorded)
                    answer = fake.scripted.pop(0) if fake.scripted else None
                if answer is None:
                    answer = fake.handle(recorded)
                if answer is DROPPED:
                    self.close_connection = True
                    return
                raw_answer = isinstance(answer.body, bytes)
                payload = answer.body if raw_answer else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                if not raw_answer:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve  # noqa: N815 - http.server's naming

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def script(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.scripted.append(Answer(status, body, headers or {}))

    def drop_next_answer(self) -> None:
        """The next request is received (and recorded) but its answer is lost."""
        self.scripted.append(DROPPED)

    def handle(self, request: Recorded) -> Answer:
        raise NotImplementedError


class FakeShopify(FakeServer):
    """Admin REST API: orders.json with Link-header page_info cursors, orders/count.json."""

    API_VERSION = "2024-10"

    def __init__(self, access_token: str = "shpat_test_token") -> None:
        super().__init__()
        self.access_token = access_token
        self.orders: list[dict[str, Any]] = []

    def add_order(self, order_id: int, updated_at: str, **extra: Any) -> dict[str, Any]:
        order = {
            "id": order_id,
            "name": f"#{order_id}",
            "email": f"buyer{order_id}@example.com",
            "created_at": updated_at,
            "updated_at": updated_at,
            "total_price": "59.98",
            "currency": "USD",
            "financial_status": "paid",
            "fulfillment_status": None,
            "cancelled_at": None,
            "customer": {
                "id": 9000 + order_id,
                "first_name": "Buyer",
                "last_name": str(order_id),
                "email": f"buyer{order_id}@example.com",
                "phone": f"+1555000{order_id:04d}",
            },
            "line_items": [{"title": "Product A", "sku": "A-1", "quantity": 2, "price": "29.99"}],
            **extra,
        }
        self.orders.append(order)
        return order

    def _matching(self, updated_at_min: str | None) -> list[dict[str, Any]]:
        orders = sorted(self.orders, key=lambda o: (o["updated_at"], o["id"]))
        if updated_at_min:
            orders = [o for o in orders if o["updated_at"] >= updated_at_min]
        return orders

    def handle(self, request: Recorded) -> Answer:
        prefix = f"/admin/api/{self.API_VERSION}/"
        if request.headers.get("X-Shopify-Access-Token") != self.access_token:
            return Answer(401, {"errors": "[API] Invalid API key or access token"})
        resource = request.path.removeprefix(prefix)
        if resource == "orders/count.json":
            return Answer(200, {"count": len(self._matching(request.query.get("updated_at_min")))})
        if resource == "shop.json":
            return Answer(200, {"shop": {"name": "Fake Store"}})
        if resource != "orders.json":
            return Answer(404, {"errors": "Not Found"})
        if "page_info" in request.query:
            extra = set(request.query) - {"page_info", "limit"}
            if extra:
                return Answer(
                    400, {"errors": {"page_info": f"cannot be combined with {sorted(extra)}"}}
                )
            cursor = json.loads(base64.urlsafe_b64decode(request.query["page_info"]))
            updated_at_min, offset = cursor["updated_at_min"], cursor["offset"]
        else:
            updated_at_min, offset = request.query.get("updated_at_min"), 0
        limit = int(request.query.get("limit", 50))
        matching = self._matching(updated_at_min)
        page = matching[offset : offset + limit]
        headers = {}
        if offset + limit < len(matching):
            cursor = {"updated_at_min": updated_at_min, "offset": offset + limit}
            token = base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode()
            headers["Link"] = (
                f'<{self.url}{prefix}orders.json?limit={limit}&page_info={token}>; rel="next"'
            )
        return Answer(200, {"orders": page}, headers)


class FakeWhatsApp(FakeServer):
    """Graph API: POST /{phone_number_id}/messages (text or template), GET
    /{waba_id}/message_templates paged by ``after`` cursors with ``paging.next``, errors as
    {"error": {...}}."""

    TEMPLATE_PAGE = 2

    def __init__(
        self,
        phone_number_id: str = "106540352242922",
        access_token: str = "EAAG-test",
        business_account_id: str = "102290129340398",
    ) -> None:
        super().__init__()
        self.phone_number_id = phone_number_id
        self.access_token = access_token
        self.business_account_id = business_account_id
        self.ids = itertools.count(1)
        self.templates: list[dict[str, Any]] = []

    def add_template(
        self, name: str, components: list[dict[str, Any]], status: str = "APPROVED", **extra: Any
    ) -> dict[str, Any]:
        template = {
            "name": name,
            "components": components,
            "language": extra.pop("language", "en_US"),
            "status": status,
            "category": extra.pop("category", "UTILITY"),
            "id": str(5000000000 + len(self.templates)),
            **extra,
        }
        self.templates.append(template)
        return template

    @staticmethod
    def _cursor(offset: int) -> str:
        return base64.urlsafe_b64encode(str(offset).encode()).decode()

    def _templates(self, request: Recorded) -> Answer:
        after = request.query.get("after")
        offset = int(base64.urlsafe_b64decode(after)) if after else 0
        wanted = request.query.get("fields")
        page = self.templates[offset : offset + self.TEMPLATE_PAGE]
        if wanted:
            page = [{k: v for k, v in t.items() if k in wanted.split(",")} for t in page]
        body: dict[str, Any] = {"data": page}
        end = offset + len(page)
        if page:
            cursors = {"before": self._cursor(offset), "after": self._cursor(end)}
            body["paging"] = {"cursors": cursors}
            if end < len(self.templates):
                body["paging"]["next"] = (
                    f"{self.url}{request.path}?fields={wanted or ''}&limit="
                    f"{request.query.get('limit', 25)}&after={self._cursor(end)}"
                )
        return Answer(200, body)

    @staticmethod
    def error(message: str, code: int, kind: str = "OAuthException") -> dict[str, Any]:
        return {
            "error": {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEf123"}
        }

    MEDIA_BYTES = b"\xff\xd8\xff\xe0 fake jpeg"

    def handle(self, request: Recorded) -> Answer:
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            return Answer(401, self.error("Invalid OAuth access token.", 190))
        if request.path.startswith("/media-files/"):
            return Answer(200, self.MEDIA_BYTES, {"Content-Type": "image/jpeg"})
        media_id = request.path.strip("/")
        if media_id.isdigit() and media_id != self.phone_number_id:
            url = f"{self.url}/media-files/{media_id}"
            return Answer(200, {"url": url, "mime_type": "image/jpeg", "id": media_id})
        if request.path == f"/{self.business_account_id}/message_templates":
            return self._templates(request)
        if request.path == f"/{self.phone_number_id}" and request.method == "GET":
            return Answer(200, {"id": self.phone_number_id, "display_phone_number": "15550001111"})
        if request.path != f"/{self.phone_number_id}/messages" or request.method != "POST":
            return Answer(400, self.error("Unsupported post request.", 100, "GraphMethodException"))
        to = request.body["to"]
        message_id = f"wamid.HBgL{next(self.ids):06d}"
        return Answer(
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": message_id}],
            },
        )


class FakeTelegram(FakeServer):
    """Bot API: /bot<token>/sendMessage, getMe, setWebhook, getWebhookInfo and
    answerCallbackQuery; errors as {"ok": false, ...}."""

    def __init__(self, bot_token: str = "123456:ABC-test") -> None:
        super().__init__()
        self.bot_token = bot_token
        self.ids = itertools.count(100)
        self.webhook: dict[str, Any] = {"url": "", "pending_update_count": 0}

    FILE_BYTES = b"\xff\xd8\xff\xe0 fake telegram photo"

    def handle(self, request: Recorded) -> Answer:
        if request.path == f"/file/bot{self.bot_token}/photos/file_1.jpg":
            return Answer(200, self.FILE_BYTES, {"Content-Type": "image/jpeg"})
        if not request.path.startswith(f"/bot{self.bot_token}/"):
            return Answer(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        method = request.path.rsplit("/", 1)[-1]
        if method == "getFile":
            result = {"file_id": request.query["file_id"], "file_path": "photos/file_1.jpg"}
            return Answer(200, {"ok": True, "result": result})
        if method == "getMe":
            return Answer(
                200, {"ok": True, "result": {"id": 123456, "is_bot": True, "username": "fake_bot"}}
            )
        if method == "setWebhook":
            if not str(request.body.get("url", "")).startswith("https://"):
                return Answer(
                    400,
                    {
                        "ok": False,
                        "error_code": 400,
                        "description": "Bad Request: bad webhook: An HTTPS URL must be provided "
                        "for webhook",
                    },
                )
            self.webhook = {
                "url": request.body["url"],
                "has_custom_certificate": False,
                "pending_update_count": 0,
                "allowed_updates": request.body.get("allowed_updates"),
            }
            return Answer(200, {"ok": True, "result": True, "description": "Webhook was set"})
        if method == "getWebhookInfo":
            return Answer(200, {"ok": True, "result": self.webhook})
        if method == "answerCallbackQuery":
            return Answer(200, {"ok": True, "result": True})
        if method != "sendMessage":
            return Answer(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        chat = {"id": int(request.body["chat_id"]), "type": "private"}
        result = {
            "message_id": next(self.ids),
            "chat": chat,
            "date": 1736676000,
            "text": request.body["text"],
        }
        return Answer(200, {"ok": True, "result": result})


class Bystander(FakeServer):
    """A server on the internal network that must never be called: it records what reaches it
    and answers with a secret that must not show up anywhere."""

    SECRET = "internal-secret-7f3a"

    def handle(self, request: Recorded) -> Answer:
        return Answer(200, {"orders": [], "errors": self.SECRET})


class NotHttp:
    """A TCP server that answers every connection with one line that is not HTTP, as Redis
    does on 127.0.0.1:6379; ``connections`` counts who got through."""

    SECRET = "-ERR internal-secret-9c1d"

    def __init__(self) -> None:
        self.connections = 0
        fake = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                fake.connections += 1
                self.request.recv(65536)
                self.request.sendall(fake.SECRET.encode() + b"\r\n\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> NotHttp:
        self.thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
