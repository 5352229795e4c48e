"""Where the client finds its server and token: the arguments, then `STAGE1_URL` / `STAGE1_TOKEN`, then the
config file that `stage1 login` writes (`$XDG_CONFIG_HOME/stage1/config.json`, else
`~/.config/stage1/config.json`, or the file `STAGE1_CONFIG` names). The file maps each server URL to its own
token, so a token is only ever sent to the server that issued it."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_URL = "http://127.0.0.1:8000"


def config_path() -> Path:
    explicit = os.environ.get("STAGE1_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "stage1" / "config.json"


def _normalized(url: str) -> str:
    return url.rstrip("/")


def read_config(path: Path | None = None) -> dict[str, Any]:
    target = path or config_path()
    try:
        data = json.loads(target.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the Stage1 config file {target}: {exc}") from exc
    return data if isinstance(data, dict) else {}


def save_login(url: str, token: str | None, path: Path | None = None) -> Path:
    """Record `token` for `url` and make `url` the default server; the file is readable by its owner only."""
    target = path or config_path()
    data = read_config(target)
    tokens = data.get("tokens") if isinstance(data.get("tokens"), dict) else {}
    assert isinstance(tokens, dict)
    if token:
        tokens[_normalized(url)] = token
    data.update(default_url=_normalized(url), tokens=tokens)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Created 0600 from the start, so the token is never readable by others, not even for a moment.
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
    os.chmod(target, 0o600)
    return target


@dataclass(frozen=True)
class Settings:
    url: str
    token: str | None


def resolve(url: str | None = None, token: str | None = None) -> Settings:
    data = read_config() if (url is None or token is None) else {}
    chosen = _normalized(url or os.environ.get("STAGE1_URL") or data.get("default_url") or DEFAULT_URL)
    if token is None:
        token = os.environ.get("STAGE1_TOKEN") or None
    if token is None:
        tokens = data.get("tokens")
        if isinstance(tokens, dict) and isinstance(tokens.get(chosen), str):
            token = tokens[chosen]
    return Settings(chosen, token)
