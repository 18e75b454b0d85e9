"""How alike two short Indonesian texts are: the words and character n-grams that suggested
answers (``inbox.understand.suggest``) and mass incidents (``inbox.understand.outage``) compare.

A text is normalised as the classifier does (``classify.normalise``: NFKC, lower case, repeated
letters, ``bisa2``, kakak's ``kk``), long numbers become one token (``model.model_text``: a NIK
never becomes a feature), and the informal spellings citizens mix are brought to one word each
(``CANONICAL``: written from shared/reference/indonesian-domain.md §1.2 and its slang
recommendation, not from any evaluation set). Then two views are made:

* words (unigrams, a clitic -nya/-ku/-mu stripped), weighted TF-IDF, for the candidates'
  inverted index and the "why" of a suggestion;
* character n-grams of 3 to 5 inside word boundaries (scikit-learn's ``char_wb``), weighted
  TF-IDF, which see ``ktpnya`` ~ ``ktp`` and ``akte`` ~ ``akta`` where words cannot.

Both are sparse dictionaries {feature: weight}, l2-normalised, so a dot product is a cosine.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping

from inbox.understand.classify import normalise
from inbox.understand.model import char_wb_ngrams, model_text

Vector = dict[str, float]

_TOKEN = re.compile(r"[a-z0-9]+")
_CLITIC = re.compile(r"(?<=[a-z]{3})(?:nya|ny|ku|mu)$")

#: Phrases first (several words that name one thing), then single words.
PHRASES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"(?<![a-z0-9]){pattern}(?![a-z0-9])"), word) for pattern, word in (
        (r"kartu keluarga|kartu kluarga|k\.k", "kk"),
        (r"kartu identitas anak|ktp anak", "kia"),
        (r"(?:ktp|kartu tanda penduduk) ?digital|identitas (?:kependudukan )?digital", "ikd"),
        (r"e[ -]?ktp|ktp[ -]?el|k\.t\.p|kartu tanda penduduk", "ktp"),
        (r"nomor induk kependudukan", "nik"),
        (r"surat keterangan pindah|surat pindah", "skpwni"),
        (r"buku nikah|akta nikah|akte nikah", "bukunikah"),
        (r"call center|callcenter", "callcenter"),
        (r"print ready record", "prr"),
        (r"bantuan sosial", "bansos"),
        (r"luar negeri|luar negri", "luarnegeri"),
        (r"(?:tanggal|tgl|tahun|thn) lahir", "tgllahir"),
        (r"pas foto", "foto"),
        (r"kata sandi", "sandi"),
        (r"sampai mana|sampe mana|udah dimana|sudah dimana", "status"),
        (r"non ?muslim", "nonmuslim"),
    ))
#: One word for the spellings, slang, Ngapak and Sundanese forms of a word.
SPELLING: dict[str, str] = {}
for _word, _variants in {
    "belum": "blm blom durung urung acan",
    "sudah": "udh udah sdh dah wis wes uwis sampun",
    "tidak": "ga gak gk nggak ngga enggak tdk tak ora teu",
    "saya": "sy aku ku inyong nyong kula abdi",
    "bagaimana": "gmn gimana gmna kepriwe priwe pimen kepriben kumaha carane caranya",
    "berapa": "brp pira sabaraha",
    "akta": "akte",
    "antre": "antri antrian antrean ngantri ngantre antreannya",
    "blangko": "blanko belangko",
    "error": "eror",
    "hp": "handphone ponsel",
}.items():
    for _variant in _variants.split():
        SPELLING[_variant] = _word
#: One word for the words shared/reference/indonesian-domain.md §1.2-1.3 lists under one
#: concept (the keyword table's groups: damage, cost and brokers, staff manner, online
#: services, queues, data changes), for matching questions with answers; the outage patterns
#: (``inbox.understand.outage``) read the text without them ("server mati" is no death).
CONCEPTS: dict[str, str] = {}
for _word, _variants in {
    "buat": "bikin gawe nggawe damel ngadamel membuat pembuatan ngurus urus mengurus pengurusan",
    "syarat": "persyaratan syarate syaratna berkas berkase dokumen",
    "nikah": "menikah kawin perkawinan pernikahan",
    "cerai": "perceraian bercerai janda duda",
    "meninggal": "kematian mati wafat almarhum almarhumah alm almh",
    "lahir": "kelahiran lair",
    "hilang": "ilang kehilangan raib kecopetan dicopet dijambret",
    "rusak": "patah retak luntur sobek terkelupas buram chip",
    "kuota": "jatah dibatasi",
    "legalisir": "legalisasi dilegalisir legalisirnya",
    "asli": "keaslian palsu editan",
    "anak": "bocah bayi balita",
    "pindah": "pindahan boyongan domisili",
    "hp": "smartphone android",
    "kantor": "dinas dukcapil capil disdukcapil dindukcapil",
    "jam": "pukul",
    "biaya": "bayar tarif pungutan dipungut duit gratis",
    "calo": "perantara pungli suap sogok",
    "kasar": "jutek judes galak sombong cuek dibentak dimarahin dimarahi",
    "petugas": "pegawai operator",
    "online": "daring website web situs laman link aplikasi apk",
    "unggah": "upload diunggah mengunggah",
    "gagal": "error galat",
    "ubah": "ganti mengubah perubahan mengganti diganti update perbarui memperbarui",
    "perbaiki": "betulkan dibetulkan pembetulan revisi koreksi dibenarkan benerin betulin",
    "salah": "keliru typo",
    "wajah": "muka selfie",
    "sandi": "password pin",
    "email": "surel gmail",
    "daftar": "registrasi mendaftar didaftarkan",
    "ambil": "diambil mengambil pengambilan",
    "wakil": "diwakilkan diwakili diwakilin perwakilan kuasa",
    "libur": "sabtu minggu weekend",
    "berlaku": "kadaluarsa kedaluwarsa expired perpanjang diperpanjang",
    "pendidikan": "sarjana lulus ijazahnya slta sma smp",
    "nonmuslim": "gereja kristen katolik hindu buddha pemberkatan",
    "luarnegeri": "tki tkw pmi malaysia taiwan hongkong arab saudi",
    "sakit": "stroke disabilitas difabel lumpuh lansia",
    "sekolah": "tk paud sd",
    "status": "progres progress kabar",
    "cetak": "dicetak pencetakan print",
    "rekam": "perekaman direkam merekam",
}.items():
    for _variant in _variants.split():
        CONCEPTS[_variant] = _word
CANONICAL = {**SPELLING, **{k: SPELLING.get(v, v) for k, v in CONCEPTS.items()}}


def canonical_text(text: str, concepts: bool = True) -> str:
    """The normalised text with phrases and informal spellings brought to one word each, and
    (``concepts``) the words of one concept to one word."""
    norm = model_text(normalise(text or ""))
    for pattern, word in PHRASES:
        norm = pattern.sub(word, norm)
    table = CANONICAL if concepts else SPELLING
    return " ".join(table.get(w, w) for w in (_strip(t) for t in _TOKEN.findall(norm)))


def _strip(token: str) -> str:
    return _CLITIC.sub("", token) if len(token) > 5 else token


def words(canonical: str) -> list[str]:
    """The word tokens of a canonical text (at least two characters)."""
    return [w for w in canonical.split() if len(w) > 1]


def char_grams(canonical: str) -> list[str]:
    """Character 3- to 5-grams inside word boundaries."""
    return char_wb_ngrams(canonical, 3, 5)


class Idf:
    """Inverse document frequencies from counts over a corpus (smoothed as scikit-learn's)."""

    def __init__(self, documents: int, frequencies: Mapping[str, int]) -> None:
        self.documents = documents
        self.frequencies = frequencies
        self.unknown = math.log((1 + documents) / 1) + 1.0   # a feature no document had
        self._known: dict[str, float] = {}

    @classmethod
    def count(cls, feature_lists: Iterable[Iterable[str]]) -> Idf:
        df: Counter[str] = Counter()
        n = 0
        for features in feature_lists:
            df.update(set(features))
            n += 1
        return cls(n, df)

    def __call__(self, feature: str) -> float:
        value = self._known.get(feature)
        if value is None:
            found = self.frequencies.get(feature)
            value = self.unknown if found is None else \
                math.log((1 + self.documents) / (1 + found)) + 1.0
            if found is not None:
                self._known[feature] = value
        return value


def vector(features: Iterable[str], idf: Idf) -> Vector:
    """TF-IDF (sublinear tf) of ``features``, l2-normalised; empty for no features."""
    counts = Counter(features)
    weights = {f: (1.0 + math.log(c)) * idf(f) for f, c in counts.items()}
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return {f: w / norm for f, w in weights.items()} if norm else {}


def cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(f, 0.0) for f, w in a.items())


def coverage(query: Mapping[str, float], document: Mapping[str, float]) -> float:
    """The share of the (l2-normalised) query's weight whose features the document has."""
    return sum(w * w for f, w in query.items() if f in document)


def shared_words(a: Mapping[str, float], b: Mapping[str, float], limit: int = 3) -> list[str]:
    """The words that make ``a`` and ``b`` alike, most telling first (the "why")."""
    both = sorted((f for f in a if f in b), key=lambda f: -a[f] * b[f])
    return both[:limit]
