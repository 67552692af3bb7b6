"""Review page server over plain HTTP on 127.0.0.1: token, Host and Origin checks, and stored decisions."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from shochu.config import ReviewConfig
from shochu.review.decisions import DECISIONS_FILE, append_decisions
from shochu.review.sample import ensure_sample, review_dir
from shochu.review.server import TOKEN_HEADER, ReviewServer
from shochu.workspace import Workspace


@pytest.fixture
def server(review_workspace: Path) -> Iterator[ReviewServer]:
    review = ReviewConfig(sample_size=10, port=0)
    sample = ensure_sample(Workspace(review_workspace), review, run_seed=0)
    with ReviewServer(review_workspace, sample, review) as running:
        yield running


def _request(server: ReviewServer, path: str, body: object = None, headers: dict[str, str] | None = None,
             content_type: str = "application/json") -> tuple[int, dict[str, str], bytes]:
    data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}{path}", data=data,
                                     method="GET" if data is None else "POST")
    if data is not None:
        request.add_header("Content-Type", content_type)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _decisions_text(server: ReviewServer) -> str:
    return server.decisions_path.read_text(encoding="utf-8") if server.decisions_path.exists() else ""


def test_page_needs_token(server: ReviewServer) -> None:
    status, _, body = _request(server, "/")
    assert status == 403
    assert b"shochu review" in body
    assert _request(server, "/?token=wrong")[0] == 403

    status, headers, body = _request(server, f"/?token={server.token}")

    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert f'<meta name="review-token" content="{server.token}">' in body.decode()
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "connect-src 'self'" in policy
    # No resource outside the page itself: no external scripts, styles or fonts.
    assert "http://" not in body.decode()
    assert "https://" not in body.decode()


def test_state_needs_token(server: ReviewServer) -> None:
    assert _request(server, "/api/state")[0] == 403

    status, _, body = _request(server, "/api/state", headers={TOKEN_HEADER: server.token})

    state = json.loads(body)
    assert status == 200
    assert [card["id"] for card in state["cards"]] == [card["id"] for card in server.sample]
    assert state["decisions"] == {}
    assert state["summary"]["overall"]["sampled"] == len(server.sample)


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1:1", "127.0.0.1.nip.io", "192.168.1.5"])
def test_foreign_host_rejected(server: ReviewServer, host: str) -> None:
    headers = {"Host": host if ":" in host else f"{host}:{server.port}", TOKEN_HEADER: server.token}

    page = _request(server, f"/?token={server.token}", headers={"Host": headers["Host"]})
    post = _request(server, "/api/decisions", {"id": server.sample[0]["id"], "decision": "accept"}, headers)

    assert page[0] == 403
    assert post[0] == 403
    assert b"Host header" in post[2]
    assert _decisions_text(server) == ""


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST"])
def test_loopback_host_names_allowed(server: ReviewServer, host: str) -> None:
    status, _, _ = _request(server, "/api/state", headers={"Host": f"{host}:{server.port}", TOKEN_HEADER: server.token})

    assert status == 200


def test_post_needs_token(server: ReviewServer) -> None:
    decision = {"id": server.sample[0]["id"], "decision": "accept"}

    missing = _request(server, "/api/decisions", decision)
    wrong = _request(server, "/api/decisions", decision, {TOKEN_HEADER: server.token[:-1] + "x"})

    assert missing[0] == 403
    assert wrong[0] == 403
    assert TOKEN_HEADER.encode() in missing[2]
    assert _decisions_text(server) == ""


def test_post_rejects_other_origin(server: ReviewServer) -> None:
    decision = {"id": server.sample[0]["id"], "decision": "accept"}
    headers = {TOKEN_HEADER: server.token, "Origin": "http://evil.example"}

    status, _, body = _request(server, "/api/decisions", decision, headers)

    assert status == 403
    assert b"origin" in body
    assert _decisions_text(server) == ""


def test_post_needs_json(server: ReviewServer) -> None:
    body = json.dumps({"id": server.sample[0]["id"], "decision": "accept"}).encode()

    form = _request(server, "/api/decisions", body, {TOKEN_HEADER: server.token}, content_type="text/plain")
    broken = _request(server, "/api/decisions", b"{not json", {TOKEN_HEADER: server.token})

    assert form[0] == 415
    assert broken[0] == 400
    assert _decisions_text(server) == ""


def test_post_invalid_decision(server: ReviewServer) -> None:
    status, _, body = _request(server, "/api/decisions", {"id": server.sample[0]["id"], "decision": "reject"},
                               {TOKEN_HEADER: server.token})

    assert status == 400
    assert json.loads(body)["problems"] == [
        "reason: required when the decision is reject; say what is wrong with the example"]
    assert _decisions_text(server) == ""


def test_post_stores_decision(server: ReviewServer) -> None:
    card = server.sample[0]
    headers = {TOKEN_HEADER: server.token, "Origin": f"http://127.0.0.1:{server.port}"}

    status, _, body = _request(server, "/api/decisions",
                               {"id": card["id"], "decision": "edit", "response": "修正した回答", "reason": "typo",
                                "stratum": "forged/xx"}, headers)

    reply = json.loads(body)
    assert status == 200
    assert reply["saved"]["stratum"] == card["stratum"]
    assert reply["summary"]["overall"]["edited"] == 1
    lines = _decisions_text(server).splitlines()
    assert len(lines) == 1
    stored = json.loads(lines[0])
    assert {key: stored[key] for key in ("id", "decision", "reason", "response", "stratum")} == {
        "id": card["id"], "decision": "edit", "reason": "typo", "response": "修正した回答", "stratum": card["stratum"]}
    assert server.decisions_path == review_dir(server.decisions_path.parents[1]) / DECISIONS_FILE


def test_decisions_survive_restart(review_workspace: Path) -> None:
    review = ReviewConfig(sample_size=10, port=0)
    sample = ensure_sample(Workspace(review_workspace), review, run_seed=0)
    with ReviewServer(review_workspace, sample, review) as first:
        _request(first, "/api/decisions", {"id": sample[1]["id"], "decision": "accept"}, {TOKEN_HEADER: first.token})

    restarted_sample = ensure_sample(Workspace(review_workspace), review, run_seed=0)
    with ReviewServer(review_workspace, restarted_sample, review) as second:
        _, _, body = _request(second, "/api/state", headers={TOKEN_HEADER: second.token})

    assert second.token != first.token
    assert restarted_sample == sample
    assert json.loads(body)["decisions"][sample[1]["id"]]["decision"] == "accept"


def test_busy_port_named(server: ReviewServer, review_workspace: Path) -> None:
    with pytest.raises(OSError, match=rf"cannot listen on 127.0.0.1:{server.port}.*--port 0"):
        ReviewServer(review_workspace, server.sample, server.review, port=server.port)


def test_state_shows_imported_decisions(server: ReviewServer) -> None:
    card = server.sample[2]
    # What `shochu review --import` appends from another process while the page is open.
    append_decisions(server.decisions_path, [{"id": card["id"], "decision": "reject", "reason": "imported",
                                              "stratum": card["stratum"], "decided_at": "2026-12-04T00:00:00+00:00"}])

    _, _, body = _request(server, "/api/state", headers={TOKEN_HEADER: server.token})

    state = json.loads(body)
    assert state["decisions"][card["id"]]["reason"] == "imported"
    assert state["summary"]["overall"]["rejected"] == 1
