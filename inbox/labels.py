"""Indonesian words for the internal names an officer reads: one table per group of names.

The code, the logs and the ``--json`` keys keep the English names (``answered``,
``acknowledgement``); everything an officer reads goes through :func:`label`, used by the web
(the ``label`` template filter), the command line and the recaps, so a name is translated in
one place. ``tests/test_labels.py`` checks that every name the code can produce has a word here.
"""
from __future__ import annotations

from typing import Any

from inbox.models import ROLES, STATUS_LABELS

#: The service categories (inbox/understand/keywords.toml holds their words, in this order).
CATEGORY_LABELS: dict[str, str] = {
    "ktp_el": "KTP-el",
    "kartu_keluarga": "Kartu Keluarga (KK)",
    "kia": "KIA (Kartu Identitas Anak)",
    "ikd": "IKD (KTP digital)",
    "akta_kelahiran": "Akta kelahiran",
    "akta_kematian": "Akta kematian",
    "akta_perkawinan_perceraian": "Akta perkawinan / perceraian",
    "akta_lainnya": "Akta lainnya",
    "pindah_datang": "Pindah-datang",
    "perubahan_data": "Perubahan data",
    "legalisir": "Legalisir",
    "nik_bermasalah": "NIK bermasalah",
    "layanan_online": "Layanan online",
    "antrean_pelayanan": "Antrean & waktu layanan",
    "pungli_calo_petugas": "Petugas, pungli & calo",
}
#: What a message wants (the classifier's intents).
INTENT_LABELS: dict[str, str] = {"complaint": "Keluhan", "question": "Pertanyaan",
                                 "thanks": "Ucapan terima kasih", "spam": "Spam / iklan",
                                 "greeting": "Sapaan saja"}

# Why a case is not a complaint: the admin's choices, and the intents auto-dismissal uses.
DISMISS_REASONS: dict[str, str] = {
    "thanks": "Ucapan terima kasih",
    "spam": "Spam / iklan",
    "greeting": "Salam / sapaan saja",
    "duplicate": "Duplikat pengaduan lain",
}
#: Another agency's matter is no dismissal but an outcome of its own ("bukan wewenang",
#: inbox.sop.handling.refer); cases dismissed so before migration 15 keep a word in their history.
OLD_DISMISS_REASONS: dict[str, str] = {
    "not_our_authority": "Bukan kewenangan (cara lama, sebelum ada \"bukan wewenang\")"}

#: Ombudsman RI's maladministration types (Peraturan Ombudsman 26/2017 Pasal 11; UU 37/2008
#: Pasal 1 angka 3), one or none per case, never shown to the citizen (inbox.understand.
#: maladministration suggests one; the group admin or the bidang confirms it).
MALADMINISTRATION_LABELS: dict[str, str] = {
    "penundaan_berlarut": "Penundaan berlarut",
    "tidak_memberikan_pelayanan": "Tidak memberikan pelayanan",
    "tidak_kompeten": "Tidak kompeten",
    "penyalahgunaan_wewenang": "Penyalahgunaan wewenang",
    "penyimpangan_prosedur": "Penyimpangan prosedur",
    "permintaan_imbalan": "Permintaan imbalan uang, barang atau jasa",
    "tidak_patut": "Tidak patut",
    "berpihak": "Berpihak",
    "diskriminasi": "Diskriminasi",
    "konflik_kepentingan": "Konflik kepentingan",
}
#: A person's "no maladministration" (stored as this code, so it differs from "not yet decided").
NO_MALADMINISTRATION = "none"

#: LAPOR!'s klasifikasi of a report, in its words (SP4N-LAPOR! v3; whistle-blowing and pengadaan
#: are LAPOR!'s own channels, not a citizen's social-media message).
REPORT_TYPES: dict[str, str] = {"pengaduan": "Pengaduan", "aspirasi": "Aspirasi",
                                "permintaan_informasi": "Permintaan Informasi"}

