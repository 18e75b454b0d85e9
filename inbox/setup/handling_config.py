"""``[resolution]`` and ``[referral]`` of config.toml (issue 30): the complaint classes with
their resolution clocks, who may set them, the interim and follow-up texts, and the agencies a
*bukan wewenang* case is referred to. Defaults here are what an office gets with the sections
left out; the checks name every problem by its key, in Indonesian.

The default classes are those of published Indonesian service standards (SIPPN's SOP for
complaints, ``shared/reference/peer-systems.md`` §4): *ringan* 2, *normatif* 5, *tidak berkadar
pengawasan* 14 and *berkadar pengawasan* 60 working days, the last a matter for internal
supervision (the Inspektorat or the head of office). The default agencies are the ones citizens
most often ask Dukcapil about although the matter is theirs; their ``where`` says where to go
without inventing an address an office must check.
"""
from __future__ import annotations

import re
import string
from typing import Any

#: Roles that may be named in ``set_by`` (the supervisor only reads).
SETTER_ROLES = ("admin", "group_admin", "division")
CODE = re.compile(r"[a-z0-9_]{1,40}")
MAX_DAYS = 365

DEFAULT_CLASSES: list[dict[str, Any]] = [
    {"code": "ringan", "name": "Ringan", "days": 2},
    {"code": "normatif", "name": "Normatif", "days": 5},
    {"code": "tidak_berkadar_pengawasan", "name": "Tidak berkadar pengawasan", "days": 14},
    {"code": "berkadar_pengawasan", "name": "Berkadar pengawasan (Inspektorat / pimpinan)",
     "days": 60},
]

DEFAULT_AGENCIES: list[dict[str, str]] = [
    {"code": "bpjs_kesehatan", "name": "BPJS Kesehatan",
     "where": "kantor BPJS Kesehatan terdekat, aplikasi Mobile JKN, atau BPJS Kesehatan Care Center 165"},
    {"code": "bpjs_ketenagakerjaan", "name": "BPJS Ketenagakerjaan",
     "where": "kantor cabang BPJS Ketenagakerjaan terdekat atau aplikasi JMO"},
    {"code": "pertanahan", "name": "Kantor Pertanahan (BPN) Kabupaten",
     "where": "Kantor Pertanahan (BPN) kabupaten tempat tanah berada"},
    {"code": "pendidikan", "name": "Dinas Pendidikan",
     "where": "sekolah yang bersangkutan atau Dinas Pendidikan kabupaten (SD/SMP) / cabang dinas "
              "pendidikan provinsi (SMA/SMK)"},
    {"code": "sosial", "name": "Dinas Sosial (bantuan sosial, DTKS)",
     "where": "pemerintah desa/kelurahan atau Dinas Sosial kabupaten"},
    {"code": "kua_kemenag", "name": "KUA / Kementerian Agama",
     "where": "KUA kecamatan (nikah dan rujuk bagi yang beragama Islam)"},
    {"code": "pengadilan_agama", "name": "Pengadilan Agama",
     "where": "Pengadilan Agama kabupaten (cerai dan isbat nikah bagi yang beragama Islam)"},
    {"code": "kepolisian", "name": "Kepolisian (SIM, STNK, SKCK, laporan kehilangan)",
     "where": "Polres atau Polsek terdekat, atau Samsat untuk STNK"},
    {"code": "imigrasi", "name": "Kantor Imigrasi (paspor)", "where": "Kantor Imigrasi terdekat"},
    {"code": "desa", "name": "Pemerintah desa/kelurahan",
     "where": "kantor desa/kelurahan tempat tinggal"},
]

#: The variables each text may use (``{nama}`` ... as in the quick answers).
COMMON_VARIABLES = ("nama", "nomor", "batas_waktu", "kantor")
TEXT_VARIABLES: dict[str, tuple[str, ...]] = {
    "resolution.interim_text": COMMON_VARIABLES + ("kelas", "batas_penyelesaian"),
    "resolution.follow_up_text": COMMON_VARIABLES + ("kelas", "tindak_lanjut"),
    "referral.answer_text": COMMON_VARIABLES + ("instansi", "petunjuk", "diteruskan"),
}


