"""`explain` names the file and line of an option written in an inline table (or an array
of them), as it does for one under a `[policies.*]` header: never `# default`."""

from policies import explain_options


def origins(config, name="shop-db", container_type="postgres") -> dict[str, dict[str, str]]:
    explained = explain_options(
        config.policies, config.overrides, name, container_type, config.origin_of
    )
    return {
        policy: {o: e.origin for o, e in options.items()} for policy, options in explained.items()
    }


def test_options_in_an_inline_policy_table_name_its_line(load_text, tmp_path):
    config = load_text(
        "[policies]\n"
        'auto_restart = { max_restarts = 2, backoff_initial = "1m" }\n'
        'weekly_pin = { weekday = "friday" }\n'
    )
    shown = origins(config)
    where = tmp_path / "config.toml"
    assert shown["auto_restart"]["max_restarts"] == f"{where}:2"
    assert shown["auto_restart"]["backoff_initial"] == f"{where}:2"
    assert shown["auto_restart"]["window"] == "default"
    assert shown["weekly_pin"]["weekday"] == f"{where}:3"


def test_a_policies_table_written_inline_names_its_line(load_text, tmp_path):
    config = load_text("policies = { auto_restart = { max_restarts = 3 } }\n")
    assert origins(config)["auto_restart"]["max_restarts"] == f"{tmp_path / 'config.toml'}:1"


def test_an_override_written_as_an_inline_table_names_its_line(load_text, tmp_path):
    config = load_text(
        '[[overrides]]\nmatch = ["shop-*"]\nauto_restart = { max_restarts = 1, window = "2h" }\n'
    )
    shown = origins(config)["auto_restart"]
    assert shown["max_restarts"] == shown["window"] == f"{tmp_path / 'config.toml'}:3"


def test_overrides_written_as_an_array_of_inline_tables_name_their_lines(load_text, tmp_path):
    config = load_text(
        "overrides = [\n"
        '  { match = ["shop-*"], auto_restart = { max_restarts = 1 } },\n'
        '  { match = ["blog"], auto_restart = { max_restarts = 9 } },\n'
        '  { match = ["shop-db"], weekly_pin = { keep_weeks = 3 } },\n'
        "]\n"
    )
    shown = origins(config)
    where = tmp_path / "config.toml"
    assert shown["auto_restart"]["max_restarts"] == f"{where}:2"
    assert shown["weekly_pin"]["keep_weeks"] == f"{where}:4"
    assert origins(config, "blog", "wordpress")["auto_restart"]["max_restarts"] == f"{where}:3"
