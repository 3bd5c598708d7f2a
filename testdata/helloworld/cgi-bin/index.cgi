#!/bin/sh
# Answers every request with a greeting and the container's hostname.
echo "Content-Type: text/html"
echo
echo "<h3>Hello ${NAME:-world}!</h3><b>Hostname:</b> $(hostname)<br/>"