EVENT_LABELS: dict[str, str] = {
    "opened": "Pengaduan masuk",
    "reopened": "Dibuka kembali (warga menulis lagi)",
    "citizen_thanked": "Warga mengucapkan terima kasih",
    "acknowledgement_queued": "Tanda terima disiapkan",
    "dismissed": "Ditandai bukan pengaduan",
    "escalated": "Diteruskan ke Group Admin",
    "assigned": "Diserahkan ke bidang",
    "division_answered": "Bidang memberi jawaban",
    "reply_queued": "Balasan disiapkan untuk dikirim",
    "delivered": "Balasan terkirim",
    "delivery_retry": "Pengiriman akan dicoba lagi",
    "delivery_failed": "Pengiriman gagal",
    "delivery_uncertain": "Pengiriman belum pasti",
    "delivery_confirmed": "Status pengiriman dipastikan petugas",
    "note": "Catatan",
    "categories_changed": "Kategori diubah",
    "recapped": "Masuk rekap harian",
    "export_unmasked": "Ekspor tanpa penyamaran",
    "export_unmasked_refused": "Ekspor tanpa penyamaran ditolak (kata sandi salah)",
    "delivery_checking": "Pengiriman belum pasti; diperiksa di platform",
    "whatsapp_sent": "WhatsApp: balasan dikirim",
    "whatsapp_delivered": "WhatsApp: balasan sampai di ponsel warga",
    "whatsapp_read": "WhatsApp: balasan dibaca warga",
    "whatsapp_failed": "WhatsApp: balasan GAGAL diantar",
    "privacy_erased": "Data pribadi warga dihapus atas permintaan",
    "retention_reduced": "Disamarkan setelah masa simpan",
    "privacy_erase": "Penghapusan data pribadi",
    "status_check": "Warga menanyakan status (dijawab otomatis)",
    "survey_queued": "Survei kepuasan disiapkan",
    "survey_answered": "Warga menjawab survei kepuasan",
    "class_set": "Kelas pengaduan ditetapkan",
    "follow_up_recorded": "Tindak lanjut dicatat (pengaduan tuntas)",
    "referred": "Bukan wewenang: warga diarahkan ke instansi lain",
    "maladministration_set": "Jenis maladministrasi ditetapkan",
    "lapor_linked": "Data SP4N-LAPOR! diubah",
    "lapor_recognised": "ID LAPOR! dikenali dari pesan warga",
    "suggestion_outcome": "Saran jawaban",
    "incident_proposed": "Gangguan massal diusulkan",
    "incident_linked": "Ditautkan ke gangguan massal",
    "incident_unlinked": "Dilepas dari gangguan massal",
    "incident_rejected": "Usulan gangguan massal ditolak",
    "incident_closed": "Gangguan massal ditutup",
    "case_linked": "Ditautkan dengan pengaduan lain (warga yang sama)",
    "case_unlinked": "Tautan dengan pengaduan lain dilepas",
    "user_changed": "Peran pengguna diubah",
    "went_live": "Kantor mulai memakai aduan (data latihan dihapus)",
}

# What a notification is about: its subject line, and its name on the preferences page.
NOTIFY_EVENTS: dict[str, str] = {
    "escalated": "Pengaduan diteruskan ke Group Admin",
    "assigned": "Pengaduan diserahkan ke bidang Anda",
    "division_answered": "Bidang sudah menjawab; teruskan ke warga",
    "due_tomorrow": "Batas waktu pengaduan besok",
    "due_today": "Batas waktu pengaduan hari ini",
    "overdue": "Pengaduan melewati batas waktu",
    "resolution_due": "Batas tindak lanjut kelas pengaduan",
    "resolution_overdue": "Tindak lanjut kelas pengaduan melewati batas waktu",
    "account_stopped": "Saluran berhenti",
    "set_aside": "Ada pesan yang disisihkan",
    "backup_failed": "Pencadangan database gagal",
    "backup_stale": "Cadangan database sudah lama",
    "recap_made": "Rekap harian sudah dibuat",
    "new_cases": "Pengaduan baru masuk (ringkasan paling sering sejam sekali)",
}

