"""Which class implements each sink `kind`, and building sinks from `[[notify]]` tables.

Adding a kind is its module (a `Sink` subclass, see sink.py) and one line here.
"""

from collections.abc import Iterable

from daemon.notify.alertmanager import AlertmanagerSink
from daemon.notify.jsonl import JsonLinesSink
from daemon.notify.settings import NotifyConfig
from daemon.notify.sink import Sink, SinkConfigError, SinkEnvironment
from daemon.notify.slack import SlackSink
from daemon.notify.webhook import WebhookSink

SINK_CLASSES: dict[str, type[Sink]] = {
    cls.kind: cls for cls in (WebhookSink, SlackSink, JsonLinesSink, AlertmanagerSink)
}


def build_sink(settings: NotifyConfig, environment: SinkEnvironment | None = None) -> Sink:
    """The sink for one `[[notify]]` table; SinkConfigError if it cannot be built."""
    cls = SINK_CLASSES.get(settings.kind)
    if cls is None:
        raise SinkConfigError(
            f"notification sink {settings.name}: kind {settings.kind!r} is not available in "
            f"this version; available kinds: {', '.join(SINK_CLASSES)}"
        )
    return cls(settings, environment)


def build_sinks(
    settings: Iterable[NotifyConfig], environment: SinkEnvironment | None = None
) -> list[Sink]:
    """Every sink, or one SinkConfigError listing every sink that cannot be built."""
    sinks, problems = [], []
    for one in settings:
        try:
            sinks.append(build_sink(one, environment))
        except SinkConfigError as error:
            problems.append(str(error))
    if problems:
        for sink in sinks:
            sink.close()
        raise SinkConfigError("\n".join(problems))
    return sinks
