"""Logging for the daemon: text or one JSON object per line, with secrets scrubbed.

Every record passes a filter that applies `redact_text` (daemon/secrets.py) to its
message and traceback before it is formatted: anything shaped like a STACKS API key,
a URL's password, a PEM private key, an `Authorization:` value or a `password=`-style
pair, so a secret that slipped into an exception message still never reaches the log.
"""

import json
import logging
import sys
from datetime import UTC, datetime

from daemon.secrets import redact_text


class ScrubSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        record.msg, record.args = redact_text(message), ()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(log_format: str = "text", level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ScrubSecrets())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # "skipped: maximum number of running instances reached" every tick while the API is
    # slow is expected (max_instances=1); stacks_opsd_refresh_lag_seconds shows the delay.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
