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
        self.assertEqual({k: v for k, v in stats["removed"].items() if v},
                         {"invalid": 1, "empty": 1, "too_short": 1, "low_hangul": 1, "exact_duplicate": 2,
                          "near_duplicate": 1})
        self.assertGreater(stats["bytes_in"], stats["bytes_out"])
        self.assertEqual(json.loads((self.tmp / "out" / STATS_NAME).read_text())["docs_out"], 3)
        self.assertEqual(len(stats["files"]), 2)

    def test_output_is_cleaned_text_with_other_fields_kept(self):
        _, kept = self.run_on([{"id": "x", "source": "web", "text": "  서울의   하늘은\u200b 맑고 푸르다.\r\n\r\n\r\n바람이 분다. " * 3}],
                              quality_filters=False)
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

    def test_invalid_json_lines_are_skipped_and_counted_with_their_place(self):
        path = self.tmp / "bad.jsonl"
        lines = [json.dumps({"text": KOREAN_DOC}, ensure_ascii=False), "{not json", '{"text": "잘린',
                 json.dumps({"text": OTHER_KOREAN_DOC}, ensure_ascii=False)]
        path.write_bytes(("\n".join(lines) + "\n").encode() + b"\xff\xfe\n")
        stats = run_preprocess(path, self.tmp / "out", PreprocessSettings(num_workers=1))
        self.assertEqual((stats["docs_in"], stats["docs_out"], stats["removed"]["invalid_json"]), (5, 2, 3))
        self.assertRegex(stats["invalid_json_examples"][0], r"bad\.jsonl:2: not valid JSON")
        self.assertRegex(stats["invalid_json_examples"][2], r"bad\.jsonl:5: ")

    def test_quality_filters_drop_spam_and_strip_boilerplate_lines(self):
        spam = "ㅋㅋㅋㅋㅋㅋㅋㅋ 대박 ㅋㅋㅋㅋㅋㅋㅋㅋ 진짜 웃기다 ㅎㅎㅎㅎㅎㅎㅎ " * 4
        ad = "지금 바로 클릭하세요 최저가 보장 이벤트 " * 12
        menu = "\n".join(["홈으로 가기 메뉴", KOREAN_DOC[:60], "홈으로 가기 메뉴", "홈으로 가기 메뉴", "홈으로 가기 메뉴"])
        news = KOREAN_DOC + "\n홍길동 기자 hong@news.example\n저작권자 © 예시일보 무단전재 및 재배포 금지"
        stats, kept = self.run_on([{"id": 1, "text": spam}, {"id": 2, "text": ad}, {"id": 3, "text": menu},
                                   {"id": 4, "text": news}])
        self.assertEqual([r["id"] for r in kept], [4])
        self.assertEqual(kept[0]["text"], KOREAN_DOC)
        self.assertEqual(stats["boilerplate_lines"], 2)
        self.assertEqual({k: v for k, v in stats["removed"].items() if v},
                         {"repeated_chars": 1, "repeated_words": 1, "repeated_lines": 1})
        stats, kept = self.run_on([{"id": 1, "text": spam}, {"id": 4, "text": news}], "off", quality_filters=False)
        self.assertEqual(len(kept), 2)

    def test_an_interrupted_run_resumes_and_writes_the_same_corpus(self):
        records = corpus_records() * 3
        _, whole = self.run_on(records, "whole")
        with self.assertRaises(KeyboardInterrupt):
            run_preprocess(self.tmp / "raw", self.tmp / "cut", PreprocessSettings(num_workers=1), stop_after=7)
        progress = json.loads((self.tmp / "cut" / ".work" / "progress.json").read_text())
        self.assertEqual(progress["phase"], "scan")
        stats = run_preprocess(self.tmp / "raw", self.tmp / "cut", PreprocessSettings(num_workers=1))
        self.assertEqual(stats["resumed_from"]["line"], 2)  # the 7th record is line 2 of the second file
        self.assertEqual((self.tmp / "cut" / CORPUS_NAME).read_text(), (self.tmp / "whole" / CORPUS_NAME).read_text())
        self.assertEqual(stats["docs_in"], len(records))
        self.assertFalse((self.tmp / "cut" / ".work").exists())

    def test_a_resume_with_other_settings_starts_over(self):
        raw = write_jsonl(self.tmp / "raw.jsonl", corpus_records())
        with self.assertRaises(KeyboardInterrupt):
            run_preprocess(raw, self.tmp / "o", PreprocessSettings(num_workers=1), stop_after=3)
        stats = run_preprocess(self.tmp / "raw.jsonl", self.tmp / "o", PreprocessSettings(num_workers=1, min_chars=10))
        self.assertNotIn("resumed_from", stats)
        self.assertEqual(stats["docs_in"], 10)

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


