"""Command line and environment of ``python -m wechatpay_emulator``."""

import pytest

from wechatpay_emulator import config


def test_defaults_are_wechats():
    settings = config.parse([], environ={})
    assert (settings.host, settings.port) == ("127.0.0.1", 8101)
    assert settings.notify_schedule == (
        0,
        15,
        15,
        30,
        180,
        600,
        1200,
        1800,
        1800,
        1800,
        3600,
        10800,
        10800,
        10800,
        21600,
        21600,
    )
    assert settings.min_expire_seconds == 60
    assert settings.signer == "public_key"


def test_environment_fallbacks():
    settings = config.parse(
        [],
        environ={
            "WECHATPAY_EMULATOR_PORT": "9101",
            "WECHATPAY_EMULATOR_NOTIFY_SCHEDULE": "0,0.5",
            "WECHATPAY_EMULATOR_PUBLIC_URL": "http://192.0.2.1:9101/",
            "WECHATPAY_EMULATOR_SIGNER": "certificate",
        },
    )
    assert settings.port == 9101
    assert settings.notify_schedule == (0, 0.5)
    assert settings.public_url == "http://192.0.2.1:9101"
    assert settings.signer == "certificate"


@pytest.mark.parametrize(
    "argv",
    [
        ["--port=70000"],
        ["--notify-schedule=soon"],
        ["--notify-schedule=0,-1"],
        ["--refund-delay-ms=-1"],
        ["--min-expire-seconds=-5"],
        ["--signer=hmac"],
    ],
)
def test_bad_options_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        config.parse(argv, environ={})
    assert exit_info.value.code == 2
    assert "error" in capsys.readouterr().err
