"""Stop with one line unless this Python is one bilancio-lite supports (the README's first step).

    python3 tools/check_python.py

Runs on any Python 3 (no f-strings beyond 3.6, no imports outside the standard library), so an
old interpreter gets this message instead of a failed install. The range must agree with
pyproject.toml's ``requires-python`` and tools/lock.sh (tests/test_constraints.py checks both).
"""

import sys

SUPPORTED = ((3, 11), (3, 12), (3, 13))

if __name__ == "__main__":
    if tuple(sys.version_info[:2]) not in SUPPORTED:
        sys.exit("bilancio-lite needs Python 3.11, 3.12 or 3.13 (3.11.2 or newer); python3 here is "
                 + sys.version.split()[0] + " (" + sys.executable + ")")
