"""Creating containers: request validation, placement (id, IP, port), and pending -> running."""

from datetime import datetime, timedelta
from typing import Any

from daemon.simulator.backup_jobs import schedule_daily_backups
from daemon.simulator.catalog import STORAGE_TIERS, TEMPLATES, Template
from daemon.simulator.exchange import bad_request
from daemon.simulator.names import validate_name
from daemon.simulator.state import ContainerRecord, VpnClient, World

PLAN_NAMES = ("micro", "basic", "standard", "premium")


def validate_create(world: World, account: str, body: dict[str, Any]) -> tuple:
    """(name, template, plan, storage tier) of a create request, or the API's 400."""
    taken = {c.name for c in world.containers.values() if c.account == account}
    name = validate_name(body.get("name"), taken)
    template_id = body.get("template")
    if not template_id:
        raise bad_request("Template is required", "template")
    template = TEMPLATES.get(template_id) if isinstance(template_id, str) else None
    if template is None:
        raise bad_request(
            f"Unknown template '{template_id}'. List templates with GET /containers/templates",
            "template",
        )
    plan = plan_for(template, body.get("plan"))
    tier = body.get("additional_storage_tier")
    if tier is not None:
        if isinstance(tier, bool) or tier not in STORAGE_TIERS:
            raise bad_request(
                "additional_storage_tier must be 1, 3 or 5", "additional_storage_tier"
            )
        if template.tier == "micro" or template.database:
            raise bad_request(
                "Additional storage is only available for non-micro, non-database containers",
                "additional_storage_tier",
            )
    return name, template, plan, tier


def plan_for(template: Template, plan: Any) -> str:
    if template.tier == "vpn":
        return "vpn"
    default = "micro" if template.tier == "micro" else "basic"
    plan = default if plan is None else plan
    if plan not in PLAN_NAMES:
        raise bad_request("Plan must be one of: micro, basic, standard, premium", "plan")
    if (plan == "micro") != (template.tier == "micro"):
        raise bad_request(
            f"Template '{template.id}' is not available on the {plan} plan "
            f"(micro templates use the micro plan, others basic, standard or premium)",
            "plan",
        )
    return plan


def provision(
    world: World,
    account: str,
    name: str,
    template: Template,
    plan: str,
    storage_tier: int | None,
    status: str,
    now: datetime,
) -> ContainerRecord:
    """Place a new container; `pending` ones turn `running` after `creation_seconds`."""
    number = world.containers_made
    world.containers_made += 1
    container = ContainerRecord(
        id=f"usr-{account}-{name}",
        account=account,
        name=name,
        template=template,
        plan=plan,
        status=status,
        created_at=now,
        updated_at=now,
        status_since=now,
        ip_address=f"10.52.{number // 250}.{number % 250 + 2}",
        port=8001 + number,
        storage_tier=storage_tier,
        password=world.hex(24),
        private_key=world.hex(64),
        exit_code=1 if status == "error" else 0,
    )
    if template.type == "stacks-vpn":
        container.vpn_clients["default"] = VpnClient("default", "10.13.13.2", now, world.hex(43))
    world.containers[container.id] = container
    if status == "pending":
        created = now + timedelta(seconds=world.assumptions.creation_seconds)
        container.later("running", created, world.timeline)
    schedule_daily_backups(world, container, now)
    return container
