"""Score aggregation over lm-evaluation-harness results, the score file and the results path."""

import tempfile
import unittest
from pathlib import Path

from korean_llm_trainer.contract import parse_config
from korean_llm_trainer.errors import ContractError, TrainerError
import json

from korean_llm_trainer.evaluate import (
    EvaluationError, aggregate_score, format_score, parse_batch_size, primary_metric, resolve_model_dir, results_path,
    simple_evaluate_kwargs, task_accuracy, write_score_file,
)
from tests.helpers import valid_env

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "lm_eval_0_4_9_1_results.json"

# Shaped like lm_eval.simple_evaluate(...) output (0.4.x): groups, per-task results, group_subtasks.
HARNESS = {
    "results": {
        "kobest": {"alias": "kobest", "acc,none": 0.62, "acc_stderr,none": 0.01, "f1,none": 0.6, "f1_stderr,none": "N/A"},
        "kobest_boolq": {"alias": " - kobest_boolq", "acc,none": 0.7, "f1,none": 0.69},
        "kobest_copa": {"alias": " - kobest_copa", "acc,none": 0.6, "f1,none": 0.6},
        "kobest_hellaswag": {"alias": " - kobest_hellaswag", "acc,none": 0.4, "acc_norm,none": 0.5},
        "haerae": {"alias": "haerae", "acc,none": 0.41, "acc_norm,none": 0.45, "acc_norm_stderr,none": 0.02},
        "haerae_history": {"acc,none": 0.5, "acc_norm,none": 0.52},
        "kmmlu_accounting": {"alias": " - kmmlu_accounting", "acc,none": 0.3},
        "kmmlu_law": {"alias": " - kmmlu_law", "acc,none": 0.5},
    },
    "groups": {
        "kobest": {"alias": "kobest", "acc,none": 0.62, "f1,none": 0.6},
        "haerae": {"alias": "haerae", "acc,none": 0.41, "acc_norm,none": 0.45},
    },
    "group_subtasks": {
        "kobest": ["kobest_boolq", "kobest_copa", "kobest_hellaswag"],
        "haerae": ["haerae_history"],
        "kmmlu": ["kmmlu_accounting", "kmmlu_law"],
    },
    "configs": {}, "versions": {}, "n-shot": {},
}


class AggregationTest(unittest.TestCase):
    def test_group_acc_norm_preferred_then_acc(self):
        self.assertEqual(task_accuracy(HARNESS, "haerae"), (0.45, "acc_norm"))
        self.assertEqual(task_accuracy(HARNESS, "kobest"), (0.62, "acc"))
        self.assertEqual(task_accuracy(HARNESS, "kobest_hellaswag"), (0.5, "acc_norm"))

    def test_group_without_aggregate_is_the_mean_of_its_subtasks(self):
        value, rule = task_accuracy(HARNESS, "kmmlu")
        self.assertAlmostEqual(value, 0.4)
        self.assertEqual(rule, "mean of 2 subtasks")

    def test_score_is_the_mean_over_tasks(self):
        score, per_task = aggregate_score(HARNESS, ["kobest", "kmmlu", "haerae"])
        self.assertAlmostEqual(score, (0.62 + 0.4 + 0.45) / 3)
        self.assertEqual(set(per_task), {"kobest", "kmmlu", "haerae"})

    def test_other_filters_are_used_when_none_is_absent(self):
        results = {"results": {"click": {"acc,strict-match": 0.3, "acc_stderr,strict-match": 0.1}}}
        self.assertEqual(task_accuracy(results, "click"), (0.3, "acc"))

    def test_missing_task_and_out_of_range(self):
        with self.assertRaisesRegex(EvaluationError, "'kbl'"):
            aggregate_score(HARNESS, ["kobest", "kbl"])
        with self.assertRaisesRegex(EvaluationError, "outside 0..1"):
            aggregate_score({"results": {"t": {"acc,none": 1.5}}}, ["t"])
        with self.assertRaises(EvaluationError):
            aggregate_score(HARNESS, [])


