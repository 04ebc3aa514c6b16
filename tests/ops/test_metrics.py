"""/metrics: Prometheus text, bounded labels, outbox rows by status counted at scrape time."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from hub.outbox.models import OutboxMessage
from hub.runtime import Runtime
from tests.support.probe import probe_client


def _samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                out[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def _labels(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def test_requests_are_counted_under_their_route_template(runtime: Runtime) -> None:
    client = probe_client(runtime)
    for item_id in ("a1", "b2", "c3"):
        assert client.post(f"/_probe/items/{item_id}", json={"count": 1, "name": "n"}).is_success
    client.post("/_probe/items/d4", json={"count": "many", "name": "n"})
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    counts = _samples(response.text, "hub_http_requests_total")
    route = "/_probe/items/{item_id}"
    assert counts[_labels(method="POST", route=route, status="200")] == 3
    assert counts[_labels(method="POST", route=route, status="422")] == 1
    latency = _samples(response.text, "hub_http_request_duration_seconds_count")
    assert latency[_labels(method="POST", route=route, status="200")] == 3
    for raw in ("a1", "b2", "c3", "d4"):
        assert f"/_probe/items/{raw}" not in response.text


def test_unknown_paths_and_methods_share_bounded_labels(runtime: Runtime) -> None:
    client = probe_client(runtime)
    for n in range(3):
        client.get(f"/no/such/path/{n}")
    client.request("BREW", "/healthz")
    counts = _samples(client.get("/metrics").text, "hub_http_requests_total")
    assert counts[_labels(method="GET", route="<unmatched>", status="404")] == 3
    assert counts[_labels(method="OTHER", route="/healthz", status="405")] == 1
    assert not any("/no/such" in dict(k)["route"] for k in counts)


def test_each_app_has_its_own_registry(runtime: Runtime) -> None:
    first, second = probe_client(runtime), probe_client(runtime)
    first.get("/healthz")
    first.get("/healthz")
    second.get("/healthz")
    healthz = _labels(method="GET", route="/healthz", status="200")
    assert _samples(first.get("/metrics").text, "hub_http_requests_total")[healthz] == 2
    assert _samples(second.get("/metrics").text, "hub_http_requests_total")[healthz] == 1


def test_outbox_rows_are_counted_by_status_at_scrape_time(runtime: Runtime) -> None:
    client = probe_client(runtime)
    before = _samples(client.get("/metrics").text, "hub_outbox_messages")
    assert before[_labels(status="pending")] == 0
    with runtime.sessions.begin() as db:
        for status in ("pending", "pending", "dead"):
            db.add(OutboxMessage(topic="probe", payload={"id": "x"}, status=status))
    after = _samples(client.get("/metrics").text, "hub_outbox_messages")
    assert after[_labels(status="pending")] == 2
    assert after[_labels(status="dead")] == 1
    assert after[_labels(status="done")] == 0
