"""pytest plugin: ``fake_wechat``, one fake WeChat server per session, reset for every test.

Load it with ``pytest_plugins = ["tests.fakewechat.fixtures"]`` in the top-level conftest.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

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


@pytest.fixture(scope="session")
def pay_pki(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Test CA, server and client certificates, merchant and platform keys (made once)."""
    from tests.fakewechat.pki import make_pki

    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def fake_pay_server(pay_pki: Any) -> Iterator[Any]:
    """The session's fake WeChat Pay over TLS (use ``fake_pay`` in tests: it is reset)."""
    from tests.fakewechat.pay import FakeWeChatPay

    fake = FakeWeChatPay(pay_pki).start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_pay(fake_pay_server: Any) -> Iterator[Any]:
    """A reset fake WeChat Pay; handler crashes fail the test."""
    fake_pay_server.reset()
    yield fake_pay_server
    errors = fake_pay_server.errors
    fake_pay_server.reset()
    if errors:
        pytest.fail("fake WeChat Pay handler crashed:\n" + "\n".join(errors), pytrace=False)
