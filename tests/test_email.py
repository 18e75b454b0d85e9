"""The e-mail channel against real servers: Dovecot over IMAPS and an aiosmtpd sink (STARTTLS).

Real MIME messages are delivered into Dovecot's Maildir; everything else goes through
``main.main(argv)`` (``aduan poll``, ``aduan case reply``, ``aduan deliver``) or a real
subprocess. Skipped locally without Dovecot, required in CI (``ADUAN_REQUIRE_MAIL=1``).
"""
from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import time_machine

import main
from connectors.base import ConnectorError, OutboundReply
from connectors.items import Unreadable
from inbox.arrive.attachments import Downloader
from inbox.models import Account, Attachment, Case, Message, Outbox, SetAside
from inbox.run.daemon import LEASE
from inbox.setup.config import load_config
from inbox.setup.runtime import Runtime
from inbox.web.display import channel_label, reply_window
from tests.conftest import PG_URL, make_runtime, reset_database, write_config
from tests.mailservers import DOVECOT, USER, Dovecot, Sink, account, make_certificate, require_or_skip

ROOT = Path(__file__).resolve().parent.parent
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256)) * 8 + b"\xff\xd9"
NIK = "3329012505900001"
CITIZEN = "siti.rahayu@warga.test"
Aduan = Callable[..., tuple[int, str, str]]


# --- servers and helpers -------------------------------------------------------------------------

@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[Dovecot, Sink]]:
    if not (os.path.exists(DOVECOT) and shutil.which("openssl")):
        require_or_skip("Dovecot (apt-get install dovecot-imapd) or openssl is not installed")
    if os.geteuid() != 0:
        require_or_skip("the test Dovecot runs as root (it switches to nobody for the mailbox)")
    # Not under tmp_path: pytest's folders are 0700 and Dovecot's own users must reach it.
    folder = Path(tempfile.mkdtemp(prefix="aduan-mail-"))
    os.chmod(folder, 0o755)
    cert, _ = make_certificate(folder)
    dovecot, sink = Dovecot(folder, cert), Sink(cert)
    dovecot.start()
    sink.start()
    try:
        yield dovecot, sink
    finally:
        sink.stop()
        dovecot.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def aduan(servers: tuple[Dovecot, Sink], tmp_path: Path,
          capsys: pytest.CaptureFixture[str]) -> Aduan:
    path = write_config(tmp_path, accounts=account(*servers))
    make_runtime(path)  # this test's empty database, bound before any query

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main.main(["--config", str(path), *argv])
        out, err = capsys.readouterr()
        return code, out, err
    run.config = path  # type: ignore[attr-defined]
    return run