LABELS: dict[str, dict[Any, str]] = {
    "status": STATUS_LABELS,
    "role": ROLES,
    "intent": INTENT_LABELS,
    "category": CATEGORY_LABELS,
    "dismiss_reason": {**DISMISS_REASONS, **OLD_DISMISS_REASONS},
    "maladministration": {**MALADMINISTRATION_LABELS, NO_MALADMINISTRATION: "Tidak ada maladministrasi"},
    "report_type": REPORT_TYPES,
    # how a case ended (Case.outcome)
    "outcome": {"open": "Masih diproses", "answered": "Selesai dijawab",
                "in_follow_up": "Dijawab; tindak lanjut berjalan",
                "resolved": "Tuntas ditindaklanjuti", "bukan_wewenang": "Bukan wewenang",
                "dismissed": "Bukan pengaduan"},
    # a case's stage in LAPOR!'s words (recap.lapor)
    "lapor_status": {"diterima": "Diterima", "diverifikasi": "Diverifikasi",
                     "didisposisi": "Didisposisi", "ditindaklanjuti": "Ditindaklanjuti",
                     "selesai": "Selesai", "bukan_wewenang": "Bukan Wewenang",
                     "diarsipkan": "Diarsipkan"},
    "event": EVENT_LABELS,
    "notify_event": NOTIFY_EVENTS,
    # what a citizen's message is on its platform
    "kind": {"mention": "sebutan", "comment": "komentar", "dm": "pesan pribadi", "post": "unggahan"},
    # what the office's own message is: a reply, public or private
    "reply": {True: "balasan publik", False: "balasan pribadi"},
    "public": {True: "publik", False: "pribadi"},
    "purpose": {"answer": "Jawaban", "acknowledgement": "Tanda terima",
                "status": "Jawaban cek status", "survey": "Survei kepuasan",
                "follow_up": "Kabar tindak lanjut",
                "incident_followup": "Kabar susulan gangguan massal"},
    # what became of the suggested answers when a reply was written (inbox.sop.suggestions)
    "suggestion": {"used": "dipakai apa adanya", "edited": "dipakai lalu disunting",
                   "ignored": "tidak dipakai"},
    # what a status check was answered with (inbox.arrive.selfservice)
    "status_check": {"owner": "status dikirim ke warga pemilik pengaduan",
                     "other": "jawaban netral (bukan pemilik atau nomor tidak ada)",
                     "public": "diminta mengirim pesan pribadi",
                     "rate_limited": "tidak dijawab (batas harian tercapai)"},
    # a case's status as the citizen reads it in an automatic status answer
    "citizen_status": {"new": "sudah kami terima dan sedang kami periksa",
                       "escalated": "sedang ditangani petugas kami",
                       "at_division": "sedang ditangani bidang terkait",
                       "division_answered": "jawaban sedang kami siapkan",
                       "replying": "jawaban sedang kami kirim",
                       "answered": "sudah dijawab",
                       "not_complaint": "sudah selesai"},
    # the satisfaction survey's scale (SKM, 1-4)
    "rating": {1: "tidak puas", 2: "kurang puas", 3: "puas", 4: "sangat puas"},
    "outbox": {"pending": "Menunggu dikirim", "sending": "Sedang dikirim", "sent": "Terkirim",
               "failed": "GAGAL dikirim", "uncertain": "BELUM PASTI terkirim"},
    "channel": {"sandbox": "Sandbox (latihan)", "x": "X (Twitter)", "facebook": "Facebook",
                "instagram": "Instagram", "telegram": "Telegram", "whatsapp": "WhatsApp",
                "email": "E-mail"},
    # the inbox list's narrow column: channel and public/private in a few letters
    "channel_short": {"sandbox": "Latihan", "x": "X", "facebook": "FB", "instagram": "IG",
                      "telegram": "TG", "whatsapp": "WA", "email": "Surel"},
    "public_short": {True: "publik", False: "DM"},
    "recap_kind": {"daily": "Rekap harian", "monthly": "Laporan bulanan"},
    "format": {"pdf": "PDF", "xlsx": "Excel (XLSX)", "html": "Halaman web (HTML)", "csv": "CSV",
               "csv_excel": "CSV untuk Excel (titik koma)", "png": "Gambar (PNG)",
               "csv-excel": "CSV untuk Excel (titik koma)", "jsonl": "JSONL"},
    "yes_no": {True: "ya", False: "tidak"},
    # the database's tables, as backup and restore summaries name them (issue 28)
    "table": {"division": "bidang", "user": "pengguna", "account": "saluran",
              "usage": "pemakaian saluran", "contact": "warga", "case": "pengaduan",
              "case_category": "kategori pengaduan", "message": "pesan", "event": "riwayat",
              "outbox": "balasan", "template": "templat jawaban", "recap": "berkas rekap",
              "counter": "penghitung nomor", "set_aside": "pesan tersisih",
              "attachment": "lampiran", "webhook_delivery": "kiriman webhook",
              "web_session": "sesi masuk", "login_throttle": "pembatasan masuk",
              "backup_run": "catatan cadangan", "heartbeat": "detak daemon",
              "notification_preference": "pengaturan notifikasi", "notification": "notifikasi",
              "survey_response": "jawaban survei", "schema_migration": "migrasi skema"},
    # a category or intent the classifier was not sure of (under classify.LOW_CONFIDENCE)
    "classifier": {"unsure": "perlu dicek",
                   "unsure_title": "Pengklasifikasi kurang yakin; periksa dan simpan kategori yang benar"},
    # the inbox's tabs (a status, or the open / overdue / due-today tabs of inbox/web/home.py)
    "tab": {"terbuka": "Semua terbuka", "new": "Baru", "escalated": "Di Group Admin",
            "at_division": "Di Bidang Teknis", "division_answered": "Dijawab Bidang",
            "replying": "Sedang dikirim", "overdue": "Terlambat", "due_today": "Batas hari ini"},
    # each role's own pages, and the header's count of what waits for the user
    "home": {"inbox": "Kotak masuk", "inbox_title": "Kotak masuk pengaduan",
             "group_admin_queue": "Antrean Group Admin", "division_queue": "Antrean bidang saya",
             "division_queue_title": "Antrean {name}", "waiting": "Menunggu Anda",
             "waiting_title": "Menunggu tindakan Anda"},
    # what the header's count counts, for each role (its tooltip)
    "waiting": {"admin": "Pengaduan baru yang belum dijawab dan jawaban bidang yang perlu "
                         "diteruskan ke warga",
                "group_admin": "Pengaduan yang diteruskan Admin ke Group Admin",
                "division": "Pengaduan yang diserahkan ke bidang Anda dan belum dijawab"},
    # what a connector read past because it is no citizen's message (aduan status, by kind):
    # Telegram updates that are not messages, group service messages, machine mail
    "ignored": {
        "my_chat_member": "bot ditambahkan, dikeluarkan atau diblokir",
        "chat_member": "anggota grup berubah", "chat_join_request": "permintaan masuk grup",
        "message_reaction": "reaksi pada pesan", "message_reaction_count": "jumlah reaksi",
        "chat_boost": "boost grup atau kanal", "removed_chat_boost": "boost dicabut",
        "purchased_paid_media": "pembelian media berbayar", "channel_post": "unggahan kanal",
        "edited_channel_post": "unggahan kanal diubah", "poll": "hasil polling",
        "poll_answer": "jawaban polling", "callback_query": "tombol bot ditekan",
        "inline_query": "pencarian inline", "chosen_inline_result": "hasil inline dipilih",
        "shipping_query": "pengiriman pembayaran", "pre_checkout_query": "pembayaran",
        "business_connection": "sambungan akun bisnis",
        "deleted_business_messages": "pesan akun bisnis dihapus",
        "service_message": "pemberitahuan grup (anggota masuk atau keluar, judul diubah)",
        "live_location_update": "lokasi langsung yang bergerak",
        "auto_submitted": "balasan otomatis (Auto-Submitted)",
        "precedence": "surat massal (Precedence)", "mailing_list": "milis (List-Id)",
        "autoreply": "balasan otomatis (X-Autoreply)", "bounce": "laporan gagal kirim (bounce)",
        "mailer_daemon": "server surat (mailer-daemon, Return-Path kosong)",
        "noreply_sender": "pengirim no-reply atau postmaster"},
    # the keys of an event's detail worth showing, and what they are called
    "detail": {"note": "Catatan", "text": "Isi", "reason": "Alasan", "division": "Bidang",
               "error": "Keterangan", "before": "Sebelumnya", "after": "Menjadi",
               "delivered": "Terkirim", "day": "Tanggal", "purpose": "Jenis",
               "previous_status": "Status sebelumnya", "format": "Format",
               "reference": "Nomor yang ditanyakan", "outcome": "Hasil", "rating": "Nilai",
               "class_name": "Kelas", "resolution_due": "Batas tindak lanjut",
               "agency": "Instansi", "forwarded": "Sudah diteruskan ke instansi itu",
               "maladministration": "Jenis maladministrasi",
               "tracking_id": "ID LAPOR!", "report_type": "Klasifikasi LAPOR!",
               "result": "Saran jawaban", "title": "Gangguan", "other": "Pengaduan tertaut"},
}

