"""A small FHIR R4 server on 127.0.0.1 that plays a partner in tests.

It takes transaction Bundles (validated with fhir.resources R4B), honours `ifNoneExist` on
`identifier=system|value`, stores what it creates, serves `GET Task/<id>`, takes
`PUT Task/<id>` (validated, with `If-Match` on the version: 412 when stale), and lets the test
move a Task the way the partner's staff would. Enough of FHIR for the connector, no more.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.task import Task
from pydantic import ValidationError

from tests.support.servers import serve_forever

FHIR_JSON = "application/fhir+json"


class FhirServer:
    """`with FhirServer() as fhir: httpx.post(fhir.base_url, json=bundle)`."""

    def __init__(self) -> None:
        self.bundles: list[dict[str, Any]] = []  # every Bundle received, valid or not
        self.invalid: list[dict[str, Any]] = []  # the ones refused with 400
        self.resources: dict[str, dict[str, dict[str, Any]]] = {}  # type -> id -> resource
        self.duplicates: Counter[str] = Counter()  # type -> creates dropped by ifNoneExist
        self.authorization: list[str | None] = []  # Authorization header of each request
        self.audit_checkpoints: list[str | None] = []  # Hub-Audit-Checkpoint of each POST
        self.updates: list[dict[str, Any]] = []  # every PUT body taken (valid, current version)
        self.if_match: list[str | None] = []  # If-Match of each PUT
        self.conflicts = 0  # the next PUTs answered 412, as if the Task changed meanwhile
        self._lock = threading.Lock()
        self._down = False
        self._next_id = 0
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=serve_forever, args=(self._httpd,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/fhir"

    @property
    def tasks(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return dict(self.resources.get("Task", {}))

    def __enter__(self) -> FhirServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def down(self) -> None:
        with self._lock:
            self._down = True

    def up(self) -> None:
        with self._lock:
            self._down = False

    def set_task_status(
        self,
        task_id: str,
        status: str,
        reason: str | None = None,
        *,
        reason_coding: dict[str, str] | None = None,
        output: list[dict[str, Any]] | None = None,
    ) -> None:
        """Move a Task as the partner would (KeyError for an unknown one): its statusReason
        in words and/or coded, its outputs."""
        with self._lock:
            task = self.resources["Task"][task_id]
            task["status"] = status
            task.pop("statusReason", None)
            if reason is not None or reason_coding is not None:
                task["statusReason"] = {}
                if reason_coding is not None:
                    task["statusReason"]["coding"] = [reason_coding]
                if reason is not None:
                    task["statusReason"]["text"] = reason
            if output is not None:
                task["output"] = output
            version = int(task["meta"]["versionId"]) + 1
            task["meta"] = {"versionId": str(version)}

    # --- request handling (called from the server's threads) ---

    def _is_down(self, authorization: str | None) -> bool:
        with self._lock:
            self.authorization.append(authorization)
            return self._down

    def _transaction(self, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            raw = json.loads(body)
        except ValueError:
            return 400, _outcome("invalid", "Body is not JSON")
        with self._lock:
            self.bundles.append(raw)
            try:
                bundle = Bundle.model_validate(raw)
            except ValidationError as exc:
                self.invalid.append(raw)
                return 400, _outcome("structure", str(exc))
            creates = all(
                # a bare {} parses as the abstract Resource: no type to create
                e.resource is not None
                and e.resource.get_resource_type() != "Resource"
                and e.request is not None
                and e.request.method == "POST"
                for e in bundle.entry or []
            )
            if bundle.type != "transaction" or not creates:
                self.invalid.append(raw)
                return 400, _outcome("not-supported", "Only transactions of creates are taken")
            return 200, self._apply(raw)

    def _apply(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Create each entry (or find it by ifNoneExist), then resolve urn:uuid references."""
        local: dict[str, str] = {}  # fullUrl -> Type/id
        responses, created = [], []
        for entry in raw.get("entry", []):
            resource = json.loads(json.dumps(entry["resource"]))
            kind = resource["resourceType"]
            existing = self._find(kind, entry.get("request", {}).get("ifNoneExist"))
            if existing is not None:
                self.duplicates[kind] += 1
                resource_id, status = existing, "200 OK"
            else:
                self._next_id += 1
                resource_id, status = str(self._next_id), "201 Created"
                resource["id"] = resource_id
                resource["meta"] = {"versionId": "1"}
                self.resources.setdefault(kind, {})[resource_id] = resource
                created.append(resource)
            if "fullUrl" in entry:
                local[entry["fullUrl"]] = f"{kind}/{resource_id}"
            version = self.resources[kind][resource_id]["meta"]["versionId"]
            responses.append(
                {
                    "response": {
                        "status": status,
                        "location": f"{kind}/{resource_id}/_history/{version}",
                    }
                }
            )
        for resource in created:
            _resolve(resource, local)
        return {"resourceType": "Bundle", "type": "transaction-response", "entry": responses}

    def _find(self, kind: str, if_none_exist: str | None) -> str | None:
        if not if_none_exist:
            return None
        wanted = parse_qs(if_none_exist).get("identifier", [""])[0]
        system, _, value = wanted.partition("|")
        for resource_id, resource in self.resources.get(kind, {}).items():
            for ident in resource.get("identifier", []):
                if ident.get("system") == system and ident.get("value") == value:
                    return resource_id
        return None

    def _update(
        self, kind: str, resource_id: str, body: bytes, if_match: str | None
    ) -> tuple[int, dict[str, Any]]:
        """An update (PUT) of a stored Task, validated; a stale `If-Match` is 412."""
        try:
            raw = json.loads(body)
            resource = Task.model_validate(raw)
        except (ValueError, ValidationError):
            return 400, _outcome("structure", "Not a valid Task")
        with self._lock:
            self.if_match.append(if_match)
            stored = self.resources.get(kind, {}).get(resource_id)
            if kind != "Task" or stored is None:
                return 404, _outcome("not-found", "No such resource")
            if raw.get("id") != resource_id or resource.status is None:
                return 400, _outcome("invalid", "The id is not the one in the URL")
            version = stored["meta"]["versionId"]
            if self.conflicts > 0:
                self.conflicts -= 1
                return 412, _outcome("conflict", "The resource changed")
            if if_match is not None and if_match != f'W/"{version}"':
                return 412, _outcome("conflict", "The resource changed")
            raw["meta"] = {"versionId": str(int(version) + 1)}
            self.resources[kind][resource_id] = raw
            self.updates.append(json.loads(json.dumps(raw)))
            return 200, json.loads(json.dumps(raw))

    def _read(self, kind: str, resource_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self.resources.get(kind, {}).get(resource_id)
            return json.loads(json.dumps(found)) if found is not None else None


def _resolve(node: Any, local: dict[str, str]) -> None:
    """Rewrite references to the Bundle's `urn:uuid:` names into `Type/id`."""
    if isinstance(node, dict):
        ref = node.get("reference")
        if isinstance(ref, str) and ref in local:
            node["reference"] = local[ref]
        for value in node.values():
            _resolve(value, local)
    elif isinstance(node, list):
        for value in node:
            _resolve(value, local)


def _outcome(code: str, diagnostics: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}],
    }


def _handler_for(server: FhirServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            server.audit_checkpoints.append(self.headers.get("Hub-Audit-Checkpoint"))
            if self._refused():
                return
            if self.path.rstrip("/") != "/fhir":
                self._send(404, _outcome("not-found", "Unknown endpoint"))
                return
            self._send(*server._transaction(body))

        def do_GET(self) -> None:
            if self._refused():
                return
            parts = self.path.strip("/").split("/")
            found = None
            if len(parts) == 3 and parts[0] == "fhir":
                found = server._read(parts[1], parts[2])
            if found is None:
                self._send(404, _outcome("not-found", "No such resource"))
            else:
                self._send(200, found)

        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self._refused():
                return
            parts = self.path.strip("/").split("/")
            if len(parts) != 3 or parts[0] != "fhir":
                self._send(404, _outcome("not-found", "Unknown endpoint"))
                return
            self._send(*server._update(parts[1], parts[2], body, self.headers.get("If-Match")))

        def _refused(self) -> bool:
            if server._is_down(self.headers.get("Authorization")):
                self._send(503, _outcome("transient", "Down for maintenance"))
                return True
            return False

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", FHIR_JSON)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler
