"""Load and validate ``config.toml``.

Every finding names its key, in Indonesian because an office admin reads it
(``accounts.x_dukcapil.bearer_token: variabel lingkungan X_BEARER_TOKEN belum diisi``). ``load_config`` raises :class:`ConfigError` carrying all the
findings; ``aduan check-config`` prints them one per line. Secrets may be written as a string
or as ``{ env = "NAME" }``; they are resolved here and never logged.
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.base import Setting
from connectors.registry import RegistryError, connector_class, registered_kinds
from inbox.labels import LABELS

ACCOUNT_COMMON: dict[str, Setting] = {
    "kind": Setting(str, required=True,
                    help="sandbox | x | facebook | instagram | telegram | whatsapp | email"),
    "label": Setting(str, default="", help="name shown to officers"),
    "enabled": Setting(bool, default=True),
    "poll_interval": Setting(int, default=None, help="seconds between polls"),
}

SECTIONS: dict[str, dict[str, Setting]] = {
    "office": {
        "name": Setting(str, required=True),
        "short_name": Setting(str, default=""),
        "timezone": Setting(str, default="Asia/Jakarta"),
        "data_dir": Setting(str, default="data"),
        "legal_basis": Setting(str, default=""),
    },
    "database": {"url": Setting(str, default="sqlite:///data/aduan.db")},
    "web": {
        "host": Setting(str, default="127.0.0.1"),
        "port": Setting(int, default=8080),
        "secret_key": Setting(str, secret=True, default=""),
        "login_attempts": Setting(int, default=5),
        "address_login_attempts": Setting(int, default=50),
        "lockout_minutes": Setting(int, default=15),
        "idle_minutes": Setting(int, default=120),
        "secure_cookies": Setting((bool, str), default="auto"),
        "trusted_proxy": Setting(str, default=""),
    },
    "sla": {
        "working_days": Setting(int, default=3),
        "end_of_day": Setting(str, default="16:00"),
        "holiday_categories": Setting(list, default=["public", "government"]),
        "extra_closures": Setting(list, default=[]),
        "acknowledge_private": Setting(bool, default=True),
        "acknowledge_public": Setting(bool, default=False),
        "acknowledgement_text": Setting(str, default=""),
        "reply_window_hours": Setting(int, default=24),
    },
    "schedule": {
        "tick_seconds": Setting(int, default=1),
        "outbox_interval_seconds": Setting(int, default=5),
        "daily_recap_time": Setting(str, default="16:00"),
        "monthly_report_day": Setting(int, default=1),
        "monthly_report_time": Setting(str, default="07:00"),
        "max_backoff_seconds": Setting(int, default=1800),
        # "monday 02:00": `aduan classify train` every week at that WIB time; "" = never
        "retrain": Setting(str, default=""),
    },
    "classify": {
        "auto_dismiss_spam": Setting(bool, default=False),
        "auto_dismiss_greeting": Setting(bool, default=False),
        # thanks, greeting or spam the classifier is sure of, from a citizen with no open case
        "auto_dismiss": Setting(bool, default=False),
        "extra_keywords": Setting(dict, default={}),
        "extra_intent_markers": Setting(dict, default={}),
    },
    "privacy": {
        "public_reply_with_personal_data": Setting(str, default="block",
                                                   help="block | warn"),
        "retention_months": Setting(int, default=0, help="0 = keep; else closed cases older "
                                    "than this are reduced to their masked form"),
    },
    "attachments": {
        "download": Setting(bool, default=True, help="download photos and files citizens send"),
        "max_mb": Setting(int, default=10, help="larger files are left on the platform"),
        "download_seconds": Setting(int, default=120, help="the most one download may take"),
    },
    "citizen": {
        # inbox.arrive.selfservice: "status ADU-..." on a private channel is answered automatically
        "status_check": Setting(bool, default=True),
        "status_checks_per_day": Setting(int, default=5, help="answers per contact in 24 hours"),
        # the satisfaction question (SKM) after an answer on a private channel
        "survey": Setting(bool, default=False, help="config.toml ships it on"),
        "survey_text": Setting(str, default="", help="{nomor} is the case number; empty = default"),
    },
    # Issue 30 (inbox.sop.handling): complaint classes with their own resolution clocks, and
    # "bukan wewenang" (another agency's matter) with the agencies citizens are sent to.
    "resolution": {
        "classes": Setting(list, default=None, help="[[resolution.classes]]: code, name, days, set_by"),
        "set_by": Setting(list, default=["group_admin", "division"],
                          help="roles that may put a case in a class (a superuser always may)"),
        "interim_text": Setting(str, default="", help="the answer within the SOP's days when the "
                                "class needs longer; empty = built-in"),
        "follow_up_text": Setting(str, default="", help="the citizen's news when the follow-up is "
                                  "recorded; empty = built-in"),
    },
    "referral": {
        "agencies": Setting(list, default=None, help="[[referral.agencies]]: code, name, where"),
        "answer_text": Setting(str, default="", help="the answer of a bukan wewenang case; "
                               "empty = built-in"),
    },
    "backup": {
        "enabled": Setting(bool, default=True, help="the daemon makes a backup every day"),
        "folder": Setting(str, default="", help="where backups go; empty = data_dir/backups"),
        "time": Setting(str, default="", help="WIB; empty = daily_recap_time (after the recap)"),
        "keep_daily": Setting(int, default=7),
        "keep_weekly": Setting(int, default=4),
        "keep_monthly": Setting(int, default=12),
        "max_age_days": Setting(int, default=2, help="warn when the last good backup is older"),
    },
    # Suggested answers and the optional local language model (inbox.understand.suggest, wording)
    "suggest": {
        "history_days": Setting(int, default=365, help="past answers this old are suggested"),
        "llm_url": Setting(str, default="", help="OpenAI-compatible endpoint on the office's own "
                           "machine or LAN, e.g. http://127.0.0.1:11434/v1; empty = off"),
        "llm_model": Setting(str, default="", help="the model's name at that endpoint"),
        "llm_api_key": Setting(str, secret=True, default="", help="only if the server asks for one"),
        "llm_timeout_seconds": Setting(int, default=30),
    },
    # Mass incidents (inbox.sop.incidents)
    "incidents": {
        "enabled": Setting(bool, default=True, help="propose mass incidents on the dashboard"),
        "min_cases": Setting(int, default=5, help="cases from different citizens"),
        "window_hours": Setting(int, default=3, help="within this many hours"),
        "extra_outage_words": Setting(list, default=[], help="the office's own outage words"),
    },
    # The letterhead (kop surat) and the signatures of the reports the office signs (issue 28).
    "report": {
        "government": Setting(str, default="", help="line above the office's name, e.g. "
                              "PEMERINTAH KABUPATEN BREBES"),
        "address": Setting(list, default=[], help="address lines under the office's name"),
        "logo": Setting(str, default="", help="PNG or JPEG file of the logo (relative to "
                        "config.toml); empty = none"),
        "place": Setting(str, default="", help="town before the date of signing, e.g. Brebes"),
        "number": Setting(str, default="", help="report number; {tahun} {bulan} are filled; "
                          "empty = a blank to write by hand"),
        "head_title": Setting(str, default="", help="empty = Kepala + office.name"),
        "head_name": Setting(str, default=""),
        "head_nip": Setting(str, default=""),
        "maker_title": Setting(str, default="Admin Pengelola Pengaduan Media Sosial"),
        "maker_name": Setting(str, default=""),
        "maker_nip": Setting(str, default=""),
    },
    "notify": {
        "enabled": Setting(bool, default=True, help="the daemon sends notifications"),
        "base_url": Setting(str, default="", help="address of the web inbox in the links; "
                            "empty = http://web.host:web.port"),
        "quiet_hours": Setting(bool, default=True, help="hold notifications outside office hours"),
        "office_start": Setting(str, default="07:30", help="WIB; the office day ends at "
                                "sla.end_of_day"),
        "digest_threshold": Setting(int, default=5, help="more due at once for one person: one digest"),
        "complaint_team": Setting(list, default=[], help="e-mail addresses told of the daily recap"),
        "email": Setting(dict, default={}),
        "telegram": Setting(dict, default={}),
    },
}

#: [notify.email] and [notify.telegram]: the notifications' own SMTP server and bot.
NOTIFY_CHANNELS: dict[str, dict[str, Setting]] = {
    "email": {
        "host": Setting(str, required=True),
        "port": Setting(int, default=0, help="default 465 (tls) or 587 (starttls)"),
        "security": Setting(str, default="starttls", help="tls | starttls | none (127.0.0.1 only)"),
        "username": Setting(str, default="", help="default: from_address"),
        "password": Setting(str, secret=True, default=""),
        "from_address": Setting(str, required=True),
        "ca_file": Setting(str, default="", help="PEM file of a CA to trust (own server)"),
    },
    "telegram": {
        "bot_token": Setting(str, required=True, secret=True, help="token dari @BotFather"),
    },
}

KNOWN_TOP_LEVEL = set(SECTIONS) | {"divisions", "accounts"}


class ConfigError(Exception):
    """The configuration is unusable; ``findings`` holds one sentence per problem."""

    def __init__(self, findings: list[str]) -> None:
        self.findings = findings
        more = f" (dan {len(findings) - 1} masalah lain; jalankan `aduan check-config`)" if len(findings) > 1 else ""
        super().__init__(findings[0] + more)


@dataclass
class AccountConfig:
    name: str
    kind: str
    label: str
    enabled: bool
    poll_interval: int
    options: dict[str, Any]


@dataclass
class Config:
    path: Path
    office: dict[str, Any]
    database: dict[str, Any]
    web: dict[str, Any]
    sla: dict[str, Any]
    schedule: dict[str, Any]
    classify: dict[str, Any]
    privacy: dict[str, Any]
    attachments: dict[str, Any]
    citizen: dict[str, Any]
    backup: dict[str, Any]
    notify: dict[str, Any]
    resolution: dict[str, Any]
    referral: dict[str, Any]
    divisions: list[dict[str, str]]
    accounts: dict[str, AccountConfig] = field(default_factory=dict)
    suggest: dict[str, Any] = field(default_factory=dict)
    incidents: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    @property
    def data_dir(self) -> Path:
        """The data folder, absolute. Resolving it costs file-system calls (0.12 ms, a tenth of
        a webhook answer), so it is kept until the config file, the setting or the working
        folder changes."""
        key = (self.path, self.office["data_dir"], os.getcwd())
        cached = self.__dict__.get("_data_dir")
        if cached is None or cached[0] != key:
            cached = self.__dict__["_data_dir"] = (key, (self.base_dir / self.office["data_dir"]).resolve())
        return cached[1]

    @property
    def backup_dir(self) -> Path:
        """Where backups go: ``backup.folder`` (relative to the config file), else
        ``data_dir/backups``."""
        folder = self.backup["folder"]
        return (self.base_dir / folder).resolve() if folder else self.data_dir / "backups"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.office["timezone"])

    @property
    def closures(self) -> set[date]:
        return {date.fromisoformat(d) for d in self.sla["extra_closures"]}


def _type_name(t: type | tuple[type, ...]) -> str:
    names = {str: "teks", int: "bilangan bulat", bool: "true atau false", list: "daftar",
             dict: "tabel", float: "angka"}
    return names.get(t, str(t)) if isinstance(t, type) else " atau ".join(names.get(x, str(x)) for x in t)


def _check_value(key: str, value: Any, spec: Setting, findings: list[str]) -> Any:
    if spec.secret and isinstance(value, dict):
        if set(value) != {"env"} or not isinstance(value["env"], str):
            findings.append(f'{key}: tulis rahasia sebagai teks atau sebagai {{ env = "NAMA" }}')
            return None
        resolved = os.environ.get(value["env"])
        if not resolved:
            findings.append(f"{key}: variabel lingkungan {value['env']} belum diisi")
            return None
        value = resolved
    expected = spec.type
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        findings.append(f"{key}: harus berupa {_type_name(expected)}, bukan {value!r}" if not spec.secret
                        else f"{key}: harus berupa {_type_name(expected)}")
        return None
    return value


def _check_table(prefix: str, table: Any, schema: dict[str, Setting],
                 findings: list[str]) -> dict[str, Any]:
    if not isinstance(table, dict):
        findings.append(f"{prefix}: harus berupa tabel ([{prefix}])")
        return {}
    out: dict[str, Any] = {}
    for key in table:
        if key not in schema:
            known = ", ".join(sorted(schema))
            findings.append(f"{prefix}.{key}: kunci tidak dikenal (yang dikenal: {known})")
    for key, spec in schema.items():
        if key in table:
            out[key] = _check_value(f"{prefix}.{key}", table[key], spec, findings)
        elif spec.required:
            findings.append(f"{prefix}.{key}: wajib diisi")
        else:
            out[key] = spec.default
    return out


def _check_time(key: str, value: str | None, findings: list[str]) -> None:
    if value is None:
        return
    try:
        time.fromisoformat(value)
    except (TypeError, ValueError):
        findings.append(f"{key}: harus berupa jam seperti \"16:00\", bukan {value!r}")


def parse_config(data: dict[str, Any], path: Path) -> tuple[Config | None, list[str]]:
    """Validate a parsed TOML document; return the config (None if unusable) and the findings."""
    findings: list[str] = []
    for key in data:
        if key not in KNOWN_TOP_LEVEL:
            findings.append(f"{key}: bagian tidak dikenal (yang dikenal: {', '.join(sorted(KNOWN_TOP_LEVEL))})")
    if "office" not in data:
        findings.append("office: bagian [office] wajib ada (paling tidak name = \"...\")")
    sections = {name: _check_table(name, data.get(name, {}), schema, findings)
                for name, schema in SECTIONS.items()}

    office = sections["office"]
    if isinstance(office.get("timezone"), str):
        try:
            ZoneInfo(office["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            findings.append(f"office.timezone: zona waktu {office['timezone']!r} tidak dikenal (gunakan Asia/Jakarta)")
    if sections["web"].get("secure_cookies") not in (True, False, "auto", None):
        findings.append('web.secure_cookies: harus true, false atau "auto"')
    if isinstance(sections["database"].get("url"), str):
        from inbox.db import sqlite_path_problem
        problem = sqlite_path_problem(sections["database"]["url"], path.parent)
        if problem:
            findings.append(problem)
    _check_time("sla.end_of_day", sections["sla"].get("end_of_day"), findings)
    _check_time("schedule.daily_recap_time", sections["schedule"].get("daily_recap_time"), findings)
    _check_time("schedule.monthly_report_time", sections["schedule"].get("monthly_report_time"), findings)
    if sections["backup"].get("time"):
        _check_time("backup.time", sections["backup"]["time"], findings)
    for key in ("keep_daily", "keep_weekly", "keep_monthly", "max_age_days"):
        value = sections["backup"].get(key)
        if isinstance(value, int) and value < (1 if key in ("keep_daily", "max_age_days") else 0):
            findings.append(f"backup.{key}: harus bilangan bulat paling sedikit "
                            f"{1 if key in ('keep_daily', 'max_age_days') else 0}")
    retrain = sections["schedule"].get("retrain")
    if isinstance(retrain, str) and retrain.strip():
        from inbox.understand.training import parse_weekly
        if parse_weekly(retrain) is None:
            findings.append("schedule.retrain: tulis hari dan jam, misalnya \"monday 02:00\", "
                            "atau \"\" agar tidak pernah")
    for i, day in enumerate(sections["sla"].get("extra_closures") or []):
        try:
            date.fromisoformat(day)
        except (TypeError, ValueError):
            findings.append(f"sla.extra_closures[{i}]: harus berupa tanggal seperti \"2026-11-27\", bukan {day!r}")
    working_days = sections["sla"].get("working_days")
    if isinstance(working_days, int) and working_days < 1:
        findings.append("sla.working_days: paling sedikit 1")
    day_of_month = sections["schedule"].get("monthly_report_day")
    if isinstance(day_of_month, int) and not 1 <= day_of_month <= 28:
        findings.append("schedule.monthly_report_day: harus antara 1 dan 28")
    max_mb = sections["attachments"].get("max_mb")
    if isinstance(max_mb, int) and not 1 <= max_mb <= 100:
        findings.append("attachments.max_mb: harus bilangan bulat megabita dari 1 sampai 100")
    seconds = sections["attachments"].get("download_seconds")
    if isinstance(seconds, int) and not 10 <= seconds <= 3600:
        findings.append("attachments.download_seconds: harus antara 10 dan 3600 detik")
    retention = sections["privacy"].get("retention_months")
    if isinstance(retention, int) and retention < 0:
        findings.append("privacy.retention_months: harus 0 (disimpan terus) atau jumlah bulan")
    if sections["privacy"].get("public_reply_with_personal_data") not in (None, "block", "warn"):
        findings.append("privacy.public_reply_with_personal_data: harus \"block\" atau \"warn\"")

    findings.extend(_check_report(sections["report"], path.parent))
    _check_notify(sections["notify"], findings)
    try:
        if time.fromisoformat(sections["notify"]["office_start"]) >= time.fromisoformat(
                sections["sla"]["end_of_day"]):
            findings.append("notify.office_start: jam mulai kerja harus sebelum sla.end_of_day")
    except (TypeError, ValueError):
        pass  # already named by the time checks above

    findings.extend(_check_citizen(sections["citizen"]))
    from inbox.setup.handling_config import check_referral, check_resolution
    findings.extend(check_resolution(sections["resolution"]))
    findings.extend(check_referral(sections["referral"]))
    findings.extend(_check_suggest(sections["suggest"], sections["incidents"]))
    if isinstance(sections["classify"].get("extra_keywords"), dict):
        from inbox.understand.classify import check_extra_keywords
        markers = sections["classify"].get("extra_intent_markers")
        findings.extend(check_extra_keywords(sections["classify"]["extra_keywords"],
                                             markers if isinstance(markers, dict) else None))

    divisions = _check_divisions(data.get("divisions", []), findings)
    accounts = _check_accounts(data.get("accounts", {}), findings)
    if findings:
        return None, findings
    return Config(path=path, divisions=divisions, accounts=accounts, **sections), []


def _check_notify(notify: dict[str, Any], findings: list[str]) -> None:
    """[notify] and its channel tables; a channel table left out means that channel is off."""
    from connectors.email import SECURITY, _loopback
    from inbox.pii import EMAIL
    for name, schema in NOTIFY_CHANNELS.items():
        table = notify.get(name)
        notify[name] = _check_table(f"notify.{name}", table, schema, findings) if table else {}
    email = notify["email"]
    if email:
        if email.get("security") not in SECURITY:
            findings.append("notify.email.security: harus tls, starttls atau none")
        elif email["security"] == "none" and not _loopback(email.get("host") or ""):
            findings.append("notify.email.security: none (tanpa TLS) hanya boleh untuk 127.0.0.1; "
                            "pakai tls atau starttls agar kata sandi tidak terbaca di jaringan")
        if isinstance(email.get("port"), int) and not 0 <= email["port"] <= 65535:
            findings.append("notify.email.port: harus nomor port antara 1 dan 65535")
        if isinstance(email.get("from_address"), str) and not EMAIL.fullmatch(email["from_address"]):
            findings.append("notify.email.from_address: harus alamat e-mail, misalnya "
                            "aduan@dukcapil.brebeskab.go.id")
        if email.get("ca_file") and not Path(email["ca_file"]).is_file():
            findings.append(f"notify.email.ca_file: berkas {email['ca_file']} tidak ada")
    _check_time("notify.office_start", notify.get("office_start"), findings)
    threshold = notify.get("digest_threshold")
    if isinstance(threshold, int) and threshold < 1:
        findings.append("notify.digest_threshold: paling sedikit 1")
    base_url = notify.get("base_url")
    if isinstance(base_url, str) and base_url and not re.match(r"https?://[^/\s]+", base_url):
        findings.append("notify.base_url: tulis alamat lengkap, misalnya http://192.168.1.10:8080")
    team = notify.get("complaint_team")
    for i, address in enumerate(team if isinstance(team, list) else []):
        if not isinstance(address, str) or not EMAIL.fullmatch(address):
            findings.append(f"notify.complaint_team[{i}]: harus alamat e-mail, bukan {address!r}")
    if team and not email:
        findings.append("notify.complaint_team: isi juga [notify.email] agar rekap harian bisa "
                        "dikirim ke tim penanganan pengaduan")


def _check_suggest(suggest: dict[str, Any], incidents: dict[str, Any]) -> list[str]:
    """[suggest] and [incidents]: numbers in range, an endpoint that is an http(s) address."""
    findings = []
    url = suggest.get("llm_url")
    if isinstance(url, str) and url and not re.match(r"https?://[^/\s]+", url):
        findings.append("suggest.llm_url: tulis alamat lengkap, misalnya http://127.0.0.1:11434/v1")
    if isinstance(url, str) and url and not suggest.get("llm_model"):
        findings.append("suggest.llm_model: isi nama model di server itu (misalnya qwen2.5:3b)")
    for key, low, high in (("history_days", 1, 3650), ("llm_timeout_seconds", 1, 600)):
        value = suggest.get(key)
        if isinstance(value, int) and not low <= value <= high:
            findings.append(f"suggest.{key}: harus bilangan bulat dari {low} sampai {high}")
    for key, low, high in (("min_cases", 2, 1000), ("window_hours", 1, 72)):
        value = incidents.get(key)
        if isinstance(value, int) and not low <= value <= high:
            findings.append(f"incidents.{key}: harus bilangan bulat dari {low} sampai {high}")
    words = incidents.get("extra_outage_words")
    if isinstance(words, list) and not all(isinstance(w, str) and w.strip() for w in words):
        findings.append("incidents.extra_outage_words: harus daftar kata dalam tanda kutip")
    return findings


def _check_report(report: dict[str, Any], base: Path) -> list[str]:
    """[report]: the letterhead's lines, its logo file and the number's pattern."""
    findings = []
    address = report.get("address")
    if isinstance(address, list) and not all(isinstance(line, str) for line in address):
        findings.append('report.address: tulis setiap baris alamat sebagai teks, misalnya '
                        '["Jl. Jenderal Sudirman No. 1", "Telp. (0283) 671234"]')
    logo = report.get("logo")
    if isinstance(logo, str) and logo:
        path = Path(logo) if Path(logo).is_absolute() else base / logo
        if path.suffix.lower() not in (".png", ".jpg", ".jpeg"):
            findings.append(f"report.logo: {logo} harus berkas gambar PNG atau JPEG")
        elif not path.is_file():
            findings.append(f"report.logo: berkas {logo} tidak ada")
    number = report.get("number")
    if isinstance(number, str) and number:
        try:
            number.format(tahun="2026", bulan="12")
        except (KeyError, IndexError, ValueError):
            findings.append("report.number: hanya {tahun} dan {bulan} yang boleh ditulis di "
                            "antara kurung kurawal")
    return findings


def _check_citizen(citizen: dict[str, Any]) -> list[str]:
    """The citizen's status check and survey (inbox.arrive.selfservice)."""
    findings = []
    per_day = citizen.get("status_checks_per_day")
    if isinstance(per_day, int) and not 1 <= per_day <= 100:
        findings.append("citizen.status_checks_per_day: harus bilangan bulat dari 1 sampai 100")
    text = citizen.get("survey_text")
    if isinstance(text, str) and text.strip():
        problem = survey_text_problem(text)
        if problem:
            findings.append(f"citizen.survey_text: {problem}")
    return findings


