"""JSON answers through orjson: the values Flask's own provider wrote, written the same way."""

from __future__ import annotations

import datetime
import json
import uuid
from decimal import Decimal

from flask import jsonify

from core.app import create_app
from core.config import load_settings


def test_answers_keep_flasks_values_and_the_keys_order(tmp_path):
    app = create_app(
        load_settings({"NEBULO_ENV": "testing", "NEBULO_INSTANCE_PATH": str(tmp_path)})
    )
    identifier = uuid.uuid4()
    value = {
        "zeta": 1,
        "alpha": identifier,
        "when": datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC),
        "amount": Decimal("12.50"),
        "text": "Café",
    }
    with app.test_request_context():
        body = jsonify(value).get_data()
        # orjson refuses integers past 64 bits: the stdlib writes that answer instead
        nested = jsonify({"rows": [value], "big": 2**70}).get_data()
    assert json.loads(body) == {
        "zeta": 1,
        "alpha": str(identifier),
        "when": "Mon, 30 Nov 2026 12:00:00 GMT",
        "amount": "12.50",
        "text": "Café",
    }
    assert list(json.loads(body)) == ["zeta", "alpha", "when", "amount", "text"]
    assert json.loads(nested) == {"rows": [json.loads(body)], "big": 2**70}
