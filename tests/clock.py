"""A controllable clock for tests of time: the bot asks it for now, the test moves it; nothing sleeps for a timer."""

from datetime import UTC, datetime, timedelta

DEFAULT_START = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


class Clock:
    """The bot's idea of now."""

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
