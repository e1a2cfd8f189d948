"""The evaluation gate on lm-eval 0.4.9.1 result layouts: thresholds, retention, champion, report, outputs."""

import copy
import json
import sys
import tempfile
import types
import unittest
from pathlib import Path

from korean_llm_trainer import evaluate, gate
from korean_llm_trainer.contract import parse_config
from korean_llm_trainer.errors import ContractError
from korean_llm_trainer.evaluate import task_accuracy
from tests.helpers import valid_env

FIXTURES = Path(__file__).resolve().parent / "fixtures"
KOREAN = json.loads((FIXTURES / "lm_eval_0_4_9_1_results.json").read_text(encoding="utf-8"))
ENGLISH = json.loads((FIXTURES / "lm_eval_0_4_9_1_english_results.json").read_text(encoding="utf-8"))
KO_TASKS = ["kobest", "kmmlu", "haerae"]
EN_TASKS = ["mmlu", "arc_easy", "hellaswag"]


def scores(results, tasks):
    return {t: task_accuracy(results, t) for t in tasks}


def scaled(results, factor):
    """The same layout with every metric value multiplied (a weaker or stronger model)."""
    out = copy.deepcopy(results)
    for section in ("results", "groups"):
        for entry in out.get(section, {}).values():
            for key, value in list(entry.items()):
                if "," in key and "_stderr" not in key and isinstance(value, float):
                    entry[key] = min(1.0, value * factor)
    return out


class ThresholdsTest(unittest.TestCase):
    def test_parse(self):
        self.assertEqual(gate.parse_thresholds(("kmmlu=0.45", " kobest = 0.6")), {"kmmlu": 0.45, "kobest": 0.6})
        self.assertEqual(gate.parse_thresholds(None), {})

    def test_fails_on_bad_entries(self):
        for bad in ("kmmlu", "kmmlu=", "=0.4", "kmmlu=high", "kmmlu=1.5", "kmmlu=-0.1"):
            with self.subTest(bad=bad), self.assertRaisesRegex(ContractError, f"'EVAL_MIN_SCORES' entries must be task=minimum.*{bad!r}"):
                gate.parse_thresholds((bad,))
        with self.assertRaisesRegex(ContractError, "names task 'kmmlu' twice"):
            gate.parse_thresholds(("kmmlu=0.4", "kmmlu=0.5"))

    def test_output_names(self):
        self.assertEqual(gate.output_name("kmmlu"), "score-kmmlu")
        self.assertEqual(gate.output_name("kmmlu_hard"), "score-kmmlu_hard")
        self.assertEqual(gate.output_name("my.task"), "score-my-task")


