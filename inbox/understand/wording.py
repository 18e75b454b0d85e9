"""Optional wording help from a local language model: a polite Indonesian draft made from the
chosen suggestion and the citizen's message. Off unless ``[suggest] llm_url`` names an
OpenAI-compatible endpoint (a llama.cpp server or Ollama on the office's own machine or LAN);
nothing leaves the office PC otherwise.

Before anything is sent, the citizen's personal data is replaced by tokens (``[NIK-1]``,
``[HP-1]``, ``[NAMA-1]`` ...): every NIK, KK, 16-digit, phone number and e-mail address
(``inbox.pii``), any other run of 8 or more digits, the citizen's display name and handle (each
word of them, any case), and capitalised words after a name cue ("nama saya", "atas nama",
"Bu", "Pak" ...). The outgoing text is checked again and not sent if any of that is still in
it. The model's answer gets the values back only in the draft shown to the officer. A timeout,
an error or an empty answer gives ``None``: the suggestion stays as it was. Requests and answers
are never logged; the log says only how long a call took and whether it worked.
"""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from inbox import pii

log = logging.getLogger(__name__)

KIND_TOKENS = {"nik": "NIK", "kk": "KK", "number16": "NOMOR", "phone": "HP", "email": "EMAIL"}
LONG_DIGITS = re.compile(r"(?<!\d)\d(?:[ .\-]?\d){7,}(?!\d)")
CUE = re.compile(r"(?i:\b(?:nama(?:\s+saya|\s+lengkap|nya)?|atas\s+nama|a\.?\s?n\.|an\.|saya|aku|"
                 r"bapak|ibu|pak|bu|mas|mbak|mba|kak|sdr|sdri|saudara|saudari|almarhum|almarhumah|"
                 r"alm\.?|almh\.?|anak\s+saya|suami\s+saya|istri\s+saya)\b[\s:,]*)"
                 r"([A-Z][a-z][\w'’-]*(?:\s+[A-Z][a-z][\w'’-]*){0,3})")
SYSTEM = ("Anda membantu petugas Dinas Kependudukan dan Pencatatan Sipil menulis balasan kepada "
          "warga dalam Bahasa Indonesia yang sopan, jelas dan singkat. Gunakan isi jawaban yang "
          "diberikan sebagai dasar; jangan menambah persyaratan, biaya, tanggal atau janji yang "
          "tidak ada di sana. Pertahankan persis setiap penanda dalam kurung seperti {nama}, "
          "{nomor}, {batas_waktu}, {kantor}, [NAMA-1], [NIK-1], [HP-1] atau [[...]]. Tulis hanya "
          "teks balasan, tanpa pembuka seperti 'Berikut balasannya'.")


@dataclass
class Masked:
    """A text with personal data replaced by tokens, and the values to put back."""

    text: str
    values: dict[str, str] = field(default_factory=dict)


class Masker:
    """Replaces one case's personal data consistently across several texts."""

    def __init__(self, names: Sequence[str] = ()) -> None:
        self.values: dict[str, str] = {}
        self._token_of: dict[tuple[str, str], str] = {}
        self.name_words = sorted({w for n in names for w in re.split(r"[\s@._\-]+", n or "")
                                  if len(w) >= 3 and not w.isdigit()}, key=len, reverse=True)
        self.names = sorted({n.strip().lstrip("@") for n in names if n and len(n.strip()) >= 3},
                            key=len, reverse=True)

    def _token(self, kind: str, value: str) -> str:
        key = (kind, pii.digits(value) if kind not in ("NAMA", "EMAIL") else value.lower())
        token = self._token_of.get(key)
        if token is None:
            count = sum(1 for k in self._token_of if k[0] == kind) + 1
            token = self._token_of[key] = f"[{kind}-{count}]"
            self.values[token] = value
        return token

    def mask(self, text: str) -> str:
        for finding in reversed(pii.find_personal_data(text)):
            token = self._token(KIND_TOKENS.get(finding.kind, "NOMOR"), finding.value)
            text = text[:finding.start] + token + text[finding.end:]
        text = LONG_DIGITS.sub(lambda m: self._token("NOMOR", m.group(0)), text)
        for name in self.names + self.name_words:
            text = re.sub(rf"(?<![\w\[-]){re.escape(name)}(?![\w\]])",
                          lambda m: self._token("NAMA", m.group(0)), text, flags=re.IGNORECASE)
        return CUE.sub(lambda m: m.group(0)[:m.start(1) - m.start(0)] + self._token("NAMA", m.group(1)),
                       text)

    def leaks(self, text: str) -> bool:
        """Whether ``text`` still holds personal data or a name (the check before sending)."""
        if pii.has_personal_data(text) or LONG_DIGITS.search(text):
            return True
        return any(re.search(rf"(?<![\w\[-]){re.escape(w)}(?![\w\]])", text, re.IGNORECASE)
                   for w in self.name_words)

    def restore(self, text: str) -> str:
        for token, value in self.values.items():
            text = text.replace(token, value)
        return text


def endpoint(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith("/chat/completions") else url + "/chat/completions"


def draft(options: dict[str, Any], suggestion: str, message: str, names: Sequence[str] = (),
          session: requests.Session | None = None) -> str | None:
    """A polite draft from ``suggestion`` (placeholders kept) answering ``message``, with the
    citizen's data put back; None when the option is off, the model fails, or the request
    would carry personal data."""
    url = (options.get("llm_url") or "").strip()
    if not url:
        return None
    masker = Masker(names)
    asked, base = masker.mask(message or ""), masker.mask(suggestion or "")
    if masker.leaks(asked) or masker.leaks(base):
        log.warning("local model: not asked, personal data could not be masked")
        return None
    payload = {"model": options.get("llm_model") or "", "temperature": 0.3, "max_tokens": 500,
               "stream": False, "messages": [
                   {"role": "system", "content": SYSTEM},
                   {"role": "user", "content": f"Pesan warga:\n{asked}\n\nIsi jawaban kantor:\n{base}\n\n"
                                               "Tulis balasan yang sopan untuk warga ini."}]}
    headers = {"Content-Type": "application/json"}
    if options.get("llm_api_key"):
        headers["Authorization"] = f"Bearer {options['llm_api_key']}"
    started = time.monotonic()
    try:
        response = (session or requests).post(endpoint(url), json=payload, headers=headers,
                                              timeout=float(options.get("llm_timeout_seconds") or 30))
        response.raise_for_status()
        text = response.json()["choices"][0]["message"]["content"]
    except (requests.RequestException, ValueError, KeyError, IndexError, TypeError) as exc:
        log.warning("local model: no draft after %.1f s (%s)", time.monotonic() - started,
                    type(exc).__name__)
        return None
    if not isinstance(text, str) or not text.strip():
        log.warning("local model: empty draft after %.1f s", time.monotonic() - started)
        return None
    log.info("local model: draft in %.1f s", time.monotonic() - started)
    return masker.restore(text.strip())