def classes(resolution: dict[str, Any]) -> list[dict[str, Any]]:
    """The configured classes (each with its own ``set_by``), or the defaults."""
    chosen = resolution.get("classes")
    chosen = DEFAULT_CLASSES if chosen is None else chosen
    default_roles = list(resolution.get("set_by") or [])
    return [{**c, "set_by": list(c.get("set_by", default_roles))} for c in chosen]


def agencies(referral: dict[str, Any]) -> list[dict[str, str]]:
    chosen = referral.get("agencies")
    return list(DEFAULT_AGENCIES if chosen is None else chosen)


def _roles_problem(key: str, roles: Any) -> list[str]:
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        return [f"{key}: tulis daftar peran, misalnya [\"group_admin\", \"division\"]"]
    wrong = [r for r in roles if r not in SETTER_ROLES]
    return [f"{key}: peran {r!r} tidak dikenal (pilih dari {', '.join(SETTER_ROLES)})"
            for r in wrong]


def text_problem(key: str, text: Any) -> str | None:
    """Why ``text`` cannot be the text at ``key`` (a brace that is no known variable)."""
    if not isinstance(text, str) or not text.strip():
        return None
    allowed = TEXT_VARIABLES[key]
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        return f"{key}: kurung kurawal tidak berpasangan"
    unknown = sorted(n for n in names if n not in allowed)
    if unknown:
        return (f"{key}: {{{unknown[0]}}} tidak dikenal; yang boleh dipakai: "
                + ", ".join(f"{{{n}}}" for n in allowed))
    return None


def _entries(key: str, raw: Any, required: dict[str, type], optional: dict[str, type],
             findings: list[str]) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        findings.append(f"{key}: tulis sebagai [[{key}]] dengan " + ", ".join(required))
        return []
    seen: set[str] = set()
    good = []
    for i, item in enumerate(raw):
        where = f"{key}[{i}]"
        if not isinstance(item, dict):
            findings.append(f"{where}: harus berupa tabel")
            continue
        problems = [f"{where}.{name}: wajib diisi" for name in required if name not in item]
        problems += [f"{where}.{name}: kunci tidak dikenal (yang dikenal: "
                     f"{', '.join([*required, *optional])})"
                     for name in item if name not in required and name not in optional]
        for name, kind in {**required, **optional}.items():
            if name in item and (not isinstance(item[name], kind) or isinstance(item[name], bool)
                                 and kind is int):
                problems.append(f"{where}.{name}: harus berupa "
                                f"{'bilangan bulat' if kind is int else 'teks' if kind is str else 'daftar'}")
        code = item.get("code")
        if isinstance(code, str):
            if not CODE.fullmatch(code):
                problems.append(f"{where}.code: gunakan huruf kecil, angka atau _ ({code!r})")
            elif code in seen:
                problems.append(f"{where}.code: {code!r} dipakai dua kali")
            seen.add(code)
        findings.extend(problems)
        if not problems:
            good.append(item)
    return good


def check_resolution(resolution: dict[str, Any]) -> list[str]:
    findings: list[str] = []
    if resolution.get("set_by") is not None:
        findings += _roles_problem("resolution.set_by", resolution["set_by"])
    raw = resolution.get("classes")
    if raw is not None:
        for i, item in enumerate(_entries("resolution.classes", raw,
                                          {"code": str, "name": str, "days": int},
                                          {"set_by": list}, findings)):
            if not 1 <= item["days"] <= MAX_DAYS:
                findings.append(f"resolution.classes[{i}].days: harus 1 sampai {MAX_DAYS} hari kerja")
            if "set_by" in item:
                findings += _roles_problem(f"resolution.classes[{i}].set_by", item["set_by"])
    for key in ("interim_text", "follow_up_text"):
        problem = text_problem(f"resolution.{key}", resolution.get(key))
        if problem:
            findings.append(problem)
    return findings


def check_referral(referral: dict[str, Any]) -> list[str]:
    findings: list[str] = []
    raw = referral.get("agencies")
    if raw is not None:
        _entries("referral.agencies", raw, {"code": str, "name": str}, {"where": str}, findings)
    problem = text_problem("referral.answer_text", referral.get("answer_text"))
    if problem:
        findings.append(problem)
    return findings
