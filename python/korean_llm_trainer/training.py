"""The shared run of a training stage (``cpt``, ``sft``, ``rlhf``).

:func:`run_stage` does, in order: exit 0 when ``OUTPUT_DIR/_COMPLETE`` exists and records the
same settings (an error when they differ); :func:`plan_training` (checks the base model
reference, the dataset's first records and the hyper-parameters, picks the backend and the
checkpoint to resume from: no GPU, no heavy import); starts the metrics endpoint on local rank 0;
joins the process group, where global rank 0's resume decision is broadcast to every rank; then
the stage's ``build_trainer`` and ``trainer.train``; saves the adapter, frees the trainer, and
:func:`finish_stage` has rank 0 merge into ``OUTPUT_DIR/model/`` while the other ranks wait at a
barrier, so no rank leaves the job while the merge runs; rank 0 then writes the marker.
"""

from __future__ import annotations

import gc
import json
import os
import re
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol

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
    check_marker_settings,
    checkpoints_dir,
    latest_valid_checkpoint,
    model_dir,
    read_marker,
    settings_hash,
    stage_settings,
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
    run: targs.RunSettings = targs.RunSettings()
    tied_embeddings: bool = False
    skipped_checkpoints: tuple[tuple[Path, tuple[str, ...]], ...] = ()

    @property
    def cache_dir(self) -> Path:
        """Where datasets keeps the loaded and tokenized dataset: on the run's volume, beside the
        checkpoints, so a restarted pod (or another node reading the same volume) reuses it."""
        return self.stage_dir / "cache" / "datasets"


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
    flash_attention: bool = False


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


def local_tied_embeddings(reference: str) -> bool | None:
    """``tie_word_embeddings`` of a local model's config.json (None for a Hub id or no config).

    Transformers' default is True, so a config without the key counts as tied.
    """
    config = Path(reference).expanduser() / "config.json"
    if not reference.startswith(("/", ".", "~")) or not config.is_file():
        return None
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except ValueError as err:
        raise TrainerError(f"'BASE_MODEL_PATH' {reference!r}: config.json is not valid JSON ({err})") from err
    text = data.get("text_config") if isinstance(data.get("text_config"), dict) else {}
    return bool(data.get("tie_word_embeddings", text.get("tie_word_embeddings", True)))


