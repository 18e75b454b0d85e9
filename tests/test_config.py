from __future__ import annotations

from pathlib import Path

import pytest

import main
from inbox.setup.config import ConfigError, check_config, load_config
from tests.conftest import has_extra_module, needs_extra, write_config

REPO = Path(__file__).resolve().parent.parent

X_ACCOUNT = """
[accounts.x_dukcapil]
kind = "x"
user_id = "123"
consumer_key = "ck"
consumer_secret = "cs"
access_token = "at"
access_token_secret = "ats"
bearer_token = { env = "X_BEARER_TOKEN" }
"""


def test_the_shipped_config_is_valid_and_runs_the_sandbox() -> None:
    config = load_config(REPO / "config.toml")
    assert list(config.accounts) == ["sandbox"]
    assert config.accounts["sandbox"].kind == "sandbox"
    assert config.office["timezone"] == "Asia/Jakarta"
    assert config.database["url"] == "sqlite:///data/aduan.db"
    assert "Brebes" in config.office["name"]
    assert {d["code"] for d in config.divisions} >= {"dafduk", "capil"}
    assert config.data_dir == (REPO / "data").resolve()
    assert config.citizen == {"status_check": True, "status_checks_per_day": 5, "survey": True,
                              "survey_text": ""}


@pytest.mark.parametrize("extra, expected", [
    ('[web]\nport = "8080"\n', "web.port: harus berupa bilangan bulat, bukan '8080'"),
    ("[web]\ncolour = 1\n", "web.colour: kunci tidak dikenal"),
    ("[sla]\nend_of_day = \"4 sore\"\n", "sla.end_of_day: harus berupa jam seperti \"16:00\", bukan '4 sore'"),
    ("[sla]\nextra_closures = [\"27-11-2026\"]\n",
     "sla.extra_closures[0]: harus berupa tanggal seperti \"2026-11-27\", bukan '27-11-2026'"),
    ("[sla]\nworking_days = 0\n", "sla.working_days: paling sedikit 1"),
    ("[schedule]\nmonthly_report_day = 31\n", "schedule.monthly_report_day: harus antara 1 dan 28"),
    ("[privacy]\npublic_reply_with_personal_data = \"maybe\"\n",
     "privacy.public_reply_with_personal_data: harus \"block\" atau \"warn\""),
    ("[telegram]\ntoken = 1\n", "telegram: bagian tidak dikenal"),
    ('[accounts.fb]\nkind = "myspace"\n', "accounts.fb.kind: jenis akun 'myspace' tidak dikenal"),
    ('[accounts.fb]\nlabel = "no kind"\n', "accounts.fb.kind: wajib diisi"),
    ('[accounts.sb2]\nkind = "sandbox"\nseed = "abc"\n', "accounts.sb2.seed: harus berupa bilangan bulat"),
    ('[accounts.sb2]\nkind = "sandbox"\nspeed = 3\n', "accounts.sb2.speed: kunci tidak dikenal"),
    ('[accounts.sb2]\nkind = "sandbox"\npoll_interval = 1\n',
     "accounts.sb2.poll_interval: paling sedikit 5 detik"),
    ('[[divisions]]\ncode = "dafduk"\nname = "again"\n', "divisions[5].code: 'dafduk' dipakai dua kali"),
    ('[[divisions]]\ncode = "Bidang Satu"\nname = "x"\n', "divisions[5].code: gunakan huruf kecil"),
    (X_ACCOUNT, "accounts.x_dukcapil.bearer_token: variabel lingkungan X_BEARER_TOKEN belum diisi"),
    ("[citizen]\nstatus_checks_per_day = 0\n",
     "citizen.status_checks_per_day: harus bilangan bulat dari 1 sampai 100"),
    ("[citizen]\nsurvey = \"ya\"\n", "citizen.survey: harus berupa true atau false"),
    ('[citizen]\nsurvey_text = "Nilai {nama}: 1, 2, 3 atau 4"\n',
     "citizen.survey_text: hanya {nomor} yang boleh ditulis di antara kurung kurawal"),
    ('[citizen]\nsurvey_text = "Puas dengan jawaban {nomor}? Balas ya atau tidak"\n',
     "citizen.survey_text: sebutkan pilihan angka 1, 2, 3 dan 4"),
])
def test_each_config_mistake_is_named_by_its_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 extra: str, expected: str) -> None:
    monkeypatch.delenv("X_BEARER_TOKEN", raising=False)
    if extra.startswith("[sla]\n"):
        path = write_config(tmp_path, sla=extra.removeprefix("[sla]\n"))
    else:
        path = write_config(tmp_path, extra=extra)
    config, findings = check_config(path)
    assert config is None
    assert any(f.startswith(expected) for f in findings), findings
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value).startswith(findings[0])


def test_a_secret_is_read_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", "s3cret-token")
    config = load_config(write_config(tmp_path, extra=X_ACCOUNT))
    assert config.accounts["x_dukcapil"].options["bearer_token"] == "s3cret-token"


def test_a_secret_of_the_wrong_type_is_reported_without_its_value(tmp_path: Path) -> None:
    path = write_config(tmp_path, extra=X_ACCOUNT.replace('{ env = "X_BEARER_TOKEN" }', "12345678"))
    _, findings = check_config(path)
    assert "accounts.x_dukcapil.bearer_token: harus berupa teks" in findings
    assert not any("12345678" in f for f in findings)