def survey_text_problem(text: str) -> str | None:
    """Why ``text`` cannot be the survey question (Indonesian), or None."""
    try:
        text.format(nomor="ADU-202601-0001")
    except (KeyError, IndexError, ValueError):
        return "hanya {nomor} yang boleh ditulis di antara kurung kurawal"
    if not all(str(digit) in text for digit in LABELS["rating"]):
        return "sebutkan pilihan angka 1, 2, 3 dan 4 agar warga tahu cara menjawab"
    return None


def _check_divisions(raw: Any, findings: list[str]) -> list[dict[str, str]]:
    schema = {"code": Setting(str, required=True), "name": Setting(str, required=True)}
    if not isinstance(raw, list):
        findings.append("divisions: tulis setiap bidang sebagai [[divisions]] dengan code dan name")
        return []
    out, seen = [], set()
    for i, item in enumerate(raw):
        div = _check_table(f"divisions[{i}]", item, schema, findings)
        code = div.get("code")
        if isinstance(code, str):
            if not re.fullmatch(r"[a-z0-9_-]{1,40}", code):
                findings.append(f"divisions[{i}].code: gunakan huruf kecil, angka, - atau _ ({code!r})")
            if code in seen:
                findings.append(f"divisions[{i}].code: {code!r} dipakai dua kali")
            seen.add(code)
        out.append(div)
    return out


