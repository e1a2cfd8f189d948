"""Pure TRL / Transformers / PEFT argument builders."""

import unittest
from pathlib import Path

from korean_llm_trainer.contract import parse_config
from korean_llm_trainer import training_args as targs
from korean_llm_trainer.errors import ContractError
from korean_llm_trainer.training_args import (
    DistInfo, choose_backend, dist_info, embedding_learning_rate, is_embedding_parameter, lora_kwargs,
    model_load_kwargs, param_groups, preference_config_kwargs, report_to, resume_kwargs, sft_config_kwargs,
    check_hyperparameters, unsloth_cpt_kwargs,
)
from tests.helpers import valid_env

OUT = Path("/output/runs/r/m/sft/checkpoints")
ONE = DistInfo()


def config(command, **env):
    return parse_config(command, valid_env(command, LEARNING_RATE="2e-5", **env))


class DistTest(unittest.TestCase):
    def test_reads_torchrun_env(self):
        dist = dist_info({"WORLD_SIZE": "8", "RANK": "5", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "4", "PET_NNODES": "2"})
        self.assertEqual((dist.world_size, dist.rank, dist.local_rank, dist.nnodes), (8, 5, 1, 2))
        self.assertFalse(dist.is_main)
        self.assertFalse(dist.single_node)

    def test_nodes_from_world_size_without_pet_nnodes(self):
        self.assertEqual(dist_info({"WORLD_SIZE": "4", "LOCAL_WORLD_SIZE": "4"}).nnodes, 1)
        self.assertEqual(dist_info({"WORLD_SIZE": "8", "LOCAL_WORLD_SIZE": "4"}).nnodes, 2)
        self.assertEqual(dist_info({"PET_NNODES": "1:3"}).nnodes, 3)
        self.assertEqual(dist_info({}), DistInfo())

    def test_bad_values(self):
        with self.assertRaisesRegex(ContractError, "'PET_NNODES'"):
            dist_info({"PET_NNODES": "two"})

    def test_backend(self):
        self.assertEqual(choose_backend(DistInfo(4, 0, 0, 4, 1), True), "unsloth")
        self.assertEqual(choose_backend(DistInfo(8, 0, 0, 4, 2), True), "transformers")
        self.assertEqual(choose_backend(ONE, False), "transformers")


class SftConfigTest(unittest.TestCase):
    def test_sft_kwargs_use_the_current_trl_names(self):
        kwargs = sft_config_kwargs(config("sft", MAX_SEQ_LENGTH="2048", SAVE_STEPS="250"), OUT, True, "unsloth", ONE)
        self.assertEqual(kwargs["max_length"], 2048)
        self.assertNotIn("max_seq_length", kwargs)
        self.assertNotIn("tokenizer", kwargs)
        self.assertIs(kwargs["packing"], True)
        self.assertNotIn("dataset_text_field", kwargs)  # chat data: conversational format
        self.assertEqual(kwargs["save_steps"], 250)
        self.assertEqual(kwargs["save_strategy"], "steps")
        self.assertEqual(kwargs["output_dir"], str(OUT))
        self.assertEqual(kwargs["learning_rate"], 2e-5)
        self.assertEqual(kwargs["run_name"], "qwen2-5-7b-qwen2-5-7b-sft")

    def test_cpt_reads_the_text_field(self):
        kwargs = sft_config_kwargs(config("cpt"), OUT, True, "transformers", ONE)
        self.assertEqual(kwargs["dataset_text_field"], "text")
        self.assertTrue(kwargs["gradient_checkpointing"])

    def test_bf16_when_supported_fp16_otherwise(self):
        self.assertEqual({k: sft_config_kwargs(config("sft"), OUT, True, "unsloth", ONE)[k] for k in ("bf16", "fp16")},
                         {"bf16": True, "fp16": False})
        self.assertEqual({k: sft_config_kwargs(config("sft"), OUT, False, "unsloth", ONE)[k] for k in ("bf16", "fp16")},
                         {"bf16": False, "fp16": True})

    def test_report_to_follows_wandb_and_mlflow_presence(self):
        self.assertEqual(report_to(config("sft")), ["none"])
        self.assertEqual(report_to(config("sft", WANDB_API_KEY="k")), ["wandb"])
        self.assertEqual(report_to(config("sft", MLFLOW_TRACKING_URI="http://mlflow:5000")), ["mlflow"])
        self.assertEqual(report_to(config("sft", WANDB_API_KEY="k", MLFLOW_TRACKING_URI="http://m")), ["wandb", "mlflow"])

    def test_ddp_settings(self):
        kwargs = sft_config_kwargs(config("sft"), OUT, True, "transformers", DistInfo(8, 0, 0, 4, 2))
        self.assertIs(kwargs["ddp_find_unused_parameters"], False)

    def test_resume(self):
        self.assertEqual(resume_kwargs(None), {})
        self.assertEqual(resume_kwargs(OUT / "checkpoint-500"), {"resume_from_checkpoint": str(OUT / "checkpoint-500")})


