"""GPU smoke test of the plain Transformers + PEFT training path (not run by the unit tests).

Needs torch, transformers and peft (no TRL, Unsloth, datasets nor network). It builds a tiny,
randomly initialised Llama-style causal LM and a character-level tokenizer in a temporary
directory, then, with the package's own pieces (contract parsing, ``load_model``, the
TrainingArguments builder, CPT parameter groups, checkpoint discovery, metrics callback,
``merge_adapter``, completion marker):

1. trains the LoRA model for a few dozen steps and "kills" the run after a checkpoint (an
   exception raised from a callback), leaving a half-written newer checkpoint behind;
2. restarts: picks the newest *valid* checkpoint, resumes from it and finishes;
3. prints loss and tokens/s, scrapes the metrics endpoint;
4. merges the adapter into ``model/``, reloads the merged model and checks that its logits match
   the adapted model's.

    python3 python/scripts/gpu_smoke.py [--steps 40] [--keep]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import transformers  # noqa: E402
from tokenizers import Regex, Tokenizer, models, pre_tokenizers  # noqa: E402

from korean_llm_trainer import training_args as targs  # noqa: E402
from korean_llm_trainer.contract import parse_config  # noqa: E402
from korean_llm_trainer.deps import dtype_kwargs  # noqa: E402
from korean_llm_trainer.export import merge_adapter  # noqa: E402
from korean_llm_trainer.layout import (  # noqa: E402
    adapter_dir, build_marker, checkpoints_dir, latest_valid_checkpoint, model_dir, write_marker,
)
from korean_llm_trainer.metrics import MetricsState, StdlibExporter, make_trainer_callback  # noqa: E402
from korean_llm_trainer.training import load_model, plan_training  # noqa: E402

TEXT = (
    "대한민국의 수도는 서울이다. 한강은 서울을 가로질러 흐른다. 봄에는 벚꽃이 피고 가을에는 단풍이 든다. "
    "제주도에는 한라산이 있다. 부산은 바다와 항구로 유명하다. 학생들은 도서관에서 조용히 공부한다. "
)
SEQ = 64


class Crash(RuntimeError):
    """Stands in for a pod being killed."""


class CrashAt(transformers.TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= self.step:
            raise Crash(f"simulated kill at step {state.global_step}")


class Blocks(torch.utils.data.Dataset):
    """Fixed-length token blocks of the repeated sample text."""

    def __init__(self, ids: list[int], count: int) -> None:
        self.blocks = [ids[(i * 7) % (len(ids) - SEQ):][:SEQ] for i in range(count)]

    def __len__(self) -> int:
        return len(self.blocks)

    def __getitem__(self, i: int) -> dict:
        ids = torch.tensor(self.blocks[i])
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": ids.clone()}


def build_base(root: Path) -> Path:
    """A tiny random Llama and a character-level tokenizer, saved like a Hub model."""
    chars = sorted(set(TEXT))
    vocab = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, **{ch: i + 4 for i, ch in enumerate(chars)}}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tokenizer = transformers.PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", bos_token="<s>",
                                                     eos_token="</s>", unk_token="<unk>")
    config = transformers.LlamaConfig(vocab_size=len(vocab), hidden_size=128, intermediate_size=256,
                                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
                                      max_position_embeddings=256, pad_token_id=0, bos_token_id=1, eos_token_id=2)
    torch.manual_seed(0)
    base = root / "base"
    transformers.LlamaForCausalLM(config).save_pretrained(base)
    tokenizer.save_pretrained(base)
    return base


def trainer_for(config, plan, bf16: bool, callbacks: list, max_steps: int):
    model, tokenizer = load_model(config, plan, bf16)
    kwargs = targs.training_kwargs(config, plan.checkpoints_dir, bf16, plan.backend, plan.dist)
    kwargs.update(max_steps=max_steps, gradient_checkpointing=False, dataloader_num_workers=0)
    kwargs.pop("gradient_checkpointing_kwargs", None)
    groups = targs.param_groups(((n, p) for n, p in model.named_parameters() if p.requires_grad),
                                config["LEARNING_RATE"], targs.embedding_learning_rate(config), config["WEIGHT_DECAY"])
    optimizer = torch.optim.AdamW(groups, lr=config["LEARNING_RATE"])
    ids = tokenizer(TEXT * 40)["input_ids"]
    trainer = transformers.Trainer(model=model, args=targs.build_arguments(transformers.TrainingArguments, kwargs),
                                   train_dataset=Blocks(ids, 512), optimizers=(optimizer, None), callbacks=callbacks)
    return trainer, model, tokenizer


def main() -> int:
    parser = argparse.ArgumentParser(description="GPU smoke test of the plain Transformers + PEFT path")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("warning: no CUDA device; running on CPU", flush=True)
    bf16 = bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    root = Path(tempfile.mkdtemp(prefix="gpu-smoke-"))
    try:
        base = build_base(root)
        data = root / "corpus.jsonl"
        data.write_text(json.dumps({"text": TEXT}, ensure_ascii=False) + "\n", encoding="utf-8")
        stage = root / "runs" / "smoke" / "tiny" / "cpt"
        save_every = max(args.steps // 4, 1)
        env = {"STAGE": "CPT", "RUN_ID": "smoke", "MODEL_NAME": "tiny", "BASE_MODEL_PATH": str(base),
               "DATA_PATH": str(data), "OUTPUT_DIR": str(stage), "LEARNING_RATE": "1e-3", "LOAD_IN_4BIT": "false",
               "PER_DEVICE_BATCH_SIZE": "8", "GRADIENT_ACCUMULATION_STEPS": "1", "MAX_SEQ_LENGTH": "128",
               "SAVE_STEPS": str(save_every), "LOGGING_STEPS": "5", "LORA_R": "8", "LORA_ALPHA": "16",
               "LORA_DROPOUT": "0.0"}
        config = parse_config("cpt", env)
        plan = plan_training(config, {}, unsloth_available=False)
        print(f"backend={plan.backend} bf16={bf16} device={torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu'}")

        # 1. first attempt, killed after the second checkpoint
        crash_step = 2 * save_every + save_every // 2
        trainer, _, _ = trainer_for(config, plan, bf16, [CrashAt(crash_step)], args.steps)
        try:
            trainer.train()
            raise SystemExit("the simulated kill did not happen")
        except Crash as crash:
            print(f"attempt 1: {crash}")
        del trainer
        partial = checkpoints_dir(stage) / f"checkpoint-{crash_step + 1}"
        partial.mkdir()
        (partial / "adapter_model.safetensors").write_bytes(b"")  # a save cut short by the kill

        # 2. restart: resume from the newest valid checkpoint
        resume = latest_valid_checkpoint(checkpoints_dir(stage))
        expected = checkpoints_dir(stage) / f"checkpoint-{2 * save_every}"
        assert resume == expected, f"resume picked {resume}, expected {expected}"
        state = MetricsState(run="smoke", stage="cpt", model="tiny")
        exporter = StdlibExporter(0, host="127.0.0.1")
        trainer, model, tokenizer = trainer_for(config, plan, bf16, [make_trainer_callback(state, exporter)], args.steps)
        started = time.perf_counter()
        result = trainer.train(**targs.resume_kwargs(resume))
        seconds = time.perf_counter() - started
        assert trainer.state.global_step == args.steps, trainer.state.global_step
        tokens = getattr(trainer.state, "num_input_tokens_seen", 0)
        print(f"attempt 2: resumed from {resume.name}, finished at step {trainer.state.global_step}; "
              f"train_loss={result.metrics.get('train_loss'):.4f}; tokens/s={tokens / seconds:.0f} (incl. resumed count)")
        with urllib.request.urlopen(f"http://127.0.0.1:{exporter.port}/metrics", timeout=5) as response:
            scrape = response.read().decode()
        exporter.close()
        print("metrics scrape:\n" + scrape)
        assert "training_loss{" in scrape and "global_step{" in scrape

        # 3. save the adapter, merge, reload
        trainer.save_model(str(adapter_dir(stage)))
        tokenizer.save_pretrained(str(adapter_dir(stage)))
        sample = tokenizer(TEXT[:40], return_tensors="pt").to(model.device)
        model.eval()
        with torch.no_grad():
            adapted = model(**sample).logits.float().cpu()
        del trainer, model
        merge_adapter(str(base), adapter_dir(stage), model_dir(stage), "float32")
        merged = transformers.AutoModelForCausalLM.from_pretrained(model_dir(stage), **dtype_kwargs(transformers, torch.float32))
        with torch.no_grad():
            reloaded = merged(**sample.to("cpu")).logits.float()
        diff = (reloaded - adapted).abs().max().item()
        print(f"merged model reloaded from {model_dir(stage).name}/: max |logit diff| vs adapter = {diff:.2e}")
        tolerance = 0.05 * adapted.abs().max().item() + 1e-3  # the adapted pass may run in bf16
        assert diff <= tolerance, f"merged model differs from the adapted one ({diff} > {tolerance})"
        write_marker(stage, build_marker("cpt", "smoke", str(base), result.metrics))
        print("gpu smoke: OK")
        return 0
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
