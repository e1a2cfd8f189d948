"""The env contract between the constructs and the trainer, driven by ``contract.json``.

``contract.json`` is generated from the TypeScript module ``src/trainer-contract.ts`` and lists
every variable: its name, type, the commands that read it, whether it is required, its default,
and its allowed values. :func:`parse_config` turns ``os.environ`` (or any mapping) into a frozen
:class:`Config` for one command and reports every bad or missing variable at once.

Types: ``string`` (non-empty), ``path`` (absolute POSIX path), ``int`` (base 10), ``float``
(decimal or scientific notation, finite), ``bool`` (``true``/``false``, any case), ``enum`` (one of
``choices``, exact case), ``list`` (comma-separated, no empty item, each in ``choices`` when given),
``secret`` (only its presence is recorded; the value is never stored nor printed).

An empty value counts as unset, so an optional workflow parameter left blank falls back to the
default.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import Any, Mapping

from . import COMMANDS
from .errors import ContractError

TYPES = ("string", "path", "int", "float", "bool", "enum", "list", "secret")
_INT_RE = re.compile(r"[+-]?\d+")
_FLOAT_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


@dataclass(frozen=True)
class Variable:
    """One entry of ``contract.json``."""

    name: str
    type: str
    required: bool
    commands: tuple[str, ...]
    description: str = ""
    default: str | None = None
    choices: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    exclusive_min: bool = False

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "Variable":
        """Build a variable from its JSON object, checking the fields the parser relies on."""
        if raw.get("type") not in TYPES:
            raise ValueError(f"contract variable {raw.get('name')!r} has unknown type {raw.get('type')!r}")
        unknown = set(raw.get("commands", ())) - set(COMMANDS)
        if unknown:
            raise ValueError(f"contract variable {raw['name']!r} names unknown commands {sorted(unknown)}")
        choices = raw.get("choices")
        return cls(
            name=raw["name"],
            type=raw["type"],
            required=bool(raw["required"]),
            commands=tuple(raw["commands"]),
            description=raw.get("description", ""),
            default=raw.get("default"),
            choices=tuple(choices) if choices is not None else None,
            min=raw.get("min"),
            max=raw.get("max"),
            exclusive_min=bool(raw.get("exclusiveMin", False)),
        )

    def allowed(self) -> str:
        """Describe the allowed values, for error messages."""
        if self.type in ("int", "float"):
            noun = "an integer" if self.type == "int" else "a number"
            bounds = []
            if self.min is not None:
                bounds.append(f"{'>' if self.exclusive_min else '>='} {_fmt(self.min)}")
            if self.max is not None:
                bounds.append(f"<= {_fmt(self.max)}")
            return noun + (" " + " and ".join(bounds) if bounds else "")
        if self.type == "enum":
            return "one of " + ", ".join(self.choices or ())
        if self.type == "list":
            base = "a comma-separated list of non-empty items"
            return base + (" from " + ", ".join(self.choices) if self.choices else "")
        if self.type == "bool":
            return "true or false"
        if self.type == "path":
            return "an absolute path"
        return "a non-empty string"


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else repr(number)


@dataclass(frozen=True)
class Contract:
    """The whole contract file."""

    variables: tuple[Variable, ...]
    metrics_port: int
    rlhf_methods: tuple[str, ...]
    grpo_reward_functions: tuple[str, ...]

    def for_command(self, command: str) -> tuple[Variable, ...]:
        """The variables ``command`` reads."""
        if command not in COMMANDS:
            raise ContractError(f"unknown command {command!r}; allowed: {', '.join(COMMANDS)}")
        return tuple(v for v in self.variables if command in v.commands)

    def variable(self, name: str) -> Variable:
        """Look a variable up by name."""
        for var in self.variables:
            if var.name == name:
                return var
        raise KeyError(name)


def contract_from_json(data: Mapping[str, Any]) -> Contract:
    """Build a :class:`Contract` from the parsed JSON document."""
    variables = tuple(Variable.from_json(v) for v in data["variables"])
    names = [v.name for v in variables]
    if len(names) != len(set(names)):
        raise ValueError("contract.json lists a variable twice")
    return Contract(
        variables=variables,
        metrics_port=int(data["metricsPort"]),
        rlhf_methods=tuple(data["rlhfMethods"]),
        grpo_reward_functions=tuple(data["grpoRewardFunctions"]),
    )


@lru_cache(maxsize=1)
def load_contract() -> Contract:
    """Load the ``contract.json`` shipped inside the package."""
    text = resources.files(__package__).joinpath("contract.json").read_text(encoding="utf-8")
    return contract_from_json(json.loads(text))


def parse_value(var: Variable, raw: str) -> Any:
    """Parse one raw string for ``var``; raise :class:`ContractError` naming the variable and value."""
    shown = "<redacted>" if var.type == "secret" else repr(raw)

    def bad() -> ContractError:
        return ContractError(f"'{var.name}' must be {var.allowed()}, got {shown}")

    if var.type == "secret":
        return True
    if var.type == "string":
        return raw
    if var.type == "path":
        if not raw.startswith("/") or "\x00" in raw:
            raise bad()
        return PurePosixPath(raw)
    if var.type == "bool":
        lowered = raw.strip().lower()
        if lowered not in ("true", "false"):
            raise bad()
        return lowered == "true"
    if var.type == "enum":
        if raw not in (var.choices or ()):
            raise bad()
        return raw
    if var.type == "list":
        items = tuple(item.strip() for item in raw.split(","))
        if any(not item for item in items):
            raise bad()
        if var.choices is not None and any(item not in var.choices for item in items):
            raise bad()
        return items
    if var.type == "int":
        if not _INT_RE.fullmatch(raw.strip()):
            raise bad()
        number: float = int(raw.strip())
    else:
        if not _FLOAT_RE.fullmatch(raw.strip()):
            raise bad()
        number = float(raw.strip())
        if not math.isfinite(number):
            raise bad()
    if var.min is not None and (number <= var.min if var.exclusive_min else number < var.min):
        raise bad()
    if var.max is not None and number > var.max:
        raise bad()
    return number


@dataclass(frozen=True)
class Config:
    """The parsed settings of one command: read with ``config["NAME"]``.

    Values are typed (``int``, ``float``, ``bool``, ``PurePosixPath``, ``tuple`` for lists, ``str``)
    or ``None`` for an unset optional variable without default. Secrets are ``True`` when set
    and ``None`` otherwise; their values are never kept.
    """

    command: str
    values: Mapping[str, Any] = field(repr=False)

    def __getitem__(self, name: str) -> Any:
        if name not in self.values:
            raise KeyError(f"{name!r} is not read by command {self.command!r} (see contract.json)")
        return self.values[name]

    def get(self, name: str, default: Any = None) -> Any:
        """The value of ``name``, or ``default`` when it is unset or not read by this command."""
        value = self.values.get(name)
        return default if value is None else value

    def has_secret(self, name: str) -> bool:
        """Whether the secret ``name`` is present."""
        return bool(self.values.get(name))

    @property
    def stage(self) -> str:
        """The lower-case stage name (``cpt``), equal to the command."""
        return self.command

    def summary(self) -> dict[str, str]:
        """Printable settings, with secrets shown as ``set``/``unset``."""
        contract = load_contract()
        out = {}
        for name, value in sorted(self.values.items()):
            if contract.variable(name).type == "secret":
                out[name] = "set" if value else "unset"
            elif isinstance(value, tuple):
                out[name] = ",".join(value)
            else:
                out[name] = "" if value is None else str(value)
        return out


def parse_config(command: str, env: Mapping[str, str], contract: Contract | None = None) -> Config:
    """Parse ``env`` for ``command`` into a frozen :class:`Config`.

    Raises :class:`ContractError` listing every missing or malformed variable, and when
    ``STAGE`` does not name ``command``.
    """
    contract = contract or load_contract()
    errors: list[str] = []
    values: dict[str, Any] = {}
    for var in contract.for_command(command):
        raw = env.get(var.name)
        if raw is None or raw == "":
            if var.required:
                errors.append(f"'{var.name}' is required by '{command}' ({var.allowed()}) but is not set")
                continue
            raw = var.default
        if raw is None:
            values[var.name] = None
            continue
        try:
            values[var.name] = parse_value(var, raw)
        except ContractError as err:
            errors.append(str(err))
    stage = values.get("STAGE")
    if stage is not None and stage.lower() != command:
        errors.append(
            f"'STAGE' is {stage!r} but the command is {command!r}; "
            f"run 'python -m korean_llm_trainer {stage.lower()}' or set STAGE={command.upper()}"
        )
    if errors:
        raise ContractError("invalid trainer environment:\n  - " + "\n  - ".join(errors))
    return Config(command=command, values=MappingProxyType(values))
