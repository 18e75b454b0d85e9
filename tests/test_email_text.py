"""Reading mails the way mail clients do: Outlook-style boundaries, charsets, raw 8-bit headers
and the machine-mail rules, on mails written for these tests in the shapes old and odd clients
send (no server needed: ``parse_mail`` reads the stored raw item alone)."""
from __future__ import annotations

import base64

import pytest

from connectors.email import EmailConnector
from connectors.items import Ignored
from connectors.mailparse import machine_reason, parse_bytes
from connectors.mailtext import decode_bytes, header_text

OFFICE = "pengaduan@dukcapil.brebeskab.go.id"


def read(mail: bytes):
    connector = EmailConnector("surel", {"address": OFFICE, "password": "x", "imap_host": "127.0.0.1"})
    return connector.parse_mail(connector._raw(7, 1, mail, None), {})


def crlf(text: str, charset: str = "ascii") -> bytes:
    return text.replace("\n", "\r\n").encode(charset)


#: Outlook Express / Outlook 2003 style: the boundary unquoted and holding "=", nested
#: multiparts, quoted-printable windows-1252 text, and an attachment.
OUTLOOK = crlf("""\
From: "Sutrisno" <sutrisno.brebes@warga.test>
To: <pengaduan@dukcapil.brebeskab.go.id>
Subject: Akta kelahiran belum terbit
Date: Mon, 2 Mar 2026 09:12:44 +0700
Message-ID: <000b01d9a0b1$2c3d4e50$0200a8c0@PCSUTRISNO>
MIME-Version: 1.0
Content-Type: multipart/mixed;
\tboundary=----=_NextPart_000_0007_01D9A0B1.2C3D4E50
X-Mailer: Microsoft Outlook Express 6.00.2900.5931

This is a multi-part message in MIME format.

------=_NextPart_000_0007_01D9A0B1.2C3D4E50
Content-Type: multipart/alternative;
\tboundary=----=_NextPart_001_0008_01D9A0B1.2C3D4E50

------=_NextPart_001_0008_01D9A0B1.2C3D4E50
Content-Type: text/plain;
\tcharset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

Selamat pagi, akta kelahiran anak saya =93Nayla=94 sudah 3 minggu belum =
terbit. Mohon informasinya.

------=_NextPart_001_0008_01D9A0B1.2C3D4E50
Content-Type: text/html;
\tcharset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

<HTML><BODY>Selamat pagi, akta kelahiran anak saya</BODY></HTML>

------=_NextPart_001_0008_01D9A0B1.2C3D4E50--

------=_NextPart_000_0007_01D9A0B1.2C3D4E50
Content-Type: application/pdf;
\tname="formulir.pdf"
Content-Transfer-Encoding: base64
Content-Disposition: attachment;
\tfilename="formulir.pdf"

JVBERi0xLjQKJcfsj6IK

------=_NextPart_000_0007_01D9A0B1.2C3D4E50--
""")


def test_an_outlook_style_unquoted_boundary_keeps_the_body_and_the_attachment():
    message = read(OUTLOOK)
    assert message.text == ("Akta kelahiran belum terbit\n\nSelamat pagi, akta kelahiran anak saya "
                            "“Nayla” sudah 3 minggu belum terbit. Mohon informasinya.")
    assert [(a.kind, a.name, a.mime) for a in message.attachments] == [
        ("file", "formulir.pdf", "application/pdf")]
    assert message.author_name == "Sutrisno"


def mail(body: bytes, charset: str, subject: bytes = b"Pengaduan", sender: bytes = b"Warga <w@warga.test>",
         encoding: str = "8bit") -> bytes:
    return (b"From: " + sender + b"\r\nTo: " + OFFICE.encode() + b"\r\nSubject: " + subject
            + b"\r\nMessage-ID: <t-" + charset.encode() + b"@warga.test>\r\nMIME-Version: 1.0\r\n"
            + b"Content-Type: text/plain; charset=" + charset.encode()
            + b"\r\nContent-Transfer-Encoding: " + encoding.encode() + b"\r\n\r\n" + body + b"\r\n")


@pytest.mark.parametrize("charset, body, expected", [
    # an unknown label on UTF-8 text (a web form): not "Ã©"
    ("x-unknown", "Nama saya ditulis André, seharusnya Andre.".encode(), "André, seharusnya"),
    # an unknown label on windows-1252 text
    ("x-unknown", "Nama saya ditulis André – mohon".encode("cp1252"), "André – mohon"),
    # "gb2312" carrying GBK characters (镕 is GBK only): read as GB18030, no U+FFFD
    ("gb2312", "我的名字是朱镕，身份证丢失".encode("gbk"), "朱镕，身份证丢失"),
    # iso-8859-1 as windows-1252: curly quotes and the euro sign, not C1 controls
    ("iso-8859-1", "Biaya “legalisir” Rp 0, bukan €5".encode("cp1252"), "“legalisir” Rp 0, bukan €5"),
    ("ks_c_5601-1987", "안녕하세요, 주민등록".encode("cp949"), "안녕하세요, 주민등록"),
    # UTF-8 mislabelled as latin-1 (a common form mailer): UTF-8
    ("iso-8859-1", "Kelurahan Pasarbatang, Brebes — café".encode(), "Brebes — café"),
])
def test_charsets_read_as_mail_clients_read_them(charset, body, expected):
    text = read(mail(body, charset)).text
    assert expected in text
    assert "\ufffd" not in text and "Ã" not in text and "â€" not in text


