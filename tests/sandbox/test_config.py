"""Command line options fall back to environment variables, and bad values are refused."""

from pathlib import Path

import pytest

from sandbox_channel import config


def test_defaults():
    settings = config.parse([], environ={})

    assert (settings.host, settings.port, settings.data_dir) == (
        "127.0.0.1",
        8100,
        Path("var/sandbox"),
    )
    assert settings.channels == ("sandbox", "sandbox_card")
    assert settings.secret == "sandbox-dev-secret"
    assert settings.public_url is None
    assert settings.notify_schedule == (0, 2, 5, 15, 60, 300)
    assert settings.refund_delay_ms == 0


def test_environment_fallbacks_and_options_that_override_them():
    environ = {
        "SANDBOX_PORT": "9100",
        "SANDBOX_SECRET": "s3cret",
        "SANDBOX_CHANNELS": "sandbox",
        "SANDBOX_NOTIFY_SCHEDULE": "0,0.5",
        "SANDBOX_PUBLIC_URL": "http://sandbox.test/",
    }

    from_env = config.parse([], environ=environ)
    overridden = config.parse(["--port", "9200", "--channels", "a,b"], environ=environ)

    assert from_env.port == 9100
    assert from_env.secret == "s3cret"
    assert from_env.channels == ("sandbox",)
    assert from_env.notify_schedule == (0, 0.5)
    assert from_env.public_url == "http://sandbox.test"
    assert (overridden.port, overridden.channels) == (9200, ("a", "b"))


@pytest.mark.parametrize(
    "argv",
    [
        ["--channels", "Not A Code"],
        ["--notify-schedule", "0,soon"],
        ["--notify-schedule", "0,-1"],
        ["--port", "70000"],
        ["--refund-delay-ms", "-1"],
        ["--secret", ""],
    ],
)
def test_bad_options_are_refused(argv):
    with pytest.raises(SystemExit):
        config.parse(argv, environ={})
