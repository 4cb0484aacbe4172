"""pytest plugin: ``fake_wechat``, one fake WeChat server per session, reset for every test.

Load it with ``pytest_plugins = ["tests.fakewechat.fixtures"]`` in the top-level conftest.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakewechat.server import FakeWeChat


@pytest.fixture(scope="session")
def fake_wechat_server() -> Iterator[FakeWeChat]:
    """The session's fake WeChat server (use ``fake_wechat`` in tests: it is reset)."""
    fake = FakeWeChat().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_wechat(fake_wechat_server: FakeWeChat) -> Iterator[FakeWeChat]:
    """A started fake WeChat with no apps, codes or recorded requests, in normal mode."""
    fake_wechat_server.reset()
    yield fake_wechat_server
    errors = fake_wechat_server.errors
    fake_wechat_server.reset()
    if errors:
        pytest.fail("fake WeChat handler crashed:\n" + "\n".join(errors), pytrace=False)