@pytest.mark.parametrize("subject, sender, expected_subject, expected_name", [
    # raw 8-bit windows-1252 bytes in the headers, no RFC 2047 (an old client)
    ("KTP-el rusak – mohon bantuan".encode("cp1252"), "José Ramírez <jose@warga.test>".encode("cp1252"),
     "KTP-el rusak – mohon bantuan", "José Ramírez"),
    # raw 8-bit UTF-8
    ("Akta kematian ayah saya — belum terbit".encode(), "Ñoño <n@warga.test>".encode(),
     "Akta kematian ayah saya — belum terbit", "Ñoño"),
    # encoded-words in charsets Python reads too narrowly, a comma inside the encoded name
    (b"=?gb2312?B?" + base64.b64encode("户口 朱镕".encode("gbk")) + b"?=",
     b"=?utf-8?Q?Budi_Santoso=2C_S=2EKom?= <budi@warga.test>", "户口 朱镕", "Budi Santoso, S.Kom"),
    (b"=?iso-8859-1?Q?=93KK=94_hilang?= =?utf-8?B?4oCUIG1vaG9u?=", b"w@warga.test",
     "“KK” hilang— mohon", ""),
])
def test_headers_with_raw_8bit_bytes_or_encoded_words_read_whole(subject, sender, expected_subject,
                                                                  expected_name):
    message = read(mail(b"Mohon dibantu.", "utf-8", subject=subject, sender=sender))
    assert message.text.splitlines()[0] == expected_subject
    assert message.raw["subject"] == expected_subject and message.author_name == expected_name


@pytest.mark.parametrize("headers, reason", [
    ("Auto-Submitted: auto-replied", "auto_submitted"),
    ("Precedence: bulk", "precedence"),
    ("List-Id: <berita.list.test>", "mailing_list"),
    ("X-Autoreply: yes", "autoreply"),
    ("Return-Path: <>", "mailer_daemon"),
    ("From: MAILER-DAEMON@mx.warga.test", "mailer_daemon"),
    ("From: noreply@layanan.test", "noreply_sender"),
    ("From: No Reply <no-reply@layanan.test>", "noreply_sender"),
    ("From: postmaster@warga.test", "noreply_sender"),
    ("From: donotreply@bank.test", "noreply_sender"),
    ("Auto-Submitted: no", None),
    ("From: Budi Noreply <budi.noreply@warga.test>", None),  # a person's name, not the rule
])
def test_machine_mail_is_told_apart_by_the_headers_the_readme_names(headers, reason):
    lines = ["From: Warga <warga@warga.test>", "Subject: Halo", "Message-ID: <m@warga.test>"]
    key = headers.split(":")[0]
    lines = [line for line in lines if not line.startswith(key + ":")] + [headers]
    raw = ("\r\n".join(lines) + "\r\n\r\nIsi surat\r\n").encode()
    assert machine_reason(parse_bytes(raw)) == reason
    if reason:
        with pytest.raises(Ignored) as caught:
            read(raw)
        assert caught.value.kind == reason
    else:
        assert read(raw).text.endswith("Isi surat")


def test_decoding_never_raises_and_never_invents_a_replacement_character():
    assert decode_bytes(b"caf\xc3\xa9 \xe9 \x81 \x93", "utf-8") == "café é \x81 “"
    assert decode_bytes(b"abc", "base64") == "abc"          # a bytes codec is no charset
    assert decode_bytes(b"a\x00b", "utf-8") == "ab"         # no database stores NUL in text
    assert header_text("=?utf-8?Q?caf=E9?=") == "café"    # a 1252 byte in a UTF-8 word
    assert header_text("=?utf-8?B?bukan base64!?=") == "bukan base64!"
    assert header_text("=?utf-8?Q?spasi di dalam?=") == "spasi di dalam"  # a broken mailer


def test_the_stored_raw_keeps_long_headers_as_they_came():
    """Re-folding a long header on the way into the raw item re-encoded it from Python's own
    reading (an iso-8859-1 word read as latin-1): the raw keeps the header as it came."""
    subject = b"=?iso-8859-1?Q?Permohonan_=93legalisir=94_akta_kelahiran_dan_kartu_keluarga_mohon_dibantu?="
    assert len(subject) > 78
    message = read(mail(b"Terima kasih.", "iso-8859-1", subject=subject))
    assert message.raw["subject"] == "Permohonan “legalisir” akta kelahiran dan kartu keluarga mohon dibantu"


def test_raw_8bit_header_bytes_that_are_not_utf8_follow_the_mails_own_charset():
    """A GBK client's raw subject, no encoded-word: read by the body's charset before
    windows-1252, as mail clients do."""
    message = read(mail("户口本丢失".encode("gbk"), "gb2312", subject="户口本丢失 mohon".encode("gbk")))
    assert message.raw["subject"] == "户口本丢失 mohon"
