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
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

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
def _table(groups: dict[str, str]) -> dict[str, str]:
    """{variant: word} from {word: "variant variant ..."}."""
    return {variant: word for word, variants in groups.items() for variant in variants.split()}


#: One word for the spellings, slang, Ngapak and Sundanese forms of a word.
SPELLING: dict[str, str] = _table({
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
})
#: One word for the words shared/reference/indonesian-domain.md §1.2-1.3 lists under one
#: concept (the keyword table's groups: damage, cost and brokers, staff manner, online
#: services, queues, data changes), for matching questions with answers; the outage patterns
#: (``inbox.understand.outage``) read the text without them ("server mati" is no death).
CONCEPTS: dict[str, str] = _table({
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
})
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


#: A character vector: (columns, l2-normalised weights) in a ``CharSpace``'s columns.
Chars = tuple[np.ndarray, np.ndarray]
HASHED = 1 << 16          # columns for character n-grams the sample never saw


class CharSpace:
    """Character n-gram TF-IDF as compact arrays: a column per n-gram of the sample texts (idf
    from them), and ``HASHED`` shared columns with the highest idf for n-grams they lack. A
    word's columns depend on the word alone, and citizens' words repeat, so they are kept
    (``cache`` words at most), as the classifier's model keeps them."""

    def __init__(self, sample: Sequence[str], cache: int = 20_000) -> None:
        idf = Idf.count(char_grams(c) for c in sample)
        grams = sorted(idf.frequencies)
        self.columns = {g: i for i, g in enumerate(grams)}
        self.weights = np.array([idf(g) for g in grams] + [idf.unknown] * HASHED, dtype=np.float32)
        self.cache = cache
        self._words: dict[str, np.ndarray] = {}

    def _word(self, word: str) -> np.ndarray:
        found = self._words.get(word)
        if found is None:
            if len(self._words) >= self.cache:
                self._words.clear()
            known, width = self.columns, len(self.columns)
            found = self._words[word] = np.array(
                [known.get(g, width + (zlib.crc32(g.encode()) & (HASHED - 1)))
                 for g in char_grams(word)], dtype=np.int32)
        return found

    def vector(self, canonical: str) -> Chars:
        """The TF-IDF of a canonical text's character n-grams."""
        pieces = [self._word(w) for w in canonical.split()]
        columns = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int32)
        if not len(columns):
            return columns, np.zeros(0, dtype=np.float32)
        columns, counts = np.unique(columns, return_counts=True)
        weights = (1.0 + np.log(counts.astype(np.float32))) * self.weights[columns]
        return columns, weights / np.float32(np.sqrt(float(weights @ weights)))

    def dense(self, chars: Chars) -> np.ndarray:
        """A query's vector spread over every column, so documents are compared by a gather."""
        dense = np.zeros(len(self.weights), dtype=np.float32)
        dense[chars[0]] = chars[1]
        return dense


def dot(query: np.ndarray, chars: Chars) -> float:
    """Cosine of a dense query with a document's character vector."""
    return float(query[chars[0]] @ chars[1]) if len(chars[0]) else 0.0


def covered(query: np.ndarray, chars: Chars) -> float:
    """The share of the query's (squared) weight in the document's character n-grams."""
    found = query[chars[0]]
    return float(found @ found)
