"""Sandbox adapters with other statement capabilities, for the schedule tests."""

from dataclasses import replace
from datetime import time

from payments.channels.base import StatementAvailability
from payments.channels.sandbox import SandboxChannel


class SandboxWithoutStatement(SandboxChannel):
    capabilities = replace(SandboxChannel.capabilities, statement=None)


class SandboxReadyLateInShanghai(SandboxChannel):
    capabilities = replace(
        SandboxChannel.capabilities,
        statement=StatementAvailability(time_zone="Asia/Shanghai", ready_at=time(22, 0)),
    )
