"""Every broken config in the corpus is refused with exactly the expected error lines."""

import pytest

from tests.config.broken_configs import BROKEN_CONFIGS, KEY


@pytest.mark.parametrize(("text", "expected"), BROKEN_CONFIGS)
def test_broken_config_reports_exactly(errors_of, text, expected):
    errors = errors_of(text)
    assert errors == expected
    assert all(KEY not in error for error in errors)


def test_corpus_is_large_and_distinct():
    texts = [text for text, _ in BROKEN_CONFIGS]
    assert len(texts) >= 40
    assert len(set(texts)) == len(texts)
