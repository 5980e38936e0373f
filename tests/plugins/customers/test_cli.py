"""``nebulo customers import FILE.csv --project ID``."""

from __future__ import annotations

import uuid

from plugins.customers.synthetic import generate_customers, write_bank_churn_csv
from tests.plugins.customers.conftest import customers_url


def run_import(app, path, project_id):
    return app.test_cli_runner().invoke(
        args=["customers", "import", str(path), "--project", str(project_id)]
    )


def test_imports_the_bank_churn_layout(app, client, owner, project, tmp_path):
    path = write_bank_churn_csv(tmp_path / "churn.csv", generate_customers(25))
    result = run_import(app, path, project["id"])
    assert result.exit_code == 0, result.output
    assert "Imported 25 customer(s); 0 row(s) rejected." in result.output
    customers = client.get(
        customers_url(project), query_string={"page_size": 100}, headers=owner
    ).get_json()
    assert len(customers) == 25
    first = next(c for c in customers if c["name"] == "Hargrave 15600001")
    expected = generate_customers(25)[0]
    assert first["age"] == expected["age"] and first["geography"] == expected["geography"]
    assert first["credit_score"] == expected["credit_score"]
    assert first["balance"] == float(expected["balance"])
    assert first["churned"] is expected["churned"] and first["email"] is None


def test_bad_rows_are_reported_by_line_and_good_rows_kept(app, client, owner, project, tmp_path):
    path = tmp_path / "own.csv"
    path.write_text(
        "name,email,phone,age,tenure,balance,products,credit_card,active,salary,churned,notes\n"
        "Ann,ann@x.io,+4915112345678,30,2,10.50,1,1,0,1000,0,vip\n"
        "Bob,bob@x.io,12345,31,2,0,1,1,0,1000,0,\n"
        "Cid,cid@x.io,,forty,2,0,1,1,0,1000,1,\n"
        "Dee,ANN@x.io,,33,2,0,1,1,0,1000,,\n"
        ",eve@x.io,,34,2,0,1,true,false,1000,1,\n"
        "Fay,fay@x.io,,35,2,0,2,yes,no,2500.75,1,\n"
    )
    result = run_import(app, path, project["id"])
    assert result.exit_code == 0, result.output
    assert "Ignoring unknown columns: notes" in result.output
    assert "line 3: phone:" in result.output
    assert "line 4: age:" in result.output
    assert "line 5:" in result.output and "already has email" in result.output
    assert "Imported 3 customer(s); 3 row(s) rejected." in result.output
    names = sorted(c["name"] for c in client.get(customers_url(project), headers=owner).get_json())
    assert names == ["Ann", "Customer 6", "Fay"]


def test_unknown_project_and_missing_file(app, tmp_path):
    path = write_bank_churn_csv(tmp_path / "churn.csv", generate_customers(2))
    result = run_import(app, path, uuid.uuid4())
    assert result.exit_code != 0 and "not found" in result.output
    result = run_import(app, tmp_path / "nope.csv", uuid.uuid4())
    assert result.exit_code != 0 and "does not exist" in result.output
    result = app.test_cli_runner().invoke(args=["customers", "import", str(path)])
    assert result.exit_code != 0 and "--project" in result.output
