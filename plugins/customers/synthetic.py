"""Generated bank-churn customers with a known signal: the demo, the tests and the benchmark
use them instead of downloading a dataset.

The churn probability follows a fixed non-linear rule (middle age, 3+ products, inactivity,
Germany and a positive balance raise it), so a good model must find ROC AUC well above 0.5.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

GEOGRAPHIES = ("France", "Germany", "Spain")
GENDERS = ("Female", "Male")
BANK_CHURN_COLUMNS = (
    "RowNumber",
    "CustomerId",
    "Surname",
    "CreditScore",
    "Geography",
    "Gender",
    "Age",
    "Tenure",
    "Balance",
    "NumOfProducts",
    "HasCrCard",
    "IsActiveMember",
    "EstimatedSalary",
    "Exited",
)
SURNAMES = ("Hargrave", "Hill", "Onio", "Boni", "Mitchell", "Chu", "Bartlett", "Obinna", "He", "Lu")
PRODUCT_EFFECT = np.array([0.0, 0.2, -1.4, 2.4, 3.5])


def churn_logit(
    age: np.ndarray,
    products: np.ndarray,
    active: np.ndarray,
    balance: np.ndarray,
    germany: np.ndarray,
    female: np.ndarray,
    credit_score: np.ndarray,
) -> np.ndarray:
    """The true log-odds of churning that the generated labels are drawn from."""
    middle_age = 4.2 * np.exp(-(((age - 54.0) / 10.0) ** 2))
    return (
        -2.9
        + middle_age
        + PRODUCT_EFFECT[products]
        - 2.0 * active
        + 0.7 * (balance > 0)
        + 1.2 * germany
        + 0.4 * female
        + 0.5 * (credit_score < 450)
    )


def generate_customers(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` customers in Nebulo's field names, labelled with ``churned``."""
    rng = np.random.default_rng(seed)
    age = np.clip(rng.normal(39, 10, count).round(), 18, 92).astype(int)
    tenure = rng.integers(0, 11, count)
    has_balance = rng.random(count) < 0.65
    balance = np.where(has_balance, rng.normal(120_000, 30_000, count).clip(1_000, 250_000), 0.0)
    products = rng.choice([1, 2, 3, 4], count, p=[0.5, 0.44, 0.045, 0.015])
    credit_card = rng.random(count) < 0.7
    active = rng.random(count) < 0.52
    salary = rng.uniform(1_000, 200_000, count)
    credit_score = np.clip(rng.normal(650, 95, count).round(), 350, 850).astype(int)
    geography = rng.choice(GEOGRAPHIES, count, p=[0.5, 0.25, 0.25])
    gender = rng.choice(GENDERS, count, p=[0.45, 0.55])
    logit = churn_logit(
        age, products, active, balance, geography == "Germany", gender == "Female", credit_score
    )
    churned = rng.random(count) < 1.0 / (1.0 + np.exp(-logit))
    return [
        {
            "name": f"{SURNAMES[i % len(SURNAMES)]} {i + 1}",
            "email": f"customer{i + 1}@example.com",
            "age": int(age[i]),
            "tenure": int(tenure[i]),
            "balance": Decimal(f"{balance[i]:.2f}"),
            "products": int(products[i]),
            "credit_card": bool(credit_card[i]),
            "active": bool(active[i]),
            "salary": Decimal(f"{salary[i]:.2f}"),
            "credit_score": int(credit_score[i]),
            "geography": str(geography[i]),
            "gender": str(gender[i]),
            "churned": bool(churned[i]),
        }
        for i in range(count)
    ]


def write_bank_churn_csv(path: str | Path, customers: list[dict[str, Any]]) -> Path:
    """Write customers in the common bank-churn CSV layout (``Exited`` is the label)."""
    path = Path(path)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(BANK_CHURN_COLUMNS)
        for number, customer in enumerate(customers, start=1):
            writer.writerow(
                [
                    number,
                    15_600_000 + number,
                    customer["name"].split()[0],
                    customer["credit_score"],
                    customer["geography"],
                    customer["gender"],
                    customer["age"],
                    customer["tenure"],
                    customer["balance"],
                    customer["products"],
                    int(customer["credit_card"]),
                    int(customer["active"]),
                    customer["salary"],
                    int(customer["churned"]),
                ]
            )
    return path