class HarnessLayoutTest(unittest.TestCase):
    """Against the layout lm-eval 0.4.9.1 returns (tests/fixtures/lm_eval_0_4_9_1_results.json)."""

    def setUp(self):
        self.results = json.loads(FIXTURE.read_text(encoding="utf-8"))

    def test_kobest_is_scored_by_its_group_acc_not_by_hellaswag(self):
        group = self.results["groups"]["kobest"]
        # the group's acc_norm is kobest_hellaswag's alone: the only subtask that reports it
        self.assertEqual(group["acc_norm,none"], self.results["results"]["kobest_hellaswag"]["acc_norm,none"])
        value, metric = task_accuracy(self.results, "kobest")
        self.assertEqual((value, metric), (group["acc,none"], "acc"))
        self.assertNotEqual(value, group["acc_norm,none"])

    def test_haerae_by_acc_norm_and_kmmlu_by_acc_of_its_nested_groups(self):
        self.assertEqual(task_accuracy(self.results, "haerae"), (self.results["groups"]["haerae"]["acc_norm,none"], "acc_norm"))
        self.assertEqual(task_accuracy(self.results, "kmmlu"), (0.47, "acc"))
        self.assertEqual(task_accuracy(self.results, "kmmlu_stem")[1], "acc")
        self.assertEqual(task_accuracy(self.results, "kobest_hellaswag")[1], "acc_norm")
        self.assertEqual(task_accuracy(self.results, "kobest_copa")[1], "acc")

    def test_the_score_is_the_mean_of_the_table_metrics(self):
        score, per_task = aggregate_score(self.results, ["kobest", "kmmlu", "haerae"])
        groups = self.results["groups"]
        self.assertAlmostEqual(score, (groups["kobest"]["acc,none"] + groups["kmmlu"]["acc,none"]
                                       + groups["haerae"]["acc_norm,none"]) / 3)
        self.assertEqual({t: v["metric"] for t, v in per_task.items()},
                         {"kobest": "acc", "kmmlu": "acc", "haerae": "acc_norm"})

    def test_a_group_without_aggregates_is_the_mean_of_its_subtasks(self):
        results = json.loads(FIXTURE.read_text(encoding="utf-8"))
        # what consolidate_group_results leaves for a group with no aggregate_metric_list
        results["results"]["kmmlu"] = {"alias": "kmmlu", " ": " "}
        del results["groups"]["kmmlu"]
        value, rule = task_accuracy(results, "kmmlu")
        stem, humss = (results["groups"][g]["acc,none"] for g in ("kmmlu_stem", "kmmlu_humss"))
        self.assertAlmostEqual(value, (stem + humss) / 2)
        self.assertEqual(rule, "mean of 2 subtasks")

    def test_a_task_without_its_metric_is_an_error_naming_what_was_reported(self):
        results = {"results": {"kobest_hellaswag": {"alias": "kobest_hellaswag", "acc,none": 0.4}}}
        with self.assertRaisesRegex(EvaluationError, "no 'acc_norm' for task 'kobest_hellaswag' \\(reported: acc,none\\)"):
            task_accuracy(results, "kobest_hellaswag")

    def test_metric_table(self):
        self.assertEqual(primary_metric("kobest"), "acc")
        self.assertEqual(primary_metric("kobest_wic"), "acc")
        self.assertEqual(primary_metric("haerae_history"), "acc_norm")
        self.assertEqual(primary_metric("kmmlu_direct_law"), "exact_match")
        self.assertEqual(primary_metric("kmmlu_hard_law"), "acc")
        self.assertEqual(primary_metric("something_new"), "acc")


class ScoreFileTest(unittest.TestCase):
    def test_bare_number_without_newline(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "sub" / "score"
            write_score_file(path, 0.61234)
            self.assertEqual(path.read_text(), "0.6123")
            self.assertEqual(float(path.read_text()), 0.6123)
        self.assertEqual(format_score(1.0), "1.0000")


class EvaluateConfigTest(unittest.TestCase):
    def config(self, **env):
        return parse_config("evaluate", valid_env("evaluate", MODEL_PATH="/output/runs/r/m/rlhf/model", **env))

    def test_results_beside_the_model_by_default(self):
        model = Path("/output/runs/r/m/rlhf/model")
        self.assertEqual(results_path(self.config(), model), Path("/output/runs/r/m/rlhf/eval/results.json"))
        self.assertEqual(results_path(self.config(EVAL_OUTPUT_DIR="/output/evals/x"), model),
                         Path("/output/evals/x/results.json"))

    def test_simple_evaluate_kwargs(self):
        kwargs = simple_evaluate_kwargs(self.config(EVAL_LIMIT="50", EVAL_BATCH_SIZE="8"), Path("/m"))
        self.assertEqual(kwargs["tasks"], ["kobest", "kmmlu", "haerae"])
        self.assertEqual((kwargs["limit"], kwargs["batch_size"], kwargs["model"]), (50, 8, "hf"))
        self.assertEqual(kwargs["model_args"]["pretrained"], "/m")
        self.assertEqual(simple_evaluate_kwargs(self.config(EVAL_LIMIT="0.1"), Path("/m"))["limit"], 0.1)
        self.assertIsNone(simple_evaluate_kwargs(self.config(), Path("/m"))["limit"])

    def test_batch_size(self):
        self.assertEqual(parse_batch_size("auto"), "auto")
        self.assertEqual(parse_batch_size("auto:4"), "auto:4")
        for bad in ("0", "big", "-1"):
            with self.subTest(bad=bad), self.assertRaisesRegex(ContractError, "'EVAL_BATCH_SIZE'"):
                parse_batch_size(bad)

    def test_model_dir_resolution(self):
        with tempfile.TemporaryDirectory() as tmp:
            stage = Path(tmp)
            with self.assertRaisesRegex(TrainerError, "holds no model"):
                resolve_model_dir(stage)
            (stage / "model").mkdir()
            (stage / "model" / "config.json").write_text("{}")
            self.assertEqual(resolve_model_dir(stage), stage / "model")
            self.assertEqual(resolve_model_dir(stage / "model"), stage / "model")


if __name__ == "__main__":
    unittest.main()
