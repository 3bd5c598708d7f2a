// A small Express app: the source file the benchmark's one-file change edits.
const express = require("express");
const { greeting } = require("./greeting");

const app = express();

app.get("/", (req, res) => res.send(greeting("world") + "\n"));
app.get("/health", (req, res) => res.json({ status: "ok" }));

app.listen(3000, () => console.log("listening on 3000"));
