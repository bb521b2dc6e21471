"""Container endpoints: list, status, credentials, logs, metrics, create, state, delete, SSH."""

from collections.abc import Mapping
from typing import Any

from daemon.stacks import routes
from daemon.stacks.calls import (
    EndpointCalls,
    in_range,
    read_acknowledgement,
    read_body,
    read_body_or_text,
)
from daemon.stacks.details import Certificate, Credentials, Logs, Template, parse_templates
from daemon.stacks.fields import require_list, unwrap
from daemon.stacks.models import Container, ContainerMetrics
from daemon.stacks.ratebudget import Priority
from daemon.stacks.results import ActionResult, ContainerCreated

CONTAINER_STATES = ("running", "stopped", "restart")
MAX_LOG_LINES = 500


class ContainerCalls(EndpointCalls):
    """The `/containers` endpoints of the guide."""

    def list_containers(self, *, priority: Priority | None = None) -> tuple[Container, ...]:
        """All containers of the account (`GET /containers`)."""

        def parse(body: Mapping[str, Any]) -> tuple[Container, ...]:
            items = require_list(unwrap(body), "containers")
            return tuple(Container.from_api(item) for item in items)

        return self._call(routes.LIST_CONTAINERS, read_body(parse), priority)

    def container_status(self, container_id: str, *, priority: Priority | None = None) -> Container:
        def parse(body: Mapping[str, Any]) -> Container:
            data = body.get("data")
            return Container.from_api(data if isinstance(data, Mapping) else body)

        return self._call(
            routes.CONTAINER_STATUS, read_body(parse), priority, container_id=container_id
        )

    def credentials(self, container_id: str, *, priority: Priority | None = None) -> Credentials:
        return self._call(
            routes.CREDENTIALS, read_body(Credentials.from_api), priority, container_id=container_id
        )

    def logs(
        self, container_id: str, lines: int = 100, *, priority: Priority | None = None
    ) -> Logs:
        params = {"lines": in_range("lines", lines, 1, MAX_LOG_LINES)}
        return self._call(
            routes.LOGS,
            read_body_or_text(Logs.from_api, Logs.from_text),
            priority,
            params=params,
            container_id=container_id,
        )

    def metrics(self, container_id: str, *, priority: Priority | None = None) -> ContainerMetrics:
        def parse(body: Mapping[str, Any]) -> ContainerMetrics:
            return ContainerMetrics.from_api(unwrap(body))

        return self._call(routes.METRICS, read_body(parse), priority, container_id=container_id)

    def create_container(
        self,
        name: str,
        template: str,
        plan: str = "basic",
        discount_code: str | None = None,
        additional_storage_tier: int | None = None,
        *,
        priority: Priority | None = None,
    ) -> ContainerCreated:
        """Start creating a container; it is `pending` until STACKS reports `running`."""
        body: dict[str, Any] = {"name": name, "template": template, "plan": plan}
        if discount_code is not None:
            body["discount_code"] = discount_code
        if additional_storage_tier is not None:
            body["additional_storage_tier"] = additional_storage_tier
        return self._call(
            routes.CREATE_CONTAINER, read_body(ContainerCreated.from_api), priority, json=body
        )

    def set_status(
        self, container_id: str, status: str, *, priority: Priority | None = None
    ) -> ActionResult:
        """`status` is "running" (start), "stopped" (stop) or "restart"."""
        if status not in CONTAINER_STATES:
            raise ValueError(
                f"container status must be one of {', '.join(CONTAINER_STATES)}, got {status!r}"
            )
        return self._call(
            routes.SET_STATUS,
            read_body(ActionResult.from_api),
            priority,
            json={"status": status},
            container_id=container_id,
        )

    def start(self, container_id: str, *, priority: Priority | None = None) -> ActionResult:
        return self.set_status(container_id, "running", priority=priority)

    def stop(self, container_id: str, *, priority: Priority | None = None) -> ActionResult:
        return self.set_status(container_id, "stopped", priority=priority)

    def restart(self, container_id: str, *, priority: Priority | None = None) -> ActionResult:
        return self.set_status(container_id, "restart", priority=priority)

    def delete_container(
        self, container_id: str, *, priority: Priority | None = None
    ) -> ActionResult:
        """Permanently delete a container with its data and backups (irreversible)."""
        return self._call(
            routes.DELETE_CONTAINER,
            read_acknowledgement,
            priority,
            container_id=container_id,
        )

    def certificate(self, container_id: str, *, priority: Priority | None = None) -> Certificate:
        """The SSH private key of a compute container."""
        return self._call(
            routes.CERTIFICATE,
            read_body_or_text(Certificate.from_api, Certificate.from_text),
            priority,
            container_id=container_id,
        )

    def regenerate_certificate(
        self, container_id: str, *, priority: Priority | None = None
    ) -> Certificate:
        return self._call(
            routes.REGENERATE_CERTIFICATE,
            read_body_or_text(Certificate.from_api, Certificate.from_text),
            priority,
            container_id=container_id,
        )

    def templates(self, *, priority: Priority | None = None) -> tuple[Template, ...]:
        return self._call(routes.TEMPLATES, read_body(parse_templates), priority)
