"""An in-memory Airflow 3.1 backfill API (``/api/v2``) on :class:`httpx.MockTransport`.

It follows ``airflow/api_fastapi/core_api/routes/public/backfills.py`` of 3.1.8: one running
(not completed) backfill per DAG, else 409; cancel pauses the backfill, fails its queued runs and
completes it, or answers 409 when it already completed; lists cap ``limit`` at 100.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import httpx

MAX_PAGE = 100  # Airflow's [api] maximum_page_limit
NOW = "2026-12-03T10:11:12.345678Z"


class FakeAirflow:
    def __init__(self, *, paused: bool = True, run_state: str = "queued") -> None:
        self.backfills: list[dict[str, Any]] = []
        self.runs: list[dict[str, Any]] = []
        self.paused = {"insights": paused}
        self.pause_history: list[bool] = []  # every PATCH of is_paused
        self.run_state = run_state  # state of the runs a new backfill creates
        self.fail_create: httpx.Response | None = None
        self.calls: list[tuple[str, str, dict[str, str]]] = []

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url="http://airflow/api/v2", transport=self.transport())

    def add(
        self, dag_id: str, first: date, days: int, *, completed: bool = False, paused: bool = False
    ) -> int:
        """A backfill with one run per day (``run_state``), as Airflow's create leaves it."""
        ident = len(self.backfills) + 1
        self.backfills.append(
            {
                "id": ident,
                "dag_id": dag_id,
                "from_date": f"{first.isoformat()}T00:00:00Z",
                "to_date": f"{(first + timedelta(days=days - 1)).isoformat()}T00:00:00Z",
                "dag_run_conf": {},
                "is_paused": paused,
                "reprocess_behavior": "completed",
                "max_active_runs": 2,
                "created_at": NOW,
                "completed_at": NOW if completed else None,
                "updated_at": NOW,
                "dag_display_name": dag_id,
            }
        )
        for i in range(days):
            day = (first + timedelta(days=i)).isoformat()
            self.runs = [
                r for r in self.runs if not (r["dag_id"] == dag_id and r["logical_date"][:10] == day)
            ]
            self.runs.append(
                {
                    "dag_id": dag_id,
                    "logical_date": f"{day}T00:00:00Z",
                    "run_type": "backfill",
                    "state": self.run_state,
                    "backfill_id": ident,
                }
            )
        return ident

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v2")
        params = dict(request.url.params)
        self.calls.append((request.method, path, params))
        parts = path.strip("/").split("/")
        match request.method, parts:
            case "GET", ["backfills"]:
                return self._list(params)
            case "POST", ["backfills"]:
                return self._create(json.loads(request.content))
            case "GET", ["backfills", ident]:
                found = self._find(int(ident))
                return httpx.Response(200, json=found) if found else self._detail(404, "Backfill not found")
            case "PUT", ["backfills", ident, "cancel"]:
                return self._cancel(int(ident))
            case "GET", ["dags", dag_id, "dagRuns"]:
                return self._dag_runs(dag_id, request.url.params)
            case "GET", ["dags", dag_id]:
                return httpx.Response(200, json={"dag_id": dag_id, "is_paused": self.paused[dag_id]})
            case "PATCH", ["dags", dag_id]:
                self.paused[dag_id] = bool(json.loads(request.content)["is_paused"])
                self.pause_history.append(self.paused[dag_id])
                return httpx.Response(200, json={"dag_id": dag_id, "is_paused": self.paused[dag_id]})
        return self._detail(404, "Not Found")

    @staticmethod
    def _detail(status: int, detail: Any) -> httpx.Response:
        return httpx.Response(status, json={"detail": detail})

    def _find(self, ident: int) -> dict[str, Any] | None:
        return next((b for b in self.backfills if b["id"] == ident), None)

    def _list(self, params: dict[str, str]) -> httpx.Response:
        if "dag_id" not in params:
            return self._detail(422, [{"loc": ["query", "dag_id"], "msg": "Field required"}])
        found = [b for b in self.backfills if b["dag_id"] == params["dag_id"]]
        found.sort(key=lambda b: b["id"], reverse=params.get("order_by") == "-id")
        offset, limit = int(params.get("offset", 0)), min(int(params.get("limit", 50)), MAX_PAGE)
        return httpx.Response(
            200, json={"backfills": found[offset : offset + limit], "total_entries": len(found)}
        )

    def _create(self, body: dict[str, Any]) -> httpx.Response:
        if self.fail_create is not None:
            return self.fail_create
        dag_id = body["dag_id"]
        if any(b["dag_id"] == dag_id and b["completed_at"] is None for b in self.backfills):
            return self._detail(409, f"There is already a running backfill for dag {dag_id}")
        first, last = date.fromisoformat(body["from_date"][:10]), date.fromisoformat(body["to_date"][:10])
        ident = self.add(
            dag_id, first, (last - first).days + 1, completed=self.run_state in {"success", "failed"}
        )
        return httpx.Response(200, json=self._find(ident))

    def _cancel(self, ident: int) -> httpx.Response:
        backfill = self._find(ident)
        if backfill is None:
            return self._detail(404, f"Could not find backfill with id {ident}")
        if backfill["completed_at"] is not None:
            return self._detail(409, "Backfill is already completed.")
        backfill["is_paused"] = True
        for run in self.runs:
            if run["backfill_id"] == ident and run["state"] == "queued":
                run["state"] = "failed"
        backfill["completed_at"] = NOW
        return httpx.Response(200, json=backfill)

    def _dag_runs(self, dag_id: str, params: httpx.QueryParams) -> httpx.Response:
        runs = [r for r in self.runs if r["dag_id"] == dag_id]
        if "run_type" in params:
            runs = [r for r in runs if r["run_type"] in params.get_list("run_type")]
        if "state" in params:
            runs = [r for r in runs if r["state"] in params.get_list("state")]
        if "logical_date_gte" in params:
            runs = [r for r in runs if r["logical_date"] >= params["logical_date_gte"]]
        if "logical_date_lte" in params:
            runs = [r for r in runs if r["logical_date"] <= params["logical_date_lte"]]
        offset, limit = int(params.get("offset", 0)), min(int(params.get("limit", 50)), MAX_PAGE)
        page = [{k: v for k, v in r.items() if k != "backfill_id"} for r in runs[offset : offset + limit]]
        return httpx.Response(200, json={"dag_runs": page, "total_entries": len(runs)})
