"""Nobody learns which emails have accounts: registering a taken email takes as long as a new
one, and inviting a member answers the same whether the email is registered or not."""

from __future__ import annotations

import statistics
import time
import uuid

from tests.core.helpers import assert_error

PASSWORD = "correct horse battery"
# Costs at which argon2 (tens of milliseconds) outweighs the rest of a request, as in production.
SLOW_HASHING = {"argon2_time_cost": 2, "argon2_memory_kib": 16384}


def _timed_register(client, email: str) -> tuple[int, float]:
    started = time.perf_counter()
    response = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    return response.status_code, time.perf_counter() - started


def test_registering_a_taken_email_takes_as_long_as_a_new_one(make_app):
    client = make_app(**SLOW_HASHING).test_client()
    taken = "taken@example.com"
    assert _timed_register(client, taken)[0] == 201
    new_times, taken_times = [], []
    for _ in range(7):  # interleaved, so that a busy machine slows both alike
        status, seconds = _timed_register(client, f"new-{uuid.uuid4().hex[:8]}@example.com")
        assert status == 201
        new_times.append(seconds)
        status, seconds = _timed_register(client, taken)
        assert status == 409
        taken_times.append(seconds)
    ratio = statistics.median(taken_times) / statistics.median(new_times)
    assert 0.5 < ratio < 2, (taken_times, new_times)


def test_a_taken_email_changes_nothing(client, api):
    user = api.register("ada@example.com", name="Ada")
    response = client.post(
        "/api/v1/auth/register",
        json={"email": "ADA@example.com", "password": "another password", "name": "Eve"},
    )
    assert_error(response, 409, "CONFLICT")
    assert api.login("ada@example.com", user["password"])["access_token"]


def test_inviting_answers_the_same_whether_the_email_is_registered_or_not(api, client, owner):
    project = api.project(owner)
    registered = api.register(name="Bob Secretname")
    answers = [
        client.post(
            f"/api/v1/projects/{project['id']}/members",
            json={"email": email, "role": "viewer"},
            headers=owner,
        )
        for email in (registered["email"], f"nobody-{uuid.uuid4().hex[:8]}@example.com")
    ]
    assert [answer.status_code for answer in answers] == [201, 201]
    known, unknown = (answer.get_json() for answer in answers)
    assert set(known) == set(unknown) == {"id", "email", "role", "status", "created_at"}
    assert known["status"] == unknown["status"] == "pending"
    assert known["role"] == unknown["role"] == "viewer"
    body = answers[0].get_data(as_text=True)
    assert "Secretname" not in body and registered["id"] not in body
    assert sorted(answers[0].headers.keys()) == sorted(answers[1].headers.keys())
    # and the project's member list does not tell either, until the person logs in
    members = client.get(f"/api/v1/projects/{project['id']}/members", headers=owner).get_json()
    assert len(members) == 1
    invitations = client.get(
        f"/api/v1/projects/{project['id']}/invitations", headers=owner
    ).get_json()
    assert {i["email"] for i in invitations} == {known["email"], unknown["email"]}
