"""``aduan classify``: show why a message gets its categories, intent and personal-data flags,
so staff can tune the keywords in config.toml; ``aduan classify train`` retrains the model on
the shipped set plus the office's corrections."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from inbox import pii
from inbox.cli.common import UserError
from inbox.labels import CATEGORY_LABELS, INTENT_LABELS
from inbox.setup.config import check_config
from inbox.text import one_line, terminal_text
from inbox.understand.classify import Classifier, normalise
from inbox.understand.training import (ensure_model, office_classifier, print_report, retrain,
                                       shipped_classifier)


def cmd_classify(args: argparse.Namespace, ctx: Any) -> int:
    """Classify TEXT or every ``text`` of a JSONL file; ``train`` retrains the model."""
    if args.text == ["train"] and not args.jsonl:
        return cmd_train(args, ctx)
    if args.force:
        raise UserError("--force hanya dipakai dengan `aduan classify train`")
    if args.if_missing:
        raise UserError("--if-missing hanya dipakai dengan `aduan classify train`")
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
    runtime = ctx.runtime()
    if args.if_missing:
        seconds = ensure_model(runtime.data_dir)
        ctx.print("model pengklasifikasi sudah ada" if seconds is None else
                  f"model pengklasifikasi dilatih dalam {seconds:.1f} detik".replace(".", ","))
        return 0
    report = retrain(runtime.data_dir, force=args.force)
    print_report(report, ctx.out)
    return 0 if report.replaced else 1


def _configured_classifier(ctx: Any) -> Any:
    """The office's classifier (config's extra keywords, the model in its data folder) when a
    config is there, else the built-in one."""
    config, _ = check_config(ctx.config_path)
    if config is None:
        return shipped_classifier()
    return office_classifier(config)


def explain(text: str, classifier: Classifier | None = None) -> dict[str, Any]:
    """What ``aduan classify --json`` prints for one message (personal data masked): the
    categories and intent, the rules' words, the model's strongest n-grams for what the rules
    did not find, and the probabilities."""
    classifier = classifier or shipped_classifier()
    result = classifier.classify(text)
    evidence = {k: [pii.mask(w) for w in v] for k, v in result.evidence.items()}
    model = classifier.model
    if model is not None:
        norm = normalise(text)
        for code in result.categories:
            if not evidence.get(code):
                evidence[code] = ["model: " + pii.mask(t)
                                  for t in model.top_terms(norm, model.categories.index(code))]
        if not evidence.get("intent"):
            column = len(model.categories) + model.intents.index(result.intent)
            evidence["intent"] = ["model: " + pii.mask(t) for t in model.top_terms(norm, column)]
    return {"text": pii.mask(text), "categories": list(result.categories), "intent": result.intent,
            "confidence": result.confidence, "uncertain": list(result.uncertain),
            "personal_data": [{"kind": f.kind, "masked": f.masked} for f in pii.find_personal_data(text)],
            "evidence": evidence}


def _percent(p: float | None) -> str:
    return "" if p is None else f" {round(p * 100)}%"


def classify_command(texts: list[str], as_json: bool, out: TextIO,
                     classifier: Classifier | None = None) -> None:
    """Print, per message, its categories, intent and personal data, in Indonesian or as JSON;
    a probability under ``LOW_CONFIDENCE`` is marked "perlu dicek"."""
    classifier = classifier or shipped_classifier()
    for text in texts:
        data = explain(text, classifier)
        if as_json:
            out.write(terminal_text(json.dumps(data, ensure_ascii=False)) + "\n")
            continue
        evidence, conf, unsure = data["evidence"], data["confidence"], set(data["uncertain"])
        cats = ", ".join(f"{CATEGORY_LABELS[c]} ({', '.join(dict.fromkeys(evidence[c])) or '-'})"
                         f"{_percent(conf.get(c))}{' perlu dicek' if c in unsure else ''}"
                         for c in data["categories"]) or "-"
        why = ", ".join(dict.fromkeys(evidence.get("intent", [])))
        personal = ", ".join(f"{pii.KIND_LABELS[p['kind']]} {p['masked']}"
                             for p in data["personal_data"]) or "tidak ada"
        out.write(f"Pesan       : {one_line(data['text'])[:120]}\n"
                  f"Kategori    : {cats}\n"
                  f"Jenis pesan : {INTENT_LABELS[data['intent']]}" + (f" ({why})" if why else "")
                  + _percent(conf.get("intent")) + (" perlu dicek" if "intent" in unsure else "") + "\n"
                  f"Data pribadi: {personal}\n\n")


def register(sub: Any, add: Any) -> None:
    p = add("classify", cmd_classify,
            "kategori, jenis pesan dan data pribadi sebuah teks; classify train melatih ulang")
    p.add_argument("text", nargs="*", metavar="TEKS", help="teks pesan, atau train untuk melatih ulang")
    p.add_argument("--jsonl", metavar="BERKAS", help="berkas objek JSON dengan kolom \"text\"")
    p.add_argument("--json", action="store_true", help="satu objek JSON per pesan")
    p.add_argument("--force", action="store_true",
                   help="dengan train: ganti model walau nilainya lebih rendah")
    p.add_argument("--if-missing", action="store_true",
                   help="dengan train: latih hanya bila belum ada model yang bisa dipakai")
