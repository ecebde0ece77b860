"""What buttons and menus carry back: the bot wrote an id into their value or block id, but a request can say anything.

An id no row can have (``customer:99999999999999999999``, ``crm:abc``) never reaches a query: the person who clicked
is told the button is out of date, and one WARNING line says what it carried.
"""

from __future__ import annotations

import logging

from bot.domain.ids import parse_id

log = logging.getLogger(__name__)

OUT_OF_DATE = "That button is out of date."


class StaleButton(Exception):
    """A button or menu carried something this bot does not write there; the message is for the person."""

    def __init__(self) -> None:
        super().__init__(OUT_OF_DATE)


def stale(carried: object) -> StaleButton:
    """Log what a button carried (shortened, quoted) and return the error to raise."""
    log.warning("a Slack button carried %r, which is not an id this bot writes there", str(carried)[:40])
    return StaleButton()


def carried_id(text: object) -> int:
    """The id in a button's value or block id (the part after ``kind:``), or StaleButton."""
    number = parse_id(text) if isinstance(text, str) else None
    if number is None:
        raise stale(text)
    return number
