"""RFC 9457 problem documents: every error the API returns, each with a stable `code`.

A problem is raised by services that the CLI and the worker run too, so this module imports
no web framework: how a problem becomes an HTTP answer is `hub.api.problem_handlers`.
"""

from __future__ import annotations

from typing import Any

PROBLEM_TYPE_BASE = "https://referral-hub.org/problems/"
MEDIA_TYPE = "application/problem+json"


class Problem(Exception):
    """An error meant for the client. `extra` members join the document (e.g. `reasons`)."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(title)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra

    def document(self, instance: str | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "code": self.code,
        }
        if self.detail:
            doc["detail"] = self.detail
        if instance:
            doc["instance"] = instance
        doc.update(self.extra)
        return doc


class NotFound(Problem):
    def __init__(self, what: str = "resource") -> None:
        super().__init__(404, "not_found", f"{what.capitalize()} not found")


class Conflict(Problem):
    def __init__(self, code: str, title: str, detail: str | None = None, **extra: Any) -> None:
        super().__init__(409, code, title, detail, **extra)


class Unprocessable(Problem):
    def __init__(self, code: str, title: str, detail: str | None = None, **extra: Any) -> None:
        super().__init__(422, code, title, detail, **extra)
