"""The page a scanned code opens links to the unit's story when the unit has a journey."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile"


def _landing(client: FlaskClient, code: str) -> str:
    page = client.post(f"/c/{code}", headers={"User-Agent": BROWSER})
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_the_landing_page_links_to_the_story_once_there_is_one(
    client: FlaskClient, chain: Any
) -> None:
    from provenance.epcis.capture import capture
    from tests.provenance.conftest import BASE

    assert 'id="story-link"' not in _landing(client, chain.codes[0])  # no events yet
    capture(chain.brand, chain.document(), BASE)
    html = _landing(client, chain.codes[1])
    assert f'id="story-link" href="/story/{chain.codes[1]}"' in html
    story = client.get(f"/story/{chain.codes[1]}")
    assert story.status_code == 200 and "呼伦贝尔" in story.get_data(as_text=True)


def test_no_story_link_for_a_code_that_is_not_released(
    client: FlaskClient, make_chain: Any
) -> None:
    from provenance.epcis.capture import capture
    from tests.provenance.conftest import BASE

    chain = make_chain(active=False)
    capture(chain.brand, chain.document(), BASE)
    html = _landing(client, chain.codes[0])
    assert 'data-verdict="not_activated"' in html and 'id="story-link"' not in html
