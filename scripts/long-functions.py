#!/usr/bin/env python3
"""Lists C++ function bodies longer than a limit (issue 17: about 80 lines).

Usage: scripts/long-functions.py [--max N] [PATH...]   (default: builder runner
store registry cli parser, limit 80). Prints "LINES file:first-last name",
longest first, and exits 0; it reads text, so a count is a line count from the
line holding the opening brace to the one holding the closing brace.

It is a brace matcher, not a parser: strings, characters, raw strings and
comments are skipped; a brace opens a function body when the code before it
ends in a parameter list (with optional const/noexcept/override/-> type) and
is not a control statement. Lambdas count as part of the function that holds
them, as a reader sees them.
"""
import os
import re
import sys

CONTROL = re.compile(r"\b(if|for|while|switch|catch|do|else)\s*(\(|$)")
AFTER_PARAMS = re.compile(
    r"\)\s*(const|noexcept(\([^)]*\))?|override|final|mutable|&|&&|\s)*(->\s*[\w:<>,\s*&]+)?\s*"
    r"(:\s*[\w:]+\s*[({][^;]*)?$",
    re.S,
)


def strip(text):
    """Blanks out comments and literals, keeping newlines, so braces can be counted."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "R" and text.startswith('R"', i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'R"([^(\s]*)\(', text[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            end = ")" + m.group(1) + '"'
            j = text.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c in "\"'":
            if c == "'" and i > 0 and text[i - 1].isalnum():  # digit separator: 1'000
                out.append(" ")
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(" " * (j - i))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        code = strip(f.read())
    stack = []  # for each open brace: (is_function_body, start offset, name)
    prefix_start = 0
    for i, c in enumerate(code):
        if c == "{":
            inside_function = any(kind for kind, _, _ in stack)
            head = code[prefix_start:i].strip()
            is_function = False
            name = ""
            if not inside_function and AFTER_PARAMS.search(head) and not CONTROL.search(head.split("(")[0] + "("):
                m = re.search(r"([~\w:]+|operator\s*\S+)\s*\(", head)
                if m and m.group(1) not in ("if", "for", "while", "switch", "catch", "return"):
                    is_function = True
                    name = m.group(1)
            stack.append((is_function, i, name))
            prefix_start = i + 1
        elif c == "}":
            if stack:
                kind, start, name = stack.pop()
                if kind:
                    yield name, code.count("\n", 0, start) + 1, code.count("\n", 0, i) + 1
            prefix_start = i + 1
        elif c == ";":
            prefix_start = i + 1
        elif c == "#" and (i == 0 or code[i - 1] == "\n"):
            prefix_start = code.find("\n", i) + 1 or len(code)


def main(argv):
    limit = 80
    if len(argv) >= 2 and argv[0] == "--max":
        limit = int(argv[1])
        argv = argv[2:]
    roots = argv or ["builder", "runner", "store", "registry", "cli", "parser"]
    rows = []
    for root in roots:
        paths = [root] if os.path.isfile(root) else [
            os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith((".cc", ".h"))]
        for path in sorted(paths):
            for name, first, last in functions(path):
                if last - first + 1 > limit:
                    rows.append((last - first + 1, path, first, last, name))
    for lines, path, first, last, name in sorted(rows, reverse=True):
        print(f"{lines:4d} {path}:{first}-{last} {name}")
    print(f"{len(rows)} functions longer than {limit} lines")


if __name__ == "__main__":
    main(sys.argv[1:])