class ArgumentsClassTest(unittest.TestCase):
    def test_warmup_ratio_kept_where_the_class_takes_it(self):
        kwargs = {"warmup_ratio": 0.03, "learning_rate": 1e-5}
        self.assertEqual(targs.adapt_to_fields(kwargs, ["warmup_ratio", "warmup_steps", "learning_rate"]), kwargs)

    def test_warmup_ratio_becomes_fractional_warmup_steps_on_transformers_5(self):
        adapted = targs.adapt_to_fields({"warmup_ratio": 0.03, "learning_rate": 1e-5}, ["warmup_steps", "learning_rate"])
        self.assertEqual(adapted, {"warmup_steps": 0.03, "learning_rate": 1e-5})
        # a ratio of 1 must stay a ratio (warmup_steps >= 1 counts steps)
        self.assertLess(targs.adapt_to_fields({"warmup_ratio": 1.0}, ["warmup_steps"])["warmup_steps"], 1)

    def test_build_arguments_reads_the_dataclass_fields(self):
        import dataclasses

        @dataclasses.dataclass
        class V5Args:
            output_dir: str
            warmup_steps: float = 0

        args = targs.build_arguments(V5Args, {"output_dir": "/out", "warmup_ratio": 0.1})
        self.assertEqual(args, V5Args(output_dir="/out", warmup_steps=0.1))


class CptTest(unittest.TestCase):
    def test_embedding_learning_rate(self):
        self.assertAlmostEqual(embedding_learning_rate(config("cpt")), 2e-6)
        self.assertEqual(embedding_learning_rate(config("cpt", EMBEDDING_LEARNING_RATE="5e-6")), 5e-6)
        self.assertAlmostEqual(unsloth_cpt_kwargs(config("cpt"), OUT, True, ONE)["embedding_learning_rate"], 2e-6)

    def test_lora_targets_embeddings_for_cpt(self):
        unsloth = lora_kwargs(config("cpt"), "unsloth")
        self.assertIn("embed_tokens", unsloth["target_modules"])
        self.assertIn("lm_head", unsloth["target_modules"])
        self.assertEqual(unsloth["use_gradient_checkpointing"], "unsloth")
        plain = lora_kwargs(config("cpt"), "transformers")
        self.assertEqual(plain["modules_to_save"], ["embed_tokens", "lm_head"])
        self.assertNotIn("embed_tokens", plain["target_modules"])
        self.assertNotIn("modules_to_save", lora_kwargs(config("sft"), "transformers"))
        self.assertEqual((plain["r"], plain["lora_alpha"], plain["lora_dropout"]), (64, 16, 0.1))

    def test_param_groups_give_embeddings_their_own_rate(self):
        names = ["base_model.model.model.embed_tokens.modules_to_save.default.weight",
                 "base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight",
                 "base_model.model.model.layers.0.input_layernorm.weight",
                 "base_model.model.lm_head.modules_to_save.default.weight"]
        groups = param_groups(((n, n) for n in names), 1e-4, 1e-5, 0.01)
        by_param = {p: (g["lr"], g["weight_decay"]) for g in groups for p in g["params"]}
        self.assertEqual(by_param[names[0]], (1e-5, 0.01))
        self.assertEqual(by_param[names[1]], (1e-4, 0.01))
        self.assertEqual(by_param[names[2]], (1e-4, 0.0))
        self.assertEqual(by_param[names[3]], (1e-5, 0.01))
        self.assertFalse(is_embedding_parameter("model.layers.0.mlp.up_proj.weight"))


