"""Load and validate ``config.toml``.

Every finding names its key (``accounts.x_dukcapil.bearer_token: environment variable
X_BEARER_TOKEN is not set``). ``load_config`` raises :class:`ConfigError` carrying all the
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

from connectors.base import RegistryError, Setting, connector_class

ACCOUNT_COMMON: dict[str, Setting] = {
    "kind": Setting(str, required=True, help="sandbox | x | facebook | instagram"),
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
        "lockout_minutes": Setting(int, default=15),
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
    },
}

KNOWN_TOP_LEVEL = set(SECTIONS) | {"divisions", "accounts"}


class ConfigError(Exception):
    """The configuration is unusable; ``findings`` holds one sentence per problem."""

    def __init__(self, findings: list[str]) -> None:
        self.findings = findings
        more = f" (and {len(findings) - 1} more; run `aduan check-config`)" if len(findings) > 1 else ""
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
    divisions: list[dict[str, str]]
    accounts: dict[str, AccountConfig] = field(default_factory=dict)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    @property
    def data_dir(self) -> Path:
        return (self.base_dir / self.office["data_dir"]).resolve()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.office["timezone"])

    @property
    def closures(self) -> set[date]:
        return {date.fromisoformat(d) for d in self.sla["extra_closures"]}


def _type_name(t: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "a whole number", bool: "true or false", list: "a list",
             dict: "a table", float: "a number"}
    return names.get(t, str(t)) if isinstance(t, type) else " or ".join(names.get(x, str(x)) for x in t)


def _check_value(key: str, value: Any, spec: Setting, findings: list[str]) -> Any:
    if spec.secret and isinstance(value, dict):
        if set(value) != {"env"} or not isinstance(value["env"], str):
            findings.append(f'{key}: write a secret as a string or as {{ env = "NAME" }}')
            return None
        resolved = os.environ.get(value["env"])
        if not resolved:
            findings.append(f"{key}: environment variable {value['env']} is not set")
            return None
        value = resolved
    expected = spec.type
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        findings.append(f"{key}: must be {_type_name(expected)}, not {value!r}" if not spec.secret
                        else f"{key}: must be {_type_name(expected)}")
        return None
    return value


def _check_table(prefix: str, table: Any, schema: dict[str, Setting],
                 findings: list[str]) -> dict[str, Any]:
    if not isinstance(table, dict):
        findings.append(f"{prefix}: must be a table ([{prefix}])")
        return {}
    out: dict[str, Any] = {}
    for key in table:
        if key not in schema:
            known = ", ".join(sorted(schema))
            findings.append(f"{prefix}.{key}: unknown key (known keys: {known})")
    for key, spec in schema.items():
        if key in table:
            out[key] = _check_value(f"{prefix}.{key}", table[key], spec, findings)
        elif spec.required:
            findings.append(f"{prefix}.{key}: is required")
        else:
            out[key] = spec.default
    return out


def _check_time(key: str, value: str | None, findings: list[str]) -> None:
    if value is None:
        return
    try:
        time.fromisoformat(value)
    except (TypeError, ValueError):
        findings.append(f"{key}: must be a time like \"16:00\", not {value!r}")


def parse_config(data: dict[str, Any], path: Path) -> tuple[Config | None, list[str]]:
    """Validate a parsed TOML document; return the config (None if unusable) and the findings."""
    findings: list[str] = []
    for key in data:
        if key not in KNOWN_TOP_LEVEL:
            findings.append(f"{key}: unknown section (known: {', '.join(sorted(KNOWN_TOP_LEVEL))})")
    if "office" not in data:
        findings.append("office: section [office] is required (at least name = \"...\")")
    sections = {name: _check_table(name, data.get(name, {}), schema, findings)
                for name, schema in SECTIONS.items()}

    office = sections["office"]
    if isinstance(office.get("timezone"), str):
        try:
            ZoneInfo(office["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            findings.append(f"office.timezone: unknown time zone {office['timezone']!r} (use Asia/Jakarta)")
    _check_time("sla.end_of_day", sections["sla"].get("end_of_day"), findings)
    _check_time("schedule.daily_recap_time", sections["schedule"].get("daily_recap_time"), findings)
    _check_time("schedule.monthly_report_time", sections["schedule"].get("monthly_report_time"), findings)
    retrain = sections["schedule"].get("retrain")
    if isinstance(retrain, str) and retrain.strip():
        from inbox.training import parse_weekly
        if parse_weekly(retrain) is None:
            findings.append("schedule.retrain: tulis hari dan jam, misalnya \"monday 02:00\", "
                            "atau \"\" agar tidak pernah")
    for i, day in enumerate(sections["sla"].get("extra_closures") or []):
        try:
            date.fromisoformat(day)
        except (TypeError, ValueError):
            findings.append(f"sla.extra_closures[{i}]: must be a date like \"2026-11-27\", not {day!r}")
    working_days = sections["sla"].get("working_days")
    if isinstance(working_days, int) and working_days < 1:
        findings.append("sla.working_days: must be at least 1")
    day_of_month = sections["schedule"].get("monthly_report_day")
    if isinstance(day_of_month, int) and not 1 <= day_of_month <= 28:
        findings.append("schedule.monthly_report_day: must be between 1 and 28")
    if sections["privacy"].get("public_reply_with_personal_data") not in (None, "block", "warn"):
        findings.append("privacy.public_reply_with_personal_data: must be \"block\" or \"warn\"")

    if isinstance(sections["classify"].get("extra_keywords"), dict):
        from inbox.classify import check_extra_keywords
        markers = sections["classify"].get("extra_intent_markers")
        findings.extend(check_extra_keywords(sections["classify"]["extra_keywords"],
                                             markers if isinstance(markers, dict) else None))

    divisions = _check_divisions(data.get("divisions", []), findings)
    accounts = _check_accounts(data.get("accounts", {}), findings)
    if findings:
        return None, findings
    return Config(path=path, divisions=divisions, accounts=accounts, **sections), []


def _check_divisions(raw: Any, findings: list[str]) -> list[dict[str, str]]:
    schema = {"code": Setting(str, required=True), "name": Setting(str, required=True)}
    if not isinstance(raw, list):
        findings.append("divisions: write each division as [[divisions]] with code and name")
        return []
    out, seen = [], set()
    for i, item in enumerate(raw):
        div = _check_table(f"divisions[{i}]", item, schema, findings)
        code = div.get("code")
        if isinstance(code, str):
            if not re.fullmatch(r"[a-z0-9_-]{1,40}", code):
                findings.append(f"divisions[{i}].code: use lowercase letters, digits, - or _ ({code!r})")
            if code in seen:
                findings.append(f"divisions[{i}].code: {code!r} is used twice")
            seen.add(code)
        out.append(div)
    return out


def _check_accounts(raw: Any, findings: list[str]) -> dict[str, AccountConfig]:
    if not isinstance(raw, dict):
        findings.append("accounts: write each account as [accounts.NAME]")
        return {}
    accounts: dict[str, AccountConfig] = {}
    for name, table in raw.items():
        prefix = f"accounts.{name}"
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,80}", name):
            findings.append(f"{prefix}: account names use letters, digits, - or _")
        if not isinstance(table, dict):
            findings.append(f"{prefix}: must be a table ([{prefix}])")
            continue
        kind = table.get("kind")
        if not isinstance(kind, str):
            findings.append(f"{prefix}.kind: is required (sandbox, x, facebook or instagram)")
            continue
        try:
            cls = connector_class(kind)
        except RegistryError as exc:
            findings.append(f"{prefix}.kind: {exc}")
            continue
        schema = {**ACCOUNT_COMMON, **cls.settings}
        values = _check_table(prefix, table, schema, findings)
        interval = values.pop("poll_interval") or cls.default_poll_interval
        if interval < 5:
            findings.append(f"{prefix}.poll_interval: must be at least 5 seconds")
        accounts[name] = AccountConfig(
            name=name, kind=values.pop("kind"), label=values.pop("label") or cls.label,
            enabled=values.pop("enabled"), poll_interval=interval, options=values)
    return accounts


def default_config_path() -> Path:
    return Path(os.environ.get("ADUAN_CONFIG") or "config.toml")


def check_config(path: Path) -> tuple[Config | None, list[str]]:
    """Read and validate ``path``; never raises for a user mistake."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return None, [f"{path}: configuration file not found (use --config PATH or set ADUAN_CONFIG)"]
    except tomllib.TOMLDecodeError as exc:
        return None, [f"{path}: not valid TOML: {exc}"]
    except OSError as exc:
        return None, [f"{path}: cannot be read: {exc.strerror}"]
    return parse_config(data, path.resolve())


def load_config(path: Path | str | None = None) -> Config:
    """The validated configuration; raises ConfigError naming the first problem."""
    config, findings = check_config(Path(path) if path else default_config_path())
    if config is None:
        raise ConfigError(findings)
    return config