def _check_accounts(raw: Any, findings: list[str]) -> dict[str, AccountConfig]:
    if not isinstance(raw, dict):
        findings.append("accounts: tulis setiap akun sebagai [accounts.NAMA]")
        return {}
    accounts: dict[str, AccountConfig] = {}
    for name, table in raw.items():
        prefix = f"accounts.{name}"
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,80}", name):
            findings.append(f"{prefix}: nama akun hanya boleh berisi huruf, angka, - atau _")
        if not isinstance(table, dict):
            findings.append(f"{prefix}: harus berupa tabel ([{prefix}])")
            continue
        kind = table.get("kind")
        if not isinstance(kind, str):
            findings.append(f"{prefix}.kind: wajib diisi (mis. sandbox, x, facebook, instagram, telegram, whatsapp atau email)")
            continue
        known = registered_kinds()
        if kind not in known:
            findings.append(f"{prefix}.kind: jenis akun {kind!r} tidak dikenal "
                            f"(yang dikenal: {', '.join(sorted(known))})")
            continue
        try:
            cls = connector_class(kind)
        except RegistryError as exc:
            findings.append(f"{prefix}.kind: {exc}")
            continue
        schema = {**ACCOUNT_COMMON, **cls.settings}
        values = _check_table(prefix, table, schema, findings)
        findings.extend(f"{prefix}.{problem}" for problem in cls.check_options(values))
        interval = values.pop("poll_interval") or cls.default_poll_interval
        if interval < 5:
            findings.append(f"{prefix}.poll_interval: paling sedikit 5 detik")
        accounts[name] = AccountConfig(
            name=name, kind=values.pop("kind"), label=values.pop("label") or cls.label,
            enabled=values.pop("enabled"), poll_interval=interval, options=values)
    return accounts


