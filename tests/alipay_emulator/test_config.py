"""Command line and environment of ``python -m alipay_emulator``."""

import pytest

from alipay_emulator import config


def test_defaults_are_alipays():
    settings = config.parse([], environ={})
    assert (settings.host, settings.port) == ("127.0.0.1", 8102)
    # at once, then 4m, 10m, 10m, 1h, 2h, 6h, 15h
    assert settings.notify_schedule == (0, 240, 600, 600, 3600, 7200, 21600, 54000)
    assert settings.min_expire_seconds == 60
    assert settings.bill_url_ttl == 30


def test_environment_fallbacks():
    settings = config.parse(
        [],
        environ={
            "ALIPAY_EMULATOR_PORT": "9102",
            "ALIPAY_EMULATOR_NOTIFY_SCHEDULE": "0,0.5",
            "ALIPAY_EMULATOR_PUBLIC_URL": "http://192.0.2.1:9102/",
            "ALIPAY_EMULATOR_BILL_URL_TTL": "5",
        },
    )
    assert settings.port == 9102
    assert settings.notify_schedule == (0, 0.5)
    assert settings.public_url == "http://192.0.2.1:9102"
    assert settings.bill_url_ttl == 5


@pytest.mark.parametrize(
    "argv",
    [
        ["--port=70000"],
        ["--notify-schedule=soon"],
        ["--notify-schedule=0,-1"],
        ["--min-expire-seconds=-5"],
        ["--bill-url-ttl=0"],
    ],
)
def test_bad_options_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        config.parse(argv, environ={})
    assert exit_info.value.code == 2
    assert "error" in capsys.readouterr().err
