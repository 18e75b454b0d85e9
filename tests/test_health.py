"""GET /healthz: no login, no personal data, 503 when the daemon stopped beating."""
from __future__ import annotations

import json
from datetime import timedelta

from inbox.models import Heartbeat, utcnow
from inbox.run.daemon import Daemon
from inbox.run.health import beat, heartbeat_interval
from inbox.setup.runtime import Runtime
from inbox.web.app import create_app
from tests.web_helpers import make_case

NIK = "3329014503900003"


def get(rt: Runtime):
    response = create_app(rt, testing=True).test_client().get("/healthz")
    return response.status_code, json.loads(response.get_data(as_text=True)), response


def test_healthz_is_503_without_a_daemon_and_200_while_it_beats(rt: Runtime) -> None:
    make_case(rt, 1, text=f"NIK saya {NIK}, KTP belum jadi")
    code, body, response = get(rt)
    assert code == 503 and body["status"] == "fail" and body["daemon"]["last_heartbeat_age_seconds"] is None
    assert response.headers["Content-Type"] == "application/json"

    Daemon(rt, worker_id="host:1:abc").schedule_jobs()  # the first beat is written at start
    assert Heartbeat.get().interval_seconds == heartbeat_interval(rt) == 10
    code, body, response = get(rt)
    assert code == 200 and body["status"] == "ok" and body["database"] == "ok"
    assert body["daemon"]["last_heartbeat_age_seconds"] <= 2
    assert body["backup"] == {"status": "warn", "last_good_age_seconds": None, "last_failed": False}
    text = response.get_data(as_text=True)
    # no personal data and no counts of cases
    assert NIK not in text and "warga1" not in text and "case" not in text and "host:1" not in text
    assert set(body) == {"status", "database", "daemon", "backup"}


def test_healthz_is_503_after_three_missed_beats(rt: Runtime) -> None:
    beat("w1", 10, now=utcnow() - timedelta(seconds=29))
    assert get(rt)[0] == 200
    beat("w1", 10, now=utcnow() - timedelta(seconds=32))
    code, body, _ = get(rt)
    assert code == 503 and body["daemon"]["status"] == "fail"
    assert body["daemon"]["last_heartbeat_age_seconds"] >= 32
    beat("w2", 10)  # another worker that is alive keeps the office healthy
    assert get(rt)[0] == 200


def test_healthz_is_503_when_the_database_cannot_be_read(rt: Runtime) -> None:
    beat("w1", 10)
    app = create_app(rt, testing=True)
    rt.db.execute_sql('DROP TABLE heartbeat')
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert json.loads(response.get_data(as_text=True))["database"] == "fail"
