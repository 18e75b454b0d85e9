"""``aduan classify``: show why a message gets its categories, intent and personal-data flags,
so staff can tune the keywords in config.toml; ``aduan classify train`` retrains the model on
the shipped set plus the office's corrections."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def cmd_classify(args: argparse.Namespace, ctx: Any) -> int:
    """Classify TEXT or every ``text`` of a JSONL file; ``train`` retrains the model."""
    from inbox.classify import classify_command
    from inbox.cli_common import UserError
    if args.text == ["train"] and not args.jsonl:
        return cmd_train(args, ctx)
    if args.force:
        raise UserError("--force hanya dipakai dengan `aduan classify train`")
    if bool(args.text) == bool(args.jsonl):
        raise UserError("berikan TEKS atau --jsonl BERKAS, salah satu saja")
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
                raise UserError(f"{path} baris {number}: harus berupa objek JSON dengan kolom "
                                f"\"text\"") from None
            texts.append(data["text"])
    else:
        texts.append(" ".join(args.text))
    classify_command(texts, args.json, ctx.out, classifier=_configured_classifier(ctx))
    return 0


def cmd_train(args: argparse.Namespace, ctx: Any) -> int:
    """Retrain on the shipped set plus every category correction made on the case page; the
    model in the data folder is replaced only when the new one is not worse (or --force).
    Exit 0 when replaced, 1 when kept."""
    from inbox.training import print_report, retrain
    runtime = ctx.runtime()
    report = retrain(runtime.data_dir, force=args.force)
    print_report(report, ctx.out)
    return 0 if report.replaced else 1


def _configured_classifier(ctx: Any) -> Any:
    """The office's classifier (config's extra keywords, the model in its data folder) when a
    config is there, else the built-in one."""
    from inbox.classify import Classifier
    from inbox.config import check_config
    config, _ = check_config(ctx.config_path)
    if config is None:
        return Classifier()
    return Classifier.from_config(config)


def register(sub: Any, add: Any) -> None:
    p = add("classify", cmd_classify,
            "show the categories, intent and personal data of a text; `classify train` retrains")
    p.add_argument("text", nargs="*", help="the message text, or `train`")
    p.add_argument("--jsonl", help="a file of JSON objects with a \"text\" field")
    p.add_argument("--json", action="store_true", help="one JSON object per message")
    p.add_argument("--force", action="store_true",
                   help="with `train`: replace the model even when the new one scores lower")