def plan_training(config: Config, env: Mapping[str, str], unsloth_available: bool | None = None,
                  tied_embeddings: bool | None = None, cpus: int | None = None) -> TrainingPlan:
    """Validate the inputs and decide backend and resume point (filesystem reads only).

    ``tied_embeddings`` is read from a local base model's config.json when not given; for a Hub
    id it is read with ``AutoConfig`` just before loading (:func:`train_with_libraries`).
    """
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
    if tied_embeddings is None:
        tied_embeddings = bool(local_tied_embeddings(config["BASE_MODEL_PATH"]))
    if cpus is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    run = targs.run_settings(env, max(1, cpus // max(dist.local_world_size, 1)))
    skipped: list[tuple[Path, list[str]]] = []
    resume = latest_valid_checkpoint(ckpts, skipped)
    return TrainingPlan(
        command=config.command,
        kind=kind,
        stage_dir=stage_dir,
        checkpoints_dir=ckpts,
        resume_from=resume,
        backend=targs.choose_backend(dist, unsloth_available, config.command, tied_embeddings),
        dist=dist,
        base_model=config["BASE_MODEL_PATH"],
        data_files=tuple(list_jsonl_files(data_path)),
        records_checked=checked,
        run=run,
        tied_embeddings=tied_embeddings,
        skipped_checkpoints=tuple((path, tuple(problems)) for path, problems in skipped),
    )


class Collective(Protocol):
    """What the stage needs from the process group: one broadcast and barriers."""

    def broadcast(self, value: Any) -> Any:
        """Global rank 0's ``value`` on every rank."""

    def barrier(self, name: str) -> None:
        """Return when every rank has arrived."""


class SingleProcess:
    """The collective of a job with one process."""

    def broadcast(self, value: Any) -> Any:
        return value

    def barrier(self, name: str) -> None:
        return None


class TorchCollective:
    """Broadcasts and barriers over a gloo group (CPU, so a waiting rank does not hold a CUDA
    stream), with the job's long timeout: rank 0 may merge a large model while the others wait."""

    def __init__(self, torch: Any, timeout_s: int) -> None:
        self.dist = torch.distributed
        self.group = self.dist.new_group(backend="gloo", timeout=timedelta(seconds=timeout_s))

    def broadcast(self, value: Any) -> Any:
        box = [value]
        self.dist.broadcast_object_list(box, src=0, group=self.group)
        return box[0]

    def barrier(self, name: str) -> None:
        self.dist.barrier(group=self.group)


def join_process_group(torch: Any, plan: TrainingPlan) -> Collective:
    """Initialise the default process group (the Trainer then reuses it) and return the collective.

    NCCL for CUDA tensors and gloo for CPU ones, with DDP_TIMEOUT as the collective timeout.
    """
    if plan.dist.world_size <= 1:
        return SingleProcess()
    dist = torch.distributed
    if not dist.is_initialized():
        if torch.cuda.is_available():
            torch.cuda.set_device(plan.dist.local_rank)
        backend = "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend, timeout=timedelta(seconds=plan.run.ddp_timeout))
    return TorchCollective(torch, plan.run.ddp_timeout)


def agree_on_resume(plan: TrainingPlan, collective: Collective) -> TrainingPlan:
    """Every rank resumes from global rank 0's choice.

    Ranks look at the shared volume at different moments (a checkpoint may still be arriving on
    another node's view of NFS), so each rank choosing for itself can make ranks load different
    steps; rank 0 decides and broadcasts.
    """
    mine = str(plan.resume_from) if plan.dist.is_main and plan.resume_from is not None else None
    chosen = collective.broadcast(mine)
    return replace(plan, resume_from=Path(chosen) if chosen else None)


def finish_stage(plan: TrainingPlan, collective: Collective, save_adapter: Callable[[], None],
                 release: Callable[[], None], merge: Callable[[], None]) -> None:
    """After ``trainer.train``: every rank saves (the Trainer writes on rank 0) and frees the
    trainer, optimizer and CUDA cache; all wait until the adapter is on disk; rank 0 merges while
    the others wait at a second barrier, so the job's processes leave together (a rank that exits
    early ends its node's torchrun and, with it, the rendezvous that rank 0 is still part of)."""
    save_adapter()
    release()
    collective.barrier("adapter saved")
    if plan.dist.is_main:
        merge()
    collective.barrier("model merged")


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
    settings = stage_settings(config.values)
    marker = read_marker(stage_dir)
    if marker is not None:
        note = check_marker_settings(marker, settings, stage_dir / MARKER_NAME)
        print(f"{config.command}: {stage_dir / MARKER_NAME} exists (finished {marker.get('finished_at')}; {note}); "
              "nothing to do", flush=True)
        return 0
    plan = plan_training(config, env)
    for path, problems in plan.skipped_checkpoints:
        print(f"{config.command}: skipping {path}: {'; '.join(problems)}", flush=True)
    print(f"{config.command}: backend={plan.backend} nodes={plan.dist.nnodes} world_size={plan.dist.world_size} "
          f"resume_from={plan.resume_from} (rank 0's view; broadcast) dataset={len(plan.data_files)} file(s), "
          f"first {plan.records_checked} record(s) valid as {plan.kind}", flush=True)
    metrics = dict((train or train_with_libraries)(config, plan, build_trainer))
    if plan.dist.is_main:
        write_marker(stage_dir, build_marker(
            config.command, config["RUN_ID"], plan.base_model, final_metrics(metrics),
            model_name=config["MODEL_NAME"], model_size=config.get("MODEL_SIZE"), backend=plan.backend,
            model_dir=str(model_dir(stage_dir)), config_hash=settings_hash(settings), settings=settings,
        ))
        print(f"{config.command}: done; merged model in {model_dir(stage_dir)}", flush=True)
    return 0


# ---- the heavy part: thin wrappers over the libraries ------------------------------------------


def _torch_dtype(torch: Any, name: str) -> Any:
    return {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[name]


def flash_attention_available(torch: Any) -> bool:
    """FlashAttention 2 installed and a CUDA device to run it (the plain path then packs SFT)."""
    return bool(torch.cuda.is_available()) and is_available("flash_attn")


def hub_tied_embeddings(transformers: Any, reference: str) -> bool:
    """``tie_word_embeddings`` of any base model (a Hub id too), read from its config only."""
    config = transformers.AutoConfig.from_pretrained(reference)
    text = getattr(config, "get_text_config", lambda: config)()
    return bool(getattr(text, "tie_word_embeddings", getattr(config, "tie_word_embeddings", True)))


def load_model(config: Config, plan: TrainingPlan, bf16: bool, flash_attention: bool = False) -> tuple[Any, Any]:
    """Load the base model with LoRA adapters: Unsloth's FastLanguageModel, or Transformers + PEFT."""
    load = targs.model_load_kwargs(config, plan.backend, bf16, plan.dist, flash_attention)
    lora = targs.lora_kwargs(config, plan.backend, plan.tied_embeddings)
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
    model = peft.get_peft_model(model, targs.build_arguments(peft.LoraConfig, lora))
    return model, tokenizer


def load_dataset(plan: TrainingPlan) -> Any:
    """The stage's JSONL files as a ``datasets.Dataset``, cached on the run's volume (:attr:`TrainingPlan.cache_dir`).

    TRL tokenizes with ``dataset.map`` (``dataset_num_proc`` processes); datasets writes the
    tokenized table beside this cache and finds it again by fingerprint, so a restarted pod does
    not tokenize a large CPT corpus again.
    """
    datasets = require("datasets", "datasets")
    plan.cache_dir.mkdir(parents=True, exist_ok=True)
    return datasets.load_dataset("json", data_files=[str(f) for f in plan.data_files], split="train",
                                 cache_dir=str(plan.cache_dir))


def merge_into_model_dir(plan: TrainingPlan, model: Any, tokenizer: Any, bf16: bool) -> None:
    """Write the merged 16-bit model to ``OUTPUT_DIR/model/`` (global rank 0 only)."""
    out = model_dir(plan.stage_dir)
    if plan.backend == "unsloth":
        model.save_pretrained_merged(str(out), tokenizer, save_method="merged_16bit")
        return
    from .export import merge_adapter

    merge_adapter(plan.base_model, adapter_dir(plan.stage_dir), out, "bfloat16" if bf16 else "float16")


def train_with_libraries(config: Config, plan: TrainingPlan, build_trainer: Callable[[StageContext], Any]) -> dict:
    """Load, train (resuming from rank 0's choice), save the adapter, merge on rank 0 behind barriers."""
    if plan.backend == "unsloth":
        require("unsloth", "unsloth")  # must be imported before trl/transformers to patch them
    torch = require("torch", "torch")
    transformers = require("transformers", "transformers")
    bf16 = bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    collective = join_process_group(torch, plan)
    plan = agree_on_resume(plan, collective)
    if config.command == "cpt" and not plan.tied_embeddings and not plan.base_model.startswith(("/", ".", "~")):
        tied = hub_tied_embeddings(transformers, plan.base_model)
        plan = replace(plan, tied_embeddings=tied,
                       backend=targs.choose_backend(plan.dist, plan.backend == "unsloth", config.command, tied))
    exporter = None
    state = MetricsState(run=config["RUN_ID"], stage=config.command, model=config["MODEL_NAME"])
    if plan.dist.is_local_main:
        exporter = start_exporter(config["METRICS_PORT"])
        print(f"{config.command}: metrics on :{exporter.port}/metrics", flush=True)
    try:
        flash = flash_attention_available(torch)
        model, tokenizer = load_model(config, plan, bf16, flash)
        dataset = load_dataset(plan)
        callbacks = [make_trainer_callback(state, exporter)]
        holder = {"trainer": build_trainer(StageContext(config, plan, model, tokenizer, dataset, bf16, callbacks,
                                                        flash))}
        result = holder["trainer"].train(**targs.resume_kwargs(plan.resume_from))
        metrics = dict(result.metrics)
        keep_model = plan.backend == "unsloth" and plan.dist.is_main  # Unsloth merges from the live model
        models = {"model": model}
        del model

        def release() -> None:
            holder.clear()
            if not keep_model:
                models.clear()
            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()

        def save_adapter() -> None:
            holder["trainer"].save_model(str(adapter_dir(plan.stage_dir)))
            if plan.dist.is_main:
                tokenizer.save_pretrained(str(adapter_dir(plan.stage_dir)))

        finish_stage(plan, collective, save_adapter, release,
                     lambda: merge_into_model_dir(plan, models.get("model"), tokenizer, bf16))
        print(f"{config.command}: " + json.dumps(final_metrics(metrics)), flush=True)
        return metrics
    finally:
        if exporter is not None:
            exporter.close()
