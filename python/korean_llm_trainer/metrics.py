"""Training metrics in the Prometheus text format, served by local rank 0 of each node.

Gauges: ``training_loss``, ``learning_rate``, ``tokens_per_second``, ``global_step``, ``epoch``,
each labelled ``run`` (RUN_ID), ``stage`` (``cpt``/``sft``/``rlhf``) and ``model`` (MODEL_NAME).
:class:`MetricsState` holds the logic (pure, tested); a thin ``transformers.TrainerCallback``
feeds it from the Trainer's logs; the endpoint is ``prometheus_client`` when installed, else a
standard-library ``http.server`` in a daemon thread. ``tokens_per_second`` is the rate of the
Trainer's ``num_input_tokens_seen`` (all ranks together) between two log events.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Mapping, Protocol

from .deps import is_available

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
GAUGES: dict[str, str] = {
    "training_loss": "Training loss at the last logging step",
    "learning_rate": "Learning rate at the last logging step",
    "tokens_per_second": "Input tokens processed per second, all ranks together, since the previous log",
    "global_step": "Optimizer steps completed",
    "epoch": "Epochs completed (fractional)",
}
LABELS = ("run", "stage", "model")


def escape_label_value(value: str) -> str:
    """Escape a label value for the text format (backslash, double quote, line feed)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def format_value(value: float) -> str:
    """A sample value in the text format (``NaN``, ``+Inf``, ``-Inf`` or Python's repr)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


@dataclass
class MetricsState:
    """The current gauge values, updated from Trainer log events."""

    run: str
    stage: str
    model: str
    values: dict[str, float] = field(default_factory=dict)
    _last_tokens: float | None = None
    _last_time: float | None = None

    @property
    def labels(self) -> dict[str, str]:
        """The label set of every sample."""
        return {"run": self.run, "stage": self.stage, "model": self.model}

    def observe(self, logs: Mapping[str, Any], global_step: int, epoch: float | None,
                tokens_seen: float | None, now: float) -> dict[str, float]:
        """Record one log event; returns the gauges that changed."""
        changed: dict[str, float] = {"global_step": float(global_step)}
        if epoch is not None:
            changed["epoch"] = float(epoch)
        if isinstance(logs.get("loss"), (int, float)):
            changed["training_loss"] = float(logs["loss"])
        if isinstance(logs.get("learning_rate"), (int, float)):
            changed["learning_rate"] = float(logs["learning_rate"])
        if tokens_seen is not None:
            if self._last_tokens is not None and self._last_time is not None and now > self._last_time:
                rate = (tokens_seen - self._last_tokens) / (now - self._last_time)
                if rate >= 0:
                    changed["tokens_per_second"] = rate
            self._last_tokens, self._last_time = float(tokens_seen), now
        self.values.update(changed)
        return changed

    def exposition(self) -> str:
        """The gauges in the Prometheus text exposition format (observed gauges only)."""
        labels = ",".join(f'{k}="{escape_label_value(v)}"' for k, v in self.labels.items())
        lines = []
        for name, help_text in GAUGES.items():
            if name not in self.values:
                continue
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} gauge")
            lines.append(f"{name}{{{labels}}} {format_value(self.values[name])}")
        return "\n".join(lines) + ("\n" if lines else "")


class MetricsExporter(Protocol):
    """Publishes a :class:`MetricsState`."""

    port: int

    def publish(self, state: MetricsState) -> None: ...

    def close(self) -> None: ...


class StdlibExporter:
    """``http.server`` endpoint in a daemon thread; serves the latest exposition on any path."""

    def __init__(self, port: int, host: str = "0.0.0.0") -> None:
        self._lock = threading.Lock()
        self._body = b""
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                with exporter._lock:
                    body = exporter._body
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:  # scrapes every 15 s would flood the job log
                return

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics", daemon=True)
        self._thread.start()

    def publish(self, state: MetricsState) -> None:
        body = state.exposition().encode("utf-8")
        with self._lock:
            self._body = body

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class PrometheusClientExporter:
    """``prometheus_client`` endpoint with a private registry holding the five gauges."""

    def __init__(self, port: int, host: str = "0.0.0.0") -> None:
        import prometheus_client as pc

        self._registry = pc.CollectorRegistry()
        self._gauges = {name: pc.Gauge(name, text, LABELS, registry=self._registry) for name, text in GAUGES.items()}
        result = pc.start_http_server(port, addr=host, registry=self._registry)
        self._server = result[0] if isinstance(result, tuple) else None
        self.port = self._server.server_address[1] if self._server is not None else port

    def publish(self, state: MetricsState) -> None:
        for name, value in state.values.items():
            self._gauges[name].labels(**state.labels).set(value)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def start_exporter(port: int, prefer_prometheus_client: bool = True) -> MetricsExporter:
    """Serve metrics on ``port`` with prometheus_client when installed, else the standard library."""
    if prefer_prometheus_client and is_available("prometheus_client"):
        return PrometheusClientExporter(port)
    return StdlibExporter(port)


def make_trainer_callback(state: MetricsState, exporter: MetricsExporter | None):
    """A ``transformers.TrainerCallback`` that feeds ``state`` and republishes it on each log."""
    import time

    from transformers import TrainerCallback

    class PrometheusCallback(TrainerCallback):
        def on_log(self, args, trainer_state, control, logs=None, **kwargs):  # noqa: D401 - Trainer API
            state.observe(logs or {}, trainer_state.global_step, trainer_state.epoch,
                          getattr(trainer_state, "num_input_tokens_seen", None), time.monotonic())
            if exporter is not None:
                exporter.publish(state)

    return PrometheusCallback()
