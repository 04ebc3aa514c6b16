"""Load and validate the policy file; a malformed policy stops start-up, naming the line."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError


class PolicyError(Exception):
    pass


class Vocabularies(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    organization_kinds: tuple[str, ...]
    data_categories: tuple[str, ...]
    purposes: tuple[str, ...]
    service_types: tuple[str, ...]


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    vocabularies: Vocabularies


def _line_of(node: yaml.Node, path: tuple[object, ...]) -> int | None:
    """The 1-based line of the YAML node at `path`, for error messages."""
    for key in path:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if k.value == key), None)
            if found is None:
                return node.start_mark.line + 1
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            if key >= len(node.value):
                return node.start_mark.line + 1
            node = node.value[key]
        else:
            break
    return node.start_mark.line + 1


def parse_policy(text: str, source: str = "policy") -> Policy:
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise PolicyError(f"{source}:{where}: not valid YAML: {exc}") from None
    if node is None:
        raise PolicyError(f"{source}: empty policy file")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        line = _line_of(node, tuple(err["loc"]))
        loc = ".".join(str(p) for p in err["loc"])
        raise PolicyError(f"{source}: line {line}: {loc}: {err['msg']}") from None


@lru_cache(maxsize=8)
def load_policy(path: Path) -> Policy:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the policy file ({exc.strerror})") from None
    return parse_policy(text, str(path))