class PreferenceTest(unittest.TestCase):
    def test_dpo(self):
        kwargs = preference_config_kwargs(config("rlhf", RLHF_BETA="0.2"), OUT, True, "unsloth", ONE)
        self.assertEqual((kwargs["beta"], kwargs["loss_type"], kwargs["max_length"], kwargs["max_prompt_length"]),
                         (0.2, "sigmoid", 4096, 2048))

    def test_grpo(self):
        kwargs = preference_config_kwargs(config("rlhf", RLHF_METHOD="grpo"), OUT, True, "unsloth", ONE)
        self.assertEqual((kwargs["num_generations"], kwargs["max_completion_length"], kwargs["max_prompt_length"]),
                         (8, 512, 3584))
        self.assertNotIn("max_length", kwargs)

    def test_grpo_batch_must_be_divisible_by_generations(self):
        check_hyperparameters(config("rlhf", RLHF_METHOD="grpo"), ONE)
        bad = config("rlhf", RLHF_METHOD="grpo", PER_DEVICE_BATCH_SIZE="1", GRADIENT_ACCUMULATION_STEPS="3")
        with self.assertRaisesRegex(ContractError, "'GRPO_NUM_GENERATIONS' must divide .* = 3\\), got 8"):
            check_hyperparameters(bad, ONE)
        check_hyperparameters(bad, DistInfo(8, 0, 0, 8, 1))  # 1 x 8 x 3 = 24

    def test_grpo_completion_must_fit(self):
        with self.assertRaisesRegex(ContractError, "'MAX_COMPLETION_LENGTH'"):
            check_hyperparameters(config("rlhf", RLHF_METHOD="grpo", MAX_SEQ_LENGTH="512", MAX_COMPLETION_LENGTH="512"), ONE)


class LoadTest(unittest.TestCase):
    def test_unsloth_and_plain_loading(self):
        cfg = config("sft", BASE_MODEL_PATH="unsloth/Qwen2.5-7B-bnb-4bit", MAX_SEQ_LENGTH="2048")
        unsloth = model_load_kwargs(cfg, "unsloth", True, ONE)
        self.assertEqual(unsloth, {"model_name": "unsloth/Qwen2.5-7B-bnb-4bit", "max_seq_length": 2048,
                                   "dtype": "bfloat16", "load_in_4bit": True})
        plain = model_load_kwargs(cfg, "transformers", False, DistInfo(8, 6, 2, 4, 2))
        self.assertEqual(plain["device_map"], {"": 2})
        self.assertEqual(plain["quantization"]["bnb_4bit_compute_dtype"], "float16")
        self.assertNotIn("quantization", model_load_kwargs(config("sft", LOAD_IN_4BIT="false"), "transformers", True, ONE))


if __name__ == "__main__":
    unittest.main()


