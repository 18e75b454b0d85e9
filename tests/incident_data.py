"""A morning when the national system is down: 30 citizens write about it on four channels,
in their own words, among 200 ordinary messages, within two hours (issue 31's burst). Shared
by tests/test_incidents.py and tests/test_incident_processes.py."""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from connectors.base import InboundMessage

START = datetime(2026, 11, 24, 0, 30, tzinfo=timezone.utc)   # Tuesday 07:30 WIB
SPAN = timedelta(hours=2)
SHIPPED = Path(__file__).resolve().parent.parent / "inbox" / "understand" / "labelled_messages.jsonl"

OUTAGE = [
    "min server dukcapil lagi down ya? dari pagi di loket katanya sistem offline",
    "Kantor capil Brebes sistemnya mati?? udah antri dari jam 7 ga bisa dilayani",
    "SIAK offline terus min, kapan normal lagi? saya mau cetak KK",
    "katanya server pusat gangguan, jadi ga bisa rekam ktp hari ini. bener?",
    "dukcapil lagi gangguan sistem kah? di kecamatan bumiayu pelayanan berhenti",
    "pelayanan di dinas berhenti, petugas bilang jaringan ke pusat putus",
    "admin, server siak down lagi? sudah 3 jam nunggu",
    "mohon info min, sistem dukcapil offline dari tadi pagi, besok sudah normal belum?",
    "ga bisa cetak akta, katanya sistem pusat lagi maintenance",
    "min kok pelayanan ditutup, katanya servernya error dari pusat",
    "sistem SIAK gangguan lagi ya min? mau urus pindah ga bisa",
    "loket KTP tutup katanya offline, kapan bisa lagi?",
    "Assalamualaikum, apakah server Dukcapil pusat sedang down? pelayanan di Ketanggungan terhenti",
    "udah datang jauh2 dari salem, ternyata sistem offline. kecewa min",
    "kenapa sistem nya down terus hari ini min, ga bisa rekam sidik jari",
    "server pusat down ya? anak saya mau rekam ktp ditolak petugas",
    "mau tanya min, gangguan jaringan SIAK sampai jam berapa?",
    "tolong infonya min, di loket disuruh pulang karena server dukcapil mati",
    "kapan server normal min? berkas KK saya ga bisa diproses",
    "min sistem lagi offline? IKD juga ga bisa aktivasi dari tadi",
    "kantor dukcapil brebes hari ini ga ada pelayanan karena gangguan server?",
    "pelayanan akta kelahiran berhenti, servernya down katanya",
    "ini server siak nya kenapa ya min, dari jam 8 offline",
    "petugas bilang data pusat gangguan, jadi KTP saya ga bisa dicetak hari ini",
    "min gangguan sistem dukcapil kapan selesai? saya sudah izin kerja",
    "sistem lagi down ya? ngantri 2 jam akhirnya disuruh balik besok",
    "apakah benar layanan dukcapil offline se-indonesia hari ini?",
    "server down min? mau legalisir ga bisa",
    "halo min, koneksi ke server pusat putus ya? kecamatan larangan ga melayani",
    "jaringan siak mati dari pagi, kapan bisa urus kk lagi",
]


@dataclass(frozen=True)
class Burst:
    """The burst's messages per account, and which of them are the outage's."""

    messages: dict[str, list[InboundMessage]]
    outage_authors: set[str]


#: The shipped set's messages that themselves report a service outage (the network, the SIAK,
#: the online form down), found by reading every message with a system word in it: they would
#: rightly join the incident, so they are not "ordinary" here.
OUTAGE_REPORTS_SHIPPED = (
    "Min kenapa di kecamatan Bantarkawung gak bisa rekam ktp, katanya jaringan mati terus",
    "web blakasuta ga bisa dibuka dari pagi min, down ya?",
    "sistem SIAK nya offline terus di kecamatan Larangan, warga pada pulang ga dilayani",
    "udah ngisi formulir online tapi pas klik kirim muncul tulisan 'server error 500' 😭",
    "udah antri 3 jam, pas giliran katanya sistem offline 🙃",
)


def ordinary_texts(count: int = 200, seed: int = 31) -> list[str]:
    """``count`` messages of the shipped labelled set (every kind: complaints, questions,
    thanks, spam; none reporting an outage), in a fixed random order."""
    texts = [json.loads(line)["text"] for line in SHIPPED.read_text(encoding="utf-8").splitlines()
             if line.strip()]
    texts = [t for t in texts if t not in OUTAGE_REPORTS_SHIPPED]
    return random.Random(seed).sample(texts, count)


def burst(accounts: list[tuple[str, str]], seed: int = 31) -> Burst:
    """The 30 outage messages and 200 ordinary ones spread over two hours and over
    ``accounts`` ((name, kind) each); every message from a different citizen. Each kind
    gets the shape its platform gives: a WhatsApp or Telegram chat, a Messenger DM, an
    Instagram comment."""
    rng = random.Random(seed)
    texts = [(t, True) for t in OUTAGE] + [(t, False) for t in ordinary_texts(seed=seed)]
    rng.shuffle(texts)
    out: dict[str, list[InboundMessage]] = {name: [] for name, _ in accounts}
    outage_authors = set()
    for i, (text, outage) in enumerate(texts):
        name, kind = accounts[i % len(accounts)]
        at = START + SPAN * rng.random()
        author = f"62812{3000000 + i:07d}" if kind == "whatsapp" else f"{kind}-citizen-{i}"
        public = kind == "instagram"
        thread = f"{1790000000000 + i}" if public else (author if kind != "telegram" else str(900000 + i))
        external = {"whatsapp": f"wamid.burst{i}", "telegram": f"{thread}:{i + 1}"}.get(
            kind, f"burst-{kind}-{i}")
        out[name].append(InboundMessage(
            external_id=external, thread_id=thread, kind="comment" if public else "dm",
            public=public, author_id=author, author_handle=f"warga_{i}",
            author_name=f"Warga Nomor {i}", text=text, created_at=at))
        if outage:
            outage_authors.add(author)
    for name in out:
        out[name].sort(key=lambda m: m.created_at)
    return Burst(out, outage_authors)
