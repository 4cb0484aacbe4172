"""A local fake of WeChat's HTTP APIs that the real wechatpy / wechatpayv3 clients talk to."""

from tests.fakewechat.server import FakeWeChat, RecordedRequest, Reply

__all__ = ["FakeWeChat", "RecordedRequest", "Reply"]
