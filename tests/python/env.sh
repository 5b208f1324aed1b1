#!/usr/bin/env bash
# Makes (once) and prints the Python interpreter of a virtual environment holding the Flight SQL
# clients in requirements.txt: ADBC's Flight SQL driver, pyarrow, pandas and polars from PyPI.
# The environment lives outside the checkout (ROUTEFLOW_PYENV, default /var/tmp/routeflow-pyenv) and
# is rebuilt when requirements.txt changes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
env_dir="${ROUTEFLOW_PYENV:-/var/tmp/routeflow-pyenv}"
stamp="$env_dir/requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ ! -x "$env_dir/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  python3 -m venv --clear "$env_dir" >&2
  "$env_dir/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt" >&2
  echo "$want" > "$stamp"
fi
echo "$env_dir/bin/python"
