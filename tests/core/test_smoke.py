def test_register_login_me_and_project(api, client):
    headers = api.user_headers("a@example.com")
    me = client.get("/api/v1/auth/me", headers=headers)
    assert me.status_code == 200 and me.get_json()["email"] == "a@example.com"
    project = api.project(headers)
    assert client.get(f"/api/v1/projects/{project['id']}", headers=headers).status_code == 200
    other = api.user_headers("b@example.com")
    response = client.get(f"/api/v1/projects/{project['id']}", headers=other)
    assert response.status_code == 404
    assert set(response.get_json()) == {"detail", "code", "timestamp"}