def mail(subject: str, text: str | None = "", sender: str = f"Siti Rahayu <{CITIZEN}>",
         html: str | None = None, charset: str = "utf-8", headers: dict[str, str] | None = None,
         photo: bytes | None = None, when: datetime | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = USER
    message["Subject"] = subject
    message["Date"] = format_datetime(when or datetime.now(timezone.utc) - timedelta(minutes=5))
    message["Message-ID"] = make_msgid(domain="warga.test")
    for key, value in (headers or {}).items():
        message[key] = value
    if text is not None:
        message.set_content(text, charset=charset)
    if html is not None:
        if text is None:
            message.set_content(html, subtype="html")
        else:
            message.add_alternative(html, subtype="html")
    if photo is not None:
        message.add_attachment(photo, maintype="image", subtype="jpeg", filename="ktp-rusak.jpg")
    return message


def bounce() -> bytes:
    """A delivery failure report as Postfix writes one (RFC 3464)."""
    return (b"Return-Path: <>\r\n"
            b"From: Mail Delivery System <MAILER-DAEMON@mx.warga.test>\r\n"
            b"To: " + USER.encode() + b"\r\n"
            b"Subject: Undelivered Mail Returned to Sender\r\n"
            b"Message-ID: <20261202.bounce.1@mx.warga.test>\r\n"
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n"
            b"\r\n--b1\r\nContent-Type: text/plain\r\n\r\n"
            b"This is the mail system. Your message could not be delivered.\r\n"
            b"--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
            b"Reporting-MTA: dns; mx.warga.test\r\n\r\nFinal-Recipient: rfc822; x@warga.test\r\n"
            b"Action: failed\r\nStatus: 5.1.1\r\n"
            b"--b1--\r\n")


def deliver(dovecot: Dovecot, message: EmailMessage | bytes) -> str:
    if isinstance(message, bytes):
        dovecot.deliver(message)
        return str(BytesParser(policy=policy.default).parsebytes(message)["Message-ID"])
    dovecot.deliver(message.as_bytes(policy=policy.SMTP))
    return str(message["Message-ID"])


def stored(message_id: str) -> list[Message]:
    return list(Message.select().where(Message.external_id == message_id))


# --- reading ----------------------------------------------------------------------------------

def test_every_kind_of_mail_is_read_once_and_machines_never_open_a_case(
        servers: tuple[Dovecot, Sink], aduan: Aduan) -> None:
    dovecot, _ = servers
    first = mail("KTP belum jadi", "Selamat pagi, KTP saya sudah 3 minggu belum jadi.")
    ids = {
        "plain": deliver(dovecot, first),
        "html": deliver(dovecot, mail("Akta kelahiran", None, sender="Budi <budi@warga.test>",
                                      html="<html><body><p>Akta anak saya <b>belum</b> terbit."
                                           "</p><ul><li>sudah 2 bulan</li></ul></body></html>")),
        "photo": deliver(dovecot, mail("KTP rusak", "Foto KTP saya terlampir.",
                                       sender="Ahmad <ahmad@warga.test>", photo=JPEG)),
        "nik": deliver(dovecot, mail("NIK tidak aktif", f"NIK saya {NIK} tidak aktif di BPJS.",
                                     sender="Dewi <dewi@warga.test>")),
        "latin1": deliver(dovecot, mail("Perbaikan data", "Nama saya ditulis Andrés, seharusnya "
                                        "Andre. Mohon diperbaiki.", charset="iso-8859-1",
                                        sender="Andre <andre@warga.test>")),
    }
    reply = mail("Re: KTP belum jadi", "Sudah saya cek, masih belum ada kabar.\n\n"
                 "Pada Senin, Dukcapil menulis:\n> Mohon ditunggu", headers={
                     "In-Reply-To": ids["plain"], "References": ids["plain"]})
    ids["reply"] = deliver(dovecot, reply)
    machine = [deliver(dovecot, mail("Out of office", "Saya sedang cuti.", sender="cuti@warga.test",
                                     headers={"Auto-Submitted": "auto-replied"})),
               deliver(dovecot, bounce()),
               deliver(dovecot, mail("Buletin", "Berita minggu ini", sender="news@list.test",
                                     headers={"List-Id": "<berita.list.test>",
                                              "Precedence": "list"}))]

    code, out, err = aduan("poll")
    assert (code, err) == (0, ""), out
    assert Message.select().count() == 6
    assert all(len(stored(mid)) == 1 for mid in ids.values())
    assert not any(stored(mid) for mid in machine)
    assert Case.select().count() == 5  # the reply joins the first mail's case

    texts = {key: stored(mid)[0].text for key, mid in ids.items()}
    assert "Akta anak saya belum terbit." in texts["html"] and "<b>" not in texts["html"]
    assert "* sudah 2 bulan" in texts["html"]
    assert "Andrés" in texts["latin1"]
    assert texts["reply"] == "Sudah saya cek, masih belum ada kabar."  # the quote is not repeated
    plain, answer = stored(ids["plain"])[0], stored(ids["reply"])[0]
    assert plain.case_id == answer.case_id and plain.thread_id == answer.thread_id
    assert plain.case.contact.platform_user_id == CITIZEN
    assert stored(ids["nik"])[0].case.personal_data is True

    photo = stored(ids["photo"])[0]
    attachment = Attachment.get(Attachment.message == photo)
    assert (attachment.kind, attachment.name, attachment.status) == ("image", "ktp-rusak.jpg", "pending")
    assert attachment.url.startswith("imap://")
    rt = Runtime(load_config(aduan.config))  # type: ignore[attr-defined]
    assert Downloader(rt).download_one() is True
    attachment = Attachment.get_by_id(attachment.id)
    assert attachment.status == "stored", attachment.reason
    assert (rt.data_dir / attachment.path).read_bytes() == JPEG

    code, out, _ = aduan("poll")
    assert code == 0 and Message.select().count() == 6  # a second poll reads nothing again
    code, out, _ = aduan("status", "--json")  # machine mail is counted by reason, once each
    (row,) = json.loads(out)["accounts"]
    assert row["ignored"] == {"auto_submitted": 1, "bounce": 1, "precedence": 1}
    assert row["set_aside"]["total"] == 0 and row["warning"] is None
    with dovecot.client() as other:  # aduan changed no flag: everything is still unread
        other.select_folder("INBOX", readonly=True)
        assert other.search(["SEEN"]) == []


def test_a_reader_in_another_client_hides_nothing(servers: tuple[Dovecot, Sink],
                                                   aduan: Aduan) -> None:
    dovecot, _ = servers
    before = [deliver(dovecot, mail(f"Pesan {n}", f"Pertanyaan nomor {n}")) for n in range(2)]
    assert aduan("poll")[0] == 0
    after = [deliver(dovecot, mail(f"Pesan {n}", f"Pertanyaan nomor {n}")) for n in range(2, 5)]
    with dovecot.client() as person:  # an officer opens the mailbox in Thunderbird: all read
        person.select_folder("INBOX")
        person.add_flags(person.search(["ALL"]), [b"\\Seen"])
        assert len(person.search(["UNSEEN"])) == 0
    assert aduan("poll")[0] == 0
    assert [len(stored(mid)) for mid in before + after] == [1] * 5
    assert Message.select().count() == 5


def test_a_new_uidvalidity_reads_again_without_duplicates(servers: tuple[Dovecot, Sink],
                                                           aduan: Aduan) -> None:
    dovecot, _ = servers
    old = [deliver(dovecot, mail(f"Pesan {n}", f"Isi {n}")) for n in range(3)]
    assert aduan("poll")[0] == 0
    validity = Account.get(Account.name == "surel").cursor["uidvalidity"]
    dovecot.renumber()
    time.sleep(1.1)  # Dovecot's UIDVALIDITY is a time in seconds
    new = deliver(dovecot, mail("Pesan baru", "Sesudah pemulihan kotak surat"))
    code, out, _ = aduan("poll")
    assert code == 0, out
    assert Account.get(Account.name == "surel").cursor["uidvalidity"] != validity
    assert [len(stored(mid)) for mid in old + [new]] == [1, 1, 1, 1]
    assert Message.select().count() == 4


def test_kill_9_in_the_middle_of_a_poll_loses_and_duplicates_nothing(
        servers: tuple[Dovecot, Sink], aduan: Aduan) -> None:
    dovecot, _ = servers
    ids = [deliver(dovecot, mail(f"Keluhan {n}", f"Keluhan nomor {n} " + "isi " * 2000))
           for n in range(40)]
    config = aduan.config  # type: ignore[attr-defined]
    logins = dovecot.log().count("Login: user=")
    process = subprocess.Popen([sys.executable, "-c", "import main; raise SystemExit(main.main())",
                                "--config", str(config), "poll"], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while dovecot.log().count("Login: user=") == logins and time.monotonic() < deadline:
        time.sleep(0.01)  # killed as soon as it is logged in and reading the folder
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL  # it really died mid-poll, not at the end
    assert Message.select().count() in (0, 40), [m.external_id for m in Message.select()]  # all or nothing
    # The dead worker's lease on the account runs out (daemon.LEASE) before anyone polls again.
    with time_machine.travel(datetime.now(timezone.utc) + LEASE + timedelta(seconds=5)):
        code, out, err = aduan("poll")
        assert code == 0, out + err
        assert [len(stored(mid)) for mid in ids] == [1] * 40, out
        assert aduan("poll")[0] == 0 and Message.select().count() == 40


# --- replying -----------------------------------------------------------------------------------

def test_poll_reply_deliver_threads_the_answer_and_the_citizens_answer_to_it(
        servers: tuple[Dovecot, Sink], aduan: Aduan, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    dovecot, sink = servers
    first = mail("KK salah nama ibu", "Kartu keluarga saya salah nama ibu.")
    first_id = deliver(dovecot, first)
    assert aduan("poll")[0] == 0
    case = Case.get()
    monkeypatch.setattr(sys, "stdin", io.StringIO("kata-sandi-admin-1\n"))
    assert aduan("user", "add", "admin1", "--role", "admin")[0] == 0
    answer = tmp_path / "jawaban.txt"
    answer.write_text("Silakan datang ke loket 3 dengan KK asli.", encoding="utf-8")
    code, out, err = aduan("case", "reply", case.reference, "--as", "admin1",
                           "--text-file", str(answer))
    assert (code, err) == (0, ""), out
    code, out, err = aduan("deliver")
    assert code == 0 and "terkirim" in out, out + err

    assert len(sink.received) == 1
    envelope = sink.received[0]
    sent = BytesParser(policy=policy.default).parsebytes(envelope.content)
    assert envelope.rcpt_tos == [CITIZEN] and envelope.mail_from == USER
    assert sent["In-Reply-To"] == first_id and sent["References"] == first_id
    assert f"[{case.reference}]" in sent["Subject"]
    assert sent.get_content().strip() == "Silakan datang ke loket 3 dengan KK asli."
    assert Outbox.get().platform_id == sent["Message-ID"]
    assert aduan("deliver")[0] == 0 and len(sink.received) == 1  # exactly once

    # The citizen answers from a client that keeps only In-Reply-To: same case.
    again = mail(f"Re: [{case.reference}] Tanggapan", "Baik, besok saya datang.",
                 headers={"In-Reply-To": sent["Message-ID"]})
    again_id = deliver(dovecot, again)
    assert aduan("poll")[0] == 0
    assert stored(again_id)[0].case_id == case.id and Case.select().count() == 1


def test_check_config_findings_name_each_key(servers: tuple[Dovecot, Sink], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    dovecot, sink = servers
    bad = account(dovecot, sink).replace('imap_security = "tls"', 'imap_security = "ssl"').replace(
        'smtp_host = "127.0.0.1"', 'smtp_host = "mail.brebeskab.go.id"').replace(
        'smtp_security = "starttls"', 'smtp_security = "none"').replace(str(dovecot.cert), "/tidak/ada.pem")
    path = write_config(tmp_path, accounts=bad)
    capsys.readouterr()
    assert main.main(["--config", str(path), "check-config"]) == 1
    out = "".join(capsys.readouterr())
    assert "accounts.surel.imap_security: must be tls, starttls or none, not 'ssl'" in out
    assert "accounts.surel.smtp_security: none (no TLS) is only allowed for 127.0.0.1" in out
    assert "accounts.surel.ca_file: file /tidak/ada.pem does not exist" in out


def test_a_wrong_password_stops_the_account_with_a_plain_reason(
        servers: tuple[Dovecot, Sink], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dovecot, sink = servers
    path = write_config(tmp_path, accounts=account(dovecot, sink).replace(
        'password = "sandi-rahasia-uji"', 'password = "salah"'))
    Runtime(load_config(path))  # the database file; the commands below migrate it
    if PG_URL:
        reset_database()
    capsys.readouterr()
    main.main(["--config", str(path), "poll"])
    out = "".join(capsys.readouterr())
    assert "menolak login IMAP" in out and "salah" not in out.replace("menolak", "")


# --- set aside, re-read, status --------------------------------------------------------------------

def test_an_unreadable_mail_is_set_aside_with_its_raw_and_the_rest_is_read(
        servers: tuple[Dovecot, Sink], aduan: Aduan) -> None:
    dovecot, _ = servers
    good = deliver(dovecot, mail("KIA anak", "Syarat KIA apa saja?", photo=JPEG * 40))
    dovecot.deliver(b"Subject: tanpa pengirim\r\nMessage-ID: <tanpa.from@x.test>\r\n\r\nhalo\r\n")
    code, out, _ = aduan("poll")
    assert code == 0, out
    assert len(stored(good)) == 1
    item = SetAside.get()
    assert item.surface == "email.message" and "tanpa alamat pengirim" in item.reason
    assert set(item.raw) >= {"uid", "uidvalidity", "rfc822_b64"}
    rt = Runtime(load_config(aduan.config))  # type: ignore[attr-defined]
    connector = rt.connector("surel")
    with pytest.raises(Unreadable, match="tanpa alamat pengirim"):  # re-read from the raw alone
        connector.reread(item.surface, item.raw, item.context)
    assert aduan("poll")[0] == 0 and SetAside.select().count() == 1  # not set aside twice

    # The raw of the photo mail leaves the photo's bytes on the server yet rebuilds the message.
    with dovecot.client() as other:
        other.select_folder("INBOX", readonly=True)
        uid = min(other.search(["ALL"]))
        validity = other.folder_status("INBOX", [b"UIDVALIDITY"])[b"UIDVALIDITY"]
        body = other.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]
    raw = connector._raw(uid, validity, body, None)
    assert len(json.dumps(raw)) < len(body) / 4
    again = connector.reread("email.message", json.loads(json.dumps(raw)), {})
    assert again.external_id == good and again.text.endswith("Syarat KIA apa saja?")
    assert [a.url for a in again.attachments] == [a.url for a in
                                                  Attachment.select().where(Attachment.url.is_null(False))]


def test_status_shows_the_email_account(servers: tuple[Dovecot, Sink], aduan: Aduan) -> None:
    dovecot, _ = servers
    deliver(dovecot, mail("Tanya", "Jam buka hari Sabtu?"))
    assert aduan("poll")[0] == 0
    code, out, _ = aduan("status", "--json")
    assert code == 0
    (row,) = json.loads(out)["accounts"]
    assert (row["kind"], row["label"], row["last_error"]) == ("email", "E-mail pengaduan", None)
    assert row["usage_today"]["messages"] == 1
    case = Case.get()
    assert channel_label(case) == "E-mail · E-mail pengaduan"  # dashboard, case list, case page
    assert case.reply_window_closes_at is not None  # stored as for every private message...
    assert reply_window(case, datetime.now(timezone.utc), timezone.utc) is None  # ...never shown


def test_the_case_number_in_a_subject_joins_the_citizens_own_case_only(
        servers: tuple[Dovecot, Sink], aduan: Aduan) -> None:
    dovecot, _ = servers
    deliver(dovecot, mail("Akta kematian", "Mengurus akta kematian bapak saya."))
    assert aduan("poll")[0] == 0
    case = Case.get()
    # A fresh mail (no threading headers) quoting the case number, from the same citizen...
    own = deliver(dovecot, mail(f"Tambahan berkas [{case.reference}]", "Ini surat keterangan desa."))
    # ...and one from someone else quoting the same number: never put into another's case.
    other = deliver(dovecot, mail(f"Soal [{case.reference}]", "Saya juga begitu.",
                                  sender="Orang Lain <lain@warga.test>"))
    assert aduan("poll")[0] == 0
    assert stored(own)[0].case_id == case.id
    assert stored(other)[0].case_id != case.id
    assert Case.select().count() == 2


# aiosmtpd warns that AUTH does not require STARTTLS; on this SMTPS sink the whole connection is TLS.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_imap_starttls_and_smtps_work_and_an_untrusted_certificate_is_said_plainly(
        servers: tuple[Dovecot, Sink], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dovecot, _ = servers
    smtps = Sink(dovecot.cert, implicit_tls=True)
    smtps.start()
    try:
        text = account(dovecot, smtps).replace('imap_security = "tls"', 'imap_security = "starttls"') \
            .replace(f"imap_port = {dovecot.port}", f"imap_port = {dovecot.starttls_port}") \
            .replace('smtp_security = "starttls"', 'smtp_security = "tls"')
        path = write_config(tmp_path, accounts=text)
        rt = make_runtime(path)
        first = deliver(dovecot, mail("Tanya KIA", "Syarat KIA?"))
        connector = rt.connector("surel")
        result = connector.poll({})
        assert [m.external_id for m in result.messages] == [first]
        platform_id = connector.send(OutboundReply(
            reply_id=7, case_reference="ADU-202612-0007", text="Syaratnya akta kelahiran.",
            public=False, thread_id=result.messages[0].thread_id, in_reply_to=first,
            recipient_id=CITIZEN, kind="dm"))
        (envelope,) = smtps.received
        sent = BytesParser(policy=policy.default).parsebytes(envelope.content)
        assert sent["Message-ID"] == platform_id and sent["In-Reply-To"] == first
    finally:
        smtps.stop()
    untrusted = write_config(tmp_path, accounts=account(dovecot, smtps).replace(
        f'ca_file = "{dovecot.cert}"', ""))
    with pytest.raises(ConnectorError, match="Sertifikat TLS server surat 127.0.0.1 tidak dapat "
                                             "dipercaya") as failure:
        Runtime(load_config(untrusted)).connector("surel").poll({})
    assert not failure.value.permanent
