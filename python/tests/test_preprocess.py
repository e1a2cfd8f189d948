"""The preprocess command end to end on a small Korean corpus."""

import contextlib
import io
import json
import tempfile
import unittest
from pathlib import Path

from korean_llm_trainer import minhash
from korean_llm_trainer.contract import parse_config
from korean_llm_trainer.errors import DatasetError, MissingDependencyError
from korean_llm_trainer.layout import MARKER_NAME
from korean_llm_trainer.preprocess import CORPUS_NAME, STATS_NAME, PreprocessSettings, main, run_preprocess
from tests.helpers import KOREAN_DOC, OTHER_KOREAN_DOC, valid_env, write_jsonl
from tests.test_minhash import edit

THIRD_DOC = (
    "도서관에는 오래된 책과 새로 들어온 책이 함께 꽂혀 있다. 사서는 매일 아침 반납된 책을 정리하고, 학생들은 창가 "
    "자리에 앉아 조용히 공부한다. 열람실 한쪽에는 신문과 잡지가 놓여 있어 누구나 자유롭게 읽을 수 있다."
)


def corpus_records():
    return [
        {"id": 0, "text": KOREAN_DOC},
        {"id": 1, "text": KOREAN_DOC},  # exact duplicate
        {"id": 2, "text": "  " + KOREAN_DOC.replace(" ", "\u200b ") + "\n"},  # same after cleaning
        {"id": 3, "text": edit(KOREAN_DOC, 2, 11)},  # near duplicate (two syllables changed)
        {"id": 4, "text": OTHER_KOREAN_DOC},
        {"id": 5, "text": "짧은 글"},  # too short
        {"id": 6, "text": "This document is written almost entirely in English, with one word: 안녕."},
        {"id": 7, "title": "no text field"},
        {"id": 8, "text": THIRD_DOC},
        {"id": 9, "text": "   \u200b  "},  # empty after cleaning
    ]


class PreprocessTest(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp())
        self.addCleanup(lambda: __import__("shutil").rmtree(self.tmp))

    def run_on(self, records, name="out", **settings):
        write_jsonl(self.tmp / "raw" / "part-0.jsonl", records[:5])
        write_jsonl(self.tmp / "raw" / "sub" / "part-1.jsonl", records[5:])
        stats = run_preprocess(self.tmp / "raw", self.tmp / name, PreprocessSettings(num_workers=1, **settings))
        kept = [json.loads(line) for line in (self.tmp / name / CORPUS_NAME).read_text(encoding="utf-8").splitlines()]
        return stats, kept

    def test_cleans_filters_and_deduplicates(self):
        stats, kept = self.run_on(corpus_records())
        self.assertEqual([r["id"] for r in kept], [0, 4, 8])
        self.assertEqual(stats["docs_in"], 10)
        self.assertEqual(stats["docs_out"], 3)
        self.assertEqual(stats["removed"], {"invalid": 1, "empty": 1, "too_short": 1, "too_long": 0, "low_hangul": 1,
                                            "exact_duplicate": 2, "near_duplicate": 1})
        self.assertGreater(stats["bytes_in"], stats["bytes_out"])
        self.assertEqual(json.loads((self.tmp / "out" / STATS_NAME).read_text())["docs_out"], 3)
        self.assertEqual(len(stats["files"]), 2)

    def test_output_is_cleaned_text_with_other_fields_kept(self):
        _, kept = self.run_on([{"id": "x", "source": "web", "text": "  서울의   하늘은\u200b 맑고 푸르다.\r\n\r\n\r\n바람이 분다. " * 3}])
        self.assertEqual(kept[0]["source"], "web")
        self.assertNotIn("\u200b", kept[0]["text"])
        self.assertNotIn("  ", kept[0]["text"])

    def test_same_output_with_several_workers(self):
        records = corpus_records() * 3
        _, one = self.run_on(records, "one")
        stats, two = run_preprocess(self.tmp / "raw", self.tmp / "two", PreprocessSettings(num_workers=2)), None
        two = (self.tmp / "two" / CORPUS_NAME).read_text(encoding="utf-8")
        self.assertEqual(two, (self.tmp / "one" / CORPUS_NAME).read_text(encoding="utf-8"))
        self.assertEqual(stats["docs_out"], len(one))

    def test_pure_and_numpy_paths_give_the_same_corpus(self):
        if not minhash.numpy_available():
            self.skipTest("numpy is not installed")
        _, pure = self.run_on(corpus_records(), "pure", use_numpy=False)
        _, vec = self.run_on(corpus_records(), "vec", use_numpy=True)
        self.assertEqual(pure, vec)

    def test_threshold_one_keeps_near_duplicates(self):
        stats, _ = self.run_on(corpus_records(), dedup_threshold=1.0)
        self.assertEqual(stats["removed"]["near_duplicate"], 0)

    def test_invalid_json_names_file_and_line(self):
        path = self.tmp / "bad.jsonl"
        path.write_text('{"text": "가나다"}\n{not json\n', encoding="utf-8")
        with self.assertRaisesRegex(DatasetError, r"bad\.jsonl:2: not valid JSON"):
            run_preprocess(path, self.tmp / "out", PreprocessSettings(num_workers=1))

    def test_missing_and_empty_inputs(self):
        with self.assertRaisesRegex(DatasetError, "does not exist"):
            run_preprocess(self.tmp / "nope", self.tmp / "out", PreprocessSettings())
        (self.tmp / "empty").mkdir()
        with self.assertRaisesRegex(DatasetError, "no \\*.jsonl"):
            run_preprocess(self.tmp / "empty", self.tmp / "out", PreprocessSettings())
        (self.tmp / "blank.jsonl").write_text("\n\n", encoding="utf-8")
        with self.assertRaisesRegex(DatasetError, "no records"):
            run_preprocess(self.tmp / "blank.jsonl", self.tmp / "out", PreprocessSettings())

    def test_sentence_splitting_needs_kss(self):
        from korean_llm_trainer.deps import is_available
        if is_available("kss"):
            self.skipTest("kss is installed")
        write_jsonl(self.tmp / "in.jsonl", [{"text": KOREAN_DOC}])
        with self.assertRaisesRegex(MissingDependencyError, "'kss' is not installed.*python/Dockerfile"):
            run_preprocess(self.tmp / "in.jsonl", self.tmp / "out", PreprocessSettings(split_sentences=True))

    def test_command_writes_marker_and_is_idempotent(self):
        write_jsonl(self.tmp / "in.jsonl", corpus_records())
        config = parse_config("preprocess", valid_env("preprocess", DATA_PATH=str(self.tmp / "in.jsonl"),
                                                      OUTPUT_DIR=str(self.tmp / "clean"), NUM_WORKERS="1"))
        with contextlib.redirect_stdout(io.StringIO()):
            self.assertEqual(main(config), 0)
        marker = json.loads((self.tmp / "clean" / MARKER_NAME).read_text())
        self.assertEqual(marker["stage"], "preprocess")
        self.assertEqual(marker["metrics"]["docs_out"], 3)
        (self.tmp / "clean" / CORPUS_NAME).write_text("kept", encoding="utf-8")
        with contextlib.redirect_stdout(io.StringIO()) as out:
            self.assertEqual(main(config), 0)
        self.assertIn("nothing to do", out.getvalue())
        self.assertEqual((self.tmp / "clean" / CORPUS_NAME).read_text(), "kept")


if __name__ == "__main__":
    unittest.main()
