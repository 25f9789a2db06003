"""A channel's days: its statement's time zone, a day's bounds, and when its statement is final."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.module_loading import import_string

from payments.channels.base import StatementAvailability


class StatementUnavailable(Exception):
    """The channel has no statement capability, or no such channel."""


def availability(channel: str) -> StatementAvailability:
    """Read from the adapter's class: no adapter is built (building one may read key files)."""
    if channel not in settings.PAYMENT_CHANNELS:
        raise StatementUnavailable(f"no channel {channel!r}")
    statement = import_string(settings.PAYMENT_CHANNELS[channel]["class"]).capabilities.statement
    if statement is None:
        raise StatementUnavailable(f"channel {channel!r} has no statement")
    return statement


def day_bounds(channel: str, day: date) -> tuple[datetime, datetime]:
    """The day's start and end (exclusive) in the channel's time zone."""
    zone = ZoneInfo(availability(channel).time_zone)
    start = datetime.combine(day, time.min, zone)
    return start, datetime.combine(day + timedelta(days=1), time.min, zone)


def final_from(channel: str, day: date) -> datetime:
    """When the channel's statement of ``day`` is final: ``ready_at`` on the next day."""
    ready = availability(channel)
    return datetime.combine(day + timedelta(days=1), ready.ready_at, ZoneInfo(ready.time_zone))


def channel_today(channel: str, now: datetime) -> date:
    return local_day(channel, now)


def last_final_day(channel: str, now: datetime) -> date:
    """The latest day whose statement is final at ``now``."""
    yesterday = channel_today(channel, now) - timedelta(days=1)
    return yesterday if now >= final_from(channel, yesterday) else yesterday - timedelta(days=1)


def local_day(channel: str, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(availability(channel).time_zone)).date()
