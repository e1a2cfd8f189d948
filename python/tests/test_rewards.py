"""GRPO reward functions."""

import unittest

from korean_llm_trainer.contract import load_contract
from korean_llm_trainer.rewards import (
    REWARD_FUNCTIONS, completion_text, format_reward, korean_ratio_reward, length_reward, no_repetition_reward,
    trl_reward_function,
)


class RewardTest(unittest.TestCase):
    def test_registry_matches_the_contract_choices(self):
        self.assertEqual(set(REWARD_FUNCTIONS), set(load_contract().grpo_reward_functions))

    def test_every_reward_is_in_unit_interval(self):
        samples = ["", "가", "서울은 대한민국의 수도입니다.", "hello " * 500, "<|im_end|> ((", "아 아 아 아 아 아"]
        for name, fn in REWARD_FUNCTIONS.items():
            for text in samples:
                with self.subTest(name=name, text=text[:10]):
                    self.assertTrue(0.0 <= fn(text) <= 1.0)

    def test_korean_ratio(self):
        self.assertEqual(korean_ratio_reward("서울은 수도입니다"), 1.0)
        self.assertEqual(korean_ratio_reward("Seoul is the capital"), 0.0)
        self.assertAlmostEqual(korean_ratio_reward("서울 AB"), 0.5)

    def test_length(self):
        self.assertEqual(length_reward("가" * 10, 20, 800), 0.5)
        self.assertEqual(length_reward("가" * 100, 20, 800), 1.0)
        self.assertEqual(length_reward("가" * 1200, 20, 800), 0.5)
        self.assertEqual(length_reward("가" * 2000, 20, 800), 0.0)

    def test_format(self):
        self.assertEqual(format_reward("서울은 대한민국의 수도입니다."), 1.0)
        self.assertEqual(format_reward("서울은 대한민국의 수도입니다"), 0.75)
        self.assertEqual(format_reward("답: (서울<|im_end|>"), 0.25)
        self.assertEqual(format_reward("   "), 0.0)

    def test_no_repetition(self):
        self.assertEqual(no_repetition_reward("나는 오늘 학교에 가서 친구를 만났다"), 1.0)
        self.assertLess(no_repetition_reward("좋아요 정말 좋아요 " * 10), 0.2)
        self.assertEqual(no_repetition_reward(""), 0.0)

    def test_trl_wrapper_handles_strings_and_messages(self):
        reward = trl_reward_function("korean_ratio")
        self.assertEqual(reward.__name__, "korean_ratio_reward")
        scores = reward(["한국어", [{"role": "assistant", "content": "English"}]], prompts=["q", "q"])
        self.assertEqual(scores, [1.0, 0.0])
        self.assertEqual(completion_text([{"role": "assistant", "content": "가"}, {"role": "assistant", "content": "나"}]), "가나")
        with self.assertRaises(ValueError):
            trl_reward_function("bleu")


if __name__ == "__main__":
    unittest.main()