class ReportTest(unittest.TestCase):
    """Fixture scores: kobest acc 0.6867, kmmlu acc 0.47, haerae acc_norm 0.5357; mmlu 0.49, arc_easy 0.7601, hellaswag 0.7934."""

    def report(self, **kw):
        args = dict(model="/m", korean=scores(KOREAN, KO_TASKS), thresholds={"kmmlu": 0.45, "kobest": 0.6}, min_score=0.5)
        args.update(kw)
        return gate.build_report(**args)

    def test_every_threshold_holds(self):
        r = self.report()
        self.assertTrue(r.passed)
        self.assertEqual([c.name for c in r.checks], ["score-kobest", "score-kmmlu", "score"])
        self.assertEqual({row.task: row.metric for row in r.rows}, {"kobest": "acc", "kmmlu": "acc", "haerae": "acc_norm"})

    def test_one_task_below_its_minimum_fails_the_gate_though_the_mean_holds(self):
        r = self.report(thresholds={"kmmlu": 0.48, "kobest": 0.6})
        self.assertGreater(r.score, 0.5)
        self.assertFalse(r.passed)
        self.assertEqual([c.name for c in r.checks if not c.passed], ["score-kmmlu"])
        self.assertIn("failed: score-kmmlu 0.4700 < 0.4800", gate.summary_line(r))

    def test_checks_compare_the_rounded_value_argo_compares(self):
        r = gate.build_report(model="/m", korean={"kmmlu": (0.44996, "acc")}, thresholds={"kmmlu": 0.45})
        self.assertTrue(r.passed)  # the file says 0.4500, and 0.4500 >= 0.45 in the deploy `when`

    def test_a_threshold_for_a_task_not_evaluated_is_an_error(self):
        with self.assertRaisesRegex(ContractError, "tasks that were not evaluated: click"):
            self.report(thresholds={"click": 0.3})

    def test_retention_against_the_base_model(self):
        base_en = scores(ENGLISH, EN_TASKS)
        kept = self.report(retention_tasks=EN_TASKS, candidate_retention=scores(scaled(ENGLISH, 0.98), EN_TASKS),
                           base=base_en, min_retention=0.97, base_model="org/base")
        self.assertAlmostEqual(kept.retention, 0.98, places=4)
        self.assertTrue(kept.passed)
        forgot = self.report(retention_tasks=EN_TASKS, candidate_retention=scores(scaled(ENGLISH, 0.9), EN_TASKS),
                             base=base_en, min_retention=0.97)
        self.assertAlmostEqual(forgot.retention, 0.9, places=4)
        self.assertFalse(forgot.passed)
        self.assertEqual([c.name for c in forgot.checks if not c.passed], ["retention"])
        rows = {r.task: r for r in forgot.rows}
        self.assertEqual(rows["mmlu"].kind, "retention")
        self.assertAlmostEqual(rows["mmlu"].base_delta, 0.49 * 0.9 - 0.49, places=6)

    def test_retention_needs_both_scores(self):
        with self.assertRaisesRegex(ContractError, "retention tasks without a score: hellaswag"):
            self.report(retention_tasks=EN_TASKS, candidate_retention=scores(ENGLISH, ["mmlu", "arc_easy"]),
                        base=scores(ENGLISH, EN_TASKS))

    def test_champion_with_tolerance(self):
        champion = scores(scaled(KOREAN, 1.01), KO_TASKS)  # the deployed model is 1 % better
        close = self.report(champion=champion, champion_tolerance=0.02, champion_model="/deployed")
        self.assertTrue(close.passed)
        self.assertGreater(close.champion_margin, 0)
        strict = self.report(champion=champion, champion_tolerance=0.0)
        self.assertFalse(strict.passed)
        self.assertEqual([c.name for c in strict.checks if not c.passed], ["champion-margin"])
        self.assertLess(strict.rows[0].champion_delta, 0)

    def test_markdown_and_json(self):
        r = self.report(thresholds={"kmmlu": 0.48}, retention_tasks=EN_TASKS, candidate_retention=scores(ENGLISH, EN_TASKS),
                        base=scores(ENGLISH, EN_TASKS), min_retention=0.97, base_model="org/base")
        md = gate.render_markdown(r)
        self.assertTrue(md.startswith("# Evaluation gate: FAIL"))
        self.assertIn("| kmmlu | korean | acc | 0.4700 | 0.4800 | **no** |", md)
        self.assertIn("| mmlu | retention | acc | 0.4900 | - | - | 0.4900 | +0.0000 |", md)
        self.assertIn("| retention | 1.0000 | 0.9700 | yes |", md)
        doc = r.to_json()
        self.assertFalse(doc["passed"])
        self.assertEqual(doc["rows"][1]["task"], "kmmlu")
        json.dumps(doc)

    def test_outputs_one_file_per_task_plus_checks(self):
        r = self.report(judged={"logickor": (0.71, "judge rating / 10")}, thresholds={"logickor": 0.7})
        with tempfile.TemporaryDirectory() as tmp:
            gate.write_outputs(Path(tmp), r)
            files = {p.name: p.read_text() for p in Path(tmp).iterdir()}
        self.assertEqual(set(files), {"score-kobest", "score-kmmlu", "score-haerae", "score-logickor", "retention",
                                      "champion-margin", "summary"})
        self.assertEqual(files["score-kmmlu"], "0.4700")
        self.assertEqual(files["score-logickor"], "0.7100")
        # neither configured: values that pass the always-present clauses
        self.assertEqual((files["retention"], files["champion-margin"]), ("1.0000", "1.0000"))
        self.assertTrue(files["summary"].startswith("gate PASS: score 0.5641"))


class CacheTest(unittest.TestCase):
    def test_the_base_is_evaluated_once_per_model_id(self):
        calls = []

        def run(tasks):
            calls.append(list(tasks))
            return scores(ENGLISH, tasks)

        with tempfile.TemporaryDirectory() as tmp:
            first = gate.cached_scores(Path(tmp), "org/base", ["mmlu", "arc_easy"], {"limit": None}, run)
            again = gate.cached_scores(Path(tmp), "org/base", ["mmlu", "arc_easy"], {"limit": None}, run)
            more = gate.cached_scores(Path(tmp), "org/base", ["mmlu", "hellaswag"], {"limit": None}, run)
            other = gate.cached_scores(Path(tmp), "org/base", ["mmlu"], {"limit": 10}, run)
            self.assertEqual(first, again)
            self.assertEqual(calls, [["mmlu", "arc_easy"], ["hellaswag"], ["mmlu"]])
            self.assertEqual(set(more), {"mmlu", "hellaswag"})
            self.assertEqual(other["mmlu"], (0.49, "acc"))
            files = sorted(p.name for p in Path(tmp).iterdir())
            self.assertEqual(len(files), 2)
            self.assertTrue(all(f.startswith("org--base-") for f in files))
            # a torn file is evaluated again, not trusted
            (Path(tmp) / files[0]).write_text("{")
            (Path(tmp) / files[1]).write_text("{")
            gate.cached_scores(Path(tmp), "org/base", ["mmlu"], {"limit": None}, run)
            self.assertEqual(calls[-1], ["mmlu"])

    def test_without_a_cache_dir_it_evaluates(self):
        self.assertEqual(gate.cached_scores(None, "b", ["mmlu"], {}, lambda t: scores(ENGLISH, t)), {"mmlu": (0.49, "acc")})


