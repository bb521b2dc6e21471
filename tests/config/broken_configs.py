"""A corpus of broken configs, each with the exact error lines a user must see."""

KEY = "sk_stacks_" + "0123456789abcdef" * 4
ADVICE = (
    "holds a STACKS API key, which must not be in the config file; put the key in the file "
    "named by api.api_key_file (readable only by the daemon's user), "
    "in $CREDENTIALS_DIRECTORY/stacks_api_key, or in $STACKS_API_KEY"
)
WEEKDAYS = '"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"'
API_KEYS = "base_url, api_key_file, timeout, rate_limit_per_minute, reserve_for_actions"
POLICIES = "auto_restart, pre_change_backup, weekly_pin, backup_freshness"
DURATION = 'expected a duration like "5m"'
TOO_LONG = "expected a duration of at most 3650d (about ten years)"
SOME_GLOB = 'at least one name or glob, like ["*"] (the default)'

BROKEN_CONFIGS: list[tuple[str, list[str]]] = [
    # --- [api]
    (
        '[api]\ntimeout = "soon"\n',
        [f'config.toml: api.timeout: {DURATION}, got "soon"'],
    ),
    (
        "[api]\ntimeout = 1.5\n",
        [f"config.toml: api.timeout: {DURATION}, got 1.5"],
    ),
    (
        "[api]\ntimeout = -5\n",
        [f"config.toml: api.timeout: {DURATION}, got -5"],
    ),
    (
        '[api]\ntimeout = "30"\n',
        [f'config.toml: api.timeout: {DURATION}, got "30"'],
    ),
    (
        '[api]\ntimeout = "0s"\n',
        ['config.toml: api.timeout: expected a positive duration, got "0s"'],
    ),
    (  # longer than durations' limit (3650d): every timeout would overflow the socket's
        '[api]\ntimeout = "300000d"\n',
        [f'config.toml: api.timeout: {TOO_LONG}, got "300000d"'],
    ),
    (
        '[api]\nbase_url = "api.stackshosting.cloud"\n',
        [
            "config.toml: api.base_url: expected an http:// or https:// URL, "
            'got "api.stackshosting.cloud"'
        ],
    ),
    (
        '[api]\nbase_url = "ftp://example.com/api/v1"\n',
        [
            'config.toml: api.base_url: expected an http:// or https:// URL, got "ftp://example.com/api/v1"'
        ],
    ),
    (
        '[api]\nrate_limit_per_minute = "60"\n',
        ['config.toml: api.rate_limit_per_minute: expected an integer, got "60"'],
    ),
    (
        "[api]\nrate_limit_per_minute = 0\n",
        ["config.toml: api.rate_limit_per_minute: expected a positive integer, got 0"],
    ),
    (
        "[api]\nrate_limit_per_minute = 10\nreserve_for_actions = 10\n",
        [
            "config.toml: api.reserve_for_actions: "
            "expected 0 to 9 (fewer than rate_limit_per_minute), got 10"
        ],
    ),
    (
        "[api]\nreserve_for_actions = -1\n",
        [
            "config.toml: api.reserve_for_actions: "
            "expected 0 to 59 (fewer than rate_limit_per_minute), got -1"
        ],
    ),
    (
        "[api]\nrate_limit_per_minute = true\n",
        ["config.toml: api.rate_limit_per_minute: expected an integer, got true"],
    ),
    (
        "[api]\napi_key_file = 5\n",
        ["config.toml: api.api_key_file: expected a string, got 5"],
    ),
    (
        "[api]\ntiemout = 10\n",
        [f"config.toml: api.tiemout: unknown key; valid keys: {API_KEYS}"],
    ),
    # --- [daemon]
    (
        '[daemon]\nlisten = "9847"\n',
        [
            "config.toml: daemon.listen: expected host:port with a port from 1 to 65535, "
            'e.g. "127.0.0.1:9847", got "9847"'
        ],
    ),
    (
        '[daemon]\nlisten = "127.0.0.1:70000"\n',
        [
            "config.toml: daemon.listen: expected host:port with a port from 1 to 65535, "
            'e.g. "127.0.0.1:9847", got "127.0.0.1:70000"'
        ],
    ),
    (
        '[daemon]\nlisten = "127.0.0.1:0"\n',
        [
            "config.toml: daemon.listen: expected host:port with a port from 1 to 65535, "
            'e.g. "127.0.0.1:9847", got "127.0.0.1:0"'
        ],
    ),
    (
        '[daemon]\nlisten = "::1:9847"\n',
        [
            "config.toml: daemon.listen: expected host:port with a port from 1 to 65535, "
            'e.g. "127.0.0.1:9847", got "::1:9847"'
        ],
    ),
    (
        '[daemon]\ndatabase_url = "mysql://localhost/ops"\n',
        [
            "config.toml: daemon.database_url: expected a URL starting with "
            '"sqlite:///" or "postgresql+psycopg://", got "mysql://localhost/ops"'
        ],
    ),
    (
        '[daemon]\ndatabase_url = "postgresql://ops:hunter2@db.internal/ops"\n',
        [
            "config.toml: daemon.database_url: expected a URL starting with "
            '"sqlite:///" or "postgresql+psycopg://", got "postgresql://ops:***@db.internal/ops"'
        ],
    ),
    (
        '[daemon]\ndatabase_url = "sqlite:///"\n',
        [
            "config.toml: daemon.database_url: expected a URL starting with "
            '"sqlite:///" or "postgresql+psycopg://", got "sqlite:///"'
        ],
    ),
    (
        '[daemon]\ndry_run = "yes"\n',
        ['config.toml: daemon.dry_run: expected true or false, got "yes"'],
    ),
    (
        "[daemon]\ndry_run = 1\n",
        ["config.toml: daemon.dry_run: expected true or false, got 1"],
    ),
    (
        '[daemon]\nlog_format = "JSON"\n',
        ['config.toml: daemon.log_format: expected one of "text", "json", got "JSON"'],
    ),
    (
        '[daemon]\ntls_key_file = "/etc/stacks-opsd/tls.key"\n',
        [
            "config.toml: daemon.tls_cert_file: "
            'expected a certificate file, since tls_key_file is set, got ""'
        ],
    ),
    (
        '[daemon]\ntls_cert_file = "/etc/stacks-opsd/tls.crt"\n',
        [
            "config.toml: daemon.tls_key_file: "
            'expected a private key file, since tls_cert_file is set, got ""'
        ],
    ),
    (
        '[daemon]\nbasic_auth_user = "prometheus"\n',
        [
            "config.toml: daemon.basic_auth_password_file: "
            'expected a password file, since basic_auth_user is set, got ""'
        ],
    ),
    (
        '[daemon]\nbasic_auth_password_file = "/etc/stacks-opsd/metrics.pw"\n',
        [
            "config.toml: daemon.basic_auth_user: "
            'expected a user name, since basic_auth_password_file is set, got ""'
        ],
    ),
    # --- [poll]
    (
        "[poll]\nstatus_interval = 0\n",
        ['config.toml: poll.status_interval: expected a positive duration or "auto", got "0s"'],
    ),
    (
        '[poll]\nstatus_interval = "sometimes"\n',
        [
            'config.toml: poll.status_interval: expected a duration like "5m" or "auto", '
            'got "sometimes"'
        ],
    ),
    (
        '[poll]\nmetrics_interval = "5 minutes"\n',
        [f'config.toml: poll.metrics_interval: {DURATION}, got "5 minutes"'],
    ),
    (
        '[poll]\nbackups_interval = "1h"\nbackup_interval = "1h"\n',
        [
            "config.toml: poll.backup_interval: unknown key; valid keys: "
            "status_interval, metrics_interval, backups_interval"
        ],
    ),
    # --- sections of the wrong shape, unknown sections
    (
        'api = "https://api.stackshosting.cloud/api/v1"\n',
        ['config.toml: api: expected a table, got "https://api.stackshosting.cloud/api/v1"'],
    ),
    (
        "[[poll]]\nstatus_interval = 15\n",
        ["config.toml: poll: expected a table, got an array of tables"],
    ),
    (
        '[deamon]\nlisten = "127.0.0.1:9847"\n',
        [
            "config.toml: deamon: unknown key; valid keys: api, daemon, poll, policies, notify, "
            "windows, overrides"
        ],
    ),
    (
        'source = "elsewhere.toml"\n',
        [
            "config.toml: source: unknown key; valid keys: api, daemon, poll, policies, notify, "
            "windows, overrides"
        ],
    ),
    (
        "[policies.auto_restrat]\nenabled = false\n",
        [f"config.toml: policies.auto_restrat: unknown policy; valid policies: {POLICIES}"],
    ),
    (
        "[policies]\nauto_restart = false\n",
        ["config.toml: policies.auto_restart: expected a table, got false"],
    ),
    # --- [policies.auto_restart]
    (
        '[policies.auto_restart]\nbackoff_max = "soon"\n',
        [f'config.toml: policies.auto_restart.backoff_max: {DURATION}, got "soon"'],
    ),
    (
        '[policies.auto_restart]\nbackoff_initial = "10m"\nbackoff_max = "5m"\n',
        [
            "config.toml: policies.auto_restart.backoff_max: "
            'expected at least backoff_initial ("10m"), got "5m"'
        ],
    ),
    (
        '[policies.auto_restart]\nbackoff_initial = "0s"\n',
        [
            "config.toml: policies.auto_restart.backoff_initial: "
            'expected a positive duration, got "0s"'
        ],
    ),
    (
        "[policies.auto_restart]\nmax_restarts = 0\n",
        ["config.toml: policies.auto_restart.max_restarts: expected a positive integer, got 0"],
    ),
    (
        '[policies.auto_restart]\nmatch = "web-*"\n',
        ['config.toml: policies.auto_restart.match: expected a list of strings, got "web-*"'],
    ),
    (
        '[policies.auto_restart]\nmatch = ["web-*", ""]\n',
        ['config.toml: policies.auto_restart.match[1]: expected a non-empty string, got ""'],
    ),
    (
        '[policies.auto_restart]\nexclude = [1, "db-*", true]\n',
        [
            "config.toml: policies.auto_restart.exclude[0]: expected a string, got 1",
            "config.toml: policies.auto_restart.exclude[2]: expected a string, got true",
        ],
    ),
    (
        '[policies.auto_restart]\nstatuses = ["error", "stopped"]\n',
        [
            "config.toml: policies.auto_restart.statuses: expected statuses of crashed "
            'containers, like "error" ("running" and "stopped" never are), got ["error", "stopped"]'
        ],
    ),
    (
        '[policies.auto_restart]\nwindow = "0s"\nreset_after = "1w"\n',
        [
            f'config.toml: policies.auto_restart.reset_after: {DURATION}, got "1w"',
            'config.toml: policies.auto_restart.window: expected a positive duration, got "0s"',
        ],
    ),
    (  # longer than durations' limit (3650d): every evaluation would overflow the date
        '[policies.auto_restart]\nwindow = "1000000d"\nreset_after = "3651d"\n',
        [
            f'config.toml: policies.auto_restart.window: {TOO_LONG}, got "1000000d"',
            f'config.toml: policies.auto_restart.reset_after: {TOO_LONG}, got "3651d"',
        ],
    ),
    (
        '[[overrides]]\nmatch = ["shop-*"]\nauto_restart.window = "1000000d"\n',
        [f'config.toml: overrides[0].auto_restart.window: {TOO_LONG}, got "1000000d"'],
    ),
    # --- [policies.pre_change_backup]
    (
        '[policies.pre_change_backup]\non_failure = "continue"\n',
        [
            "config.toml: policies.pre_change_backup.on_failure: "
            'expected one of "abort", "proceed", got "continue"'
        ],
    ),
    (
        "[policies.pre_change_backup]\ntimeout = 0\n",
        ['config.toml: policies.pre_change_backup.timeout: expected a positive duration, got "0s"'],
    ),
    (
        '[policies.pre_change_backup]\nenabled = "false"\n',
        ['config.toml: policies.pre_change_backup.enabled: expected true or false, got "false"'],
    ),
    # --- [policies.weekly_pin]
    (
        '[policies.weekly_pin]\nweekday = "Sunday"\n',
        [f'config.toml: policies.weekly_pin.weekday: expected one of {WEEKDAYS}, got "Sunday"'],
    ),
    (
        '[policies.weekly_pin]\nat = "3am"\n',
        [
            "config.toml: policies.weekly_pin.at: "
            'expected a time of day "HH:MM" (24-hour, UTC), got "3am"'
        ],
    ),
    (
        '[policies.weekly_pin]\nat = "24:00"\n',
        [
            "config.toml: policies.weekly_pin.at: "
            'expected a time of day "HH:MM" (24-hour, UTC), got "24:00"'
        ],
    ),
    (
        "[policies.weekly_pin]\nkeep_weeks = 0\n",
        ["config.toml: policies.weekly_pin.keep_weeks: expected an integer from 1 to 520, got 0"],
    ),
    (
        "[policies.weekly_pin]\nkeep_weeks = 9999999999\n",  # its history would start before 1 AD
        [
            "config.toml: policies.weekly_pin.keep_weeks: "
            "expected an integer from 1 to 520, got 9999999999"
        ],
    ),
    (
        "[policies.weekly_pin]\nkeep_weeks = 8.0\n",
        ["config.toml: policies.weekly_pin.keep_weeks: expected an integer, got 8.0"],
    ),
    # --- [policies.backup_freshness]
    (
        '[policies.backup_freshness]\nmax_age = "26 hours"\n',
        [f'config.toml: policies.backup_freshness.max_age: {DURATION}, got "26 hours"'],
    ),
    (
        '[policies.backup_freshness]\nmax_age = "26h"\nalert = true\n',
        ["config.toml: policies.backup_freshness.alert: unknown key; valid keys: max_age"],
    ),
    # --- [[notify]]: an empty filter lets no row through (all() of nothing would pass)
    (
        '[[notify]]\nname = "b"\nkind = "jsonl"\npath = "-"\noutcomes = []\nactors = []\n',
        [
            f"config.toml: notify[0].actors: expected {SOME_GLOB}: with none, no row reaches "
            "the sink, got []",
            f"config.toml: notify[0].outcomes: expected {SOME_GLOB}: with none, no row reaches "
            "the sink, got []",
        ],
    ),
    (
        '[[notify]]\nname = "b"\nkind = "jsonl"\npath = "-"\nactions = []\n',
        [
            f"config.toml: notify[0].actions: expected {SOME_GLOB}: with none, no row reaches "
            "the sink, got []",
        ],
    ),
    (
        '[[notify]]\nname = "am"\nkind = "alertmanager"\nurl = "http://am:9093"\nmatch = []\n',
        [
            f"config.toml: notify[0].match: expected {SOME_GLOB}: with none, no row about a "
            "container reaches the sink, got []",
        ],
    ),
    # --- TOML syntax
    (
        "[api]\ntimeout = \n",
        ["config.toml: line 2, column 11: invalid TOML: Invalid value"],
    ),
    (
        '[api]\ntimeout = "10s"\ntimeout = "20s"\n',
        ["config.toml: line 3, column 16: invalid TOML: Cannot overwrite a value"],
    ),
    (
        "[poll\nstatus_interval = 15\n",
        [
            "config.toml: line 1, column 6: invalid TOML: "
            "Expected ']' at the end of a table declaration"
        ],
    ),
    # --- the API key in the config
    (
        f'[api]\napi_key = "{KEY}"\n',
        [f"config.toml: api.api_key: {ADVICE}"],
    ),
    (
        '[api]\nkey = "my key"\n',
        [f"config.toml: api.key: {ADVICE}"],
    ),
    (
        f'[daemon]\ninstance_id = "{KEY}"\n',
        [f"config.toml: daemon.instance_id: {ADVICE}"],
    ),
    (
        f'[api]\ntimeout = "Bearer {KEY}"\n',
        [f"config.toml: api.timeout: {ADVICE}"],
    ),
    (
        f'# the key is {KEY}\n[api]\napi_key_file = "key"\n',
        [f"config.toml: line 1: {ADVICE}"],
    ),
    (
        f'[api]\napi_key = "{KEY}"\ntimeout =\n',
        [
            f"config.toml: line 2: {ADVICE}",
            "config.toml: line 3, column 10: invalid TOML: Invalid value",
        ],
    ),
]
