"""Concurrent writes of one customer's memberships: overlapping periods never both get in."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.plugins.memberships.conftest import day

THREADS = 6


def test_concurrent_overlapping_memberships_make_one(club, app):
    ana = club.customer("Ana")
    bodies = [
        {
            "customer_id": ana,
            "start_period": day(index),
            "end_period": day(index + 30),
            "tier": "gold",
        }
        for index in range(THREADS)
    ]

    def post(body):
        return app.test_client().post(club.url, json=body, headers=club.owner)

    with ThreadPoolExecutor(THREADS) as pool:
        responses = list(pool.map(post, bodies))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * (THREADS - 1), [r.get_json() for r in responses]
    listed = club.client.get(f"{club.url}?customer_id={ana}", headers=club.owner).get_json()
    assert len(listed) == 1