class ChoicesTest(unittest.TestCase):
    """Loss masking, packing, KTO batch and tied embeddings."""

    def test_sft_never_trains_on_system_and_user_turns(self):
        self.assertEqual(targs.sft_loss_kwargs("{% for m in messages %}{% generation %}{{ m }}{% endgeneration %}"),
                         {"assistant_only_loss": True})
        self.assertEqual(targs.sft_loss_kwargs("{%- generation -%}"), {"assistant_only_loss": True})
        qwen_like = "{% for message in messages %}<|im_start|>{{ message.role }}{{ message.content }}{% endfor %}"
        self.assertEqual(targs.sft_loss_kwargs(qwen_like), {"completion_only_loss": True})
        kwargs = sft_config_kwargs(config("sft"), OUT, True, "unsloth", ONE, chat_template=qwen_like)
        self.assertIs(kwargs["completion_only_loss"], True)
        self.assertNotIn("assistant_only_loss", kwargs)

    def test_conversations_become_prompt_completion_pairs(self):
        record = {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u1"},
                               {"role": "assistant", "content": "a1"}, {"role": "user", "content": "u2"},
                               {"role": "assistant", "content": "a2"}]}
        pair = targs.to_prompt_completion(record)
        self.assertEqual([m["content"] for m in pair["prompt"]], ["s", "u1", "a1", "u2"])
        self.assertEqual(pair["completion"], [{"role": "assistant", "content": "a2"}])
        from korean_llm_trainer.errors import DatasetError
        with self.assertRaisesRegex(DatasetError, "no assistant turn"):
            targs.to_prompt_completion({"messages": [{"role": "user", "content": "u"}]})

    def test_packing_never_lets_conversations_see_each_other(self):
        self.assertEqual(targs.packing_kwargs(config("cpt"), "transformers", False),
                         {"packing": True, "packing_strategy": "wrapped"})
        self.assertEqual(targs.packing_kwargs(config("sft"), "transformers", False), {"packing": False})
        self.assertEqual(targs.packing_kwargs(config("sft"), "transformers", True)["padding_free"], True)
        self.assertEqual(targs.packing_kwargs(config("sft"), "unsloth", False)["packing_strategy"], "bfd")
        self.assertEqual(targs.packing_kwargs(config("sft", PACKING="false"), "unsloth", True), {"packing": False})
        self.assertEqual(model_load_kwargs(config("sft"), "transformers", True, ONE)["attn_implementation"], "sdpa")
        self.assertEqual(model_load_kwargs(config("sft"), "transformers", True, ONE, True)["attn_implementation"],
                         "flash_attention_2")

    def test_kto_needs_two_examples_per_device(self):
        check_hyperparameters(config("rlhf", RLHF_METHOD="kto", PER_DEVICE_BATCH_SIZE="2"), ONE)
        with self.assertRaisesRegex(ContractError, "'PER_DEVICE_BATCH_SIZE' must be at least 2 with RLHF_METHOD=kto.*got 1"):
            check_hyperparameters(config("rlhf", RLHF_METHOD="kto", PER_DEVICE_BATCH_SIZE="1"), DistInfo(8, 0, 0, 8, 1))
        check_hyperparameters(config("rlhf", RLHF_METHOD="dpo", PER_DEVICE_BATCH_SIZE="1"), ONE)

    def test_tied_embeddings_stay_tied(self):
        plain = lora_kwargs(config("cpt"), "transformers", tied_embeddings=True)
        self.assertIs(plain["ensure_weight_tying"], True)
        self.assertNotIn("ensure_weight_tying", lora_kwargs(config("cpt"), "transformers"))
        self.assertNotIn("ensure_weight_tying", lora_kwargs(config("sft"), "transformers", tied_embeddings=True))
        self.assertEqual(choose_backend(ONE, True, "cpt", tied_embeddings=True), "transformers")
        self.assertEqual(choose_backend(ONE, True, "sft", tied_embeddings=True), "unsloth")

    def test_multi_process_runs_wait_long_enough_for_dataset_preparation(self):
        kwargs = sft_config_kwargs(config("cpt"), OUT, True, "transformers", DistInfo(8, 0, 0, 4, 2),
                                   targs.RunSettings(ddp_timeout=7200, dataset_num_proc=6))
        self.assertEqual((kwargs["ddp_timeout"], kwargs["dataset_num_proc"]), (7200, 6))

    def test_the_cpt_optimizer_matches_the_optim_setting(self):
        self.assertEqual(targs.optimizer_spec(config("cpt"), True)[0], "bitsandbytes.optim.AdamW8bit")
        name, kwargs = targs.optimizer_spec(config("cpt", LOAD_IN_4BIT="false"), True)
        self.assertEqual((name, kwargs["fused"], kwargs["lr"]), ("torch.optim.AdamW", True, 2e-5))
