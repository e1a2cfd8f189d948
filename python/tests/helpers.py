"""Shared test helpers: valid env per command, temp dirs, Korean sample text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

from korean_llm_trainer.contract import load_contract

GOOD_VALUES = {
    "string": "qwen2-5-7b",
    "path": "/output/runs/run-1/qwen2-5-7b/cpt",
    "int": None,  # derived from the bounds
    "float": None,
    "bool": "true",
    "secret": "dummy-secret",
}

KOREAN_DOC = (
    "대한민국은 동아시아의 한반도 남부에 위치한 나라이다. 수도는 서울특별시이며, 인구는 약 오천만 명이다. "
    "한강은 서울을 가로질러 서해로 흘러간다. 조선 시대에는 한양이라고 불렸으며, 오늘날에는 정치와 경제와 문화의 "
    "중심지이다. 봄에는 벚꽃이 피고 가을에는 단풍이 아름답다. 많은 사람들이 주말마다 산에 오르거나 공원을 산책한다. "
    "지하철은 도시 곳곳을 연결하고 버스 노선도 촘촘하다. 시장에서는 떡볶이와 김밥 같은 음식을 쉽게 찾을 수 있다."
)
OTHER_KOREAN_DOC = (
    "바다 건너 제주도에는 한라산이 우뚝 솟아 있다. 섬 곳곳에 돌담과 귤밭이 펼쳐져 있고, 해녀들은 차가운 물속에서 "
    "전복과 소라를 캔다. 바람이 많이 불기로 유명하며, 여름이면 관광객이 해변을 가득 메운다. 올레길을 따라 걸으면 "
    "작은 마을과 오름을 차례로 만날 수 있다. 겨울에도 비교적 따뜻해서 유채꽃이 일찍 핀다."
)


def good_value(var, command: str | None = None) -> str:
    """A valid raw value for a contract variable (STAGE: the command's upper-case name)."""
    if var.name == "STAGE" and command:
        return command.upper()
    if var.choices:
        return ",".join(var.choices[:2]) if var.type == "list" else var.choices[-1]
    if var.type == "list":
        return "kobest,kmmlu"
    if var.type in ("int", "float"):
        if var.min is not None and var.max is not None:
            value = (var.min + var.max) / 2
        elif var.min is not None:
            value = var.min + 1
        else:
            value = 1
        if var.type == "int":
            value = int(value)
            if var.exclusive_min and value <= var.min:
                value += 1
        return str(value)
    return GOOD_VALUES[var.type]


def valid_env(command: str, **overrides: str) -> dict[str, str]:
    """Every required variable of ``command`` set to a valid value, STAGE matching."""
    env = {v.name: good_value(v) for v in load_contract().for_command(command) if v.required}
    env["STAGE"] = command.upper()
    env.update(overrides)
    return env


def write_jsonl(path: Path, records: Iterable[object]) -> Path:
    """Write ``records`` as JSON lines (non-ASCII kept)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path