class OutOfCoreDedupTest(unittest.TestCase):
    """The on-disk decisions against the in-memory rule, and bounded work in crowded buckets."""

    def test_same_decisions_as_the_in_memory_index(self):
        import random
        from array import array

        from korean_llm_trainer import dedup
        rng = random.Random(3)
        syllables = [chr(0xAC00 + rng.randrange(11172)) for _ in range(400)]
        docs = []
        for i in range(300):
            if docs and rng.random() < 0.3:
                base = rng.choice(docs)
                docs.append(edit(base, rng.randint(1, 6), rng.randrange(len(base) - 6)))
            else:
                docs.append(" ".join("".join(rng.choices(syllables, k=rng.randint(1, 3))) for _ in range(60)))
        params = minhash.make_params()
        settings = PreprocessSettings()
        bands, rows = settings.lsh
        index = minhash.NearDuplicateIndex(0.8, minhash.DEFAULT_NUM_PERM)
        expected = []
        with tempfile.TemporaryDirectory() as tmp:
            store = dedup.DedupStore(Path(tmp), minhash.DEFAULT_NUM_PERM, bands, 16)
            for i, text in enumerate(docs):
                sig = minhash.signature(text, params, False)
                digest = i.to_bytes(16, "little")
                expected.append(index.check_and_add(sig) is None)
                store.add(b"x\n", digest, sig.tobytes(), dedup.band_keys(sig, bands, rows))
            store.close()
            stats = {}
            status = store.decide(0.8, stats)
        self.assertEqual([s == dedup.KEPT for s in status], expected)
        self.assertGreater(expected.count(False), 30)

    def test_a_crowded_bucket_costs_a_bounded_number_of_comparisons(self):
        from array import array

        from korean_llm_trainer import dedup
        n, perm = 400, minhash.DEFAULT_NUM_PERM
        bands, rows = PreprocessSettings().lsh
        with tempfile.TemporaryDirectory() as tmp:
            store = dedup.DedupStore(Path(tmp), perm, bands, 16)
            for i in range(n):  # every document shares band 0 and differs everywhere else
                sig = array("I", [7] * rows + [i * perm + j for j in range(perm - rows)])
                store.add(b"x\n", i.to_bytes(16, "little"), sig.tobytes(), dedup.band_keys(sig, bands, rows))
            store.close()
            stats = {}
            status = store.decide(0.8, stats)
        self.assertEqual(set(status), {dedup.KEPT})
        bound = dedup.FIRST_CANDIDATES + dedup.PREVIOUS_CANDIDATES
        self.assertLessEqual(stats["lsh_comparisons"], n * bound)  # not n * (n - 1) / 2 = 79,800
        self.assertEqual(stats["lsh_capped_documents"], n - bound - 1)


class QualityFiltersSettingTest(unittest.TestCase):
    """QUALITY_FILTERS is a contract variable: parsed with the contract's type and default."""

    def test_defaults_to_on_and_can_be_switched_off(self):
        on = PreprocessSettings.from_config(parse_config("preprocess", valid_env("preprocess")))
        self.assertTrue(on.quality_filters)
        off = PreprocessSettings.from_config(parse_config("preprocess", valid_env("preprocess", QUALITY_FILTERS="false")))
        self.assertFalse(off.quality_filters)

    def test_fails_when_not_a_bool(self):
        with self.assertRaisesRegex(Exception, "QUALITY_FILTERS"):
            parse_config("preprocess", valid_env("preprocess", QUALITY_FILTERS="maybe"))
