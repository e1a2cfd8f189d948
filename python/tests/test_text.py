"""Korean text cleaning and filters."""

import unicodedata
import unittest

from korean_llm_trainer.text import (
    clean_text, filter_reason, fold_whitespace, hangul_ratio, normalize_unicode, remove_invisible,
)


class CleaningTest(unittest.TestCase):
    def test_nfc_joins_decomposed_jamo(self):
        decomposed = unicodedata.normalize("NFD", "한국어")
        self.assertEqual(len(decomposed), 8)
        self.assertEqual(normalize_unicode(decomposed), "한국어")

    def test_crlf_becomes_lf(self):
        self.assertEqual(normalize_unicode("가\r\n나\r다"), "가\n나\n다")

    def test_removes_zero_width_control_and_filler_characters(self):
        dirty = "안\u200b녕\u200d하\ufeff세\u00ad요\x07 \u3164반갑\u2060습니다\ue000\ud800"
        self.assertEqual(remove_invisible(dirty), "안녕하세요 반갑습니다")

    def test_keeps_tabs_and_newlines_for_folding(self):
        self.assertEqual(remove_invisible("가\t나\n다"), "가\t나\n다")

    def test_folds_whitespace(self):
        self.assertEqual(fold_whitespace("  가   나\t\t다 \n\n\n\n 라\u3000마  "), "가 나 다\n\n라 마")

    def test_clean_text_applies_every_step(self):
        raw = unicodedata.normalize("NFD", " 서울은\u200b  대한민국의\r\n\r\n\r\n수도이다. ")
        self.assertEqual(clean_text(raw), "서울은 대한민국의\n\n수도이다.")

    def test_clean_text_with_a_sentence_splitter(self):
        split = lambda paragraph: paragraph.replace(". ", ".\n").split("\n")  # noqa: E731
        self.assertEqual(clean_text("밥을 먹었다. 학교에 갔다.\n\n비가 온다.", split),
                         "밥을 먹었다.\n학교에 갔다.\n\n비가 온다.")


class FilterTest(unittest.TestCase):
    def test_hangul_ratio_counts_letters_only(self):
        self.assertEqual(hangul_ratio("한국어 ABC"), 0.5)
        self.assertEqual(hangul_ratio("한국어 123 !!!"), 1.0)
        self.assertEqual(hangul_ratio("12345"), 0.0)
        self.assertAlmostEqual(hangul_ratio("ㅋㅋㅋ lol"), 0.5)

    def test_reasons(self):
        self.assertEqual(filter_reason("", 1, 100, 0.3), "empty")
        self.assertEqual(filter_reason("짧다", 5, 100, 0.3), "too_short")
        self.assertEqual(filter_reason("가" * 101, 5, 100, 0.3), "too_long")
        self.assertEqual(filter_reason("This is English text mostly 한", 5, 100, 0.3), "low_hangul")
        self.assertIsNone(filter_reason("이것은 충분히 긴 한국어 문장입니다", 5, 100, 0.3))

    def test_zero_ratio_disables_the_hangul_filter(self):
        self.assertIsNone(filter_reason("English only text", 5, 100, 0.0))


if __name__ == "__main__":
    unittest.main()
