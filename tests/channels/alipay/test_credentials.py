"""Credentials: with none configured the adapter reads the emulator's manifest at first use, so
an adapter built before the emulator ever started works once it has; named key files win."""

import socket

import pytest

from alipay_emulator.runner import EmulatorProcess
from payments.channels.alipay import AlipayChannel
from payments.channels.base import ChannelUnavailable, TradeRef, TradeStatus


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_manifest_is_read_at_first_use_not_when_built(tmp_path):
    data, port = tmp_path / "alipay", free_port()
    adapter = AlipayChannel(
        code="alipay",
        gateway_url=f"http://127.0.0.1:{port}/gateway.do",
        manifest_file=str(data / "keys" / "manifest.json"),
        timeout=10,
    )
    with pytest.raises(ChannelUnavailable, match="credentials"):
        adapter.query_trade(TradeRef("P1"))  # no manifest yet: unknown, asked again later

    with EmulatorProcess(data, port=port):
        assert adapter.query_trade(TradeRef("P1")).status == TradeStatus.NOT_FOUND


def test_configured_key_files_are_used_instead_of_the_manifest(alipay_process, tmp_path):
    manifest = alipay_process.manifest
    adapter = AlipayChannel(
        code="alipay",
        gateway_url=alipay_process.gateway_url,
        app_id=manifest["app_id"],
        app_private_key_file=manifest["app_private_key_file"],
        alipay_public_key_file=manifest["alipay_public_key_file"],
        manifest_file=str(tmp_path / "no-such-manifest.json"),
        timeout=10,
    )

    assert adapter.query_trade(TradeRef("P1")).status == TradeStatus.NOT_FOUND


def test_credentials_partly_configured_never_fall_back_to_the_emulator(alipay_process):
    """An app id without its key files is a mistake to report, not a cue to use the emulator."""
    manifest = alipay_process.manifest
    adapter = AlipayChannel(
        code="alipay",
        gateway_url=alipay_process.gateway_url,
        app_id=manifest["app_id"],
        manifest_file=str(alipay_process.data_dir / "keys" / "manifest.json"),
        timeout=10,
    )

    with pytest.raises(ChannelUnavailable, match="partly"):
        adapter.query_trade(TradeRef("P1"))
