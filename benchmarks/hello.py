"""The baseline of benchmarks.http: the smallest Flask app, served by the same gunicorn settings as the shop, so
that every figure can be given as a share of what Flask and gunicorn alone do on this machine in this run."""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "hello"
