"""What every per-container series shares: the `container_id` and `name` labels, and MB to bytes."""

from daemon.snapshot import ContainerView

CONTAINER_LABELS = ("container_id", "name")
BYTES_PER_MB = 1024 * 1024


def container_label_values(view: ContainerView) -> list[str]:
    return [view.container.id, view.container.name]
