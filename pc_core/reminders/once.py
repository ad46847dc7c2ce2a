"""Send a reminder once per dedupe key, and tell whether this call sent it.

``mailer.send_email`` already guarantees once-only (the key is the email's
``_id``); the look-up first only lets the job report how many went out now versus
were already sent by an earlier run.
"""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.mail.mailer import send_email
from pc_core.settings import Settings


def send_once(db: Database, settings: Settings, *, key: str, template: str,
              to: list[str], context: dict[str, Any]) -> bool:
    if db[c.EMAILS].find_one({"_id": key}, {"_id": 1}) is not None:
        return False
    return send_email(db, settings, key=key, template=template, to=to,
                      context=context) is not None
