"""The password rule every way of setting a password shares (web form, superuser reset,
``aduan user add``): at least 8 characters, not a common password, not the user name, not a
walk along the keyboard or the alphabet.

The list is short and built in (no download at run time, no dependency): the passwords every
published breach list puts on top, and the Indonesian words and office names an officer in
Brebes would reach for first. It is compared case-insensitively.
"""
from __future__ import annotations

MIN_LENGTH = 8

COMMON = frozenset("""
123456 12345678 123456789 1234567890 12345678910 0123456789 1234567 12345 123123 123123123
111111 11111111 000000 00000000 121212 112233 11223344 123321 654321 87654321 987654321
666666 888888 88888888 999999 99999999 147258369 159753 123654 12344321 1q2w3e4r 1q2w3e4r5t
qwerty qwerty123 qwertyuiop asdfgh asdfghjkl zxcvbnm qazwsx qwe123 abc123 abcd1234 abcdefgh
a1b2c3d4 aa123456 password password1 password123 passw0rd p@ssw0rd p@ssword pass1234
iloveyou admin admin123 admin1234 administrator root toor welcome welcome1 letmein login
master monkey dragon football baseball sunshine princess shadow superman michael secret
changeme default guest user1234 test1234 testing 1qaz2wsx zaq12wsx trustno1 whatever
bismillah bismilah bismillah123 alhamdulillah assalamualaikum insyaallah subhanallah
indonesia indonesia1 indonesia123 merdeka merdeka45 garuda pancasila jakarta bandung
surabaya semarang tegal brebes brebes123 dukcapil dukcapil1 dukcapil123 capil123 ktp12345
sayang sayangku sayang123 cintaku cinta123 kasihku rahasia rahasia123 rahasiaku katasandi
katasandi1 sandi123 kata-sandi password12 aduan123 pengaduan pelayanan kantor123 pegawai
anjing kucing doraemon naruto persib persija arema bobotoh jakmania sepakbola ganteng
cantik1 manis123 kuranglebih terserah qwerty12 asdf1234 zxcv1234 samsung nokia123 oppo1234
""".split())


def password_problem(new: str, repeat: str | None = None, username: str = "") -> str | None:
    """Why ``new`` cannot be a password, as one Indonesian sentence; None when it can.

    ``repeat`` is the confirmation typed (None: not asked, as on the command line)."""
    if len(new) < MIN_LENGTH:
        return f"Kata sandi baru minimal {MIN_LENGTH} karakter."
    lowered = new.lower()
    name = username.strip().lower()
    if name and len(name) >= 3 and (name in lowered or lowered in name):
        return "Kata sandi tidak boleh memuat nama pengguna."
    if lowered in COMMON or len(set(lowered)) <= 2 or _run_of_digits(lowered) \
            or _keyboard_walk(lowered):
        return ("Kata sandi ini terlalu umum dan mudah ditebak; pakai gabungan beberapa kata atau "
                "huruf dan angka yang tidak berurutan.")
    if repeat is not None and new != repeat:
        return "Kata sandi baru dan ulangannya tidak sama."
    return None


#: Sequences a finger or the alphabet walks along: the keyboard's rows, its columns (``1qaz``),
#: its zig-zag (``1q2w3e``), and the alphabet. Read forwards and backwards.
WALKS = ("`1234567890-=", "qwertyuiop[]\\", "asdfghjkl;'", "zxcvbnm,./", "abcdefghijklmnopqrstuvwxyz",
         "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.0p;/", "zaq1xsw2cde3vfr4bgt5nhy6mju7,ki8.lo9/;p0",
         "1q2w3e4r5t6y7u8i9o0p", "q1w2e3r4t5y6u7i8o9p0", "qazwsxedcrfvtgbyhnujmik,ol.p;/")
_WALKS = WALKS + tuple(walk[::-1] for walk in WALKS)


def _keyboard_walk(text: str) -> bool:
    """``qwertyui``, ``poiuytre``, ``asdf1234``, ``zxcvbnm1``, ``qwerty123!``: at most two
    stretches of three or more characters along :data:`WALKS`, and at most one character
    besides them."""
    stretches = odd = start = 0
    while start < len(text):
        length = max(_walk_length(text, start, walk) for walk in _WALKS)
        if length >= 3:
            stretches += 1
            start += length
        else:
            odd += 1
            start += 1
        if stretches > 2 or odd > 1:
            return False
    return True


def _walk_length(text: str, start: int, walk: str) -> int:
    """How many characters of ``text`` from ``start`` follow ``walk`` step by step."""
    at = walk.find(text[start])
    if at < 0:
        return 0
    length = 1
    while start + length < len(text) and at + length < len(walk) \
            and text[start + length] == walk[at + length]:
        length += 1
    return length


def _run_of_digits(text: str) -> bool:
    """``12345678``, ``98765432``: digits that only count up or down by one."""
    if not text.isdigit():
        return False
    steps = {int(b) - int(a) for a, b in zip(text, text[1:])}
    return steps <= {1, -9} or steps <= {-1, 9}
