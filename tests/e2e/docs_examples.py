#!/usr/bin/env python3
"""Lists the kvsh sessions of the README and docs/*.md as a plan for
docs_examples.sh: every line of a fenced block that starts with a kvsh
prompt ("kvsh> " or "kvsh HOST:PORT> ") is a command; it must fail exactly
when the document shows an "error:" line before the next prompt. A comment
<!-- docs-test: cluster.sh ARGS --> before a block runs that cluster.sh
command first (a block that shows a failure says which node to kill).

  docs_examples.py FILE...   prints: FILE path | CLUSTER args | CMD ok|error<TAB>command
"""
import re
import sys

PROMPT = re.compile(r"^\s*kvsh(?: [0-9.]+:[0-9]+)?> (.*)$")
DIRECTIVE = re.compile(r"<!--\s*docs-test:\s*cluster\.sh\s+(.*?)\s*-->")


def plan(path):
    lines = open(path, encoding="utf-8").read().splitlines()
    steps = [f"FILE\t{path}"]
    in_fence = False
    pending = None  # [command, error seen]
    for line in lines:
        if line.strip().startswith("```"):
            if in_fence and pending:
                steps.append(f"CMD\t{'error' if pending[1] else 'ok'}\t{pending[0]}")
                pending = None
            in_fence = not in_fence
            continue
        if not in_fence:
            directive = DIRECTIVE.search(line)
            if directive:
                steps.append(f"CLUSTER\t{directive.group(1)}")
            continue
        match = PROMPT.match(line)
        if match:
            if pending:
                steps.append(f"CMD\t{'error' if pending[1] else 'ok'}\t{pending[0]}")
            pending = [match.group(1), False]
        elif pending and line.strip().startswith("error:"):
            pending[1] = True
    return steps if any(s.startswith("CMD") for s in steps) else []


for path in sys.argv[1:]:
    for step in plan(path):
        print(step)
