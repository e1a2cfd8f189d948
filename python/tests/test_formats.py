"""Dataset format validation per stage."""

import tempfile
import unittest
from pathlib import Path

from korean_llm_trainer.errors import DatasetError
from korean_llm_trainer.formats import dataset_kind, record_error, validate_dataset
from tests.helpers import write_jsonl

CHAT = [{"role": "user", "content": "안녕하세요?"}, {"role": "assistant", "content": "네, 안녕하세요."}]
GOOD = {
    "cpt": {"text": "한국어 문서입니다."},
    "sft": {"messages": CHAT},
    "dpo": {"prompt": "질문", "chosen": "좋은 답", "rejected": "나쁜 답"},
    "orpo": {"prompt": [CHAT[0]], "chosen": [CHAT[1]], "rejected": [{"role": "assistant", "content": "몰라요"}]},
    "kto": {"prompt": "질문", "completion": "답", "label": True},
    "grpo": {"prompt": "한국의 수도는 어디인가요?"},
}
BAD = {
    "cpt": [{"content": "x"}, {"text": "   "}, {"text": 3}, ["not", "an", "object"]],
    "sft": [{"messages": []}, {"messages": [{"role": "user", "content": "hi"}]},
            {"messages": [{"role": "bot", "content": "x"}]}, {"messages": [{"role": "assistant"}]}, {"text": "x"}],
    "dpo": [{"prompt": "q", "chosen": "a"}, {"prompt": "q", "chosen": "a", "rejected": [CHAT[1]]},
            {"prompt": "", "chosen": "a", "rejected": "b"}],
    "orpo": [{"prompt": "q", "chosen": 1, "rejected": "b"}],
    "kto": [{"prompt": "q", "completion": "a", "label": "yes"}, {"prompt": "q", "label": False}],
    "grpo": [{"question": "q"}, {"prompt": {"role": "user"}}],
}


class RecordTest(unittest.TestCase):
    def test_good_records(self):
        for kind, record in GOOD.items():
            with self.subTest(kind=kind):
                self.assertIsNone(record_error(record, kind))

    def test_bad_records(self):
        for kind, records in BAD.items():
            for record in records:
                with self.subTest(kind=kind, record=record):
                    self.assertIsNotNone(record_error(record, kind))

    def test_kind_per_command(self):
        self.assertEqual(dataset_kind("cpt"), "cpt")
        self.assertEqual(dataset_kind("rlhf", "kto"), "kto")
        with self.assertRaises(ValueError):
            dataset_kind("evaluate")


class DatasetTest(unittest.TestCase):
    def test_validates_the_first_records_of_a_directory(self):
        with tempfile.TemporaryDirectory() as tmp:
            write_jsonl(Path(tmp) / "a.jsonl", [GOOD["sft"]] * 3)
            write_jsonl(Path(tmp) / "b.jsonl", [GOOD["sft"]])
            self.assertEqual(validate_dataset(Path(tmp), "sft"), 4)

    def test_error_names_file_line_problem_and_format(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = write_jsonl(Path(tmp) / "prefs.jsonl", [GOOD["dpo"], {"prompt": "q", "chosen": "a"}])
            with self.assertRaises(DatasetError) as ctx:
                validate_dataset(path, "dpo")
            message = str(ctx.exception)
            self.assertIn("prefs.jsonl:2", message)
            self.assertIn("missing field 'rejected'", message)
            self.assertIn('"chosen"', message)

    def test_empty_dataset(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "empty.jsonl"
            path.write_text("\n")
            with self.assertRaisesRegex(DatasetError, "the cpt dataset is empty"):
                validate_dataset(path, "cpt")

    def test_missing_dataset(self):
        with self.assertRaisesRegex(DatasetError, "does not exist"):
            validate_dataset(Path("/nonexistent/korean/data.jsonl"), "cpt")


if __name__ == "__main__":
    unittest.main()
