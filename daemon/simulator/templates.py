"""The template catalogue: the STACKS templates, plans and storage tiers with prices (the guide).

Also what each template is: its container `type`, whether it is a compute
container (SSH access, certificates), a database (no extra storage tiers), the
VPN, which connection group it belongs to, its service port and version, and
which plans it may use. Containers (containers.py) are created from it; the
spending cap (limits.py) charges its prices; `GET /containers/templates`
answers `catalogue_view()`.
"""

from dataclasses import dataclass

PLANS = {
    # plan: (vCPU, RAM MB, storage MB, USD per month)
    "micro": (0.1, 512, 5120, 1.0),
    "basic": (1.0, 1024, 10240, 4.0),
    "standard": (1.0, 2048, 20480, 5.0),
    "premium": (2.0, 4096, 40960, 10.0),
}
VPN_RESOURCES = (1.0, 2048, 20480, 5.0)
TIER_PLANS = {"micro": ["micro"], "basic": ["basic", "standard", "premium"], "vpn": ["vpn"]}
STORAGE_TIERS = {1: (32768, 1.0), 3: (65536, 3.0), 5: (131072, 5.0)}  # tier: (MB, USD)

COMPUTE_TYPES = frozenset({"ubuntu", "nodejs", "python", "php-apache", "nginx", "picoclaw"})
GROUPS = {
    "postgresql": "databases",
    "mysql": "databases",
    "mongodb": "databases",
    "pocketbase": "databases",
    "rqlite": "databases",
    "redis": "caches",
    "stacks-loadbalancer": "loadBalancers",
}
SERVICE_PORTS = {
    "postgresql": 5432,
    "redis": 6379,
    "mysql": 3306,
    "mongodb": 27017,
    "pocketbase": 8090,
    "rqlite": 4001,
    "minio": 9000,
    "stacks-vpn": 51820,
}
WEB_UI_TYPES = frozenset({"pocketbase", "minio", "wordpress", "ghost", "forgejo", "rqlite"})
VERSIONS = {
    "ubuntu": "24.04",
    "nodejs": "22",
    "python": "3.14",
    "postgresql": "18",
    "mongodb": "7.0",
    "mysql": "8.4",
    "redis": "8.4",
    "pocketbase": "0.37",
    "wordpress": "6.9",
    "php-apache": "8.5",
    "ghost": "6",
    "forgejo": "11",
    "nginx": "1.28",
    "rqlite": "8",
}


@dataclass(frozen=True)
class Template:
    id: str
    name: str
    category: str
    description: str
    tier: str  # "micro", "basic" or "vpn"
    type: str  # the container `type` the API reports

    @property
    def plans(self) -> list[str]:
        """The plans this template may use; the first is the default."""
        return TIER_PLANS[self.tier]

    @property
    def compute(self) -> bool:
        return self.type in COMPUTE_TYPES

    @property
    def database(self) -> bool:
        return self.category in ("Database", "SQL Database")

    @property
    def vpn(self) -> bool:
        return self.type == "stacks-vpn"

    @property
    def takes_extra_storage(self) -> bool:
        """Whether `additional_storage_tier` may be bought (not on micro, not for databases)."""
        return self.tier != "micro" and not self.database

    @property
    def group(self) -> str:
        return GROUPS.get(self.type, "applications")

    @property
    def service_port(self) -> int:
        return 22 if self.compute else SERVICE_PORTS.get(self.type, 80)

    @property
    def has_web_ui(self) -> bool:
        return self.type in WEB_UI_TYPES

    @property
    def version(self) -> str:
        return VERSIONS.get(self.type, "latest")

    @property
    def version_major(self) -> str:
        return self.version.split(".")[0]


