"""MinHash signatures (numpy and pure paths identical), banding and near-duplicate decisions."""

import random
import unittest
from array import array

from korean_llm_trainer import minhash
from korean_llm_trainer.minhash import (
    MASK32, MERSENNE_PRIME, SHINGLE_BASE, NearDuplicateIndex, estimated_jaccard, make_params, optimal_bands,
    shingle_hashes, signature, signature_pure,
)
from tests.helpers import KOREAN_DOC, OTHER_KOREAN_DOC


def edit(text: str, count: int, seed: int) -> str:
    """Replace ``count`` characters with other Hangul syllables."""
    rng = random.Random(seed)
    chars = list(text)
    for _ in range(count):
        chars[rng.randrange(len(chars))] = chr(0xAC00 + rng.randrange(11172))
    return "".join(chars)


class ShingleHashTest(unittest.TestCase):
    def test_hand_computed_polynomial_hash(self):
        text = "가나다"
        a, b, c = (ord(ch) for ch in text)
        expected_ab = (a * SHINGLE_BASE + b) & MASK32
        expected_bc = (b * SHINGLE_BASE + c) & MASK32
        self.assertEqual(shingle_hashes(text, 2), [expected_ab, expected_bc])

    def test_rolling_equals_direct(self):
        text = KOREAN_DOC[:60]
        direct = []
        for i in range(len(text) - 4):
            h = 0
            for ch in text[i : i + 5]:
                h = (h * SHINGLE_BASE + ord(ch)) & MASK32
            direct.append(h)
        self.assertEqual(shingle_hashes(text, 5), direct)

    def test_short_text_is_one_shingle(self):
        self.assertEqual(len(shingle_hashes("가나", 5)), 1)
        self.assertEqual(shingle_hashes("", 5), [])


class SignatureTest(unittest.TestCase):
    def test_pure_signature_against_hand_computed_values(self):
        params = minhash.MinHashParams(num_perm=2, shingle_size=2, a=(3, 5), b=(7, 11))
        xs = set(shingle_hashes("가나다", 2))
        expected = [min((3 * x + 7) % MERSENNE_PRIME for x in xs), min((5 * x + 11) % MERSENNE_PRIME for x in xs)]
        self.assertEqual(list(signature_pure("가나다", params)), expected)

    def test_pure_lanes_are_exact_at_the_edges(self):
        text = "가나다라마바사"
        xs = set(shingle_hashes(text, 5))
        x0 = min(xs) % MERSENNE_PRIME
        a = (1, 1, 3)
        b = ((MERSENNE_PRIME - x0) % MERSENNE_PRIME, (MERSENNE_PRIME - 1 - x0) % MERSENNE_PRIME, 12345)
        params = minhash.MinHashParams(3, 5, a, b)
        expected = [min((ai * x + bi) % MERSENNE_PRIME for x in xs) for ai, bi in zip(a, b)]
        self.assertEqual(expected[0], 0)
        self.assertEqual(list(signature_pure(text, params)), expected)
        if minhash.numpy_available():
            self.assertEqual(list(signature(text, params, use_numpy=True)), expected)

    def test_params_are_deterministic(self):
        self.assertEqual(make_params(16, 5, 7), make_params(16, 5, 7))
        self.assertNotEqual(make_params(16, 5, 7), make_params(16, 5, 8))

    def test_empty_text_has_the_maximal_signature(self):
        params = make_params(8)
        self.assertEqual(list(signature_pure("", params)), [MERSENNE_PRIME] * 8)

    def test_numpy_and_pure_paths_are_identical(self):
        if not minhash.numpy_available():
            self.skipTest("numpy is not installed: the pure path is checked against hand-computed values above")
        params = make_params()
        texts = [KOREAN_DOC, OTHER_KOREAN_DOC, "가", "ab", "😀 이모지와 한자 漢字 혼합 텍스트", KOREAN_DOC * 30]
        for text in texts:
            with self.subTest(text=text[:10]):
                self.assertEqual(signature(text, params, use_numpy=True), signature_pure(text, params))

    def test_estimate_tracks_jaccard(self):
        params = make_params()
        same = estimated_jaccard(signature_pure(KOREAN_DOC, params), signature_pure(KOREAN_DOC, params))
        near = estimated_jaccard(signature_pure(KOREAN_DOC, params), signature_pure(edit(KOREAN_DOC, 3, 1), params))
        far = estimated_jaccard(signature_pure(KOREAN_DOC, params), signature_pure(OTHER_KOREAN_DOC, params))
        self.assertEqual(same, 1.0)
        self.assertGreater(near, 0.8)
        self.assertLess(far, 0.1)


class LshTest(unittest.TestCase):
    def test_optimal_bands_fit_the_permutations(self):
        for threshold in (0.5, 0.8, 0.95):
            bands, rows = optimal_bands(threshold, 128)
            self.assertLessEqual(bands * rows, 128)
        self.assertEqual(optimal_bands(0.8, 128), (9, 13))
        # a lower threshold needs more, shorter bands
        self.assertGreater(optimal_bands(0.5, 128)[0], optimal_bands(0.9, 128)[0])

    def test_index_finds_near_duplicates_and_keeps_distinct_documents(self):
        params = make_params()
        index = NearDuplicateIndex(0.8, params.num_perm)
        self.assertIsNone(index.check_and_add(signature_pure(KOREAN_DOC, params)))
        self.assertIsNone(index.check_and_add(signature_pure(OTHER_KOREAN_DOC, params)))
        self.assertEqual(index.check_and_add(signature_pure(edit(KOREAN_DOC, 2, 3), params)), 0)
        self.assertEqual(index.check_and_add(signature_pure(edit(OTHER_KOREAN_DOC, 1, 4), params)), 1)
        self.assertEqual(len(index), 2)

    def test_rejects_a_signature_of_the_wrong_length(self):
        with self.assertRaises(ValueError):
            NearDuplicateIndex(0.8, 128).add(array("I", [1, 2, 3]))


if __name__ == "__main__":
    unittest.main()
