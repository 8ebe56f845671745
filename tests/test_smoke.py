async def test_help_needs_key(client):
    resp = await client.get("/api/v2/external/help")
    assert resp.status == 401
    assert (await resp.json())["errors"]


async def test_help_lists_actions(api):
    status, body, _ = await api.get("/help")
    assert status == 200
    names = [a["name"] for a in body["actions"]]
    assert "back_in_stock_notifications_list" in names


async def test_notifications_empty(api):
    status, body, resp = await api.get("/back_in_stock/notifications")
    assert status == 200, body
    assert body == {"notifications": [], "meta": {"page": 1, "per_page": 50, "total_count": 0,
                                                   "total_pages": 0, "total_count_exact": True}}
    assert resp.headers["X-RateLimit-Limit"] == "1000"