_ROWS = (
    ("ubuntu-micro", "Ubuntu Micro", "System", "Lightweight Ubuntu 24.04", "micro", "ubuntu"),
    (
        "nginx-micro",
        "Nginx Micro",
        "Web Server",
        "Lightweight web server for static sites",
        "micro",
        "nginx",
    ),
    ("redis-micro", "Redis Micro", "Database", "Redis 8.4 cache", "micro", "redis"),
    (
        "pocketbase-micro",
        "PocketBase Micro",
        "Database",
        "PocketBase 0.37 realtime backend",
        "micro",
        "pocketbase",
    ),
    ("rqlite-micro", "RQLite Micro", "SQL Database", "SQLite over HTTP API", "micro", "rqlite"),
    ("storage-micro", "MinIO Micro", "Storage", "S3-compatible object storage", "micro", "minio"),
    (
        "secrets-micro",
        "STACKS Secrets",
        "Infrastructure",
        "Encrypted secrets management",
        "micro",
        "secrets",
    ),
    (
        "loadbalancer-micro",
        "Load Balancer Micro",
        "Infrastructure",
        "Simple load balancer (2-3 backends)",
        "micro",
        "stacks-loadbalancer",
    ),
    ("forgejo-micro", "Forgejo Micro", "Application", "Self-hosted Git server", "micro", "forgejo"),
    (
        "picoclaw-micro",
        "PicoClaw Agent Micro",
        "Agent",
        "AI agent with persistent memory",
        "micro",
        "picoclaw",
    ),
    ("ubuntu", "Ubuntu", "System", "Ubuntu 24.04 LTS with SSH access", "basic", "ubuntu"),
    ("nodejs", "Node.js", "Runtime", "Node.js 22 LTS with PM2 process manager", "basic", "nodejs"),
    ("python", "Python", "Runtime", "Python 3.14 with Flask and SSH access", "basic", "python"),
    (
        "postgresql",
        "PostgreSQL",
        "Database",
        "PostgreSQL 18 database server",
        "basic",
        "postgresql",
    ),
    ("mongodb", "MongoDB", "Database", "MongoDB 7.0 NoSQL database", "basic", "mongodb"),
    ("mysql", "MySQL", "Database", "MySQL 8.4 database server", "basic", "mysql"),
    ("redis", "Redis", "Database", "Redis 8.4 in-memory data store", "basic", "redis"),
    (
        "pocketbase",
        "PocketBase",
        "Database",
        "Open source backend with realtime database",
        "basic",
        "pocketbase",
    ),
    ("wordpress", "WordPress", "Application", "WordPress 6.9 with PHP 8.3", "basic", "wordpress"),
    (
        "ghost",
        "Ghost",
        "Application",
        "Professional publishing and blogging platform",
        "basic",
        "ghost",
    ),
    (
        "forgejo",
        "Forgejo",
        "Application",
        "Self-hosted Git server with issues, PRs, and CI",
        "basic",
        "forgejo",
    ),
    ("php-apache", "PHP + Apache", "Application", "PHP 8.5 with Apache", "basic", "php-apache"),
    ("nginx", "Nginx", "Web Server", "High-performance web server", "basic", "nginx"),
    ("minio", "MinIO", "Storage", "S3-compatible object storage", "basic", "minio"),
    (
        "stacks-loadbalancer",
        "STACKS LoadBalancer",
        "Infrastructure",
        "Load balancer for distributing traffic",
        "basic",
        "stacks-loadbalancer",
    ),
    (
        "picoclaw",
        "PicoClaw Agent",
        "Agent",
        "AI agent with persistent memory and skills",
        "basic",
        "picoclaw",
    ),
    (
        "stacks-vpn",
        "STACKS VPN",
        "VPN",
        "Private VPN access to your container network",
        "vpn",
        "stacks-vpn",
    ),
)
TEMPLATES = {row[0]: Template(*row) for row in _ROWS}


def resources(template: Template, plan: str) -> tuple[float, int, int, float]:
    """(vCPU, RAM MB, storage MB, USD per month) of `template` on `plan`."""
    return VPN_RESOURCES if template.tier == "vpn" else PLANS[plan]


def monthly_price(template: Template, plan: str, storage_tier: int | None) -> float:
    extra = STORAGE_TIERS[storage_tier][1] if storage_tier else 0.0
    return resources(template, plan)[3] + extra


def template_view(template: Template) -> dict:
    """One entry of `GET /containers/templates`."""
    cpu, ram, storage, price = resources(template, template.plans[0])
    return {
        "id": template.id,
        "name": template.name,
        "type": template.type,
        "category": template.category,
        "description": template.description,
        "tier": template.tier,
        "price": price,
        "priceLabel": f"${price:g}/month",
        "resources": {"cpu": cpu, "memory": ram, "storage": storage},
        "plans": template.plans,
        "hasSshAccess": template.compute,
        "hasWebUI": template.has_web_ui,
        "additionalStorageAvailable": template.takes_extra_storage,
    }


def catalogue_view() -> dict:
    """The whole `GET /containers/templates` answer."""
    return {
        "success": True,
        "count": len(TEMPLATES),
        "data": [template_view(t) for t in TEMPLATES.values()],
        "plans": [
            {"id": plan, "cpu": cpu, "memory": ram, "storage": storage, "price": price}
            for plan, (cpu, ram, storage, price) in PLANS.items()
        ],
        "additionalStorage": [
            {"tier": tier, "size_mb": size, "price": price}
            for tier, (size, price) in STORAGE_TIERS.items()
        ],
    }
