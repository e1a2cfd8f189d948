"""The shared run of a training stage (``cpt``, ``sft``, ``rlhf``).

:func:`run_stage` does, in order: exit 0 when ``OUTPUT_DIR/_COMPLETE`` exists (idempotent
re-run); :func:`plan_training` (checks the base model reference, the dataset's first records and
the hyper-parameters, picks the backend and the checkpoint to resume from: no GPU, no heavy
import); starts the metrics endpoint on local rank 0; then the stage's ``build_trainer`` and
``trainer.train``; saves the adapter; and on global rank 0 merges it into ``OUTPUT_DIR/model/``
and writes the marker.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from . import training_args as targs
from .contract import Config
from .data import list_jsonl_files
from .deps import dtype_kwargs, is_available, require
from .errors import TrainerError
from .formats import dataset_kind, validate_dataset
from .layout import (
    MARKER_NAME,
    adapter_dir,
    build_marker,
    checkpoints_dir,
    latest_valid_checkpoint,
    model_dir,
    read_marker,
    write_marker,
)
from .metrics import MetricsState, make_trainer_callback, start_exporter

_HF_ID_RE = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")


@dataclass(frozen=True)
class TrainingPlan:
    """What a training run will do, decided before any GPU work."""

    command: str
    kind: str
    stage_dir: Path
    checkpoints_dir: Path
    resume_from: Path | None
    backend: str
    dist: targs.DistInfo
    base_model: str
    data_files: tuple[Path, ...]
    records_checked: int


@dataclass
class StageContext:
    """What a stage's ``build_trainer`` receives."""

    config: Config
    plan: TrainingPlan
    model: Any
    tokenizer: Any
    dataset: Any
    bf16: bool
    callbacks: list


def check_base_model(reference: str) -> None:
    """A local path must exist and hold a model; otherwise it must look like a Hub id (``org/name``)."""
    if reference.startswith(("/", ".", "~")):
        path = Path(reference).expanduser()
        if not path.is_dir():
            raise TrainerError(f"'BASE_MODEL_PATH' {reference!r} does not exist (is the previous stage finished?)")
        if not ((path / "config.json").is_file() or (path / "adapter_config.json").is_file()):
            raise TrainerError(f"'BASE_MODEL_PATH' {reference!r} holds no config.json nor adapter_config.json")
        return
    if not _HF_ID_RE.fullmatch(reference):
        raise TrainerError(
            f"'BASE_MODEL_PATH' must be an absolute path or a Hugging Face id like 'org/name', got {reference!r}"
        )


def plan_training(config: Config, env: Mapping[str, str], unsloth_available: bool | None = None) -> TrainingPlan:
    """Validate the inputs and decide backend and resume point (filesystem reads only)."""
    dist = targs.dist_info(env)
    targs.check_hyperparameters(config, dist)
    check_base_model(config["BASE_MODEL_PATH"])
    kind = dataset_kind(config.command, config.get("RLHF_METHOD"))
    data_path = Path(config["DATA_PATH"])
    checked = validate_dataset(data_path, kind)
    stage_dir = Path(config["OUTPUT_DIR"])
    ckpts = checkpoints_dir(stage_dir)
    if unsloth_available is None:
        unsloth_available = is_available("unsloth")
    return TrainingPlan(
        command=config.command,
        kind=kind,
        stage_dir=stage_dir,
        checkpoints_dir=ckpts,
        resume_from=latest_valid_checkpoint(ckpts),
        backend=targs.choose_backend(dist, unsloth_available),
        dist=dist,
        base_model=config["BASE_MODEL_PATH"],
        data_files=tuple(list_jsonl_files(data_path)),
        records_checked=checked,
    )


