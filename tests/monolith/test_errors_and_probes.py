"""The error shape, request ids, structured logs and the health/readiness probes."""

import json
import logging

import pytest

from monolith.app import create_app
from monolith.config import MonolithConfig
from monolith.requestlog import request_id_from

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_unknown_path_is_a_json_404_with_a_request_id(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    error = response.get_json()["error"]
    assert error["code"] == "not_found" and error["details"] == []
    assert error["request_id"] == response.headers["X-Request-ID"]


def test_wrong_method_is_a_json_405_naming_the_allowed_ones(client):
    response = client.delete("/api/orders")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_non_json_body_is_a_400_saying_so(client):
    response = client.post(
        "/api/customers", data="name=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_json"


def test_unexpected_error_is_a_500_without_traceback(app):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert json.loads(body)["error"]["code"] == "internal_error"
    assert "secret" not in body and "Traceback" not in body


def test_incoming_request_id_is_honoured_and_returned(client):
    response = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"


def test_request_id_falls_back_to_the_traceparent_trace_id(client):
    headers = {"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}
    response = client.get("/api/customers/999", headers=headers)
    assert response.headers["X-Request-ID"] == TRACE_ID
    assert response.get_json()["error"]["request_id"] == TRACE_ID


def test_garbage_request_ids_are_replaced_by_a_generated_one():
    generated = request_id_from(
        {"X-Request-ID": "has spaces\n", "traceparent": "00-" + "0" * 32 + "-1-01"}
    )
    assert len(generated) == 32 and generated != "0" * 32
    assert request_id_from({}) != request_id_from({})


def test_each_request_logs_one_json_line(app, caplog):
    with caplog.at_level(logging.INFO, logger="monolith.request"):
        logging.getLogger("monolith").addHandler(caplog.handler)
        try:
            app.test_client().get("/health", headers={"X-Request-ID": "log-me"})
        finally:
            logging.getLogger("monolith").removeHandler(caplog.handler)
    record = next(r for r in caplog.records if getattr(r, "request_id", None) == "log-me")
    assert (record.method, record.path, record.status) == ("GET", "/health", 200)
    assert record.duration_ms >= 0
    from monolith.requestlog import JsonFormatter

    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "log-me" and line["status"] == 200


def test_health_and_ready_answer_when_the_database_is_up(client):
    assert client.get("/health").get_json() == {"status": "ok"}
    assert client.get("/ready").get_json()["status"] == "ready"


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////nonexistent-dir/for/sure/shopco.db",
        "postgresql+psycopg2://nobody@127.0.0.1:1/shopco",
    ],
)
def test_ready_fails_with_503_when_the_database_is_unreachable(url):
    app = create_app(MonolithConfig(database_url=url, log_level="ERROR"))
    client = app.test_client()
    assert client.get("/health").status_code == 200
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "not_ready"
    down = client.get("/api/customers")
    assert down.status_code == 503 and down.get_json()["error"]["code"] == "database_unavailable"
