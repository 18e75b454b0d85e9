"""The offline sandbox channel: practice citizens writing to the office at a steady pace.

Deterministic from a seed: message number ``n`` is always the same text, author and thread, so
a test (or a trainer) can predict what arrives. It needs no network and no credentials, which
is why the shipped config.toml runs with it. Replies sent to it are appended to a JSONL file
under the data directory (``sandbox/<account>-replies.jsonl``) so tests and the multi-worker
check can count them.
"""
from __future__ import annotations

import json
import os
import random
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, ClassVar

from connectors.base import Connector, InboundMessage, OutboundReply, PollResult, Setting, utcnow

FIRST_NAMES = ["Siti", "Ahmad", "Dewi", "Budi", "Nur", "Rina", "Agus", "Wulan", "Eko", "Lia",
               "Slamet", "Tuti", "Imam", "Yuli", "Fajar", "Ratna", "Dimas", "Indah", "Wahyu", "Sri"]
LAST_NAMES = ["Rahayu", "Santoso", "Lestari", "Hidayat", "Wati", "Saputra", "Fitriani", "Nugroho",
              "Maulana", "Kurniasih", "Prasetyo", "Aminah", ""]
KECAMATAN = ["Brebes", "Bulakamba", "Wanasari", "Tanjung", "Losari", "Larangan", "Ketanggungan",
             "Banjarharjo", "Kersana", "Songgom", "Jatibarang", "Bumiayu", "Paguyangan",
             "Sirampog", "Tonjong", "Bantarkawung", "Salem"]

# (intent, text). {kec} is a kecamatan, {nik} a well-formed fake NIK, {hari} a number of days.
MESSAGES: list[tuple[str, str]] = [
    ("complaint", "min KTP el sy udh {hari} hari blm jadi jg, katanya blangko kosong terus. gmn ini?"),
    ("complaint", "Rekam KTP di kecamatan {kec} antri dari jam 7 sampe siang ga dilayani, petugasnya kemana"),
    ("question", "kak mau tanya, bikin ktp-el buat anak yg baru 17 thn syaratnya apa aja ya?"),
    ("complaint", "KTP saya hilang, udah lapor ke kecamatan {kec} tp disuruh bolak balik. tolong dong min"),
    ("question", "Min, KK saya mau nambah anggota keluarga (bayi baru lahir), bisa online ga?"),
    ("complaint", "kartu keluarga sy salah nama ibu, udh ngajuin perbaikan {hari} hari blm ada kabar"),
    ("question", "permisi, cetak ulang KK yg rusak kena banjir bisa di kecamatan {kec} atau harus ke dinas?"),
    ("question", "KIA untuk anak umur 3 thn apakah wajib? syaratnya apa min"),
    ("complaint", "ngajuin KIA anak lewat online dari bulan lalu sampe skrg statusnya masih diproses"),
    ("question", "cara aktivasi IKD / ktp digital gimana ya min? aplikasinya minta QR terus"),
    ("complaint", "aktivasi identitas kependudukan digital gagal terus, wajah ga cocok katanya. tolong dibantu"),
    ("question", "assalamualaikum, mau buat akta kelahiran anak pertama, syaratnya apa saja nggih?"),
    ("complaint", "akte kelahiran anak sy udah {hari} hari blm jadi, padahal buat daftar sekolah. tolong min"),
    ("question", "akta kematian bapak saya, bisa diurus sama adik yg beda KK ga min?"),
    ("complaint", "ngurus akta kematian mbah di desa disuruh bayar 200rb sama perangkat, itu resmi ga?"),
    ("question", "Kak kalau pindah domisili dari Tegal ke Brebes, surat pindahnya urus di mana dulu?"),
    ("complaint", "SKPWNI sy dari jakarta udh sampe tp di {kec} blm bisa cetak kk baru, katanya data blm masuk"),
    ("question", "min mau ganti status pekerjaan di KTP dari pelajar jadi karyawan, perlu bawa apa?"),
    ("complaint", "data di KTP salah tgl lahir, udh ngajuin perubahan data tp malah KK juga jadi salah"),
    ("complaint", "NIK saya tidak aktif pas daftar BPJS, katanya harus ke dukcapil. NIK {nik} mohon dicek"),
    ("question", "NIK anak saya {nik} kok ga terdaftar pas daftar sekolah ya min? mohon infonya"),
    ("complaint", "web layanan online dukcapil error terus dari kemarin, ga bisa upload berkas"),
    ("question", "min link pendaftaran online buat akta yg baru apa ya? yg lama ga bisa dibuka"),
    ("complaint", "antrean di dinas penuh bgt, ambil nomor jam 6 pagi udh habis. tolong ditambah kuotanya"),
    ("question", "jam pelayanan hari sabtu buka ga min? mau legalisir KK"),
    ("question", "legalisir akta kelahiran bisa diwakilkan ga ya min?"),
    ("complaint", "ada calo di depan kantor nawarin ktp jadi cepet bayar 150rb. kok dibiarin min?"),
    ("complaint", "petugas loket judes bgt, ditanya baik2 malah dimarahin. mohon dibina"),
    ("question", "akta perkawinan non muslim ngurusnya di dukcapil ya min? syaratnya apa"),
    ("complaint", "KTP el rusak sama KK blm update alamat, udh {hari} hari bolak balik ke {kec} blm beres"),
    ("question", "nuwun sewu min, nggawe KK anyar kanggo wong sing lagi nikah syarate apa wae?"),
    ("complaint", "kepriwe sih min, ktp nyong durung dadi wis seminggu. ora jelas kabare"),
    ("question", "punten min, upami bade ngadamel akta kalahiran syaratna naon wae?"),
    ("thanks", "makasih min KTP saya sudah jadi, pelayanannya cepat 👍"),
    ("thanks", "terima kasih dukcapil brebes, akte anak sy udh jadi. mantap"),
    ("thanks", "matur nuwun sanget min, KK sampun rampung"),
    ("greeting", "halo min"),
    ("greeting", "assalamualaikum"),
    ("greeting", "selamat pagi admin"),
    ("spam", "JUAL FOLLOWERS MURAH 1K cuma 10rb, cek bio!!!"),
    ("spam", "Slot gacor hari ini maxwin dijamin, daftar di link bio"),
    ("spam", "Pinjaman online cair 5 menit tanpa jaminan, WA 0812-3456-7890"),
]
FOLLOW_UPS: list[tuple[str, str]] = [
    ("complaint", "min ini gimana kelanjutannya? sudah {hari} hari blm dibales"),
    ("question", "maaf min mau nanya lagi, berkasnya perlu fotokopi atau asli aja?"),
    ("complaint", "tolong min segera, sy butuh buat kerja"),
    ("thanks", "oke min terima kasih infonya"),
    ("question", "nomor HP sy 0813-2755-1122 kalau mau dihubungi min"),
]


