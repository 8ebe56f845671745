"""deploy/: the Prometheus alert rules pass promtool (syntax, and unit tests
where each alert fires), and every metric the rules and the Grafana dashboard
name is one a real `backinstock api` and `backinstock dispatcher` export."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from dispatcher.metrics import DispatcherMetrics
from shared_models.queue import Queue
from tests.api_process import ApiProcess
from tests.dispatch_support import wait_for
from tests.test_dispatcher_process import Dispatcher

ROOT = Path(__file__).resolve().parent.parent
PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "backinstock.json"
# Series Prometheus makes itself for every target; no process of ours exports them.
PROMETHEUS_OWN = {"up"}
PROMQL_WORDS = {"sum", "max", "min", "count", "rate", "increase", "deriv", "absent", "vector", "by", "on",
                "and", "or", "histogram_quantile", "le", "without"}
METRIC = re.compile(r"\b[a-z_][a-z0-9_]*\b(?=\s*(\{|\[|\)|$|\s|==|>|<|/))")


def promtool(*args: str) -> subprocess.CompletedProcess:
    binary = shutil.which("promtool")
    assert binary, "promtool is missing: `make test` installs Debian's prometheus package"
    return subprocess.run([binary, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=60)


def rules() -> list[dict]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in board["panels"] for target in panel.get("targets", [])]


def metric_names(expr: str) -> set[str]:
    """The series an expression selects: identifiers followed by a selector,
    a range or the end, minus PromQL's own words and label names."""
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    without_labels = re.sub(r"\{[^}]*\}", "{}", without_strings)
    without_groupings = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", without_labels)
    return {m.group(0) for m in METRIC.finditer(without_groupings)} - PROMQL_WORDS


def exported(text: str) -> set[str]:
    """Series names a Prometheus text exposition offers, from its TYPE lines
    (present even before a labelled counter has its first sample)."""
    names = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M):
        names.add(name)
        if kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    return names


def test_rules_pass_promtool_check():
    result = promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules())} rules found" in result.stdout


def test_prometheus_config_passes_promtool_check():
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert {job["job_name"] for job in config["scrape_configs"]} == {"api", "dispatcher"}


def test_every_alert_fires_in_promtool_unit_tests():
    result = promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    cases = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())["tests"]
    fired = {check["alertname"] for case in cases for check in case["alert_rule_test"] if check["exp_alerts"]}
    quiet = {check["alertname"] for case in cases for check in case["alert_rule_test"] if not check["exp_alerts"]}
    names = {rule["alert"] for rule in rules()}
    assert fired == names
    assert quiet == names  # and each one is shown staying quiet too


def test_the_asked_for_alerts_exist():
    exprs = {rule["alert"]: rule["expr"] for rule in rules()}
    assert "backinstock_queue_due" in exprs["BackinstockQueueGrowing"]
    assert 'backinstock_jobs{status="running"}' in exprs["BackinstockJobWithoutProgress"]
    assert 'status="failed"' in exprs["BackinstockProviderErrors"]
    assert 'action="webhook", status="401"' in exprs["BackinstockWebhookSignatureFailures"]
    assert 'up{job="dispatcher"}' in exprs["BackinstockNoDispatcherAlive"]


def test_dashboard_covers_what_operators_asked_for():
    board = json.loads(DASHBOARD.read_text())
    assert board["uid"] == "backinstock"
    text = json.dumps(board)
    for needle in ("backinstock_api_requests_total", "backinstock_api_request_duration_seconds_bucket",
                   "backinstock_queue_depth", "backinstock_jobs", "backinstock_alerts_total",
                   "backinstock_provider_send_seconds_bucket", 'status=\\"blocked\\"', 'status=\\"failed\\"',
                   "backinstock_webhook_backlog_seconds"):
        assert needle in text, needle
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    provisioned = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    uid = provisioned["datasources"][0]["uid"]
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == uid, panel["title"]


def test_metric_name_extraction():
    assert metric_names('sum by (channel) (rate(backinstock_alerts_total{status="failed"}[10m]))') == \
        {"backinstock_alerts_total"}
    assert metric_names('absent(up{job="dispatcher"} == 1)') == {"up"}
    assert metric_names("histogram_quantile(0.5, sum by (action, le) (rate(x_bucket[5m])))") == {"x_bucket"}


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert resp.status == 200
        return resp.read().decode()


async def test_every_metric_named_is_exported_by_a_real_api_and_dispatcher(env, tmp_path):
    named = set()
    for expr in [rule["expr"] for rule in rules()] + dashboard_exprs():
        named |= metric_names(expr)
    assert len(named) >= 8

    api = ApiProcess(env, tmp_path / "api.log").start()
    dispatcher = await Dispatcher(env, tmp_path / "dispatcher.log").start()
    try:
        # A webhook with a bad signature: the series the HMAC rule selects.
        request = urllib.request.Request(api.url + "/webhooks/shopify", data=b"{}", method="POST", headers={
            "X-Shopify-Shop-Domain": "nobody.myshopify.com", "X-Shopify-Hmac-Sha256": "bad",
            "X-Shopify-Topic": "products/update", "X-Shopify-Webhook-Id": "w1"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 401
        api_text = scrape(api.url + "/metrics")
        assert re.search(r'^backinstock_api_requests_total\{action="webhook",status="401"\} 1\.0$', api_text, re.M)

        await wait_for(dispatcher.metrics_answer, timeout=30)
        dispatcher_text = scrape(f"http://127.0.0.1:{dispatcher.metrics_port}/metrics")
        assert re.search(r"^backinstock_webhook_backlog_seconds 0\.0$", dispatcher_text, re.M), dispatcher_text
    finally:
        api.stop()
        await dispatcher.stop()

    missing = named - PROMETHEUS_OWN - exported(api_text) - exported(dispatcher_text)
    assert not missing, f"named by deploy/ but exported by nobody: {sorted(missing)}"


async def test_webhook_backlog_is_the_oldest_waiting_event(pool, shop, config, redis):
    """The dashboard's webhook lag: the oldest stored, unprocessed event; a
    processed one and a shop/redact (which waits on purpose) do not count."""
    insert = """INSERT INTO webhook_events (shop_id, webhook_id, topic, payload, received_at, processed_at)
                VALUES ($1, $2, $3, '{}', now() - make_interval(secs => $4), $5)"""
    await pool.execute(insert, shop.shop_id, "done", "products/update", 3600.0, datetime.now(timezone.utc))
    await pool.execute(insert, shop.shop_id, "redact", "shop/redact", 7200.0, None)
    metrics = DispatcherMetrics()
    queue = Queue(config.redis_url, config.queue_name)
    try:
        await metrics.sample(queue, pool)
        assert metrics.registry.get_sample_value("backinstock_webhook_backlog_seconds") == 0
        await pool.execute(insert, shop.shop_id, "waiting", "inventory_levels/update", 120.0, None)
        metrics.sampled_at = float("-inf")  # sample again now
        await metrics.sample(queue, pool)
    finally:
        await queue.close()
    assert 120 <= metrics.registry.get_sample_value("backinstock_webhook_backlog_seconds") < 180
