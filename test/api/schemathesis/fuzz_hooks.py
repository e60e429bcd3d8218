"""Schemathesis hooks of the API fuzz test (test/api/fuzz.test.ts).

Every destination the fuzzer invents is pointed at a loopback sink before the request is sent, so no generated
URL or broker address ever leaves this machine: HTTP urls become FUZZ_SINK_URL (same path), Kafka host/port and
broker lists become the test run's own broker, FUZZ_KAFKA_BROKER (host:port). A named cluster stays as generated (it
is only a name; the worker refuses an unknown one as a permanent failure).
"""

import os
from urllib.parse import urlsplit

import schemathesis

SINK = urlsplit(os.environ["FUZZ_SINK_URL"])
KAFKA_HOST, KAFKA_PORT = os.environ["FUZZ_KAFKA_BROKER"].rsplit(":", 1)


def _point_at_sink(destination):
    if not isinstance(destination, dict):
        return
    if isinstance(destination.get("url"), str):
        path = urlsplit(destination["url"]).path or "/"
        destination["url"] = f"{SINK.scheme}://{SINK.netloc}{path}"
    if "host" in destination:
        destination["host"] = KAFKA_HOST
    if "port" in destination:
        destination["port"] = KAFKA_PORT if isinstance(destination["port"], str) else int(KAFKA_PORT)
    if isinstance(destination.get("brokers"), list):
        destination["brokers"] = [f"{KAFKA_HOST}:{KAFKA_PORT}"] * len(destination["brokers"])


def _order_delays(policy):
    # The one rule the document states in words only (JSON Schema cannot compare two fields): max_delay is not less
    # than base_delay. Generated data keeps to it, so the fuzzer's data matches the documented contract.
    if not isinstance(policy, dict):
        return
    base, cap = policy.get("base_delay"), policy.get("max_delay")
    if isinstance(base, (int, float)) and isinstance(cap, (int, float)) and cap < base:
        policy["base_delay"], policy["max_delay"] = cap, base


def _rewrite(task):
    if isinstance(task, dict):
        _point_at_sink(task.get("destination"))
        _point_at_sink(task.get("dead_destination"))
        _order_delays(task)


@schemathesis.hook
def before_call(context, case, kwargs):
    body = case.body
    if not isinstance(body, dict):
        return
    _rewrite(body)
    if isinstance(body.get("tasks"), list):
        for task in body["tasks"]:
            _rewrite(task)
    _rewrite(body.get("overrides"))