#: detail key -> the group its values are names of (``purpose: "answer"`` reads "Jawaban").
DETAIL_VALUES: dict[str, str] = {"purpose": "purpose", "reason": "dismiss_reason",
                                 "previous_status": "status", "delivered": "yes_no",
                                 "format": "format", "before": "category", "after": "category",
                                 "outcome": "status_check", "rating": "rating",
                                 "forwarded": "yes_no", "maladministration": "maladministration",
                                 "report_type": "report_type",
                                 "result": "suggestion"}


def label(group: str, name: Any) -> str:
    """The Indonesian word for ``name`` in ``group``; an unknown name is shown as it is.

    Showing an unknown name (rather than nothing) keeps a new internal name visible until it
    gets its word; the tests fail when one of the known names has none."""
    words = LABELS[group]
    if name in words:
        return words[name]
    return "–" if name in (None, "") else str(name)


def labels(group: str, names: list[Any] | tuple[Any, ...]) -> str:
    """Several names of one group as one line (``KTP-el, KK``), ``–`` for none."""
    return ", ".join(label(group, n) for n in names) or "–"


def detail_value(key: str, value: Any) -> str:
    """An event's detail value as an officer reads it."""
    group = DETAIL_VALUES.get(key)
    if isinstance(value, (list, tuple)):
        return labels(group, value) if group else (", ".join(str(v) for v in value) or "–")
    return label(group, value) if group else str(value)


def message_kind(direction: str, kind: str, public: bool) -> str:
    """``komentar`` for a citizen's comment; ``balasan publik`` for the office's own reply."""
    return label("reply", bool(public)) if direction == "out" else label("kind", kind)
