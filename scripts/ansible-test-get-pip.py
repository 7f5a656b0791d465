"""Offline stand-in for the get-pip.py script that `ansible-test --venv` downloads.

ansible-test bootstraps pip into each new virtual environment by running
~/.ansible/test/cache/get_pip_<version>.py, which it fetches from a host these machines cannot
reach. `make sanity` copies this file there (see the Makefile). It is run inside the new,
pip-less virtual environment with get-pip's arguments, e.g.
  --disable-pip-version-check pip==25.2 --no-setuptools --no-wheel
It installs the bundled pip with ensurepip, then upgrades to the requested packages through the
machine's normal pip configuration (index, certificates, find-links).
"""

import os
import subprocess
import sys

# ensurepip sets PIP_CONFIG_FILE=/dev/null; pip would then lose this machine's certificate
# and index settings. GET_PIP is ansible-test's own variable and means nothing to pip.
for name in ("PIP_CONFIG_FILE", "GET_PIP"):
    os.environ.pop(name, None)

subprocess.run([sys.executable, "-m", "ensurepip", "--default-pip"], check=True,
               stdout=subprocess.DEVNULL)
os.environ.pop("PIP_CONFIG_FILE", None)

# get-pip.py options that `pip install` does not know.
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--upgrade"] + args, check=True)
