"""A small Flask app: the source file the benchmark's one-file change edits."""
from flask import Flask, jsonify

from greeting import greeting

app = Flask(__name__)


@app.route("/")
def index():
    return greeting("world") + "\n"


@app.route("/health")
def health():
    return jsonify(status="ok")


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=8000)
