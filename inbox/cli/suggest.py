"""``aduan suggest TEXT [--json]``: the suggested answers the case page would offer for a
citizen's message (source kind, source id or case number, score, text), for tuning the
knowledge base and for tests."""
from __future__ import annotations

import argparse
import json
from typing import Any

from inbox.cli.common import Context, UserError
from inbox.sop.suggestions import for_text

KINDS = {"knowledge": "basis pengetahuan", "answer": "jawaban lama", "incident": "gangguan massal"}


def cmd_suggest(args: argparse.Namespace, ctx: Context) -> int:
    """Print the ranked suggestions for TEXT; exit 1 when there are none."""
    text = " ".join(args.text).strip()
    if not text:
        raise UserError("tulis pesan warga yang ingin dicarikan saran jawabannya")
    found = for_text(ctx.runtime(), text, limit=args.limit)
    if args.json:
        ctx.print(json.dumps([{"kind": s.kind, "source_id": s.source_id,
                               "reference": s.reference or None, "label": s.label,
                               "score": s.score, "reason": s.reason, "text": s.text,
                               "needs_review": s.needs_review} for s in found],
                             ensure_ascii=False, indent=2))
        return 0 if found else 1
    if not found:
        ctx.print("Belum ada saran untuk pesan ini.")
        return 1
    for rank, s in enumerate(found, 1):
        source = s.reference if s.kind == "answer" else f"#{s.source_id}"
        review = " — perlu diperiksa" if s.needs_review else ""
        ctx.print(f"{rank}. [{KINDS.get(s.kind, s.kind)} {source}] skor {s.score:.3f}{review}")
        ctx.print(f"   {s.label}; {s.reason}")
        ctx.print(f"   {s.text}")
    return 0


def register(sub: Any, add: Any) -> None:
    p = add("suggest", cmd_suggest, "saran jawaban untuk pesan warga (untuk menyetel basis "
                                    "pengetahuan)")
    p.add_argument("text", nargs="+", metavar="TEKS", help="pesan warga")
    p.add_argument("--json", action="store_true", help="keluaran JSON untuk program lain")
    p.add_argument("--limit", type=int, default=3, help=argparse.SUPPRESS)