class FakeHarness:
    """Stands in for lm_eval: each model answers with a layout of lm-eval 0.4.9.1 (both fixtures merged)."""

    def __init__(self, by_model):
        self.by_model = by_model
        self.calls = []

    def simple_evaluate(self, **kwargs):
        model = kwargs["model_args"]["pretrained"]
        self.calls.append((model, list(kwargs["tasks"])))
        factor = self.by_model[model]
        merged = {k: dict(KOREAN.get(k, {}), **ENGLISH.get(k, {})) for k in ("results", "groups", "group_subtasks")}
        merged["lm_eval_version"] = "0.4.9.1"
        return scaled(merged, factor)


class EvaluateMainTest(unittest.TestCase):
    """`python -m korean_llm_trainer evaluate` with the gate, the harness faked with real result layouts."""

    def run_main(self, tmp, harness, **env):
        root = Path(tmp)
        model = root / "runs/r/m/rlhf/model"
        model.mkdir(parents=True)
        (model / "config.json").write_text("{}")
        environment = valid_env("evaluate", MODEL_PATH=str(model), EVAL_TASKS="kobest,kmmlu,haerae",
                                SCORE_FILE=str(root / "score"), EVAL_SCORES_DIR=str(root / "scores"), **env)
        config = parse_config("evaluate", environment)
        module = types.ModuleType("lm_eval")
        module.simple_evaluate = harness.simple_evaluate
        sys.modules["lm_eval"] = module
        try:
            self.assertEqual(evaluate.main(config, environment), 0)
        finally:
            del sys.modules["lm_eval"]
        return root, model

    def test_thresholds_retention_and_champion_end_to_end(self):
        with tempfile.TemporaryDirectory() as tmp:
            champion = Path(tmp) / "deployed"
            champion.mkdir()
            (champion / "config.json").write_text("{}")
            model_path = str(Path(tmp) / "runs/r/m/rlhf/model")
            harness = FakeHarness({model_path: 0.95, "org/base": 1.0, str(champion): 1.0})
            root, model = self.run_main(tmp, harness, EVAL_MIN_SCORES="kmmlu=0.4,kobest=0.6", EVAL_MIN_SCORE="0.5",
                                        EVAL_RETENTION_TASKS="mmlu,arc_easy,hellaswag", EVAL_BASE_MODEL="org/base",
                                        EVAL_MIN_RETENTION="0.97", EVAL_CACHE_DIR=str(Path(tmp) / "cache"),
                                        EVAL_CHAMPION_PATH=str(champion), EVAL_CHAMPION_TOLERANCE="0.01")
            out = {p.name: p.read_text() for p in (root / "scores").iterdir()}
            self.assertEqual(out["score-kmmlu"], "0.4465")  # 0.47 * 0.95
            self.assertEqual(out["retention"], "0.9500")
            self.assertLess(float(out["champion-margin"]), 0)
            self.assertIn("gate FAIL", out["summary"])
            self.assertIn("retention 0.9500 < 0.9700", out["summary"])
            report = json.loads((model.parent / "eval" / "report.json").read_text())
            self.assertFalse(report["passed"])
            self.assertEqual({c["name"]: c["passed"] for c in report["checks"]},
                             {"score-kobest": True, "score-kmmlu": True, "score": True, "retention": False, "champion-margin": False})
            self.assertTrue((model.parent / "eval" / "report.md").read_text().startswith("# Evaluation gate: FAIL"))
            self.assertEqual((root / "score").read_text(), out["summary"].split("score ")[1][:6])
            # candidate on Korean + English at once, the base on both (cached), the champion on the Korean set
            self.assertEqual(harness.calls, [(model_path, KO_TASKS + EN_TASKS), ("org/base", KO_TASKS + EN_TASKS),
                                             (str(champion), KO_TASKS)])
            results = json.loads((model.parent / "eval" / "results.json").read_text())
            self.assertEqual(results["korean_llm_trainer"]["gate"]["base_model"], "org/base")

    def test_no_champion_yet_passes(self):
        with tempfile.TemporaryDirectory() as tmp:
            harness = FakeHarness({str(Path(tmp) / "runs/r/m/rlhf/model"): 1.0})
            root, _ = self.run_main(tmp, harness, EVAL_CHAMPION_PATH=str(Path(tmp) / "nothing-deployed"))
            self.assertEqual((root / "scores" / "champion-margin").read_text(), "1.0000")
            self.assertEqual(len(harness.calls), 1)

    def test_retention_without_a_base_model_fails(self):
        env = valid_env("evaluate", EVAL_RETENTION_TASKS="mmlu")
        with self.assertRaisesRegex(ContractError, "'EVAL_BASE_MODEL'"):
            with tempfile.TemporaryDirectory() as tmp:
                (Path(tmp) / "config.json").write_text("{}")
                env["MODEL_PATH"] = tmp
                evaluate.main(parse_config("evaluate", env), env)


if __name__ == "__main__":
    unittest.main()