def final_metrics(train_metrics: Mapping[str, Any]) -> dict[str, float]:
    """The numeric entries of ``TrainOutput.metrics`` (for the marker)."""
    return {k: float(v) for k, v in train_metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def run_stage(config: Config, env: Mapping[str, str], build_trainer: Callable[[StageContext], Any],
              train: Callable[[Config, TrainingPlan, Callable[[StageContext], Any]], Mapping[str, Any]] | None = None) -> int:
    """Run one training stage end to end; returns the exit code.

    ``train`` defaults to :func:`train_with_libraries`; tests pass a stand-in to check the
    idempotency and marker logic without torch.
    """
    stage_dir = Path(config["OUTPUT_DIR"])
    marker = read_marker(stage_dir)
    if marker is not None:
        print(f"{config.command}: {stage_dir / MARKER_NAME} exists (finished {marker.get('finished_at')}); "
              "nothing to do", flush=True)
        return 0
    plan = plan_training(config, env)
    print(f"{config.command}: backend={plan.backend} nodes={plan.dist.nnodes} world_size={plan.dist.world_size} "
          f"resume_from={plan.resume_from} dataset={len(plan.data_files)} file(s), "
          f"first {plan.records_checked} record(s) valid as {plan.kind}", flush=True)
    metrics = dict((train or train_with_libraries)(config, plan, build_trainer))
    if plan.dist.is_main:
        write_marker(stage_dir, build_marker(
            config.command, config["RUN_ID"], plan.base_model, final_metrics(metrics),
            model_name=config["MODEL_NAME"], model_size=config.get("MODEL_SIZE"), backend=plan.backend,
            model_dir=str(model_dir(stage_dir)),
        ))
        print(f"{config.command}: done; merged model in {model_dir(stage_dir)}", flush=True)
    return 0


# ---- the heavy part: thin wrappers over the libraries ------------------------------------------


def _torch_dtype(torch: Any, name: str) -> Any:
    return {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[name]


def load_model(config: Config, plan: TrainingPlan, bf16: bool) -> tuple[Any, Any]:
    """Load the base model with LoRA adapters: Unsloth's FastLanguageModel, or Transformers + PEFT."""
    load = targs.model_load_kwargs(config, plan.backend, bf16, plan.dist)
    lora = targs.lora_kwargs(config, plan.backend)
    if plan.backend == "unsloth":
        unsloth = require("unsloth", "unsloth", "single-node training")
        load["dtype"] = _torch_dtype(require("torch"), load["dtype"])
        model, tokenizer = unsloth.FastLanguageModel.from_pretrained(**load)
        model = unsloth.FastLanguageModel.get_peft_model(model, **lora)
        return model, tokenizer
    torch = require("torch", "torch")
    transformers = require("transformers", "transformers")
    peft = require("peft", "peft")
    dtype = _torch_dtype(torch, load.pop("torch_dtype"))
    quant = load.pop("quantization", None)
    if not torch.cuda.is_available():
        load.pop("device_map")
    if quant is not None:
        require("bitsandbytes", "bitsandbytes", "LOAD_IN_4BIT=true")
        quant["bnb_4bit_compute_dtype"] = _torch_dtype(torch, quant["bnb_4bit_compute_dtype"])
        load["quantization_config"] = transformers.BitsAndBytesConfig(**quant)
    tokenizer = transformers.AutoTokenizer.from_pretrained(config["BASE_MODEL_PATH"])
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = transformers.AutoModelForCausalLM.from_pretrained(**dtype_kwargs(transformers, dtype), **load)
    if quant is not None:
        model = peft.prepare_model_for_kbit_training(model, use_gradient_checkpointing=True,
                                                     gradient_checkpointing_kwargs={"use_reentrant": False})
    model = peft.get_peft_model(model, peft.LoraConfig(**lora))
    return model, tokenizer


def load_dataset(plan: TrainingPlan) -> Any:
    """The stage's JSONL files as a ``datasets.Dataset``."""
    datasets = require("datasets", "datasets")
    return datasets.load_dataset("json", data_files=[str(f) for f in plan.data_files], split="train")


def merge_into_model_dir(plan: TrainingPlan, model: Any, tokenizer: Any, bf16: bool) -> None:
    """Write the merged 16-bit model to ``OUTPUT_DIR/model/`` (global rank 0 only)."""
    out = model_dir(plan.stage_dir)
    if plan.backend == "unsloth":
        model.save_pretrained_merged(str(out), tokenizer, save_method="merged_16bit")
        return
    from .export import merge_adapter

    merge_adapter(plan.base_model, adapter_dir(plan.stage_dir), out, "bfloat16" if bf16 else "float16")


def train_with_libraries(config: Config, plan: TrainingPlan, build_trainer: Callable[[StageContext], Any]) -> dict:
    """Load, train (resuming when a valid checkpoint exists), save the adapter, merge on rank 0."""
    if plan.backend == "unsloth":
        require("unsloth", "unsloth")  # must be imported before trl/transformers to patch them
    torch = require("torch", "torch")
    bf16 = bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    exporter = None
    state = MetricsState(run=config["RUN_ID"], stage=config.command, model=config["MODEL_NAME"])
    if plan.dist.is_local_main:
        exporter = start_exporter(config["METRICS_PORT"])
        print(f"{config.command}: metrics on :{exporter.port}/metrics", flush=True)
    try:
        model, tokenizer = load_model(config, plan, bf16)
        dataset = load_dataset(plan)
        callbacks = [make_trainer_callback(state, exporter)]
        trainer = build_trainer(StageContext(config, plan, model, tokenizer, dataset, bf16, callbacks))
        result = trainer.train(**targs.resume_kwargs(plan.resume_from))
        trainer.save_model(str(adapter_dir(plan.stage_dir)))
        if plan.dist.is_main:
            tokenizer.save_pretrained(str(adapter_dir(plan.stage_dir)))
            if plan.backend != "unsloth":
                del trainer, model
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                model = None
            merge_into_model_dir(plan, model, tokenizer, bf16)
        metrics = dict(result.metrics)
        print(f"{config.command}: " + json.dumps(final_metrics(metrics)), flush=True)
        return metrics
    finally:
        if exporter is not None:
            exporter.close()
