"""Command line and environment of ``python -m wechatpay_emulator``."""

from decimal import Decimal

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
    assert settings.close_not_before_seconds == 0
    assert settings.fee_rate == Decimal("0.006")


def test_environment_fallbacks():
    settings = config.parse(
        [],
        environ={
            "WECHATPAY_EMULATOR_PORT": "9101",
            "WECHATPAY_EMULATOR_NOTIFY_SCHEDULE": "0,0.5",
            "WECHATPAY_EMULATOR_PUBLIC_URL": "http://192.0.2.1:9101/",
            "WECHATPAY_EMULATOR_SIGNER": "certificate",
            "WECHATPAY_EMULATOR_CLOSE_NOT_BEFORE_SECONDS": "2.5",
            "WECHATPAY_EMULATOR_FEE_RATE": "0.0038",
        },
    )
    assert settings.port == 9101
    assert settings.notify_schedule == (0, 0.5)
    assert settings.public_url == "http://192.0.2.1:9101"
    assert settings.signer == "certificate"
    assert settings.close_not_before_seconds == 2.5
    assert settings.fee_rate == Decimal("0.0038")


@pytest.mark.parametrize(
    "argv",
    [
        ["--port=70000"],
        ["--notify-schedule=soon"],
        ["--notify-schedule=0,-1"],
        ["--refund-delay-ms=-1"],
        ["--min-expire-seconds=-5"],
        ["--signer=hmac"],
        ["--close-not-before-seconds=-1"],
        ["--fee-rate=0.6%"],
        ["--fee-rate=1"],
        ["--fee-rate=NaN"],
        ["--fee-rate=-0.01"],
    ],
)
def test_bad_options_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        config.parse(argv, environ={})
    assert exit_info.value.code == 2
    assert "error" in capsys.readouterr().err
