"""Prometheus exposition format, the metrics state and a real HTTP scrape."""

import unittest
import urllib.request

from korean_llm_trainer.metrics import MetricsState, StdlibExporter, escape_label_value, format_value


class StateTest(unittest.TestCase):
    def test_observe_and_tokens_per_second(self):
        state = MetricsState(run="run-1", stage="sft", model="qwen2-5-7b")
        state.observe({"loss": 2.5, "learning_rate": 1e-5}, 10, 0.1, 1000, now=100.0)
        self.assertNotIn("tokens_per_second", state.values)
        changed = state.observe({"loss": 2.0, "learning_rate": 2e-5}, 20, 0.2, 5000, now=102.0)
        self.assertEqual(changed["tokens_per_second"], 2000.0)
        self.assertEqual(state.values["training_loss"], 2.0)
        self.assertEqual(state.values["global_step"], 20.0)
        self.assertEqual(state.values["epoch"], 0.2)

    def test_non_numeric_logs_are_ignored(self):
        state = MetricsState(run="r", stage="cpt", model="m")
        state.observe({"loss": "nan?", "train_runtime": 3.0}, 1, None, None, now=1.0)
        self.assertEqual(state.values, {"global_step": 1.0})

    def test_exposition_format(self):
        state = MetricsState(run="korean-llm-x7", stage="rlhf", model="qwen2-5-7b")
        state.observe({"loss": 0.5, "learning_rate": 5e-06}, 3, 1.5, None, now=1.0)
        text = state.exposition()
        labels = '{run="korean-llm-x7",stage="rlhf",model="qwen2-5-7b"}'
        self.assertEqual(text, "\n".join([
            "# HELP training_loss Training loss at the last logging step",
            "# TYPE training_loss gauge",
            f"training_loss{labels} 0.5",
            "# HELP learning_rate Learning rate at the last logging step",
            "# TYPE learning_rate gauge",
            f"learning_rate{labels} 5e-06",
            "# HELP global_step Optimizer steps completed",
            "# TYPE global_step gauge",
            f"global_step{labels} 3.0",
            "# HELP epoch Epochs completed (fractional)",
            "# TYPE epoch gauge",
            f"epoch{labels} 1.5",
        ]) + "\n")

    def test_escaping_and_special_values(self):
        self.assertEqual(escape_label_value('a"b\\c\nd'), 'a\\"b\\\\c\\nd')
        self.assertEqual(format_value(float("nan")), "NaN")
        self.assertEqual(format_value(float("inf")), "+Inf")
        self.assertEqual(format_value(float("-inf")), "-Inf")

    def test_empty_state_renders_nothing(self):
        self.assertEqual(MetricsState(run="r", stage="s", model="m").exposition(), "")


class ServerTest(unittest.TestCase):
    def test_http_get_on_an_ephemeral_port(self):
        exporter = StdlibExporter(0, host="127.0.0.1")
        self.addCleanup(exporter.close)
        state = MetricsState(run="r1", stage="cpt", model="m")
        state.observe({"loss": 1.25}, 7, 0.5, None, now=1.0)
        exporter.publish(state)
        with urllib.request.urlopen(f"http://127.0.0.1:{exporter.port}/metrics", timeout=5) as response:
            body = response.read().decode("utf-8")
            self.assertEqual(response.status, 200)
            self.assertTrue(response.headers["Content-Type"].startswith("text/plain; version=0.0.4"))
        self.assertIn('training_loss{run="r1",stage="cpt",model="m"} 1.25', body)
        self.assertIn('global_step{run="r1",stage="cpt",model="m"} 7.0', body)


if __name__ == "__main__":
    unittest.main()