def _toml_position(exc: tomllib.TOMLDecodeError) -> str:
    """`` (baris 3, kolom 7)`` from tomllib's English message, where it says so."""
    found = re.search(r"line (\d+), column (\d+)", str(exc))
    return f" (baris {found.group(1)}, kolom {found.group(2)})" if found else ""


def default_config_path() -> Path:
    return Path(os.environ.get("ADUAN_CONFIG") or "config.toml")


def check_config(path: Path) -> tuple[Config | None, list[str]]:
    """Read and validate ``path``; never raises for a user mistake."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return None, [f"{path}: berkas konfigurasi tidak ditemukan (gunakan --config PATH atau isi ADUAN_CONFIG)"]
    except tomllib.TOMLDecodeError as exc:
        return None, [f"{path}: bukan TOML yang sah{_toml_position(exc)}"]
    except PermissionError:
        return None, [f"{path}: tidak dapat dibaca (izin ditolak)"]
    except OSError:
        return None, [f"{path}: tidak dapat dibaca"]
    return parse_config(data, path.resolve())


def load_config(path: Path | str | None = None) -> Config:
    """The validated configuration; raises ConfigError naming the first problem."""
    config, findings = check_config(Path(path) if path else default_config_path())
    if config is None:
        raise ConfigError(findings)
    return config
