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


class SandboxWithAnOverlongLine(SandboxChannel):
    """The sandbox's real statement, its last line carrying an out_trade_no no column holds."""

    def statement_lines(self, day):
        statement = super().statement_lines(day)
        garbled = replace(statement.lines[-1], out_trade_no="P" * 500)
        return replace(statement, lines=(*statement.lines[:-1], garbled))
