"""The baseline: a bare Flask app with one JSON route, served with the real app's gunicorn
settings, so a benchmark can say what fraction of bare Flask throughput an endpoint keeps.

    gunicorn "bench.hello_app:app"
"""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/hello")
def hello() -> dict[str, str]:
    return {"status": "ok"}
