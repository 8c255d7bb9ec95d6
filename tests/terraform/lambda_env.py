"""Prints, as JSON, the environment variable names terraform gives each Lambda function
(`local.lambda_env` in terraform/environment.tf): `{"request": ["POWERPOLE_…", …], …}`.

The deployed-shape harness (tests/deployed_shape.rs) gives each function exactly these, so a
variable missing in terraform is missing there too.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from consistency import ROOT, load_module, local_map, resolve_env  # noqa: E402


def main() -> int:
    terraform = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "terraform")
    module = load_module(terraform)
    if module.problems:
        print("\n".join(module.problems), file=sys.stderr)
        return 1
    envs = {
        name: sorted(resolve_env(module, expr))
        for name, expr in sorted(local_map(module, "lambda_env").items())
    }
    json.dump(envs, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