class SandboxConnector(Connector):
    kind: ClassVar[str] = "sandbox"
    label: ClassVar[str] = "Sandbox (latihan)"
    default_poll_interval: ClassVar[int] = 10
    confirms_delivery: ClassVar[bool] = True
    polls_network: ClassVar[bool] = False  # it makes its messages up; it never goes online
    settings: ClassVar[dict[str, Setting]] = {
        "seed": Setting(int, default=2026, help="same seed, same messages"),
        "messages_per_minute": Setting((int, float), default=6),
        "initial_burst": Setting(int, default=8),
        "max_per_poll": Setting(int, default=500),
        "follow_up_share": Setting(float, default=0.2),
        # How long the practice platform takes to answer a reply it has already taken, to see
        # (and test) what the outbox does when the sender dies between the two.
        "send_delay_seconds": Setting((int, float), default=0),
    }

    def _opt(self, key: str) -> Any:
        value = self.options.get(key)
        return self.settings[key].default if value is None else value

    @property
    def interval(self) -> float:
        return 60.0 / max(float(self._opt("messages_per_minute")), 0.001)

    def poll(self, cursor: dict[str, Any]) -> PollResult:
        """Return the messages whose scheduled time has come, at the configured pace."""
        now = utcnow()
        if "epoch" not in cursor:
            burst = max(int(self._opt("initial_burst")), 0)
            epoch = now - timedelta(seconds=self.interval * max(burst - 1, 0))
            if burst == 0:
                epoch = now + timedelta(seconds=self.interval)
            cursor = {"epoch": epoch.isoformat(), "seq": 0}
        epoch = datetime.fromisoformat(cursor["epoch"])
        seq = int(cursor["seq"])
        due = int((now - epoch).total_seconds() // self.interval) + 1 if now >= epoch else 0
        upto = min(due, seq + int(self._opt("max_per_poll")))
        messages = [self.message(n, epoch) for n in range(seq, upto)]
        return PollResult(messages=messages, cursor={"epoch": cursor["epoch"], "seq": max(seq, upto)},
                          requests=1, resources=len(messages))

    def message(self, n: int, epoch: datetime) -> InboundMessage:
        """Message number ``n``; the same ``n`` and seed always give the same message."""
        rng = random.Random(f"{self._opt('seed')}:{n}")
        parent = self._parent(n, rng)
        author = self._author(parent if parent is not None else n)
        thread_seed = parent if parent is not None else n
        public = random.Random(f"{self._opt('seed')}:public:{thread_seed}").random() < 0.6
        intent, template = rng.choice(FOLLOW_UPS if parent is not None else MESSAGES)
        text = template.format(kec=rng.choice(KECAMATAN), hari=rng.randint(3, 30), nik=fake_nik(rng))
        created = epoch + timedelta(seconds=self.interval * n)
        thread_id = f"sbx-thread-{self._opt('seed')}-{thread_seed}"
        external_id = f"sbx-{self._opt('seed')}-{n}"
        kind = ("mention" if thread_seed % 2 else "comment") if public else "dm"
        return InboundMessage(
            external_id=external_id, thread_id=thread_id, kind=kind, public=public,
            author_id=author["id"], author_handle=author["handle"], author_name=author["name"],
            text=text, created_at=created.astimezone(timezone.utc),
            permalink=None,
            in_reply_to=f"sbx-{self._opt('seed')}-{parent}" if parent is not None else None,
            raw={"sandbox": True, "n": n, "intent_hint": intent, "text": text},
        )

    def _parent(self, n: int, rng: random.Random) -> int | None:
        """The earlier message that ``n`` follows up, or None; follow-ups never chain."""
        if n == 0 or rng.random() >= float(self._opt("follow_up_share")):
            return None
        candidate = rng.randint(max(0, n - 15), n - 1)
        probe = random.Random(f"{self._opt('seed')}:{candidate}")
        if candidate == 0 or probe.random() >= float(self._opt("follow_up_share")):
            return candidate
        return None

    def _author(self, n: int) -> dict[str, str]:
        rng = random.Random(f"{self._opt('seed')}:author:{n}")
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        handle = f"{first.lower()}{last.lower()[:4]}{rng.randint(1, 999)}"
        return {"id": f"sbx-user-{handle}", "handle": handle, "name": f"{first} {last}".strip()}

    # --- replies ---------------------------------------------------------------------------

    def replies_path(self) -> Path:
        return sandbox_replies_path(self.data_dir or "data", self.name)

    def send(self, reply: OutboundReply) -> str:
        """Record the reply as delivered; one JSON line per reply, written in one append."""
        platform_id = f"sbx-out-{uuid.uuid4().hex[:16]}"
        record = {"platform_id": platform_id, "reply_id": reply.reply_id,
                  "case_reference": reply.case_reference, "text": reply.text,
                  "public": reply.public, "thread_id": reply.thread_id,
                  "in_reply_to": reply.in_reply_to, "recipient_id": reply.recipient_id,
                  "sent_at": utcnow().isoformat()}
        path = self.replies_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
        delay = float(self._opt("send_delay_seconds") or 0)
        if delay > 0:
            time.sleep(delay)
        return platform_id


    def find_delivered(self, reply: OutboundReply) -> str | None:
        for record in read_sandbox_replies(self.data_dir or "data", self.name):
            if record.get("reply_id") == reply.reply_id:
                return str(record["platform_id"])
        return None


def sandbox_replies_path(data_dir: str | Path, account: str) -> Path:
    return Path(data_dir) / "sandbox" / f"{account}-replies.jsonl"


def read_sandbox_replies(data_dir: str | Path, account: str) -> list[dict[str, Any]]:
    """Every reply the sandbox account has recorded, in order."""
    path = sandbox_replies_path(data_dir, account)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def fake_nik(rng: random.Random) -> str:
    """A well-formed but invented Brebes NIK (33.29.kk, birth date, serial)."""
    kec = rng.randint(1, 17)
    day = rng.randint(1, 28) + (40 if rng.random() < 0.5 else 0)
    month, year = rng.randint(1, 12), rng.randint(60, 99)
    return f"3329{kec:02d}{day:02d}{month:02d}{year:02d}{rng.randint(1, 9999):04d}"
