"""Version arithmetic used by the deprecation policy and the expiry test."""

import pytest

from tvexp._api.versions import minor_distance, next_release, parse_version, version_reached


@pytest.mark.parametrize(
    "text, parsed",
    [("0.1", (0, 1, 0, None)), ("0.1.0", (0, 1, 0, None)), ("0.2.0.dev3", (0, 2, 0, 3)), ("1.10.2", (1, 10, 2, None))],
)
def test_parse_version(text, parsed):
    assert tuple(parse_version(text)) == parsed


@pytest.mark.parametrize("bad", ["", "1", "v0.1.0", "0.1.0rc1", "0.1.0.dev"])
def test_parse_version_rejects_other_forms(bad):
    with pytest.raises(ValueError, match="MAJOR.MINOR"):
        parse_version(bad)


def test_dev_version_sorts_before_its_release():
    assert parse_version("0.2.0.dev0").sort_key() < parse_version("0.2.0").sort_key()
    assert parse_version("0.1.0").sort_key() < parse_version("0.2.0.dev0").sort_key()


def test_next_release():
    assert next_release("0.2.0.dev0") == "0.2.0"
    assert next_release("0.1.0") == "0.2.0"


def test_minor_distance_and_reached():
    assert minor_distance("0.3.0", "0.5.0") == 2
    assert minor_distance("0.9.0", "1.0.0") == 91
    assert version_reached("0.5.0.dev0", "0.5.0")
    assert version_reached("0.6.0", "0.5.0")
    assert not version_reached("0.4.2", "0.5.0")