def test_missing_and_broken_files_are_one_sentence(tmp_path: Path) -> None:
    _, findings = check_config(tmp_path / "nope.toml")
    assert findings == [f"{tmp_path / 'nope.toml'}: berkas konfigurasi tidak ditemukan "
                        "(gunakan --config PATH atau isi ADUAN_CONFIG)"]
    broken = tmp_path / "broken.toml"
    broken.write_text("[office\nname=1", encoding="utf-8")
    _, findings = check_config(broken)
    assert len(findings) == 1 and findings[0] == f"{broken}: bukan TOML yang sah (baris 1, kolom 8)"


def test_check_config_prints_every_finding_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, extra='[web]\nport = "x"\nfoo = 1\n')
    assert main.main(["--config", str(path), "check-config"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert "web.port: harus berupa bilangan bulat, bukan 'x'" in out
    assert any(line.startswith("web.foo: kunci tidak dikenal") for line in out)


def test_check_config_accepts_a_good_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main.main(["--config", str(write_config(tmp_path)), "check-config"]) == 0
    assert "OK" in capsys.readouterr().out


def test_a_command_with_a_bad_config_says_one_line_and_exits_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, extra="[web]\nport = -\n")
    assert main.main(["--config", str(path), "status"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aduan: ") and err.count("\n") == 1 and "Traceback" not in err


def test_the_config_path_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ADUAN_CONFIG", str(write_config(tmp_path)))
    assert main.main(["check-config"]) == 0
    assert str(tmp_path) in capsys.readouterr().out


@needs_extra("postgres", "psycopg2")
def test_an_unreachable_database_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, url="postgresql://nobody@127.0.0.1:1/none")
    assert main.main(["--config", str(path), "status"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aduan: database.url: database tidak dapat dipakai:") and err.count("\n") == 1


@pytest.mark.skipif(has_extra_module("psycopg2"), reason="only without the 'postgres' extra")
def test_a_postgresql_url_without_the_driver_says_how_to_install_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, url="postgresql://nobody@127.0.0.1:1/none")
    assert main.main(["--config", str(path), "status"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aduan: database.url:") and err.count("\n") == 1
    assert 'pip install -e ".[postgres]"' in err


NOTIFY_EMAIL = """
[notify.email]
host = "smtp.dukcapil.test"
from_address = "aduan@dukcapil.test"
password = { env = "NOTIFY_SMTP_PASSWORD" }
"""


@pytest.mark.parametrize("extra, expected", [
    ("[notify]\ndigest_threshold = 0\n", "notify.digest_threshold: paling sedikit 1"),
    ('[notify]\noffice_start = "pagi"\n', "notify.office_start: harus berupa jam seperti"),
    ('[notify]\nbase_url = "aduan.local"\n', "notify.base_url: tulis alamat lengkap"),
    ('[notify]\noffice_start = "17:00"\n', "notify.office_start: jam mulai kerja harus sebelum"),
    ('[notify]\ncomplaint_team = ["tim"]\n', "notify.complaint_team[0]: harus alamat e-mail"),
    ('[notify]\ncomplaint_team = ["tim@dukcapil.test"]\n',
     "notify.complaint_team: isi juga [notify.email]"),
    ('[notify.email]\nfrom_address = "a@b.test"\n', "notify.email.host: wajib diisi"),
    ('[notify.email]\nhost = "smtp.test"\nfrom_address = "aduan"\n',
     "notify.email.from_address: harus alamat e-mail"),
    ('[notify.email]\nhost = "smtp.test"\nfrom_address = "a@b.test"\nsecurity = "ssl"\n',
     "notify.email.security: harus tls, starttls atau none"),
    ('[notify.email]\nhost = "smtp.test"\nfrom_address = "a@b.test"\nsecurity = "none"\n',
     "notify.email.security: none (tanpa TLS) hanya boleh untuk 127.0.0.1"),
    ('[notify.email]\nhost = "smtp.test"\nfrom_address = "a@b.test"\nport = 70000\n',
     "notify.email.port: harus nomor port"),
    ('[notify.email]\nhost = "smtp.test"\nfrom_address = "a@b.test"\nsender = "x"\n',
     "notify.email.sender: kunci tidak dikenal"),
    (NOTIFY_EMAIL, "notify.email.password: variabel lingkungan NOTIFY_SMTP_PASSWORD belum diisi"),
    ('[notify.telegram]\nbot_token = { env = "NOTIFY_BOT_TOKEN" }\n',
     "notify.telegram.bot_token: variabel lingkungan NOTIFY_BOT_TOKEN belum diisi"),
    ("[notify.telegram]\nchat = 1\n", "notify.telegram.bot_token: wajib diisi"),
])
def test_each_notification_setting_mistake_is_named_by_its_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: str, expected: str) -> None:
    monkeypatch.delenv("NOTIFY_SMTP_PASSWORD", raising=False)
    monkeypatch.delenv("NOTIFY_BOT_TOKEN", raising=False)
    config, findings = check_config(write_config(tmp_path, extra=extra))
    assert config is None
    assert any(f.startswith(expected) for f in findings), findings


def test_notification_settings_read_their_secrets_from_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SMTP_PASSWORD", "rahasia-smtp")
    monkeypatch.setenv("NOTIFY_BOT_TOKEN", "123:abc")
    extra = NOTIFY_EMAIL + '\n[notify.telegram]\nbot_token = { env = "NOTIFY_BOT_TOKEN" }\n'
    config = load_config(write_config(tmp_path, extra='[notify]\ncomplaint_team = ["tim@dukcapil.test"]\n'
                                      + extra))
    assert config.notify["email"]["password"] == "rahasia-smtp"
    assert config.notify["email"]["security"] == "starttls"
    assert config.notify["telegram"]["bot_token"] == "123:abc"
    assert config.notify["complaint_team"] == ["tim@dukcapil.test"]
    assert config.notify["quiet_hours"] is True and config.notify["digest_threshold"] == 5
