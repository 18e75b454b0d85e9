"""``aduan classify``: show why a message gets its categories, intent and personal-data flags,
so staff can tune the keywords in config.toml."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def cmd_classify(args: argparse.Namespace, ctx: Any) -> int:
    """Classify TEXT or every ``text`` of a JSONL file."""
    from inbox.classify import classify_command
    from inbox.cli_common import UserError
    if bool(args.text) == bool(args.jsonl):
        raise UserError("give either TEXT or --jsonl FILE")
    texts: list[str] = []
    if args.jsonl:
        path = Path(args.jsonl)
        if not path.exists():
            raise UserError(f"{path}: berkas tidak ditemukan")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                if not isinstance(data, dict) or not isinstance(data.get("text"), str):
                    raise ValueError
            except ValueError:
                raise UserError(f"{path} line {number}: expected a JSON object with a \"text\" field") from None
            texts.append(data["text"])
    else:
        texts.append(" ".join(args.text))
    classify_command(texts, args.json, ctx.out, classifier=_configured_classifier(ctx))
    return 0


def _configured_classifier(ctx: Any) -> Any:
    """The classifier with config's extra keywords when a config is there, else the built-in one."""
    from inbox.classify import Classifier
    from inbox.config import check_config
    config, _ = check_config(ctx.config_path)
    if config is None:
        return Classifier()
    return Classifier(extra_keywords=config.classify["extra_keywords"] or None,
                      extra_intent_markers=config.classify["extra_intent_markers"] or None)


def register(sub: Any, add: Any) -> None:
    p = add("classify", cmd_classify, "show the categories, intent and personal data of a text")
    p.add_argument("text", nargs="*", help="the message text")
    p.add_argument("--jsonl", help="a file of JSON objects with a \"text\" field")
    p.add_argument("--json", action="store_true", help="one JSON object per message")
